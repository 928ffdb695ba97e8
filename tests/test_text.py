"""Text on people and elsewhere: masked by mode, proved by re-detection, through the public entry
points, on generated photos with rendered words (Pillow's bundled font: no Debian font needed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import unseen
from conftest import ASTRONAUT_FACE
from unseen.cli import main
from unseen.detect.base import FakeDetector
from unseen.errors import MissingExtra, VerificationFailed
from unseen.settings import Settings, TextMode
from unseen.text import FakeTextDetector, PPOCRText, find_text, protect_text, text_available
from unseen.types import Detections
from unseen.verify import FakeVerifier

FACE = (150, 60, 260, 200)  # where the scene pastes a head
TAG = (150, 250, 290, 290)  # a name tag on the chest below it
SIGN = (520, 80, 880, 200)  # a placard beside the person: the point of the photo, not on a body
TAG_INK, SIGN_INK = (250, 250, 250), (245, 240, 200)  # their background colours


def scene(astronaut: np.ndarray) -> np.ndarray:
    """900 x 600: a pasted head with a name tag on the chest below it, and a sign to the side."""
    rng = np.random.default_rng(3)
    canvas = rng.integers(120, 150, size=(600, 900, 3), dtype=np.uint8)
    x1, y1, x2, y2 = ASTRONAUT_FACE
    head = Image.fromarray(astronaut[y1:y2, x1:x2]).resize((FACE[2] - FACE[0], FACE[3] - FACE[1]))
    image = Image.fromarray(canvas)
    image.paste(head, FACE[:2])
    draw = ImageDraw.Draw(image)
    draw.rectangle(TAG, fill=TAG_INK)
    draw.text((TAG[0] + 8, TAG[1] + 6), "JANE DOE", fill=(10, 10, 10), font=ImageFont.load_default(size=26))
    draw.rectangle(SIGN, fill=SIGN_INK)
    draw.text((SIGN[0] + 20, SIGN[1] + 25), "NO WAR", fill=(180, 0, 0), font=ImageFont.load_default(size=64))
    return np.asarray(image)


def dark_share(image: np.ndarray, box: tuple[int, int, int, int]) -> float:
    x1, y1, x2, y2 = box
    return float((image[y1:y2, x1:x2].max(axis=2) < 30).mean())


FACES = Detections(np.float32([FACE]), np.float32([0.9]))


# --- the step itself, with a fake text detector --------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "tag_masked", "sign_masked", "left"),
    [(TextMode.PEOPLE, True, False, 0), (TextMode.ALL, True, True, 0), (TextMode.OFF, False, False, 1)],
)
def test_each_mode_masks_its_text_and_counts_what_it_left(
    astronaut: np.ndarray, mode: TextMode, tag_masked: bool, sign_masked: bool, left: int
) -> None:
    image = scene(astronaut)
    fake = FakeTextDetector([TAG_INK, SIGN_INK])
    out, report, passed = protect_text(image, image, FACES, Settings(text=mode), fake)
    assert passed
    assert (dark_share(out, TAG) == 1.0) is tag_masked
    assert (dark_share(out, SIGN) == 1.0) is sign_masked
    assert report.on_people_found == 1 and report.on_people_left == left
    assert report.other_found == (
        1 if mode is TextMode.ALL else 0
    )  # off and people never search away from bodies
    assert report.rounds == (0 if mode is TextMode.OFF else 1)
    assert np.array_equal(image, scene(astronaut))  # the input is not changed


def dark_patches(image: np.ndarray, least: int = 1500) -> list[tuple[int, int, int, int]]:
    """(x, y, w, h) of each solid black patch of at least `least` pixels: a mask, not the dark
    fringe an enlarged letter gets."""
    dark = (image.max(axis=2) == 0).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    return [(x, y, w, h) for x, y, w, h, area in stats[1:count] if area >= least]


class Stubborn(FakeTextDetector):
    """Finds the tag by its ink; after masking, always a letter just past the right edge of each
    mask, however much it grows (as a word longer than its box): verification must refuse."""

    def __init__(self) -> None:
        super().__init__([TAG_INK])

    def detect(self, image: np.ndarray) -> Detections:
        found = super().detect(image)
        past = [(x + w + 1, y, x + w + 21, y + 20) for x, y, w, h in dark_patches(image)]
        letters = Detections(np.float32(past).reshape(-1, 4), np.full(len(past), 0.9, np.float32))
        return Detections.merge([found, letters])


LINE = (150, 300, 290, 322)  # a second line of text just below the tag
LINE_INK = (235, 235, 250)
FAR_FACE = (1100, 100, 1160, 180)  # a second, smaller person far to the right: a crop of its own
FAR_TAG = (1090, 200, 1190, 230)
BLUE = (40, 60, 200)  # where the second person stands


class Revealed(FakeTextDetector):
    """Finds the tags by their ink, and the line below the first only in a picture that holds a
    mask (as letters a dark mask's contrast brings out): the first look misses it, the check
    finds it. Counts its calls on the second person's (blue) side and on the rest."""

    def __init__(self) -> None:
        super().__init__([TAG_INK])
        self.line = FakeTextDetector([LINE_INK])
        self.blue = self.other = 0

    def detect(self, image: np.ndarray) -> Detections:
        on_blue = bool(((image[..., 2] > 150) & (image[..., 0] < 100)).mean() > 0.3)
        self.blue += on_blue
        self.other += not on_blue
        found = super().detect(image)
        return Detections.merge([found, self.line.detect(image)]) if dark_patches(image) else found


def with_line(image: np.ndarray) -> np.ndarray:
    out = image.copy()
    x1, y1, x2, y2 = LINE
    out[y1:y2, x1:x2] = LINE_INK
    return out


def test_text_found_again_after_masking_is_masked_then_the_check_passes(astronaut: np.ndarray) -> None:
    image = with_line(scene(astronaut))
    out, report, passed = protect_text(image, image, FACES, Settings(), Revealed())
    assert passed and report.rounds == 2 and report.on_people_masked == 2 and report.redetected == 0
    second = report.regions[-1].box
    assert second[1] >= LINE[1] - 1 and dark_share(out, LINE) == 1.0 and dark_share(out, TAG) == 1.0


def two_people(astronaut: np.ndarray) -> np.ndarray:
    """1600 x 700: the scene's person with a name tag and a line below it, and on blue far to the
    right a second person with a tag."""
    canvas = np.random.default_rng(4).integers(120, 150, size=(700, 1600, 3), dtype=np.uint8)
    canvas[:600, :900] = with_line(scene(astronaut))
    canvas[SIGN[1] : SIGN[3], SIGN[0] : SIGN[2]] = 135  # no sign: text on people only
    canvas[:, 1000:] = BLUE
    x1, y1, x2, y2 = ASTRONAUT_FACE
    head = Image.fromarray(astronaut[y1:y2, x1:x2]).resize(
        (FAR_FACE[2] - FAR_FACE[0], FAR_FACE[3] - FAR_FACE[1])
    )
    image = Image.fromarray(canvas)
    image.paste(head, FAR_FACE[:2])
    ImageDraw.Draw(image).rectangle(FAR_TAG, fill=TAG_INK)
    return np.asarray(image)


def test_a_second_round_looks_again_only_where_the_first_changed_the_masks(astronaut: np.ndarray) -> None:
    """Two people, each with a name tag in a crop of its own: after masking, the check looks
    around both tags' masks; a line is found below one, so the second round looks only around
    that one (the other's pixels are those the first round passed)."""
    image = two_people(astronaut)
    faces = Detections(np.float32([FACE, FAR_FACE]), np.float32([0.9, 0.9]))
    detector = Revealed()
    out, report, passed = protect_text(image, image, faces, Settings(), detector)
    assert passed and report.rounds == 2 and report.on_people_left == 0
    assert dark_share(out, TAG) == 1.0 and dark_share(out, FAR_TAG) == 1.0 and dark_share(out, LINE) == 1.0
    assert detector.blue == 2 and detector.other == 3  # the look and round 1 on both; round 2 on one


def test_text_that_stays_found_refuses_the_image(astronaut: np.ndarray, tmp_path: Path) -> None:
    image = scene(astronaut)
    _, report, passed = protect_text(image, image, FACES, Settings(), Stubborn())
    assert not passed and report.redetected == 1 and report.rounds == 3
    src = tmp_path / "s.png"
    Image.fromarray(image).save(src)
    faked = {"detector": FakeDetector([FACE]), "verifier": FakeVerifier()}
    with pytest.raises(VerificationFailed, match="text region"):
        unseen.anonymize_file(src, tmp_path / "o.png", text_detector=Stubborn(), **faked)  # type: ignore[arg-type]
    assert not (tmp_path / "o.png").exists()
    forced = unseen.anonymize_file(
        src,
        tmp_path / "o.png",
        Settings(force=True),
        text_detector=Stubborn(),
        **faked,  # type: ignore[arg-type]
    )
    assert forced.verdict == "unverified" and (tmp_path / "o.png").exists()


def test_without_the_text_extra_off_still_works_and_other_modes_name_the_extra(
    astronaut: np.ndarray, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import unseen.text.model as model

    monkeypatch.setattr(model, "DISTRIBUTION", "no-such-distribution-here")
    assert not text_available()
    image = scene(astronaut)
    out, report, passed = protect_text(image, image, FACES, Settings(text=TextMode.OFF))
    assert passed and not report.checked and out is image
    with pytest.raises(MissingExtra, match=r"unseen\[text\]"):
        protect_text(image, image, FACES, Settings(text=TextMode.PEOPLE))
    src = tmp_path / "s.png"
    Image.fromarray(image).save(src)
    assert main([str(src), "-o", str(tmp_path / "o.png")]) == 1
    assert "pip install 'unseen[text]'" in capsys.readouterr().err
    assert main([str(src), "-o", str(tmp_path / "o.png"), "--text", "off", "--no-verify"]) == 0
    assert "text not checked" in capsys.readouterr().out


# --- the real PP-OCR detector ----------------------------------------------------------------------


needs_model = pytest.mark.skipif(
    not text_available(), reason="the text extra (rapidocr-onnxruntime) is absent"
)


@needs_model
@pytest.mark.slow
def test_the_real_detector_finds_rendered_words(astronaut: np.ndarray) -> None:
    image = scene(astronaut)
    found = PPOCRText().detect(image)
    centres = (found.boxes[:, :2] + found.boxes[:, 2:]) / 2

    def hit(box: tuple[int, int, int, int]) -> bool:
        x1, y1, x2, y2 = box
        inside = (centres[:, 0] > x1) & (centres[:, 0] < x2) & (centres[:, 1] > y1) & (centres[:, 1] < y2)
        return bool(inside.any())

    assert hit(TAG) and hit(SIGN)
    assert not hit((300, 300, 900, 600))  # the plain background holds no text
    plain = np.full((200, 300, 3), 128, np.uint8)
    assert len(PPOCRText().detect(plain)) == 0


@needs_model
@pytest.mark.slow
@pytest.mark.parametrize(("mode", "sign_kept"), [("people", True), ("all", False), ("off", True)])
def test_cli_masks_text_by_mode_and_the_line_says_what_was_left(
    astronaut: np.ndarray, tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str, sign_kept: bool
) -> None:
    src = tmp_path / "scene.png"
    Image.fromarray(scene(astronaut)).save(src)
    out, rep = tmp_path / "out.png", tmp_path / "r.json"
    assert main([str(src), "-o", str(out), "--text", mode, "--report", str(rep)]) == 0
    line = capsys.readouterr().out
    masked = np.asarray(Image.open(out).convert("RGB"))
    text = json.loads(rep.read_text())[0]["text"]
    assert text["mode"] == mode and text["on_people_found"] >= 1
    if mode == "off":
        assert dark_share(masked, TAG) < 0.5
        assert f"{text['on_people_left']} text region" in line and "on people left" in line
    else:
        # the words are masked (the gap between two words may stay: no letter is in it)
        assert dark_share(masked, (TAG[0] + 8, TAG[1] + 6, TAG[0] + 120, TAG[1] + 30)) > 0.85
        assert text["on_people_left"] == 0 and "on people masked" in line
        assert text["redetected"] == 0 and text["rounds"] >= 1
        # proved: the detector finds no text on the person in what was written
        again = find_text(masked, FACES, TextMode.PEOPLE, PPOCRText())
        assert not any(r for r in again.boxes if TAG[0] - 20 < (r[0] + r[2]) / 2 < TAG[2] + 20 and r[1] > 200)
    sign_dark = dark_share(masked, (SIGN[0] + 20, SIGN[1] + 25, SIGN[2] - 20, SIGN[3] - 20))
    assert (sign_dark < 0.5) is sign_kept
    assert all(set(r) == {"box", "score", "on_person", "masked"} for r in text["regions"])  # never pixels


@needs_model
@pytest.mark.slow
def test_anonymize_file_masks_text_on_people_by_default(astronaut: np.ndarray, tmp_path: Path) -> None:
    src = tmp_path / "scene.jpg"
    Image.fromarray(scene(astronaut)).save(src, quality=95)
    report = unseen.anonymize_file(src)
    assert report.text is not None and report.text.mode == "people" and report.text.on_people_masked >= 1
    masked = np.asarray(Image.open(tmp_path / "scene.unseen.jpg").convert("RGB"))
    assert dark_share(masked, (TAG[0] + 8, TAG[1] + 6, TAG[0] + 120, TAG[1] + 30)) > 0.9


@needs_model
@pytest.mark.slow
def test_the_demo_masks_the_astronauts_name_patch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--folder", str(tmp_path)]) == 0
    line = capsys.readouterr().out
    assert "1 text region on people masked" in line or "text regions on people masked" in line
    masked = np.asarray(Image.open(tmp_path / "astronaut.unseen.jpg").convert("RGB"))
    # "EILEEN M. COLLINS" on the name patch, right of the zip, below the wings (512 x 512 photo)
    assert dark_share(masked, (286, 366, 314, 375)) > 0.9


@needs_model
@pytest.mark.slow
def test_a_text_run_never_imports_onnxruntime(tmp_path: Path, astronaut: np.ndarray) -> None:
    """The weights ship in rapidocr-onnxruntime, which imports onnxruntime: unseen reads the file
    only, so neither is ever loaded (onnxruntime's builds carry telemetry: SECURITY.md)."""
    src = tmp_path / "scene.png"
    Image.fromarray(scene(astronaut)).save(src)
    code = (
        "import sys\nfrom unseen.cli import main\n"
        f"rc = main([{str(src)!r}, '-o', {str(tmp_path / 'o.png')!r}, '--text', 'all', '-q'])\n"
        "assert not {'onnxruntime', 'rapidocr_onnxruntime'} & set(sys.modules), 'imported'\n"
        "sys.exit(rc)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr


def test_a_video_frame_gets_the_same_rule_without_a_recheck(astronaut: np.ndarray) -> None:
    from unseen.text import mask_text_in_frame

    frame = scene(astronaut)
    fake = FakeTextDetector([TAG_INK, SIGN_INK])
    out, regions, left = mask_text_in_frame(frame, frame, FACES, TextMode.PEOPLE, fake)
    assert len(regions) == 1 and left == 0 and dark_share(out, TAG) == 1.0 and dark_share(out, SIGN) == 0.0
    out, regions, left = mask_text_in_frame(frame, frame, FACES, TextMode.OFF, fake)
    assert len(regions) == 0 and left == 1 and out is frame
    out, regions, _ = mask_text_in_frame(frame, frame, Detections.empty(), TextMode.ALL, fake)
    assert len(regions) == 2 and dark_share(out, SIGN) == 1.0  # `all` needs no face


def test_no_face_means_people_mode_looks_nowhere(astronaut: np.ndarray) -> None:
    image = scene(astronaut)
    fake = FakeTextDetector([TAG_INK, SIGN_INK])
    out, report, passed = protect_text(image, image, Detections.empty(), Settings(), fake)
    assert passed and fake.calls == 0 and report.on_people_found == 0 and np.array_equal(out, image)
