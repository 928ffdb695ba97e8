"""Where the text step's time goes on the labelled photos: the first look and the re-check.

    .venv/bin/python bench/profile_text.py [--limit N] [--whole-recheck]

For each mode: seconds of the first look (find_text) and of the check after masking, network
pixels, and the labelled text masked (as bench_text.py counts it). `--whole-recheck` makes the
check look again at every crop holding a text mask, whole (protect.RECHECK off: the check before
7 December), instead of around the masks only.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict

import numpy as np
from PIL import Image

from bench_text import LABELS, covered, label_area
from common import DATA, need
from unseen.pipeline import find_faces
from unseen.redact import apply_masks
from unseen.settings import Settings, TextMode
from unseen.text import default_text_detector, protect
from unseen.types import Detections
from unseen.types import Image as Pixels


class Timed:
    """The text detector, timed, with the network pixels it was fed."""

    def __init__(self) -> None:
        self.inner = default_text_detector()
        self.seconds = 0.0
        self.pixels = 0

    def scale_for(self, width: int, height: int) -> float:
        return self.inner.scale_for(width, height)  # the check feeds its windows at their crop's scale

    def detect(self, image: Pixels, scale: float | None = None) -> Detections:
        start = time.perf_counter()
        h, w = image.shape[:2]
        scale = self.inner.scale_for(w, h) if scale is None else scale
        self.pixels += int(w * scale) * int(h * scale)
        found = self.inner.detect(image, scale)
        self.seconds += time.perf_counter() - start
        return found


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--whole-recheck", action="store_true")
    args = p.parse_args()
    need(DATA / "detection")
    protect.RECHECK = not args.whole_recheck
    records = json.loads(LABELS.read_text())
    records = records[: args.limit] if args.limit else records
    timed = Timed()
    totals: dict[str, defaultdict[str, float]] = {
        m.value: defaultdict(float) for m in (TextMode.PEOPLE, TextMode.ALL)
    }
    real_find = protect.find_text
    for record in records:
        rgb = np.asarray(Image.open(DATA / "detection" / record["file"]).convert("RGB"))
        faces = find_faces(rgb)
        face_masked = apply_masks(rgb, faces)
        face_area = (face_masked != rgb).any(axis=2)
        labels = label_area(rgb.shape[:2], record["boxes"])
        for mode in (TextMode.PEOPLE, TextMode.ALL):
            tally = totals[mode.value]
            timed.seconds, timed.pixels = 0.0, 0
            first: list[float] = []

            def find(*a: object, first: list[float] = first, **k: object) -> Detections:
                before = timed.seconds
                found = real_find(*a, **k)  # type: ignore[arg-type]
                first.append(timed.seconds - before)
                return found

            protect.find_text = find  # type: ignore[assignment]
            start = time.perf_counter()
            out, report, passed = protect.protect_text(rgb, face_masked, faces, Settings(text=mode), timed)
            protect.find_text = real_find
            tally["step"] += time.perf_counter() - start
            tally["first look"] += first[0] if first else 0.0
            tally["check"] += timed.seconds - (first[0] if first else 0.0)
            tally["mpix"] += timed.pixels / 1e6
            tally["refused"] += not passed
            text = (out != face_masked).any(axis=2)
            area = text | face_area
            for box in record["boxes"]:
                tally[f"{box[4]} total"] += 1
                tally[f"{box[4]} masked"] += covered(area, box)
            tally["over"] += float((text & ~face_area & ~labels).mean())
        print(record["file"], flush=True)
    n = len(records)
    print(f"\n{n} photos; check: {'whole crops again' if args.whole_recheck else 'around the masks'}\n")
    print(
        "| mode | on people masked | other masked | over-redaction | s/photo step | first look | check "
        "| Mpx/photo | refused |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for mode, t in totals.items():
        print(
            f"| {mode} | {t['person masked']:.0f}/{t['person total']:.0f} "
            f"| {t['other masked']:.0f}/{t['other total']:.0f} "
            f"| {t['over'] / n:.2%} | {t['step'] / n:.2f} | {t['first look'] / n:.2f} | {t['check'] / n:.2f} "
            f"| {t['mpix'] / n:.1f} | {t['refused']:.0f} |"
        )


if __name__ == "__main__":
    main()
