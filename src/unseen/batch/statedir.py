"""Where a batch keeps its state (manifest, lock): a private folder outside the published tree.

The manifest names every original (absolute paths, SHA-256 of the content, which host made
which output, face positions): kept beside the outputs it would link each published file to its
original and to the machine. So it lives in a state folder the user can name (`--state DIR`), by
default `$XDG_STATE_HOME/unseen/batches/<name>-<key>/` (else `~/.local/state/...`), where the key
is a hash of the resolved output folder: the same output folder finds its state again for
`--resume`, and nothing is written into the output tree to find it. A state folder is never
inside the output or the source tree.

An output folder from an earlier version of unseen may still hold its manifest
(`.unseen-manifest.sqlite`) and lock: they are moved to the state folder, and the batch says so.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from pathlib import Path
from typing import IO

from unseen.batch.manifest import MANIFEST_FILE
from unseen.errors import OutputError
from unseen.statehome import path_key, state_home

LOCK_FILE = "lock"
LEGACY_MANIFEST = ".unseen-manifest.sqlite"  # where versions before this one kept it: inside OUT
LEGACY_LOCK = ".unseen-batch.lock"
_SQLITE_SIDE = ("-wal", "-shm", "-journal")


def state_root() -> Path:
    """Every batch's default state folder is under here: $XDG_STATE_HOME/unseen/batches."""
    return state_home() / "batches"


def default_state_dir(out: Path) -> Path:
    """The state folder of the batch writing into `out`: its name, then a hash of its full path."""
    real = Path(out).resolve()
    key = path_key(real)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", real.name)[:40].strip("._") or "batch"
    return state_root() / f"{name}-{key}"


def state_manifest(out: Path, state: Path | None = None) -> Path:
    """The manifest file of the batch writing into `out` (it may not exist yet)."""
    return (state if state is not None else default_state_dir(out)) / MANIFEST_FILE


def find_manifest(out: Path) -> Path | None:
    """The manifest of the batch that wrote `out`, if one is found (for `unseen review`): its
    default state folder first, then an earlier version's manifest inside `out`."""
    for path in (state_manifest(out), Path(out) / LEGACY_MANIFEST):
        if path.is_file():
            return path
    return None


def check_state_dir(state: Path, src: Path, out: Path) -> Path:
    """The resolved state folder; refused inside the output tree (it would be published with it)
    or the source tree (unseen never writes there)."""
    real = Path(state).resolve()
    if real.is_relative_to(out):
        raise OutputError(
            f"{state}: the state folder is inside the output folder {out}, which is meant for "
            "publishing; the state names every original: choose a folder outside it"
        )
    if real.is_relative_to(src):
        raise OutputError(
            f"{state}: the state folder is inside the source folder {src}; unseen never writes "
            "there: choose a folder outside it"
        )
    if real.exists() and not real.is_dir():
        raise OutputError(f"{state}: the state folder is not a folder")
    return real


def make_state_dir(state: Path) -> None:
    """Create the state folder, readable by its owner only: it names every original."""
    try:
        state.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(f"{state}: cannot create the state folder ({error.strerror})") from error


def remove_manifest(path: Path) -> None:
    """A manifest file and SQLite's side files beside it."""
    for name in ("", *_SQLITE_SIDE):
        Path(f"{path}{name}").unlink(missing_ok=True)


def adopt_legacy(out: Path, state: Path) -> Path | None:
    """Move an earlier version's manifest out of `out` into `state`; returns where it was, or None.

    The copy is made with SQLite's backup (a write-ahead log left by a killed run is included),
    then the original and its lock are deleted from the output folder.
    """
    old = out / LEGACY_MANIFEST
    if not old.is_file():
        return None
    new = state / MANIFEST_FILE
    if new.exists():
        raise OutputError(
            f"{out}: holds a batch manifest of an earlier unseen ({LEGACY_MANIFEST}) while its "
            f"state folder {state} holds one too; delete one of them, then run again"
        )
    with Locked(out / LEGACY_LOCK):  # held: an earlier version is running there right now
        try:
            with (
                contextlib.closing(sqlite3.connect(old)) as source,
                contextlib.closing(sqlite3.connect(new)) as target,
            ):
                source.backup(target)
        except sqlite3.Error as error:
            remove_manifest(new)
            raise OutputError(f"{old}: cannot move this earlier batch manifest ({error})") from error
        remove_manifest(old)
    (out / LEGACY_LOCK).unlink(missing_ok=True)
    return old


class Locked:
    """An exclusive lock file, so two batches never write one output folder at once."""

    def __init__(self, path: Path, names: Path | None = None) -> None:
        self.path, self.names = path, names or path.parent  # `names`: the folder messages name
        self.file: IO[str] | None = None

    def __enter__(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        try:
            self.file = self.path.open("a")
        except OSError as error:
            raise OutputError(f"{self.path.parent}: cannot write here ({error.strerror})") from error
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            self.file.close()
            raise OutputError(f"{self.names}: another unseen batch is writing here") from error

    def __exit__(self, *_: object) -> None:
        if self.file is not None:
            self.file.close()
