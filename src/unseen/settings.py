"""What a user can choose, in one frozen value passed to every stage."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from unseen.names import NamePolicy
from unseen.types import MaskShape, MaskStyle


class TextMode(str, enum.Enum):
    """Which text is masked: none, text on a person (name tags, badges, jerseys), or all text."""

    OFF = "off"
    PEOPLE = "people"
    ALL = "all"


class AudioPolicy(str, enum.Enum):
    KEEP = "keep"
    DROP = "drop"
    DISGUISE = "disguise"  # voices changed until a speaker recognizer no longer knows them


@dataclass(frozen=True)
class Settings:
    """Choices for one run. Defaults are the safe ones: solid fill, verified."""

    mask: MaskStyle = MaskStyle.SOLID
    shape: MaskShape = MaskShape.ELLIPSE
    grow: float = 1.0  # extra scale on the head region
    threshold: float = 0.2  # CenterFace score; low on purpose: when unsure, mask
    verify: bool = True
    force: bool = False  # write even when verification refuses, marked unverified
    audio: AudioPolicy = AudioPolicy.KEEP
    max_pixels: int = 250_000_000
    names: NamePolicy = NamePolicy.NEUTRAL  # output file names: neutral when the input's tells a time
    text: TextMode = TextMode.PEOPLE  # names on badges and jerseys identify; signs stay (README)
