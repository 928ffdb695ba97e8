"""Text in video between looks: text a person was seen wearing stays on them when a look misses
it, and text that is on nobody moves with the picture when the camera pans. Generated clips,
fake text detectors that answer from the pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from support.clips import decoded, write_clip
from test_text_video import FRAMES, Bright, H, W, dark, draw, faces, words_at
from unseen.settings import Settings, TextMode
from unseen.types import Detections, Image
from unseen.video import anonymize_video


class Once(Bright):
    """Finds the tag's card at the first look only: the wearer turned, the card caught the light."""

    def detect(self, image: Image) -> Detections:
        found = super().detect(image)
        return found if self.calls == 1 else Detections.empty()


def test_a_tag_a_later_look_misses_stays_masked_on_its_wearer(tmp_path: Path) -> None:
    """Found at frame 0 only, the tag is masked on all 40 frames as the wearer walks: before,
    a region was held only to the next look, and frames 15-39 showed the name."""
    src, out = tmp_path / "clip.mp4", tmp_path / "out.mp4"
    write_clip(src, FRAMES, (W, H), draw)
    text = Once()
    anonymize_video(src, out, Settings(verify=False), detector=faces(), text_detector=text)
    assert text.calls >= 3  # looked at again, and found nothing there
    shares = [dark(frame, words_at(i)) for i, frame in enumerate(decoded(out))]
    assert min(shares) > 0.95, [(i, round(s, 2)) for i, s in enumerate(shares) if s <= 0.95]


PAN = 24  # px a frame
SIGN = (420, 110, 560, 150)  # on the ground: a street sign, on no person


def ground() -> Image:
    """A textured ground wide enough for the pan (the camera's shift is measured on it), a sign on it."""
    rng = np.random.default_rng(3)
    width = W + PAN * FRAMES + 40
    coarse = rng.integers(60, 190, (H // 8, width // 8, 3), dtype=np.uint8)
    image = cv2.resize(cv2.GaussianBlur(coarse, (0, 0), 1.5), (width, H), interpolation=cv2.INTER_CUBIC)
    image = np.clip(image.astype(np.int16) + rng.integers(-12, 12, image.shape), 0, 255).astype(np.uint8)
    picture = PILImage.fromarray(image)
    pen = ImageDraw.Draw(picture)
    pen.rectangle(SIGN, fill=(250, 250, 250))
    pen.text(
        (SIGN[0] + 8, SIGN[1] + 8), "MAIN ST 12", fill=(10, 10, 10), font=ImageFont.load_default(size=20)
    )
    return np.asarray(picture)


def test_text_on_nobody_moves_with_a_panning_camera(tmp_path: Path) -> None:
    """A sign crossing the frame at 24 px a frame in `--text all`: looked at three times a second, and
    masked on every frame in between where the pan took it (before, it was masked only where the
    two looks around a frame saw it, 240 px apart, and was bare in between)."""
    picture = ground()
    src, out = tmp_path / "pan.mp4", tmp_path / "out.mp4"
    write_clip(src, FRAMES, (W, H), lambda i: np.ascontiguousarray(picture[:, PAN * i : PAN * i + W]))
    text = Bright()
    report = anonymize_video(
        src, out, Settings(verify=False, text=TextMode.ALL), text_detector=text
    )  # the real face detector: it measures the picture's shift (a scripted one does not)
    assert report.text is not None and report.text.other_masked >= 1
    assert text.calls < FRAMES / 3  # looked at about twice a second, not on every frame
    x1, y1, x2, y2 = SIGN
    shares = {}
    for i, frame in enumerate(decoded(out)):
        letters = (x1 + 6 - PAN * i, y1 + 6, x2 - 6 - PAN * i, y2 - 6)
        if letters[0] >= 0:  # wholly in view
            shares[i] = dark(frame, letters)
    assert len(shares) > 12
    assert min(shares.values()) > 0.95, {i: round(s, 2) for i, s in shares.items() if s <= 0.95}
