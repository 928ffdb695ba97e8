"""The check after masking looks again only where masking could change what the look saw."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image as PILImage

from test_text import FACE, FACES, SIGN, SIGN_INK, TAG, TAG_INK, scene
from unseen.pipeline import anonymize_file
from unseen.redact import apply_masks
from unseen.settings import Settings, TextMode
from unseen.text import FakeTextDetector, find_text, protect_text
from unseen.text.protect import _crops, find_text_near
from unseen.types import Detections
from unseen.verify import FakeVerifier


def changed_at(shape: tuple[int, ...], box: tuple[int, int, int, int]) -> np.ndarray:
    area = np.zeros(shape[:2], bool)
    x1, y1, x2, y2 = box
    area[y1:y2, x1:x2] = True
    return area


def test_only_text_near_a_change_is_looked_at_again(astronaut: np.ndarray) -> None:
    image = scene(astronaut)
    fake = FakeTextDetector([TAG_INK, SIGN_INK])
    whole = find_text(image, FACES, TextMode.ALL, fake)
    assert len(whole) == 2
    # a change at the tag: the tag is found again where the whole look found it; the sign is not looked at
    near = find_text_near(image, FACES, TextMode.ALL, fake, changed_at(image.shape, TAG))
    assert len(near) == 1 and np.allclose(
        near.boxes[0], whole.boxes[np.argmin(whole.boxes[:, 1] - TAG[1] != 0)], atol=2
    )
    near = find_text_near(image, FACES, TextMode.ALL, fake, changed_at(image.shape, SIGN))
    assert len(near) == 1 and near.boxes[0][0] >= SIGN[0] - 1
    assert len(find_text_near(image, FACES, TextMode.ALL, fake, np.zeros(image.shape[:2], bool))) == 0


def test_a_window_is_fed_to_the_network_at_the_whole_crops_scale(astronaut: np.ndarray) -> None:
    class Scales(FakeTextDetector):
        """Records the scale each call asks for; sizes itself like PP-OCR (at least 960 px)."""

        def __init__(self) -> None:
            super().__init__([TAG_INK])
            self.asked: list[float | None] = []

        def scale_for(self, width: int, height: int) -> float:
            return min(960 / max(width, height), 3.0) if max(width, height) < 960 else 1.0

        def detect(self, image: np.ndarray, scale: float | None = None) -> object:  # type: ignore[override]
            self.asked.append(scale)
            return super().detect(image)

    image = scene(astronaut)
    fake = Scales()
    find_text_near(image, FACES, TextMode.PEOPLE, fake, changed_at(image.shape, TAG))
    [((x1, y1, x2, y2), scale)] = _crops(image.shape, FACES, TextMode.PEOPLE)
    whole = fake.scale_for(round((x2 - x1) * scale), round((y2 - y1) * scale))
    window = fake.scale_for(round((TAG[2] - TAG[0] + 80) * scale), round((TAG[3] - TAG[1] + 80) * scale))
    assert whole != window  # PP-OCR alone would blow the small window up more than the crop
    assert fake.asked == [whole]


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
