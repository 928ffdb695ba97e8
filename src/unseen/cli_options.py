"""The options every command that writes outputs shares, and the Settings they make.

One definition for `unseen`, `unseen batch` and `unseen review`, so a choice means the same in each.
"""

from __future__ import annotations

import argparse

from unseen.settings import AudioPolicy, Settings, TextMode
from unseen.types import MaskShape, MaskStyle

NO_VERIFY_WARNING = (
    "warning: --no-verify: outputs are NOT checked for faces a detector or recognizer can still find"
)


def add_settings_arguments(p: argparse.ArgumentParser, *, video: bool = True, force: bool = True) -> None:
    """--mask, --shape, --grow, --threshold, --no-verify, and (when asked) --audio and --force."""
    p.add_argument(
        "--mask",
        type=MaskStyle,
        choices=list(MaskStyle),
        default=MaskStyle.SOLID,
        metavar="{" + ",".join(m.value for m in MaskStyle) + "}",
        help="solid (default) and noise carry nothing of the face; blur and pixelate are verified",
    )
    p.add_argument(
        "--shape",
        type=MaskShape,
        choices=list(MaskShape),
        default=MaskShape.ELLIPSE,
        metavar="{" + ",".join(m.value for m in MaskShape) + "}",
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
            type=AudioPolicy,
            choices=list(AudioPolicy),
            default=AudioPolicy.KEEP,
            metavar="{keep,drop}",
            help="video: keep the audio untouched (default) or drop it",
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
        text=getattr(args, "text", TextMode.PEOPLE),
    )
