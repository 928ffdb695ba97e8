"""The check after masking looks only around what masking changed, at the first look's scale."""

from __future__ import annotations

import numpy as np

from test_text import FACES, SIGN, SIGN_INK, TAG, TAG_INK, scene
from unseen.settings import TextMode
from unseen.text import FakeTextDetector, find_text
from unseen.text.protect import _crops, find_text_near


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
