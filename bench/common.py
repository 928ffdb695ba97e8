"""Shared by the benchmarks: where the dev data is, and the 'protected' measure."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SIZE_BINS = [(0, 10, "<10"), (10, 16, "10-16"), (16, 32, "16-32"), (32, 64, "32-64"), (64, 1e9, ">=64")]
PROTECTED = 0.6  # share of the labelled box that must be under the mask
HEAD_GROW = 2.0  # labelled box scaled by this around its centre counts as 'the face' for over-redaction


def need(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"skipped: {path} is absent (the dev data lives in ../shared/data)")
    return path


def load_annotations(limit: int | None, stride: int | None = None) -> list[dict]:
    records = json.loads((need(DATA / "detection") / "annotations.json").read_text())
    records.sort(key=lambda r: r["file"])
    if limit and limit < len(records):
        step = stride or max(1, len(records) // limit)
        records = records[::step][:limit]
    return records


@dataclass
class Tally:
    """Protected faces by group, and over-redaction, for one tool."""

    hit: dict[str, int] = field(default_factory=dict)
    total: dict[str, int] = field(default_factory=dict)
    over: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    megapixels: list[float] = field(default_factory=list)

    def add(self, group: str, ok: bool) -> None:
        self.total[group] = self.total.get(group, 0) + 1
        self.hit[group] = self.hit.get(group, 0) + int(ok)

    def share(self, group: str) -> float:
        return self.hit.get(group, 0) / max(1, self.total.get(group, 0))


def score_image(record: dict, masked: np.ndarray, tally: Tally) -> None:
    """Add one image's faces to the tally, given the boolean mask of what the tool covered."""
    h, w = masked.shape
    face_zone = np.zeros_like(masked)
    for x, y, bw, bh, *flags in record["boxes"]:
        if bw <= 0 or bh <= 0:
            continue
        x1, y1 = int(max(0, x)), int(max(0, y))
        x2, y2 = int(min(w, x + bw)), int(min(h, y + bh))
        if x2 <= x1 or y2 <= y1:
            continue
        ok = masked[y1:y2, x1:x2].mean() >= PROTECTED
        size = min(bw, bh)
        hard = flags[8] == 1
        tally.add("all", ok)
        if size >= 16:
            tally.add(">=16", ok)
        if hard:
            tally.add("hard", ok)
        if flags[0] == 2:
            tally.add("heavy blur", ok)
        if flags[4] == 2:
            tally.add("heavy occlusion", ok)
        for lo, hi, name in SIZE_BINS:
            if lo <= size < hi:
                tally.add(name, ok)
        cx, cy = x + bw / 2, y + bh / 2
        gx, gy = bw * HEAD_GROW / 2, bh * HEAD_GROW / 2
        face_zone[
            int(max(0, cy - gy)) : int(min(h, cy + gy)) + 1, int(max(0, cx - gx)) : int(min(w, cx + gx)) + 1
        ] = True
    tally.over.append(float((masked & ~face_zone).mean()))


def bare_faces(record: dict, masked: np.ndarray, min_px: float = 32.0) -> int:
    """Labelled faces of `min_px` or more (short side) left unprotected: for a verified output,
    each is a face the attacker should have caught."""
    h, w = masked.shape
    bare = 0
    for x, y, bw, bh, *_ in record["boxes"]:
        if min(bw, bh) < min_px:
            continue
        x1, y1, x2, y2 = int(max(0, x)), int(max(0, y)), int(min(w, x + bw)), int(min(h, y + bh))
        if x2 > x1 and y2 > y1 and masked[y1:y2, x1:x2].mean() < PROTECTED:
            bare += 1
    return bare
