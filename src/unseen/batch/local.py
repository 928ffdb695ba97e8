"""The batch on this machine: a pool of worker processes, each loading the models once.

A worker that dies (out of memory, killed) breaks the pool; the files it had in hand are given to
a new pool, up to MAX_ATTEMPTS times each, then reported as failed. Workers keep OpenCV to one
thread each when there are several, so N workers use N cores instead of fighting over them.
Interrupted (Ctrl-C, SIGTERM), the pool's workers are ended at once: none writes on alone, and
the batch removes what temporary files they leave.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from unseen.batch.engine import Finished, Started
from unseen.batch.manifest import State
from unseen.batch.work import Outcome, Task, init_worker, process, process_in_worker
from unseen.detect import Detector

MAX_ATTEMPTS = 3  # a file that kills its worker this often is reported, not retried forever


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


@dataclass(frozen=True)
class LocalPool:
    """The Engine of this machine: `workers` processes (None: one per core; 1: in this process)."""

    workers: int | None = None
    detector: Detector | None = None
    threads: int = 1  # OpenCV threads per worker (0: its default, all cores); see bench/bench_batch.py

    def run(self, tasks: list[Task], started: Started, finished: Finished) -> None:
        count = min(self.workers or default_workers(), max(1, len(tasks)))
        run_local(tasks, count, started, finished, detector=self.detector, threads=self.threads)


def run_local(
    tasks: list[Task],
    workers: int,
    started: Started,
    finished: Finished,
    detector: Detector | None = None,
    threads: int = 1,
) -> None:
    """Run every task, calling started() before and finished() after each one, in the driver."""
    if workers <= 1:  # in this process: OpenCV and ONNX Runtime may use every core
        for task in tasks:
            started(task)
            if not finished(process(task, detector)):
                return
        return
    queue = list(reversed(tasks))
    attempts: dict[str, int] = {}
    suspects: set[str] = set()  # in flight when a worker died: retried alone, so the blame is right
    stopping = False
    while queue and not stopping:
        broken: list[Task] = []
        # spawn, not fork: the driver may hold threads (hashing) and OpenCV/ONNX state
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            workers, context, initializer=init_worker, initargs=(detector, threads)
        ) as pool:
            running: dict[Future[Outcome], Task] = {}
            try:
                while (queue and not stopping) or running:
                    while queue and not (stopping or broken) and len(running) < workers + 1:
                        if running and (
                            queue[-1].rel in suspects or suspects & {t.rel for t in running.values()}
                        ):
                            break
                        task = queue.pop()
                        attempts[task.rel] = attempts.get(task.rel, 0) + 1
                        started(task)
                        try:
                            running[pool.submit(process_in_worker, task)] = task
                        except BrokenProcessPool:
                            broken.append(task)
                    if not running:
                        break
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        task = running.pop(future)
                        try:
                            outcome = future.result()
                        except BrokenProcessPool:
                            broken.append(task)
                            continue
                        stopping = not finished(outcome) or stopping
            except BaseException:
                workers_left = list((pool._processes or {}).values())  # no public way before Python 3.14
                for worker in workers_left:
                    worker.terminate()
                for worker in workers_left:  # dead before the driver sweeps what they left
                    worker.join(5)
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        if len(broken) > 1:  # which of them killed the worker is unknown: none is charged for it
            for task in broken:
                attempts[task.rel] -= 1
                suspects.add(task.rel)
        for task in broken:
            if attempts[task.rel] >= MAX_ATTEMPTS:
                finished(Outcome(task.rel, State.FAILED, error=_died(task)))
            else:
                queue.append(task)


def _died(task: Task) -> str:
    return (
        f"{task.src}: the worker process died while working on it, {MAX_ATTEMPTS} times "
        "(out of memory? try fewer --workers)"
    )
