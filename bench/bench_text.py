"""Text on people in real photos: how much `--text people` and `--text all` mask, what they add.

    .venv/bin/python bench/bench_text.py [--limit N]

Labels: bench/text_labels.json, boxes drawn by hand on a sample of ../shared/data/detection
(images with name tags, badges, jersey names and numbers, signs; boxes only, no pixels). A box
is `person` (worn: on clothing, a badge, a lanyard card) or `other` (signs, posters, screens,
watermarks). A labelled box counts as masked when PROTECTED of it is under a mask (text or face).
What text masks add: their area outside the face masks, as a share of the image; over-redaction
is the part of it outside every labelled text box (each grown by a quarter of its height on each
side, the pad a text mask has).
deface masks faces only: its column is what its face masks cover of the text, by chance.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

from common import DATA, PROTECTED, need
from unseen.pipeline import find_faces
from unseen.redact import apply_masks
from unseen.settings import Settings, TextMode
from unseen.text import default_text_detector, protect_text

LABELS = Path(__file__).with_name("text_labels.json")


def label_area(shape: tuple[int, int], boxes: list[list], pad: float = 0.25) -> np.ndarray:
    area = np.zeros(shape, bool)
    for x1, y1, x2, y2, _kind in boxes:
        p = (y2 - y1) * pad
        area[max(0, int(y1 - p)) : int(y2 + p) + 1, max(0, int(x1 - p)) : int(x2 + p) + 1] = True
    return area


def covered(area: np.ndarray, box: list) -> bool:
    x1, y1, x2, y2 = (int(v) for v in box[:4])
    region = area[y1:y2, x1:x2]
    return region.size > 0 and float(region.mean()) >= PROTECTED


class Tally:
    def __init__(self) -> None:
        self.hit = {"person": 0, "other": 0}
        self.total = {"person": 0, "other": 0}
        self.over: list[float] = []
        self.added: list[float] = []
        self.seconds: list[float] = []
        self.refused = 0

    def row(self, name: str) -> str:
        def share(kind: str) -> str:
            return f"{self.hit[kind]}/{self.total[kind]} ({self.hit[kind] / max(1, self.total[kind]):.0%})"

        secs = f"{np.mean(self.seconds):.2f}" if self.seconds else "-"
        return (
            f"| {name} | {share('person')} | {share('other')} | {np.mean(self.added):.2%} | "
            f"{np.mean(self.over):.2%} | {self.refused if self.seconds else '-'} | {secs} |"
        )


def deface_area(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """Where deface (defaults, solid ellipses) masks, and its seconds."""
    import contextlib
    import io

    from deface.centerface import CenterFace
    from deface.deface import anonymize_frame

    global _DEFACE
    if "_DEFACE" not in globals():
        with contextlib.redirect_stdout(io.StringIO()):
            _DEFACE = CenterFace(backend="opencv")
    start = time.perf_counter()
    dets, _ = _DEFACE(rgb, threshold=0.2)
    canvas = np.ones_like(rgb)
    anonymize_frame(dets, canvas, 1.3, "solid", True, False, None, 20)
    return (canvas == 0).all(axis=2), time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0, help="only the first N labelled photos")
    args = p.parse_args()
    need(DATA / "detection")
    records = json.loads(LABELS.read_text())
    records = records[: args.limit] if args.limit else records
    detector = default_text_detector()
    modes = [TextMode.PEOPLE, TextMode.ALL]
    tallies = {m: Tally() for m in modes}
    tallies_faces = Tally()
    deface = Tally()
    for i, record in enumerate(records):
        rgb = np.asarray(Image.open(DATA / "detection" / record["file"]).convert("RGB"))
        shape = rgb.shape[:2]
        boxes = record["boxes"]
        labels = label_area(shape, boxes)
        faces = find_faces(rgb)
        face_masked = apply_masks(rgb, faces)
        face_area = (face_masked != rgb).any(axis=2)
        d_area, d_seconds = deface_area(rgb)
        for tally, area, seconds in [(tallies_faces, face_area, None), (deface, d_area, d_seconds)]:
            for box in boxes:
                tally.total[box[4]] += 1
                tally.hit[box[4]] += covered(area, box)
            tally.added.append(0.0)
            tally.over.append(0.0)
            if seconds is not None and i:
                tally.seconds.append(seconds)
        for mode in modes:
            start = time.perf_counter()
            out, _, passed = protect_text(rgb, face_masked, faces, Settings(text=mode), detector)
            seconds = time.perf_counter() - start
            text_area = (out != face_masked).any(axis=2)
            area = text_area | face_area  # a word under a head mask is hidden too
            tally = tallies[mode]
            for box in boxes:
                tally.total[box[4]] += 1
                tally.hit[box[4]] += covered(area, box)
            tally.added.append(float((text_area & ~face_area).mean()))
            tally.over.append(float((text_area & ~face_area & ~labels).mean()))
            tally.seconds.append(seconds)
            tally.refused += not passed
        print(f"{i + 1}/{len(records)} {record['file']}", flush=True)
        if (i + 1) % 5 == 0 or i + 1 == len(records):
            report(records[: i + 1], deface, tallies_faces, tallies)


def report(done: list[dict], deface: Tally, faces: Tally, tallies: dict[TextMode, Tally]) -> None:
    """The table so far: a long run interrupted still says what it measured."""
    print(f"\n{len(done)} photos, {sum(len(r['boxes']) for r in done)} labelled text boxes\n")
    print(
        "| run | text on people masked | other text masked | area text masks add | over-redaction "
        "| photos refused | s/photo |"
    )
    print("|---|---|---|---|---|---|---|")
    print(deface.row("deface 1.5.0 (faces only)"))
    print(faces.row("unseen faces only (`--text off`)"))
    for mode, tally in tallies.items():
        print(tally.row(f"unseen `--text {mode.value}` (text step, verified)"))
    print("\ns/photo: deface's whole run; unseen's text step alone (detect, mask, re-check)\n", flush=True)


if __name__ == "__main__":
    main()
