"""One file of a batch, as a worker does it: the same function in a local process and on Ray.

Only paths, settings and a person's corrections (the sidecar's bytes, read where the batch was
planned: a Ray worker on another machine cannot see the driver's state folder) travel to a
worker, and only a small Outcome (no pixels) comes back.
"""

from __future__ import annotations

import errno
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from unseen.batch.manifest import State
from unseen.detect import Detector
from unseen.edits import Edits
from unseen.errors import InputError, OutputError, VerificationFailed
from unseen.settings import Settings
from unseen.types import Report, Verdict

# An output folder that fails like this fails for every file: the batch stops instead of trying each.
FATAL_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


@dataclass(frozen=True)
class Task:
    rel: str
    src: str
    dst: str
    settings: Settings
    kind: str = ""  # "image" or "video": a long video may be split into segments on Ray
    edits: bytes | None = None  # the review sidecar's bytes, None when the person made none
    edits_path: str = ""  # where they were read: damaged edits are reported under this name


@dataclass
class Outcome:
    """What became of one Task; `fatal` means the output folder itself cannot take files."""

    rel: str
    state: State
    output: str | None = None
    faces: int | None = None
    verdict: str | None = None
    error: str | None = None
    seconds: float = 0.0
    report: dict[str, Any] | None = None
    fatal: bool = False
    worker: str = ""


_worker_detector: Detector | None = None


def init_worker(detector: Detector | None, threads: int) -> None:
    """Per worker process: the injected detector, and OpenCV kept to `threads` threads.

    Ctrl-C reaches every process of the terminal's job: a worker leaves it to the driver, which
    ends the workers and removes what they leave, so the batch stops the same way every time.
    """
    global _worker_detector
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _worker_detector = detector
    _die_with_parent()
    limit_threads(threads)


def limit_threads(threads: int) -> None:
    if threads > 0:
        import cv2

        cv2.setNumThreads(threads)


def process_in_worker(task: Task) -> Outcome:
    return process(task, _worker_detector)


def process(task: Task, detector: Detector | None = None) -> Outcome:
    """anonymize_file() on one Task; every failure becomes an Outcome, never an exception."""
    from unseen.pipeline import anonymize_file

    def make() -> Report:
        edits = Edits() if task.edits is None else Edits.parse(task.edits, Path(task.edits_path))
        return anonymize_file(task.src, task.dst, task.settings, detector=detector, edits=edits)

    return guarded(task, task.dst, make)


def guarded(task: Task, dst: str, make: Callable[[], Report]) -> Outcome:
    """Run `make` (which writes `dst`) and say what became of it: every failure is an Outcome."""
    start = time.perf_counter()
    worker = f"{os.uname().nodename}:{os.getpid()}"
    folder = Path(dst).parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as cannot:
        return Outcome(
            task.rel,
            State.FAILED,
            error=f"{folder}: cannot create this folder ({cannot.strerror})",
            fatal=cannot.errno in FATAL_ERRNOS,
            worker=worker,
        )
    try:
        report = make()
    except VerificationFailed as refused:
        report_dict = refused.report.to_dict() if isinstance(refused.report, Report) else None
        return Outcome(
            task.rel,
            State.REFUSED,
            error=str(refused),
            report=report_dict,
            faces=len(report_dict["faces"]) if report_dict else None,
            verdict=Verdict.REFUSED.value,
            seconds=time.perf_counter() - start,
            worker=worker,
        )
    except InputError as unusable:
        return Outcome(
            task.rel, State.FAILED, error=str(unusable), seconds=time.perf_counter() - start, worker=worker
        )
    except OutputError as cannot:
        cause = cannot.__cause__
        fatal = isinstance(cause, OSError) and cause.errno in FATAL_ERRNOS
        return Outcome(
            task.rel,
            State.FAILED,
            error=str(cannot),
            fatal=fatal,
            seconds=time.perf_counter() - start,
            worker=worker,
        )
    except Exception as bug:  # one odd file must not end an archive's run
        where = traceback.extract_tb(bug.__traceback__)[-1]
        return Outcome(
            task.rel,
            State.FAILED,
            worker=worker,
            seconds=time.perf_counter() - start,
            error=f"{task.src}: internal error {type(bug).__name__}: {bug} "
            f"(at {Path(where.filename).name}:{where.lineno})",
        )
    return Outcome(
        task.rel,
        State.DONE,
        output=dst,
        faces=report.face_count,
        verdict=report.verdict.value,
        seconds=time.perf_counter() - start,
        report=report.to_dict(),
        worker=worker,
    )


def _die_with_parent() -> None:
    """Linux: a worker ends when the batch that started it is killed, so none writes on alone."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
