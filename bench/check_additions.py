"""What the check's additions cost: the faces verification adds to a photo's masks, and their area.

    .venv/bin/python bench/check_additions.py --limit 200

For dev photos run through `anonymize` (defaults, text off: text masks are not counted as
over-redaction): the over-redaction (as bench_photos.py counts it) of the masks with and without
the faces the attacking detector added (source "verify"), and each addition sorted by what it is:
on a labelled face, or not; holding the centres of two or more masked faces (a cluster of masks
read as one face); and whether RetinaFace, at a lower threshold (0.3 upright, 0.6 turned), finds
it in the input too (if not, the masks made it). The largest additions are listed, by file and box.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, HEAD_GROW, load_annotations  # noqa: E402
from unseen.detect.base import iou_matrix  # noqa: E402
from unseen.pipeline import anonymize  # noqa: E402
from unseen.redact.masks import _draw  # noqa: E402
from unseen.settings import Settings, TextMode  # noqa: E402
from unseen.types import FaceRecord, MaskShape  # noqa: E402
from unseen.verify.redetect import Attack, redetect_faces  # noqa: E402

LENIENT = Attack(retinaface_threshold=0.3, rotation_threshold=0.6)


def drawn(shape: tuple[int, int], faces: list[FaceRecord]) -> np.ndarray:
    area = np.zeros(shape, np.uint8)
    for face in faces:
        _draw(area, tuple(float(v) for v in face.mask_box), MaskShape.ELLIPSE)  # type: ignore[arg-type]
    return area.astype(bool)


def labels_of(record: dict) -> np.ndarray:
    boxes = [[x, y, x + w, y + h] for x, y, w, h, *_ in record["boxes"] if w > 0 and h > 0]
    return np.asarray(boxes, np.float32).reshape(-1, 4)


def face_zone(shape: tuple[int, int], labels: np.ndarray) -> np.ndarray:
    zone = np.zeros(shape, bool)
    for x1, y1, x2, y2 in labels:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        gx, gy = (x2 - x1) * HEAD_GROW / 2, (y2 - y1) * HEAD_GROW / 2
        zone[max(0, int(cy - gy)) : int(cy + gy) + 1, max(0, int(cx - gx)) : int(cx + gx) + 1] = True
    return zone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=200)
    args = parser.parse_args()
    records = load_annotations(args.limit)
    over = {"without": 0.0, "with": 0.0}
    kinds: dict[str, list[tuple[float, bool]]] = {}
    rows = []
    for record in records:
        image = np.asarray(Image.open(DATA / "detection" / record["file"]).convert("RGB"))
        shape = image.shape[:2]
        _, report = anonymize(image, Settings(text=TextMode.OFF))
        labels = labels_of(record)
        zone = face_zone(shape, labels)
        own = [f for f in report.faces if f.source != "verify"]
        added = [f for f in report.faces if f.source == "verify"]
        base = drawn(shape, own)
        over["without"] += float((base & ~zone).mean())
        over["with"] += float(((base | drawn(shape, added)) & ~zone).mean())
        seen = redetect_faces(image, LENIENT) if added else None
        for face in added:
            box = np.asarray([face.box], np.float32)
            extra = float((drawn(shape, [face]) & ~base & ~zone).mean())
            on_label = len(labels) > 0 and float(iou_matrix(box, labels).max()) >= 0.3
            in_input = seen is not None and len(seen) > 0 and float(iou_matrix(box, seen.boxes).max()) >= 0.3
            x1, y1, x2, y2 = face.box
            inside = sum(
                x1 < (g.box[0] + g.box[2]) / 2 < x2 and y1 < (g.box[1] + g.box[3]) / 2 < y2 for g in own
            )
            for kind, yes in (
                ("on a labelled face", on_label),
                ("on no labelled face", not on_label),
                ("holds 2+ masked faces", inside >= 2),
                ("not found in the input", not in_input),
            ):
                if yes:
                    kinds.setdefault(kind, []).append((extra, on_label))
            rows.append((extra, record["file"].split("/")[-1], face.box, on_label, in_input))
    n = len(records)
    print(
        f"\n{n} photos; over-redaction without the check's additions {over['without'] / n:.2%}, "
        f"with them {over['with'] / n:.2%}; {len(rows)} additions\n"
    )
    print("| additions | count | of them on a labelled face | over-redaction they add |\n|---|---|---|---|")
    for kind, extras in kinds.items():
        on = sum(label for _, label in extras)
        print(f"| {kind} | {len(extras)} | {on} | {sum(e for e, _ in extras) / n:.2%} |")
    print("\nlargest (share of the image outside every face, file, box, on a label, found in the input):")
    for extra, name, box, on_label, in_input in sorted(rows, reverse=True)[:12]:
        print(f"  {extra:.1%} {name} {box} {on_label} {in_input}")


if __name__ == "__main__":
    main()
