"""What runs a batch's tasks: an engine passed in to run_batch (the local pool, Ray, a test's own).

The batch plans, records and reports; the engine only hands out tasks and returns outcomes, in
the driver, through the two callbacks. So the batch never imports an engine it does not use,
and an engine never touches the manifest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from unseen.batch.work import Outcome, Task

Started = Callable[[Task], None]  # called in the driver before a task is handed out
Finished = Callable[[Outcome], bool]  # False: stop handing out new tasks (the output folder is broken)


class Engine(Protocol):
    """Runs every task once (or until `finished` says stop); may raise KeyboardInterrupt, after
    which nothing it started keeps writing."""

    def run(self, tasks: list[Task], started: Started, finished: Finished) -> None: ...
