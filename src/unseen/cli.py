"""The command line: the only place that prints and picks exit codes.

unseen crowd.jpg                  writes crowd.unseen.jpg beside it
unseen a.jpg b.heic -o out/       several files into a folder
unseen inspect crowd.jpg          faces and identifying metadata, nothing written
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from unseen import __version__
from unseen.cli_options import NO_VERIFY_WARNING, add_settings_arguments, settings_from
from unseen.errors import InputError, OutputError, UnseenError, VerificationFailed
from unseen.settings import Settings
from unseen.types import Report

EXIT_OK, EXIT_USAGE, EXIT_INPUT, EXIT_REFUSED = 0, 1, 2, 3


def _anonymize_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="unseen",
        description="Mask every face in photos and videos, strip identifying metadata, verify the result. "
        "Offline. Subcommands: 'unseen inspect FILE...' reports without writing.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="photos or videos")
    p.add_argument("-o", "--output", type=Path, help="output file (one input) or folder (created if needed)")
    add_settings_arguments(p)
    p.add_argument("--report", type=Path, help="write the reports as JSON to this file")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.add_argument("--version", action="version", version=f"unseen {__version__}")
    return p


def _inspect_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="unseen inspect", description="List faces and identifying metadata; write nothing."
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--threshold", type=float, default=0.2)
    p.add_argument("--report", type=Path, help="write the reports as JSON to this file")
    return p


def _say(line: str) -> None:
    print(line, flush=True)


def _error(line: str) -> None:
    print(f"unseen: {line}", file=sys.stderr, flush=True)


def summary(report: Report) -> str:
    """One line in the user's words: what was masked, removed and proved."""
    faces = report.face_count
    parts = [f"{faces} face{'s' if faces != 1 else ''} masked"]
    if report.metadata_removed:
        parts.append("removed " + ", ".join(report.metadata_removed))
    else:
        parts.append("no identifying metadata found")
    if report.check is not None and report.verdict == "verified":
        c = report.check
        parts.append(
            f"verified ({c.redetected} faces re-detected"
            + (
                f", closest embedding distance {c.min_embedding_distance:.2f}"
                if c.min_embedding_distance is not None
                else ""
            )
            + ")"
        )
    else:
        parts.append(report.verdict.upper())
    return "; ".join(parts)


class _Progress:
    """A video's progress on stderr: redrawn twice a second on a terminal, a line every 10 s
    otherwise, with the time left."""

    EVERY = 10.0  # seconds between lines when stderr is not a terminal

    def __init__(self, name: str) -> None:
        import time

        self.name, self.clock = name, time.monotonic
        self.start = self.last = self.clock()
        self.tty = sys.stderr.isatty()
        self.drawn = False

    def __call__(self, done: int, total: int | None) -> None:
        now = self.clock()
        if now - self.last < (0.5 if self.tty else self.EVERY) or done == 0:
            return
        self.last = now
        line = f"{self.name}: frame {done}" + (f"/{total}" if total else "")
        if total and done < total:
            left = (now - self.start) / done * (total - done)
            line += f", {int(left) // 60}:{int(left) % 60:02d} left"
        text, end = ("\r" + line + "\033[K", "") if self.tty else (line, "\n")
        print(text, end=end, file=sys.stderr, flush=True)
        self.drawn = True

    def close(self) -> None:
        if self.tty and self.drawn:
            print("\r\033[K", end="", file=sys.stderr, flush=True)


def _outputs(files: list[Path], output: Path | None) -> list[Path | None]:
    """Where each input goes: beside it, into a folder, or (one input) to a file."""
    if output is None:
        return [None] * len(files)
    if len(files) > 1 or output.is_dir() or str(output).endswith(("/", "\\")) or not output.suffix:
        output.mkdir(parents=True, exist_ok=True)
        return [output / "FOLDER" for _ in files]  # the pipeline picks the name inside the folder
    return [output]


def _write_reports(path: Path | None, reports: list[Report]) -> None:
    if path is not None:
        path.write_text(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")


def _run_anonymize(argv: list[str]) -> int:
    args = _anonymize_parser().parse_args(argv)
    from unseen.pipeline import anonymize_file

    settings = settings_from(args)
    if args.no_verify and not args.quiet:
        _error(NO_VERIFY_WARNING)
    try:
        targets = _outputs(args.files, args.output)
    except OSError as exc:
        _error(f"{args.output}: cannot create the output folder: {exc.strerror}")
        return EXIT_USAGE
    code = EXIT_OK
    reports: list[Report] = []
    for src, target in zip(args.files, targets, strict=True):
        folder = target.parent if target is not None and target.name == "FOLDER" else None
        dst = None if folder is not None else target
        progress = _Progress(src.name) if not args.quiet else None
        try:
            report = anonymize_file(src, dst, settings, folder=folder, progress=progress)
        except VerificationFailed as exc:
            _error(str(exc))
            if isinstance(exc.report, Report):
                reports.append(exc.report)
            code = max(code, EXIT_REFUSED)
            continue
        except (InputError, OutputError, UnseenError) as exc:
            _error(str(exc))
            reports.append(
                Report(source=str(src), output=None, width=0, height=0, verdict="refused", error=str(exc))
            )
            code = max(code, EXIT_INPUT) if code != EXIT_REFUSED else code
            continue
        finally:
            if progress is not None:
                progress.close()
        reports.append(report)
        if report.verdict != "verified" and settings.verify:
            code = max(code, EXIT_REFUSED)  # written only because of --force
        if not args.quiet:
            _say(f"{src} -> {report.output}: {summary(report)}")
    _write_reports(args.report, reports)
    return code


def _run_inspect(argv: list[str]) -> int:
    args = _inspect_parser().parse_args(argv)
    from unseen.pipeline import inspect_file

    code = EXIT_OK
    reports = []
    for src in args.files:
        try:
            report = inspect_file(src, Settings(threshold=args.threshold))
        except UnseenError as exc:
            _error(str(exc))
            code = EXIT_INPUT
            continue
        reports.append(report)
        meta = ", ".join(report.metadata_removed) or "none"
        _say(
            f"{src}: {report.face_count} face{'s' if report.face_count != 1 else ''} found; "
            f"identifying metadata: {meta}; nothing written"
        )
    _write_reports(args.report, reports)
    return code


def _run_demo(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="unseen demo",
        description="Write NASA's public-domain astronaut photo with planted GPS, serial and owner "
        "metadata, then anonymize it: a first run that needs no photo of your own.",
    )
    p.add_argument(
        "--folder", type=Path, default=Path("unseen-demo"), help="where to write (default ./unseen-demo)"
    )
    args = p.parse_args(argv)
    from unseen.demo import write_sample

    sample = write_sample(args.folder)
    _say(f"wrote {sample} (public-domain NASA photo with planted GPS, serial number, owner, capture time)")
    return _run_anonymize([str(sample)])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "inspect":
            return _run_inspect(argv[1:])
        if argv and argv[0] == "demo":
            return _run_demo(argv[1:])
        if argv and argv[0] == "review":
            from unseen.web import main as review_main

            return review_main(argv[1:])
        if argv and argv[0] == "desk":
            from unseen.web.desk_command import main as desk_main

            return desk_main(argv[1:])
        if argv and argv[0] == "batch":
            from unseen.cli_batch import main as batch_main

            return batch_main(argv[1:])
        return _run_anonymize(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2 by default; ours is 1
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    except KeyboardInterrupt:
        _error("interrupted; no partial output was left")
        return 130


if __name__ == "__main__":
    sys.exit(main())
