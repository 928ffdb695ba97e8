"""Memory: a photo's steps give their network buffers back, a big text look runs in stitched
tiles, and a 12-megapixel photo through the command line stays under 1 GB (the detection issue's
target). Real models throughout; the photos are generated (the public-domain astronaut, words)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from conftest import ASTRONAUT_FACE
from hostile import UNSEEN, measured
from unseen.detect.base import iou_matrix
from unseen.detect.tiles import kept_spans, starts

LINUX = Path("/proc/self/status").exists()


def resident_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024


@pytest.mark.parametrize(
    ("length", "tile", "overlap"), [(3000, 1100, 256), (1500, 1500, 256), (2432, 832, 256)]
)
def test_kept_spans_keep_every_pixel_once_and_away_from_inner_edges(
    length: int, tile: int, overlap: int
) -> None:
    origins = starts(length, tile, overlap)
    spans = kept_spans(origins, tile, length)
    assert spans[0][0] == 0 and spans[-1][1] == length
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))  # no gap, no overlap
    for i, (origin, (lo, hi)) in enumerate(zip(origins, spans, strict=True)):
        assert origin <= lo < hi <= origin + tile
        if i > 0:
            assert lo - origin >= overlap // 2 - 1, "kept part is away from the tile's start"
        if i < len(origins) - 1:
            assert origin + tile - hi >= overlap // 2 - 1, "and from its end"


@pytest.mark.skipif(not LINUX, reason="reads the process's resident size from /proc")
def test_release_all_gives_network_memory_back_and_the_network_runs_the_same(crowd) -> None:
    import cv2

    from unseen.detect import CenterFace
    from unseen.dnn import release_all

    image, _ = crowd
    big = np.asarray(cv2.resize(image, (1728, 1152), interpolation=cv2.INTER_LINEAR), np.uint8)
    detector = CenterFace()
    release_all()
    before = resident_mb()
    first = detector.detect(big)  # a 2 MP run: OpenCV keeps ~500 MB of buffers for it
    held = resident_mb() - before
    release_all()
    kept = resident_mb() - before
    assert held > 250 and kept < held / 3, f"held {held:.0f} MB after the run, {kept:.0f} MB after release"
    again = detector.detect(big)
    assert (
        len(first) > 5 and np.allclose(first.boxes, again.boxes) and np.allclose(first.scores, again.scores)
    )


def words_scene(width: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """A grey card with rows of dark words across the whole of it, so some straddle tile seams."""
    image = Image.new("RGB", (width, height), (200, 200, 195))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    words = ["FREEDOM", "MARIA", "PRESS", "UNION", "NO WAR", "JANE DOE", "STAFF", "PAUL"]
    for y in range(60, height - 60, 170):
        x = int(rng.integers(20, 200))
        while x < width - 300:
            word = str(rng.choice(words))
            draw.text((x, y), word, fill=(20, 20, 20), font=font)
            x += 60 + 26 * len(word) + int(rng.integers(40, 260))
    return np.asarray(image)


def test_text_detector_tiles_a_big_input_and_finds_the_same_words() -> None:
    from unseen.text import PPOCRText, text_available

    if not text_available():
        pytest.skip("the text extra is not installed")
    image = words_scene(2240, 1440, np.random.default_rng(5))  # fed at its size: 3.2 MP, tiled
    detector = PPOCRText()
    assert detector.scale_for(2240, 1440) == 1.0 and detector.TILE_PIXELS < 2240 * 1440
    tiled = detector.detect(image)
    detector.TILE_PIXELS = 10**9  # the same input in one run
    whole = detector.detect(image)
    assert len(whole) >= 30
    found = iou_matrix(whole.boxes, tiled.boxes)
    assert (found.max(axis=1) > 0.7).mean() >= 0.95, "the tiled map finds the words the whole run finds"
    assert (found.max(axis=0) > 0.7).mean() >= 0.95, "and no words of its own"


def phone_crowd(astronaut: np.ndarray) -> np.ndarray:
    """4032 x 3024 (12 MP): heads of 50-400 px in rows, each with a name tag below it."""
    rng = np.random.default_rng(11)
    canvas = Image.fromarray(rng.integers(100, 160, size=(3024, 4032, 3), dtype=np.uint8))
    draw = ImageDraw.Draw(canvas)
    x1, y1, x2, y2 = ASTRONAUT_FACE
    head = Image.fromarray(astronaut[y1:y2, x1:x2])
    font = ImageFont.load_default(size=36)
    y = 40
    for size in (400, 220, 120, 70, 50):
        x = 40
        while x + size < 4000:
            w = int(size * (x2 - x1) / (y2 - y1))
            canvas.paste(head.resize((w, size)), (x, y))
            draw.rectangle(
                (x, y + int(size * 1.3), x + max(w, 180), y + int(size * 1.3) + 50), fill=(250, 250, 250)
            )
            draw.text((x + 6, y + int(size * 1.3) + 6), "JANE DOE", fill=(10, 10, 10), font=font)
            x += max(w, 180) + 120
        y += int(size * 1.3) + 120
    return np.asarray(canvas)


@pytest.mark.skipif(not LINUX, reason="the peak is read from the child's rusage, Linux-only here")
def test_a_12_megapixel_photo_stays_under_1_gb_through_the_command_line(astronaut, tmp_path: Path) -> None:
    src, dst = tmp_path / "march.jpg", tmp_path / "out.jpg"
    Image.fromarray(phone_crowd(astronaut)).save(src, quality=90)
    run = measured([*UNSEEN, str(src), "-o", str(dst), "--report", str(tmp_path / "r.json")])
    assert run.code == 0, run.stderr
    (report,) = json.loads((tmp_path / "r.json").read_text())
    assert report["verdict"] == "verified" and len(report["faces"]) >= 20
    assert run.peak_mb < 1000, f"peak {run.peak_mb:.0f} MB"
