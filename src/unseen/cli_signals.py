"""SIGINT and SIGTERM as KeyboardInterrupt, carrying the signal, so a command stops the same way
for Ctrl-C and for `kill` (clean-up and reports run) and exits 128 + the signal."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any


class Signalled(KeyboardInterrupt):
    """SIGTERM (or SIGINT) raised in the main thread, so a command stops as for Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within: SIGINT and SIGTERM raise Signalled; the old handlers come back after."""

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise Signalled(signum)

    handlers: dict[int, Any] = {}
    for which in (signal.SIGINT, signal.SIGTERM):
        handlers[which] = signal.signal(which, stop)
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
