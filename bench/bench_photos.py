"""Photos: share of labelled faces protected, over-redaction and speed, unseen against deface.

    .venv/bin/python bench/bench_photos.py            # all 842 dev images
    .venv/bin/python bench/bench_photos.py --limit 150

Both tools run in this process on the same images, models loaded once, file in and file out
(read, detect, mask, write). deface runs with its defaults (threshold 0.2, mask scale 1.3) and
solid fill, on each of its backends; the ratio is taken to its faster one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, SIZE_BINS, Tally, load_annotations, score_image  # noqa: E402
from unseen.settings import Settings  # noqa: E402
from unseen.types import MaskShape  # noqa: E402

GROUPS = [">=16", "hard", *[b[2] for b in SIZE_BINS], "heavy blur", "heavy occlusion", "all"]


def unseen_mask(report, shape: tuple[int, int], mask_shape: MaskShape) -> np.ndarray:
    """The pixels unseen covered, rebuilt from the head regions its report lists."""
    from unseen.redact.masks import _draw

    area = np.zeros(shape, np.uint8)
    for face in report.faces:
        _draw(area, tuple(float(v) for v in face.mask_box), mask_shape)
    return area.astype(bool)


def run_unseen(records: list[dict], out_dir: Path, settings: Settings) -> Tally:
    import unseen

    tally = Tally()
    unseen.anonymize_file(DATA / "detection" / records[0]["file"], out_dir / "warm.jpg", settings)
    for record in records:
        src = DATA / "detection" / record["file"]
        start = time.perf_counter()
        report = unseen.anonymize_file(src, out_dir / "u.jpg", settings)
        tally.seconds.append(time.perf_counter() - start)
        tally.megapixels.append(record["width"] * record["height"] / 1e6)
        score_image(record, unseen_mask(report, (record["height"], record["width"]), settings.shape), tally)
    return tally


def run_deface(records: list[dict], out_dir: Path, backend: str, score: bool) -> Tally:
    import contextlib
    import io

    from deface.centerface import CenterFace
    from deface.deface import anonymize_frame, image_detect

    with contextlib.redirect_stdout(io.StringIO()):
        centerface = CenterFace(backend=backend)
    kwargs = dict(threshold=0.2, replacewith="solid", mask_scale=1.3, ellipse=True, draw_scores=False)
    tally = Tally()
    for i, record in enumerate([records[0], *records]):
        src = DATA / "detection" / record["file"]
        start = time.perf_counter()
        image_detect(
            str(src), str(out_dir / "d.jpg"), centerface, enable_preview=False, keep_metadata=False, **kwargs
        )
        if i == 0:
            continue  # warm-up
        tally.seconds.append(time.perf_counter() - start)
        tally.megapixels.append(record["width"] * record["height"] / 1e6)
        if score:
            frame = cv2.cvtColor(cv2.imread(str(src)), cv2.COLOR_BGR2RGB)
            dets, _ = centerface(frame, threshold=kwargs["threshold"])
            canvas = np.ones_like(frame)
            anonymize_frame(dets, canvas, kwargs["mask_scale"], "solid", True, False, None, 20)
            score_image(record, (canvas == 0).all(axis=2), tally)
    return tally


def table(results: dict[str, Tally], reference: str) -> str:
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for group in GROUPS:
        first = next(iter(results.values()))
        n = first.total.get(group, 0)
        if not n:
            continue
        cells = [f"{100 * t.share(group):.1f}%" if t.total else "–" for t in results.values()]
        lines.append(f"| protected, {group} (n={n}) | " + " | ".join(cells) + " |")
    cells = [f"{100 * np.mean(t.over):.2f}%" if t.over else "–" for t in results.values()]
    lines.append("| over-redaction (share of image) | " + " | ".join(cells) + " |")
    ref = np.mean(results[reference].seconds)
    cells = [f"{np.mean(t.seconds):.3f}" for t in results.values()]
    lines.append("| seconds per image | " + " | ".join(cells) + " |")
    cells = [f"{np.sum(t.megapixels) / np.sum(t.seconds):.2f}" for t in results.values()]
    lines.append("| megapixels per second | " + " | ".join(cells) + " |")
    cells = [f"{np.mean(t.seconds) / ref:.2f}x" for t in results.values()]
    lines.append(f"| time vs {reference} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="images, spread evenly over the set")
    parser.add_argument("--no-verify", action="store_true", help="unseen without its verification pass")
    parser.add_argument("--skip-deface", action="store_true")
    args = parser.parse_args()
    records = load_annotations(args.limit)
    settings = Settings(verify=not args.no_verify)
    faces = sum(len(r["boxes"]) for r in records)
    print(f"{len(records)} images, {faces} labelled faces; {os.cpu_count()} cores")
    results: dict[str, Tally] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        results["unseen"] = run_unseen(records, out, settings)
        if not args.skip_deface:
            import importlib.util

            # deface's faster backend needs onnx and onnxruntime, which unseen itself never loads:
            # pip install onnx onnxruntime to measure it
            backends = ["opencv"]
            if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):
                backends.insert(0, "onnxrt")
            for i, backend in enumerate(backends):
                name = "deface (onnxruntime)" if backend == "onnxrt" else "deface (opencv)"
                results[name] = run_deface(records, out, backend, score=i == 0)
                if i:  # both backends find the same faces; score once
                    first = results["deface (onnxruntime)"]
                    tally = results[name]
                    tally.hit, tally.total, tally.over = first.hit, first.total, first.over
    reference = min(
        (k for k in results if k.startswith("deface")),
        key=lambda k: np.mean(results[k].seconds),
        default="unseen",
    )
    print(table(results, reference))


if __name__ == "__main__":
    main()
