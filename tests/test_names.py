"""Output names never carry the capture time or a camera counter, unless --names keep."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unseen.batch import run_batch
from unseen.cli import main
from unseen.detect import FakeDetector
from unseen.names import NamePolicy, candidate_names, carries_trace, public_folders, public_stem
from unseen.settings import Settings

TELLING = [
    "PXL_20240501_142233123.JPG",
    "PXL_20240501_142233123.MP.jpg",
    "IMG_20240501_142233.jpg",
    "IMG_20240501_142233_HDR.jpg",
    "WhatsApp Image 2024-05-01 at 14.22.33.jpeg",
    "WhatsApp Image 2024-05-01 at 14.22.33 (1).jpeg",
    "Screenshot_20240501-142233.png",
    "Screenshot 2024-05-01 at 14.22.33.png",
    "Screen Shot 2024-05-01 at 2.22.33 PM.png",
    "signal-2024-05-01-142233.jpg",
    "IMG_1234.JPG",
    "IMG_1234.HEIC",
    "DSC01234.JPG",
    "DSCF1234.JPG",
    "_DSC1234.NEF.jpg",
    "P1010001.JPG",
    "20240501_142233.jpg",
    "2024-05-01 14.22.33.jpg",
    "march 1.5.2024.jpg",
    "protest 14h22.jpg",
    "VID_20240501_142233.mp4",
    "MVI_1234.MOV",
    "GOPR0123.MP4",
    "GX010123.MP4",
    "DJI_0001.MP4",
]
PLAIN = ["crowd.jpg", "march.jpg", "team 7.jpg", "front line.heic", "speaker-2.mp4", "a.b.png"]


@pytest.mark.parametrize("name", TELLING)
def test_names_that_tell_get_a_neutral_stem(name: str) -> None:
    kind = "video" if name.lower().endswith((".mp4", ".mov")) else "image"
    assert public_stem(name, kind) == ("video" if kind == "video" else "photo")
    assert public_stem(name, kind, NamePolicy.KEEP) == name.rsplit(".", 1)[0]


@pytest.mark.parametrize("name", PLAIN)
def test_other_names_are_kept(name: str) -> None:
    assert public_stem(name) == name.rsplit(".", 1)[0]
    assert not carries_trace(name.rsplit(".", 1)[0])


def test_clashes_are_numbered_never_named_after_the_original() -> None:
    names = list(itertools.islice(candidate_names("IMG_1234.JPG", "image", ".jpg"), 3))
    assert names == ["photo.unseen.jpg", "photo-2.unseen.jpg", "photo-3.unseen.jpg"]
    kept = list(itertools.islice(candidate_names("a.jpeg", "image", ".jpg"), 2))
    assert kept == ["a.unseen.jpg", "a.jpeg.unseen.jpg"]  # as before for names that tell nothing


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((64, 80, 3), 120, np.uint8)).save(path)
    return path


FAST = ["--no-verify", "-q"]


def test_cli_gives_neutral_names_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("unseen.pipeline.default_detector", lambda settings: FakeDetector([]))
    a = photo(tmp_path / "in" / "PXL_20240501_142233123.jpg")
    b = photo(tmp_path / "in" / "PXL_20240501_142301456.jpg")
    c = photo(tmp_path / "in" / "crowd.png")
    assert main([str(a), str(b), str(c), "-o", str(tmp_path / "out"), *FAST]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "crowd.unseen.png",
        "photo-2.unseen.jpg",
        "photo.unseen.jpg",
    ]
    assert main([str(a), *FAST]) == 0  # beside it
    assert (a.parent / "photo.unseen.jpg").is_file()


def test_result_line_says_when_a_kept_name_still_tells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("unseen.pipeline.default_detector", lambda settings: FakeDetector([]))
    src = photo(tmp_path / "IMG_20240501_142233.jpg")
    assert main([str(src), "--no-verify"]) == 0
    neutral = capsys.readouterr().out
    assert "photo.unseen.jpg" in neutral and "file name" not in neutral
    assert main([str(src), "--no-verify", "--names", "keep"]) == 0
    kept = capsys.readouterr().out
    assert "IMG_20240501_142233.unseen.jpg" in kept
    assert "the file name still shows when or with which camera it was taken" in kept


def test_inspect_says_the_name_tells(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("unseen.pipeline.default_detector", lambda settings: FakeDetector([]))
    assert main(["inspect", str(photo(tmp_path / "DSC01234.png")), str(photo(tmp_path / "crowd.png"))]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "file name shows" in lines[0] and "file name" not in lines[1]


def test_batch_names_are_neutral_and_stable_on_resume(tmp_path: Path) -> None:
    src = tmp_path / "incoming"
    photo(src / "PXL_20240501_142233123.jpg")
    photo(src / "day" / "IMG_1234.jpg")
    photo(src / "day" / "IMG_1235.jpg")
    photo(src / "crowd.png")
    out = tmp_path / "published"
    fast = Settings(verify=False)
    run_batch(src, out, fast, workers=1, detector=FakeDetector([]))
    first = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.unseen.*"))
    assert first == ["crowd.unseen.png", "day/photo-2.unseen.jpg", "day/photo.unseen.jpg", "photo.unseen.jpg"]
    photo(src / "day" / "IMG_0999.jpg")  # added later: sorts first, but earlier outputs keep their names
    run_batch(src, out, fast, resume=True, workers=1, detector=FakeDetector([]))
    again = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.unseen.*"))
    assert set(first) < set(again) and "day/photo-3.unseen.jpg" in again


def test_folders_that_tell_get_a_neutral_name() -> None:
    folders = ["2024-05-01", "2024-05-02/speeches", "DCIM/100APPLE", "DCIM/101APPLE", "march", "Folder"]
    assert public_folders(folders) == {
        "": "",
        "2024-05-01": "folder-2",  # "Folder" is kept, and a case-blind file system must not merge them
        "2024-05-02": "folder-3",
        "2024-05-02/speeches": "folder-3/speeches",
        "DCIM": "folder-4",
        "DCIM/100APPLE": "folder-4/folder",
        "DCIM/101APPLE": "folder-4/folder-2",
        "march": "march",
        "Folder": "Folder",
    }
    assert public_folders(folders, NamePolicy.KEEP)["DCIM/100APPLE"] == "DCIM/100APPLE"


def test_batch_folders_tell_nothing_and_keep_their_names_on_resume(tmp_path: Path) -> None:
    src = tmp_path / "card"
    photo(src / "DCIM" / "100APPLE" / "crowd.jpg")
    photo(src / "2024-05-01" / "march.png")
    photo(src / "speeches" / "stage.png")
    out = tmp_path / "published"
    assert main(["batch", str(src), "-o", str(out), "--workers", "1", *FAST]) == 0
    first = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert first == [
        "folder-2/folder/crowd.unseen.jpg",
        "folder/march.unseen.png",
        "speeches/stage.unseen.png",
    ]
    assert not any(part in {"DCIM", "100APPLE", "2024-05-01"} for p in out.rglob("*") for part in p.parts)
    assert main(["batch", str(src), "-o", str(out), "--resume", "--workers", "1", *FAST]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == first


def test_a_rerun_with_neutral_names_leaves_no_telling_folder(tmp_path: Path) -> None:
    src, out = tmp_path / "card", tmp_path / "published"
    photo(src / "2024-05-01" / "march.png")
    assert main(["batch", str(src), "-o", str(out), "--names", "keep", "--workers", "1", *FAST]) == 0
    assert (out / "2024-05-01" / "march.unseen.png").is_file()
    assert main(["batch", str(src), "-o", str(out), "--resume", "--workers", "1", *FAST]) == 0
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "folder",
        "folder/march.unseen.png",
    ]


def test_batch_names_keep(tmp_path: Path) -> None:
    src = tmp_path / "incoming"
    photo(src / "IMG_1234.jpg")
    out = tmp_path / "published"
    assert main(["batch", str(src), "-o", str(out), "--names", "keep", "--workers", "1", *FAST]) == 0
    assert [p.name for p in out.rglob("*.unseen.*")] == ["IMG_1234.unseen.jpg"]


def test_the_api_default_name_never_replaces_a_file(tmp_path: Path) -> None:
    """Several phone photos all become 'photo': without a dst, each gets the next free name."""
    import unseen

    fast = Settings(verify=False)
    first = unseen.anonymize_file(photo(tmp_path / "PXL_20240501_142233123.jpg"), settings=fast,
                                  detector=FakeDetector([]))  # fmt: skip
    second = unseen.anonymize_file(photo(tmp_path / "PXL_20240501_150000000.jpg"), settings=fast,
                                   detector=FakeDetector([]))  # fmt: skip
    assert Path(first.output or "").name == "photo.unseen.jpg"
    assert Path(second.output or "").name == "photo-2.unseen.jpg"


def test_review_of_a_card_mirrors_no_telling_folder(tmp_path: Path) -> None:
    from unseen.web.catalog import Catalog

    src = tmp_path / "card"
    photo(src / "DCIM" / "100APPLE" / "IMG_1234.jpg")
    photo(src / "speeches" / "stage.png")
    catalog = Catalog(src, tmp_path / "out", Settings(verify=False), detector=FakeDetector([]))
    outputs = sorted(item.output.relative_to(tmp_path / "out").as_posix() for item in catalog.items)
    assert outputs == ["folder/folder/photo.unseen.jpg", "speeches/stage.unseen.png"]
