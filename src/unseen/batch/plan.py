"""Which files of a source tree a batch works on, and where each one's output goes.

Files are told apart by content, never by name (unseen.media.registry): a photo by its bytes, a
video what FFmpeg finds a picture stream in; everything else is skipped and counted. Symlinks are never
followed (a link could lead out of the tree, or be swapped between planning and reading), hidden
files and folders (our own `.unseen-tmp-*` files among them) are skipped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from unseen.errors import InputError, OutputError, UnreadableInput, UnsupportedInput
from unseen.names import NamePolicy, candidate_names, carries_trace, folder_tells, public_folders

HIDDEN = "hidden file or folder"
SYMLINK = "symlink (never followed)"
SPECIAL = "not a regular file"
EMPTY = "empty file"
NOT_MEDIA = "not a photo or video"
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    """One path found under the source folder: work to do, a skip, or an input found unusable."""

    rel: str  # POSIX path relative to the source folder
    kind: str = ""  # "image" or "video" for work; "" otherwise
    suffix: str = ""  # the output's extension, from the content
    size: int = 0
    sha256: str = ""
    skip: str | None = None  # why it is not work (counted, never an error)
    error: str | None = None  # why it is unusable (an input error, exit code 2)


def check_folders(src: Path, out: Path) -> tuple[Path, Path]:
    """Resolved source and output folders; refuses any overlap, so the source is never written."""
    if not src.is_dir():
        raise InputError(f"{src}: not a folder" if src.exists() else f"{src}: no such folder")
    real_src, real_out = src.resolve(), out.resolve()
    if real_out == real_src:
        raise OutputError(f"{out}: is the source folder; unseen never writes inside its input")
    if real_out.is_relative_to(real_src):
        raise OutputError(f"{out}: is inside the source folder {src}; choose an output folder outside it")
    if real_src.is_relative_to(real_out):
        raise OutputError(f"{out}: contains the source folder {src}; choose an output folder beside it")
    return real_src, real_out


def scan(root: Path) -> list[Entry]:
    """Every path under root, sorted, without following a symlink or entering a hidden folder."""
    found: list[Entry] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        try:
            with os.scandir(root / rel if rel else root) as listing:
                items = sorted(listing, key=lambda item: item.name)
        except OSError as error:
            found.append(Entry(rel or ".", error=f"cannot list this folder ({error.strerror})"))
            continue
        for item in items:
            path = f"{rel}/{item.name}" if rel else item.name
            if item.name.startswith("."):
                found.append(Entry(path, skip=HIDDEN))
            elif item.is_symlink():
                found.append(Entry(path, skip=SYMLINK))
            elif item.is_dir(follow_symlinks=False):
                stack.append(path)
            elif item.is_file(follow_symlinks=False):
                found.append(Entry(path, size=item.stat(follow_symlinks=False).st_size))
            else:
                found.append(Entry(path, skip=SPECIAL))
    return sorted(found, key=lambda entry: entry.rel)


def identify(root: Path, entry: Entry) -> Entry:
    """Fill in what the file is (by content) and its sha256; a file nothing can use is skipped."""
    if entry.skip or entry.error:
        return entry
    if entry.size == 0:
        return Entry(entry.rel, skip=EMPTY)
    from unseen.media.registry import identify as media_type

    path = root / entry.rel
    try:
        media = media_type(path)
    except UnsupportedInput as refused:
        return Entry(entry.rel, size=entry.size, skip=f"{NOT_MEDIA} ({_reason(refused, path)})")
    except UnreadableInput as error:
        return Entry(entry.rel, size=entry.size, error=str(error))
    kind, suffix = media.kind.value, media.suffix
    try:
        digest = file_sha256(path)
    except OSError as error:
        return Entry(entry.rel, size=entry.size, error=f"{path}: cannot be read ({error.strerror})")
    return Entry(entry.rel, kind=kind, suffix=suffix, size=entry.size, sha256=digest)


def identify_all(root: Path, entries: Iterable[Entry], threads: int = 4) -> list[Entry]:
    """identify() over many files at once: reading and hashing wait on the disk, not the CPU."""
    with ThreadPoolExecutor(max_workers=threads) as pool:
        try:
            return list(pool.map(lambda entry: identify(root, entry), entries))
        except BaseException:  # Ctrl-C: stop now, not after hashing the whole tree
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def output_names(
    entries: Iterable[Entry], reserved: dict[str, str], policy: NamePolicy = NamePolicy.NEUTRAL
) -> dict[str, str]:
    """Output path (relative to OUT) of every work entry: DIR/STEM.unseen.EXT, never two alike.

    `reserved` holds the outputs a manifest already gave (so adding a file later never renames an
    existing output). On a clash (a.jpg and a.jpeg) the later one keeps its whole name:
    a.jpeg.unseen.jpg. Clashes are found case-insensitively, for the file systems that are.
    A name that shows a capture time or camera counter becomes photo/video (unseen.names) unless
    `policy` keeps it; an earlier run's such name is not reserved then, so it is renamed.
    """
    names: dict[str, str] = {}
    entries = list(entries)
    folders = public_folders((str(PurePosixPath(e.rel).parent) for e in entries if e.kind), policy)
    taken = {out.casefold() for out in reserved.values()}
    for entry in entries:
        if not entry.kind:
            continue
        old = reserved.get(entry.rel, "")
        if old.endswith(entry.suffix) and (policy is NamePolicy.KEEP or not _tells(old)):
            names[entry.rel] = reserved[entry.rel]
            continue
        rel = PurePosixPath(entry.rel)
        parent = folders[str(rel.parent) if str(rel.parent) != "." else ""]
        for name in candidate_names(rel.name, entry.kind, entry.suffix, policy):
            out = f"{parent}/{name}" if parent else name
            if out.casefold() not in taken:
                break
        taken.add(out.casefold())
        names[entry.rel] = out
    return names


def _tells(output: str) -> bool:
    """An earlier run's output path whose file or folder names still tell a time or a camera."""
    path = PurePosixPath(output)
    return carries_trace(path.name) or any(folder_tells(part) for part in path.parent.parts)


def _reason(error: UnsupportedInput, path: Path) -> str:
    """The sniffer's reason without the path it starts with."""
    text = str(error)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
