"""Faces in video against their labels: labelled WIDER crowd photos of ../shared/data filmed as pans.

    .venv/bin/python bench/bench_video_faces.py [--limit N] [--frames F] [--scale S] [--min-faces M]

Each photo with at least M labelled faces (spread over the set) is scaled by S and becomes a clip
(30 fps, F frames): a window of 80% of its width and height moving from its top-left corner to its
bottom-right one (as `bench_video_text.py`), so faces keep their real pixels and all of them move.
The masks are those export paints (`plan_masks`: cadence, tracker, held and back-filled boxes;
text off; not the check's additions). A labelled face counts on a frame when it is wholly in view;
it is protected there when PROTECTED of its box is under a mask. Columns: face-frames protected
(faces of 10 px and up, of 16 px and up), faces of 16 px and up protected on every frame they are
in view (a face bare on one frame can be matched from that frame), the picture masked beyond the
labelled faces (each grown 2x, as the photo bench counts it) on the mean and the worst frame, and
seconds of planning per clip second. deface (PyPI, defaults) runs on every frame in the same run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av
import numpy as np
from PIL import Image

from bench_text import deface_area
from bench_video_text import FPS, in_view, offset, per_clip_second, share, window, write_pan
from common import DATA, HEAD_GROW, PROTECTED, load_annotations, need
from unseen.media.segments import Span
from unseen.settings import Settings, TextMode
from unseen.video.anonymize import plan_masks
from unseen.video.painting import Painter


class Tally:
    def __init__(self) -> None:
        self.frames = {10: [0, 0], 16: [0, 0]}  # face-frames protected, in view, by least size
        self.faces = [0, 0]  # faces of 16 px and up protected on every frame in view, seen
        self.over: list[float] = []  # per frame: share masked beyond the grown labelled faces
        self.seconds = 0.0
        self.clip_seconds = 0.0

    def add(self, sizes: np.ndarray, hits: np.ndarray, seen: np.ndarray) -> None:
        """sizes: per face; hits, seen: frames x faces."""
        for least in self.frames:
            big = sizes >= least
            self.frames[least][0] += int((hits & seen)[:, big].sum())
            self.frames[least][1] += int(seen[:, big].sum())
        for j in np.flatnonzero(sizes >= 16):
            if seen[:, j].any():
                self.faces[1] += 1
                self.faces[0] += int((hits[:, j] | ~seen[:, j]).all())

    def row(self, name: str) -> str:
        secs = per_clip_second(self.seconds, self.clip_seconds)
        over = f"{np.mean(self.over):.1%} / {np.max(self.over):.1%}" if self.over else "-"
        cells = [share(self.frames[10], 1), share(self.frames[16], 1), share(self.faces, 1)]
        return f"| {name} | {' | '.join(cells)} | {over} | {secs} |"


def labelled(record: dict, scale: float) -> tuple[list[list[float]], np.ndarray]:
    """The record's face boxes (x1, y1, x2, y2) at `scale`, and each face's short side."""
    boxes = [[x * scale, y * scale, (x + w) * scale, (y + h) * scale] for x, y, w, h, *_ in record["boxes"]]
    sizes = np.asarray([min(w, h) * scale for _, _, w, h, *_ in record["boxes"]], np.float32)
    return boxes, sizes


def zone(shape: tuple[int, int], boxes: list[list[float]]) -> np.ndarray:
    """The labelled faces grown HEAD_GROW around their centres (what a head mask may cover)."""
    area = np.zeros(shape, bool)
    h, w = shape
    for x1, y1, x2, y2 in boxes:
        cx, cy, gx, gy = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * HEAD_GROW / 2, (y2 - y1) * HEAD_GROW / 2
        area[
            int(max(0, cy - gy)) : int(min(h, cy + gy)) + 1, int(max(0, cx - gx)) : int(min(w, cx + gx)) + 1
        ] = True
    return area


def protected(area: np.ndarray, box: list[float]) -> bool:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    region = area[y1:y2, x1:x2]
    return region.size > 0 and float(region.mean()) >= PROTECTED


def score(
    tally: Tally, areas: list[np.ndarray], record: dict, rgb_shape: tuple[int, ...], frames: int, scale: float
) -> None:
    boxes, sizes = labelled(record, scale)
    size = window(rgb_shape)
    keep = sizes >= 10
    hits = np.zeros((frames, len(boxes)), bool)
    seen = np.zeros_like(hits)
    for t, area in enumerate(areas):
        x, y = offset(rgb_shape, t, frames)
        moved = [[b[0] - x, b[1] - y, b[2] - x, b[3] - y] for b in boxes]
        for j, box in enumerate(moved):
            view = in_view(box, 0, 0, size)
            seen[t, j] = view is not None and bool(keep[j])
            hits[t, j] = seen[t, j] and protected(area, box)
        tally.over.append(float((area & ~zone(area.shape, moved)).mean()))
    tally.add(sizes, hits, seen)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=12, help="labelled photos, spread over the set")
    p.add_argument("--frames", type=int, default=60, help="frames a clip (30 fps)")
    p.add_argument("--scale", type=float, default=2.0, help="photos scaled by this before filming")
    p.add_argument("--min-faces", type=int, default=15, help="only photos with this many faces")
    p.add_argument("--skip-deface", action="store_true")
    args = p.parse_args()
    need(DATA / "detection")
    records = [r for r in load_annotations(None) if len(r["boxes"]) >= args.min_faces]
    step = max(1, len(records) // max(1, args.limit))
    records = records[::step][: args.limit]
    unseen, deface = Tally(), Tally()
    settings = Settings(text=TextMode.OFF)
    with tempfile.TemporaryDirectory(prefix="unseen-bench-") as tmp:
        for i, record in enumerate(records):
            image = Image.open(DATA / "detection" / record["file"]).convert("RGB")
            image = image.resize(
                (round(image.width * args.scale), round(image.height * args.scale)), Image.LANCZOS
            )
            rgb = np.asarray(image)
            clip = Path(tmp) / "pan.mp4"
            write_pan(rgb, clip, args.frames)
            size = window(rgb.shape)
            start = time.perf_counter()
            plan = plan_masks(clip, Span(0, 0, None), settings)
            unseen.seconds += time.perf_counter() - start
            unseen.clip_seconds += args.frames / FPS
            painter = Painter(settings, *size)
            areas = []
            for t in range(args.frames):
                found = painter.areas(plan[t].masks)
                area = found[0] if found is not None else np.zeros(size[::-1], bool)
                areas.append(area | found[1] if found is not None and found[1] is not None else area)
            score(unseen, areas, record, rgb.shape, args.frames, args.scale)
            if not args.skip_deface:
                with av.open(str(clip)) as source:
                    areas = [deface_area(f.to_ndarray(format="rgb24"))[0] for f in source.decode(video=0)]
                score(deface, areas, record, rgb.shape, args.frames, args.scale)
            print(f"{i + 1}/{len(records)} {record['file']} ({len(record['boxes'])} faces)", flush=True)
    print(
        f"\n{len(records)} clips of {args.frames} frames, photos scaled {args.scale:g}x\n\n"
        "| tool | face-frames protected, >= 10 px | >= 16 px | faces >= 16 px protected on every frame "
        "| masked beyond the faces, mean / worst frame | s / clip s |\n|---|---|---|---|---|---|"
    )
    print(unseen.row("unseen"))
    if not args.skip_deface:
        print(deface.row("deface"))


if __name__ == "__main__":
    main()
