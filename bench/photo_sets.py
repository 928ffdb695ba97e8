"""Phone-sized test photos made from the dev set, labels carried over: 3 x 4 mosaics (faces keep
their real pixels) and single photos upscaled to 12 MP (the same scene, more pixels)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from common import DATA

PHONE = (4032, 3024)  # a 12 MP phone photo, landscape


def _read(record: dict) -> np.ndarray:
    return cv2.imread(str(DATA / "detection" / record["file"]))


def mosaic(records: list[dict], out: Path, name: str) -> dict:
    """12 dev photos in 3 rows of 4, each fitted into a 1008 x 1008 cell (no resizing up or down
    past what fits), padded grey; boxes shifted (and scaled when a photo had to shrink)."""
    cell_w, cell_h = PHONE[0] // 4, PHONE[1] // 3
    canvas = np.full((PHONE[1], PHONE[0], 3), 128, np.uint8)
    boxes = []
    for i, record in enumerate(records[:12]):
        image = _read(record)
        h, w = image.shape[:2]
        scale = min(1.0, cell_w / w, cell_h / h)
        if scale < 1:
            image = cv2.resize(image, (int(w * scale), int(h * scale)), interpolation=cv2.INTER_AREA)
        x0, y0 = (i % 4) * cell_w, (i // 4) * cell_h
        canvas[y0 : y0 + image.shape[0], x0 : x0 + image.shape[1]] = image
        for x, y, bw, bh, *flags in record["boxes"]:
            boxes.append([x * scale + x0, y * scale + y0, bw * scale, bh * scale, *flags])
    path = out / f"{name}.jpg"
    cv2.imwrite(str(path), canvas, [cv2.IMWRITE_JPEG_QUALITY, 95])
    return {"file": str(path), "width": PHONE[0], "height": PHONE[1], "boxes": boxes}


def upscaled(record: dict, out: Path) -> dict:
    """One dev photo upscaled (bicubic) to 4032 px wide, boxes scaled with it."""
    image = _read(record)
    h, w = image.shape[:2]
    scale = PHONE[0] / w
    size = (PHONE[0], int(round(h * scale)))
    path = out / f"up_{Path(record['file']).stem}.jpg"
    cv2.imwrite(
        str(path), cv2.resize(image, size, interpolation=cv2.INTER_CUBIC), [cv2.IMWRITE_JPEG_QUALITY, 95]
    )
    boxes = [
        [x * scale, y * scale, bw * scale, bh * scale, *flags] for x, y, bw, bh, *flags in record["boxes"]
    ]
    return {"file": str(path), "width": size[0], "height": size[1], "boxes": boxes}


def phone_set(records: list[dict], out: Path, count: int) -> list[dict]:
    """`count` mosaics and `count` upscaled photos, drawn evenly from `records`."""
    made = []
    step = max(1, len(records) // (12 * count))
    pool = records[::step]
    for i in range(count):
        made.append(mosaic(pool[i * 12 : (i + 1) * 12] or records[:12], out, f"mosaic_{i}"))
    crowded = sorted(records, key=lambda r: -len(r["boxes"]))
    picks = (
        crowded[: count // 2]
        + records[:: max(1, len(records) // max(1, count - count // 2))][: count - count // 2]
    )
    made += [upscaled(r, out) for r in picks]
    return made
