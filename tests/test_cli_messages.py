"""What the command line says and exits with, in the user's words and as the README promises."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unseen import cli
from unseen.cli import COMMANDS, main, summary
from unseen.detect import FakeDetector
from unseen.names import NamePolicy
from unseen.settings import AudioPolicy
from unseen.types import Check, FaceRecord, MaskShape, MaskStyle, Report

README = Path(__file__).resolve().parents[1] / "README.md"
FAST = ["--no-verify", "-q"]


@pytest.fixture
def no_faces(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("unseen.pipeline.default_detector", lambda settings: FakeDetector([]))


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((64, 80, 3), 120, np.uint8)).save(path)
    return path


def test_help_names_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    assert {"inspect", "batch", "review", "demo"} <= set(COMMANDS)
    assert all(f"unseen {name}" in text for name in COMMANDS)


def test_a_folder_as_input_points_to_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "shots"
    photo(folder / "a.png")
    assert main([f"{folder}/"]) == 1
    err = capsys.readouterr().err.strip()
    assert "is a folder" in err and f"unseen batch {folder} -o OUT/" in err and "\n" not in err


CHOICES = [
    ("--mask", MaskStyle),
    ("--shape", MaskShape),
    ("--audio", AudioPolicy),
    ("--names", NamePolicy),
]


@pytest.mark.parametrize(("option", "kind"), CHOICES, ids=[c[0] for c in CHOICES])
def test_a_bad_choice_lists_the_valid_ones_in_the_users_words(
    option: str, kind: type, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path / "a.jpg"), option, "sparkles"]) == 1
    err = capsys.readouterr().err
    assert all(member.value in err for member in kind)
    assert kind.__name__ not in err and "invalid" not in err


def test_the_readme_example_line_is_what_is_printed() -> None:
    example = re.search(r"^(crowd\.jpg -> crowd\.unseen\.jpg: .*)$", README.read_text(), re.M)
    assert example is not None
    report = Report(
        source="crowd.jpg",
        output="crowd.unseen.jpg",
        width=100,
        height=100,
        faces=[FaceRecord((0, 0, 20, 20), 0.9, "centerface") for _ in range(7)],
        metadata_removed=["GPS", "camera serial", "capture time"],
        verdict="verified",
        check=Check(proved_by_geometry=7, rounds=1),
    )
    assert example.group(1) == f"crowd.jpg -> crowd.unseen.jpg: {summary(report)}"


def test_verification_is_said_in_words_not_distances() -> None:
    base = {"source": "a.jpg", "output": "a.unseen.jpg", "width": 9, "height": 9, "verdict": "verified"}
    faces = [FaceRecord((0, 0, 20, 20), 0.9, "centerface") for _ in range(3)]
    all_compared = summary(
        Report(**base, faces=faces, check=Check(recognizable_faces=3, min_embedding_distance=0.46))
    )
    assert "no face re-detected" in all_compared and "not recognisable by the face recognizer" in all_compared
    assert "0.46" not in all_compared and "distance" not in all_compared
    some = summary(Report(**base, faces=faces, check=Check(recognizable_faces=1, min_embedding_distance=0.7)))
    assert "the 1 faces big enough to compare not recognisable" in some
    tiny = summary(Report(**base, faces=faces, check=Check()))
    assert "too small for the face recognizer" in tiny
    assert summary(Report(**base, check=Check())).endswith("verified: no face re-detected")
    covered = summary(Report(**base, faces=faces, check=Check(proved_by_geometry=2, recognizable_faces=1)))
    assert "2 of the masked faces wholly under an opaque fill" in covered
    assert "the other masked faces not recognisable by the face recognizer" in covered


@pytest.mark.slow
@pytest.mark.parametrize("mask", ["solid", "blur"])
def test_real_line_says_what_verification_means(
    mask: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from unseen.demo import write_sample

    sample = write_sample(tmp_path / "in")
    report = tmp_path / "r.json"
    assert main([str(sample), "--mask", mask, "-o", str(tmp_path / "out.jpg"), "--report", str(report)]) == 0
    line = capsys.readouterr().out
    if mask == "solid":  # a fill over the whole face box is proved by geometry, not by dlib
        assert "verified: no face re-detected, every masked face wholly under an opaque fill" in line
    else:
        assert "verified: no face re-detected, masked faces not recognisable by the face recognizer" in line
    assert "distance" not in line
    check = json.loads(report.read_text())[0]["check"]
    if mask == "blur":  # the distance stays in the report, for machines (a solid chip has none)
        assert check["min_embedding_distance"] is not None


def test_exit_codes_are_the_readmes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    table = dict(re.findall(r"^\| (\d+) \| (.+) \|$", README.read_text(), re.M))
    codes = {cli.EXIT_OK, cli.EXIT_USAGE, cli.EXIT_INPUT, cli.EXIT_REFUSED, cli.EXIT_INTERRUPTED}
    assert {str(code) for code in codes} <= set(table)

    def interrupted(*args: object, **kwargs: object) -> Report:
        raise KeyboardInterrupt

    monkeypatch.setattr("unseen.pipeline.anonymize_file", interrupted)
    assert main([str(photo(tmp_path / "a.png"))]) == cli.EXIT_INTERRUPTED == 130


def test_output_into_a_missing_folder_is_a_usage_error(
    tmp_path: Path, no_faces: None, capsys: pytest.CaptureFixture[str]
) -> None:
    src = photo(tmp_path / "a.png")
    assert main([str(src), "-o", str(tmp_path / "nope" / "x.png"), *FAST]) == 1
    assert "nope" in capsys.readouterr().err and not (tmp_path / "nope").exists()
    assert main([str(src), "-o", f"{tmp_path / 'made' / 'here'}/", *FAST]) == 0  # a folder -o is created
    assert (tmp_path / "made" / "here" / "a.unseen.png").is_file()


def test_one_output_file_for_two_inputs_is_a_usage_error(
    tmp_path: Path, no_faces: None, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = photo(tmp_path / "a.png"), photo(tmp_path / "b.png")
    assert main([str(a), str(b), "-o", str(tmp_path / "single.jpg"), *FAST]) == 1
    assert "single.jpg" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png"]


def test_a_rerun_never_overwrites_silently(
    tmp_path: Path, no_faces: None, capsys: pytest.CaptureFixture[str]
) -> None:
    src = photo(tmp_path / "a.png")
    assert main([str(src), *FAST]) == 0
    out = tmp_path / "a.unseen.png"
    out.write_bytes(b"an earlier output")
    assert main([str(src), *FAST]) == 1
    err = capsys.readouterr().err
    assert "a.unseen.png" in err and "--overwrite" in err
    assert out.read_bytes() == b"an earlier output"
    assert main([str(src), "--overwrite", *FAST]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_the_demo_runs_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo rewrites its own sample and output: a second run is not an 'already exists' error."""
    for _ in range(2):
        assert main(["demo", "--folder", str(tmp_path / "demo")]) == 0
    assert "verified" in capsys.readouterr().out.splitlines()[-1]


PAGE = b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n"  # a download that failed


def test_a_file_named_as_a_video_or_photo_that_is_neither_is_named_as_damaged(
    tmp_path: Path, no_faces: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before, a web page saved as clip.mp4 was "not a JPEG, PNG, WebP, TIFF or HEIF image", and a
    batch skipped it unnamed with exit 0: a damaged video on a card passed as nothing to do."""
    (tmp_path / "clip.mp4").write_bytes(PAGE)
    assert main([str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "out.mp4"), *FAST]) == 2
    said = capsys.readouterr().err.strip()
    words = "named as a video (.mp4) but its bytes are neither a photo nor a video unseen can read"
    assert said.endswith(f"clip.mp4: {words} (damaged, or another kind of file)") and "\n" not in said
    assert not (tmp_path / "out.mp4").exists()

    src = tmp_path / "card"
    photo(src / "good.jpg")
    (src / "clip.mp4").write_bytes(PAGE)
    (src / "IMG_0001.JPG").write_bytes(np.random.default_rng(1).bytes(5000))
    (src / "notes.txt").write_text("meet at the square")  # not media: skipped, as before
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "--workers", "1", "--no-verify"]) == 2
    table = capsys.readouterr().err
    assert "| failed | 2 |" in table and "| skipped: not a photo or video | 1 |" in table
    assert "clip.mp4: named as a video (.mp4)" in table and "IMG_0001.JPG: named as a photo (.JPG)" in table
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good.unseen.jpg"]
