"""Where the desk keeps what people add: one private folder per process, gone on every exit.

The folder is `<base>/<host>-<pid>` (mode 0700) with `in/` for the uploaded originals and `out/`
for the masked outputs. Normal exits, Ctrl-C, SIGTERM and SIGHUP remove it; a process killed
with SIGKILL cannot, so every start removes the folders of this machine's dead processes first,
as the batch temp files are cleaned (see unseen.tempfiles). The base defaults to a disk-backed
cache folder, not /tmp, which is RAM on many systems: a 2 GB video must not fill memory.
Uploads are streamed to disk in small chunks; a name from the browser is display text only.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from unseen.tempfiles import HOST, _alive

CHUNK = 1024 * 1024
SPARE = 256 * 1024 * 1024  # left free on the disk after an upload: the output needs room too
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


class UploadError(ValueError):
    """An upload the desk refuses or could not receive (too big, no room, cut short)."""


def default_base() -> Path:
    """A disk-backed per-user folder: $XDG_CACHE_HOME/unseen/desk, else ~/.cache/unseen/desk."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "unseen" / "desk"


def clean_stale(base: Path) -> int:
    """Remove the desk folders of this machine's processes that no longer run; returns how many."""
    removed = 0
    try:
        entries = list(base.iterdir())
    except OSError:
        return 0
    for path in entries:
        host, _, pid = path.name.partition("-")
        if host != HOST or not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += not path.exists()
    return removed


def safe_name(name: str, fallback: str = "file") -> str:
    """One path component from a name the browser sent: no separators, no dots-only, no controls."""
    name = unicodedata.normalize("NFC", name)
    name = _UNSAFE.sub("_", name).strip().lstrip(".")
    return name[:200] or fallback


def safe_relative(name: str) -> str:
    """A relative path for display and for the exported layout: `..`, `.` and empty parts dropped."""
    parts = [p for p in re.split(r"[/\\]+", name) if p not in ("", ".", "..")]
    return "/".join(safe_name(p) for p in parts) or "file"


class DeskSpace:
    """The private folder of one desk process: made on start, removed by close()."""

    def __init__(self, base: Path | None = None) -> None:
        self.base = Path(base) if base is not None else default_base()
        self.base.mkdir(parents=True, exist_ok=True, mode=0o700)
        clean_stale(self.base)
        self.root = self.base / f"{HOST}-{os.getpid()}"
        shutil.rmtree(self.root, ignore_errors=True)  # a reused pid's leftovers are not ours to keep
        self.root.mkdir(mode=0o700)
        os.chmod(self.root, 0o700)  # whatever the umask said
        self.inputs = self.root / "in"
        self.outputs = self.root / "out"
        self.inputs.mkdir(mode=0o700)
        self.outputs.mkdir(mode=0o700)

    def holds(self, path: Path) -> bool:
        """`path` is inside this desk's folder (never a place to export to)."""
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError):
            return True
        return resolved == self.root or resolved.is_relative_to(self.root.resolve())

    def receive(
        self,
        number: int,
        name: str,
        stream: BinaryIO,
        length: int,
        progress: Callable[[int], None] | None = None,
    ) -> Path:
        """Write `length` bytes of `stream` to in/<number>/<name>, chunk by chunk; UploadError if cut.

        Nothing partial stays: a short or failed read removes the file and its folder.
        """
        free = shutil.disk_usage(self.root).free
        if length + SPARE > free:
            raise UploadError(f"{name}: not enough free disk space ({length} bytes, {free} free)")
        folder = self.inputs / str(number)
        folder.mkdir(mode=0o700)
        path = folder / safe_name(name)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                left = length
                while left:
                    chunk = stream.read(min(CHUNK, left))
                    if not chunk:
                        raise UploadError(
                            f"{name}: the upload stopped after {length - left} of {length} bytes"
                        )
                    out.write(chunk)
                    left -= len(chunk)
                    if progress is not None:
                        progress(length - left)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return path

    def output_folder(self, number: int) -> Path:
        """out/<number>: each item's output alone, so equal names never collide."""
        folder = self.outputs / str(number)
        folder.mkdir(mode=0o700, exist_ok=True)
        return folder

    def forget(self, number: int) -> None:
        """Remove one item's original and outputs (the person took it off the desk)."""
        for where in (self.inputs, self.outputs):
            shutil.rmtree(where / str(number), ignore_errors=True)

    def close(self) -> None:
        """Remove everything this desk held; safe to call more than once."""
        with contextlib.suppress(OSError):
            shutil.rmtree(self.root)
        shutil.rmtree(self.root, ignore_errors=True)
