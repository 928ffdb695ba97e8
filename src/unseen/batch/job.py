"""A batch from start to end: folders checked, state folder locked, plan made from the source
tree and the manifest, the work run by an engine (local pool by default, or one passed in), the
outcome read back.

Resume: an input is done again unless the manifest has it done, with the same content hash and
settings hash, and its output is still there. Running a batch into a folder that already holds a
batch needs `resume=True`: two jobs with different settings never mix in one folder unnoticed.
The manifest and lock live in a state folder outside the output tree (see statedir.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from unseen.batch.engine import Engine
from unseen.batch.local import LocalPool
from unseen.batch.manifest import MANIFEST_FILE, Manifest, Row, State
from unseen.batch.plan import Entry, check_folders, identify_all, output_names, scan
from unseen.batch.statedir import (
    LOCK_FILE,
    Locked,
    adopt_legacy,
    check_state_dir,
    default_state_dir,
    make_state_dir,
    remove_manifest,
)
from unseen.batch.work import Outcome, Task
from unseen.detect import Detector
from unseen.edits import sidecar_for
from unseen.errors import OutputError
from unseen.settings import Settings
from unseen.tempfiles import PREFIX

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
    state: Path | None = None  # the state folder (manifest, lock), outside the output tree
    moved_manifest: Path | None = None  # an earlier version's manifest, moved out of the output folder
    interrupted: int = 0  # the signal that stopped the run (SIGINT for Ctrl-C), 0 if none

    def count(self, state: State) -> int:
        return sum(row.state == state for row in self.rows)

    @property
    def faces(self) -> int:
        return sum(row.faces or 0 for row in self.rows if row.state == State.DONE)

    @property
    def unverified(self) -> int:
        return sum(row.state == State.DONE and row.verdict != "verified" for row in self.rows)

    @property
    def exit_code(self) -> int:
        """0 all written (and verified), 2 some input unusable, 3 verification refused some;
        128 + the signal when interrupted (130 for Ctrl-C, 143 for SIGTERM)."""
        if self.interrupted:
            return 128 + self.interrupted
        if self.count(State.REFUSED) or (self.verify and self.unverified):
            return 3
        if self.count(State.FAILED) or self.count(State.PENDING) or self.stopped:
            return 2
        return 0


class Interrupted(KeyboardInterrupt):
    """run_batch was stopped (Ctrl-C, or a signal raised as KeyboardInterrupt with a `signum`);
    `result` says what was done, what was in hand (interrupted) and what was not started (pending)."""

    def __init__(self, result: BatchResult) -> None:
        super().__init__(f"interrupted by signal {result.interrupted}")
        self.result = result


def settings_key(settings: Settings, output: Path) -> str:
    """Hash of everything besides the input that shapes an output: settings and the edits file."""
    text = json.dumps(asdict(settings), sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode())
    edits = _read_or_none(sidecar_for(output))
    if edits is not None:
        digest.update(edits)
    return digest.hexdigest()[:32]


def _remove_output(out: Path, rel: str) -> None:
    """Remove an earlier run's output and the folders it leaves empty (their names may tell)."""
    path = out / rel
    path.unlink(missing_ok=True)
    for folder in path.parents:
        if folder == out or not folder.is_relative_to(out):
            break
        try:
            folder.rmdir()
        except OSError:
            break  # not empty: other outputs are in it


def _read_or_none(path: Path) -> bytes | None:
    """A sidecar's bytes, or None when there is none (an unreadable one fails its file later)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:
        return b"\x00"  # not JSON: the worker reports the file as damaged, naming it


def run_batch(
    src: Path,
    out: Path,
    settings: Settings | None = None,
    *,
    resume: bool = False,
    engine: Engine | None = None,
    state: Path | None = None,
    workers: int | None = None,
    detector: Detector | None = None,
    threads_per_worker: int = 1,
    on_progress: Callable[[Status], None] | None = None,
) -> BatchResult:
    """Anonymize every photo and video under `src` into the same tree under `out`.

    `engine` runs the tasks (e.g. unseen.scale.ray.RayEngine); without one, a LocalPool of
    `workers` processes with `detector`, each keeping OpenCV to `threads_per_worker` threads.
    `state`: the state folder (default: one for `out` under $XDG_STATE_HOME/unseen/batches).
    Ctrl-C raises Interrupted, whose result lists what was done and what was not.
    """
    settings = settings or Settings()
    began = time.monotonic()
    src, out = check_folders(Path(src), Path(out))
    state_dir = check_state_dir(Path(state) if state is not None else default_state_dir(out), src, out)
    engine = engine if engine is not None else LocalPool(workers, detector, threads_per_worker)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{out}: cannot create the output folder ({error.strerror})") from error
    make_state_dir(state_dir)
    with Locked(state_dir / LOCK_FILE, names=out):
        moved = adopt_legacy(out, state_dir)
        _check_output_folder(out, state_dir, resume)
        removed = remove_stale_temp(out)
        manifest = Manifest(state_dir / MANIFEST_FILE)
        try:
            _check_pair(manifest, src, out, state_dir)
            ran = _Run(manifest, src, out, settings, on_progress)
            ran.go(engine)
            wanted = ran.wanted if ran.wanted is not None else set(manifest.rows())
            rows = sorted((r for r in manifest.rows().values() if r.rel in wanted), key=lambda r: r.rel)
        finally:
            manifest.close()
    result = BatchResult(
        src,
        out,
        rows,
        ran=len(ran.tasks),
        unchanged=ran.unchanged,
        seconds=time.monotonic() - began,
        temp_removed=removed,
        stopped=ran.stopped[0] if ran.stopped else None,
        verify=settings.verify,
        state=state_dir,
        moved_manifest=moved,
        interrupted=ran.interrupted,
    )
    if result.interrupted:
        raise Interrupted(result)
    return result


class _Run:
    """One run's plan and bookkeeping: what the engine is given, and each outcome recorded."""

    def __init__(
        self,
        manifest: Manifest,
        src: Path,
        out: Path,
        settings: Settings,
        on_progress: Callable[[Status], None] | None,
    ) -> None:
        self.manifest, self.src, self.out, self.settings = manifest, src, out, settings
        self.on_progress = on_progress
        self.tasks: list[Task] = []
        self.unchanged = 0
        self.wanted: set[str] | None = None  # every input of the source tree, once scanned
        self.sizes: dict[str, int] = {}
        self.status = Status(total=0)
        self.stopped: list[str] = []
        self.interrupted = 0

    def go(self, engine: Engine) -> None:
        """Plan, then run; Ctrl-C while either happens ends the run with the work in hand marked."""
        try:
            self.manifest.requeue_running()
            entries = identify_all(self.src, scan(self.src))
            self.wanted = {entry.rel for entry in entries}
            self.tasks, self.unchanged = _plan(entries, self.manifest, self.src, self.out, self.settings)
            self.sizes = {entry.rel: entry.size for entry in entries}
            sizes = [self.sizes[task.rel] for task in self.tasks]
            self.status = Status(total=len(self.tasks), bytes_total=sum(sizes))
            if self.on_progress is not None:
                self.on_progress(self.status)
            engine.run(self.tasks, self.begin, self.finish)
        except KeyboardInterrupt as stop:
            self.interrupted = int(getattr(stop, "signum", signal.SIGINT))
        finally:
            # what was in hand is redone by the next run; what an ended worker left goes now
            self.manifest.requeue_running(State.INTERRUPTED if self.interrupted else State.PENDING)
            remove_stale_temp(self.out)

    def begin(self, task: Task) -> None:
        self.manifest.start(task.rel)

    def finish(self, outcome: Outcome) -> bool:
        _record(self.manifest, self.out, outcome)
        status = self.status
        status.done += outcome.state == State.DONE
        status.failed += outcome.state == State.FAILED
        status.refused += outcome.state == State.REFUSED
        if outcome.state == State.DONE:
            status.faces += outcome.faces or 0
        status.bytes_done += self.sizes.get(outcome.rel, 0)
        if self.on_progress is not None:
            self.on_progress(status)
        if outcome.fatal:
            self.stopped.append(outcome.error or "the output folder cannot be written")
        return not outcome.fatal


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
            _remove_output(out, old.output)  # a new format or a neutral name: the old output goes
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
        sidecar = sidecar_for(out / target)
        edits = _read_or_none(sidecar)
        task = Task(
            entry.rel, str(src / entry.rel), str(out / target), settings, entry.kind, edits, str(sidecar)
        )
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


def _check_output_folder(out: Path, state: Path, resume: bool) -> None:
    """A folder with files is a batch's (its state found) or refused; a batch's state whose
    output folder holds nothing any more is forgotten, so the folder starts anew."""
    manifest = state / MANIFEST_FILE
    holds_files = any(files for _, _, files in os.walk(out))
    if manifest.is_file():
        if not holds_files:
            remove_manifest(manifest)
        elif not resume:
            raise OutputError(
                f"{out}: already holds a batch (its state is in {state}); add --resume to finish "
                "or update it, or choose an empty output folder"
            )
        return
    if holds_files:
        raise OutputError(
            f"{out}: is not empty and holds no unseen batch (no state in {state}; if the batch was "
            "run with --state, name that folder again); choose an empty or new folder"
        )


def _check_pair(manifest: Manifest, src: Path, out: Path, state: Path) -> None:
    """One state folder, one source and output pair: a mismatch is refused, never mixed."""
    for key, path in (("source", src), ("output", out)):
        value = json.dumps(str(path))  # JSON keeps a name that is not UTF-8 exactly
        recorded = manifest.meta(key)
        if recorded is None:
            manifest.set_meta(key, value)
        elif recorded != value:
            old = json.loads(recorded)
            if key == "source":
                raise OutputError(
                    f"{out}: its batch was made from {old}, not {src}; run it again with that "
                    "source, or choose a new output folder"
                )
            raise OutputError(f"{state}: this state folder is the batch writing {old}, not {out}")


def remove_stale_temp(out: Path) -> int:
    """Delete temporary files a killed worker left in the output tree; returns how many."""
    removed = 0
    for folder, _, files in os.walk(out):
        for name in files:
            if name.startswith(TMP_PREFIX):
                Path(folder, name).unlink(missing_ok=True)
                removed += 1
    return removed
