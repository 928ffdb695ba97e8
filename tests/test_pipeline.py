"""The photo pipeline with a fake detector: where outputs go, what is never touched, what is refused."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import unseen
from unseen.detect import FakeDetector
from unseen.errors import OutputError, UnreadableInput
from unseen.settings import Settings

FACE = (60, 40, 120, 110)
FAST = Settings(verify=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    path = tmp_path / "in" / "photo.jpg"
    path.parent.mkdir()
    Image.fromarray(rng.integers(0, 256, size=(160, 200, 3), dtype=np.uint8)).save(path)
    return path


def test_anonymize_array_masks_the_face() -> None:
    image = np.full((160, 200, 3), 200, np.uint8)
    masked, report = unseen.anonymize(image, FAST, detector=FakeDetector([FACE]))
    x1, y1, x2, y2 = FACE
    assert (masked[y1:y2, x1:x2] == 0).all()
    assert (image == 200).all(), "the input array is not changed"
    assert report.face_count == 1 and report.faces[0].mask_box is not None
    assert report.verdict == "unverified"


def test_writes_beside_the_input_and_never_touches_it(photo: Path) -> None:
    before = digest(photo)
    report = unseen.anonymize_file(photo, settings=FAST, detector=FakeDetector([FACE]))
    out = photo.with_name("photo.unseen.jpg")
    assert report.output == str(out) and out.is_file()
    assert digest(photo) == before
    x1, y1, x2, y2 = FACE
    pixels = np.asarray(Image.open(out))
    assert pixels[y1 + 10 : y2 - 10, x1 + 10 : x2 - 10].max() < 40  # black, give or take JPEG


def test_into_a_folder(photo: Path, tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    report = unseen.anonymize_file(photo, settings=FAST, folder=folder, detector=FakeDetector([]))
    assert Path(report.output) == folder / "photo.unseen.jpg"


def test_refuses_to_overwrite_the_input(photo: Path) -> None:
    before = digest(photo)
    with pytest.raises(OutputError, match="input"):
        unseen.anonymize_file(photo, photo, FAST, detector=FakeDetector([FACE]))
    with pytest.raises(OutputError, match="input"):
        unseen.anonymize_file(photo, photo.parent / "." / photo.name, FAST, detector=FakeDetector([FACE]))
    assert digest(photo) == before


def test_missing_output_folder(photo: Path, tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="does not exist"):
        unseen.anonymize_file(photo, tmp_path / "nope" / "x.jpg", FAST, detector=FakeDetector([]))


def test_missing_input(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput, match="no such file"):
        unseen.anonymize_file(tmp_path / "ghost.jpg", settings=FAST)


def test_a_failing_write_leaves_nothing(photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import unseen.media.image as image_io

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(image_io, "save_image", broken)
    with pytest.raises(OSError):
        unseen.anonymize_file(photo, settings=FAST, detector=FakeDetector([FACE]))
    assert sorted(p.name for p in photo.parent.iterdir()) == ["photo.jpg"]


def test_inspect_writes_nothing(photo: Path) -> None:
    report = unseen.inspect_file(photo, detector=FakeDetector([FACE]))
    assert report.face_count == 1 and report.output is None
    assert sorted(p.name for p in photo.parent.iterdir()) == ["photo.jpg"]


def test_metadata_left_in_the_output_refuses_it(photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read-back runs on the finished temp file; if it finds anything, nothing appears."""
    import unseen.media.image as image_io
    from unseen.errors import VerificationFailed

    monkeypatch.setattr(image_io, "read_back", lambda path: ["GPS"])
    with pytest.raises(VerificationFailed, match="GPS"):
        unseen.anonymize_file(photo, settings=FAST, detector=FakeDetector([FACE]))
    assert sorted(p.name for p in photo.parent.iterdir()) == ["photo.jpg"]


def test_stale_temp_files_of_dead_processes_are_removed(photo: Path) -> None:
    import os
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    from unseen.tempfiles import HOST

    stale = photo.parent / f".unseen-tmp-{HOST}-{child.pid}-abc.jpg"
    alive = photo.parent / f".unseen-tmp-{HOST}-{os.getppid()}-def.jpg"
    elsewhere = photo.parent / f".unseen-tmp-0badc0de-{child.pid}-ghi.jpg"  # another node's
    for path in (stale, alive, elsewhere):
        path.write_bytes(b"work in progress")
    unseen.anonymize_file(photo, settings=FAST, detector=FakeDetector([]))
    assert not stale.exists()
    assert alive.exists() and elsewhere.exists()
