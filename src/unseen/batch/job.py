"""A batch from start to end: folders checked, output folder locked and cleaned, plan made from
the source tree and the manifest, the work run locally or on Ray, the outcome read back.

Resume: an input is done again unless the manifest has it done, with the same content hash and
settings hash, and its output is still there. Running a batch into a folder that already holds a
manifest needs `resume=True`: two jobs with different settings never mix in one folder unnoticed.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO

from unseen.batch.manifest import MANIFEST_NAME, Manifest, Row, State
from unseen.batch.plan import Entry, check_folders, identify_all, output_names, scan
from unseen.batch.work import Outcome, Task
from unseen.detect import Detector
from unseen.edits import sidecar_for
from unseen.errors import OutputError
from unseen.settings import Settings
from unseen.tempfiles import PREFIX

LOCK_NAME = ".unseen-batch.lock"
TMP_PREFIX = PREFIX


@dataclass
class Status:
    """Where a running batch is, for a progress line."""

    total: int  # files to do in this run
    done: int = 0
    faces: int = 0
    failed: int = 0
    refused: int = 0
    bytes_total: int = 0
    bytes_done: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.refused

    def seconds_left(self) -> float | None:
        elapsed = time.monotonic() - self.started
        if not self.bytes_done or elapsed < 1:
            return None
        return (self.bytes_total - self.bytes_done) * elapsed / self.bytes_done


@dataclass
class BatchResult:
    """Every input of the source tree with what became of it, and what this run did."""

    source: Path
    output: Path
    rows: list[Row]
    ran: int  # files worked on in this run
    unchanged: int  # done by an earlier run, nothing changed
    seconds: float
    temp_removed: int = 0  # stale temporary files of a killed run, removed at start
    stopped: str | None = None  # why the run stopped early (the output folder cannot take files)
    verify: bool = True

    def count(self, state: str) -> int:
        return sum(row.state == state for row in self.rows)

    @property
    def faces(self) -> int:
        return sum(row.faces or 0 for row in self.rows if row.state == State.DONE)

    @property
    def unverified(self) -> int:
        return sum(row.state == State.DONE and row.verdict != "verified" for row in self.rows)

    @property
    def exit_code(self) -> int:
        """0 all written (and verified), 2 some input unusable, 3 verification refused some."""
        if self.count(State.REFUSED) or (self.verify and self.unverified):
            return 3
        if self.count(State.FAILED) or self.count(State.PENDING) or self.stopped:
            return 2
        return 0


def settings_key(settings: Settings, output: Path) -> str:
    """Hash of everything besides the input that shapes an output: settings and the edits file."""
    text = json.dumps(asdict(settings), sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode())
    sidecar = sidecar_for(output)
    if sidecar.is_file():
        digest.update(sidecar.read_bytes())
    return digest.hexdigest()[:32]


def default_workers() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def run_batch(
    src: Path,
    out: Path,
    settings: Settings | None = None,
    *,
    resume: bool = False,
    workers: int | None = None,
    ray_address: str | None = None,
    detector: Detector | None = None,
    on_progress: Callable[[Status], None] | None = None,
    threads_per_worker: int = 1,
    segment_seconds: float | None = None,
) -> BatchResult:
    """Anonymize every photo and video under `src` into the same tree under `out`.

    Several local workers keep OpenCV to `threads_per_worker` threads each (0: its default, all
    cores); see bench/bench_batch.py for why 1. On Ray, a video longer than 1.5 x
    `segment_seconds` is split into segments (None: $UNSEEN_SEGMENT_SECONDS, else 60; 0: never);
    the local pool does each file whole.
    """
    settings = settings or Settings()
    started = time.monotonic()
    src, out = check_folders(Path(src), Path(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{out}: cannot create the output folder ({error.strerror})") from error
    with _locked(out):
        _check_output_folder(out, resume)
        removed = remove_stale_temp(out)
        manifest = Manifest(out / MANIFEST_NAME)
        try:
            manifest.requeue_running()
            entries = identify_all(src, scan(src))
            tasks, unchanged = _plan(entries, manifest, src, out, settings)
            sizes = {entry.rel: entry.size for entry in entries}
            status = Status(total=len(tasks), bytes_total=sum(sizes[task.rel] for task in tasks))
            stopped: list[str] = []

            def begin(task: Task) -> None:
                manifest.start(task.rel)

            def finish(outcome: Outcome) -> bool:
                _record(manifest, out, outcome)
                status.done += outcome.state == State.DONE
                status.failed += outcome.state == State.FAILED
                status.refused += outcome.state == State.REFUSED
                if outcome.state == State.DONE:
                    status.faces += outcome.faces or 0
                status.bytes_done += sizes.get(outcome.rel, 0)
                if on_progress is not None:
                    on_progress(status)
                if outcome.fatal:
                    stopped.append(outcome.error or "the output folder cannot be written")
                return not outcome.fatal

            if on_progress is not None:
                on_progress(status)
            try:
                if ray_address:
                    from unseen.scale.ray import run_ray

                    run_ray(
                        tasks, ray_address, begin, finish, detector=detector, segment_seconds=segment_seconds
                    )
                else:
                    from unseen.batch.local import run_local

                    count = min(workers or default_workers(), max(1, len(tasks)))
                    run_local(tasks, count, begin, finish, detector=detector, threads=threads_per_worker)
            finally:
                manifest.requeue_running()  # interrupted: what was in hand is pending again
            wanted = {entry.rel for entry in entries}
            rows = sorted((r for r in manifest.rows().values() if r.rel in wanted), key=lambda r: r.rel)
        finally:
            manifest.close()
    return BatchResult(
        src,
        out,
        rows,
        ran=len(tasks),
        unchanged=unchanged,
        seconds=time.monotonic() - started,
        temp_removed=removed,
        stopped=stopped[0] if stopped else None,
        verify=settings.verify,
    )


def _plan(
    entries: list[Entry], manifest: Manifest, src: Path, out: Path, settings: Settings
) -> tuple[list[Task], int]:
    """Manifest rows for every entry, and the tasks still to do: biggest first, to end together."""
    known = manifest.rows()
    names = output_names(
        entries, {rel: row.output for rel, row in known.items() if row.output}, settings.names
    )
    rows: list[Row] = []
    tasks: list[tuple[int, Task]] = []
    unchanged = 0
    for entry in entries:
        old = known.get(entry.rel)
        if entry.skip or entry.error:
            if old is not None and old.output:
                (out / old.output).unlink(missing_ok=True)  # no longer an input we can use
            state = State.SKIPPED if entry.skip else State.FAILED
            rows.append(Row(entry.rel, state, size=entry.size, error=entry.skip or entry.error))
            continue
        target = names[entry.rel]
        key = settings_key(settings, out / target)
        if (
            old is not None
            and old.state == State.DONE
            and (old.sha256, old.settings, old.output) == (entry.sha256, key, target)
            and (out / target).is_file()
        ):
            unchanged += 1
            continue
        if old is not None and old.output and old.output != target:
            (out / old.output).unlink(missing_ok=True)  # the input changed format: its old output goes
        rows.append(
            Row(
                entry.rel,
                State.PENDING,
                entry.kind,
                entry.size,
                entry.sha256,
                key,
                target,
                attempts=old.attempts if old else 0,
            )
        )
        task = Task(entry.rel, str(src / entry.rel), str(out / target), settings, entry.kind)
        tasks.append((entry.size, task))
    manifest.put(rows)
    tasks.sort(key=lambda item: -item[0])
    return [task for _, task in tasks], unchanged


def _record(manifest: Manifest, out: Path, outcome: Outcome) -> None:
    if outcome.state != State.DONE:
        # An output of an earlier run (other content or settings) must not stand in for this one.
        row = manifest.get(outcome.rel)
        if row is not None and row.output:
            (out / row.output).unlink(missing_ok=True)
    manifest.update(
        outcome.rel,
        state=outcome.state,
        faces=outcome.faces,
        verdict=outcome.verdict,
        error=outcome.error,
        finished=time.time(),
        seconds=round(outcome.seconds, 3),
        report=json.dumps(outcome.report) if outcome.report is not None else None,
        worker=outcome.worker or None,
    )


def _check_output_folder(out: Path, resume: bool) -> None:
    if Manifest.exists(out):
        if not resume:
            raise OutputError(
                f"{out}: already holds a batch (its manifest {MANIFEST_NAME}); add --resume to finish "
                "or update it, or choose an empty output folder"
            )
        return
    if any(item.name != LOCK_NAME for item in out.iterdir()):
        raise OutputError(f"{out}: is not empty and holds no unseen batch; choose an empty or new folder")


def remove_stale_temp(out: Path) -> int:
    """Delete temporary files a killed worker left in the output tree; returns how many."""
    removed = 0
    for folder, _, files in os.walk(out):
        for name in files:
            if name.startswith(TMP_PREFIX):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed


class _locked:
    """An exclusive lock on the output folder, so two batches never write into one."""

    def __init__(self, out: Path) -> None:
        self.path = out / LOCK_NAME
        self.file: IO[str] | None = None

    def __enter__(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        try:
            self.file = self.path.open("a")
        except OSError as error:
            raise OutputError(f"{self.path.parent}: cannot write here ({error.strerror})") from error
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            self.file.close()
            raise OutputError(f"{self.path.parent}: another unseen batch is writing here") from error

    def __exit__(self, *_: object) -> None:
        if self.file is not None:
            self.file.close()
