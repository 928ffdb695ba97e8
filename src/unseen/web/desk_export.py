"""Saving the desk's outputs: into a folder the person types, or as one zip streamed to the browser.

Only outputs leave: no sidecar, report, original or temp file. Nothing already in the chosen
folder is overwritten (a second save is `name (2).ext`), each copy appears whole or not at all,
and the zip holds no dates (a download should not say when the work was done).
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

from unseen.tempfiles import temp_path
from unseen.web.desk_files import DeskSpace

CHUNK = 1024 * 1024


class FolderRefused(ValueError):
    """A folder the desk will not save into; `code` names the reason for the page's words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def suggested_folder() -> str:
    """Where saving goes unless the person types another place: a new folder on the desktop."""
    home = Path.home()
    desktop = home / "Desktop"
    return str((desktop if desktop.is_dir() else home) / "unseen")


def choose_folder(raw: object, space: DeskSpace) -> Path:
    """The folder typed in the page, checked and made if only its last part is missing."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 4096 or "\x00" in raw:
        raise FolderRefused("folder_empty", "give a folder")
    folder = Path(raw.strip()).expanduser()
    if not folder.is_absolute():
        raise FolderRefused("folder_relative", f"{raw}: give the whole path")
    if space.holds(folder):
        raise FolderRefused("folder_private", f"{raw}: the desk's own folder")
    if folder.exists() and not folder.is_dir():
        raise FolderRefused("folder_file", f"{raw}: is a file")
    if not folder.exists():
        if not folder.parent.is_dir():
            raise FolderRefused("folder_missing", f"{folder.parent}: no such folder")
        try:
            folder.mkdir()
        except OSError as error:
            raise FolderRefused("folder_unwritable", f"{raw}: {error.strerror}") from error
    if not os.access(folder, os.W_OK | os.X_OK):
        raise FolderRefused("folder_unwritable", f"{raw}: cannot write here")
    return folder


def free_name(folder: str, name: str, taken: set[str]) -> str:
    """`folder/name`, or `folder/stem (2).ext` when two files would share it."""
    stem, dot, ext = name.rpartition(".")
    stem, ext = (stem, dot + ext) if stem else (name, "")
    number = 1
    while True:
        candidate = f"{stem}{f' ({number})' if number > 1 else ''}{ext}"
        path = f"{folder}/{candidate}" if folder else candidate
        if path.lower() not in taken:
            taken.add(path.lower())
            return path
        number += 1


def copy_into(output: Path, folder: Path, name: str) -> str:
    """Copy `output` to folder/name (a free name found on disk too), whole or not at all."""
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    number = 1
    while target.exists():
        number += 1
        target = folder / Path(name).parent / f"{Path(name).stem} ({number}){Path(name).suffix}"
    tmp = temp_path(target.parent, target.suffix)
    try:
        shutil.copyfile(output, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target.relative_to(folder).as_posix()


def write_zip(stream: io.BufferedIOBase, files: list[tuple[Path, str]]) -> None:
    """Write a zip of `files` (path, name inside) to a stream that cannot seek, chunk by chunk."""
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
        for path, name in files:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # no times in the archive
            size = path.stat().st_size
            with path.open("rb") as src, archive.open(info, "w", force_zip64=size > 2**31) as dst:
                shutil.copyfileobj(src, dst, CHUNK)
