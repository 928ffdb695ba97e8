"""The video detector's crops around known faces and motion: joined where one run over their
union costs less."""

from __future__ import annotations

import numpy as np
import pytest

from unseen.detect.crops import SCALE_STEP, Crop, join_crops
from unseen.types import Detections, Image


def _covered(crop: Crop, by: list[Crop]) -> bool:
    return any(
        o.x1 <= crop.x1
        and o.y1 <= crop.y1
        and o.x2 >= crop.x2
        and o.y2 >= crop.y2
        and crop.scale <= o.scale <= crop.scale * SCALE_STEP + 1e-9
        for o in by
    )


def test_overlapping_crops_of_near_scales_share_a_run() -> None:
    a, b = Crop(0, 0, 200, 200, 0.30, 30.0), Crop(100, 50, 300, 250, 0.35, 30.0)
    (joined,) = join_crops([a, b])
    assert (joined.x1, joined.y1, joined.x2, joined.y2) == (0, 0, 300, 250)
    assert joined.scale == 0.35  # the smaller faces looked at a little larger, never smaller
    assert joined.cost() < a.cost() + b.cost()


@pytest.mark.parametrize(
    "b",
    [
        Crop(100, 50, 300, 250, 0.30 * SCALE_STEP * 1.1, 30.0),  # scales too far apart
        Crop(900, 900, 1100, 1100, 0.30, 30.0),  # far apart: the union is mostly empty
    ],
)
def test_crops_apart_in_scale_or_place_stay_apart(b: Crop) -> None:
    a = Crop(0, 0, 200, 200, 0.30, 30.0)
    assert sorted(join_crops([a, b]), key=lambda c: c.x1) == [a, b]


def test_an_upscaled_crop_never_shares_a_run_with_a_full_size_one() -> None:
    """Their thresholds and the faces they keep differ."""
    a, b = Crop(0, 0, 100, 100, 0.95, 30.0), Crop(10, 10, 110, 110, 1.05, 30.0)
    assert len(join_crops([a, b])) == 2


def test_a_crowd_of_crops_costs_less_and_every_crop_is_still_looked_at() -> None:
    rng = np.random.default_rng(3)
    crops = []
    for _ in range(60):
        size = float(rng.uniform(15, 150))
        x, y = rng.uniform(0, 1800), rng.uniform(0, 1000)
        reach = max(0.5 * size, 48.0)
        scale = float(np.clip(48.0 / size, 0.25, 4.0))
        crop = Crop.around(np.float32([x, y, x + size, y + size]), reach, (1080, 1920), scale, 1.5 * size)
        assert crop is not None
        crops.append(crop)
    joined = join_crops(crops)
    assert len(joined) < len(crops)
    assert sum(c.cost() for c in joined) < sum(c.cost() for c in crops)
    assert all(_covered(c, joined) for c in crops)


@pytest.mark.slow
def test_joined_crops_find_every_face_the_separate_ones_find(
    crowd: tuple[Image, list[tuple[int, int, int, int]]],
) -> None:
    """The real network on a crowd: each face found again by a crop of its own is found again
    when the crops share runs, in fewer runs."""
    import unseen.detect.cadence as cadence
    from unseen.detect.base import iou_matrix
    from unseen.models import default_detector
    from unseen.settings import Settings

    image, faces = crowd
    runs: list[int] = []

    class Counting(cadence.VideoDetector):
        def _run(self, image: Image, scale: float, threshold: float, label: str) -> Detections:
            runs.append(1)
            return super()._run(image, scale, threshold, label)

    def around(join: bool) -> tuple[Detections, int]:
        video = Counting.for_clip(default_detector(Settings()), 30, image.shape[1], image.shape[0])
        seen = video._run(image, 2.0, video.threshold * 0.5, "whole")
        video.seen = {0: seen.boxes}
        runs.clear()
        original = cadence.join_crops
        cadence.join_crops = original if join else list  # type: ignore[assignment]
        try:
            found = Detections.merge(video._around_faces(image, 4))
        finally:
            cadence.join_crops = original
        return found, len(runs)

    alone, alone_runs = around(join=False)
    joined, joined_runs = around(join=True)
    assert joined_runs < alone_runs
    truth = np.float32(faces)
    by_alone = iou_matrix(truth, alone.boxes).max(axis=1) >= 0.4
    by_joined = iou_matrix(truth, joined.boxes).max(axis=1) >= 0.4
    assert by_alone.sum() >= 8
    assert (by_joined | ~by_alone).all(), truth[by_alone & ~by_joined]
