"""The types every stage takes and returns: Detections and Report."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields
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
        return Detections(
            self.boxes + np.array([dx, dy, dx, dy], np.float32), self.scores, self.sources, self.grow
        )

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

    def __str__(self) -> str:
        return self.value  # what the report and the command line say


class MaskShape(str, enum.Enum):
    ELLIPSE = "ellipse"
    BOX = "box"


class Verdict(str, enum.Enum):
    VERIFIED = "verified"
    UNVERIFIED = "unverified"  # --no-verify, or --force over a failed check
    REFUSED = "refused"

    def __str__(self) -> str:
        return self.value


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
    # video only: the largest head region painted for it on any frame (tracks grow with doubt)
    max_mask_box: tuple[int, int, int, int] | None = None


class FindingKind(str, enum.Enum):
    """What the attack on an output found."""

    DETECTED = "detected"  # a face an attacking detector still finds outside the masks
    RECOGNIZABLE = "recognizable"  # a masked face the recognizer still matches


@dataclass
class Finding:
    """One thing the attack on a video frame still found: where, on which frame, what kind."""

    frame: int
    box: tuple[int, int, int, int]
    kind: FindingKind = FindingKind.DETECTED


@dataclass
class Coverage:
    """How much of a video's picture its masks took: over all frames, and beyond the faces
    (what the masks cover outside the head regions of the faces as last detected)."""

    masked: float = 0.0  # share of all pixels of the clip under a mask
    beyond_faces: float = 0.0  # share of all pixels under a mask but outside every face's head
    worst_frame: int | None = None  # the frame with most mask beyond its faces
    worst_share: float = 0.0  # its share of the frame
    found: float = 0.0  # share of all pixels under the masks of what only the check found
    found_frame: int | None = None  # the frame where those masks took most of the picture
    found_share: float = 0.0  # their share of that frame


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
    findings: list[Finding] = field(default_factory=list)  # video: what still showed, by frame
    # what the attack still found where a person said to leave it bare (a mask removed, a track
    # switched off in the review): not masked again, not a failure, said in the line (photos: frame 0)
    left_bare: list[Finding] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Nothing found: no face outside a mask, none recognizable, no identifying metadata."""
        return self.redetected == 0 and not self.leaking_boxes and not self.metadata_left


@dataclass
class TextRecord:
    """A text region, by position only: never its pixels nor what it says."""

    box: tuple[int, int, int, int]  # x1, y1, x2, y2
    score: float
    on_person: bool  # on the body below a found face (a name tag, a badge, a jersey)
    masked: bool


@dataclass
class TextReport:
    """Text regions found, masked and left in one image, and what verification still found."""

    mode: str  # off | people | all
    checked: bool = True  # False: the text detector is not installed, nothing was looked for
    regions: list[TextRecord] = field(default_factory=list)
    on_people_found: int = 0
    on_people_masked: int = 0
    on_people_left: int = 0
    other_found: int = 0
    other_masked: int = 0
    other_left: int = 0
    redetected: int = 0  # regions the mode masks that the last check still found unmasked
    redetected_boxes: list[tuple[int, int, int, int]] = field(default_factory=list)
    rounds: int = 0  # checks run after masking (0: not verified)


@dataclass
class VoiceCheck:
    """What `--audio disguise` did to a video's voices and what the speaker recognizer found."""

    tracks: int = 0  # audio tracks disguised
    speech_seconds: float = 0.0  # speech the recognizer could judge, over all tracks
    similarity: float | None = None  # closest output-to-original speaker similarity, read back
    threshold: float | None = None  # at and above it the recognizer calls it the same speaker
    rounds: int = 0  # disguise rounds of the strongest-needing track
    recognizer: str | None = None  # None: --no-verify, nothing compared
    verified: bool = False


@dataclass
class Report:
    """What was done to one file (or one array): JSON-ready, holds no pixels."""

    source: str | None
    output: str | None
    width: int
    height: int
    faces: list[FaceRecord] = field(default_factory=list)
    mask: MaskStyle = MaskStyle.SOLID
    metadata_removed: list[str] = field(default_factory=list)
    verdict: Verdict = Verdict.UNVERIFIED
    check: Check | None = None
    seconds: float = 0.0
    error: str | None = None
    coverage: Coverage | None = None  # video: share of the picture the masks took
    notes: list[str] = field(default_factory=list)  # warnings for the report line, user's words
    stages: dict[str, float] = field(default_factory=dict)  # video: seconds spent in each stage
    text: TextReport | None = None
    voice: VoiceCheck | None = None  # video with --audio disguise

    def __post_init__(self) -> None:
        # from JSON, or a caller's plain string: the enum, so a wrong value fails here
        self.mask, self.verdict = MaskStyle(self.mask), Verdict(self.verdict)

    @property
    def face_count(self) -> int:
        return len(self.faces)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["face_count"] = self.face_count
        out["mask"], out["verdict"] = self.mask.value, self.verdict.value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        """The Report `to_dict` gave (from JSON too: lists become box tuples again)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["faces"] = [_record(face) for face in values.get("faces", [])]
        if values.get("check") is not None:
            check = {k: v for k, v in values["check"].items() if k in {f.name for f in fields(Check)}}
            for key in ("redetected_boxes", "leaking_boxes"):
                check[key] = [_box(b) for b in check.get(key, [])]
            for key in ("findings", "left_bare"):
                check[key] = [
                    Finding(int(f["frame"]), _box(f["box"]), FindingKind(f["kind"]))
                    for f in check.get(key, [])
                ]
            values["check"] = Check(**check)
        if values.get("coverage") is not None:
            values["coverage"] = Coverage(**values["coverage"])
        if values.get("text") is not None:
            text = {k: v for k, v in values["text"].items() if k in {f.name for f in fields(TextReport)}}
            text["regions"] = [
                TextRecord(_box(r["box"]), float(r["score"]), bool(r["on_person"]), bool(r["masked"]))
                for r in text.get("regions", [])
            ]
            text["redetected_boxes"] = [_box(b) for b in text.get("redetected_boxes", [])]
            values["text"] = TextReport(**text)
        return cls(**values)


def _box(values: Any) -> tuple[int, int, int, int]:
    a, b, c, d = (int(v) for v in values)
    return (a, b, c, d)


def _record(face: dict[str, Any]) -> FaceRecord:
    values = {k: v for k, v in face.items() if k in {f.name for f in fields(FaceRecord)}}
    for key in ("box", "mask_box", "max_mask_box"):
        if values.get(key) is not None:
            values[key] = _box(values[key])
    return FaceRecord(**values)
