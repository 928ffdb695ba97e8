"""`unseen desk`: open the desk in the default browser; `--install-launcher` adds a launcher.

The launcher suits the system: a menu entry on Linux (freedesktop .desktop), an app in
~/Applications on macOS (a bundle whose program is a shell script), a .bat in the Start Menu on
Windows. Each runs this installation's `unseen desk` by its absolute path.

The server runs until the page's Close button, Ctrl-C, SIGTERM or SIGHUP (the terminal or the
session went away); each of them removes every original and output the desk held.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
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
MAC_APP = "unseen desk.app"
WINDOWS_FILE = "unseen desk.bat"


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
                   help="add an 'unseen desk' launcher and exit: the applications menu on Linux, "
                   "~/Applications on macOS, the Start Menu on Windows")  # fmt: skip
    return p


def launcher_command() -> list[str]:
    """How a launcher starts the desk: this installation's `unseen` script, else this Python."""
    python = Path(sys.executable).absolute()
    # beside the interpreter in a venv or on Unix; in Scripts\ below it in a Windows install
    for script in (
        python.with_name("unseen"),
        python.with_name("unseen.exe"),
        python.parent / "Scripts" / "unseen.exe",
    ):
        if script.is_file() and os.access(script, os.X_OK):
            return [str(script), "desk"]
    return [str(python), "-m", "unseen.web.desk_command"]


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


def mac_script(command: list[str]) -> str:
    """The program of the macOS app: a shell script that runs `command` (and any arguments given)."""
    return (
        "#!/bin/sh\n"
        "# unseen desk: opens the desk in the default browser; closing the desk's page ends it\n"
        f'exec {shlex.join(command)} "$@"\n'
    )


def mac_info_plist() -> str:
    """The app bundle's Info.plist: a name, a program, nothing else the system needs."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        '<plist version="1.0">\n<dict>\n'
        "  <key>CFBundleName</key><string>unseen desk</string>\n"
        "  <key>CFBundleDisplayName</key><string>unseen desk</string>\n"
        "  <key>CFBundleIdentifier</key><string>org.unseen.desk</string>\n"
        "  <key>CFBundleExecutable</key><string>unseen-desk</string>\n"
        "  <key>CFBundlePackageType</key><string>APPL</string>\n"
        "  <key>CFBundleVersion</key><string>1</string>\n"
        "  <key>LSUIElement</key><true/>\n"
        "</dict>\n</plist>\n"
    )


def windows_batch(command: list[str]) -> str:
    """A .bat that runs `command`; its window shows the desk's link, and closing it ends the desk."""

    def quoted(arg: str) -> str:
        return '"' + arg.replace('"', '""').replace("%", "%%") + '"'

    return (
        "@echo off\r\n"
        "chcp 65001 >nul\r\n"  # the paths below are UTF-8: a user name may not be ASCII
        "rem unseen desk: opens the desk in the default browser; closing this window ends it\r\n"
        f"{' '.join(quoted(arg) for arg in command)} %*\r\n"
    )


def install_launcher(data: Path | None = None, platform: str | None = None, home: Path | None = None) -> Path:
    """Write the launcher this system uses and return its path (the .desktop file, the .app, the .bat).

    Linux and other Unix: DATA/applications/unseen-desk.desktop (DATA: $XDG_DATA_HOME or
    ~/.local/share). macOS: ~/Applications/unseen desk.app. Windows: the Start Menu's Programs
    folder (%APPDATA%\\Microsoft\\Windows\\Start Menu\\Programs).
    """
    platform = platform or sys.platform
    home = home or Path.home()
    if platform == "darwin":
        return _install_mac(home / "Applications")
    if platform == "win32":
        appdata = Path(os.environ.get("APPDATA") or home / "AppData" / "Roaming")
        return _install_windows(appdata / "Microsoft" / "Windows" / "Start Menu" / "Programs")
    data = data or Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    folder = data / "applications"
    folder.mkdir(parents=True, exist_ok=True)
    icon = str(resources.files("unseen.web").joinpath("static", "icon.svg"))
    path = folder / DESKTOP_FILE
    path.write_text(desktop_entry(launcher_command(), icon), encoding="utf-8")
    path.chmod(0o755)  # some desktops only trust executable launchers
    return path


def _install_mac(folder: Path) -> Path:
    app = folder / MAC_APP
    program = app / "Contents" / "MacOS" / "unseen-desk"
    program.parent.mkdir(parents=True, exist_ok=True)
    (app / "Contents" / "Info.plist").write_text(mac_info_plist(), encoding="utf-8")
    program.write_text(mac_script(launcher_command()), encoding="utf-8")
    program.chmod(0o755)
    return app


def _install_windows(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / WINDOWS_FILE
    path.write_bytes(windows_batch(launcher_command()).encode("utf-8"))
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
        where = {"darwin": "in Applications", "win32": "in the Start Menu"}.get(
            sys.platform, "in your applications menu"
        )
        print(f"added {path}: 'unseen desk' is {where}", flush=True)
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
