"""The batch on an existing Ray cluster (extra `unseen[ray]`): one task per file, long videos in segments.

`RayEngine` is an Engine (unseen.batch.engine) that run_batch is given: `run_batch(src, out,
engine=RayEngine("auto"))`. Only Ray lives here; the segment tasks are unseen.batch.segments.

Only paths and settings travel; every node must see the source and output folders at the same
paths (a shared file system). Results stream back with ray.wait and are written to the manifest
by the driver as they arrive. A task whose worker dies is retried by Ray (max_retries); one that
dies every time is reported as failed. unseen never starts a cluster and never contacts anything
but the address given: start the cluster with `--disable-usage-stats` so Ray itself stays quiet.

A video longer than 1.5 segments (`segment_seconds`, default 60 s of video) becomes one task per
segment, cut at keyframes, then a join task that remuxes the parts losslessly (see
unseen.batch.segments). Segments are given out before any new file, so a started video ends
soon. A lost worker costs only its segment, which Ray retries; a refused or failed segment ends
the video, refused or failed as a whole: one manifest row, as for any file.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from unseen.batch.engine import Finished, Started
from unseen.batch.manifest import State
from unseen.batch.segments import SplitVideo, join_task, segment_task, video_task
from unseen.batch.segments import segment_seconds as _segment_length
from unseen.batch.work import FATAL_ERRNOS, Outcome, Task, limit_threads, process
from unseen.detect import Detector
from unseen.errors import MissingExtra, UnseenError
from unseen.media.segments import Segment

MAX_RETRIES = 3
IN_FLIGHT_PER_CPU = 2  # enough queued to keep every core busy, few enough to stop quickly


class TaskKind(StrEnum):
    """The kinds of Ray task: a file whole, a video to plan (whole or in segments), a segment, a join."""

    FILE = "file"
    VIDEO = "video"
    SEGMENT = "segment"
    JOIN = "join"


@dataclass(frozen=True)
class RayEngine:
    """The Engine of a Ray cluster at `address` ("auto": the one this machine belongs to).

    segment_seconds: video per segment task (None: $UNSEEN_SEGMENT_SECONDS, else 60; 0: never split).
    """

    address: str = "auto"
    detector: Detector | None = None
    segment_seconds: float | None = None
    max_retries: int = MAX_RETRIES

    def run(self, tasks: list[Task], started: Started, finished: Finished) -> None:
        run_ray(tasks, self.address, started, finished, self.detector, self.max_retries, self.segment_seconds)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise MissingExtra("ray", "ray") from error
    return ray


def _signed(outcome: Outcome) -> Outcome:
    import ray

    outcome.worker = f"{ray.get_runtime_context().get_node_id()[:12]}:{os.getpid()}"
    return outcome


# One function per kind of work, so a worker's process title (ray::NAME) says what it is doing.
# Ray gives each task one CPU: OpenCV keeps to one thread instead of taking them all.


def _run_task(task: Task, detector: Detector | None) -> Outcome:
    limit_threads(1)
    return _signed(process(task, detector))


def _run_video(task: Task, seconds: float, detector: Detector | None) -> Outcome | list[Segment]:
    limit_threads(1)
    result = video_task(task, seconds, detector)
    return _signed(result) if isinstance(result, Outcome) else result


def _run_segment(task: Task, segment: Segment, part: str, detector: Detector | None) -> Outcome:
    limit_threads(1)
    return _signed(segment_task(task, segment, part, detector))


def _run_join(
    task: Task, segments: list[Segment], parts: list[Outcome], detector: Detector | None
) -> Outcome:
    limit_threads(1)
    return _signed(join_task(task, segments, parts, detector))


def run_ray(
    tasks: list[Task],
    address: str,
    started: Started,
    finished: Finished,
    detector: Detector | None = None,
    max_retries: int = MAX_RETRIES,
    segment_seconds: float | None = None,
) -> None:
    """Run every task on the Ray cluster at `address` ("auto": the one this machine belongs to).

    segment_seconds: video per segment task (None: $UNSEEN_SEGMENT_SECONDS, else 60; 0: never split).
    """
    ray = _import_ray()
    seconds = _segment_length(segment_seconds)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False, configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise UnseenError(f"cannot join the Ray cluster at {address}: {error}") from error
    try:
        _Driver(ray, tasks, started, finished, detector, max_retries, seconds).run()
    finally:
        ray.shutdown()


class _Driver:
    """Hands out work as slots free up and routes each result: to the manifest, or on to the
    next step of a video in segments (plan -> segments -> join)."""

    def __init__(
        self,
        ray: Any,
        tasks: list[Task],
        started: Started,
        finished: Finished,
        detector: Detector | None,
        retries: int,
        seconds: float,
    ) -> None:
        self.ray, self.started, self.finished = ray, started, finished
        self.retries, self.seconds = retries, seconds
        options = {"num_cpus": 1, "max_retries": retries, "retry_exceptions": False}
        work = (_run_task, _run_video, _run_segment, _run_join)
        self.remote = {f.__name__: ray.remote(**options)(f) for f in work}
        self.shared = ray.put(detector) if detector is not None else None
        self.limit = max(2, int(ray.cluster_resources().get("CPU", 1)) * IN_FLIGHT_PER_CPU)
        split_videos = seconds > 0
        # a stack: the last item is handed out next; a split video's segments are pushed on top
        self.queue: list[tuple[Any, ...]] = [
            (TaskKind.VIDEO if split_videos and task.kind == "video" else TaskKind.FILE, task)
            for task in reversed(tasks)
        ]
        self.running: dict[Any, tuple[Any, ...]] = {}
        self.splits: dict[str, SplitVideo] = {}  # videos in segments still in hand, by rel
        self.stopping = False

    def run(self) -> None:
        try:
            while (self.queue and not self.stopping) or self.running:
                while self.queue and not self.stopping and len(self.running) < self.limit:
                    self._submit(self.queue.pop())
                ready, _ = self.ray.wait(list(self.running), num_returns=1, timeout=1.0)
                for ref in ready:
                    item = self.running.pop(ref)
                    try:
                        result = self.ray.get(ref)
                    except (self.ray.exceptions.RayError, OSError) as error:
                        result = self._lost(item, error)
                    if not self._arrived(item, result):
                        self.stopping = True
        finally:
            for ref in self.running:  # interrupted: nothing keeps working for a driver that is gone
                self.ray.cancel(ref, force=True)
            for split in self.splits.values():
                split.remove()

    def _submit(self, item: tuple[Any, ...]) -> None:
        kind, shared = item[0], self.shared
        if kind is TaskKind.FILE:
            self.started(item[1])
            ref = self.remote["_run_task"].remote(item[1], shared)
        elif kind is TaskKind.VIDEO:
            self.started(item[1])
            ref = self.remote["_run_video"].remote(item[1], self.seconds, shared)
        elif kind is TaskKind.SEGMENT:
            split, k = item[1], item[2]
            ref = self.remote["_run_segment"].remote(split.task, split.segments[k], split.parts[k], shared)
        else:
            split = item[1]
            ref = self.remote["_run_join"].remote(split.task, split.segments, split.outcomes(), shared)
        self.running[ref] = item

    def _arrived(self, item: tuple[Any, ...], result: Any) -> bool:
        """Route one result; False when the output folder cannot take files (stop handing out)."""
        kind = item[0]
        if kind is TaskKind.FILE or (kind is TaskKind.VIDEO and isinstance(result, Outcome)):
            return self.finished(result)
        if kind is TaskKind.VIDEO:
            return self._split(item[1], result)
        split: SplitVideo = item[1]
        if self.splits.get(split.task.rel) is not split:  # the video already ended: a late part goes
            if isinstance(result, Outcome) and result.output in split.parts:
                Path(result.output).unlink(missing_ok=True)
            return True
        if kind is TaskKind.JOIN:
            result.worker = split.workers(result.worker)
            return self._end(split, result)
        k = item[2]
        if result.state != State.DONE:
            result.error = f"{result.error} ({split.where(k)})"
            result.output = None
            return self._end(split, result)
        split.done[k] = result
        if split.complete:
            self.queue.append((TaskKind.JOIN, split))
        return True

    def _split(self, task: Task, segments: list[Segment]) -> bool:
        """A long video's segments go on top of the queue, each with its part file named."""
        split = SplitVideo(task, segments)
        try:
            split.name_parts()
        except OSError as error:
            split.remove()
            folder = Path(task.dst).parent
            cannot = f"{folder}: cannot write here ({error.strerror})"
            fatal = error.errno in FATAL_ERRNOS
            return self.finished(Outcome(task.rel, State.FAILED, error=cannot, fatal=fatal))
        self.splits[task.rel] = split
        self.queue.extend((TaskKind.SEGMENT, split, k) for k in reversed(range(len(segments))))
        return True

    def _end(self, split: SplitVideo, outcome: Outcome) -> bool:
        """A video in segments is over: the rest of its work is called off, its parts removed."""
        del self.splits[split.task.rel]
        for ref, item in self.running.items():
            if item[0] is TaskKind.SEGMENT and item[1] is split:
                self.ray.cancel(ref)  # not forced: the part's own clean-up runs
        whole = (TaskKind.FILE, TaskKind.VIDEO)
        self.queue[:] = [item for item in self.queue if item[0] in whole or item[1] is not split]
        split.remove()
        outcome.seconds = time.monotonic() - split.started
        return self.finished(outcome)

    def _lost(self, item: tuple[Any, ...], error: BaseException) -> Outcome:
        task: Task = item[1] if item[0] in (TaskKind.FILE, TaskKind.VIDEO) else item[1].task
        if isinstance(error, self.ray.exceptions.RayTaskError):  # raised inside the task: not retried
            cause = error.cause if isinstance(error.cause, BaseException) else error
            return Outcome(task.rel, State.FAILED, error=f"{task.src}: failed on the Ray cluster ({cause!r})")
        return Outcome(task.rel, State.FAILED, error=_lost(task, error, self.retries))


def _lost(task: Task, error: BaseException, retries: int) -> str:
    kind = type(error).__name__
    return f"{task.src}: lost on the Ray cluster after {retries + 1} attempts ({kind})"
