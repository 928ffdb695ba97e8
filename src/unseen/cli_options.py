"""The options every command that writes outputs shares, and the Settings they make.

One definition for `unseen`, `unseen batch` and `unseen review`, so a choice means the same in each.
"""

from __future__ import annotations

import argparse
import enum
from collections.abc import Callable
from typing import TypeVar

from unseen.names import NamePolicy
from unseen.settings import AudioPolicy, Settings, TextMode
from unseen.types import MaskShape, MaskStyle

E = TypeVar("E", bound=enum.Enum)

NO_VERIFY_WARNING = (
    "warning: --no-verify: outputs are NOT checked for faces a detector or recognizer can still find"
)


def choice(kind: type[E], what: str) -> Callable[[str], E]:
    """An argparse type for an enum option whose error lists the choices as the user types them."""
    values = [str(member.value) for member in kind]
    words = ", ".join(values[:-1]) + " or " + values[-1]

    def parse(text: str) -> E:
        try:
            return kind(text.strip().lower())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}; choose {words}") from None

    parse.__name__ = what  # argparse names the type in some messages
    return parse


def _metavar(kind: type[enum.Enum]) -> str:
    return "{" + ",".join(str(m.value) for m in kind) + "}"


def add_settings_arguments(p: argparse.ArgumentParser, *, video: bool = True, force: bool = True) -> None:
    """--mask, --shape, --grow, --threshold, --no-verify, and (when asked) --audio and --force."""
    p.add_argument(
        "--mask",
        type=choice(MaskStyle, "a mask style"),
        default=MaskStyle.SOLID,
        metavar=_metavar(MaskStyle),
        help="solid (default) and noise carry nothing of the face; blur and pixelate are verified",
    )
    p.add_argument(
        "--shape",
        type=choice(MaskShape, "a mask shape"),
        default=MaskShape.ELLIPSE,
        metavar=_metavar(MaskShape),
        help="mask shape over the head region (default ellipse)",
    )
    p.add_argument("--grow", type=float, default=1.0, help="scale the masked head region (default 1.0)")
    p.add_argument(
        "--threshold",
        type=float,
        default=0.2,
        help="detector score above which a face is masked (default 0.2; lower masks more)",
    )
    p.add_argument(
        "--text",
        type=TextMode,
        choices=list(TextMode),
        default=TextMode.PEOPLE,
        metavar="{" + ",".join(m.value for m in TextMode) + "}",
        help="photos: mask text on people (default: name tags, badges, jerseys), all text "
        "(also plates, signs, posters), or none (the run line still counts what was left)",
    )
    if video:
        p.add_argument(
            "--audio",
            type=choice(AudioPolicy, "an audio choice"),
            default=AudioPolicy.KEEP,
            metavar=_metavar(AudioPolicy),
            help="video: keep the audio untouched (default), drop it, or disguise the voices "
            "(needs unseen[voice])",
        )
    p.add_argument(
        "--names",
        type=choice(NamePolicy, "a name choice"),
        default=NamePolicy.NEUTRAL,
        metavar=_metavar(NamePolicy),
        help="output file names: 'neutral' (default) names a file photo/video when its name shows a "
        "date, time or camera number (PXL_20240501_142233.jpg, IMG_1234.jpg); 'keep' keeps every name",
    )
    p.add_argument(
        "--no-verify",
        action="store_true",
        help="skip attacking the output with a second detector and a recognizer (faster, unproved)",
    )
    if force:
        p.add_argument(
            "--force",
            action="store_true",
            help="write outputs that fail verification, marked unverified in the report",
        )


def settings_from(args: argparse.Namespace) -> Settings:
    """The Settings the parsed options describe; options a command lacks keep their defaults."""
    return Settings(
        mask=args.mask,
        shape=args.shape,
        grow=args.grow,
        threshold=args.threshold,
        verify=not args.no_verify,
        force=getattr(args, "force", False),
        audio=getattr(args, "audio", AudioPolicy.KEEP),
        names=getattr(args, "names", NamePolicy.NEUTRAL),
        text=getattr(args, "text", TextMode.PEOPLE),
    )
