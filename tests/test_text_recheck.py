"""The check after masking looks again only where masking changed what the look saw: around each
text mask, in the crop's scale, with context."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from test_text import FACE, FACES, SIGN, SIGN_INK, TAG, TAG_INK, scene
from unseen.pipeline import anonymize_file
from unseen.redact import apply_masks
from unseen.settings import Settings, TextMode
from unseen.text import FakeTextDetector, PPOCRText, find_text, protect_text, text_available
from unseen.text.protect import CHECK_CONTEXT, _crops, find_text_near
from unseen.types import Detections
from unseen.verify import FakeVerifier


def test_only_text_near_a_mask_is_looked_at_again(astronaut: np.ndarray) -> None:
    image = scene(astronaut)
    fake = FakeTextDetector([TAG_INK, SIGN_INK])
    whole = find_text(image, FACES, TextMode.ALL, fake)
    assert len(whole) == 2
    # a mask on the tag: the tag is found again where the whole look found it; the sign is not
    near = find_text_near(image, FACES, TextMode.ALL, fake, np.float32([TAG]))
    tag = whole.boxes[np.argmin(np.abs(whole.boxes[:, 1] - TAG[1]))]
    assert len(near) == 1 and np.allclose(near.boxes[0], tag, atol=2)
    near = find_text_near(image, FACES, TextMode.ALL, fake, np.float32([SIGN]))
    assert len(near) == 1 and near.boxes[0][0] >= SIGN[0] - 1
    assert len(find_text_near(image, FACES, TextMode.ALL, fake, np.empty((0, 4), np.float32))) == 0


class Scales(FakeTextDetector):
    """Records the scale and size of each call; sizes itself like PP-OCR (at least 960 px)."""

    def __init__(self, inks: list[tuple[int, int, int]] | None = None) -> None:
        super().__init__(inks or [TAG_INK])
        self.asked: list[float | None] = []
        self.sizes: list[tuple[int, int]] = []

    def scale_for(self, width: int, height: int) -> float:
        return min(960 / max(width, height), 3.0) if max(width, height) < 960 else 1.0

    def detect(self, image: np.ndarray, scale: float | None = None) -> object:  # type: ignore[override]
        self.asked.append(scale)
        self.sizes.append(image.shape[:2])
        return super().detect(image)


def test_a_window_is_fed_to_the_network_at_the_whole_crops_scale(astronaut: np.ndarray) -> None:
    image = scene(astronaut)
    fake = Scales()
    find_text_near(image, FACES, TextMode.PEOPLE, fake, np.float32([TAG]))
    [((x1, y1, x2, y2), scale)] = _crops(image.shape, FACES, TextMode.PEOPLE)
    whole = fake.scale_for(round((x2 - x1) * scale), round((y2 - y1) * scale))
    window = fake.scale_for(round((TAG[2] - TAG[0] + 80) * scale), round((TAG[3] - TAG[1] + 80) * scale))
    assert whole != window  # PP-OCR alone would blow the small window up more than the crop
    assert fake.asked == [whole]
    # the window holds CHECK_CONTEXT network pixels of picture around the mask, no more
    context = CHECK_CONTEXT / (scale * whole)
    h, w = fake.sizes[0]
    assert abs(w - (TAG[2] - TAG[0] + 2 * context) * scale) <= 2 * scale + 1  # whole pixels
    assert abs(h - (min(y2, TAG[3] + context) - max(y1, TAG[1] - context)) * scale) <= 2 * scale + 1


def test_what_a_window_finds_far_from_its_mask_is_dropped(astronaut: np.ndarray) -> None:
    """A window's own border reads as an edge to DB: what it finds beyond half the context from
    every mask is not counted (that picture is the one the first look saw)."""

    class Corner(FakeTextDetector):
        def detect(self, image: np.ndarray) -> Detections:
            found = super().detect(image)
            corner = Detections(np.float32([[0, 0, 12, 12]]), np.float32([0.9]))
            return Detections.merge([found, corner])

    image = scene(astronaut)
    near = find_text_near(image, FACES, TextMode.PEOPLE, Corner([TAG_INK]), np.float32([TAG]))
    assert len(near) == 1 and near.boxes[0][1] >= TAG[1] - 2


def test_a_crop_mostly_under_its_windows_is_looked_at_whole(astronaut: np.ndarray) -> None:
    """Two masks at a body's sides: their windows, apart, would cover most of the crop, so the
    crop is looked at once, whole, instead of twice."""
    image = scene(astronaut)
    [((x1, y1, x2, y2), scale)] = _crops(image.shape, FACES, TextMode.PEOPLE)
    fake = Scales()
    context = CHECK_CONTEXT / (scale * fake.scale_for(round((x2 - x1) * scale), round((y2 - y1) * scale)))
    side = 0.42 * (x2 - x1) - context  # each window ~42% of the crop's width, a gap between
    assert side > 10
    masks = np.float32([[x1, y1, x1 + side, y2], [x2 - side, y1, x2, y2]])
    find_text_near(image, FACES, TextMode.PEOPLE, fake, masks)
    assert fake.sizes == [(round((y2 - y1) * scale), round((x2 - x1) * scale))]


@pytest.mark.skipif(not text_available(), reason="needs the text extra")
def test_the_real_detector_finds_in_a_window_what_the_whole_crop_look_finds(astronaut: np.ndarray) -> None:
    """PP-OCR's DB on a name tag whose mask covers only its first word: the window around the mask
    finds the second word, as the look at the whole body does, at the same place."""
    image = scene(astronaut).copy()
    x1, y1, x2, y2 = TAG
    half = (x1, y1 - 4, x1 + 70, y2 + 4)  # "JANE" under the mask, "DOE" bare
    image[half[1] : half[3], half[0] : half[2]] = 0
    detector = PPOCRText()
    whole = find_text(image, FACES, TextMode.PEOPLE, detector)
    near = find_text_near(image, FACES, TextMode.PEOPLE, detector, np.float32([half]))

    def bare(found: Detections) -> np.ndarray:
        b = found.boxes
        return b[(b[:, 2] > half[2] + 10) & (b[:, 1] < y2) & (b[:, 3] > y1)]

    assert len(bare(whole)) == 1 and len(bare(near)) == 1
    assert np.allclose(bare(whole)[0], bare(near)[0], atol=3)


def two_people(astronaut: np.ndarray) -> tuple[np.ndarray, Detections]:
    """The scene's tagged person, and a second, untagged one on blue far to the right."""
    image = np.full((1500, 3000, 3), 135, np.uint8)  # room enough that the bodies are two crops
    image[:600, :900] = scene(astronaut)
    image[:, 1500:] = (40, 60, 200)
    dx = 2000
    second = np.float32([FACE[0] + dx, FACE[1], FACE[2] + dx, FACE[3]])
    image[FACE[1] : FACE[3], FACE[0] + dx : FACE[2] + dx] = image[FACE[1] : FACE[3], FACE[0] : FACE[2]]
    return image, Detections(np.float32([FACE, second]), np.float32([0.9, 0.9]))


class Counting(FakeTextDetector):
    """Counts its calls, and those on the second person's (blue) body."""

    def __init__(self, inks: list[tuple[int, int, int]]) -> None:
        super().__init__(inks)
        self.blue = 0

    def detect(self, image: np.ndarray) -> object:  # type: ignore[override]
        self.blue += int(((image[..., 2] > 150) & (image[..., 0] < 100)).mean() > 0.3)
        return super().detect(image)


def test_the_check_looks_again_only_at_the_bodies_holding_text_masks(astronaut: np.ndarray) -> None:
    """The scene's person wears a tag; a second person (on blue, far to the right) wears none.
    After masking, the check searches the tagged body again, not the other: but for the faces'
    masks its pixels are those the look saw. With no text masked at all, no second look."""
    image, faces = two_people(astronaut)
    settings = Settings()
    masked = apply_masks(image, faces, settings.mask, settings.shape, settings.grow)
    fake = Counting([TAG_INK])
    out, report, passed = protect_text(image, masked, faces, settings, fake)
    assert passed and report.on_people_masked >= 1 and report.rounds == 1
    assert fake.calls == 3 and fake.blue == 1  # the look: both bodies; the check: the tagged one

    fake = Counting([(1, 2, 3)])  # an ink on nobody: no text found
    out, report, passed = protect_text(image, masked, faces, settings, fake)
    assert passed and report.on_people_found == 0 and fake.calls == 2


def test_anonymize_file_checks_only_the_tagged_body_again(astronaut: np.ndarray, tmp_path: Path) -> None:
    """The same through the public entry point, on a file: written, verified, the tag masked."""
    image, faces = two_people(astronaut)

    class Known:
        def detect(self, image: np.ndarray) -> Detections:
            return faces

    src, dst = tmp_path / "two.png", tmp_path / "two.unseen.png"
    PILImage.fromarray(image).save(src)
    fake = Counting([TAG_INK])
    verifier = FakeVerifier()
    report = anonymize_file(src, dst, Settings(), detector=Known(), verifier=verifier, text_detector=fake)
    assert report.verdict == "verified" and report.text is not None and report.text.on_people_masked >= 1
    assert fake.calls == 3 and fake.blue == 1
    out = np.asarray(PILImage.open(dst).convert("RGB"))
    x1, y1, x2, y2 = TAG
    assert (out[y1 + 8 : y2 - 8, x1 + 8 : x2 - 8].max(axis=2) < 40).mean() > 0.9
