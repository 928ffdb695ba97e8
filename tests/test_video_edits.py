"""A person's corrections on a video (tracks off, masks over frame ranges), track records in the
report, and segments (spans) of a clip that a split job joins again."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from support.clips import FAST, H, Scripted, W, decoded, masked, no_temp_files, numbered, write_clip
from support.fakes import PixelAttack
from unseen.edits import Edits
from unseen.media.segments import Span
from unseen.settings import Settings
from unseen.video import anonymize_video

LEFT = (40.0, 60.0, 100.0, 130.0)
RIGHT = (200.0, 60.0, 260.0, 130.0)


def two_faces(i: int) -> list[tuple[float, float, float, float]]:
    return [LEFT, RIGHT] if 5 <= i < 25 else []


def draw_two(i: int) -> np.ndarray:
    return numbered(i, face=two_faces(i))


def test_report_lists_tracks_with_frame_ranges(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=30, draw=draw_two)
    report = anonymize_video(src, dst, FAST, Scripted(two_faces))
    assert len(report.faces) == 2
    for face in report.faces:
        assert face.track is not None and face.first is not None and face.last is not None
        assert face.first <= 5 and 24 <= face.last <= 29  # back-filled before, held after, clamped
    assert len({f.track for f in report.faces}) == 2
    again = anonymize_video(src, tmp_path / "again.mp4", FAST, Scripted(two_faces))
    assert [f.track for f in again.faces] == [f.track for f in report.faces]  # stable ids


def test_track_switched_off_is_not_masked(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=30, draw=draw_two)
    first = anonymize_video(src, tmp_path / "first.mp4", FAST, Scripted(two_faces))
    right = next(f.track for f in first.faces if f.box[0] > W / 2)
    anonymize_video(src, dst, FAST, Scripted(two_faces), edits=Edits(tracks_off=[right]))
    frames = decoded(dst)
    for i in range(8, 22):
        assert masked(frames[i], LEFT)
        assert not masked(frames[i], RIGHT) and frames[i][70:120, 210:250].mean() > 200  # shown as drawn


def test_mask_added_over_a_frame_range(tmp_path: Path) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=30)
    box = [120.0, 100.0, 180.0, 170.0]
    edits = Edits(added_ranges=[{"box": box, "first": 10, "last": 19}], mask="solid")
    anonymize_video(src, dst, FAST, Scripted(lambda i: []), edits=edits)
    frames = decoded(dst)
    assert [i for i, f in enumerate(frames) if masked(f, (130, 110, 170, 160))] == list(range(10, 20))


def test_box_added_on_every_frame_and_rotation(tmp_path: Path) -> None:
    """Edit boxes are in upright pixels; a clip shown rotated is coded the other way round."""
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=12, rotation=90)  # shown as a 240 x 320 portrait picture
    upright = (20.0, 200.0, 80.0, 280.0)  # near the bottom left of the portrait picture
    anonymize_video(src, dst, FAST, Scripted(lambda i: []), edits=Edits(added=[upright]))
    with av.open(str(dst)) as container:
        frame = next(container.decode(video=0))
        turns = round(frame.rotation / 90) % 4
        picture = np.rot90(frame.to_ndarray(format="rgb24"), turns)
    assert picture.shape[:2] == (W, H)
    assert masked(picture, (30, 215, 70, 265))
    assert not masked(picture, (160, 30, 220, 100))


def keyframed_clip(path: Path, frames: int = 60, gop: int = 15) -> list[int]:
    """A clip with a keyframe every `gop` frames and a face on frames 20-35; its keyframe pts."""
    with av.open(str(path), "w") as out:
        video = out.add_stream(
            "libx264",
            rate=30,
            options={"preset": "ultrafast", "g": str(gop), "keyint_min": str(gop), "sc_threshold": "0"},
        )
        video.width, video.height, video.pix_fmt = W, H, "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(numbered(i, face=on_20_to_35(i)), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 30)
            out.mux(video.encode(frame))
        out.mux(video.encode())
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(p.pts for p in container.demux(stream) if p.is_keyframe and p.pts is not None)


def on_20_to_35(i: int) -> list[tuple[float, float, float, float]]:
    return [LEFT] if 20 <= i < 36 else []


def test_span_writes_its_frames_only_with_global_numbers(tmp_path: Path) -> None:
    src = tmp_path / "in.mp4"
    keys = keyframed_clip(src)
    tick = keys[1] // 15  # pts per frame in the file's time base
    assert keys == [0, 15 * tick, 30 * tick, 45 * tick]
    whole = decoded_masks(src, tmp_path / "whole.mp4")
    numbers: list[int] = []
    seen: list[bool] = []
    for k, start in enumerate(keys):
        end = keys[k + 1] if k + 1 < len(keys) else None
        part = tmp_path / f"part{k}.mp4"
        report = anonymize_video(src, part, FAST, Scripted(on_20_to_35), span=Span(start // tick, start, end))
        with av.open(str(part)) as container:
            assert not container.streams.audio  # a segment is video only: the join adds the audio
        with av.open(str(part)) as container:
            numbers += [f.pts // tick for f in container.decode(video=0)]  # masks may hide drawn numbers
        frames = decoded(part)
        seen += [masked(f, LEFT) for f in frames]
        for face in report.faces:
            assert face.first is not None and face.last is not None
            assert 15 * k <= face.first <= face.last < 15 * k + 15  # the clip's frame numbers, clamped
    assert numbers == list(range(60))
    assert all(seen[20:36])
    # segment 0 looks past its end: the face first detected on frame 20 is back-filled into it
    assert seen[10:15] == whole[10:15] == [True] * 5
    assert seen[:5] == [False] * 5 and seen[-5:] == [False] * 5
    assert no_temp_files(tmp_path)


def decoded_masks(src: Path, dst: Path) -> list[bool]:
    anonymize_video(src, dst, FAST, Scripted(on_20_to_35))
    return [masked(f, LEFT) for f in decoded(dst)]


def test_sidecar_edits_apply_to_a_video(tmp_path: Path) -> None:
    """`unseen` and `unseen batch` pick up what `unseen review` saved beside the output."""
    from unseen.edits import sidecar_for
    from unseen.pipeline import anonymize_file

    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=20)
    Edits(added_ranges=[{"box": [120, 100, 180, 170], "first": 3, "last": 6}]).save(sidecar_for(dst))
    anonymize_file(src, dst, FAST, detector=Scripted(lambda i: []))
    frames = decoded(dst)
    assert [i for i, f in enumerate(frames) if masked(f, (130, 110, 170, 160))] == [3, 4, 5, 6]


def test_big_frames_look_for_small_faces_less_often_yet_mask_them_throughout(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    """At 1080p the whole picture is looked at half size 2.5 times a second and at full size
    once (and at 2x on the first look); between, only crops around the faces seen: a face too
    small for the half-size pass is still masked on every frame, big faces too."""
    import cv2

    from unseen.detect import CenterFace, cadence

    crop = np.ascontiguousarray(astronaut[20:240, 120:330])
    small, big = cv2.resize(crop, (48, 50), interpolation=cv2.INTER_AREA), cv2.resize(crop, (420, 440))
    face = np.float32([181 - 120, 61 - 20, 271 - 120, 180 - 20]) / 210  # the face in the crop, 0-1

    def draw(i: int) -> np.ndarray:
        image = numbered(i, 1920, 1080)
        image[500:550, 300 + 2 * i : 348 + 2 * i] = small
        image[200:640, 1200 - 5 * i : 1620 - 5 * i] = big
        return image

    scales: list[float] = []  # of the whole-picture runs
    crops: list[float] = []

    class Spy(CenterFace):
        def detect_at(self, image: np.ndarray, scale: float, *args: object, **kw: object) -> object:
            (scales if image.shape[:2] == (1080, 1920) else crops).append(scale)
            return super().detect_at(image, scale, *args, **kw)  # type: ignore[arg-type]

    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=26, size=(1920, 1080), draw=draw)
    anonymize_video(src, dst, FAST, Spy(threshold=0.2))
    plan = cadence.Cadence.for_clip(30, 1920, 1080, scalable=True)
    fine = len(range(0, 26, plan.fine_every))  # full size alone on those: it sees big faces too
    # and the clip's last frame (25, off the cadence) is looked at whole, at full size: a face
    # come into view since the last whole look has no later one
    assert scales.count(0.5) == len(range(0, 26, plan.full_every)) - fine
    assert scales.count(1.0) == fine + 1
    # and the first look sees the whole picture at 2x too (small faces that stand still); the
    # sweep's later parts at 2x are crops
    assert plan.sweep and scales[:2] == [1.0, 2.0] and scales.count(2.0) == 1
    assert len(scales) == len(range(0, 26, plan.full_every)) + 2
    looks = len(range(0, 26, plan.every)) - len(range(0, 26, plan.full_every))
    assert len(crops) >= 2 * looks  # a crop for each of the two faces on every other look
    for i, image in enumerate(decoded(dst)):
        for x, y, w, h in ((300 + 2 * i, 500, 48, 50), (1200 - 5 * i, 200, 420, 440)):
            box = (x + face[0] * w, y + face[1] * h, x + face[2] * w, y + face[3] * h)
            assert masked(image, box), f"frame {i} shows the face at {x}, {y}"


def test_switched_off_track_is_not_in_the_report_and_a_given_verifier_attacks(tmp_path: Path) -> None:
    from unseen.types import Check

    class Counting:
        calls = 0

        def check(
            self,
            original: np.ndarray,
            masked: np.ndarray,
            faces: object,
            area: np.ndarray,
            opaque: object = None,
        ) -> Check:
            Counting.calls += 1
            return Check()

    src = tmp_path / "in.mp4"
    write_clip(src, frames=30, draw=draw_two)
    first = anonymize_video(src, tmp_path / "a.mp4", FAST, Scripted(two_faces))
    off = first.faces[0].track
    assert off is not None
    report = anonymize_video(
        src,
        tmp_path / "b.mp4",
        Settings(),
        Scripted(two_faces),
        edits=Edits(tracks_off=[off]),
        verifier=Counting(),
    )
    assert [f.track for f in report.faces] == [f.track for f in first.faces[1:]]
    assert Counting.calls == 1 and report.verdict == "verified"  # frame 0 of a 1 s clip


def test_a_face_only_the_check_finds_stays_masked_while_it_is_found(tmp_path: Path) -> None:
    """The check finds a face the detector never sees: it is masked around that frame, and the
    frame after the mask's hold is checked too, so the mask runs on without gaps."""
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=75, draw=lambda i: numbered(i, face=[LEFT]))
    verifier = PixelAttack()
    report = anonymize_video(src, dst, Settings(), Scripted(lambda i: []), verifier=verifier)
    frames = decoded(dst)
    assert [i for i, f in enumerate(frames) if not masked(f, LEFT)] == []
    assert report.verdict == "verified" and {f.source for f in report.faces} == {"check"}
    assert len(verifier.sizes) > 2 * len(range(0, 75, 30))  # follow-ups beyond the 1-a-second checks


@pytest.mark.parametrize("rotation", [None, 90])
def test_follow_up_checks_look_only_around_what_was_found(tmp_path: Path, rotation: int | None) -> None:
    src, dst = tmp_path / "in.mp4", tmp_path / "out.mp4"
    write_clip(src, frames=75, draw=lambda i: numbered(i, face=[RIGHT]), rotation=rotation)
    attack = PixelAttack()
    anonymize_video(src, dst, Settings(), Scripted(lambda i: []), verifier=attack)
    assert [i for i, f in enumerate(decoded(dst)) if not masked(f, RIGHT)] == []
    whole = (W, H) if rotation else (H, W)
    assert whole in attack.sizes and any(size != whole for size in attack.sizes)  # parts, not frames


def test_a_track_switched_off_stays_bare_though_the_check_finds_it(tmp_path: Path) -> None:
    """A person switched off a face's track (a consenting speaker): the attacker still finds the
    face on every checked frame, and it stays bare on every frame, as asked, not masked again
    around the checked frames (a flicker) nor refused. The check lists it apart and the line
    says so; the other face stays masked."""
    from unseen.cli import summary
    from unseen.types import Report, Verdict

    src = tmp_path / "in.mp4"
    write_clip(src, frames=60, draw=lambda i: numbered(i, face=[LEFT, RIGHT]))
    both = Scripted(lambda i: [LEFT, RIGHT])
    first = anonymize_video(src, tmp_path / "a.mp4", FAST, both)
    right = next(f.track for f in first.faces if f.box[0] > W / 2)
    dst = tmp_path / "b.mp4"
    attack = PixelAttack()
    report = anonymize_video(src, dst, Settings(), both, edits=Edits(tracks_off=[right]), verifier=attack)
    frames = decoded(dst)
    assert [i for i, f in enumerate(frames) if masked(f, RIGHT) or not masked(f, LEFT)] == []
    assert report.verdict is Verdict.VERIFIED and report.check is not None
    assert report.check.left_bare and {f.frame for f in report.check.left_bare} == {0, 30}
    assert all(f.box[0] > W / 2 for f in report.check.left_bare)
    assert not report.check.findings and "check" not in {f.source for f in report.faces}
    assert "where the review said to leave a face bare (frames 0, 30)" in summary(report)
    assert Report.from_dict(report.to_dict()) == report
