"""The video detector alone on a clip's frames: with its crops joined and with every crop run
alone, in one run: seconds, CPU-seconds, network runs and pixels, faces found.

    .venv/bin/python bench/video_detector.py                 # the pan across the WIDER march
    .venv/bin/python bench/video_detector.py CLIP.mp4        # any clip

No masking, tracking, text or checks: what the detection thread would cost if it were alone.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))


def frames_of(path: Path) -> tuple[list[np.ndarray], float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or 30)
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)], fps


def pan_labels(frames: int, width: int = 1920, height: int = 1080) -> list[np.ndarray]:
    """The march photo's labelled faces on each frame of `clips.pan_clip` (x1, y1, x2, y2): the
    same scaling and window as the clip's, faces of 20 px and up wholly in the frame."""
    import json

    from bench_video import CROWD, CROWD_PHOTO

    records = json.loads((CROWD.parents[1] / "annotations.json").read_text())
    record = next(r for r in records if r["file"].endswith(CROWD_PHOTO))
    scale = 2 * width / record["width"]
    boxes = np.float32([b[:4] for b in record["boxes"]]) * scale
    boxes[:, 2:] += boxes[:, :2]
    top = (round(record["height"] * scale) - height) // 2
    out = []
    for t in range(frames):
        x = round((round(record["width"] * scale) - width) * t / max(1, frames - 1))
        here = boxes - np.float32([x, top, x, top])
        inside = (here[:, 0] >= 0) & (here[:, 1] >= 0) & (here[:, 2] <= width) & (here[:, 3] <= height)
        out.append(here[inside & (here[:, 3] - here[:, 1] >= 20)])
    return out


def run(
    frames: list[np.ndarray], fps: float, join: bool, labels: list[np.ndarray] | None = None
) -> dict[str, float]:
    import unseen.detect.cadence as cadence
    from unseen.detect.crops import Crop, join_crops
    from unseen.models import default_detector
    from unseen.settings import Settings

    counts: defaultdict[str, float] = defaultdict(float)

    def counted(crops: Iterable[Crop]) -> list[Crop]:
        crops = list(crops)
        out = join_crops(crops) if join else crops
        kind = "motion" if crops and all(c.scale == cadence.MOTION_SCALE for c in crops) else "faces"
        counts[f"{kind} runs"] += len(out)
        counts[f"{kind} MP"] += sum(c.cost() for c in out) / 1e6
        return out

    cadence.join_crops = counted  # type: ignore[assignment]
    try:
        height, width = frames[0].shape[:2]
        video = cadence.VideoDetector.for_clip(default_detector(Settings()), fps, width, height)
        video.detect(frames[0], 0)  # the network is loaded and planned before the clock starts
        counts.clear()
        started, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        for index, frame in enumerate(frames[1:], start=1):
            if video.wants(index):
                found = video.detect(frame, index)
                counts["faces found"] += len(found)
                if labels is not None and len(labels[index]):
                    from unseen.detect.base import iou_matrix

                    hit = iou_matrix(labels[index], found.boxes).max(axis=1, initial=0.0) >= 0.4
                    counts["labelled faces (20 px and up) on looked-at frames"] += len(hit)
                    counts["labelled faces found"] += int(hit.sum())
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        cadence.join_crops = join_crops
    counts["seconds"] = time.perf_counter() - started
    counts["CPU-seconds"] = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", nargs="?", type=Path, help="default: a 5 s 1080p pan across a WIDER march")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        clip = args.clip
        if clip is None:
            from bench_video import CROWD, CROWD_PHOTO
            from clips import pan_clip

            if not (CROWD / CROWD_PHOTO).exists():
                sys.exit(f"the dev photo is absent: {CROWD / CROWD_PHOTO}; give a clip")
            clip = Path(work) / "pan_crowd_1080p.mp4"
            pan_clip(CROWD / CROWD_PHOTO, clip, 1920, 1080, 150)
        frames, fps = frames_of(clip)
    labels = pan_labels(len(frames)) if args.clip is None else None
    alone = run(frames, fps, join=False, labels=labels)
    joined = run(frames, fps, join=True, labels=labels)
    print(f"## {clip.name if args.clip else 'pan_crowd_1080p (generated)'}: {len(frames)} frames\n")
    print("| | crops run alone | crops joined |\n|---|---|---|")
    for key in sorted(set(alone) | set(joined)):
        print(f"| {key} | {alone.get(key, 0):.1f} | {joined.get(key, 0):.1f} |")


if __name__ == "__main__":
    main()
