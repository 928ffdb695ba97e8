"""Shared fixtures: images the tests make from scikit-image's public-domain NASA astronaut photo."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ASTRONAUT_FACE = (165, 45, 275, 185)  # x1, y1, x2, y2 of Eileen Collins' head in the 512 x 512 photo


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def crowd(astronaut: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A 960 x 640 scene with the astronaut's head pasted at sizes from 9 to 120 px.

    Returns the image and the pasted face boxes (x1, y1, x2, y2).
    """
    import cv2

    rng = np.random.default_rng(7)
    canvas = rng.integers(90, 160, size=(640, 960, 3), dtype=np.uint8)
    canvas = cv2.GaussianBlur(canvas, (0, 0), 3)
    x1, y1, x2, y2 = ASTRONAUT_FACE
    head = astronaut[y1:y2, x1:x2]
    faces = []
    x, y, row_h = 10, 10, 0
    for size in [120, 80, 60, 40, 30, 24, 18, 14, 12, 10, 9, 9]:
        h = size
        w = int(round(size * (x2 - x1) / (y2 - y1)))
        if x + w > 950:
            x, y = 10, y + row_h + 20
            row_h = 0
        canvas[y : y + h, x : x + w] = cv2.resize(head, (w, h), interpolation=cv2.INTER_AREA)
        faces.append((x, y, x + w, y + h))
        x += w + 30
        row_h = max(row_h, h)
    return canvas, faces


def need_data(sub: str) -> Path:
    path = DATA / sub
    if not path.exists():
        pytest.skip(f"{path} is absent: dev data lives in ../shared/data")
    return path


@pytest.fixture(autouse=True, scope="session")
def private_state_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`unseen batch` keeps its state under $XDG_STATE_HOME: a temporary one, never the real home."""
    before = os.environ.get("XDG_STATE_HOME")
    home = tmp_path_factory.mktemp("state-home")
    os.environ["XDG_STATE_HOME"] = str(home)
    yield home
    if before is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = before
