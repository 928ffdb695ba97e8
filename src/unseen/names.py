"""Output file names that say nothing about when, or with which camera, a picture was taken.

Phones and cameras name files by capture time (PXL_20240501_142233123.jpg, "WhatsApp Image
2024-05-01 at 14.22.33.jpeg", Screenshot_20240501-142233.png) or by a counter that ties a file to
one camera (IMG_1234, DSC01234, GOPR0123). Such a name becomes "photo" or "video" (numbered
photo-2, photo-3 when several land in one folder, in the order of the inputs); any other name is
kept. The rule reads the name alone, so a re-run names the same file the same way, and the new
name holds nothing of the old one: no hash, no time. Folders a batch mirrors follow the same rule
("2024-05-01/" becomes "folder/"), and so do a camera card's DCIM/100APPLE folders.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Iterator

OUTPUT_MARK = ".unseen"  # crowd.jpg -> crowd.unseen.jpg


class NamePolicy(str, enum.Enum):
    """What happens to an input's file name: a neutral one when it tells (default), or kept."""

    NEUTRAL = "neutral"
    KEEP = "keep"


# Digits in runs with separators between them ("2024-05-01", "14.22.33", "20240501_142233123",
# "01234"): four digits or more in one run is a date, a time or a counter.
_DIGIT_RUN = re.compile(r"\d+(?:[-_.:,' h]?\d+)*")
# Names cameras, phones and apps give, even with a short number (IMG_123, MVI_12, DJI_0001).
_CAMERA_NAME = re.compile(
    r"^(?:img|pxl|dsc[nf]?|_dsc|dcim|vid|mvi|mov|gopr|dji|pano|burst|pict|imag|dcp|cimg|hpim|sdc)"
    r"[-_ ]?\d",
    re.IGNORECASE,
)
_APP_WORDS = re.compile(r"whatsapp|screenshot|screen ?shot|screen ?recording|signal-|telegram", re.IGNORECASE)
_NEUTRAL = {"image": "photo", "video": "video"}
# A camera card's folders (DCF): DCIM, then a number and five letters (100APPLE, 101MSDCF, 100_FUJI).
_CARD_FOLDER = re.compile(r"^(?:dcim|\d{3}[a-z0-9_]{5})$", re.IGNORECASE)
NEUTRAL_FOLDER = "folder"


def carries_trace(stem: str) -> bool:
    """True when a file name (without its extension) shows a date, a time or a camera counter."""
    if _CAMERA_NAME.search(stem) or _APP_WORDS.search(stem):
        return True
    return any(sum(c.isdigit() for c in run.group()) >= 4 for run in _DIGIT_RUN.finditer(stem))


def folder_tells(name: str) -> bool:
    """True when a folder's name shows a date, a time, a camera counter or a camera card."""
    return bool(_CARD_FOLDER.match(name)) or carries_trace(name)


def public_folders(folders: Iterable[str], policy: NamePolicy = NamePolicy.NEUTRAL) -> dict[str, str]:
    """The output folder (POSIX, relative) of every source folder in `folders` ("" is the top).

    A folder whose name tells becomes "folder" (folder-2, ... among its siblings, in name order,
    so a re-run of the same tree gives the same names); the others keep their names.
    """
    wanted: set[str] = set()
    for folder in folders:
        parts = [p for p in folder.split("/") if p and p != "."]
        wanted.update("/".join(parts[:i]) for i in range(len(parts) + 1))
    out = {"": ""}
    used: dict[str, set[str]] = {}  # names taken in each output folder, casefolded
    keep = NamePolicy(policy) is NamePolicy.KEEP

    def tells(folder: str) -> bool:
        return not keep and folder_tells(folder.rpartition("/")[2])

    # Depth by depth, kept names first: a neutral "folder" never lands on a folder kept as "Folder".
    for folder in sorted(wanted - {""}, key=lambda f: (f.count("/"), tells(f), f)):
        parent, _, name = folder.rpartition("/")
        siblings = used.setdefault(out[parent], set())
        public = name
        if tells(folder):
            numbered = (NEUTRAL_FOLDER if i == 1 else f"{NEUTRAL_FOLDER}-{i}" for i in range(1, 10**6))
            public = next(n for n in numbered if n.casefold() not in siblings)
        siblings.add(public.casefold())
        out[folder] = f"{out[parent]}/{public}" if out[parent] else public
    return out


def public_stem(name: str, kind: str = "image", policy: NamePolicy = NamePolicy.NEUTRAL) -> str:
    """The stem an output of the file `name` gets: its own, or "photo"/"video" when it tells.

    `kind` is "image" or "video" (a FileKind value); with NamePolicy.KEEP the stem is kept as is.
    """
    stem = _stem(name)
    if NamePolicy(policy) is NamePolicy.KEEP or not carries_trace(stem):
        return stem
    return _NEUTRAL.get(str(getattr(kind, "value", kind)), "photo")


def output_name(stem: str, suffix: str, number: int = 1) -> str:
    """crowd + .jpg -> crowd.unseen.jpg; the second of that stem in one folder: crowd-2.unseen.jpg."""
    return f"{stem}{OUTPUT_MARK}{suffix}" if number == 1 else f"{stem}-{number}{OUTPUT_MARK}{suffix}"


def candidate_names(
    name: str, kind: str, suffix: str, policy: NamePolicy = NamePolicy.NEUTRAL
) -> Iterator[str]:
    """Output names for the file `name`, best first, for a caller that skips the ones taken.

    A kept name tries its whole name next (a.jpg and a.jpeg: a.jpeg.unseen.jpg), as it always did;
    a neutral one only ever gets a number.
    """
    stem = public_stem(name, kind, policy)
    yield output_name(stem, suffix)
    if stem == _stem(name):
        yield output_name(name, suffix)
        base = name
    else:
        base = stem
    for number in range(2, 100_000):
        yield output_name(base, suffix, number)


def _stem(name: str) -> str:
    """The name without its last extension, as pathlib would give it."""
    head, dot, _ = name.rpartition(".")
    return head if dot and head else name
