"""`unseen desk --install-launcher` on each system: the file it writes, and on Linux a real run of it.

Each launcher runs this installation's `unseen desk` by its absolute path. The .desktop entry's
command line and the macOS app's script are run here for real (the script is POSIX sh), with
`--no-browser --idle` so the desk starts, prints its link, finds no page and closes itself.
"""

from __future__ import annotations

import os
import plistlib
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from unseen.web import desk_command
from unseen.web.desk_command import install_launcher, launcher_command, main, windows_batch

ROOT = Path(__file__).resolve().parents[1]
DRY_RUN = ["--no-browser", "--idle", "0.02"]  # about a second with no page: the desk closes itself


def run_for_real(command: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Start the desk as the launcher would, with this tree first on the path, until it closes itself."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HOME": str(tmp_path)}
    temp = tmp_path / "desk-temp"
    done = subprocess.run(
        [*command, *DRY_RUN, "--temp", str(temp)], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr
    assert "http://127.0.0.1:" in done.stdout and "token=" in done.stdout, done.stdout
    assert "closed; the files you added were removed" in done.stdout
    assert not temp.exists() or not any(temp.iterdir()), "nothing left behind"
    return done


def desktop_exec(text: str) -> list[str]:
    """The Exec= line of a .desktop file as an argument list (its quoting is shell-like; %% is %)."""
    line = next(line for line in text.splitlines() if line.startswith("Exec="))
    return [arg.replace("%%", "%") for arg in shlex.split(line[len("Exec=") :])]


def test_linux_writes_a_menu_entry_whose_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    path = install_launcher(home=tmp_path)
    assert path == tmp_path / ".local" / "share" / "applications" / "unseen-desk.desktop"
    command = desktop_exec(path.read_text())
    assert command == launcher_command()
    assert Path(command[0]).is_absolute() and Path(command[0]).exists()
    run_for_real(command, tmp_path)


def test_macos_writes_an_app_whose_script_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    app = install_launcher(home=tmp_path)
    assert app == tmp_path / "Applications" / "unseen desk.app"
    info = plistlib.loads((app / "Contents" / "Info.plist").read_bytes())
    assert info["CFBundlePackageType"] == "APPL" and info["CFBundleName"] == "unseen desk"
    program = app / "Contents" / "MacOS" / info["CFBundleExecutable"]
    assert os.access(program, os.X_OK)
    script = program.read_text()
    assert script.startswith("#!/bin/sh\n")
    assert f'exec {shlex.join(launcher_command())} "$@"' in script
    run_for_real([str(program)], tmp_path)  # the same script, run by this system's sh


def test_windows_writes_a_start_menu_batch_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a Windows install: python.exe, and the entry point in Scripts\ below it
    python = tmp_path / "Program Files" / "Python 3.12" / "python.exe"
    script = python.parent / "Scripts" / "unseen.exe"
    script.parent.mkdir(parents=True)
    python.write_bytes(b"MZ")
    script.write_bytes(b"MZ")
    script.chmod(0o755)
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "executable", str(python))
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData" / "Roaming"))
    path = install_launcher(home=tmp_path)
    assert (
        path
        == tmp_path
        / "AppData"
        / "Roaming"
        / "Microsoft"
        / "Windows"
        / "Start Menu"
        / "Programs"
        / "unseen desk.bat"
    )
    text = path.read_bytes().decode("utf-8")
    lines = text.split("\r\n")
    assert lines[0] == "@echo off" and text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert lines[3] == f'"{script}" "desk" %*', lines


def test_windows_without_the_script_runs_the_interpreter_and_quotes_what_cmd_reads() -> None:
    text = windows_batch([r"C:\Users\Ана 100%\python.exe", "-m", "unseen.web.desk_command"])
    assert r'"C:\Users\Ана 100%%\python.exe" "-m" "unseen.web.desk_command" %*' in text


def test_the_launcher_falls_back_to_this_interpreter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    python = tmp_path / "bin" / "python3"
    python.parent.mkdir()
    python.write_text("")
    monkeypatch.setattr(sys, "executable", str(python))
    assert launcher_command() == [str(python), "-m", "unseen.web.desk_command"]


WHERE = [("linux", "applications menu"), ("darwin", "in Applications"), ("win32", "in the Start Menu")]


@pytest.mark.parametrize(("platform", "where"), WHERE)
def test_the_command_says_where_the_launcher_went(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    platform: str,
    where: str,
) -> None:
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(desk_command.Path, "home", classmethod(lambda cls: tmp_path))
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    assert main(["--install-launcher"]) == 0
    said = capsys.readouterr().out
    assert where in said and str(tmp_path) in said
