"""Batch engines against the sum of single-file runs: files/s, video seconds/s, overhead.

    .venv/bin/python bench/bench_batch.py [--photos 12] [--real 12] [--clips 3] [--no-ray]
                                          [--long 60 --segment 15]

Photos: random-texture JPEGs plus, when ../shared/data/detection is there, that many real photos.
Videos: synthetic clips (bench/clips.py) when the video module exists. Every run uses the default,
verified settings. "overhead" is wall time x workers / sum of single-file times: 1.0 is perfect.
Long video: one generated clip of --long seconds on the 2-node Ray cluster, as one task and in
segments of --segment seconds (cut at keyframes, joined losslessly), against one single-file run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from common import DATA  # noqa: E402
from unseen.batch import Engine, LocalPool, run_batch  # noqa: E402
from unseen.pipeline import anonymize_file  # noqa: E402
from unseen.settings import Settings  # noqa: E402


def make_photos(folder: Path, generated: int, real: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(generated):
        pixels = rng.integers(0, 255, (600, 800, 3), np.uint8)
        path = folder / "generated" / f"g{i:02d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, quality=90)
    images = sorted((DATA / "detection" / "images").rglob("*.jpg")) if real else []
    if real and not images:
        print(f"skipped real photos: {DATA / 'detection'} is absent", file=sys.stderr)
    for path in images[:: max(1, len(images) // max(1, real))][:real]:
        target = folder / "real" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def make_long_video(folder: Path, seconds: int) -> float:
    """One 640x360 clip of `seconds` (keyframes every 250 frames, x264's default); its duration."""
    from clips import make_clip

    folder.mkdir(parents=True, exist_ok=True)
    make_clip(folder / "long.mp4", 640, 360, frames=seconds * 30, fps=30)
    return float(seconds)


def make_videos(folder: Path, clips: int) -> float:
    """Synthetic 2-second clips; returns their total duration (0 without a video module)."""
    try:
        import unseen.media.video  # noqa: F401
        from clips import make_clip
    except ImportError as error:
        print(f"skipped videos: {error}", file=sys.stderr)
        return 0.0
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(clips):
        make_clip(folder / f"clip{i}.mp4", 640, 360, frames=60, fps=30)
    return 2.0 * clips


def single_runs(src: Path, work: Path, settings: Settings, warm: bool = True) -> float:
    """Sum of anonymize_file() times, one file after another, models already loaded."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    if warm:
        anonymize_file(files[0], work / f"warm{files[0].suffix}", settings)  # load the models
    total = 0.0
    for i, path in enumerate(files):
        start = time.perf_counter()
        try:
            anonymize_file(path, work / f"{i}{path.suffix}", settings)
        except Exception as error:  # a refusal still costs its time
            print(f"  {path.name}: {type(error).__name__}", file=sys.stderr)
        total += time.perf_counter() - start
    return total


def timed_batch(src: Path, out: Path, settings: Settings, engine: Engine) -> tuple[float, int]:
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    result = run_batch(src, out, settings, engine=engine, state=out.with_name(out.name + "-state"))
    return time.perf_counter() - start, result.ran


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--photos", type=int, default=12, help="generated photos")
    p.add_argument("--real", type=int, default=12, help="photos from ../shared/data/detection")
    p.add_argument("--clips", type=int, default=3, help="synthetic 2-second clips")
    p.add_argument("--no-ray", action="store_true")
    p.add_argument("--long", type=int, default=60, help="seconds of the long clip (0: none; needs Ray)")
    p.add_argument("--segment", type=float, default=15.0, help="seconds of video per segment task")
    args = p.parse_args()
    settings = Settings()
    load_before = os.getloadavg()[0]
    root = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    photos, videos = root / "photos", root / "videos"
    make_photos(photos, args.photos, args.real)
    seconds_of_video = make_videos(videos, args.clips)
    count = len(list(photos.rglob("*.jpg")))
    sets = [("photos", photos, count, 0.0)] if count else []
    if seconds_of_video:
        sets.append(("videos", videos, args.clips, seconds_of_video))

    engines: list[tuple[str, int, Engine]] = [
        ("local, 1 worker", 1, LocalPool(1)),
        ("local, 2 workers, 1 OpenCV thread each", 2, LocalPool(2, threads=1)),
        ("local, 2 workers, OpenCV default threads", 2, LocalPool(2, threads=0)),
    ]
    cluster = None
    if not args.no_ray:
        try:
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
            import ray  # noqa: F401

            from ray_local import LocalCluster

            cluster = LocalCluster(nodes=2, cpus=1).start()
            from unseen.scale.ray import RayEngine

            engines.append(("Ray, 2 local nodes x 1 CPU", 2, RayEngine(cluster.address)))
        except ImportError:
            print("skipped Ray: not installed (pip install 'unseen[ray]')", file=sys.stderr)
    rows = []
    try:
        for name, folder, count, video_seconds in sets:
            work = root / f"single-{name}"
            work.mkdir()
            single = single_runs(folder, work, settings)
            rows.append((name, "sum of single-file runs", count, single, 1, single, video_seconds))
            for engine, workers, runner in engines:
                wall, ran = timed_batch(folder, root / "out", settings, runner)
                assert ran == count, f"{engine}: {ran} of {count} files ran"
                rows.append((name, engine, count, wall, workers, single, video_seconds))
        if cluster is not None and args.long:
            rows += long_video_rows(root, args.long, args.segment, settings, cluster.address)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(root, ignore_errors=True)

    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores; load average {load_before:.1f} before, {load:.1f} after")
    print()
    print("| set | engine | files | wall s | files/s | video s/s | overhead (wall x workers / single sum) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, engine, count, wall, workers, single, video_seconds in rows:
        rate = f"{video_seconds / wall:.2f}" if video_seconds else "-"
        print(f"| {name} | {engine} | {count} | {wall:.1f} | {count / wall:.2f} | {rate} | "
              f"{wall * workers / single:.2f} |")  # fmt: skip


def long_video_rows(
    root: Path, seconds: int, segment: float, settings: Settings, address: str
) -> list[tuple[str, str, int, float, int, float, float]]:
    """One long clip: a single-file run, then on the cluster whole and in segments."""
    folder = root / "long"
    duration = make_long_video(folder, seconds)
    name = f"one {seconds} s video"
    work = root / "single-long"
    work.mkdir()
    from clips import make_clip
    from unseen.scale.ray import RayEngine

    make_clip(work / "warm.mp4", 640, 360, frames=30, fps=30)
    anonymize_file(work / "warm.mp4", work / "warm.unseen.mp4", settings)  # load the models
    single = single_runs(folder, work, settings, warm=False)
    rows = [(name, "single-file run (all cores)", 1, single, 1, single, duration)]
    engines = (("Ray, 2 nodes, one task", 0.0), (f"Ray, 2 nodes, {segment:g} s segments", segment))
    for engine, split in engines:
        out = root / "out"
        shutil.rmtree(out, ignore_errors=True)
        start = time.perf_counter()
        ray = RayEngine(address, segment_seconds=split)
        result = run_batch(folder, out, settings, engine=ray, state=root / "out-state")
        wall = time.perf_counter() - start
        row = result.rows[0]
        assert row.state == "done", f"{engine}: {row.state} {row.error}"
        print(f"  {engine}: {wall:.1f} s, made by {row.worker}", file=sys.stderr)
        rows.append((name, engine, 1, wall, 2, single, duration))
    return rows


if __name__ == "__main__":
    main()
