"""Temporary files live only in the output folder, carry the writer's pid, and are cleaned up.

A process killed with SIGKILL cannot remove its temp file; the next run in that folder removes
every `.unseen-tmp-<host>-<pid>-*` of this machine whose process is gone. Files of a live pid,
or of another machine sharing the folder (a Ray cluster), are left to their owner.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

PREFIX = ".unseen-tmp-"
# os.uname, not socket.gethostname: no code path touches the socket module
HOST = hashlib.sha256(os.uname().nodename.encode()).hexdigest()[:8]


def make_temp(folder: Path, suffix: str) -> tuple[int, Path]:
    """An open descriptor and the path of a new temp file in `folder`, named for this process."""
    fd, name = tempfile.mkstemp(prefix=f"{PREFIX}{HOST}-{os.getpid()}-", suffix=suffix, dir=folder)
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
        host, _, rest = path.name[len(PREFIX) :].partition("-")
        pid_text = rest.split("-", 1)[0]
        if host != HOST or not pid_text.isdigit():
            continue  # another machine's, or not ours to judge
        if int(pid_text) == os.getpid() or _alive(int(pid_text)):
            continue
        try:
            path.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def output_temp(dst: Path) -> Path:
    """A temp file beside `dst` for a writer that renames it into place when done; stale temp
    files of dead processes in that folder are removed first. OutputError if it cannot be made."""
    from unseen.errors import OutputError

    if not dst.parent.is_dir():
        raise OutputError(f"{dst.parent}: no such folder")
    try:
        clean_stale(dst.parent)
        return temp_path(dst.parent, dst.suffix)
    except OSError as error:
        raise OutputError(f"{dst.parent}: cannot write here ({error.strerror})") from error
