"""The batch's memory: one SQLite database (WAL) in the batch's state folder, written by the driver only.

One row per input path. A row is committed at every change of state, so a crash of the driver
or a worker loses at most the files in flight, which `--resume` finds in state "running" and does
again. Paths are stored as bytes (surrogate-escaped UTF-8), so any file name a disk holds fits.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

from unseen.errors import OutputError

MANIFEST_FILE = "manifest.sqlite"  # in the state folder, never in the output folder (see statedir.py)
SCHEMA_VERSION = "1"


class State(StrEnum):
    """What became of one input; the values are what --report, --csv and the manifest say."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the input is unusable, or a worker died on it too often
    REFUSED = "refused"  # verification still found a face or metadata: nothing written
    SKIPPED = "skipped"  # not work: not media, hidden, a symlink
    INTERRUPTED = "interrupted"  # in hand when the batch was stopped (Ctrl-C, SIGTERM): redone by --resume


@dataclass
class Row:
    """What the manifest knows about one input."""

    rel: str
    state: State = State.PENDING
    kind: str = ""
    size: int = 0
    sha256: str = ""
    settings: str = ""  # hash of the settings (and edits) the output was made with
    output: str | None = None  # relative to the output folder
    faces: int | None = None
    verdict: str | None = None
    error: str | None = None  # failure reason, or why skipped
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    seconds: float | None = None
    report: str | None = None  # the pipeline's Report as JSON (positions only, never pixels)
    worker: str | None = None  # which process (and Ray node) made the output

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "report"}
        out["report"] = json.loads(self.report) if self.report else None
        return out


_COLUMNS = [f.name for f in fields(Row)]
_PATHS = ("rel", "output")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    rel BLOB PRIMARY KEY, state TEXT NOT NULL, kind TEXT, size INTEGER, sha256 TEXT, settings TEXT,
    output BLOB, faces INTEGER, verdict TEXT, error TEXT, attempts INTEGER NOT NULL DEFAULT 0,
    started REAL, finished REAL, seconds REAL, report TEXT, worker TEXT
);
"""


def _to_db(name: str, value: Any) -> Any:
    if name in _PATHS and value is not None:
        return str(value).encode("utf-8", "surrogateescape")
    if isinstance(value, str):  # a message naming a file whose name is not UTF-8
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _from_db(name: str, value: Any) -> Any:
    if name in _PATHS and isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if name == "state" and value is not None:
        return State(value)
    return value


def _row(values: tuple[Any, ...]) -> Row:
    return Row(**{name: _from_db(name, value) for name, value in zip(_COLUMNS, values, strict=True)})


class Manifest:
    """Rows by input path; every write is its own committed transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: a crash of the process loses nothing
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema', ?), ('created', ?)",
                (SCHEMA_VERSION, str(time.time())),
            )
        except sqlite3.Error as error:
            raise OutputError(f"{path}: cannot open the batch manifest ({error})") from error

    def meta(self, key: str) -> str | None:
        """A value of the meta table (schema, created, source, output), or None."""
        found = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if found is None else str(found[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._writing() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            yield self._db
            self._db.execute("COMMIT")
        except BaseException as error:  # Ctrl-C included: never leave a transaction open
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            if isinstance(error, sqlite3.Error):
                raise OutputError(f"{self.path}: cannot write the batch manifest ({error})") from error
            raise

    def rows(self) -> dict[str, Row]:
        cursor = self._db.execute(f"SELECT {', '.join(_COLUMNS)} FROM files")
        return {row.rel: row for row in map(_row, cursor)}

    def get(self, rel: str) -> Row | None:
        cursor = self._db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM files WHERE rel = ?", [_to_db("rel", rel)]
        )
        values = cursor.fetchone()
        return None if values is None else _row(values)

    def put(self, rows: Iterable[Row]) -> None:
        """Insert or replace whole rows, in one transaction."""
        marks = ", ".join("?" for _ in _COLUMNS)
        with self._writing() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO files ({', '.join(_COLUMNS)}) VALUES ({marks})",
                [tuple(_to_db(c, getattr(row, c)) for c in _COLUMNS) for row in rows],
            )

    def update(self, rel: str, **values: Any) -> None:
        if not values:
            return
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self._writing() as db:
            db.execute(
                f"UPDATE files SET {assignments} WHERE rel = ?",
                [*(_to_db(n, v) for n, v in values.items()), _to_db("rel", rel)],
            )

    def start(self, rel: str) -> None:
        with self._writing() as db:
            db.execute(
                "UPDATE files SET state = ?, started = ?, attempts = attempts + 1 WHERE rel = ?",
                (State.RUNNING, time.time(), _to_db("rel", rel)),
            )

    def requeue_running(self, to: State = State.PENDING) -> int:
        """Rows left "running" (by a job that died, or one stopped: `to` INTERRUPTED). Returns how many."""
        with self._writing() as db:
            return db.execute("UPDATE files SET state = ? WHERE state = ?", (to, State.RUNNING)).rowcount
