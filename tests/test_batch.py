"""unseen batch: mirroring, skips, symlinks, overlap refusal, manifest and resume, crashes, reports."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unseen.batch import State, run_batch
from unseen.batch.report import ProgressLine
from unseen.batch.statedir import LOCK_FILE, Locked, default_state_dir, state_manifest
from unseen.cli_batch import main
from unseen.detect.base import FakeDetector
from unseen.errors import OutputError, UnreadableInput
from unseen.settings import Settings
from unseen.types import Detections, MaskStyle

FAST = Settings(verify=False)
FACE = (20.0, 20.0, 70.0, 80.0)


def photo(path: Path, seed: int, size: tuple[int, int] = (160, 120), fmt: str | None = None) -> Path:
    """A random-texture photo: no faces, fast to detect, unique bytes."""
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format=fmt or ("PNG" if path.suffix == ".png" else "JPEG"))
    return path


def outputs(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
    )


def rows(out: Path) -> dict[str, sqlite3.Row]:
    db = sqlite3.connect(f"file:{state_manifest(out)}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        return {bytes(r["rel"]).decode(): r for r in db.execute("SELECT * FROM files")}
    finally:
        db.close()


class DyingDetector:
    """Kills its own worker process on a 131-px-wide image: once (marker file), or always."""

    def __init__(self, marker: Path, always: bool = False) -> None:
        self.marker, self.always = marker, always

    def detect(self, image: np.ndarray) -> Detections:
        if image.shape[1] == 131 and (self.always or not self.marker.exists()):
            self.marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return Detections.empty()


def test_mirrors_the_tree_names_by_content_and_counts_skips(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    photo(src / "a.jpg", 1)
    photo(src / "day1" / "crowd.JPG", 2)
    photo(src / "day1" / "deep" / "x.png", 3)
    photo(src / "day1" / "disguised.jpg", 4, fmt="PNG")  # a PNG named .jpg: named by content
    photo(src / "day1" / "a.jpeg", 5)
    photo(src / "day1" / "a.jpg", 6)  # a.jpeg and a.jpg would both be a.unseen.jpg
    (src / "notes.txt").write_text("not a photo")
    (src / "empty.jpg").write_bytes(b"")
    photo(src / ".hidden.jpg", 7)
    photo(src / ".cache" / "thumb.jpg", 8)
    (src / "day1" / ".unseen-tmp-123.jpg").write_bytes(b"\xff\xd8\xff")
    detector = FakeDetector([FACE])

    result = run_batch(src, out, FAST, workers=1, detector=detector)

    assert outputs(out) == [
        "a.unseen.jpg",
        "day1/a.jpg.unseen.jpg",
        "day1/a.unseen.jpg",
        "day1/crowd.unseen.jpg",
        "day1/deep/x.unseen.png",
        "day1/disguised.unseen.png",
    ]
    assert detector.calls == 6
    by_rel = {row.rel: row for row in result.rows}
    assert by_rel["day1/a.jpeg"].output == "day1/a.unseen.jpg"  # first by name
    assert by_rel["day1/a.jpg"].output == "day1/a.jpg.unseen.jpg"
    assert by_rel["notes.txt"].state == State.SKIPPED and "not a photo" in (by_rel["notes.txt"].error or "")
    assert by_rel["empty.jpg"].state == State.SKIPPED
    assert {r.rel for r in result.rows if r.state == State.SKIPPED} == {
        "notes.txt", "empty.jpg", ".hidden.jpg", ".cache", "day1/.unseen-tmp-123.jpg"}  # fmt: skip
    assert result.count(State.DONE) == 6 and result.faces == 6 and result.exit_code == 0
    masked = np.asarray(Image.open(out / "day1/deep/x.unseen.png"))
    assert masked.shape == (120, 160, 3)
    assert len(np.unique(masked[45:55, 40:50].reshape(-1, 3), axis=0)) == 1  # solid fill over the face


def test_symlinks_are_never_followed_out_of_the_tree(tmp_path: Path) -> None:
    src, out, outside = tmp_path / "in", tmp_path / "out", tmp_path / "outside"
    photo(src / "inside.jpg", 1)
    photo(outside / "secret.jpg", 2)
    photo(outside / "album" / "b.jpg", 3)
    (src / "link.jpg").symlink_to(outside / "secret.jpg")
    (src / "album").symlink_to(outside / "album", target_is_directory=True)
    (src / "again.jpg").symlink_to(src / "inside.jpg")

    result = run_batch(src, out, FAST, workers=1, detector=FakeDetector([]))

    assert outputs(out) == ["inside.unseen.jpg"]
    skipped = {r.rel: r.error for r in result.rows if r.state == State.SKIPPED}
    assert set(skipped) == {"link.jpg", "album", "again.jpg"}
    assert all("symlink" in (reason or "") for reason in skipped.values())


@pytest.mark.parametrize(
    "out_of",
    [lambda src: src / "published", lambda src: src, lambda src: src.parent],
    ids=["out-inside-src", "out-is-src", "src-inside-out"],
)
def test_refuses_an_output_folder_overlapping_the_source(tmp_path: Path, out_of) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "in"
    photo(src / "a.jpg", 1)
    before = sorted(src.rglob("*"))
    with pytest.raises(OutputError, match="source folder"):
        run_batch(src, out_of(src), FAST, workers=1, detector=FakeDetector([]))
    assert main([str(src), "-o", str(out_of(src)), "--no-verify", "-q"]) == 1
    assert sorted(src.rglob("*")) == before  # nothing written inside the source


def test_existing_batch_needs_resume_and_a_foreign_folder_is_refused(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    photo(src / "a.jpg", 1)
    run_batch(src, out, FAST, workers=1, detector=FakeDetector([]))
    with pytest.raises(OutputError, match="--resume"):
        run_batch(src, out, FAST, workers=1, detector=FakeDetector([]))
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "someone-elses.jpg").write_bytes(b"x")
    with pytest.raises(OutputError, match="not empty"):
        run_batch(src, foreign, FAST, workers=1, detector=FakeDetector([]))
    with Locked(default_state_dir(out) / LOCK_FILE), pytest.raises(OutputError, match="another unseen batch"):
        run_batch(src, out, FAST, resume=True, workers=1, detector=FakeDetector([]))
    assert (default_state_dir(out) / LOCK_FILE).exists() and not list(out.glob(".*"))


def test_resume_redoes_only_what_is_missing_changed_or_failed(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(4):
        photo(src / f"p{i}.jpg", i)
    (src / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"garbage" * 20)

    first = FakeDetector([])
    result = run_batch(src, out, FAST, workers=1, detector=first)
    assert first.calls == 4 and result.exit_code == 2
    assert result.count(State.FAILED) == 1 and result.count(State.DONE) == 4

    again = FakeDetector([])
    result = run_batch(src, out, FAST, resume=True, workers=1, detector=again)
    assert again.calls == 0 and result.unchanged == 4
    assert rows(out)["broken.jpg"]["attempts"] == 2  # failed: tried again

    photo(src / "p1.jpg", 101)  # changed content
    (out / "p2.unseen.jpg").unlink()  # output lost
    photo(src / "broken.jpg", 102)  # repaired
    photo(src / "new" / "p9.jpg", 9)  # added
    before = rows(out)
    after_fix = FakeDetector([])
    result = run_batch(src, out, FAST, resume=True, workers=1, detector=after_fix)
    assert after_fix.calls == 4 and result.exit_code == 0 and result.unchanged == 2
    now = rows(out)
    assert now["p0.jpg"]["finished"] == before["p0.jpg"]["finished"]
    assert now["p1.jpg"]["sha256"] != before["p1.jpg"]["sha256"]
    assert outputs(out) == ["broken.unseen.jpg", "new/p9.unseen.jpg"] + [f"p{i}.unseen.jpg" for i in range(4)]

    other = FakeDetector([])  # other settings: every output is made again
    run_batch(src, out, Settings(verify=False, mask=MaskStyle.NOISE), resume=True, workers=1, detector=other)
    assert other.calls == 6


def test_cli_reports_a_corrupt_file_and_does_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from support.clips import write_clip

    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(2):
        photo(src / f"p{i}.jpg", i)
    (src / "truncated.jpg").write_bytes((src / "p0.jpg").read_bytes()[:300])
    (src / "readme.txt").write_text("hello")
    write_clip(tmp_path / "clip.mp4", frames=5)  # its index is at the end: cut, nothing plays
    (src / "cut.mp4").write_bytes((tmp_path / "clip.mp4").read_bytes()[:2000])
    report, table = tmp_path / "report.json", tmp_path / "table.csv"

    code = main([str(src), "-o", str(out), "--no-verify", "--workers", "1", "-q",
                 "--report", str(report), "--csv", str(table)])  # fmt: skip

    assert code == 2
    said = capsys.readouterr().err.splitlines()  # -q: errors only, a line each
    assert len(said) == 2 and any("cut.mp4: a video file FFmpeg cannot read" in line for line in said)
    assert outputs(out) == ["p0.unseen.jpg", "p1.unseen.jpg"]
    document = json.loads(report.read_text())
    states = {f["input"]: f["state"] for f in document["files"]}
    assert states == {
        "p0.jpg": "done",
        "p1.jpg": "done",
        "truncated.jpg": "failed",
        "readme.txt": "skipped",
        "cut.mp4": "failed",
    }
    failed = next(f for f in document["files"] if f["input"] == "truncated.jpg")
    assert "truncated" in failed["reason"] and failed["output"] is None
    with table.open() as f:
        listed = {r["input"]: r for r in csv.DictReader(f)}
    assert set(listed) == set(states) and listed["p0.jpg"]["output"] == "p0.unseen.jpg"
    from unseen.pipeline import anonymize_file

    with pytest.raises(UnreadableInput, match="cut.mp4: a video file FFmpeg cannot read"):
        anonymize_file(src / "cut.mp4", tmp_path / "cut.out.mp4")
    assert not (tmp_path / "cut.out.mp4").exists()
    assert main([str(src), "-o", str(tmp_path / "o2"), "--report", str(src / "r.json")]) == 1
    assert main([str(src), "-o", str(tmp_path / "o3"), "--segment-seconds", "-1"]) == 1
    assert main([str(src), "-o", str(tmp_path / "o3"), "--segment-seconds", "nan"]) == 1
    assert not (tmp_path / "o3").exists()


def test_a_dying_worker_is_replaced_and_a_file_that_always_kills_is_reported(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(4):
        photo(src / f"p{i}.jpg", i)
    photo(src / "kills-once.jpg", 10, size=(131, 90))
    result = run_batch(src, out, FAST, workers=2, detector=DyingDetector(tmp_path / "once"))
    assert (tmp_path / "once").exists()  # it did die
    assert result.exit_code == 0 and result.count(State.DONE) == 5
    assert rows(out)["kills-once.jpg"]["attempts"] >= 2

    out2 = tmp_path / "out2"
    result = run_batch(src, out2, FAST, workers=2, detector=DyingDetector(tmp_path / "x", always=True))
    failed = [r for r in result.rows if r.state == State.FAILED]
    assert [r.rel for r in failed] == ["kills-once.jpg"] and "died" in (failed[0].error or "")
    assert result.count(State.DONE) == 4 and result.exit_code == 2


def test_a_full_disk_stops_the_batch_with_a_clear_error(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import unseen.media.image as image_io

    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(5):
        photo(src / f"p{i}.jpg", i)

    def full(*args: object, **kwargs: object) -> None:
        raise OutputError("out/p.unseen.jpg: cannot write (No space left on device)") from OSError(
            28, "No space left on device"
        )

    monkeypatch.setattr(image_io, "save_image", full)
    result = run_batch(src, out, FAST, workers=1, detector=FakeDetector([]))
    assert result.stopped and "No space left" in result.stopped
    assert result.count(State.FAILED) == 1 and result.count(State.PENDING) == 4 and result.exit_code == 2
    monkeypatch.undo()
    result = run_batch(src, out, FAST, resume=True, workers=1, detector=FakeDetector([]))
    assert result.exit_code == 0 and len(outputs(out)) == 5


def test_progress_is_throttled_and_quiet_without_a_terminal() -> None:
    from unseen.batch.job import Status

    log = io.StringIO()
    line = ProgressLine(log, tty=False)
    status = Status(total=200, bytes_total=200)
    for _ in range(199):
        status.done += 1
        status.bytes_done += 1
        line(status)
    assert len(log.getvalue().splitlines()) == 1  # the first; the next would come 5 s later
    status.done += 1
    line(status)
    assert log.getvalue().splitlines()[-1].startswith("200/200 files")

    term = io.StringIO()
    live = ProgressLine(term, tty=True)
    for _ in range(50):
        live(Status(total=100, done=1))
    assert term.getvalue().count("\r") == 1


@pytest.mark.slow
def test_real_models_on_sample_photos(tmp_path: Path) -> None:
    from unseen.demo import write_sample
    from unseen.media.image import read_back

    src, out = tmp_path / "in", tmp_path / "out"
    sample = write_sample(src / "day1")
    (src / "day2").mkdir()
    (src / "day2" / "copy.jpg").write_bytes(sample.read_bytes())
    photo(src / "day2" / "texture.jpg", 1)

    result = run_batch(src, out, Settings(), workers=1)

    assert result.exit_code == 0, [r.error for r in result.rows]
    by_rel = {r.rel: r for r in result.rows}
    for rel in ("day1/astronaut.jpg", "day2/copy.jpg"):
        assert by_rel[rel].verdict == "verified" and (by_rel[rel].faces or 0) >= 1
        assert read_back(out / (by_rel[rel].output or "")) == []
    assert by_rel["day2/texture.jpg"].state == State.DONE


def test_unreadable_input_found_while_planning_is_a_failure(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    photo(src / "a.jpg", 1)
    (src / "zeros.jpg").write_bytes(b"\x00" * 1024)
    result = run_batch(src, out, FAST, workers=1, detector=FakeDetector([]))
    zeros = next(r for r in result.rows if r.rel == "zeros.jpg")
    assert zeros.state == State.FAILED and "zero bytes" in (zeros.error or "")
    assert result.exit_code == 2
    assert issubclass(UnreadableInput, Exception)


def test_stale_temp_files_are_removed_even_where_nothing_is_redone(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    photo(src / "d" / "a.jpg", 1)
    run_batch(src, out, FAST, workers=1, detector=FakeDetector([]))
    (out / "d" / ".unseen-tmp-killed.jpg").write_bytes(b"\xff\xd8\xff half a face")
    result = run_batch(src, out, FAST, resume=True, workers=1, detector=FakeDetector([]))
    assert result.ran == 0 and result.temp_removed == 1
    assert not list(out.rglob(".unseen-tmp-*"))


def test_file_names_that_are_not_utf8_are_kept_and_reported(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    photo(Path(os.fsdecode(bytes(src) + b"/caf\xe9.jpg")), 1)
    Path(os.fsdecode(bytes(src) + b"/bad\xff.jpg")).write_bytes(b"\xff\xd8\xff" + b"x" * 30)
    report = tmp_path / "report.json"
    assert (
        main([str(src), "-o", str(out), "--no-verify", "-q", "--workers", "1", "--report", str(report)]) == 2
    )
    assert [n for n in os.listdir(bytes(out)) if not n.startswith(b".")] == [b"caf\xe9.unseen.jpg"]
    states = {f["input"]: f["state"] for f in json.loads(report.read_text())["files"]}
    assert states == {os.fsdecode(b"caf\xe9.jpg"): "done", os.fsdecode(b"bad\xff.jpg"): "failed"}
