"""Text on people in video: the hand-labelled text photos of bench_text.py filmed as a slow pan.

    .venv/bin/python bench/bench_video_text.py [--limit N] [--frames F] [--per-second X]

Each labelled photo becomes a clip (30 fps, F frames): a window of 80% of the photo's width and
height moving from its top-left corner to its bottom-right one, so faces and words keep their
real pixels and every word moves, as under a hand-held phone. The masks are those export paints
(`plan_masks`: cadence, tracker, text looks, the held and back-filled text between them; not the
check's additions). A labelled word counts on a frame when its box is wholly in view; it is
masked there when PROTECTED of it is under a mask (text or face). The user's measure is the
last column: a word bare on one frame of a clip can be read from that frame.
deface masks faces only: its column is what its face masks cover of the words, by chance.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

from bench_text import LABELS, covered, deface_area, label_area
from common import DATA, need
from unseen.media.segments import Span
from unseen.settings import Settings, TextMode
from unseen.text import default_text_detector
from unseen.types import Detections
from unseen.video import text_masks
from unseen.video.anonymize import plan_masks
from unseen.video.painting import Painter

FPS = 30
WINDOW = 0.8  # the window's share of the photo's width and height


class Timed:
    """The text detector, timed."""

    def __init__(self) -> None:
        self.inner = default_text_detector()
        self.seconds = 0.0

    def scale_for(self, width: int, height: int) -> float:
        return self.inner.scale_for(width, height)

    def detect(self, image: np.ndarray, scale: float | None = None) -> Detections:
        start = time.perf_counter()
        found = self.inner.detect(image, scale)
        self.seconds += time.perf_counter() - start
        return found


def window(shape: tuple[int, ...]) -> tuple[int, int]:
    h, w = shape[:2]
    return int(w * WINDOW) // 2 * 2, int(h * WINDOW) // 2 * 2


def offset(shape: tuple[int, ...], t: int, frames: int) -> tuple[int, int]:
    """The window's top-left corner on frame t."""
    h, w = shape[:2]
    ww, wh = window(shape)
    share = t / max(1, frames - 1)
    return round((w - ww) * share), round((h - wh) * share)


def write_pan(rgb: np.ndarray, path: Path, frames: int) -> None:
    ww, wh = window(rgb.shape)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast", "crf": "18"})
        video.width, video.height, video.pix_fmt = ww, wh, "yuv420p"
        for t in range(frames):
            x, y = offset(rgb.shape, t, frames)
            frame = av.VideoFrame.from_ndarray(
                np.ascontiguousarray(rgb[y : y + wh, x : x + ww]), format="rgb24"
            )
            frame.pts, frame.time_base = t, Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode())


class Tally:
    def __init__(self) -> None:
        self.frames = {"person": [0, 0], "other": [0, 0]}  # word-frames masked, in view
        # words masked on every frame in view, on some frame, words seen
        self.words = {"person": [0, 0, 0], "other": [0, 0, 0]}
        self.seconds = 0.0
        self.clip_seconds = 0.0
        self.over: list[float] = []  # per frame: text masks beyond the faces and the labelled words

    def add_clip(self, kinds: list[str], hits: np.ndarray, seen: np.ndarray) -> None:
        """hits, seen: frames x words."""
        for j, kind in enumerate(kinds):
            self.frames[kind][0] += int(hits[:, j].sum())
            self.frames[kind][1] += int(seen[:, j].sum())
            if seen[:, j].any():
                self.words[kind][2] += 1
                self.words[kind][0] += int((hits[:, j] | ~seen[:, j]).all())
                self.words[kind][1] += int(hits[:, j].any())

    def row(self, name: str) -> str:
        secs = per_clip_second(self.seconds, self.clip_seconds)
        over = f"{np.mean(self.over):.2%}" if self.over else "-"
        return (
            f"| {name} | {share(self.frames['person'])} | {share(self.words['person'])} | "
            f"{share(self.words['person'][1:])} | {share(self.frames['other'])} | "
            f"{share(self.words['other'])} | {share(self.words['other'][1:])} | {over} | {secs} |"
        )


def share(pair: list[int], digits: int = 0) -> str:
    """'hit/total (percent)' of a [hit, ..., total] tally."""
    return f"{pair[0]}/{pair[-1]} ({pair[0] / max(1, pair[-1]):.{digits}%})"


def per_clip_second(seconds: float, clip_seconds: float) -> str:
    return f"{seconds / max(1e-9, clip_seconds):.2f}" if seconds else "-"


def in_view(box: list, x: int, y: int, size: tuple[int, int]) -> list | None:
    """The box in the window's pixels, or None when it is not wholly in view."""
    x1, y1, x2, y2 = box[0] - x, box[1] - y, box[2] - x, box[3] - y
    return [x1, y1, x2, y2] if x1 >= 0 and y1 >= 0 and x2 <= size[0] and y2 <= size[1] else None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--limit", type=int, default=0, help="only the first N labelled photos")
    p.add_argument("--frames", type=int, default=60, help="frames a clip (30 fps)")
    p.add_argument("--per-second", type=float, default=None, help="text looks a second (a study)")
    p.add_argument("--mode", choices=["people", "all"], default=None, help="one mode only (default: both)")
    p.add_argument("--skip-deface", action="store_true")
    p.add_argument("--only", default="", help="only the photos whose name holds this")
    p.add_argument("--strips", action="store_true", help="per word: # masked . bare _ unseen")
    args = p.parse_args()
    need(DATA / "detection")
    if args.per_second is not None:
        text_masks.TEXT_PER_SECOND = args.per_second
    records = json.loads(LABELS.read_text())
    records = records[: args.limit] if args.limit else records
    records = [r for r in records if args.only in r["file"]]
    detector = Timed()
    modes = [TextMode(args.mode)] if args.mode else [TextMode.PEOPLE, TextMode.ALL]
    tallies = {m: Tally() for m in modes}
    deface = Tally()
    with tempfile.TemporaryDirectory(prefix="unseen-bench-") as tmp:
        for i, record in enumerate(records):
            rgb = np.asarray(Image.open(DATA / "detection" / record["file"]).convert("RGB"))
            clip = Path(tmp) / "pan.mp4"
            write_pan(rgb, clip, args.frames)
            size = window(rgb.shape)
            kinds = [b[4] for b in record["boxes"]]
            views = [
                [in_view(b, *offset(rgb.shape, t, args.frames), size) for b in record["boxes"]]
                for t in range(args.frames)
            ]
            seen = np.asarray([[v is not None for v in row] for row in views], bool).reshape(args.frames, -1)
            for mode in modes:
                settings = Settings(text=mode)
                before = detector.seconds
                plan = plan_masks(clip, Span(0, 0, None), settings, text_detector=detector)
                painter = Painter(settings, *size)
                hits = np.zeros_like(seen)
                for t in range(args.frames):
                    planned = plan[t]
                    areas = painter.areas(planned.masks)
                    area = areas[0] if areas is not None else np.zeros(size[::-1], bool)
                    if areas is not None and areas[1] is not None:
                        area = area | areas[1]
                    if planned.text is not None:
                        faces = area
                        area = planned.text.areas((area, None), size[::-1])[0]
                        x, y = offset(rgb.shape, t, args.frames)
                        shifted = [  # those at least partly in view (label_area slices them)
                            [b[0] - x, b[1] - y, b[2] - x, b[3] - y, b[4]]
                            for b in record["boxes"]
                            if b[2] > x and b[3] > y
                        ]
                        words = label_area(size[::-1], shifted)
                        tallies[mode].over.append(float((area & ~faces & ~words).mean()))
                    else:
                        tallies[mode].over.append(0.0)
                    hits[t] = [v is not None and covered(area, v) for v in views[t]]
                tallies[mode].add_clip(kinds, hits, seen)
                if args.strips:
                    for j, kind in enumerate(kinds):
                        marks = zip(hits[:, j], seen[:, j], strict=True)
                        strip = "".join("#" if h else "." if v else "_" for h, v in marks)
                        print(f"  {mode.value} {kind:6} {strip}")
                tallies[mode].seconds += detector.seconds - before
                tallies[mode].clip_seconds += args.frames / FPS
            if not args.skip_deface:
                with av.open(str(clip)) as source:
                    frames = [f.to_ndarray(format="rgb24") for f in source.decode(video=0)]
                hits = np.zeros_like(seen)
                for t, f in enumerate(frames):
                    area = deface_area(f)[0]
                    hits[t] = [v is not None and covered(area, v) for v in views[t]]
                deface.add_clip(kinds, hits, seen)
            print(f"{i + 1}/{len(records)} {record['file']}", flush=True)
            if (i + 1) % 5 == 0 or i + 1 == len(records):
                report(i + 1, args, deface, tallies)


def report(done: int, args: argparse.Namespace, deface: Tally, tallies: dict[TextMode, Tally]) -> None:
    """The table so far: a long run interrupted still says what it measured."""
    print(
        f"\n{done} clips of {args.frames} frames, {text_masks.TEXT_PER_SECOND:g} text looks a second\n\n"
        "| run | on people: word-frames masked | words masked on every frame | on some frame "
        "| other: word-frames | on every frame | on some frame | text masks beyond words and faces "
        "| text detector s / clip s |\n|---|---|---|---|---|---|---|---|---|"
    )
    for mode, tally in tallies.items():
        print(tally.row(f"unseen --text {mode.value}"))
    if not args.skip_deface:
        print(deface.row("deface (faces only)"))
    print()


if __name__ == "__main__":
    main()
