"""Fakes for the attack on an output, for fast tests of whatever calls a Verifier."""

from __future__ import annotations

import numpy as np


class PixelAttack:
    """A verifier that "finds" the drawn face (pixels of value 230) wherever it still shows,
    in the coordinates of the picture it is given (a whole frame or a part of it)."""

    def __init__(self) -> None:
        self.sizes: list[tuple[int, int]] = []

    def check(
        self, original: np.ndarray, masked: np.ndarray, faces: object, area: np.ndarray, opaque: object = None
    ) -> object:
        from unseen.types import Check

        self.sizes.append(masked.shape[:2])
        ys, xs = np.nonzero((masked == 230).all(axis=2))
        if len(xs) < 50:
            return Check()
        box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
        return Check(redetected=1, redetected_boxes=[box])
