"""The crops the video detector looks at around known faces, joined where one network run over
their union costs less than a run each.

In a crowd every face's crop overlaps its neighbours': on a 1080p pan across a march the
detector ran 53 crops a look, most of them under 128 px a side in the network and padded to
128 (CenterFace's input is padded to multiples of 128), 62 MP of network input for 150 frames.
(Padding to 32 instead made small crops ~35% cheaper but found more false faces in them: on the
fisheye dinner clip 11 tracks instead of 6, on flowers, cabinets and a strip of a face, and 5.8%
of the picture masked instead of 2.7%. The zeros around a small crop keep its scores calm.)
Crops whose scales are within SCALE_STEP of each other may share a run at the larger scale (the
smaller faces in it are then looked at a little larger than their own crop would, never
smaller); an upscaled crop and one at or below full size never share one, as their threshold and
the faces they keep differ.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from unseen.detect.centerface import network_pixels
from unseen.types import FloatArray

SCALE_STEP = 2**0.5  # crops whose scales are within this factor may share a run
CALL_PIXELS = 4_000  # a run's own cost in network pixels: ~0.5 ms a call at ~0.15 s a megapixel


@dataclass(frozen=True)
class Crop:
    """A part of the picture the network looks at: (x1, y1, x2, y2) at `scale`; upscaled, the
    faces kept are at most `max_px` tall (bigger ones are fragments of a bigger face)."""

    x1: int
    y1: int
    x2: int
    y2: int
    scale: float
    max_px: float
    least: float = 0.0  # the smallest scale a crop joined into this one wanted (0: this one's)

    @classmethod
    def around(
        cls, box: FloatArray, reach: float, shape: tuple[int, ...], scale: float, max_px: float
    ) -> Crop | None:
        """The part of a picture of `shape` within `reach` px of `box` (None: hardly any)."""
        h, w = shape[:2]
        x1, y1 = int(max(0, box[0] - reach)), int(max(0, box[1] - reach))
        x2, y2 = int(min(w, box[2] + reach)), int(min(h, box[3] + reach))
        return cls(x1, y1, x2, y2, scale, max_px) if x2 - x1 >= 8 and y2 - y1 >= 8 else None

    @property
    def low(self) -> float:
        return self.least or self.scale

    @property
    def upscaled(self) -> bool:
        return self.scale > 1

    def cost(self) -> int:
        return network_pixels(self.x2 - self.x1, self.y2 - self.y1, self.scale) + CALL_PIXELS

    def joined(self, other: Crop) -> Crop | None:
        """One crop for both (None: their scales are too far apart to share a run)."""
        if self.upscaled != other.upscaled:
            return None
        scale, low = max(self.scale, other.scale), min(self.low, other.low)
        if scale > low * SCALE_STEP:
            return None
        return Crop(
            min(self.x1, other.x1),
            min(self.y1, other.y1),
            max(self.x2, other.x2),
            max(self.y2, other.y2),
            scale,
            max(self.max_px, other.max_px),
            low,
        )


def join_crops(crops: Iterable[Crop]) -> list[Crop]:
    """The crops with every pair joined whose union costs less than the two runs it replaces,
    until no such pair is left (each crop's area is inside one of the result's, at a scale at
    least its own and at most SCALE_STEP larger)."""
    todo = sorted(crops, key=lambda c: (c.scale, c.y1, c.x1))
    changed = True
    while changed:
        changed = False
        out: list[Crop] = []
        for crop in todo:
            for i, other in enumerate(out):
                if not _near(crop, other):
                    continue
                union = crop.joined(other)
                if union is not None and union.cost() < crop.cost() + other.cost():
                    out[i] = union
                    changed = True
                    break
            else:
                out.append(crop)
        todo = out
    return todo


def _near(a: Crop, b: Crop) -> bool:
    """Overlapping, or apart by less than the smaller one's side: only then can a union pay."""
    gap = min(a.x2 - a.x1, a.y2 - a.y1, b.x2 - b.x1, b.y2 - b.y1)
    return a.x1 - gap < b.x2 and b.x1 - gap < a.x2 and a.y1 - gap < b.y2 and b.y1 - gap < a.y2
