"""unseen batch on a real two-node Ray cluster on loopback: the same job, a worker killed mid-way,
a long video split into segments over both nodes and joined losslessly."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

# Before Ray is imported: the driver stays on 127.0.0.1 (see tests/ray_local.py)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from ray_local import LocalCluster  # noqa: E402
from support.clips import audio_packets, decoded, frame_index, masked  # noqa: E402
from test_batch import FAST, outputs, photo, rows  # noqa: E402
from test_segments import FACE, frame_times, gop_clip  # noqa: E402
from unseen.batch import State, run_batch  # noqa: E402
from unseen.detect.base import FakeDetector  # noqa: E402
from unseen.errors import MissingExtra  # noqa: E402
from unseen.scale.ray import RayEngine  # noqa: E402
from unseen.types import Detections  # noqa: E402


class SlowDetector:
    """No faces, after a pause: keeps Ray's workers busy long enough to kill one."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def detect(self, image: np.ndarray) -> Detections:
        time.sleep(self.seconds)
        return Detections.empty()


def test_missing_ray_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingExtra, match=r"unseen\[ray\]"):
        RayEngine("auto").run([], lambda task: None, lambda outcome: True)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    ray = pytest.importorskip("ray")
    # the detector class lives in this test module, which Ray's workers cannot import
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    started = LocalCluster(nodes=2, cpus=1).start()
    try:
        yield started
    finally:
        started.stop()


def kill_one_worker(
    cluster: LocalCluster, task_name: str, after: float
) -> tuple[threading.Thread, list[int]]:
    """A thread that SIGKILLs the first worker seen running `task_name`, `after` seconds into it."""
    killed: list[int] = []

    def kill() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = cluster.worker_pids(task_name)
            if busy:
                time.sleep(after)
                os.kill(busy[0], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill)
    killer.start()
    return killer, killed


def _listening_addresses(pids: set[int]) -> set[str]:
    """Local addresses of TCP sockets in LISTEN state held by these processes."""
    inodes: set[str] = set()
    for pid in pids:
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.add(fields[1].rsplit(":", 1)[0])
    return found


@pytest.mark.slow
def test_batch_on_a_two_node_cluster_survives_a_killed_worker(tmp_path: Path, cluster: LocalCluster) -> None:
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    listening = _listening_addresses(cluster.pids())
    assert listening and listening <= loopback, f"Ray listens beyond 127.0.0.1: {listening}"
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(12):
        photo(src / f"d{i % 2}" / f"p{i:02d}.jpg", i)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    killer, killed = kill_one_worker(cluster, "_run_task", after=0.3)  # in the middle of a file
    result = run_batch(src, out, FAST, engine=RayEngine(cluster.address, SlowDetector(0.4)))
    killer.join()

    assert killed, "no worker was seen running a task"
    assert result.count(State.DONE) == 12 and result.count(State.FAILED) == 1
    assert result.exit_code == 2
    assert outputs(out) == sorted(f"d{i % 2}/p{i:02d}.unseen.jpg" for i in range(12))
    assert not list(out.rglob(".unseen-tmp-*"))
    manifest = rows(out)
    assert all(manifest[rel]["attempts"] == 1 for rel in manifest if rel != "broken.jpg")
    nodes = {manifest[rel]["worker"].split(":")[0] for rel in manifest if manifest[rel]["worker"]}
    assert len(nodes) == 2, "both nodes should have taken files"
    assert all(
        int(manifest[rel]["worker"].split(":")[1]) not in killed
        for rel in manifest
        if manifest[rel]["worker"]
    )

    again = run_batch(src, out, FAST, resume=True, engine=RayEngine(cluster.address, SlowDetector(0.4)))
    assert again.unchanged == 12 and again.ran == 1  # only the broken file is tried again


@pytest.mark.slow
def test_a_file_that_kills_every_ray_worker_is_reported_failed(tmp_path: Path, cluster: LocalCluster) -> None:
    import ray

    import test_batch

    ray.cloudpickle.register_pickle_by_value(test_batch)
    src, out = tmp_path / "in", tmp_path / "out"
    photo(src / "fine.jpg", 1)
    photo(src / "deadly.jpg", 2, size=(131, 90))
    detector = test_batch.DyingDetector(tmp_path / "marker", always=True)

    result = run_batch(src, out, FAST, engine=RayEngine(cluster.address, detector))

    deadly = next(r for r in result.rows if r.rel == "deadly.jpg")
    assert deadly.state == State.FAILED and "lost on the Ray cluster after 4 attempts" in (deadly.error or "")
    assert outputs(out) == ["fine.unseen.jpg"] and result.exit_code == 2


class SlowFaces(FakeDetector):
    """The fake detector's one face, after a pause: segments last long enough to kill a worker."""

    def __init__(self, seconds: float) -> None:
        super().__init__([FACE])
        self.seconds = seconds

    def detect(self, image: np.ndarray) -> Detections:
        time.sleep(self.seconds)
        return super().detect(image)


def _check_joined(src: Path, dst: Path) -> None:
    """The output has the input's frames and times, its audio byte for byte, the face masked in each."""
    assert frame_times(dst) == pytest.approx(frame_times(src), abs=1e-6)
    assert audio_packets(dst) == audio_packets(src)
    frames = decoded(dst)
    assert [frame_index(f) for f in frames] == list(range(len(frames)))
    unmasked = [i for i, f in enumerate(frames) if not masked(f, FACE)]
    assert not unmasked, f"face not masked in frames {unmasked}"


@pytest.mark.slow
def test_a_long_video_is_split_over_the_cluster_and_joined_losslessly(
    tmp_path: Path, cluster: LocalCluster
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    clip = gop_clip(src / "long.mp4", frames=90, gop=15, face=True)  # 3 s, a keyframe every 0.5 s
    photo(src / "p.jpg", 1)

    # slow enough that the three segments overlap, so both one-CPU nodes take some
    slow = SlowFaces(0.1)
    result = run_batch(src, out, FAST, engine=RayEngine(cluster.address, slow, segment_seconds=0.9))

    assert result.exit_code == 0 and result.count(State.DONE) == 2
    assert outputs(out) == ["long.unseen.mp4", "p.unseen.jpg"] and not list(out.rglob(".unseen-tmp-*"))
    _check_joined(clip, out / "long.unseen.mp4")
    row = rows(out)["long.mp4"]
    report = json.loads(row["report"])
    assert row["state"] == State.DONE and row["attempts"] == 1
    # one face track per segment: three segments, on both nodes
    assert row["faces"] == 3 and len(report["faces"]) == 3
    nodes = {worker.split(":")[0] for worker in row["worker"].split(",")}
    assert len(nodes) == 2, row["worker"]


@pytest.mark.slow
def test_a_worker_killed_in_a_segment_costs_only_that_segment(tmp_path: Path, cluster: LocalCluster) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    clip = gop_clip(src / "long.mp4", frames=90, gop=15, face=True)
    killer, killed = kill_one_worker(cluster, "_run_segment", after=0.5)  # in the middle of its frames
    slow = SlowFaces(0.1)
    result = run_batch(src, out, FAST, engine=RayEngine(cluster.address, slow, segment_seconds=0.9))
    killer.join()

    assert killed, "no worker was seen masking a segment"
    assert result.exit_code == 0 and outputs(out) == ["long.unseen.mp4"]
    assert not list(out.rglob(".unseen-tmp-*"))
    _check_joined(clip, out / "long.unseen.mp4")
    row = rows(out)["long.mp4"]
    assert row["attempts"] == 1 and not any(f":{pid}" in row["worker"] for pid in killed)

    again = run_batch(
        src, out, FAST, resume=True, engine=RayEngine(cluster.address, slow, segment_seconds=0.9)
    )
    assert again.unchanged == 1 and again.ran == 0 and outputs(out) == ["long.unseen.mp4"]
