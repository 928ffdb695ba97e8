"""Temporary files live only in the output folder, carry the writer's pid, and are cleaned up.

A process killed with SIGKILL cannot remove its temp file; the next run in that folder removes
every `.unseen-tmp-<pid>-*` whose process is gone (a live pid's file is left to its owner).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PREFIX = ".unseen-tmp-"


def make_temp(folder: Path, suffix: str) -> tuple[int, Path]:
    """An open descriptor and the path of a new temp file in `folder`, named for this process."""
    fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{os.getpid()}-", suffix=suffix, dir=folder)
    return fd, Path(name)


def temp_path(folder: Path, suffix: str) -> Path:
    """A fresh temp file name in `folder` for writers that open the file themselves."""
    fd, path = make_temp(folder, suffix)
    os.close(fd)
    return path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(folder: Path) -> int:
    """Remove temp files left in `folder` by processes that no longer run; returns how many."""
    removed = 0
    try:
        entries = list(folder.iterdir())
    except OSError:
        return 0
    for path in entries:
        if not path.name.startswith(PREFIX):
            continue
        pid_text = path.name[len(PREFIX) :].split("-", 1)[0]
        if pid_text.isdigit() and (int(pid_text) == os.getpid() or _alive(int(pid_text))):
            continue
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed
