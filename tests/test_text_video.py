"""Text in video: a name tag below a moving face is masked on every frame, held between the text
detector's looks and moved with the face; `--text off` leaves it and says so; a check that still
finds text refuses the clip. Generated clips with rendered words (Pillow's bundled font)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from conftest import ASTRONAUT_FACE
from support.clips import Scripted, decoded, frame_index, numbered, write_clip
from unseen.cli import main
from unseen.errors import VerificationFailed
from unseen.settings import Settings, TextMode
from unseen.text import text_available
from unseen.types import Detections, Image
from unseen.verify import FakeVerifier
from unseen.video import anonymize_video

W, H = 480, 360
FRAMES = 40
Box = tuple[int, int, int, int]


def face_at(i: int) -> Box:
    """The face walks right 4 px a frame and bobs up and down: the tag must follow it."""
    x, y = 60 + 4 * i, 60 + int(round(10 * np.sin(i / 4)))
    return x, y, x + 60, y + 72


def tag_at(i: int) -> Box:
    x1, y1, _, y2 = face_at(i)
    return x1 - 10, y2 + 40, x1 + 110, y2 + 72


def words_at(i: int) -> Box:
    """Where the letters are inside the tag (the part that must be black)."""
    x1, y1, _, _ = tag_at(i)
    return x1 + 6, y1 + 5, x1 + 104, y1 + 27


def strip_at(i: int) -> Box:
    """A faint second line below the tag: only a detector that looks harder finds it."""
    x1, _, x2, y2 = tag_at(i)
    return x1, y2 + 4, x2, y2 + 16


def draw(i: int, head: Image | None = None, strip: bool = False) -> Image:
    image = numbered(i, W, H)
    if head is None:
        x1, y1, x2, y2 = face_at(i)
        image[y1:y2, x1:x2] = 190  # a stand-in for the scripted detector's face: not bright
    else:
        x1, y1, x2, y2 = face_at(i)
        image[y1:y2, x1:x2] = cv2.resize(head, (x2 - x1, y2 - y1), interpolation=cv2.INTER_AREA)
    picture = PILImage.fromarray(image)
    pen = ImageDraw.Draw(picture)
    pen.rectangle(tag_at(i), fill=(250, 250, 250))
    if strip:
        pen.rectangle(strip_at(i), fill=(220, 220, 220))
    x1, y1, _, _ = tag_at(i)
    pen.text((x1 + 8, y1 + 5), "JANE DOE", fill=(10, 10, 10), font=ImageFont.load_default(size=20))
    return np.asarray(picture)


def dark(image: Image, box: Box) -> float:
    x1, y1, x2, y2 = box
    return float((image[y1:y2, x1:x2].max(axis=2) < 40).mean())


class Bright:
    """A fake text detector: each patch of near-white pixels is a text region (the tag's card)."""

    def __init__(self) -> None:
        self.calls = 0

    def threshold(self, image: Image) -> int:
        return 235

    def detect(self, image: Image) -> Detections:
        self.calls += 1
        patch = (image.min(axis=2) > self.threshold(image)).astype(np.uint8)
        outlines, _ = cv2.findContours(patch, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        boxes = [(x, y, x + w, y + h) for x, y, w, h in map(cv2.boundingRect, outlines) if w * h >= 300]
        found = np.asarray(boxes, np.float32).reshape(-1, 4)
        return Detections(found, np.ones(len(found), np.float32))


class Stubborn:
    """Finds text on the body at a new place on every call: the check can never pass."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: Image) -> Detections:
        self.calls += 1
        h, w = image.shape[:2]
        y = h * (0.3 + 0.07 * (self.calls % 9))
        return Detections(np.float32([[w * 0.35, y, w * 0.55, y + h * 0.05]]), np.float32([0.9]))


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    write_clip(path, FRAMES, (W, H), draw)
    return path


def faces() -> Scripted:
    return Scripted(lambda i: [tuple(float(v) for v in face_at(i))])


def test_a_moving_name_tag_is_masked_on_every_frame_and_counted_once(clip: Path, tmp_path: Path) -> None:
    text = Bright()
    out = tmp_path / "out.mp4"
    report = anonymize_video(clip, out, Settings(verify=False), detector=faces(), text_detector=text)
    frames = decoded(out)
    assert len(frames) == FRAMES
    shares = [dark(frame, words_at(i)) for i, frame in enumerate(frames)]
    assert min(shares) > 0.95, [round(s, 2) for s in shares]
    assert report.text is not None and report.text.mode == "people"
    assert (report.text.on_people_found, report.text.on_people_masked, report.text.on_people_left) == (
        1,
        1,
        0,
    )
    # looked at about twice a second, not on every frame
    assert 0 < text.calls < FRAMES / 3
    assert "text" in report.stages
    # nothing beyond the tag and the head is blacked out: the corner far from the person is intact
    assert dark(frames[0], (W - 80, H - 60, W, H)) == 0.0


def test_text_off_leaves_the_tag_and_the_report_says_it_was_left(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    settings = Settings(verify=False, text=TextMode.OFF)
    report = anonymize_video(clip, out, settings, detector=faces(), text_detector=Bright())
    assert max(dark(frame, words_at(i)) for i, frame in enumerate(decoded(out))) < 0.5
    assert report.text is not None and report.text.on_people_left == 1 and report.text.on_people_masked == 0


def test_all_masks_text_away_from_people_too(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    report = anonymize_video(
        clip,
        out,
        Settings(verify=False, text=TextMode.ALL),
        detector=Scripted(lambda i: []),
        text_detector=Bright(),
    )
    frames = decoded(out)
    assert min(dark(frame, words_at(i)) for i, frame in enumerate(frames)) > 0.95
    assert report.text is not None and report.text.other_masked >= 1 and report.text.on_people_found == 0


def test_text_the_check_still_finds_refuses_the_clip(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with pytest.raises(VerificationFailed, match="text region") as refused:
        anonymize_video(
            clip, out, Settings(), detector=faces(), verifier=FakeVerifier(), text_detector=Stubborn()
        )
    assert not out.exists() and not list(tmp_path.glob(".unseen*"))
    report = refused.value.report
    assert report is not None and report.verdict == "refused" and report.text is not None
    assert report.text.redetected >= 1 and report.text.rounds == 3
    forced = anonymize_video(
        clip, out, Settings(force=True), detector=faces(), verifier=FakeVerifier(), text_detector=Stubborn()
    )
    assert out.exists() and forced.verdict == "unverified"


def test_the_check_masks_harder_what_it_finds_and_the_clip_passes(tmp_path: Path) -> None:
    """A faint line the first look misses is found by the check (which looks harder once the
    tag is black), masked there, and the check passes."""

    class Harder(Bright):
        def threshold(self, image: Image) -> int:
            return 210 if (image.max(axis=2) < 40).mean() > 0.05 else 235

    src, out = tmp_path / "clip.mp4", tmp_path / "out.mp4"
    write_clip(src, FRAMES, (W, H), lambda i: draw(i, strip=True))
    report = anonymize_video(
        src, out, Settings(), detector=faces(), verifier=FakeVerifier(), text_detector=Harder()
    )
    assert report.verdict == "verified" and report.text is not None
    assert report.text.rounds >= 2 and report.text.redetected == 0
    assert report.text.on_people_masked >= 2  # the tag, and the line the check found below it
    first = decoded(out)[0]  # frame 0 is checked: its strip is black
    assert dark(first, strip_at(0)) > 0.9


needs_model = pytest.mark.skipif(not text_available(), reason="the text extra is not installed")


@needs_model
@pytest.mark.slow
def test_cli_masks_a_real_name_tag_on_every_frame_and_off_says_it_was_left(
    astronaut: Image, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real face detector, text detector and verifier, through `unseen clip.mp4`."""
    x1, y1, x2, y2 = ASTRONAUT_FACE
    head = astronaut[y1:y2, x1:x2]
    src = tmp_path / "clip.mp4"
    write_clip(src, FRAMES, (W, H), lambda i: draw(i, head))
    out, rep = tmp_path / "out.mp4", tmp_path / "r.json"
    assert main([str(src), "-o", str(out), "--report", str(rep)]) == 0
    line = capsys.readouterr().out
    frames = decoded(out)
    shares = [dark(frame, words_at(i)) for i, frame in enumerate(frames)]
    assert min(shares) > 0.9, [(i, round(s, 2)) for i, s in enumerate(shares) if s < 1]
    text = json.loads(rep.read_text())[0]["text"]
    assert text["on_people_masked"] >= 1 and text["on_people_left"] == 0 and "on people masked" in line
    off, rep_off = tmp_path / "off.mp4", tmp_path / "off.json"
    assert main([str(src), "-o", str(off), "--text", "off", "--report", str(rep_off)]) == 0
    line = capsys.readouterr().out
    left = json.loads(rep_off.read_text())[0]["text"]["on_people_left"]
    assert left >= 1 and f"{left} text region{'s' if left > 1 else ''} on people left" in line
    assert np.median([dark(frame, words_at(i)) for i, frame in enumerate(decoded(off))]) < 0.5
    assert frame_index(decoded(off)[5]) == 5  # the frames are in order, none dropped


def test_a_checked_frame_that_was_looked_at_is_looked_at_again_only_where_text_was_masked(
    tmp_path: Path,
) -> None:
    """Two people, a tag on one: the check of a looked-at frame searches the body with the tag
    again (the letters may show past their mask) but not the other body, whose pixels are the
    ones its look saw but for the face's mask."""
    width, apart = 1440, 900  # the two bodies' crops never merge

    def two(i: int) -> Image:
        image = np.zeros((H, width, 3), np.uint8)
        image[:, :W] = draw(i)
        image[:, W:] = (40, 60, 200)  # blue: where the second person stands
        x1, y1, x2, y2 = face_at(i)
        image[y1:y2, x1 + apart : x2 + apart] = 190  # the second face, no tag below it
        return image

    class Counting(Bright):
        """Counts its calls on the first person's body and on the second's (blue)."""

        def __init__(self) -> None:
            super().__init__()
            self.tagged = self.bare = 0

        def detect(self, image: Image) -> Detections:
            blue = ((image[..., 2] > 150) & (image[..., 0] < 100)).mean() > 0.3
            self.bare += int(blue)
            self.tagged += int(not blue)
            return super().detect(image)

    def both(i: int) -> list[tuple[float, ...]]:
        x1, y1, x2, y2 = face_at(i)
        return [(x1, y1, x2, y2), (x1 + apart, y1, x2 + apart, y2)]

    src, out = tmp_path / "two.mp4", tmp_path / "out.mp4"
    write_clip(src, FRAMES, (width, H), two)
    spy = Counting()
    report = anonymize_video(
        src, out, Settings(), detector=Scripted(both), verifier=FakeVerifier(), text_detector=spy
    )
    assert report.verdict == "verified"
    checked = len(range(0, FRAMES, 30))  # one a second at 30 fps: frames 0 and 30, both looked at
    assert spy.bare > 0 and spy.tagged - spy.bare == checked
    assert all(dark(frame, words_at(i)) > 0.9 for i, frame in enumerate(decoded(out)))


def test_a_tag_held_from_a_look_covers_it_when_the_face_box_is_a_little_bigger() -> None:
    """A face box 6% larger on a later frame (boxes jitter from look to look) must not move the
    tag's mask off its letters: the region rides with the face's centre and with its size."""
    from unseen.types import FaceRecord
    from unseen.video.painting import Masks
    from unseen.video.text_looks import place, tie

    record = FaceRecord((100, 100, 160, 172), 0.9, "track")
    face = np.float32([[100, 100, 160, 172]])
    then = Masks(Detections(face, np.float32([0.9])), face, [record])
    tag = Detections(np.float32([[90, 212, 210, 244]]), np.float32([0.8]))  # 1.5 faces below
    look = tie(15, tag, Detections(face, np.float32([0.9])), then, np.ones(1, np.float32))
    bigger = np.float32([[98, 98, 162, 174]])  # the same face, its box 6% larger around one centre
    now = Masks(Detections(bigger, np.float32([0.9])), bigger, [record])
    (placed,) = place(look, now)
    assert placed[0] <= 90 and placed[1] <= 212 and placed[2] >= 210 and placed[3] >= 244, placed
    scaled = np.tile(bigger[0, :2], 2) + look.offsets[0] * 64.0  # where scaling alone puts it
    assert placed[1] <= scaled[1] and placed[3] >= scaled[3]
    walked = np.float32([[130, 100, 190, 172]])  # the wearer walked 30 px: the tag goes along
    (moved,) = place(look, Masks(Detections(walked, np.float32([0.9])), walked, [record]))
    assert moved.tolist() == [120, 212, 240, 244]
