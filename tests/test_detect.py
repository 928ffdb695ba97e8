"""Detections, box arithmetic, and the real CenterFace on a public-domain face."""

import numpy as np
import pytest

from unseen.detect import FakeDetector, nms
from unseen.detect.base import iou_matrix
from unseen.types import Detections


@pytest.mark.parametrize(
    ("boxes", "scores", "sources", "raises"),
    [
        ([[0, 0, 1, 1]], [0.5], None, False),
        ([[0, 0, 1, 1]], [0.5, 0.6], None, True),
        ([[0, 0, 1, 1], [1, 1, 2, 2]], [0.5, 0.6], ["a"], True),
        (np.empty((0, 4)), [], None, False),
    ],
)
def test_detections_validate_lengths(boxes, scores, sources, raises) -> None:
    kwargs = {} if sources is None else {"sources": sources}
    if raises:
        with pytest.raises(ValueError):
            Detections(boxes, scores, **kwargs)
    else:
        assert len(Detections(boxes, scores, **kwargs)) == len(scores)


def test_merge_filter_and_empty() -> None:
    a = Detections([[0, 0, 10, 10]], [0.9]).with_source("a")
    b = Detections([[20, 20, 30, 30], [5, 5, 8, 8]], [0.4, 0.2]).with_source("b")
    merged = Detections.merge([a, Detections.empty(), b])
    assert len(merged) == 3
    assert list(merged.sources) == ["a", "b", "b"]
    assert len(merged[merged.scores > 0.3]) == 2
    assert len(Detections.merge([])) == 0


def test_nms_keeps_best_of_overlapping() -> None:
    d = Detections([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], [0.5, 0.9, 0.3])
    kept = nms(d, 0.3)
    assert sorted(kept.scores.tolist()) == pytest.approx([0.3, 0.9])


def test_iou() -> None:
    a = np.float32([[0, 0, 10, 10]])
    b = np.float32([[5, 0, 15, 10], [20, 20, 30, 30]])
    assert iou_matrix(a, b)[0].tolist() == pytest.approx([1 / 3, 0.0])


def test_fake_detector_clips_to_image() -> None:
    fake = FakeDetector([(-5, -5, 200, 20)])
    found = fake.detect(np.zeros((50, 100, 3), np.uint8))
    assert found.boxes.tolist() == [[0, 0, 100, 20]]


@pytest.mark.slow
def test_centerface_finds_the_astronaut(astronaut) -> None:
    from unseen.detect import CenterFace

    found = CenterFace().detect(astronaut)
    assert len(found) >= 1
    best = found.boxes[np.argmax(found.scores)]
    # her face is around x 170-260, y 60-170 in the 512 x 512 NASA photo
    assert 140 < (best[0] + best[2]) / 2 < 280 and 40 < (best[1] + best[3]) / 2 < 190


@pytest.mark.slow
def test_upscaled_pass_finds_small_faces_the_1x_pass_misses(crowd) -> None:
    """Faces of 10-14 px: CenterFace at the image's size misses some; the default detector finds them."""
    from unseen.detect import CenterFace
    from unseen.models import default_detector
    from unseen.settings import Settings

    image, faces = crowd
    small = np.float32([f for f in faces if 10 <= f[3] - f[1] <= 14])
    assert len(small) == 3

    def found_share(found: Detections) -> float:
        return float((iou_matrix(small, found.boxes).max(axis=1) > 0.3).mean()) if len(found) else 0.0

    assert found_share(default_detector(Settings()).detect(image)) == 1.0
    assert found_share(CenterFace(threshold=0.2).detect(image)) < 1.0


@pytest.mark.parametrize(
    ("length", "tile", "overlap"), [(100, 200, 10), (1000, 300, 50), (4000, 896, 128), (1793, 1792, 256)]
)
def test_tiles_cover_the_side_with_overlap(length: int, tile: float, overlap: float) -> None:
    from unseen.detect.tiles import starts as _starts

    starts = _starts(length, tile, overlap)
    assert starts[0] == 0 and starts[-1] + tile >= length
    for a, b in zip(starts, starts[1:], strict=False):
        assert b - a <= tile - overlap + 1, "neighbouring tiles overlap enough"


@pytest.mark.parametrize(
    ("w", "h", "scale"),
    [
        (2560, 1920, 1.0),
        (3840, 2160, 1.0),
        (4000, 3000, 2.0),
        (60000, 40, 1.0),
        (1000, 800, 0.5),
        (12000, 9000, 1.0),
    ],
)
def test_tiling_bounds_each_run_and_wastes_little(w: int, h: int, scale: float) -> None:
    from unseen.detect.centerface import TILE_PIXELS, _tiling, network_pixels
    from unseen.detect.tiles import starts as _starts

    tile_w, tile_h = _tiling(w, h, scale, 256 / scale)
    assert network_pixels(tile_w, tile_h, scale) <= TILE_PIXELS
    runs = len(_starts(w, tile_w, 256 / scale)) * len(_starts(h, tile_h, 256 / scale))
    total = runs * network_pixels(tile_w, tile_h, scale)
    if min(w, h) * scale > 1000:
        assert total < 1.6 * w * h * scale * scale  # overlap and padding cost well under 2x


@pytest.mark.slow
def test_big_photo_is_tiled_and_finds_faces_anywhere(astronaut) -> None:
    """A 14-megapixel photo: detection runs in bounded tiles and still finds a face cut by a tile
    border and a face too big for any tile (found by a coarser pass added for the size)."""
    import cv2

    from unseen.detect import CenterFace, MultiScale, Pass
    from unseen.detect.centerface import _tiling
    from unseen.detect.tiles import starts as _starts

    big = np.full((3400, 4000, 3), 120, np.uint8)
    head = astronaut[45:185, 165:275]
    tile_w, _ = _tiling(4000, 3400, 1.0, 256)
    border = _starts(4000, tile_w, 256)[1] + 1  # the second tile starts here: the face straddles it
    big[1500:1560, border - 20 : border + 27] = cv2.resize(head, (47, 60), interpolation=cv2.INTER_AREA)
    big[200:2440, 2000:3760] = cv2.resize(head, (1760, 2240), interpolation=cv2.INTER_LINEAR)
    # at full size, as a caller asking for no working-size reduction gets it
    multi = MultiScale(CenterFace(), passes=(Pass(1.0),), work_pixels=10**9, upscale=False)
    assert [p.scale for p in multi.passes_for(big)] == [1.0, 0.5, 0.25]
    found = multi.detect(big)
    faces = np.float32([[border - 20, 1500, border + 27, 1560], [2000, 200, 3760, 2440]])
    assert (iou_matrix(faces, found.boxes).max(axis=1) > 0.3).all()


def _protected(area: np.ndarray, boxes: np.ndarray, share: float = 0.6) -> list[bool]:
    """Which face boxes have at least `share` of their pixels under the mask (bench/common.py's measure)."""
    return [bool(area[int(y1) : int(y2), int(x1) : int(x2)].mean() >= share) for x1, y1, x2, y2 in boxes]


def _masked_by_a_user(tmp_path, image: np.ndarray, name: str, verify: bool) -> np.ndarray:
    """Run the CLI's own entry point on `image` saved as PNG; the pixels it painted black."""
    from PIL import Image

    from unseen.cli import main

    src, out = tmp_path / f"{name}.png", tmp_path / f"{name}.out.png"
    Image.fromarray(image).save(src)
    code = main([str(src), "-o", str(out), *([] if verify else ["--no-verify"])])
    assert code == 0 and out.is_file()
    written = np.asarray(Image.open(out).convert("RGB"))
    return (written == 0).all(axis=2) & ~(image == 0).all(axis=2)


@pytest.mark.slow
@pytest.mark.parametrize("verify", [False, True])
def test_same_faces_masked_at_any_size(tmp_path, crowd, verify: bool) -> None:
    """Issue 12/13: a photo and the same photo 2x and 4x larger get the same faces masked (the
    passes are planned for a working size, not per pixel count)."""
    import cv2

    image, faces = crowd
    boxes = np.asarray(faces, np.float32)
    at_1x = _protected(_masked_by_a_user(tmp_path, image, "x1", verify), boxes)
    assert sum(at_1x) >= len(faces) - 3, "the generated crowd is mostly found at 1x"
    for factor in (2, 4):
        big = cv2.resize(image, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        found = _protected(_masked_by_a_user(tmp_path, big, f"x{factor}", verify), boxes * factor)
        lost = [faces[i] for i, (a, b) in enumerate(zip(at_1x, found, strict=True)) if a and not b]
        assert not lost, f"masked at 1x but bare at {factor}x: {lost}"


@pytest.mark.slow
@pytest.mark.data
def test_marching_photo_upscaled_to_phone_size_keeps_its_faces_masked(tmp_path) -> None:
    """Issue 12 item 6: dev 10_People_Marching_People_Marching_2_401.jpg at 4032 x 2685 lost two
    background faces masked at 1 MP. Every labelled face masked at 1x stays masked at 4x."""
    import json

    import cv2

    from conftest import need_data

    folder = need_data("detection")
    name = "10_People_Marching_People_Marching_2_401.jpg"
    record = next(
        r for r in json.loads((folder / "annotations.json").read_text()) if r["file"].endswith(name)
    )
    image = cv2.cvtColor(cv2.imread(str(folder / record["file"])), cv2.COLOR_BGR2RGB)
    boxes = np.asarray([[x, y, x + w, y + h] for x, y, w, h, *_ in record["boxes"] if w > 0 and h > 0])
    at_1x = _protected(_masked_by_a_user(tmp_path, image, "march", False), boxes)
    big = cv2.resize(image, (4032, 2685), interpolation=cv2.INTER_CUBIC)
    scale = np.asarray([4032 / image.shape[1], 2685 / image.shape[0]] * 2)
    at_4x = _protected(_masked_by_a_user(tmp_path, big, "march4", False), boxes * scale)
    lost = [tuple(boxes[i]) for i, (a, b) in enumerate(zip(at_1x, at_4x, strict=True)) if a and not b]
    assert sum(at_1x) > len(boxes) // 2 and not lost, f"masked at 1 MP, bare at 12 MP: {lost}"
