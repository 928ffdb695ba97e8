"""Helpers for the hardening tests: hostile files made here, and the CLI run in a measured subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from dataclasses import dataclass

UNSEEN = [sys.executable, "-m", "unseen.cli"]

# Runs a command, then prints its peak RSS: RUSAGE_CHILDREN of this wrapper holds only that child,
# whereas the pytest process's own figure is the maximum over every child it ever waited for.
# The address-space cap keeps a runaway from taking the machine (other work shares it).
_WRAPPER = """
import json, resource, subprocess, sys, time
cap = int(sys.argv[1])
def limit():
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
start = time.perf_counter()
done = subprocess.run(sys.argv[2:], preexec_fn=limit, capture_output=True, timeout=600)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
sys.stdout.buffer.write(done.stdout)
sys.stderr.buffer.write(done.stderr)
sys.stderr.write("\\n@@measured " + json.dumps([done.returncode, peak, time.perf_counter() - start]) + "\\n")
"""


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    peak_mb: float
    seconds: float


def measured(command: list[str], cap_bytes: int = 0, timeout: float = 300) -> Run:
    """Run command in a subprocess; its exit code, output, peak resident memory and wall time."""
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, str(cap_bytes), *command],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    err, _, tail = done.stderr.rpartition("\n@@measured ")
    code, peak_kb, seconds = json.loads(tail)
    return Run(code, done.stdout, err, peak_kb / 1024, seconds)


def png(width: int, height: int, rows: int | None = None, colour: bool = False) -> bytes:
    """A PNG of zero pixels claiming width x height; with `rows`, only that many rows of data follow.

    Zeros compress about 1000:1, so a few hundred kilobytes claim hundreds of megapixels.
    """
    row = b"\x00" * (1 + width * (3 if colour else 1))
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height if rows is None else rows))
    data += packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2 if colour else 0, 0, 0, 0])
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
