"""DB post-processing and the 'on a person' rule, on made-up probability maps and boxes."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from unseen.text import body_boxes, on_people, quads_to_boxes, search_crops, text_quads, unclip
from unseen.text.db import DBParams
from unseen.types import Detections


def blob_map(shape: tuple[int, int], rects: list[tuple[int, int, int, int, float]]) -> np.ndarray:
    prob = np.zeros(shape, np.float32)
    for x1, y1, x2, y2, p in rects:
        prob[y1:y2, x1:x2] = p
    return prob


def test_unclip_grows_by_area_times_ratio_over_perimeter() -> None:
    (cx, cy), (w, h), angle = unclip(((50.0, 20.0), (100.0, 10.0), 0.0), 1.6)
    d = 100 * 10 * 1.6 / 220
    assert (cx, cy, angle) == (50.0, 20.0, 0.0)
    assert w == pytest.approx(100 + 2 * d) and h == pytest.approx(10 + 2 * d)


def test_one_kernel_becomes_one_box_grown_back_to_the_text() -> None:
    prob = blob_map((100, 200), [(40, 40, 140, 50, 0.9)])
    quads, scores = text_quads(prob)
    assert quads.shape == (1, 4, 2) and 0.7 < scores[0] <= 0.9  # the dilated ring lowers the mean
    x1, y1, x2, y2 = quads_to_boxes(quads)[0]
    # the 2x2 dilation adds a pixel; unclip adds ~7.4 px a side to a 101 x 11 kernel
    assert x1 == pytest.approx(40 - 7.5, abs=1.5) and x2 == pytest.approx(141 + 7.5, abs=1.5)
    assert y1 == pytest.approx(40 - 7.5, abs=1.5) and y2 == pytest.approx(51 + 7.5, abs=1.5)


def test_a_rotated_kernel_gives_a_rotated_quad() -> None:
    prob = np.zeros((200, 200), np.float32)
    corners = cv2.boxPoints(((100.0, 100.0), (120.0, 12.0), 30.0)).astype(np.int32)
    cv2.fillPoly(prob, [corners], 0.8)
    quads, _ = text_quads(prob)
    assert len(quads) == 1
    (_, _), (w, h), angle = cv2.minAreaRect(quads[0])
    long_side, short_side = max(w, h), min(w, h)
    assert long_side > 120 and short_side > 12 and short_side < 40
    assert min(abs(angle - 30), abs(angle - 120), abs(angle + 60)) < 3


@pytest.mark.parametrize(
    ("rect", "found"),
    [
        ((10, 10, 60, 20, 0.9), 1),  # text
        ((10, 10, 60, 20, 0.3), 0),  # above the pixel threshold (0.2), below the box score (0.4)
        ((10, 10, 60, 12, 0.9), 0),  # thinner than min_size: noise
        ((10, 10, 60, 20, 0.15), 0),  # below the pixel threshold
    ],
)
def test_weak_or_thin_blobs_are_dropped(rect: tuple[int, int, int, int, float], found: int) -> None:
    quads, scores = text_quads(blob_map((50, 100), [rect]))
    assert len(quads) == len(scores) == found


def test_separate_words_stay_separate_and_box_limit_holds() -> None:
    prob = blob_map((60, 300), [(10, 10, 80, 22, 0.9), (150, 10, 250, 22, 0.9)])
    assert len(text_quads(prob)[0]) == 2
    assert len(text_quads(prob, DBParams(max_candidates=1))[0]) == 1


def test_an_empty_map_finds_nothing_and_a_bad_shape_is_refused() -> None:
    quads, scores = text_quads(np.zeros((32, 32), np.float32))
    assert quads.shape == (0, 4, 2) and scores.shape == (0,)
    assert quads_to_boxes(quads).shape == (0, 4)
    with pytest.raises(ValueError, match="2-D"):
        text_quads(np.zeros((1, 32, 32), np.float32))


FACE = Detections(np.float32([[100, 50, 140, 100]]), np.float32([0.9]))  # 40 wide, 50 tall


@pytest.mark.parametrize(
    ("box", "on"),
    [
        ((105, 130, 135, 145), True),  # a name tag on the chest
        ((60, 300, 100, 330), True),  # low on the body, off-centre but within the shoulders
        ((100, 20, 140, 40), True),  # a name on a cap
        ((300, 130, 340, 145), False),  # beside the person
        ((40, 130, 220, 170), False),  # wider than the body: a banner held in front
        ((105, 480, 135, 495), False),  # far below: the floor, a plate
    ],
)
def test_text_on_a_person_lies_on_the_body_below_the_face(box: tuple[int, int, int, int], on: bool) -> None:
    text = Detections(np.float32([box]), np.float32([0.9]))
    assert bool(on_people(text, FACE, (600, 600, 3))[0]) is on


def test_no_face_means_no_text_on_people() -> None:
    text = Detections(np.float32([[0, 0, 10, 10]]), np.float32([0.9]))
    assert not on_people(text, Detections.empty(), (50, 50, 3)).any()
    assert search_crops(Detections.empty(), (50, 50, 3)) == []


def test_bodies_are_searched_as_crops_merged_when_they_overlap() -> None:
    faces = Detections(np.float32([[100, 50, 140, 100], [130, 60, 170, 110], [500, 50, 520, 75]]), np.ones(3))
    crops = search_crops(faces, (2000, 2000, 3))
    assert len(crops) == 2
    bodies = body_boxes(faces, (2000, 2000, 3))
    merged = crops[0] if crops[0][0] < 300 else crops[1]  # the search reaches past the bodies
    assert merged[0] <= bodies[0][0] and merged[2] >= bodies[1][2]


def test_bodies_covering_most_of_the_image_search_it_whole() -> None:
    faces = Detections(np.float32([[40, 10, 80, 60]]), np.ones(1))
    assert search_crops(faces, (300, 120, 3)) == [(0, 0, 120, 300)]
