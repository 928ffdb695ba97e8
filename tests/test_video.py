"""Video: every frame masked, timing and audio kept, nothing identifying left in the container.

Clips are generated here with PyAV. Moving squares do not look like faces to CenterFace, so the
tracking tests use a scripted detector that reads the frame number drawn into each frame; one
test runs the real CenterFace on the public-domain astronaut photo moving across the frame.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from support.clips import (
    FAST,
    FPS,
    H,
    Scripted,
    W,
    audio_packets,
    decoded,
    masked,
    no_temp_files,
    numbered,
    write_clip,
)
from unseen.errors import UnreadableInput, VerificationFailed
from unseen.media.video import is_video
from unseen.settings import AudioPolicy, Settings
from unseen.track import Tracker
from unseen.types import Check, Detections, Image
from unseen.video import anonymize_video


def test_frames_timing_and_audio_survive(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=45, audio_tracks=2)
    calls: list[tuple[int, int | None]] = []
    report = anonymize_video(src, dst, FAST, Scripted(lambda i: []), lambda n, of: calls.append((n, of)))
    assert calls[-1] == (45, 45) and len(calls) == 45
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        va, vb = a.streams.video[0], b.streams.video[0]
        assert (vb.codec_context.width, vb.codec_context.height) == (W, H)
        assert vb.average_rate == va.average_rate
        times_a = [float(f.pts * f.time_base) for f in a.decode(video=0)]
        times_b = [float(f.pts * f.time_base) for f in b.decode(video=0)]
    assert len(times_b) == len(times_a) == 45
    assert times_b == pytest.approx(times_a, abs=1e-3)
    assert audio_packets(dst) == audio_packets(src)  # both tracks, byte for byte
    assert report.faces == [] and report.output == str(dst)
    assert no_temp_files(tmp_path)


def test_audio_drop(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=10)
    report = anonymize_video(src, dst, Settings(verify=False, audio=AudioPolicy.DROP), Scripted(lambda i: []))
    with av.open(str(dst)) as container:
        assert not container.streams.audio
    assert "audio track" in report.metadata_removed


def test_variable_frame_rate_kept(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mkv", tmp_path / "out.mkv"
    pts = [0, 1, 2, 5, 6, 10, 11, 12, 20, 21, 22, 23]
    write_clip(src, frames=len(pts), pts=pts, audio_tracks=0)
    anonymize_video(src, dst, FAST, Scripted(lambda i: []))
    with av.open(str(dst)) as container:
        times = [round(float(f.pts * f.time_base) * FPS) for f in container.decode(video=0)]
    assert times == pts


def test_metadata_and_data_track_removed(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    planted = {
        "location": "+48.8584+002.2945/",
        "creation_time": "2024-05-01T12:00:00Z",
        "title": "Jane Doe at the march",
    }
    write_clip(src, frames=10, metadata=planted, data_track=True)
    report = anonymize_video(src, dst, Settings(), Scripted(lambda i: []))
    assert {"location", "creation time", "data track"} <= set(report.metadata_removed)
    assert report.check is not None and report.check.metadata_left == []
    with av.open(str(dst)) as container:
        assert {s.type for s in container.streams} == {"video", "audio"}
        tags = {**container.metadata, **{k: v for s in container.streams for k, v in s.metadata.items()}}
    assert not {"location", "creation_time", "title"} & set(tags)
    text = exiftool(dst) or json.dumps(tags)
    for needle in ("48.85", "2024", "Jane", "GPS", "12345"):
        assert needle not in text
    assert b"Jane" not in dst.read_bytes() and b"12345" not in dst.read_bytes()


def test_make_model_removed_from_mov(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mov", tmp_path / "out.mov"
    planted = {"make": "Apple", "model": "iPhone 15 Pro", "location": "+48.85+002.29/"}
    write_clip(src, frames=8, metadata=planted)
    if "Apple" not in (exiftool(src) or "Apple"):
        pytest.skip("this FFmpeg does not write make/model into MOV")
    report = anonymize_video(src, dst, FAST, Scripted(lambda i: []))
    assert "make/model" in report.metadata_removed
    assert b"Apple" not in dst.read_bytes() and b"iPhone" not in dst.read_bytes()


def exiftool(path: Path) -> str | None:
    """exiftool's full dump of the file, when exiftool is installed (the metadata oracle)."""
    tool = shutil.which("exiftool") or ("/usr/bin/exiftool" if Path("/usr/bin/exiftool").exists() else None)
    if tool is None:
        return None
    run = subprocess.run(
        [tool, "-j", "-a", "-G1", "-ee", str(path)], capture_output=True, text=True, check=False
    )
    lines = run.stdout.splitlines()
    return "\n".join(line for line in lines if '"System:' not in line and "SourceFile" not in line)


def test_rotation_kept_and_faces_found_upright(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=6, rotation=90)
    seen_shapes: list[tuple[int, ...]] = []

    class Upright:
        def detect(self, image: Image) -> Detections:
            seen_shapes.append(image.shape)
            return Detections.empty()

    report = anonymize_video(src, dst, Settings(force=True), Upright())  # the check runs upright too
    assert report.check is not None and report.check.rounds >= 1
    with av.open(str(dst)) as container:
        first = next(container.decode(video=0))
        assert first.rotation == 90 and (first.width, first.height) == (W, H)
    assert seen_shapes and all(shape[:2] == (W, H) for shape in seen_shapes)  # detector sees it upright


def test_odd_size_is_padded_to_even(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mkv", tmp_path / "out.mkv"
    with av.open(str(src), "w") as out:  # x264 in 4:4:4 takes odd sizes; 4:2:0 output cannot
        video = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = 161, 121, "yuv444p"
        for i in range(5):
            out.mux(video.encode(av.VideoFrame.from_ndarray(numbered(i, 161, 121), format="rgb24")))
        out.mux(video.encode())
    report = anonymize_video(src, dst, FAST, Scripted(lambda i: []))
    frames = decoded(dst)
    assert len(frames) == 5 and frames[0].shape[:2] == (122, 162)
    assert (report.width, report.height) == (162, 122)


def test_ten_bit_becomes_eight_bit(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=5, pix_fmt="yuv420p10le")
    anonymize_video(src, dst, FAST, Scripted(lambda i: []))
    with av.open(str(dst)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_truncated_and_garbage_inputs_refused(tmp_path: Path) -> None:
    good = tmp_path / "good.mp4"
    write_clip(good, frames=30)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 1000)
    for bad in (cut, junk):
        dst = tmp_path / f"{bad.stem}.unseen.mp4"
        with pytest.raises(UnreadableInput, match=bad.name):
            anonymize_video(bad, dst, FAST, Scripted(lambda i: []))
        assert not dst.exists()
    assert no_temp_files(tmp_path)
    assert is_video(good) and not is_video(junk)


def test_is_video_by_content_not_name(tmp_path: Path) -> None:
    from PIL import Image as Picture

    photo, disguised = tmp_path / "photo.mp4", tmp_path / "clip.jpg"
    Picture.fromarray(numbered(3)).save(photo, format="JPEG")
    write_clip(tmp_path / "clip.mp4", frames=3)
    (tmp_path / "clip.mp4").rename(disguised)
    assert not is_video(photo) and is_video(disguised)


def test_truncated_faststart_refused(tmp_path: Path) -> None:
    """The index is at the front, so the cut file opens: the missing frames must still be noticed."""
    good = tmp_path / "good.mp4"
    with av.open(str(good), "w", options={"movflags": "+faststart"}) as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
        video.width, video.height = W, H
        for i in range(30):
            out.mux(video.encode(av.VideoFrame.from_ndarray(numbered(i), format="rgb24")))
        out.mux(video.encode())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    with pytest.raises(UnreadableInput):
        anonymize_video(cut, tmp_path / "out.mp4", FAST, Scripted(lambda i: []))
    assert not (tmp_path / "out.mp4").exists() and no_temp_files(tmp_path)


def test_face_masked_from_first_frame_through_misses(tmp_path: Path) -> None:
    """Born between detections: back-filled. Missed on a detection frame: held. Moving: followed."""

    def face_at(i: int) -> tuple[float, float, float, float]:
        x = 40 + 4 * i  # 4 px a frame to the right
        return (x, 100, x + 40, 150)

    born, missed = 21, 32  # 21 is between detection frames (every 4th at 30 fps); 32 is one

    def draw(i: int) -> Image:
        return numbered(i, face=[face_at(i)] if i >= born else [])

    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=48, draw=draw)
    detector = Scripted(lambda i: [face_at(i)] if i >= born and i != missed else [])
    report = anonymize_video(src, dst, FAST, detector)
    assert 1 < len(set(detector.seen)) < 48  # detection runs on some frames only
    assert missed in detector.seen
    frames = decoded(dst)
    for i, image in enumerate(frames):
        if i >= born:
            assert masked(image, face_at(i)), f"frame {i} shows the face"
    assert not masked(frames[0], face_at(born))  # back-fill is a few frames, not the whole clip
    assert len(report.faces) == 1


def test_tracker_interpolates_holds_and_backfills() -> None:
    tracker = Tracker(hold=8, backfill=4)
    for index in (10, 14, 22):  # seen at 10, 14; missed at 18; seen at 22
        x = 10.0 * index
        tracker.update(index, Detections(np.float32([[x, 0, x + 20, 20]]), np.float32([0.9])))
    assert len(tracker.records) == 1
    for index in range(6, 31):
        boxes = tracker.boxes_at(index).boxes
        assert len(boxes) == 1, index
        x = 10.0 * index
        assert boxes[0, 0] <= x and boxes[0, 2] >= x + 20 or index < 10  # covers the true position
    assert len(tracker.boxes_at(5)) == 0 and len(tracker.boxes_at(31)) == 0


def test_faces_the_check_finds_on_a_frame_checked_again_get_tracks_of_their_own() -> None:
    """A checked frame is masked harder and checked again: what the second attack finds there is
    seeded on the same frame. Each seed is its own track id (the review switches tracks off by
    id; the first seed of each round had the same one)."""
    tracker = Tracker(hold=8, backfill=4)
    tracker.update(30, Detections(np.float32([[0, 0, 20, 20]]), np.float32([0.9])))
    tracker.seed(30, Detections(np.float32([[50, 0, 70, 20], [90, 0, 110, 20]]), np.float32([1, 1])))
    tracker.seed(30, Detections(np.float32([[150, 0, 170, 20]]), np.float32([1])))
    ids = [r.track for r in tracker.records]
    assert len(ids) == 4 and len(set(ids)) == 4, ids
    assert [r.track for r in tracker.records if r.source == "check"] == [30500, 30501, 30502]
    assert len(tracker.boxes_at(30)) == 4


def test_a_fragment_of_a_face_is_not_taken_for_the_face() -> None:
    """A detection a quarter of a track's face, near it, starts a track of its own: the face's
    track is held where its motion says (the mask moved onto the fragment and left the face)."""
    tracker = Tracker(hold=8, backfill=4)
    for index in (0, 4):
        x = 20.0 * index
        tracker.update(index, Detections(np.float32([[x, 0, x + 52, 74]]), np.float32([0.9])))
    tracker.update(8, Detections(np.float32([[150, 0, 175, 39]]), np.float32([0.5])))  # a corner
    assert len(tracker.records) == 2
    boxes = tracker.boxes_at(8).boxes
    face = (160.0, 0.0, 212.0, 74.0)  # where it walked to
    assert any(b[0] <= face[0] and b[2] >= face[2] for b in boxes), boxes


def test_crops_around_faces_reach_further_on_bigger_pictures() -> None:
    """A face crosses a 4K frame in as many frames as a 1080p one: the crop around where it was
    reaches twice as many pixels."""
    from unseen.detect.cadence import CROP_REACH, Cadence, VideoDetector
    from unseen.detect.crops import Crop

    reaches: list[float] = []

    class Network:
        threshold = 0.2

        def detect_at(self, image: Image, scale: float, threshold: float | None = None) -> Detections:
            return Detections.empty()

    class Spy(VideoDetector):
        def _crop(self, image: Image, crop: Crop, label: str) -> Detections:
            reaches.append(1000 - crop.x1)  # the face's box starts at x = 1000
            return Detections.empty()

    for width in (1920, 3840):
        video = Spy(Network(), Cadence.for_clip(30, width, width * 9 // 16, True))
        video.seen = {0: np.float32([[1000, 500, 1040, 540]])}
        video._around_faces(np.zeros((width * 9 // 16, width, 3), np.uint8), 4)
    assert reaches == pytest.approx([CROP_REACH, 2 * CROP_REACH])


def test_check_masks_what_the_detector_missed(tmp_path: Path, astronaut: Image) -> None:
    """The independent check finds the face a blind detector missed; round two masks it."""
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    head = np.ascontiguousarray(astronaut[20:240, 120:330])
    write_clip(src, frames=4, size=(480, 360), draw=lambda i: _paste(numbered(i, 480, 360), head, 100, 60))
    blind = Scripted(lambda i: [])
    report = anonymize_video(src, dst, Settings(), blind)
    assert report.check is not None and report.check.rounds == 2 and report.verdict == "verified"
    assert len(blind.seen) == len(set(blind.seen))  # round two reuses round one's detections
    face = (100 + 181 - 120, 60 + 61 - 20, 100 + 271 - 120, 60 + 180 - 20)
    assert all(masked(image, face) for image in decoded(dst))


def test_check_refuses_when_masking_harder_fails(tmp_path: Path) -> None:
    class Stubborn:
        def check(
            self, original: Image, masked: Image, faces: Detections, area: np.ndarray, opaque: object = None
        ) -> Check:
            return Check(redetected=1, redetected_boxes=[(10, 20, 50, 70)])

    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=4)
    with pytest.raises(
        VerificationFailed, match=r"still detectable.*frame 0 at \(10,20\)-\(50,70\)"
    ) as refused:
        anonymize_video(src, dst, Settings(), Scripted(lambda i: []), verifier=Stubborn())
    assert not dst.exists() and no_temp_files(tmp_path)
    assert refused.value.report is not None
    findings = refused.value.report.check.findings
    assert [(f.frame, f.box) for f in findings] == [(0, (10, 20, 50, 70))]
    report = anonymize_video(src, dst, Settings(force=True), Scripted(lambda i: []), verifier=Stubborn())
    assert report.verdict == "unverified" and report.check is not None and report.check.redetected == 1


def _paste(canvas: Image, patch: Image, x: int, y: int) -> Image:
    canvas[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    return canvas


@pytest.mark.slow
def test_real_centerface_masks_moving_astronaut_on_every_frame(tmp_path: Path, astronaut: Image) -> None:
    import cv2

    head = cv2.resize(np.ascontiguousarray(astronaut[20:240, 120:330]), (105, 110))
    face = (181 - 120, 61 - 20, 271 - 120, 180 - 20)  # the face inside the crop, before resizing
    scale = 105 / 210

    def place(i: int) -> tuple[int, int]:
        return 20 + 9 * i, 60 + 2 * i

    def draw(i: int) -> Image:
        return _paste(numbered(i, 480, 360), head, *place(i))

    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=30, size=(480, 360), draw=draw)
    report = anonymize_video(src, dst, Settings())
    assert report.verdict == "verified" and report.faces
    for i, image in enumerate(decoded(dst)):
        x, y = place(i)
        box = (x + face[0] * scale, y + face[1] * scale, x + face[2] * scale, y + face[3] * scale)
        assert masked(image, box), f"frame {i} shows the astronaut"


def test_inspect_names_what_a_clip_gives_away_and_writes_nothing(tmp_path: Path) -> None:
    from unseen.detect import FakeDetector
    from unseen.pipeline import inspect_file

    src = tmp_path / "march.mp4"
    write_clip(src, frames=10, metadata={"location": "+48.8584+002.2945/"}, data_track=True)
    report = inspect_file(src, detector=FakeDetector([(10, 10, 40, 50), (60, 10, 90, 50)]))
    assert report.face_count == 2 and report.output is None
    assert {"location", "data track"} <= set(report.metadata_removed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["march.mp4"]


def test_cli_shows_progress_with_time_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import unseen.cli as cli

    src = tmp_path / "clip.mp4"
    write_clip(src, frames=12)
    monkeypatch.setattr(cli._Progress, "EVERY", 0.0)  # not a terminal: normally a line every 10 s
    assert cli.main([str(src), "-o", str(tmp_path / "out") + "/", "--no-verify"]) == 0
    err = capsys.readouterr().err
    assert "clip.mp4: frame 6/12" in err and "left" in err


def test_subtitle_track_removed(tmp_path: Path) -> None:
    """Subtitles are text someone typed or a camera wrote (places, names): dropped, said so."""
    srt, src, dst = tmp_path / "s.srt", tmp_path / "in.mkv", tmp_path / "out.mkv"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nGPS 48.8584 2.2945 Jane Doe\n\n")
    with av.open(str(srt)) as text, av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=FPS, options={"preset": "ultrafast"})
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        subtitles = out.add_stream_from_template(text.streams[0])
        for i in range(10):
            frame = av.VideoFrame.from_ndarray(numbered(i), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, FPS)
            out.mux(video.encode(frame))
        for packet in text.demux(text.streams[0]):
            if packet.size:
                packet.stream = subtitles
                out.mux(packet)
        out.mux(video.encode())
    assert b"Jane" in src.read_bytes()
    report = anonymize_video(src, dst, Settings(), Scripted(lambda i: []))
    assert "subtitle track" in report.metadata_removed
    with av.open(str(dst)) as container:
        assert {s.type for s in container.streams} == {"video"}
    assert b"Jane" not in dst.read_bytes() and b"48.85" not in dst.read_bytes()
    assert len(decoded(dst)) == 10


def test_a_clip_whose_frames_share_one_timestamp_is_looked_at_on_its_cadence(tmp_path: Path) -> None:
    """Frames re-encoded without timestamps all say pts 0 and the stream says 1800 fps: the
    cadence, the checks and the buffer are counted in seconds, so detection ran on the first and
    last frame only. The rate a camera could shoot (the guessed 30) is taken instead."""
    from unseen.cli import main
    from unseen.media.video_streams import frame_rate

    good, src, dst = tmp_path / "good.mp4", tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(good, frames=60, audio_tracks=0)
    with av.open(str(good)) as source, av.open(str(src), "w") as out:
        video = out.add_stream("libx264", rate=30)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        for frame in source.decode(video=0):
            frame.pts = None  # the source's time base stays on the frame: every pts comes out 0
            out.mux(video.encode(frame))
        out.mux(video.encode())
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        assert stream.average_rate is not None and float(stream.average_rate) > 1000
        assert frame_rate(stream) == 30.0
    blind = Scripted(lambda i: [])
    report = anonymize_video(src, dst, Settings(), blind)
    assert len(set(blind.seen)) >= 60 // 8, sorted(set(blind.seen))
    assert report.verdict == "verified" and len(decoded(dst)) == 60
    assert main([str(src), "-o", str(tmp_path / "cli.mp4"), "-q"]) == 0
