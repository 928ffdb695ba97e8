"""`unseen batch SRC -o OUT`: the command line of a batch; the only part of it that prints."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from unseen.cli_options import NO_VERIFY_WARNING, add_settings_arguments, settings_from
from unseen.errors import UnseenError

EXIT_OK, EXIT_USAGE, EXIT_INPUT, EXIT_REFUSED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="unseen batch",
        description="Anonymize every photo and video under a folder into the same tree in another "
        "folder, in parallel; resumable after a crash; optionally on a Ray cluster.",
        epilog="exit codes: 0 all written and verified, 1 usage, 2 some input unusable, "
        "3 verification refused some (nothing unverified written)",
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


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    from unseen.batch.job import run_batch
    from unseen.batch.manifest import State
    from unseen.batch.report import ProgressLine, summary_table, write_csv, write_json

    if args.workers is not None and args.workers < 1:
        _error("--workers must be 1 or more")
        return EXIT_USAGE
    if args.segment_seconds is not None and not args.segment_seconds >= 0:
        _error("--segment-seconds must be 0 or more")
        return EXIT_USAGE
    for path in (args.report, args.csv):
        if path is not None and path.resolve().is_relative_to(args.source.resolve()):
            _error(f"{path}: is inside the source folder; unseen never writes there")
            return EXIT_USAGE
    settings = settings_from(args)
    if args.no_verify and not args.quiet:
        _error(NO_VERIFY_WARNING)
    progress = None if args.quiet else ProgressLine(sys.stderr)
    try:
        result = run_batch(
            args.source,
            args.output,
            settings,
            resume=args.resume,
            workers=args.workers,
            ray_address=args.ray,
            on_progress=progress,
            segment_seconds=args.segment_seconds,
        )
    except KeyboardInterrupt:
        if progress is not None:
            progress.close()
        _error("interrupted; finished files are kept, no partial output is left: add --resume to go on")
        return EXIT_INTERRUPTED
    except UnseenError as error:
        if progress is not None:
            progress.close()
        _error(str(error))
        return EXIT_USAGE
    if progress is not None:
        progress.close()
    try:
        if args.report is not None:
            write_json(args.report, result)
        if args.csv is not None:
            write_csv(args.csv, result)
    except OSError as error:
        _error(f"cannot write the report: {error}")
        return max(result.exit_code, EXIT_INPUT)
    if not args.quiet:
        print(summary_table(result), file=sys.stderr, flush=True)
    else:  # errors only: one line for each file that failed or was refused
        for row in result.rows:
            if row.state in (State.FAILED, State.REFUSED):
                _error(row.error or f"{row.rel}: {row.state}")
        if result.stopped:
            _error(f"stopped: {result.stopped}")
    return result.exit_code
