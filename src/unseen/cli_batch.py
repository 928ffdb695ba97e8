"""`unseen batch SRC -o OUT`: the command line of a batch; the only part of it that prints.

It picks the engine (this machine's pool, or Ray with --ray) and passes it to run_batch. Ctrl-C
(SIGINT) and SIGTERM stop the batch; the --report and --csv files are still written, listing
what was done, what was in hand ("interrupted") and what was not started ("pending"), and the
exit code is 128 + the signal: 130 for Ctrl-C, 143 for SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from unseen.cli_options import NO_VERIFY_WARNING, add_settings_arguments, settings_from
from unseen.cli_signals import stop_on_signals
from unseen.errors import UnseenError

if TYPE_CHECKING:
    from unseen.batch import BatchResult, Engine

EXIT_OK, EXIT_USAGE, EXIT_INPUT, EXIT_REFUSED = 0, 1, 2, 3


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="unseen batch",
        description="Anonymize every photo and video under a folder into the same tree in another "
        "folder, in parallel; resumable after a crash; optionally on a Ray cluster.",
        epilog="exit codes: 0 all written and verified, 1 usage, 2 some input unusable, "
        "3 verification refused some (nothing unverified written), 130 stopped by Ctrl-C or SIGINT, "
        "143 by SIGTERM (--report and --csv still written; --resume goes on). The batch's state "
        "lives outside OUT: nothing but the outputs is written there.",
    )
    p.add_argument("source", type=Path, metavar="SRC", help="folder to read (never written)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="OUT",
        help="folder to write, outside SRC: OUT/<same path>/<name>.unseen.<ext>",
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue or update the batch in OUT: redo only what is missing, changed or failed",
    )
    p.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the batch's manifest and lock in DIR, outside OUT and SRC (default: a folder "
        "for OUT under $XDG_STATE_HOME/unseen/batches, else ~/.local/state/unseen/batches); "
        "nothing of it is ever written into OUT",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes on this machine (default: one per core)",
    )
    p.add_argument(
        "--ray",
        metavar="ADDRESS",
        default=None,
        help="run on an existing Ray cluster ('auto' or HOST:PORT); SRC and OUT must be at "
        "the same paths on every node; needs unseen[ray]",
    )
    p.add_argument(
        "--segment-seconds",
        type=float,
        default=None,
        metavar="S",
        help="with --ray: cut videos longer than 1.5 S into segments of about S seconds at keyframes "
        "(default 60, or $UNSEEN_SEGMENT_SECONDS; 0 keeps every video whole)",
    )
    p.add_argument("--report", type=Path, help="write every input's outcome as JSON here")
    p.add_argument("--csv", type=Path, help="write every input's outcome as CSV here")
    add_settings_arguments(p)
    p.add_argument("-q", "--quiet", action="store_true", help="no progress line and no summary; errors only")
    return p


def _error(line: str) -> None:
    print(f"unseen batch: {line}", file=sys.stderr, flush=True)


def _engine(args: argparse.Namespace) -> Engine:
    if args.ray:
        from unseen.scale.ray import RayEngine

        return RayEngine(args.ray, segment_seconds=args.segment_seconds)
    from unseen.batch import LocalPool

    return LocalPool(args.workers)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from unseen.batch import Interrupted, run_batch

    if args.workers is not None and args.workers < 1:
        _error("--workers must be 1 or more")
        return EXIT_USAGE
    if args.segment_seconds is not None and not args.segment_seconds >= 0:
        _error("--segment-seconds must be 0 or more")
        return EXIT_USAGE
    for path in (args.report, args.csv):
        if path is None:
            continue
        if path.resolve().is_relative_to(args.source.resolve()):
            _error(f"{path}: is inside the source folder; unseen never writes there")
            return EXIT_USAGE
        if path.resolve().is_relative_to(args.output.resolve()):
            _error(
                f"{path}: is inside the output folder, which is meant for publishing; the report names "
                "every original: write it outside"
            )
            return EXIT_USAGE
    settings = settings_from(args)
    if args.no_verify and not args.quiet:
        _error(NO_VERIFY_WARNING)
    from unseen.batch.report import ProgressLine

    progress = None if args.quiet else ProgressLine(sys.stderr)
    try:
        with stop_on_signals():
            result = run_batch(
                args.source,
                args.output,
                settings,
                resume=args.resume,
                engine=_engine(args),
                state=args.state,
                on_progress=progress,
            )
    except Interrupted as stop:
        result = stop.result
    except KeyboardInterrupt as stop:  # before the batch began, or a second Ctrl-C while it ended
        if progress is not None:
            progress.close()
        _error("interrupted; finished files are kept, no partial output is left: add --resume to go on")
        return 128 + int(getattr(stop, "signum", signal.SIGINT))
    except UnseenError as error:
        if progress is not None:
            progress.close()
        _error(str(error))
        return EXIT_USAGE
    if progress is not None:
        progress.close()
    return _finish(args, result)


def _finish(args: argparse.Namespace, result: BatchResult) -> int:
    """Reports, the summary or the errors, the exit code: the same whether the batch ended or was stopped."""
    from unseen.batch import State
    from unseen.batch.report import summary_table, write_csv, write_json

    if result.moved_manifest is not None:
        _error(
            f"moved the batch manifest of an earlier unseen version out of the output folder "
            f"({result.moved_manifest}) to {result.state}: it named every original"
        )
    code = result.exit_code
    try:
        if args.report is not None:
            write_json(args.report, result)
        if args.csv is not None:
            write_csv(args.csv, result)
    except OSError as error:
        _error(f"cannot write the report: {error}")
        code = code if result.interrupted else max(code, EXIT_INPUT)
    if not args.quiet:
        print(summary_table(result), file=sys.stderr, flush=True)
    else:  # errors only: one line for each file that failed or was refused
        for row in result.rows:
            if row.state in (State.FAILED, State.REFUSED):
                _error(row.error or f"{row.rel}: {row.state}")
        if result.stopped:
            _error(f"stopped: {result.stopped}")
    if result.interrupted:
        _error("interrupted; finished files are kept, no partial output is left: add --resume to go on")
    return code
