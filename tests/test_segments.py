"""Long videos in segments: keyframes read from packets, spans planned at them, parts joined losslessly.

Clips are made here with PyAV: the frame number drawn into each frame (see test_video.numbered),
a keyframe every GOP frames, B-frames, an AAC track. Parts are either made the way a span run
makes them (decoded, re-encoded with the same encoder settings, input timestamps) or, once
video.py has spans, by anonymize_video itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from support.clips import Scripted, audio_packets, decoded, frame_index, masked, numbered
from unseen.batch.segments import SEGMENT_ENV, join_task, merge_reports, segment_seconds, video_task
from unseen.batch.work import Outcome, Task
from unseen.detect.base import Detector, FakeDetector
from unseen.edits import Edits, sidecar_for
from unseen.errors import UnseenError
from unseen.media import video_streams as streams
from unseen.media.segment_join import SegmentMismatch, avcc_parameter_sets, join_segments
from unseen.media.segments import Keyframe, Segment, Timeline, keyframes, plan_segments, read_timeline
from unseen.media.video_streams import read_back
from unseen.settings import AudioPolicy, Settings
from unseen.tempfiles import PREFIX
from unseen.types import Check, FaceRecord, Report
from unseen.video import anonymize_video

FPS = 30
W, H = 320, 240
FAST = Settings(verify=False)
FACE = (200.0, 100.0, 280.0, 190.0)


def gop_clip(
    path: Path,
    frames: int = 90,
    gop: int = 15,
    audio: bool = True,
    pts: list[int] | None = None,
    rotation: int | None = None,
    open_gop: bool = False,
    face: bool = False,
    draw: Callable[[int], np.ndarray] | None = None,
) -> Path:
    """A clip with a keyframe every `gop` frames, B-frames, frame numbers drawn in, AAC audio."""
    with av.open(str(path), "w") as out:
        params = f"keyint={gop}:min-keyint={gop}:scenecut=0" + (":open-gop=1" if open_gop else "")
        options = {"preset": "veryfast", "crf": "18", "x264-params": params}
        video = out.add_stream("libx264", rate=FPS, options=options)
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        if rotation is not None:
            video.set_display_rotation(rotation)
        sound = out.add_stream("aac", rate=48000, layout="mono") if audio else None
        samples = 0
        for i in range(frames):
            image = draw(i) if draw else numbered(i, W, H, [FACE] if face else None)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = (pts[i] if pts else i), Fraction(1, FPS)
            out.mux(video.encode(frame))
            while sound is not None and samples < (i + 1) * 48000 // FPS:
                tone = 0.1 * np.sin(np.arange(1024) / 7 + samples).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(tone[None], format="fltp", layout="mono")
                chunk.sample_rate, chunk.pts = 48000, samples
                samples += 1024
                out.mux(sound.encode(chunk))
        out.mux(video.encode())
        if sound is not None:
            out.mux(sound.encode())
    return path


def encoded_part(src: Path, segment: Segment, dst: Path, options: dict[str, str] | None = None) -> Path:
    """What a span run writes, without masking: the span's frames re-encoded, input timestamps, video only."""
    with av.open(str(src)) as source, av.open(str(dst), "w") as out:
        video = source.streams.video[0]
        encoder = None
        for frame in source.decode(video):
            assert frame.pts is not None
            end = segment.end_pts
            if frame.pts < segment.start_pts or (end is not None and frame.pts >= end):
                continue
            if encoder is None:
                encoder = streams.add_video(out, video, frame, W, H)
                encoder.codec_context.options = {**encoder.codec_context.options, **(options or {})}
            picture = frame.reformat(format="yuv420p")
            picture.pts, picture.time_base = frame.pts, video.time_base
            out.mux(encoder.encode(picture))
        assert encoder is not None
        out.mux(encoder.encode(None))
    return dst


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(f.pts * f.time_base) for f in container.decode(video=0)]


def exact_times(path: Path) -> list[Fraction]:
    with av.open(str(path)) as container:
        return [f.pts * f.time_base for f in container.decode(video=0) if f.pts is not None and f.time_base]


def numbers(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [frame_index(f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]


def video_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(video=0) if p.size]


def temp_files(folder: Path) -> list[Path]:
    return list(folder.rglob(PREFIX + "*"))


def parts_of(src: Path, segments: list[Segment], folder: Path) -> list[Path]:
    folder.mkdir(exist_ok=True)
    return [encoded_part(src, s, folder / f"part{k}.mp4") for k, s in enumerate(segments)]


def test_keyframes_come_from_packets_in_display_order(tmp_path: Path) -> None:
    src = gop_clip(tmp_path / "in.mp4")
    found = keyframes(src)
    step = 15360 // FPS  # the MP4 muxer's time base for a 30 fps clip
    assert found == [Keyframe(i, i * step) for i in range(0, 90, 15)]
    timeline = read_timeline(src)
    assert timeline.frames == 90 and timeline.pts == [i * step for i in range(90)]
    assert timeline.seconds == pytest.approx(3.0) and timeline.unsplittable is None


def test_open_gop_keyframes_are_not_cut_points(tmp_path: Path) -> None:
    src = gop_clip(tmp_path / "in.mp4", open_gop=True)
    with av.open(str(src)) as container:
        flagged = sum(p.is_keyframe for p in container.demux(video=0) if p.size)
    assert flagged > 1
    # every keyframe after the first has leading B-frames that show before it and need the GOP
    # before: a segment starting there would not decode alone
    assert keyframes(src) == [Keyframe(0, 0)]


@pytest.mark.parametrize(
    ("seconds", "starts"),
    [(1.0, [0, 30, 60]), (1.3, [0, 45]), (0.5, [0, 15, 30, 45, 60, 75]), (2.5, [0]), (0, [0]), (100, [0])],
)
def test_plan_cuts_at_keyframes_and_keeps_short_clips_whole(
    tmp_path: Path, seconds: float, starts: list[int]
) -> None:
    timeline = read_timeline(gop_clip(tmp_path / "in.mp4", audio=False))
    segments = plan_segments(timeline, seconds)
    assert [s.first for s in segments] == starts
    assert sum(s.frames for s in segments) == 90
    assert [s.end_pts for s in segments] == [s.start_pts for s in segments[1:]] + [None]
    assert all(s.start_pts == timeline.pts[s.first] for s in segments)


def test_timestamps_that_cannot_be_trusted_keep_the_video_whole() -> None:
    pts = list(range(0, 9000, 10))
    cuts = [Keyframe(i, i * 10) for i in range(0, 900, 10)]  # one a second
    fine = Timeline(Fraction(1, 100), pts, cuts, 9000)
    assert len(plan_segments(fine, 10.0)) == 9
    odd = Timeline(Fraction(1, 100), pts, cuts, 9000, unsplittable="two video packets share a timestamp")
    assert [(s.first, s.end_pts, s.frames) for s in plan_segments(odd, 10.0)] == [(0, None, 900)]


def test_join_is_lossless_with_the_input_timing_and_audio(tmp_path: Path) -> None:
    src = gop_clip(tmp_path / "in.mp4", frames=90)
    segments = plan_segments(read_timeline(src), 1.0)
    parts = parts_of(src, segments, tmp_path / "parts")
    out = tmp_path / "out"
    out.mkdir()
    dst = out / "in.unseen.mp4"

    join_segments(parts, src, dst, FAST, segments)

    assert len(segments) == 3
    assert frame_times(dst) == pytest.approx(frame_times(src), abs=1e-6)
    assert numbers(dst) == list(range(90))  # every frame, in order, decodable across the joins
    assert video_packets(dst) == [p for part in parts for p in video_packets(part)]  # remuxed, not re-encoded
    assert audio_packets(dst) == audio_packets(src)
    assert read_back(dst) == [] and not temp_files(out)
    with av.open(str(dst)) as container:
        assert not container.metadata.get("title") and len(container.streams) == 2


def test_join_drops_audio_and_keeps_rotation(tmp_path: Path) -> None:
    src = gop_clip(tmp_path / "in.mp4", frames=60, rotation=90)
    segments = plan_segments(read_timeline(src), 0.5)
    dst = tmp_path / "out.mp4"

    parts = parts_of(src, segments, tmp_path / "parts")
    join_segments(parts, src, dst, Settings(audio=AudioPolicy.DROP), segments)

    with av.open(str(dst)) as container:
        assert not container.streams.audio
        first = next(container.decode(video=0))
        assert round(first.rotation) == 90
    assert numbers(dst) == list(range(60))


def test_variable_frame_rate_joined(tmp_path: Path) -> None:
    pts = [0, 1, 2, 5, 6, 10, 11, 12, 20, 21, 22, 23, 30, 31, 35, 40, 41, 42, 50, 51]
    src = gop_clip(tmp_path / "in.mkv", frames=len(pts), gop=4, pts=pts, audio=False)
    segments = plan_segments(read_timeline(src), 0.4)
    parts = [encoded_part(src, s, tmp_path / f"p{k}.mkv") for k, s in enumerate(segments)]
    dst = tmp_path / "out.mkv"

    join_segments(parts, src, dst, FAST, segments)

    assert len(segments) >= 3
    assert [round(t * FPS) for t in frame_times(dst)] == pts


def test_parts_with_other_parameter_sets_are_joined_in_band(tmp_path: Path) -> None:
    src = gop_clip(tmp_path / "in.mp4", frames=60, audio=False)
    segments = plan_segments(read_timeline(src), 0.5)
    (tmp_path / "parts").mkdir()
    parts = [
        encoded_part(src, s, tmp_path / "parts" / f"p{k}.mp4", {"level": "4.1"} if k == 1 else None)
        for k, s in enumerate(segments)
    ]
    with av.open(str(parts[0])) as a, av.open(str(parts[1])) as b:
        assert a.streams.video[0].codec_context.extradata != b.streams.video[0].codec_context.extradata
    dst = tmp_path / "out.mp4"

    join_segments(parts, src, dst, FAST, segments)

    assert numbers(dst) == list(range(60))


def test_avcc_parameter_sets_become_length_prefixed_nal_units() -> None:
    sps, pps = bytes.fromhex("6764000dacd9"), bytes.fromhex("68ef")
    avcc = bytes([1, 0x64, 0, 0x0D, 0xFF, 0xE1, 0, len(sps)]) + sps + bytes([1, 0, len(pps)]) + pps
    assert avcc_parameter_sets(avcc) == b"\0\0\0\x06" + sps + b"\0\0\0\x02" + pps
    with pytest.raises(SegmentMismatch):
        avcc_parameter_sets(avcc[:-1])


@pytest.mark.parametrize("broken", ["missing frame", "wrong span", "no parts"])
def test_parts_that_do_not_add_up_are_refused(tmp_path: Path, broken: str) -> None:
    src = gop_clip(tmp_path / "in.mp4", frames=60, audio=False)
    segments = plan_segments(read_timeline(src), 0.5)
    parts = parts_of(src, segments, tmp_path / "parts")
    if broken == "missing frame":
        short = Segment(segments[1].first, segments[1].start_pts, segments[1].end_pts - 512, 0, "")
        parts[1] = encoded_part(src, short, tmp_path / "parts" / "short.mp4")
    elif broken == "wrong span":
        parts[1], parts[2] = parts[2], parts[1]
    else:
        parts = []
    out = tmp_path / "out"
    out.mkdir()

    with pytest.raises(SegmentMismatch):
        join_segments(parts, src, out / "x.mp4", FAST, segments)

    assert not list(out.iterdir())


# The Ray side's pieces, run in this process: planning, the join task, merged reports.


def test_segment_length_comes_from_the_argument_then_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SEGMENT_ENV, raising=False)
    assert segment_seconds() == 60.0 and segment_seconds(5) == 5
    monkeypatch.setenv(SEGMENT_ENV, "12.5")
    assert segment_seconds() == 12.5
    monkeypatch.setenv(SEGMENT_ENV, "soon")
    with pytest.raises(UnseenError, match=SEGMENT_ENV):
        segment_seconds()


def test_a_short_video_is_done_whole_by_the_planning_task(tmp_path: Path) -> None:
    src = gop_clip(tmp_path / "in.mp4", frames=30, face=True)
    (tmp_path / "out").mkdir()
    task = Task("in.mp4", str(src), str(tmp_path / "out" / "in.unseen.mp4"), FAST, "video")

    result = video_task(task, 60.0, FakeDetector([FACE]))

    assert isinstance(result, Outcome) and result.state == "done" and result.faces == 1
    assert numbers(Path(task.dst)) == list(range(30))
    long = video_task(task, 0.4, FakeDetector([FACE]))
    assert isinstance(long, list) and [s.first for s in long] == [0, 15]
    # a video a person corrected is done whole: the edits name the whole run's tracks
    sidecar = sidecar_for(Path(task.dst))
    Edits(tracks_off=[0]).save(sidecar)
    task = dataclasses.replace(task, edits=sidecar.read_bytes(), edits_path=str(sidecar))  # as planned
    edited = video_task(task, 0.4, FakeDetector([FACE]))
    assert isinstance(edited, Outcome) and edited.state == "done"
    assert edited.faces == 0  # the person switched the one track off, and the whole run obeyed


def test_join_task_joins_merges_reports_and_removes_the_parts(tmp_path: Path) -> None:
    src = gop_clip(tmp_path / "in.mp4", frames=60)
    segments = plan_segments(read_timeline(src), 0.5)
    parts = parts_of(src, segments, tmp_path / "out")
    task = Task("in.mp4", str(src), str(tmp_path / "out" / "in.unseen.mp4"), FAST, "video")
    reports = [
        Report(
            str(src),
            str(p),
            W,
            H,
            faces=[FaceRecord((1, 2, 3, 4), 0.9, "fake")],
            verdict="unverified",
            check=Check(redetected=k, rounds=1),
            metadata_removed=["creation time"],
        )  # fmt: skip
        for k, p in enumerate(parts)
    ]
    outcomes = [
        Outcome("in.mp4", "done", output=str(p), report=r.to_dict())
        for p, r in zip(parts, reports, strict=True)
    ]

    outcome = join_task(task, segments, outcomes, FakeDetector([]))

    assert outcome.state == "done" and outcome.output == task.dst, outcome.error
    assert outcome.faces == len(segments) and outcome.verdict == "unverified"
    assert outcome.report is not None and outcome.report["check"]["redetected"] == sum(range(len(segments)))
    assert outcome.report["metadata_removed"] == ["creation time"] and outcome.report["output"] == task.dst
    assert numbers(Path(task.dst)) == list(range(60))
    assert not any(p.exists() for p in parts)


def test_join_task_does_the_video_whole_when_the_parts_do_not_add_up(tmp_path: Path) -> None:
    src = gop_clip(tmp_path / "in.mp4", frames=60, face=True)
    segments = plan_segments(read_timeline(src), 0.5)
    parts = parts_of(src, segments, tmp_path / "out")
    parts[1].write_bytes(b"")  # a part that never got written
    task = Task("in.mp4", str(src), str(tmp_path / "out" / "in.unseen.mp4"), FAST, "video")
    outcomes = [Outcome("in.mp4", "done", output=str(p), report={}) for p in parts]

    outcome = join_task(task, segments, outcomes, FakeDetector([FACE]))

    assert outcome.state == "done" and outcome.faces == 1  # the whole-file run's report
    assert numbers(Path(task.dst)) == list(range(60))
    assert not temp_files(tmp_path / "out") and not any(p.exists() for p in parts)


def test_merged_verdict_is_the_worst_of_the_parts() -> None:
    task = Task("a.mp4", "a.mp4", "out/a.unseen.mp4", Settings())

    def report(verdict: str) -> dict[str, object]:
        return Report("a.mp4", None, W, H, verdict=verdict, metadata_removed=["audio track"]).to_dict()

    assert merge_reports(task, [report("verified")] * 2).verdict == "verified"
    assert merge_reports(task, [report("verified"), report("unverified")]).verdict == "unverified"
    assert merge_reports(task, [report("unverified"), report("refused")]).verdict == "refused"
    assert merge_reports(task, [report("verified")]).metadata_removed == []  # the audio is kept
    dropped = Task("a.mp4", "a.mp4", "out/a.unseen.mp4", Settings(audio=AudioPolicy.DROP))
    assert merge_reports(dropped, [report("verified")]).metadata_removed == ["audio track"]


def test_merged_report_keeps_every_field_of_the_parts() -> None:
    """Coverage, notes, stages, text and the check's findings survive a segment join, and the
    merged report reads back from JSON with the enums it had."""
    import json

    from unseen.types import Check, Coverage, Finding, MaskStyle, TextReport, Verdict

    task = Task("a.mp4", "a.mp4", "out/a.unseen.mp4", Settings())

    def part(first: int, share: float, note: str) -> dict[str, object]:
        check = Check(redetected=1, rounds=first // 30 + 1, findings=[Finding(first + 3, (1, 2, 3, 4))])
        report = Report(
            "a.mp4", None, W, H, mask=MaskStyle.NOISE, verdict=Verdict.VERIFIED, check=check,
            coverage=Coverage(
                masked=share, beyond_faces=share / 2, worst_frame=first + 5, worst_share=share,
                found=share / 4, found_frame=first + 7, found_share=0.5 if first == 0 else 0.25,
            ),
            notes=[note], stages={"decode": 1.0}, text=TextReport("people", other_found=first + 1),
        )  # fmt: skip
        return json.loads(json.dumps(report.to_dict()))

    merged = merge_reports(task, [part(0, 0.1, "a"), part(30, 0.3, "b")], [30, 90])
    assert merged.mask is MaskStyle.NOISE and merged.verdict is Verdict.VERIFIED
    assert merged.check is not None and merged.check.redetected == 2 and merged.check.rounds == 2
    assert [f.frame for f in merged.check.findings] == [3, 33]
    assert merged.coverage == Coverage(
        masked=0.25,
        beyond_faces=0.125,
        worst_frame=35,
        worst_share=0.3,
        found=0.0625,
        found_frame=7,
        found_share=0.5,
    )
    assert merged.notes[:2] == ["a", "b"] and merged.stages == {"decode": 2.0}
    assert merged.text is not None and merged.text.other_found == 32 and merged.text.mode == "people"
    again = Report.from_dict(json.loads(json.dumps(merged.to_dict())))
    assert again == merged and again.to_dict()["verdict"] == "verified"


def test_merged_report_says_the_coverage_lines_once_for_the_whole_video() -> None:
    """Each segment's line said how much of its picture the masks took; the joined video's line
    says it once, with the whole video's figures, not once a segment with each one's."""
    from unseen.types import Coverage
    from unseen.video.painting import coverage_notes

    task = Task("a.mp4", "a.mp4", "out/a.unseen.mp4", Settings())

    def part(first: int, share: float) -> dict[str, object]:
        coverage = Coverage(masked=share, beyond_faces=share, worst_frame=first + 5, worst_share=share)
        report = Report(
            "a.mp4", None, W, H, coverage=coverage, notes=["set aside", *coverage_notes(coverage)]
        )
        return report.to_dict()

    merged = merge_reports(task, [part(0, 0.1), part(30, 0.04)], [30, 90])
    assert merged.coverage is not None
    wide = [n for n in merged.notes if n.startswith("masks cover")]
    assert wide == coverage_notes(merged.coverage) and "masks cover 6% of the picture" in wide[0]
    assert merged.notes[0] == "set aside" and len(merged.notes) == 2


# Segments made by anonymize_video itself (span=...), joined, against a whole-file run.


def _split_run(src: Path, out: Path, detector: Detector, seconds: float = 0.9) -> tuple[Path, list[Report]]:
    segments = plan_segments(read_timeline(src), seconds)
    out.mkdir(exist_ok=True)
    parts, reports = [], []
    for k, segment in enumerate(segments):
        part = out / f"{PREFIX}part{k}.mp4"
        reports.append(anonymize_video(src, part, FAST, detector, span=segment.span()))
        parts.append(part)
    dst = out / "split.mp4"
    join_segments(parts, src, dst, FAST, segments)
    for part in parts:
        part.unlink()
    return dst, reports


def _masked_frames(path: Path) -> list[int]:
    """Frames (by position) with the face box under a solid mask."""
    return [i for i, f in enumerate(decoded(path)) if masked(f, FACE)]


def test_segments_by_anonymize_video_join_into_the_whole_runs_frames(tmp_path: Path) -> None:
    src = gop_clip(tmp_path / "in.mp4", frames=90, face=True)
    whole = tmp_path / "whole.mp4"
    anonymize_video(src, whole, FAST, FakeDetector([FACE]))

    dst, reports = _split_run(src, tmp_path / "out", FakeDetector([FACE]))

    assert len(reports) == 3
    # frame numbers are the clip's (one face track per segment)
    assert [f.first for r in reports for f in r.faces] == [0, 30, 60] and reports[-1].faces[0].last == 89
    assert frame_times(dst) == frame_times(whole) == pytest.approx(frame_times(src), abs=1e-6)
    assert numbers(dst) == list(range(90)) and audio_packets(dst) == audio_packets(src)
    assert _masked_frames(dst) == _masked_frames(whole) == list(range(90))
    with av.open(str(dst)) as a, av.open(str(whole)) as b:
        sa, sb = a.streams.video[0], b.streams.video[0]
        assert (sa.codec_context.extradata, sa.time_base) == (sb.codec_context.extradata, sb.time_base)
    assert not temp_files(tmp_path)


def test_a_face_first_seen_after_a_cut_is_back_filled_before_it(tmp_path: Path) -> None:
    """Frame 29 ends a segment; the face appears there but is first detected at 32, in the next."""
    src = gop_clip(tmp_path / "in.mp4", frames=60, draw=lambda i: numbered(i, face=[FACE] if i >= 29 else []))
    scripted = Scripted(lambda i: [FACE] if i >= 29 else [])

    dst, _ = _split_run(src, tmp_path / "out", scripted)

    assert set(range(29, 60)) <= set(_masked_frames(dst))


def test_a_face_the_detector_loses_at_a_cut_stays_masked_as_in_a_whole_run(tmp_path: Path) -> None:
    """The face shows on frames 20-40; the detector finds it only up to frame 29 (it turned away).
    A whole run holds the mask 0.5 s after the last detection; a segment from frame 30 on looks at
    the frames before it (unwritten) and holds it too."""

    def draw(i: int) -> np.ndarray:
        return numbered(i, face=[FACE] if 20 <= i <= 40 else [])

    src = gop_clip(tmp_path / "in.mp4", frames=60, draw=draw)
    scripted = Scripted(lambda i: [FACE] if 20 <= i < 30 else [])
    whole = tmp_path / "whole.mp4"
    anonymize_video(src, whole, FAST, scripted)

    dst, _ = _split_run(src, tmp_path / "out", Scripted(lambda i: [FACE] if 20 <= i < 30 else []))

    assert set(range(20, 41)) <= set(_masked_frames(whole))
    assert set(_masked_frames(dst)) >= set(_masked_frames(whole))


def test_parts_cut_between_milliseconds_keep_the_input_times(tmp_path: Path) -> None:
    """A keyframe every 25 frames at 30 fps: cuts at 0.8333 s, 1.6667 s, 2.5 s. An MP4 part's
    start is stored in milliseconds (its edit list), so it reads back a few ticks early; the join
    puts each part back on the input's times and checks every one."""
    src = gop_clip(tmp_path / "in.mp4", frames=100, gop=25, face=True)
    segments = plan_segments(read_timeline(src), 0.8)
    assert [s.first for s in segments] == [0, 25, 50, 75]
    parts = parts_of(src, segments, tmp_path / "parts")
    with av.open(str(parts[1])) as container:
        assert container.streams.video[0].start_time != segments[1].start_pts  # the container moved it

    dst, _ = _split_run(src, tmp_path / "out", FakeDetector([FACE]), 0.8)
    join_segments(parts, src, tmp_path / "plain.mp4", FAST, segments)

    for joined in (dst, tmp_path / "plain.mp4"):
        assert exact_times(joined) == exact_times(src)
    assert _masked_frames(dst) == list(range(100))
