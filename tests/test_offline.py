"""Never online: no code path opens a network socket, proved three ways.

1. Python's audit hooks record every socket event of a full default run on a photo and a video
   (and of the review server, which may only ever use the loopback address).
2. strace records the socket system calls of the same run, so native code is covered too (model
   runtimes, codecs): Python's hooks never see a socket opened from C++.
3. The CLI test suite passes in a network namespace with no interface but loopback.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from fuzz_corpus import write_clip

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]

# Records socket, DNS and URL events to a JSON file at exit; the run itself is unchanged.
AUDITED = """
import atexit, json, sys
events = []
WATCHED = ("socket.", "http.client.", "urllib.", "ftplib.", "smtplib.", "webbrowser.")
def hook(event, args):
    if event.startswith(WATCHED):
        events.append([event, [repr(a) for a in args]])
sys.addaudithook(hook)
log = sys.argv[1]
def save():
    with open(log, "w") as f:
        json.dump(events, f)
atexit.register(save)
sys.argv = sys.argv[1:]
from unseen.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    from unseen.demo import write_sample

    folder = tmp_path_factory.mktemp("offline")
    clip = folder / "clip.mp4"
    write_clip(clip, frames=10, size=(96, 64))
    return [write_sample(folder), clip]


def audited_run(args: list[str], log: Path) -> tuple[subprocess.CompletedProcess[str], list[list[object]]]:
    done = subprocess.run(
        [sys.executable, "-c", AUDITED, str(log), *args], capture_output=True, text=True, timeout=300
    )
    return done, json.loads(log.read_text())


def test_default_run_on_a_photo_and_a_video_opens_no_socket(inputs: list[Path], tmp_path: Path) -> None:
    done, events = audited_run([*map(str, inputs), "-o", f"{tmp_path}/out/"], tmp_path / "events.json")
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["astronaut.unseen.jpg", "clip.unseen.mp4"]
    assert events == []


def test_no_socket_system_call_even_from_native_code(inputs: list[Path], tmp_path: Path) -> None:
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    if subprocess.run([strace, "-qq", "-o", os.devnull, "true"], capture_output=True).returncode:
        pytest.skip("this machine does not allow ptrace")
    log = tmp_path / "strace.log"
    command = [strace, "-f", "-qq", "-e", "trace=%network", "-o", str(log)]
    command += [sys.executable, "-m", "unseen.cli", *map(str, inputs), "-o", f"{tmp_path}/out/", "-q"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    calls = [line for line in log.read_text().splitlines() if "(" in line and "AF_UNIX" not in line]
    assert calls == [], "network system calls:\n" + "\n".join(calls[:20])


def test_cli_suite_passes_without_a_network(tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode:
        pytest.skip("network namespaces are not available here")
    done = subprocess.run(
        [unshare, "-rn", sys.executable, "-m", "pytest", "tests/test_cli.py", "-q", "-p", "no:cacheprovider",
         "--basetemp", str(tmp_path / "base")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:]
    assert " passed" in done.stdout and " failed" not in done.stdout


def test_review_server_uses_only_the_loopback_address(inputs: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    shutil.copy(inputs[0], folder / "astronaut.jpg")
    log = tmp_path / "events.json"
    args = ["review", str(folder), "--no-browser", "--no-verify"]
    server = subprocess.Popen(
        [sys.executable, "-c", AUDITED, str(log), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = ""
        deadline = time.monotonic() + 120
        while not url.startswith("http") and time.monotonic() < deadline:
            url = server.stdout.readline().strip()
            if not url and server.poll() is not None:
                break
        assert url.startswith("http://127.0.0.1:"), server.stderr.read() if server.stderr else url
        with urllib.request.urlopen(url, timeout=30) as page:  # noqa: S310 - loopback, our own server
            assert page.status == 200
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
    events = json.loads(log.read_text())
    addresses = [
        args[1] for event, args in events if event in ("socket.bind", "socket.connect", "socket.sendto")
    ]
    assert addresses, "the review server bound no socket: the hook saw nothing"
    assert all(a.startswith(("('127.0.0.1'", "('::1'")) for a in addresses), addresses
    lookups = [args for event, args in events if event in ("socket.getaddrinfo", "socket.gethostbyname")]
    assert all("localhost" in str(a) or "127.0.0.1" in str(a) for a in lookups), lookups
