"""`unseen desk`: open the desk in the default browser; `--install-launcher` adds a menu entry.

The server runs until the page's Close button, Ctrl-C, SIGTERM or SIGHUP (the terminal or the
session went away); each of them removes every original and output the desk held.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import webbrowser
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from types import FrameType

from unseen.cli_options import NO_VERIFY_WARNING, add_settings_arguments, settings_from

EXIT_OK, EXIT_USAGE = 0, 1
DESKTOP_FILE = "unseen-desk.desktop"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="unseen desk",
        description="Open unseen in your browser: drop photos and videos on the page, watch them "
        "masked and verified one by one, correct them in the editor, then save them to a folder or "
        "download one zip. Everything stays on this computer: the page is served on 127.0.0.1 only, "
        "behind a one-time link, and the files you add are removed when you close the desk.",
    )
    add_settings_arguments(p, force=False)
    p.add_argument("--no-browser", action="store_true", help="print the link only; open it yourself")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    p.add_argument("--temp", type=Path, help="where to keep added files while the desk runs "
                   "(default: ~/.cache/unseen/desk; removed on close)")  # fmt: skip
    p.add_argument("--idle", type=float, default=30, metavar="MINUTES",
                   help="close after this long with no page open and nothing to do (default 30)")  # fmt: skip
    p.add_argument("--install-launcher", action="store_true",
                   help=f"add 'unseen desk' to the applications menu ({DESKTOP_FILE}) and exit")  # fmt: skip
    return p


def launcher_command() -> list[str]:
    """How a menu entry starts the desk: this installation's `unseen` script, else this Python."""
    script = Path(sys.executable).with_name("unseen")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script), "desk"]
    return [sys.executable, "-m", "unseen.web.desk_command"]


def desktop_entry(command: list[str], icon: str) -> str:
    """A freedesktop.org .desktop file that runs `command` with no terminal."""

    def quoted(arg: str) -> str:
        if not any(c in arg for c in " \t\"'\\><~|&;$*?#()`"):
            return arg
        escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("`", "\\`").replace("$", "\\$")
        return f'"{escaped}"'

    exec_line = " ".join(quoted(arg).replace("%", "%%") for arg in command)
    return (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.0\n"
        "Name=unseen desk\n"
        "GenericName=Face masking\n"
        "Comment=Mask faces in photos and videos, offline\n"
        "Comment[ru]=Скрыть лица на фото и видео, без интернета\n"
        "Comment[uk]=Приховати обличчя на фото й відео, без інтернету\n"
        "Comment[be]=Схаваць твары на фота і відэа, без інтэрнэту\n"
        f"Exec={exec_line}\n"
        f"Icon={icon}\n"
        "Terminal=false\n"
        "Categories=Graphics;Photography;\n"
    )


def install_launcher(data: Path | None = None) -> Path:
    """Write DATA/applications/unseen-desk.desktop (DATA: $XDG_DATA_HOME or ~/.local/share)."""
    data = data or Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    folder = data / "applications"
    folder.mkdir(parents=True, exist_ok=True)
    icon = str(resources.files("unseen.web").joinpath("static", "icon.svg"))
    path = folder / DESKTOP_FILE
    path.write_text(desktop_entry(launcher_command(), icon), encoding="utf-8")
    path.chmod(0o755)  # some desktops only trust executable launchers
    return path


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds serve_forever into the cleanup below


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the desk until it is closed; returns an exit code."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    if args.install_launcher:
        path = install_launcher()
        print(f"added {path}: 'unseen desk' is in your applications menu", flush=True)
        return EXIT_OK
    from unseen.web.desk import DeskServer
    from unseen.web.desk_files import DeskSpace

    try:
        space = DeskSpace(args.temp)
    except OSError as error:
        print(f"unseen desk: {args.temp or 'the cache folder'}: cannot keep files there ({error.strerror})",
              file=sys.stderr)  # fmt: skip
        return EXIT_USAGE
    try:
        server = DeskServer(space, settings_from(args), port=args.port)
    except (OSError, ValueError) as error:
        space.close()
        print(f"unseen desk: {error}", file=sys.stderr)
        return EXIT_USAGE
    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        if args.no_verify:
            print(f"unseen desk: {NO_VERIFY_WARNING}", file=sys.stderr)
        print(f"the desk is open at this link (on this computer only, until you close it):\n  {server.url}",
              flush=True)  # fmt: skip
        if not args.no_browser:
            with contextlib.suppress(webbrowser.Error):  # no browser here: the printed link is enough
                webbrowser.open(server.url)
        server.close_when_idle(args.idle * 60)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        for sig in (*previous, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        server.server_close()
        server.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    print("closed; the files you added were removed from this computer", flush=True)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
