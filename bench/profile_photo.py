"""Where the time goes on one photo: each detection pass (first run, with OpenCV's planning for a
new input shape, and again), re-detection, and the recognizer per face.

    .venv/bin/python bench/profile_photo.py images/10--People_Marching/\
        10_People_Marching_People_Marching_2_373.jpg
    .venv/bin/python bench/profile_photo.py FILE --scale 3.94     # the same photo at 12 MP
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA  # noqa: E402
from unseen.detect import CenterFace, MultiScale  # noqa: E402
from unseen.redact import apply_masks, mask_area  # noqa: E402
from unseen.settings import Settings  # noqa: E402
from unseen.types import MaskStyle  # noqa: E402
from unseen.verify import protect  # noqa: E402
from unseen.verify.recognize import Recognizer  # noqa: E402
from unseen.verify.redetect import redetect_faces  # noqa: E402
from unseen.verify.verifier import ModelVerifier, proved_by_geometry  # noqa: E402


def timed(label: str, call: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = call()
    print(f"| {label} | {time.perf_counter() - start:.3f} |")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="path under ../shared/data/detection")
    parser.add_argument("--scale", type=float, default=1.0, help="upscale the photo first (cubic)")
    args = parser.parse_args()
    image = cv2.cvtColor(cv2.imread(str(DATA / "detection" / args.file)), cv2.COLOR_BGR2RGB)
    if args.scale != 1.0:
        image = cv2.resize(image, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_CUBIC)
    h, w = image.shape[:2]
    print(f"{args.file} at {w}x{h} ({w * h / 1e6:.1f} MP)\n\n| step | seconds |\n|---|---|")
    multi = MultiScale(timed("load CenterFace", lambda: CenterFace(threshold=0.2)))
    work = image
    if multi.base_scale(image) < 1:
        size = (round(w * multi.base_scale(image)), round(h * multi.base_scale(image)))
        label = f"resize to working size {size[0]}x{size[1]}"
        work = timed(label, lambda: cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    for p in multi.passes_for(work):
        for run in ("first run (plans the shape)", "again"):
            timed(
                f"CenterFace pass x{p.scale:g}, {run}",
                lambda p=p: multi.detector.detect_at(work, p.scale, multi.threshold * p.threshold),
            )
    faces = timed("all passes, merged", lambda: multi.detect(image))
    masked = apply_masks(image, faces)
    area = mask_area(image.shape, faces)
    timed("re-detection (RetinaFace), first (loads)", lambda: redetect_faces(masked))
    timed("re-detection, again", lambda: redetect_faces(masked))
    recognizer = Recognizer()
    big = faces[np.minimum(faces.widths, faces.heights) >= recognizer.min_face_px]
    sample = big[: min(20, len(big))]
    if len(sample):
        recognizer.compare(image, masked, sample[:1])  # loads dlib's models
        spent = time.perf_counter()
        recognizer.compare(image, masked, sample)
        each = (time.perf_counter() - spent) / len(sample)
        print(f"| dlib landmarks + embedding, per face ({len(sample)} timed) | {each:.3f} |")
        print(f"| dlib on all {len(big)} faces of 16 px and up (old solid path) | {each * len(big):.3f} |")
    opaque = np.ones(len(faces), bool)
    proved = int(proved_by_geometry(faces, area, opaque).sum())
    print(f"| faces proved by geometry (solid) | {proved} of {len(faces)} |")
    verifier = ModelVerifier()
    for settings in (Settings(), Settings(mask=MaskStyle.PIXELATE)):
        timed(
            f"protect(), mask {settings.mask.value}, {len(faces)} faces",
            lambda settings=settings: protect(image, faces, settings, verifier=verifier),
        )


if __name__ == "__main__":
    main()
