"""Issue 13: a 12 MP phone photo keeps the small faces its pixels hold.

Detection works on a ~1 MP working copy, so a photo and the same photo 4x larger get the same
faces; but a 12 MP photo of a crowd shrinks its real 10-16 px faces to 3-5 px there. The closer
look (`unseen.detect.multiscale.Closer`) goes back to the photo's own pixels around the smallest
faces found. Tested through the CLI on a mosaic of dev photos: every face keeps its real pixels.
"""

import json

import numpy as np
import pytest

from conftest import need_data
from test_detect import _masked_by_a_user, _protected

PHONE = (4032, 3024)
CELL = (PHONE[0] // 4, PHONE[1] // 3)


def _small_face_photos(folder, count: int = 12) -> list[dict]:
    """The dev photos with the most labelled faces of 10-16 px."""
    records = json.loads((folder / "annotations.json").read_text())

    def small(record: dict) -> int:
        return sum(10 <= min(w, h) < 16 for _, _, w, h, *_ in record["boxes"])

    return sorted(records, key=lambda r: (-small(r), r["file"]))[:count]


@pytest.mark.slow
@pytest.mark.data
def test_small_faces_in_a_12_mp_mosaic_are_masked_as_in_their_own_photos(tmp_path) -> None:
    """12 crowd photos of the dev set in 3 rows of 4 (4032 x 3024; each fitted to its cell, 0.98x
    for most): a labelled face of 10 px and up that `unseen` masks in its own photo is masked in
    the mosaic too, but for at most 1% of them (4 of 1065 when written; 445 were bare before the
    closer look, most of the 684 faces of 10-16 px)."""
    import cv2

    folder = need_data("detection")
    canvas = np.full((PHONE[1], PHONE[0], 3), 128, np.uint8)
    alone, together, sizes = [], [], []
    for i, record in enumerate(_small_face_photos(folder)):
        image = cv2.cvtColor(cv2.imread(str(folder / record["file"])), cv2.COLOR_BGR2RGB)
        fit = min(1.0, CELL[0] / image.shape[1], CELL[1] / image.shape[0])
        image = cv2.resize(image, None, fx=fit, fy=fit, interpolation=cv2.INTER_AREA) if fit < 1 else image
        h, w = image.shape[:2]
        x0, y0 = (i % 4) * CELL[0], (i // 4) * CELL[1]
        canvas[y0 : y0 + h, x0 : x0 + w] = image
        boxes = fit * np.float32(
            [[x, y, x + bw, y + bh] for x, y, bw, bh, *_ in record["boxes"] if min(bw, bh) * fit >= 10]
        ).reshape(-1, 4)
        if not len(boxes):
            continue
        alone += _protected(_masked_by_a_user(tmp_path, image, f"alone{i}", False), boxes)
        together.append(boxes + np.float32([x0, y0, x0, y0]))
        sizes += list(np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]))
    boxes = np.concatenate(together)
    found = _protected(_masked_by_a_user(tmp_path, canvas, "mosaic", False), boxes)
    lost = [
        (tuple(int(v) for v in boxes[i]), int(sizes[i]))
        for i, (a, b) in enumerate(zip(alone, found, strict=True))
        if a and not b
    ]
    small = sum(a and s < 16 for a, s in zip(alone, sizes, strict=True))
    assert small >= 200, "the photos hold enough small faces to tell"
    masked = sum(alone)
    assert len(lost) <= masked // 100, (
        f"{len(lost)} of {masked} faces masked alone are bare in the mosaic: {lost}"
    )
