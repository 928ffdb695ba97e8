"""The review of a video shows what its export writes, and its export is attacked by the same
verifier as every other entry point's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from test_review_video import (
    FRAMES,
    H,
    W,
    decoded,
    frame_number,
    numbered,
    picture,
    request,
    start,
    write_clip,
)
from unseen.settings import Settings
from unseen.types import Check, Detections, Image
from unseen.web import ReviewServer, serve

FACE = (60, 70, 120, 150)


class Now:
    """Sees the face only on every 8th frame: the tracker fills the frames between."""

    def detect(self, image: Image) -> Detections:
        boxes = [FACE] if frame_number(image) % 8 == 0 else []
        return Detections(np.float32(boxes).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32))


class Counting:
    """A verifier that finds nothing and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def check(
        self, original: Image, masked: Image, faces: Detections, area: np.ndarray, opaque: object = None
    ) -> Check:
        self.calls += 1
        return Check()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ReviewServer, Counting]]:
    folder = tmp_path / "clips"
    folder.mkdir()
    write_clip(folder / "walk.mp4", draw=lambda i: numbered(i, [FACE]))
    verifier = Counting()
    srv = start(serve(folder, tmp_path / "out", Settings(), detector=Now(), verifier=verifier))
    yield srv, verifier
    srv.shutdown()
    srv.server_close()
    srv.exporter.wait(60)
    srv.catalog.frames.close()


def black(image: Image) -> np.ndarray:
    mask = image.max(axis=2) < 40
    mask[:16] = False  # the frame number
    return mask


def test_the_preview_of_a_frame_is_what_export_writes(served: tuple[ReviewServer, Counting]) -> None:
    """Before export every frame is shown masked as export masks it (the detector sees the face
    on one frame in eight; the photo detector's preview showed it bare on the others)."""
    server, verifier = served
    previews = {i: picture(request(server, f"/api/items/0/frame?i={i}")[1]) for i in range(FRAMES)}
    assert not server.catalog.items[0].output.exists()
    result = server.exporter.export_one(server.catalog.items[0])
    assert result["verdict"] == "verified", result
    written = decoded(server.catalog.items[0].output)
    for index, frame in enumerate(written):
        shown = previews[index]
        assert frame_number(shown) == index
        differ = float((black(shown) != black(frame)).mean())
        assert differ < 0.01, f"frame {index}: the preview differs from the export on {differ:.1%}"
    assert verifier.calls >= len(range(0, FRAMES, 30)), (
        "the review export is attacked by the catalog's verifier"
    )
    assert written[0].shape[1::-1] == (W, H)


def test_the_preview_masks_the_text_export_masks(tmp_path: Path) -> None:
    """A name tag below a walking face: before export every frame's preview shows it masked,
    as the written clip has it (the preview runs the clip's own text looks, not none)."""
    from support.clips import write_clip as write_text_clip
    from test_text_video import FRAMES as TEXT_FRAMES
    from test_text_video import Bright, dark, draw, faces, words_at
    from test_text_video import H as TEXT_H
    from test_text_video import W as TEXT_W

    folder = tmp_path / "clips"
    folder.mkdir()
    write_text_clip(folder / "tag.mp4", TEXT_FRAMES, (TEXT_W, TEXT_H), draw)
    text = Bright()
    srv = start(
        serve(folder, tmp_path / "out", Settings(), detector=faces(), verifier=Counting(), text_detector=text)
    )
    try:
        previews = [picture(request(srv, f"/api/items/0/frame?i={i}")[1]) for i in range(TEXT_FRAMES)]
        assert text.calls, "the preview looked for text"
        shown = [dark(p, words_at(i)) for i, p in enumerate(previews)]
        assert min(shown) > 0.95, [round(s, 2) for s in shown]
        result = srv.exporter.export_one(srv.catalog.items[0])
        assert result["verdict"] == "verified", result
        written = decoded(srv.catalog.items[0].output)
        for index, frame in enumerate(written):
            differ = float((black(previews[index]) != black(frame)).mean())
            assert differ < 0.01, f"frame {index}: the preview differs from the export on {differ:.1%}"
    finally:
        srv.shutdown()
        srv.server_close()
        srv.exporter.wait(60)
        srv.catalog.frames.close()
