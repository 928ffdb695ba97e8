"""What the photo detector's closer look buys, detector alone (no check, no text): protected faces
by size and over-redaction, the network input it adds and the detector's seconds, for variants.

    .venv/bin/python bench/closer_look.py --phone 4 --dev 150

The phone set is bench/photo_sets.py's (mosaics of dev photos and dev photos upscaled to 12 MP);
`--dev` takes that many dev photos as they are. Each variant is `scale,below_px,reach,min_native`
of `unseen.detect.multiscale.Closer`; "none" is the working-copy passes alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, Tally, load_annotations, score_image  # noqa: E402
from photo_sets import phone_set  # noqa: E402
from unseen.detect.multiscale import CLOSER, MultiScale  # noqa: E402
from unseen.models import _centerface  # noqa: E402
from unseen.redact.masks import _draw, head_boxes  # noqa: E402
from unseen.types import Detections, MaskShape  # noqa: E402

GROUPS = (">=16", "hard", "<10", "10-16", "16-32", "heavy blur", "heavy occlusion")


def area_of(image: np.ndarray, found: Detections) -> np.ndarray:
    area = np.zeros(image.shape[:2], np.uint8)
    for box in head_boxes(found, image.shape):
        _draw(area, tuple(float(v) for v in box), MaskShape.ELLIPSE)  # type: ignore[arg-type]
    return area.astype(bool)


def variants(specs: list[str]) -> dict[str, MultiScale]:
    out = {"none": MultiScale(_centerface(), closer=None)}
    for spec in specs:
        scale, below, reach, native = (float(v) for v in spec.split(","))
        closer = replace(CLOSER, scale=scale, below_px=below, reach=reach, min_native=native)
        out[spec] = MultiScale(_centerface(), closer=closer)
    return out


def run(name: str, records: list[dict], detectors: dict[str, MultiScale]) -> None:
    tallies = {k: Tally() for k in detectors}
    seconds = dict.fromkeys(detectors, 0.0)
    pixels = dict.fromkeys(detectors, 0.0)
    for record in records:
        path = Path(record["file"])
        image = cv2.cvtColor(
            cv2.imread(str(path if path.is_absolute() else DATA / "detection" / path)), cv2.COLOR_BGR2RGB
        )
        for key, detector in detectors.items():
            started = time.perf_counter()
            found = detector.detect(image)
            seconds[key] += time.perf_counter() - started
            if detector.closer is not None:
                base = detector.base_scale(image)
                scale = max(detector.closer.scale * base, detector.closer.min_native)
                regions = detector.closer_regions(image, found, base)
                pixels[key] += sum((x2 - x1) * (y2 - y1) * scale * scale for x1, y1, x2, y2 in regions)
            score_image(record, area_of(image, found), tallies[key])
    print(f"\n### {name}: {len(records)} photos\n")
    print("| variant | " + " | ".join(GROUPS) + " | over-redaction | closer MP / photo | s / photo |")
    print("|---|" + "---|" * (len(GROUPS) + 3))
    for key, tally in tallies.items():
        shares = " | ".join(f"{100 * tally.share(g):.1f}%" for g in GROUPS)
        print(
            f"| {key} | {shares} | {100 * np.mean(tally.over):.2f}% | "
            f"{pixels[key] / len(records) / 1e6:.1f} | {seconds[key] / len(records):.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phone", type=int, default=4, help="mosaics and upscaled photos, each")
    parser.add_argument("--dev", type=int, default=150, help="dev photos as they are (0: none)")
    parser.add_argument("variants", nargs="*", default=["4,8,6,0", "4,8,6,1.75", "6,8,6,0"])
    args = parser.parse_args()
    detectors = variants(args.variants)
    with tempfile.TemporaryDirectory() as folder:
        if args.phone:
            run("12 MP set", phone_set(load_annotations(None), Path(folder), args.phone), detectors)
    if args.dev:
        run("dev photos", load_annotations(args.dev), detectors)


if __name__ == "__main__":
    main()
