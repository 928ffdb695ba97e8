"""Cutting a big network input into overlapping tiles of one size, so a run's memory is bounded
(OpenCV DNN keeps ~250 MB a megapixel of input, for the largest input it has run) and the network
is planned once for all the tiles of an image."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MAX_TILES_PER_SIDE = 16


def starts(length: int, tile: int, overlap: float) -> list[int]:
    """Tile origins along one side: as few tiles as cover `length` overlapping by `overlap`."""
    if length <= tile:
        return [0]
    count = int(np.ceil((length - overlap) / (tile - overlap)))
    step = (length - tile) / max(1, count - 1)
    return [int(round(i * step)) for i in range(count)]


def tiling(
    w: int, h: int, margin: float, cost: Callable[[int, int], int], budget: int
) -> tuple[int, int] | None:
    """The tile size that covers w x h, tiles overlapping by `margin`, with the least `cost` in
    all (the network pixels of one tile, padding included), each tile costing at most `budget`.
    None when nothing fits (tiles would be hardly bigger than their overlap)."""
    best: tuple[int, int, int] | None = None
    for nx in range(1, MAX_TILES_PER_SIDE + 1):
        for ny in range(1, MAX_TILES_PER_SIDE + 1):
            tile_w = min(w, int(np.ceil((w + (nx - 1) * margin) / nx)))
            tile_h = min(h, int(np.ceil((h + (ny - 1) * margin) / ny)))
            if min(tile_w, tile_h) <= 2 * margin and (nx > 1 or ny > 1):
                continue  # tiles hardly bigger than their overlap: all overlap, no gain
            one = cost(tile_w, tile_h)
            if one > budget:
                continue
            total = one * len(starts(w, tile_w, margin)) * len(starts(h, tile_h, margin))
            if best is None or total < best[0]:
                best = (total, tile_w, tile_h)
    return None if best is None else (best[1], best[2])


def kept_spans(origins: list[int], tile: int, length: int) -> list[tuple[int, int]]:
    """For tiles at `origins` along a side, the span each one's output is kept for: up to the
    middle of its overlap with each neighbour, so no kept pixel lies near an inner tile edge
    (where the network saw less around it) and every pixel is kept exactly once."""
    cuts = [0] + [(b + a + tile) // 2 for a, b in zip(origins, origins[1:], strict=False)] + [length]
    return list(zip(cuts, cuts[1:], strict=False))


def merge_boxes(
    boxes: list[tuple[float, ...]],
) -> list[tuple[float, ...]]:
    """Union boxes that overlap until none do: one region per group of neighbours
    (bodies searched for text, small faces looked at closer)."""
    boxes = list(boxes)
    changed = True
    while changed:
        changed = False
        out: list[tuple[float, ...]] = []
        for box in boxes:
            for i, other in enumerate(out):
                if box[0] < other[2] and other[0] < box[2] and box[1] < other[3] and other[1] < box[3]:
                    out[i] = (
                        min(box[0], other[0]),
                        min(box[1], other[1]),
                        max(box[2], other[2]),
                        max(box[3], other[3]),
                    )
                    changed = True
                    break
            else:
                out.append(box)
        boxes = out
    return boxes
