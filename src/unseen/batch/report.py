"""What a batch tells its user: a throttled progress line, a summary table, JSON and CSV files."""

from __future__ import annotations

import csv
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

from unseen.batch.job import BatchResult, Status
from unseen.batch.manifest import State

CSV_COLUMNS = ["input", "state", "output", "faces", "verdict", "reason", "kind", "size", "sha256", "seconds"]
# text counts, from each file's report (empty when text was not looked for)
TEXT_COLUMNS = ["text_on_people_found", "text_on_people_masked", "text_on_people_left", "text_other_masked"]
CSV_COLUMNS += TEXT_COLUMNS
LISTED = 20  # failures named in the summary; the rest are in --report / --csv


class ProgressLine:
    """files done/total, faces, errors, time left: redrawn in place twice a second on a terminal,
    one plain line every few seconds otherwise (a log file gets no flood)."""

    def __init__(self, stream: TextIO, tty: bool | None = None) -> None:
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.interval = 0.5 if self.tty else 5.0
        self.last = float("-inf")
        self.drawn = False

    def __call__(self, status: Status) -> None:
        now = time.monotonic()
        final = status.finished >= status.total
        if now - self.last < self.interval and not final:
            return
        self.last = now
        line = render(status)
        if self.tty:
            self.stream.write(f"\r{line}\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def render(status: Status) -> str:
    left = status.seconds_left() if status.finished < status.total else None
    errors = status.failed + status.refused
    return (
        f"{status.finished}/{status.total} files, {status.faces} faces masked, "
        f"{errors} error{'s' if errors != 1 else ''}"
        + (f", {_duration(left)} left" if left is not None else "")
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def summary_table(result: BatchResult) -> str:
    """A Markdown-ish table of what became of every input, then the failures by name."""
    skipped = Counter(_skip_kind(row.error or "") for row in result.rows if row.state == State.SKIPPED)
    lines = [
        f"{result.source} -> {result.output} ({_duration(result.seconds)})",
        "| outcome | files |",
        "|---|---:|",
        f"| written now | {result.count(State.DONE) - result.unchanged} |",
        f"| already done (unchanged) | {result.unchanged} |",
        f"| refused by verification | {result.count(State.REFUSED)} |",
        f"| failed | {result.count(State.FAILED)} |",
    ]
    if result.count(State.INTERRUPTED):
        lines.append(f"| interrupted (in hand when stopped) | {result.count(State.INTERRUPTED)} |")
    if result.count(State.PENDING):
        lines.append(f"| not done yet | {result.count(State.PENDING)} |")
    lines += [f"| skipped: {kind} | {n} |" for kind, n in sorted(skipped.items())]
    lines.append(f"faces masked: {result.faces}")
    texts = [_text(row.to_dict()["report"]) for row in result.rows if row.state == State.DONE]
    if any(t["text_on_people_found"] for t in texts):
        masked = sum(t["text_on_people_masked"] or 0 for t in texts)
        left = sum(t["text_on_people_left"] or 0 for t in texts)
        lines.append(f"text regions on people: {masked} masked, {left} left")
    if result.unverified and result.verify:
        lines.append(f"written UNVERIFIED (--force): {result.unverified}")
    if result.temp_removed:
        lines.append(f"temporary files of an interrupted run removed: {result.temp_removed}")
    bad = [row for row in result.rows if row.state in (State.FAILED, State.REFUSED)]
    for row in bad[:LISTED]:
        lines.append(f"  {row.state}: {row.error or row.rel}")
    if len(bad) > LISTED:
        lines.append(f"  ... and {len(bad) - LISTED} more (see --report or --csv)")
    if result.stopped:
        lines.append(f"STOPPED: {result.stopped}; fix it, then run again with --resume")
    if result.interrupted:
        lines.append("INTERRUPTED: run again with --resume to do what is left")
    return "\n".join(lines)


def _skip_kind(reason: str) -> str:
    return reason.split(" (")[0]


def entries(result: BatchResult) -> list[dict[str, Any]]:
    """Every input, one dict each: output, faces masked, verdict, or the failure reason."""
    return [
        {
            "input": row.rel,
            "state": row.state,
            "output": row.output if row.state == State.DONE else None,
            "faces": row.faces,
            "verdict": row.verdict,
            "reason": row.error,
            "kind": row.kind,
            "size": row.size,
            "sha256": row.sha256,
            "seconds": row.seconds,
            "report": row.to_dict()["report"],
        }
        | _text(row.to_dict()["report"])
        for row in result.rows
    ]


def _text(report: dict[str, Any] | None) -> dict[str, int | None]:
    """A file's text counts as CSV columns (None: not looked for)."""
    text = (report or {}).get("text") or {}
    looked = bool(text) and text.get("checked", True)
    return {column: text.get(column.removeprefix("text_")) if looked else None for column in TEXT_COLUMNS}


def write_json(path: Path, result: BatchResult) -> None:
    document = {
        "source": str(result.source),
        "output": str(result.output),
        "exit_code": result.exit_code,
        "interrupted": bool(result.interrupted),
        "faces": result.faces,
        "counts": {
            state: result.count(state)
            for state in (
                State.DONE,
                State.REFUSED,
                State.FAILED,
                State.SKIPPED,
                State.INTERRUPTED,
                State.PENDING,
            )
        },
        "files": entries(result),
    }
    path.write_text(json.dumps(document, indent=2, ensure_ascii=True) + "\n")


def write_csv(path: Path, result: BatchResult) -> None:
    with path.open("w", newline="", encoding="utf-8", errors="surrogateescape") as f:
        writer = csv.DictWriter(f, CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(entries(result))
