"""The types every stage takes and returns: Detections and Report."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Image = npt.NDArray[np.uint8]  # H x W x 3, RGB


@dataclass(frozen=True)
class Detections:
    """Faces found in one image: one array per field.

    boxes are (n, 4) float32 pixel corners x1, y1, x2, y2; scores (n,) in [0, 1];
    sources (n,) names which detector or pass found each face; grow (n,) scales each face's
    mask beyond the head region (verification raises it for a face that still leaks).
    """

    boxes: FloatArray
    scores: FloatArray
    sources: npt.NDArray[np.str_] = field(default_factory=lambda: np.empty(0, dtype="<U16"))
    grow: FloatArray = field(default_factory=lambda: np.empty(0, dtype=np.float32))

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        sources = np.asarray(self.sources, dtype="<U16").reshape(-1)
        grow = np.asarray(self.grow, dtype=np.float32).reshape(-1)
        if len(sources) == 0 and len(boxes):
            sources = np.full(len(boxes), "", dtype="<U16")
        if len(grow) == 0 and len(boxes):
            grow = np.ones(len(boxes), np.float32)
        if not (len(boxes) == len(scores) == len(sources) == len(grow)):
            raise ValueError(
                "Detections fields differ in length: "
                f"{len(boxes)}, {len(scores)}, {len(sources)}, {len(grow)}"
            )
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "sources", sources)
        object.__setattr__(self, "grow", grow)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.empty((0, 4), np.float32), np.empty(0, np.float32))

    def __len__(self) -> int:
        return len(self.boxes)

    def __getitem__(self, index: Any) -> Detections:
        return Detections(self.boxes[index], self.scores[index], self.sources[index], self.grow[index])

    @property
    def widths(self) -> FloatArray:
        return self.boxes[:, 2] - self.boxes[:, 0]

    @property
    def heights(self) -> FloatArray:
        return self.boxes[:, 3] - self.boxes[:, 1]

    def scaled(self, factor: float) -> Detections:
        return Detections(self.boxes * factor, self.scores, self.sources, self.grow)

    def shifted(self, dx: float, dy: float) -> Detections:
        return Detections(self.boxes + np.float32([dx, dy, dx, dy]), self.scores, self.sources, self.grow)

    def with_source(self, source: str) -> Detections:
        return Detections(self.boxes, self.scores, np.full(len(self), source, dtype="<U16"), self.grow)

    def with_grow(self, grow: npt.ArrayLike) -> Detections:
        return Detections(self.boxes, self.scores, self.sources, np.broadcast_to(grow, len(self)))

    @staticmethod
    def merge(parts: list[Detections]) -> Detections:
        parts = [p for p in parts if len(p)]
        if not parts:
            return Detections.empty()
        return Detections(
            np.concatenate([p.boxes for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.sources for p in parts]),
            np.concatenate([p.grow for p in parts]),
        )


class MaskStyle(str, enum.Enum):
    """How a face is destroyed. solid and noise carry nothing of the face."""

    SOLID = "solid"
    NOISE = "noise"
    BLUR = "blur"
    PIXELATE = "pixelate"


class MaskShape(str, enum.Enum):
    ELLIPSE = "ellipse"
    BOX = "box"


class Verdict(str, enum.Enum):
    VERIFIED = "verified"
    UNVERIFIED = "unverified"  # --no-verify, or --force over a failed check
    REFUSED = "refused"


@dataclass
class FaceRecord:
    """A masked face, by position only: never pixels."""

    box: tuple[int, int, int, int]  # face as detected: x1, y1, x2, y2
    score: float
    source: str  # which detector or pass found it
    mask_box: tuple[int, int, int, int] | None = None  # the head region the mask covers
    # video only: the face track's id (stable between runs on the same input and settings) and
    # the first and last frame (0-based, decode order, inclusive) on which it is masked
    track: int | None = None
    first: int | None = None
    last: int | None = None


@dataclass
class Check:
    """What verification looked at and found."""

    redetected: int = 0  # faces an attacking detector still found in the output
    redetected_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    recognizable_faces: int = 0  # masked faces big enough to compare
    min_embedding_distance: float | None = None
    leaking_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    proved_by_geometry: int = 0  # opaque-masked faces whose whole box is filled: no recognizer needed
    metadata_left: list[str] = field(default_factory=list)
    rounds: int = 0
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Nothing found: no face outside a mask, none recognizable, no identifying metadata."""
        return self.redetected == 0 and not self.leaking_boxes and not self.metadata_left


@dataclass
class Report:
    """What was done to one file (or one array): JSON-ready, holds no pixels."""

    source: str | None
    output: str | None
    width: int
    height: int
    faces: list[FaceRecord] = field(default_factory=list)
    mask: str = MaskStyle.SOLID.value
    metadata_removed: list[str] = field(default_factory=list)
    verdict: str = Verdict.UNVERIFIED.value
    check: Check | None = None
    seconds: float = 0.0
    error: str | None = None

    @property
    def face_count(self) -> int:
        return len(self.faces)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["face_count"] = self.face_count
        return out
