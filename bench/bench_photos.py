"""Photos: share of labelled faces protected, over-redaction, speed and memory, unseen against deface.

    .venv/bin/python bench/bench_photos.py                      # all 842 dev images + 12 MP set
    .venv/bin/python bench/bench_photos.py --limit 100 --phone 4 --processes 6

Both tools run on the same images, interleaved photo by photo (so load on the machine hits both
alike): in this process (models loaded once, as for a folder), and with --processes N also as a
user runs them, one `unseen FILE` / `deface FILE` process per photo (time and peak memory per
process). deface runs with its defaults (threshold 0.2, mask scale 1.3; solid fill when scored
in-process, plain `deface FILE` as a process). The 12 MP set is built from dev photos with their
labels: 3 x 4 mosaics (faces keep their real pixels) and photos upscaled to 4032 px wide.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, SIZE_BINS, Tally, bare_faces, load_annotations, score_image  # noqa: E402
from photo_sets import phone_set  # noqa: E402
from unseen.settings import Settings  # noqa: E402
from unseen.types import MaskShape  # noqa: E402

GROUPS = [">=16", "hard", *[b[2] for b in SIZE_BINS], "heavy blur", "heavy occlusion", "all"]
BIN = Path(sys.executable).parent
TIME = "/usr/bin/time"  # GNU time (Debian package `time`): the peak memory of one child


def source(record: dict) -> Path:
    return DATA / "detection" / record["file"]  # an absolute file (the 12 MP set) stays itself


def unseen_mask(report, shape: tuple[int, int], mask_shape: MaskShape) -> np.ndarray:
    """The pixels unseen covered, rebuilt from the head regions its report lists."""
    from unseen.redact.masks import _draw

    area = np.zeros(shape, np.uint8)
    for face in report.faces:
        _draw(area, tuple(float(v) for v in face.mask_box), mask_shape)
    return area.astype(bool)


class Deface:
    """deface's own image path, in this process."""

    def __init__(self) -> None:
        from deface.centerface import CenterFace

        with contextlib.redirect_stdout(io.StringIO()):
            self.centerface = CenterFace(backend="auto")
        self.kwargs = dict(
            threshold=0.2, replacewith="solid", mask_scale=1.3, ellipse=True, draw_scores=False
        )

    def run(self, src: Path, dst: Path) -> None:
        from deface.deface import image_detect

        with contextlib.redirect_stdout(io.StringIO()):
            image_detect(
                str(src), str(dst), self.centerface, enable_preview=False, keep_metadata=False, **self.kwargs
            )

    def mask(self, src: Path) -> np.ndarray:
        from deface.deface import anonymize_frame

        frame = cv2.cvtColor(cv2.imread(str(src)), cv2.COLOR_BGR2RGB)
        dets, _ = self.centerface(frame, threshold=self.kwargs["threshold"])
        canvas = np.ones_like(frame)
        anonymize_frame(dets, canvas, self.kwargs["mask_scale"], "solid", True, False, None, 20)
        return (canvas == 0).all(axis=2)


def in_process(records: list[dict], out: Path, settings: dict[str, Settings], deface: Deface | None):
    """Each photo through every tool in turn; returns a Tally per tool and verified-but-bare counts."""
    import unseen

    tallies = {name: Tally() for name in [*settings, *(["deface"] if deface else [])]}
    bare = {name: 0 for name in settings}
    for i, record in enumerate([records[0], *records]):  # the first is a warm-up, not counted
        src = source(record)
        for name, s in settings.items():
            (out / "u.jpg").unlink(missing_ok=True)  # an existing output is refused, never replaced
            start = time.perf_counter()
            try:
                report = unseen.anonymize_file(src, out / "u.jpg", s)
            except unseen.VerificationFailed as error:
                report = error.report  # refused: nothing written, counted as it is
            seconds = time.perf_counter() - start
            if i:
                area = unseen_mask(report, (record["height"], record["width"]), s.shape)
                score_image(record, area, tallies[name])
                tallies[name].seconds.append(seconds)
                if report.verdict == "verified":
                    bare[name] += bare_faces(record, area)
        if deface:
            start = time.perf_counter()
            deface.run(src, out / "d.jpg")
            if i:
                tallies["deface"].seconds.append(time.perf_counter() - start)
                score_image(record, deface.mask(src), tallies["deface"])
        if i:
            for t in tallies.values():
                t.megapixels.append(record["width"] * record["height"] / 1e6)
    return tallies, bare


def one_process(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one command, as a user runs it.

    The memory comes from /usr/bin/time (a small process that forks the command): a child forked
    straight from this big process starts its peak at this process's resident size, which Linux
    carries across exec, so os.wait4's ru_maxrss reported the benchmark's size, not the tool's.
    """
    for old in cmd[cmd.index("-o") + 1 : cmd.index("-o") + 2]:
        Path(old).unlink(missing_ok=True)  # an existing output is refused, never replaced
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        start = time.perf_counter()
        proc = subprocess.run(
            [TIME, "-f", "%M", "-o", rss.name, *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        seconds = time.perf_counter() - start
        if proc.returncode not in (0, 3):
            raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
        kilobytes = float(rss.read().split()[-1])
    return seconds, kilobytes / 1024


def per_process(records: list[dict], out: Path, verify: list[bool]) -> dict[str, list[tuple[float, float]]]:
    runs: dict[str, list[tuple[float, float]]] = {}
    for record in records:
        src = source(record)
        for v in verify:
            name = "unseen" if v else "unseen --no-verify"
            cmd = [str(BIN / "unseen"), str(src), "-o", str(out / "u.jpg"), *([] if v else ["--no-verify"])]
            runs.setdefault(name, []).append(one_process(cmd))
        runs.setdefault("deface", []).append(
            one_process([str(BIN / "deface"), str(src), "-o", str(out / "d.jpg")])
        )
    return runs


def table(results: dict[str, Tally], bare: dict[str, int], reference: str) -> str:
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    first = next(iter(results.values()))
    for group in GROUPS:
        n = first.total.get(group, 0)
        if n:
            cells = [f"{100 * t.share(group):.1f}%" for t in results.values()]
            lines.append(f"| protected, {group} (n={n}) | " + " | ".join(cells) + " |")
    cells = [f"{100 * np.mean(t.over):.2f}%" for t in results.values()]
    lines.append("| over-redaction (share of image) | " + " | ".join(cells) + " |")
    cells = [str(bare[n]) if n in bare and "no-verify" not in n else "–" for n in names]
    lines.append("| reported verified, yet a labelled face >= 32 px bare | " + " | ".join(cells) + " |")
    ref = np.mean(results[reference].seconds) if reference in results else None
    cells = [f"{np.mean(t.seconds):.2f}" for t in results.values()]
    lines.append("| seconds per photo, one process for the folder | " + " | ".join(cells) + " |")
    if ref:
        cells = [f"{np.mean(t.seconds) / ref:.2f}x" for t in results.values()]
        lines.append(f"| time vs {reference} (interleaved) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def process_table(runs: dict[str, list[tuple[float, float]]]) -> str:
    ref = np.mean([s for s, _ in runs["deface"]])
    lines = [
        "| one process per photo | seconds (mean) | vs deface | peak memory (max) |",
        "|---|---|---|---|",
    ]
    for name, values in runs.items():
        seconds = np.mean([s for s, _ in values])
        lines.append(
            f"| {name} | {seconds:.2f} | {seconds / ref:.2f}x | {max(m for _, m in values):.0f} MB |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="dev images, spread evenly over the set")
    parser.add_argument("--phone", type=int, default=6, help="12 MP mosaics, and as many upscaled photos")
    parser.add_argument(
        "--processes", type=int, default=0, help="also time N photos of each set as processes"
    )
    parser.add_argument("--no-verify", action="store_true", help="unseen only without its verification")
    parser.add_argument("--verify-only", action="store_true", help="unseen only with its verification")
    parser.add_argument("--skip-deface", action="store_true")
    args = parser.parse_args()
    verify = [v for v in (True, False) if not (args.no_verify and v) and not (args.verify_only and not v)]
    settings = {("unseen" if v else "unseen --no-verify"): Settings(verify=v) for v in verify}
    records = load_annotations(args.limit)
    deface = None if args.skip_deface else Deface()
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start\n")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        phone = phone_set(load_annotations(None), out, args.phone) if args.phone else []
        for label, chosen in (("dev photos (0.4-1.4 MP)", records), ("12 MP set", phone)):
            if not chosen:
                continue
            faces = sum(len(r["boxes"]) for r in chosen)
            print(f"### {label}: {len(chosen)} photos, {faces} labelled faces\n")
            tallies, bare = in_process(chosen, out, settings, deface)
            print(table(tallies, bare, "deface") + "\n")
            if args.processes and deface:
                print(process_table(per_process(chosen[: args.processes], out, verify)) + "\n")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory of this process (both tools, all photos): {peak:.0f} MB")


if __name__ == "__main__":
    main()
