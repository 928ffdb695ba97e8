"""unseen batch keeps its state outside the published folder, and a stopped batch still reports.

Through the command line a user runs (`unseen batch` in a subprocess, or unseen.cli.main), on
photos the tests make: after a run, a Ctrl-C, a SIGTERM and a resume, the output folder holds
the published files and nothing else; --csv and --report list what was done and what was not.
"""

from __future__ import annotations

import ast
import contextlib
import csv
import json
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_batch import FAST, photo, rows
from unseen.batch import Interrupted, run_batch
from unseen.batch.engine import Finished, Started
from unseen.batch.statedir import LEGACY_LOCK, LEGACY_MANIFEST, default_state_dir, state_manifest, state_root
from unseen.batch.work import Task, process
from unseen.cli import main
from unseen.detect.base import FakeDetector
from unseen.errors import OutputError

COMMAND = [sys.executable, "-m", "unseen.cli", "batch"]


def published(out: Path) -> list[str]:
    """Every file under `out`, after checking each one is an output (`*.unseen.*`, not hidden)."""
    files = []
    for folder, dirs, names in os.walk(out):
        for name in names + dirs:
            assert not name.startswith("."), f"{Path(folder, name)}: not a published file"
        for name in names:
            assert ".unseen." in name, f"{Path(folder, name)}: not a published file"
            files.append(str(Path(folder, name).relative_to(out)))
    return sorted(files)


def some_photos(src: Path, n: int) -> list[str]:
    for i in range(n):
        photo(src / f"d{i % 2}" / f"p{i:02d}.jpg", i, size=(320, 240))
    return sorted(f"d{i % 2}/p{i:02d}.unseen.jpg" for i in range(n))


def stop_midway(
    command: list[str], out: Path, signum: int, whole_job: bool, done: int = 1
) -> tuple[int, str]:
    """Start a batch, wait for `done` finished files, send `signum` (to the terminal's whole job,
    as Ctrl-C does, or to the driver only, as `kill` does); its exit code and stderr."""
    job = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and job.poll() is None:
            with contextlib.suppress(sqlite3.Error):
                if (
                    state_manifest(out).exists()
                    and sum(r["state"] == "done" for r in rows(out).values()) >= done
                ):
                    break
            time.sleep(0.05)
        assert job.poll() is None, "the batch ended before it could be stopped"
        if whole_job:
            os.killpg(job.pid, signum)
        else:
            os.kill(job.pid, signum)
        _, err = job.communicate(timeout=60)
        time.sleep(0.5)
        left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _session(p) == job.pid]
        assert not left, "worker processes outlived the stopped batch"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(job.pid, signal.SIGKILL)
    return job.returncode, err


def _session(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[4])
    except (OSError, ValueError, IndexError):
        return None


def test_a_killed_batch_resumes_with_every_file_done_once(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(10):
        photo(src / f"d{i % 3}" / f"p{i:02d}.jpg", i, size=(320, 240))
    # text off: this is about the batch's state, and text reading is a third of a photo's time
    command = [*COMMAND, str(src), "-o", str(out), "--no-verify", "--text", "off", "-q", "--workers", "2"]
    # SIGKILL to the driver only: its workers must die with it
    returncode, _ = stop_midway(command, out, signal.SIGKILL, whole_job=False, done=3)
    assert returncode == -signal.SIGKILL
    before = rows(out)
    done_before = {rel for rel, r in before.items() if r["state"] == "done"}
    assert 3 <= len(done_before) < 10
    (out / "d0" / ".unseen-tmp-killed.jpg").write_bytes(b"\xff\xd8\xff half a face")  # a worker's leftover

    resumed = subprocess.run(
        [*command, "--resume"], capture_output=True, timeout=300
    )  # a dozen photos with the real detector: a minute at load 14

    assert resumed.returncode == 0, resumed.stderr.decode()
    after = rows(out)
    assert all(r["state"] == "done" for r in after.values()) and len(after) == 10
    for rel in done_before:  # not done twice
        assert after[rel]["finished"] == before[rel]["finished"] and after[rel]["attempts"] == 1
    assert published(out) == sorted(f"d{i % 3}/p{i:02d}.unseen.jpg" for i in range(10))


@pytest.mark.parametrize(
    ("signum", "whole_job", "code"),
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
    ids=["ctrl-c", "sigterm"],
)
def test_a_stopped_batch_reports_what_was_and_was_not_done_and_publishes_nothing_else(
    tmp_path: Path, signum: int, whole_job: bool, code: int
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    expected = some_photos(src, 8)
    report, table = tmp_path / "report.json", tmp_path / "table.csv"
    command = [*COMMAND, str(src), "-o", str(out), "--no-verify", "--text", "off"]
    command += ["--report", str(report), "--csv", str(table)]

    returncode, err = stop_midway([*command, "--workers", "2"], out, signum, whole_job)

    assert returncode == code, err
    assert "--resume" in err and "Traceback" not in err
    done_files = published(out)  # only outputs: no manifest, no lock, no temporary file
    assert 1 <= len(done_files) < 8 and set(done_files) <= set(expected)
    document = json.loads(report.read_text())
    states = {f["input"]: f["state"] for f in document["files"]}
    assert len(states) == 8 and document["exit_code"] == code and document["interrupted"] is True
    assert set(states.values()) <= {"done", "interrupted", "pending"}
    assert "pending" in states.values() and "interrupted" in states.values()
    assert sorted(f["output"] for f in document["files"] if f["state"] == "done") == done_files
    assert document["counts"]["interrupted"] + document["counts"]["pending"] == 8 - len(done_files)
    with table.open() as f:
        assert {r["input"]: r["state"] for r in csv.DictReader(f)} == states

    resumed = subprocess.run([*command, "--resume", "-q", "--workers", "2"], capture_output=True, timeout=180)

    assert resumed.returncode == 0, resumed.stderr.decode()
    assert published(out) == expected
    after = rows(out)
    for rel, state in states.items():  # a file done before the stop is not done again
        assert after[rel]["state"] == "done"
        assert after[rel]["attempts"] == (1 if state == "done" else 2 if state == "interrupted" else 1)


def test_a_run_leaves_only_outputs_and_the_state_where_the_user_keeps_state(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    expected = some_photos(src, 3)

    assert main(["batch", str(src), "-o", str(out), "--no-verify", "-q", "--workers", "1"]) == 0

    assert published(out) == expected
    state = default_state_dir(out)
    assert state.parent == state_root() and state_root().is_relative_to(os.environ["XDG_STATE_HOME"])
    assert stat.S_IMODE(state.stat().st_mode) == 0o700  # it names every original: the owner's only
    manifest = state_manifest(out).read_bytes()
    assert str(src).encode() in manifest  # what the state knows, the published folder does not
    assert main(["batch", str(src), "-o", str(out), "--no-verify", "-q", "--resume"]) == 0
    assert published(out) == expected

    shutil.rmtree(out)  # the published folder deleted: its old state is forgotten, not in the way
    assert main(["batch", str(src), "-o", str(out), "--no-verify", "-q", "--workers", "1"]) == 0
    assert published(out) == expected


def test_a_named_state_folder_is_used_again_and_refused_inside_the_trees(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out, state = tmp_path / "in", tmp_path / "out", tmp_path / "private" / "batch-state"
    expected = some_photos(src, 2)
    base = ["batch", str(src), "-o", str(out), "--no-verify", "-q", "--workers", "1"]

    for inside in (out / "state", out, src / ".state"):
        assert main([*base, "--state", str(inside)]) == 1
        said = capsys.readouterr().err
        assert "state folder is inside the" in said, said
    assert not out.exists() or published(out) == []
    assert not (src / ".state").exists()

    assert main([*base, "--state", str(state)]) == 0
    assert (state / "manifest.sqlite").is_file() and not default_state_dir(out).exists()
    assert published(out) == expected
    assert main([*base, "--resume"]) == 1  # the default state folder knows nothing of it
    assert "--state" in capsys.readouterr().err
    photo(src / "d0" / "new.jpg", 99)
    assert main([*base, "--resume", "--state", str(state)]) == 0
    assert published(out) == sorted([*expected, "d0/new.unseen.jpg"])

    report = out / "report.json"  # the report names every original: never inside the output
    assert main([*base, "--resume", "--state", str(state), "--report", str(report)]) == 1
    assert "meant for publishing" in capsys.readouterr().err and not report.exists()


def test_an_earlier_versions_manifest_in_the_output_is_moved_out_and_resumed_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    expected = some_photos(src, 3)
    run_batch(src, out, FAST, workers=1, detector=FakeDetector([]))
    state = default_state_dir(out)
    shutil.move(state / "manifest.sqlite", out / LEGACY_MANIFEST)  # where versions before kept it
    shutil.rmtree(state)
    (out / LEGACY_LOCK).touch()

    code = main(["batch", str(src), "-o", str(out), "--no-verify", "--resume", "--workers", "1"])

    err = capsys.readouterr().err
    assert code == 0 and "moved the batch manifest of an earlier unseen version" in err
    assert err.count("moved the batch manifest") == 1 and "already done (unchanged) | 3 |" in err
    assert published(out) == expected and state_manifest(out).is_file()
    assert main(["batch", str(src), "-o", str(out), "--no-verify", "--resume", "-q"]) == 0
    assert "moved" not in capsys.readouterr().err  # said once


def test_another_source_into_the_same_output_is_refused(tmp_path: Path) -> None:
    src, other, out = tmp_path / "in", tmp_path / "other", tmp_path / "out"
    some_photos(src, 1)
    some_photos(other, 1)
    run_batch(src, out, FAST, workers=1, detector=FakeDetector([]))
    with pytest.raises(OutputError, match="was made from"):
        run_batch(other, out, FAST, resume=True, workers=1, detector=FakeDetector([]))


def test_the_batch_package_imports_neither_an_engine_nor_the_command_line() -> None:
    """The engine is passed in (batch/ never imports scale/), and options are the CLI's business."""
    import unseen.batch

    folder = Path(unseen.batch.__file__).parent
    imported = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add((path.name, node.module))
            elif isinstance(node, ast.Import):
                imported.update((path.name, alias.name) for alias in node.names)
    modules = {module for _, module in imported}
    assert "unseen.batch.job" in modules  # the walk saw the package's own imports
    bad = sorted((name, m) for name, m in imported if m.startswith(("unseen.scale", "unseen.cli")))
    assert not bad


class InProcess:
    """An engine of the test's own: each task done here, in order, and remembered."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def run(self, tasks: list[Task], started: Started, finished: Finished) -> None:
        for task in tasks:
            self.seen.append(task.rel)
            started(task)
            if not finished(process(task, FakeDetector([]))):
                return


def test_run_batch_uses_the_engine_it_is_given(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    expected = some_photos(src, 3)
    engine = InProcess()
    result = run_batch(src, out, FAST, engine=engine)
    assert sorted(engine.seen) == sorted(r.rel for r in result.rows) and len(engine.seen) == 3
    assert result.exit_code == 0 and published(out) == expected


def test_ctrl_c_while_planning_still_gives_a_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import unseen.batch.job as job

    src, out = tmp_path / "in", tmp_path / "out"
    some_photos(src, 2)

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(job, "identify_all", interrupted)
    with pytest.raises(Interrupted) as stop:
        run_batch(src, out, FAST, workers=1, detector=FakeDetector([]))
    assert stop.value.result.exit_code == 130 and stop.value.result.ran == 0
    assert published(out) == []
