"""How often is a masked face still identified? unseen's styles, verified or not, against deface.

For each person in ../shared/data/identity (LFW), one photo is the probe and the others are the
gallery. A probe counts as identified when its nearest gallery embedding (dlib ResNet) belongs to
the same person AND lies under 0.6. After masking, the probe is aligned with the landmarks found
on the ORIGINAL probe: the attacker knows where the face was.

    .venv/bin/python bench/bench_identity.py [--limit N] [--data DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import dlib
import numpy as np

from unseen.detect import CenterFace
from unseen.models import default_detector
from unseen.redact import apply_masks, mask_area
from unseen.settings import Settings
from unseen.types import Image, MaskStyle
from unseen.verify import SAME_PERSON, ModelVerifier, Recognizer, protect
from unseen.verify.recognize import CHIP_PADDING, CHIP_SIZE, landmarks_for

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "identity"
# Deliberately weak masks, to show the attack works and what protect does about it: apply_masks
# floors blur at sigma 4, so 0.02 is the weakest blur it draws; pixelate 0.1 is 50 blocks a head.
WEAK = [(MaskStyle.BLUR, 0.02), (MaskStyle.PIXELATE, 0.1)]
CONTROL_SIGMA = 2.0  # a plain Gaussian blur over the mask area: not an unseen style, a control


@dataclass
class Row:
    identified: int = 0
    refused: int = 0
    probes: int = 0
    distances: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--limit", type=int, default=None, help="number of people (default: all)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    index = args.data / "identities.json"
    if not index.is_file():
        print(f"skipped: {index} not found (the LFW identity set lives in ../shared/data/identity)")
        return 0
    people: dict[str, list[dict[str, object]]] = defaultdict(list)
    for record in json.loads(index.read_text()):
        people[str(record["identity"])].append(record)
    names = sorted(n for n, r in people.items() if len(r) >= 2)[: args.limit]

    recognizer = Recognizer()
    finder = CenterFace(threshold=0.2)
    pipeline = default_detector(Settings())  # the detector that decides masks in the pipeline
    with contextlib.redirect_stdout(io.StringIO()):  # deface prints its execution provider
        from deface.centerface import CenterFace as DefaceCenterFace
        from deface.deface import anonymize_frame

        deface = DefaceCenterFace()

    def load(record: dict[str, object]) -> Image:
        bgr = cv2.imread(str(args.data / str(record["file"])))
        return np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    fallbacks = 0

    def main_face(image: Image, record: dict[str, object]) -> np.ndarray:
        """The face nearest the centre (LFW crops centre on one face), else the approximate box."""
        nonlocal fallbacks
        found = finder.detect(image)
        if len(found) == 0:
            fallbacks += 1
            x, y, w, h = (float(v) for v in record["approx_face_box"])  # type: ignore[union-attr]
            return np.float32([x, y, x + w, y + h])
        centres = (found.boxes[:, :2] + found.boxes[:, 2:]) / 2
        middle = np.float32(image.shape[1::-1]) / 2
        return found.boxes[int(np.argmin(np.linalg.norm(centres - middle, axis=1)))]

    def embed(image: Image, shape: object) -> np.ndarray:
        return recognizer.embed(dlib.get_face_chip(image, shape, CHIP_SIZE, CHIP_PADDING))

    gallery, labels = [], []
    for name in names:
        for record in people[name][1:]:
            image = load(record)
            gallery.append(embed(image, landmarks_for(image, main_face(image, record))))
            labels.append(name)
    gallery_array, label_array = np.asarray(gallery), np.asarray(labels)

    styles = [MaskStyle.SOLID, MaskStyle.NOISE, MaskStyle.BLUR, MaskStyle.PIXELATE]
    rows: dict[str, Row] = defaultdict(Row)
    rng = np.random.default_rng(0)
    missed = 0
    for name in names:
        record = people[name][0]
        probe = load(record)
        shape = landmarks_for(probe, main_face(probe, record))  # from the ORIGINAL probe

        def score(
            label: str, output: Image | None, seconds: float, name: str = name, shape: object = shape
        ) -> None:
            row = rows[label]
            row.probes += 1
            row.seconds.append(seconds)
            if output is None:
                row.refused += 1
                return
            distances = np.linalg.norm(gallery_array - embed(output, shape), axis=1)
            nearest = int(np.argmin(distances))
            row.distances.append(float(distances[nearest]))
            row.identified += int(label_array[nearest] == name and distances[nearest] < SAME_PERSON)

        score("original (no mask)", probe, 0.0)
        start = time.perf_counter()
        detections = pipeline.detect(probe)
        detect_seconds = time.perf_counter() - start
        missed += int(len(detections) == 0)
        for style in styles:
            start = time.perf_counter()
            masked = apply_masks(probe, detections, style, rng=rng)
            score(f"unseen {style.value}, unverified", masked, detect_seconds + time.perf_counter() - start)
            verifier = ModelVerifier()  # fresh: no embeddings cached from another style
            start = time.perf_counter()
            out, _, _, passed = protect(probe, detections, Settings(mask=style), verifier=verifier, rng=rng)
            label = f"unseen {style.value}, verified (protect)"
            score(label, out if passed else None, detect_seconds + time.perf_counter() - start)
        area = mask_area(probe.shape, detections)
        control = probe.copy()
        control[area] = cv2.GaussianBlur(probe, (0, 0), CONTROL_SIGMA)[area]
        score(f"control: Gaussian sigma {CONTROL_SIGMA:g} over the mask area", control, 0.0)
        for style, strength in WEAK:
            label = f"weak {style.value} (strength {strength:g})"
            masked = apply_masks(probe, detections, style, strength=strength, rng=rng)
            score(f"{label}, unverified", masked, 0.0)
            out, _, _, passed = protect(
                probe, detections, Settings(mask=style), verifier=ModelVerifier(), rng=rng, strength=strength
            )
            score(f"{label}, verified (protect)", out if passed else None, 0.0)
        for replacewith in ("blur", "solid"):
            start = time.perf_counter()
            dets, _ = deface(probe, threshold=0.2)
            frame = probe.copy()
            anonymize_frame(
                dets,
                frame,
                mask_scale=1.3,
                replacewith=replacewith,
                ellipse=True,
                draw_scores=False,
                replaceimg=None,
                mosaicsize=20,
            )
            score(f"deface {replacewith} (defaults)", frame, time.perf_counter() - start)
        print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    print(f"## Re-identification after masking: {len(names)} people, {len(gallery)} gallery photos (LFW)\n")
    print("Identified = nearest gallery embedding is the same person and under 0.6 (dlib ResNet).")
    print("Masked probes are aligned with landmarks from the ORIGINAL probe (an attacker who knows")
    print("where the face was). A refused probe was not written, so it cannot be identified.")
    print("Chance level (a random guess among the people) is 1/people.\n")
    print("| condition | identified | refused | median nearest distance | ms / image |")
    print("|---|---|---|---|---|")
    for label, row in rows.items():
        median = f"{np.median(row.distances):.3f}" if row.distances else "-"
        ms = f"{np.mean(row.seconds) * 1e3:.0f}" if any(row.seconds) else "-"
        print(
            f"| {label} | {row.identified}/{row.probes} ({row.identified / row.probes:.0%}) "
            f"| {row.refused} | {median} | {ms} |"
        )
    print(
        f"\nProbes where unseen's detector found no face: {missed}; approximate box used for "
        f"landmarks {fallbacks} times."
    )
    print("\n| style | unverified ms | verified ms | ratio |\n|---|---|---|---|")
    for style in styles:
        plain = np.mean(rows[f"unseen {style.value}, unverified"].seconds)
        checked = np.mean(rows[f"unseen {style.value}, verified (protect)"].seconds)
        print(f"| {style.value} | {plain * 1e3:.0f} | {checked * 1e3:.0f} | {checked / plain:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
