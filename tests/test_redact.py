"""Mask styles and head regions: every style destroys the face region, solid and noise carry nothing of it."""

import numpy as np
import pytest

from unseen.redact import apply_masks, head_boxes, mask_area
from unseen.types import Detections, MaskShape, MaskStyle

FACE = Detections([[40, 50, 80, 100]], [0.9])


@pytest.fixture
def textured() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, size=(200, 160, 3), dtype=np.uint8)


def test_head_region_grows_past_the_face() -> None:
    ((x1, y1, x2, y2),) = head_boxes(FACE, (200, 160, 3))
    assert x1 < 40 and x2 > 80, "ears"
    assert y1 < 50 - 0.3 * 50, "hair"
    assert y2 > 100


def test_head_region_clipped_to_image() -> None:
    heads = head_boxes(Detections([[0, 0, 30, 30]], [0.5]), (40, 40, 3))
    assert heads.min() >= 0 and heads[:, [0, 2]].max() <= 40 and heads[:, [1, 3]].max() <= 40


def test_tiny_faces_get_a_minimum_mask() -> None:
    area = mask_area((100, 100, 3), Detections([[50, 50, 52, 52]], [0.3]), MaskShape.BOX)
    assert area.sum() >= 100


@pytest.mark.parametrize("shape", list(MaskShape))
def test_mask_covers_the_whole_face_box(shape: MaskShape) -> None:
    area = mask_area((200, 160, 3), FACE, shape)
    assert area[50:100, 40:80].all()


@pytest.mark.parametrize("style", list(MaskStyle))
def test_every_style_changes_the_face_and_nothing_else(style: MaskStyle, textured: np.ndarray) -> None:
    out = apply_masks(textured, FACE, style)
    changed = (out != textured).any(axis=2)
    area = mask_area(textured.shape, FACE)
    assert not changed[~area].any(), "pixels outside the mask must not change"
    assert changed[50:100, 40:80].mean() > 0.9
    assert out is not textured and not np.shares_memory(out, textured)


def test_solid_is_opaque(textured: np.ndarray) -> None:
    out = apply_masks(textured, FACE, MaskStyle.SOLID)
    assert (out[mask_area(textured.shape, FACE)] == 0).all()


def test_noise_carries_nothing_of_the_face(textured: np.ndarray) -> None:
    """Two different faces give noise fills that do not depend on them: same seed, same fill."""
    other = 255 - textured
    area = mask_area(textured.shape, FACE)
    a = apply_masks(textured, FACE, MaskStyle.NOISE, rng=np.random.default_rng(3))
    b = apply_masks(other, FACE, MaskStyle.NOISE, rng=np.random.default_rng(3))
    assert (a[area] == b[area]).all()


def test_blur_and_pixelate_leave_little_detail(textured: np.ndarray) -> None:
    area = mask_area(textured.shape, FACE, MaskShape.BOX)
    for style in (MaskStyle.BLUR, MaskStyle.PIXELATE):
        out = apply_masks(textured, FACE, style, MaskShape.BOX).astype(float)
        assert out[area].std() < 0.25 * textured[area].astype(float).std(), style


def test_no_faces_is_a_copy(textured: np.ndarray) -> None:
    out = apply_masks(textured, Detections.empty())
    assert (out == textured).all() and out is not textured


@pytest.mark.parametrize("shape", list(MaskShape))
def test_a_face_cut_by_the_frame_is_still_covered(shape: MaskShape) -> None:
    """The mask is drawn from the unclipped head region, so it does not shrink at the edge."""
    cut = Detections([[80, 150, 140, 230]], [0.9])  # runs past the bottom of a 200 px image
    area = mask_area((200, 220, 3), cut, shape)
    assert area[150:200, 80:140].all()


@pytest.mark.parametrize("style", [MaskStyle.PIXELATE, MaskStyle.BLUR])
def test_overlapping_masks_keep_the_strongest(style: MaskStyle, textured: np.ndarray) -> None:
    """Issue 12: a weak box on the mouth inside a face must not repaint it at a finer scale."""
    face = Detections([[40, 50, 110, 140]], [0.9])
    mouth = Detections([[65, 110, 85, 125]], [0.1])
    for order in ([face, mouth], [mouth, face]):
        both = apply_masks(textured, Detections.merge(order), style)
        alone = apply_masks(textured, face, style)
        inside = mask_area(textured.shape, face)
        assert (both[inside] == alone[inside]).all(), "the face's own mask wins inside the face"


def test_escalated_face_keeps_its_coarser_mask_over_a_weak_one(textured: np.ndarray) -> None:
    """Per-face strengths (as verification escalates them): the stronger one wins the overlap."""
    boxes = Detections([[40, 50, 110, 140], [60, 70, 90, 110]], [0.9, 0.2])
    strong_first = apply_masks(textured, boxes, MaskStyle.PIXELATE, strength=[4.0, 1.0])
    big_alone = apply_masks(textured, boxes[np.array([0])], MaskStyle.PIXELATE, strength=4.0)
    inside = mask_area(textured.shape, boxes[np.array([0])])
    assert (strong_first[inside] == big_alone[inside]).all()


def test_a_user_pixelating_a_photo_gets_the_strongest_mask_on_overlaps(tmp_path, textured) -> None:
    """Through anonymize_file (the public entry point) with a fake detector that finds a face and
    a weak box inside it, verified by a fake verifier: the face's pixels are its own coarse blocks."""
    from PIL import Image

    import unseen
    from unseen.detect import FakeDetector
    from unseen.settings import Settings
    from unseen.verify import FakeVerifier

    src = tmp_path / "party.png"
    Image.fromarray(textured).save(src)
    face, mouth = (40, 50, 110, 140), (65, 110, 85, 125)
    for verify in (True, False):
        out = tmp_path / f"out{verify}.png"
        unseen.anonymize_file(
            src,
            out,
            Settings(mask=MaskStyle.PIXELATE, verify=verify),
            detector=FakeDetector([face, mouth], 0.5),
            verifier=FakeVerifier(),
        )
        written = np.asarray(Image.open(out))
        alone = apply_masks(textured, Detections([face], [0.9]), MaskStyle.PIXELATE)
        inside = mask_area(textured.shape, Detections([face], [0.9]))
        assert (written[inside] == alone[inside]).all()
