"""The desk under a large drop: peak memory and honest progress for many photos and one huge upload.

    .venv/bin/python bench/bench_desk.py [--photos 300] [--side 4000] [--upload-gb 2] [--real]

Starts `unseen desk --no-browser` as a person would, posts --photos random-texture JPEGs of
--side x 3/4 --side pixels (a phone's 12 MP at 4000) the way the page does (one request each,
streamed), then one --upload-gb body, and polls /api/desk like the page while it works. Reports
the server's peak resident memory (VmHWM) against its size at start, upload rates, seconds per
photo, and whether the done count ever went down or past the total (it must not). Fake detector
and no verification unless --real: this measures the desk's plumbing, not the models.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]


def start(base: Path, real: bool) -> tuple[subprocess.Popen[str], int, str]:
    code = (
        "import sys\n"
        "from unseen.web import desk_command\n"
        + (
            ""
            if real
            else "from unseen.detect import FakeDetector\n"
            "import unseen.web.desk as desk\n"
            "real = desk.DeskServer.__init__\n"
            "def fake(self, space, settings=None, **kw):\n"
            "    fake = FakeDetector([(100, 100, 300, 360)])\n"
            "    real(self, space, settings, detector=fake, port=kw.get('port', 0))\n"
            "desk.DeskServer.__init__ = fake\n"
        )  # fmt: skip
        + f"sys.exit(desk_command.main(['--no-browser', '--temp', {str(base)!r}]"
        + ("" if real else " + ['--no-verify']")
        + "))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env=env)  # fmt: skip
    assert proc.stdout is not None
    for _ in range(5):
        line = proc.stdout.readline()
        if "token=" in line:
            return proc, int(line.split("127.0.0.1:")[1].split("/")[0]), line.split("token=")[1].strip()
    raise SystemExit("the desk did not start")


def peak_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1])


def post(port: int, token: str, name: str, chunks: object, length: int) -> dict[str, object]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.putrequest("POST", "/api/upload")
    for key, value in {"X-Unseen-Token": token, "Content-Type": "application/octet-stream",
                       "X-Unseen-Name": name, "Content-Length": str(length)}.items():  # fmt: skip
        connection.putheader(key, value)
    connection.endheaders()
    for chunk in chunks:  # type: ignore[attr-defined]
        connection.send(chunk)
    response = connection.getresponse()
    body = json.loads(response.read())
    assert response.status == 201, body
    return dict(body)


def status(port: int, token: str) -> list[dict[str, object]]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/api/desk", headers={"X-Unseen-Token": token})
    return list(json.loads(connection.getresponse().read())["entries"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--photos", type=int, default=300)
    parser.add_argument("--side", type=int, default=4000)
    parser.add_argument("--upload-gb", type=float, default=2.0)
    parser.add_argument("--real", action="store_true", help="real detector and verification")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, token = start(Path(tmp) / "base", args.real)
        try:
            time.sleep(1)
            at_start = peak_kb(proc.pid)
            rng = np.random.default_rng(1)
            small = rng.integers(0, 255, (args.side * 3 // 16, args.side // 4, 3), dtype=np.uint8)
            photo = Image.fromarray(small).resize((args.side, args.side * 3 // 4))
            buffer = io.BytesIO()
            photo.save(buffer, "JPEG", quality=90)
            data = buffer.getvalue()
            began = time.monotonic()
            worst_order = 0
            last_done = 0
            for i in range(args.photos):
                post(port, token, f"phone/IMG_{i:04d}.jpg", [data], len(data))
                if i % 25 == 0:
                    done = sum(e["state"] == "done" for e in status(port, token))
                    worst_order = min(worst_order, done - last_done)
                    last_done = done
            uploaded = time.monotonic() - began
            print(f"{args.photos} photos of {args.side}x{args.side * 3 // 4} ({len(data) / 1e6:.1f} MB each) "
                  f"posted in {uploaded:.1f} s")  # fmt: skip
            if args.upload_gb:
                size = int(args.upload_gb * 2**30)
                block = bytes(8 * 2**20)
                t0 = time.monotonic()
                chunks = (block[: min(len(block), size - at)] for at in range(0, size, len(block)))
                post(port, token, "long.mov", chunks, size)
                seconds = time.monotonic() - t0
                print(f"{args.upload_gb:g} GB upload in {seconds:.1f} s ({size / 2**20 / seconds:.0f} MB/s)")
            while True:
                entries = status(port, token)
                done = sum(e["state"] not in ("waiting", "working") for e in entries)
                worst_order = min(worst_order, done - last_done)
                assert done <= len(entries)
                last_done = done
                if done == len(entries):
                    break
                time.sleep(1)
            total = time.monotonic() - began
            states = {s: sum(e["state"] == s for e in entries) for s in {str(e["state"]) for e in entries}}
            print(
                f"all done in {total:.1f} s ({total / args.photos:.2f} s a photo, uploads included): {states}"
            )
            print(f"peak memory {peak_kb(proc.pid) / 1024:.0f} MB (at start {at_start / 1024:.0f} MB); "
                  f"done count went down: {'yes' if worst_order < 0 else 'never'}")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(60)
        left = list((Path(tmp) / "base").iterdir())
        print(f"desk folders left after close: {len(left)}")


if __name__ == "__main__":
    main()
