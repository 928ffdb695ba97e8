"""The command line: the only place that prints and picks exit codes.

unseen crowd.jpg                  writes crowd.unseen.jpg beside it
unseen a.jpg b.heic -o out/       several files into a folder
unseen inspect crowd.jpg          faces and identifying metadata, nothing written
unseen batch SRC -o OUT/          a folder tree; see COMMANDS for the rest
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from unseen import __version__
from unseen.cli_options import NO_VERIFY_WARNING, add_settings_arguments, settings_from
from unseen.errors import InputError, OutputError, UnseenError, VerificationFailed
from unseen.names import candidate_names, carries_trace
from unseen.settings import Settings
from unseen.summary import summary
from unseen.types import Report, Verdict

EXIT_OK, EXIT_USAGE, EXIT_INPUT, EXIT_REFUSED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # Ctrl-C, as shells report a process ended by SIGINT


# Every subcommand, with how it is called and what it does: `unseen --help` lists them all.
COMMANDS: dict[str, tuple[str, str]] = {
    "desk": ("unseen desk", "the desk: add, watch, review and export in your browser, no terminal"),
    "inspect": ("unseen inspect FILE...", "list faces and identifying metadata; write nothing"),
    "batch": ("unseen batch SRC -o OUT/", "a whole folder tree, in parallel, resumable"),
    "review": ("unseen review FOLDER", "check and correct the masks in your browser, then export"),
    "demo": ("unseen demo", "a first run on a public-domain photo with planted metadata"),
}


def _commands_help() -> str:
    rows = [("unseen FILE... [-o OUT]", "mask the faces in photos and videos (the options below)")]
    rows += list(COMMANDS.values())
    width = max(len(usage) for usage, _ in rows) + 2
    lines = [f"  {usage:<{width}}{what}" for usage, what in rows]
    return "commands:\n" + "\n".join(lines) + "\n\nEach command has its own --help."


def _anonymize_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="unseen",
        description="Mask every face in photos and videos, strip identifying metadata, verify the "
        "result. Offline.",
        epilog=_commands_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE", help="photos or videos")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="output file (one input; its extension picks the format) or folder (a name ending in / "
        "or without an extension; created if needed)",
    )
    add_settings_arguments(p)
    p.add_argument("--overwrite", action="store_true", help="replace outputs an earlier run wrote")
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


class UsageError(Exception):
    """A command line that cannot be run as given: exit 1, nothing done."""


def _into_folder(files: list[Path], output: Path) -> bool:
    """-o names a folder: an existing one, a name ending in /, or a name without an extension."""
    return output.is_dir() or str(output).endswith(("/", "\\")) or not output.suffix


def _outputs(
    files: list[Path], output: Path | None, settings: Settings, overwrite: bool
) -> list[Path | None]:
    """Where each input goes: beside it, into a folder, or (one input) to a file.

    Names come from unseen.names (a name that shows a time becomes photo, photo-2, ... in the order
    given). None for an input that is not media: the pipeline says why. UsageError for a command
    that cannot work: a folder as input, -o FILE with several inputs or in a missing folder, an
    earlier output in the way without --overwrite.
    """
    from unseen.media.registry import identify, output_type

    for src in files:
        if src.is_dir():
            raise UsageError(
                f"{src}: is a folder; to mask every photo and video in it: unseen batch {src} -o OUT/"
            )
    if output is not None and not _into_folder(files, output):
        if len(files) > 1:
            raise UsageError(
                f"-o {output}: names one file but {len(files)} inputs were given; "
                f"give a folder: -o {output.stem}/"
            )
        if not output.parent.is_dir():
            raise UsageError(
                f"-o {output}: the folder {output.parent} does not exist; create it, or give -o a "
                "folder ending in / (that one is created)"
            )
        try:
            output_type(output, identify(files[0]))
        except OutputError as exc:  # a photo to .mp4, a video to .jpg, an unknown extension
            raise UsageError(str(exc)) from exc
        except UnseenError:
            pass  # the input itself is unusable: the pipeline says why
        targets: list[Path | None] = [output]
    else:
        targets, taken = [], set()
        for src in files:
            try:
                media = identify(src)
            except UnseenError:
                targets.append(None)
                continue
            folder = output if output is not None else src.parent
            for name in candidate_names(src.name, media.kind.value, media.suffix, settings.names):
                key = (str(folder.absolute()), name.casefold())
                if key not in taken:
                    break
            taken.add(key)
            targets.append(folder / name)
    if not overwrite:
        for src, target in zip(files, targets, strict=True):
            if target is not None and target.exists() and not (src.exists() and target.samefile(src)):
                raise UsageError(
                    f"{target}: already exists (an earlier run's output?); add --overwrite to replace "
                    "it, or -o to write elsewhere"
                )
    if output is not None and _into_folder(files, output):
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{output}: cannot create the output folder: {exc.strerror}") from exc
    return targets


def _write_reports(path: Path | None, reports: list[Report]) -> None:
    if path is not None:
        path.write_text(json.dumps([r.to_dict() for r in reports], indent=2) + "\n")


def _run_anonymize(argv: list[str]) -> int:
    args = _anonymize_parser().parse_args(argv)
    from unseen.pipeline import anonymize_file

    settings = settings_from(args)
    if args.no_verify and not args.quiet:
        _error(NO_VERIFY_WARNING)
    from unseen.text.model import text_available

    if settings.text.value != "off" and not text_available():
        _error(
            f"--text {settings.text.value} needs the text detector: pip install 'unseen[text]' "
            "(or --text off to leave text unmasked)"
        )
        return EXIT_USAGE
    try:
        targets = _outputs(args.files, args.output, settings, args.overwrite)
    except UsageError as exc:
        _error(str(exc))
        return EXIT_USAGE
    code = EXIT_OK
    reports: list[Report] = []
    for src, dst in zip(args.files, targets, strict=True):
        progress = _Progress(src.name) if not args.quiet else None
        try:
            report = anonymize_file(src, dst, settings, progress=progress)
        except VerificationFailed as exc:
            _error(str(exc))
            if isinstance(exc.report, Report):
                reports.append(exc.report)
            code = max(code, EXIT_REFUSED)
            continue
        except (InputError, OutputError, UnseenError) as exc:
            _error(str(exc))
            reports.append(
                Report(
                    source=str(src), output=None, width=0, height=0, verdict=Verdict.REFUSED, error=str(exc)
                )
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
        name = (
            "; the file name shows when or with which camera it was taken" if carries_trace(src.stem) else ""
        )
        from unseen.text.protect import inspect_summary

        _say(
            f"{src}: {report.face_count} face{'s' if report.face_count != 1 else ''} found"
            f"{inspect_summary(report.text)}; "
            f"identifying metadata: {meta}{name}; nothing written"
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
    return _run_anonymize(
        [str(sample), "--overwrite", "--text", "people"]
    )  # the name patch names her too; a second demo redoes the first


def _run_review(argv: list[str]) -> int:
    from unseen.web import main as review_main

    return review_main(argv)


def _run_desk(argv: list[str]) -> int:
    from unseen.web.desk_command import main as desk_main

    return desk_main(argv)


def _run_batch(argv: list[str]) -> int:
    from unseen.cli_batch import main as batch_main

    return batch_main(argv)


_RUNNERS: dict[str, Callable[[list[str]], int]] = {
    "inspect": _run_inspect,
    "demo": _run_demo,
    "review": _run_review,
    "batch": _run_batch,
    "desk": _run_desk,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in _RUNNERS:
            return _RUNNERS[argv[0]](argv[1:])
        return _run_anonymize(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2 by default; ours is 1
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    except KeyboardInterrupt:
        _error("interrupted; no partial output was left")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
