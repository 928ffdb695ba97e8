"""Where the memory goes on one photo: resident memory at the start and the peak of each step of
`anonymize_file` (load, detection, masking and verification, text, write), sampled every 5 ms in
this process, which starts fresh as `unseen FILE` does. Linux only (reads /proc/self/status).

    .venv/bin/python bench/profile_memory.py images/10--People_Marching/\
        10_People_Marching_People_Marching_2_259.jpg --scale 3.94     # the photo at 12 MP
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA  # noqa: E402

SAMPLES: list[tuple[float, int]] = []
MARKS: list[tuple[float, str]] = []


def resident_mb() -> int:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) // 1024


def sample(stop: threading.Event) -> None:
    while not stop.is_set():
        SAMPLES.append((time.perf_counter(), resident_mb()))
        time.sleep(0.005)


def marked(label: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        MARKS.append((time.perf_counter(), label))
        try:
            return call(*args, **kwargs)
        finally:
            MARKS.append((time.perf_counter(), f"after {label}"))

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", help="path under ../shared/data/detection")
    parser.add_argument("--scale", type=float, default=1.0, help="upscale the photo first (cubic)")
    parser.add_argument("--no-verify", action="store_true")
    args = parser.parse_args()
    stop = threading.Event()
    threading.Thread(target=sample, args=(stop,), daemon=True).start()
    MARKS.append((time.perf_counter(), "imports"))
    import cv2

    import unseen.pipeline as pipeline
    import unseen.text as text
    import unseen.verify as verify
    from unseen.settings import Settings

    image = cv2.imread(str(DATA / "detection" / args.file))
    if args.scale != 1.0:
        image = cv2.resize(image, None, fx=args.scale, fy=args.scale, interpolation=cv2.INTER_CUBIC)
    with tempfile.TemporaryDirectory() as folder:
        src, dst = Path(folder) / "photo.jpg", Path(folder) / "out.jpg"
        cv2.imwrite(str(src), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        del image
        pipeline.find_faces = marked("detection", pipeline.find_faces)  # type: ignore[assignment]
        verify.protect = marked("masking and verification", verify.protect)  # type: ignore[assignment]
        text.protect_text = marked("text", text.protect_text)  # type: ignore[assignment]
        MARKS.append((time.perf_counter(), "load"))
        start = time.perf_counter()
        report = pipeline.anonymize_file(src, dst, Settings(verify=not args.no_verify))
        seconds = time.perf_counter() - start
        MARKS.append((time.perf_counter(), "end"))
        time.sleep(0.02)
        stop.set()
        h, w = report.height, report.width
    print(
        f"{args.file} at {w}x{h} ({w * h / 1e6:.1f} MP): {report.verdict.value}, {len(report.faces)} faces, "
        f"{seconds:.1f} s\n\n| step | resident at start | peak in the step |\n|---|---|---|"
    )
    for (begin, label), (end, _) in zip(MARKS, MARKS[1:], strict=False):
        inside = [mb for t, mb in SAMPLES if begin <= t < end]
        at_start = next((mb for t, mb in SAMPLES if t >= begin), 0)
        if inside:
            print(f"| {label} | {at_start} MB | {max(inside)} MB |")
    print(f"| whole run | | {max(mb for _, mb in SAMPLES)} MB |")


if __name__ == "__main__":
    main()
