"""A throwaway two-node Ray cluster on this machine, listening on 127.0.0.1 only: for tests and
the batch benchmark. Stopped by killing exactly the processes it started (never `ray stop`, which
would stop every Ray on the machine).

Ray turns "127.0.0.1" into the machine's network address (so other machines could join); for a
test that must stay on loopback, `ray start` runs with that lookup pinned to 127.0.0.1, and the
driver process must set RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 before importing ray.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
_START = (
    "import sys, ray._private.services as s\n"
    "s.get_node_ip_address = lambda address=None: '127.0.0.1'\n"
    "from ray.scripts.scripts import main\n"
    "sys.argv = ['ray', *sys.argv[1:]]\n"
    "main()\n"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalCluster:
    """`ray start --head` plus worker nodes, each with its own temp dir and one CPU."""

    def __init__(self, nodes: int = 2, cpus: int = 1) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.nodes, self.cpus = nodes, cpus
        self.temp_dirs: list[str] = []

    def _ray_start(self, *args: str) -> None:
        temp = tempfile.mkdtemp(prefix="ur", dir="/tmp")  # short: Ray's socket paths have a limit
        self.temp_dirs.append(temp)
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)  # a worker node refuses to start with it
        command = [sys.executable, "-c", _START, "start", *args, f"--num-cpus={self.cpus}",
                   "--node-ip-address=127.0.0.1", "--disable-usage-stats", f"--temp-dir={temp}"]  # fmt: skip
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"ray start failed: {done.stderr[-2000:]}")

    def start(self) -> LocalCluster:
        try:
            self._ray_start("--head", f"--port={self.port}", "--include-dashboard=false",
                            "--dashboard-host=127.0.0.1")  # fmt: skip
            for _ in range(self.nodes - 1):
                self._ray_start(f"--address={self.address}")
        except BaseException:
            self.stop()
            raise
        return self

    def pids(self) -> set[int]:
        """Every process of this cluster: those naming one of its temp dirs, and their descendants."""
        parents: dict[int, int] = {}
        own: set[int] = set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            if any(temp in cmdline for temp in self.temp_dirs):
                own.add(int(entry.name))
        grew = True
        while grew:
            more = {pid for pid, parent in parents.items() if parent in own} - own
            own |= more
            grew = bool(more)
        own.discard(os.getpid())
        return own

    def worker_pids(self, task_name: str) -> list[int]:
        """Worker processes of this cluster running a task of this name right now."""
        found = []
        for pid in self.pids():
            try:
                title = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode(errors="replace")
            except OSError:
                continue
            if title.startswith(f"ray::{task_name}"):
                found.append(pid)
        return found

    def stop(self) -> None:
        for _ in range(3):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.3)
        for temp in self.temp_dirs:
            shutil.rmtree(temp, ignore_errors=True)
