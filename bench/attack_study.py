"""Which attacker catches the faces the detector left bare, and at what cost in false alarms.

    .venv/bin/python bench/attack_study.py --limit 120

For dev photos: the default detector's masks (solid, as the pipeline draws them), the labelled
faces of 32 px and up left unprotected (what a "verified" output must never hold), and, for each
attacker variant run on the masked image, how many of those it finds outside the masks, how many
boxes it raises outside the masks that are no labelled face (false alarms: extra masks), and its
seconds a photo. Detections are cached in a temporary folder per run only.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, PROTECTED, load_annotations  # noqa: E402
from unseen.detect.base import iou_matrix  # noqa: E402
from unseen.detect.multiscale import DEFAULT_PASSES  # noqa: E402
from unseen.models import default_detector  # noqa: E402
from unseen.redact import apply_masks, mask_area  # noqa: E402
from unseen.settings import Settings  # noqa: E402
from unseen.types import Detections, Image  # noqa: E402
from unseen.verify import models  # noqa: E402
from unseen.verify.redetect import Attack, redetect_faces, retinaface_faces, uncovered  # noqa: E402


def centerface_above(image: Image, scale: float, threshold: float) -> Detections:
    """CenterFace at `scale` on the masked image, keeping only the faces the detector's own pass at
    that scale drops (taller than its max_px, in the image's pixels)."""
    own = next(p for p in DEFAULT_PASSES if p.scale == scale)
    found = models.centerface().detect_at(image, scale, threshold)
    return found[found.heights > own.max_px]


def labelled(record: dict) -> np.ndarray:
    return np.asarray([[x, y, x + w, y + h] for x, y, w, h, *_ in record["boxes"]], np.float32).reshape(-1, 4)


def bare(record: dict, area: np.ndarray, min_px: float) -> np.ndarray:
    """Labelled boxes of min_px and up with under PROTECTED of them masked."""
    out = []
    h, w = area.shape
    for x, y, bw, bh, *_ in record["boxes"]:
        if min(bw, bh) < min_px:
            continue
        x1, y1, x2, y2 = int(max(0, x)), int(max(0, y)), int(min(w, x + bw)), int(min(h, y + bh))
        if x2 > x1 and y2 > y1 and area[y1:y2, x1:x2].mean() < PROTECTED:
            out.append([x, y, x + bw, y + bh])
    return np.asarray(out, np.float32).reshape(-1, 4)


def overlapping(a: np.ndarray, b: np.ndarray, min_iou: float = 0.2) -> np.ndarray:
    """Which boxes of a overlap some box of b."""
    if len(a) == 0 or len(b) == 0:
        return np.zeros(len(a), bool)
    return iou_matrix(a, b).max(axis=1) >= min_iou


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=60)
    parser.add_argument("--min-px", type=float, default=32.0)
    args = parser.parse_args()
    records = load_annotations(args.limit)
    detector = default_detector(Settings())
    attackers: dict[str, Callable[[Image], Detections]] = {
        "mtcnn (before)": lambda im: redetect_faces(im, Attack(retinaface_threshold=None)),
        "retinaface 0.5": lambda im: retinaface_faces(im, Attack(rotations=(), pad=0.0)),
        "retinaface 0.5, border 5%": lambda im: retinaface_faces(im, Attack(rotations=(), pad=0.05)),
        "retinaface turned only, 0.8": lambda im: retinaface_faces(
            im, Attack(rotations=(1, 2, 3), rotation_threshold=0.8, upright=False)
        ),
        "retinaface turned only, 0.9": lambda im: retinaface_faces(
            im, Attack(rotations=(1, 2, 3), rotation_threshold=0.9, upright=False)
        ),
        "default attack": lambda im: redetect_faces(im),
        "centerface 2x > 30 px, 0.3": lambda im: centerface_above(im, 2.0, 0.3),
        "centerface 2x > 30 px, 0.4": lambda im: centerface_above(im, 2.0, 0.4),
        "centerface 2x > 30 px, 0.5": lambda im: centerface_above(im, 2.0, 0.5),
        "retinaface 2x, 0.3": lambda im: models.retinaface().detect_at(im, 2.0, 0.3),
        "retinaface 2x, 0.5": lambda im: models.retinaface().detect_at(im, 2.0, 0.5),
    }
    caught = dict.fromkeys(attackers, 0)
    alarms = dict.fromkeys(attackers, 0)
    seconds = dict.fromkeys(attackers, 0.0)
    total_bare = 0
    bare_small = 0
    for record in records:
        image = cv2.cvtColor(cv2.imread(str(DATA / "detection" / record["file"])), cv2.COLOR_BGR2RGB)
        found = detector.detect(image)
        masked = apply_masks(image, found)
        area = mask_area(image.shape, found)
        missed = bare(record, area, args.min_px)
        bare_small += len(bare(record, area, 16.0))
        total_bare += len(missed)
        truth = labelled(record)
        for name, attack in attackers.items():
            start = time.perf_counter()
            hits = uncovered(attack(masked), area)
            seconds[name] += time.perf_counter() - start
            caught[name] += int(overlapping(missed, hits.boxes).sum())
            alarms[name] += int((~overlapping(hits.boxes, truth, 0.1)).sum())
        if len(missed):
            print(f"{record['file']}: {len(missed)} bare >= {args.min_px:g} px", flush=True)
    n = len(records)
    print(f"\n{n} photos; labelled faces >= {args.min_px:g} px left bare by the detector: {total_bare}")
    print(f"(>= 16 px: {bare_small})\n")
    print("| attacker | bare faces caught | false alarms / photo | s / photo |\n|---|---|---|---|")
    for name in attackers:
        rate, cost = alarms[name] / n, seconds[name] / n
        print(f"| {name} | {caught[name]} of {total_bare} | {rate:.2f} | {cost:.2f} |")


if __name__ == "__main__":
    main()
