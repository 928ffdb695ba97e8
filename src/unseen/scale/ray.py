"""The batch on an existing Ray cluster (extra `unseen[ray]`): one task per file.

Only paths and settings travel; every node must see the source and output folders at the same
paths (a shared file system). Results stream back with ray.wait and are written to the manifest
by the driver as they arrive. A task whose worker dies is retried by Ray (max_retries); one that
dies every time is reported as failed. unseen never starts a cluster and never contacts anything
but the address given: start the cluster with `--disable-usage-stats` so Ray itself stays quiet.
"""

from __future__ import annotations

import os
from typing import Any

from unseen.batch.local import Finished, Started
from unseen.batch.work import Outcome, Task, limit_threads, process
from unseen.detect import Detector
from unseen.errors import MissingExtra, UnseenError

MAX_RETRIES = 3
IN_FLIGHT_PER_CPU = 2  # enough queued to keep every core busy, few enough to stop quickly


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as error:
        raise MissingExtra("ray", "ray") from error
    return ray


def _run_task(task: Task, detector: Detector | None) -> Outcome:
    import ray

    limit_threads(1)  # Ray gives each task one CPU; OpenCV would otherwise take them all
    outcome = process(task, detector)
    outcome.worker = f"{ray.get_runtime_context().get_node_id()[:12]}:{os.getpid()}"
    return outcome


def run_ray(
    tasks: list[Task],
    address: str,
    started: Started,
    finished: Finished,
    detector: Detector | None = None,
    max_retries: int = MAX_RETRIES,
) -> None:
    """Run every task on the Ray cluster at `address` ("auto": the one this machine belongs to)."""
    ray = _import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False, configure_logging=True)
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise UnseenError(f"cannot join the Ray cluster at {address}: {error}") from error
    running: dict[Any, Task] = {}
    try:
        remote = ray.remote(num_cpus=1, max_retries=max_retries, retry_exceptions=False)(_run_task)
        shared = ray.put(detector) if detector is not None else None
        limit = max(2, int(ray.cluster_resources().get("CPU", 1)) * IN_FLIGHT_PER_CPU)
        queue = list(reversed(tasks))
        stopping = False
        while (queue and not stopping) or running:
            while queue and not stopping and len(running) < limit:
                task = queue.pop()
                started(task)
                running[remote.remote(task, shared)] = task
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in ready:
                task = running.pop(ref)
                try:
                    outcome = ray.get(ref)
                except (ray.exceptions.RayError, OSError) as error:
                    outcome = Outcome(task.rel, "failed", error=_lost(task, error, max_retries))
                if not finished(outcome):
                    stopping = True
    finally:
        for ref in running:  # interrupted: nothing keeps working for a driver that is gone
            ray.cancel(ref, force=True)
        ray.shutdown()


def _lost(task: Task, error: BaseException, retries: int) -> str:
    kind = type(error).__name__
    return f"{task.src}: lost on the Ray cluster after {retries + 1} attempts ({kind})"
