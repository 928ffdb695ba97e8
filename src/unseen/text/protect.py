"""Find the text a mode masks, destroy it, and prove it: the text detector run again on the output
around every text mask finds nothing the mode should have masked, or the masks grow; in the end
the image is refused.

Text masks are always a solid fill over the region: a blurred word can often still be read.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from unseen.detect.tiles import merge_boxes
from unseen.errors import MissingExtra
from unseen.settings import Settings, TextMode
from unseen.text.model import DISTRIBUTION, EXTRA, TextDetector, merge_text, text_available
from unseen.text.people import on_people, search_crops
from unseen.types import Detections, FloatArray, Image, TextRecord, TextReport

MAX_ROUNDS = 3  # checks after masking, as for faces
COVERED = 0.8  # a region found again is masked when this share of it is already under a mask
PAD = 0.2  # a text mask reaches this share of the region's height beyond it on every side
GROW_STEP = 1.3  # each failed check grows the masks near what was still found by this much

BoolArray = npt.NDArray[np.bool_]


FACE_TARGET = 240.0  # a body crop is enlarged until its faces are this tall: a badge's letters are ~10%
MAX_CROP_SCALE = 4.0
WHOLE_SIDE = 1600  # `all` looks at the whole image with its longer side at least this long
PIXEL_BUDGET = 3_000_000  # network pixels an image's crops may cost together; scales shrink past it
# True: the check looks again only around the text masks (find_text_near); False: at every crop
# that holds one, whole
RECHECK = True
CHECK_CONTEXT = 256  # network pixels of picture around a text mask in the check (as TILE_OVERLAP)
WHOLE_SHARE = 0.6  # a crop whose windows would cover more than this share of it is looked at whole


def find_text(
    image: Image,
    faces: Detections,
    mode: TextMode,
    detector: TextDetector,
    touching: FloatArray | None = None,
) -> Detections:
    """Text regions a mode looks at: on the bodies below `faces`, and in `all` the whole image too.

    Bodies are searched as crops enlarged by their faces' size, so a badge below a small face
    is found; `off` still looks, to say how many were left. With `touching`, only the crops
    that overlap one of those boxes are searched (each at the scale of the full search).
    """
    parts = []
    for (x1, y1, x2, y2), scale in _crops(image.shape, faces, mode):
        if touching is not None and not _touches(np.asarray([[x1, y1, x2, y2]], np.float32), touching)[0]:
            continue
        parts.append(_detect_scaled(image[y1:y2, x1:x2], scale, detector).shifted(x1, y1))
    return merge_text(parts)


def find_text_near(
    image: Image, faces: Detections, mode: TextMode, detector: TextDetector, masks: FloatArray
) -> Detections:
    """`find_text` looking again only around the text `masks` (boxes as painted), in each crop at
    the scale the first look fed it: elsewhere the pixels are those the first look saw.

    Each window holds CHECK_CONTEXT network pixels of the picture around its masks (DB's map
    depends a little on what surrounds the letters, as for the tiles of a large look), and what it
    finds further than half that from a mask is dropped: a window's own border reads as an edge.
    A crop whose windows would cover most of it is looked at whole.
    """
    parts = []
    masks = np.asarray(masks, np.float32).reshape(-1, 4)
    for crop, scale in _crops(image.shape, faces, mode) if len(masks) else []:
        x1, y1, x2, y2 = crop
        here = masks[_touches(masks, np.asarray([crop], np.float32))]
        if len(here) == 0:
            continue
        fed = scale if scale > 1.01 else 1.0
        inner = _inner_scale(detector, (x2 - x1) * fed, (y2 - y1) * fed, scale)
        context = CHECK_CONTEXT / (fed * (inner if inner is not None else 1.0))
        windows = _around(here, context, crop)
        if sum((b[2] - b[0]) * (b[3] - b[1]) for b in windows) > WHOLE_SHARE * (x2 - x1) * (y2 - y1):
            windows = [crop]
        near = np.asarray(_around(here, context / 2, crop, merge=False), np.float32)
        for wx1, wy1, wx2, wy2 in windows:
            found = _detect_scaled(image[wy1:wy2, wx1:wx2], scale, detector, inner).shifted(wx1, wy1)
            parts.append(found if (wx1, wy1, wx2, wy2) == crop else found[_touches(found.boxes, near)])
    return merge_text(parts)


def _around(
    boxes: FloatArray, context: float, within: tuple[int, int, int, int], merge: bool = True
) -> list[tuple[int, int, int, int]]:
    """Each box grown by `context` on every side and clipped to `within`; overlapping ones merged."""
    x1, y1, x2, y2 = within
    grown: list[tuple[float, ...]] = [
        (max(x1, bx1 - context), max(y1, by1 - context), min(x2, bx2 + context), min(y2, by2 + context))
        for bx1, by1, bx2, by2 in boxes.tolist()
    ]
    grown = merge_boxes(grown) if merge else grown
    return [(int(a), int(b), int(np.ceil(c)), int(np.ceil(d))) for a, b, c, d in grown]


def _inner_scale(detector: TextDetector, width: float, height: float, scale: float) -> float | None:
    """The scale the detector would feed an image of this size at (None: it does not say)."""
    scale_for = getattr(detector, "scale_for", None)
    if scale_for is None:
        return None
    size = (round(width), round(height)) if scale > 1.01 else (int(width), int(height))
    return float(scale_for(*size))


def _crops(
    shape: tuple[int, ...], faces: Detections, mode: TextMode
) -> list[tuple[tuple[int, int, int, int], float]]:
    """The regions a mode searches, each with the scale it is searched at (within the budget)."""
    height, width = shape[:2]
    crops = [(box, _face_scale(box, faces)) for box in search_crops(faces, shape)]
    if mode is TextMode.ALL:
        whole = (0, 0, width, height)
        crops = [c for c in crops if c[0] != whole]
        crops.insert(0, (whole, min(3.0, max(1.0, WHOLE_SIDE / max(width, height)))))
    cost = sum((x2 - x1) * (y2 - y1) * s * s for (x1, y1, x2, y2), s in crops)
    shrink = min(1.0, float(np.sqrt(PIXEL_BUDGET / cost))) if cost else 1.0
    return [(box, max(1.0, scale * shrink)) for box, scale in crops]


def _face_scale(crop: tuple[int, int, int, int], faces: Detections) -> float:
    x1, y1, x2, y2 = crop
    centres = (faces.boxes[:, :2] + faces.boxes[:, 2:]) / 2
    inside = (centres[:, 0] >= x1) & (centres[:, 0] <= x2) & (centres[:, 1] >= y1) & (centres[:, 1] <= y2)
    heights = faces.heights[inside] if inside.any() else faces.heights
    # the largest face sets the scale: the most prominent person's badge is the one readable
    return float(np.clip(FACE_TARGET / max(float(heights.max()), 1.0), 1.0, MAX_CROP_SCALE))


def _detect_scaled(
    crop: Image, scale: float, detector: TextDetector, inner: float | None = None
) -> Detections:
    """Detect in `crop` enlarged by `scale` (then fed at `inner`, if given); boxes in the crop's
    own pixels."""

    def detect(image: Image) -> Detections:
        return detector.detect(image) if inner is None else detector.detect(image, scale=inner)  # type: ignore[call-arg]

    if scale <= 1.01:
        return detect(crop)
    h, w = crop.shape[:2]
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    enlarged: Image = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_CUBIC), np.uint8)
    found = detect(enlarged)
    factors = np.array([size[0] / w, size[1] / h] * 2, np.float32)
    return Detections(found.boxes / factors, found.scores, found.sources)


def should_mask(text: Detections, faces: Detections, mode: TextMode, shape: tuple[int, ...]) -> BoolArray:
    """Which regions the mode masks; and which of them are on a person, in that order."""
    if mode is TextMode.ALL:
        return np.ones(len(text), bool)
    if mode is TextMode.PEOPLE:
        return on_people(text, faces, shape)
    return np.zeros(len(text), bool)


def protect_text(
    original: Image,
    masked: Image,
    faces: Detections,
    settings: Settings,
    detector: TextDetector | None = None,
) -> tuple[Image, TextReport, bool]:
    """Mask the text `settings.text` covers in `masked` (whose faces are already masked); verify.

    Returns the new image, the report, and whether verification passed (True when not asked).
    Raises MissingExtra when a mode that masks text is asked for without the text detector.
    """
    mode = settings.text
    if detector is None:
        if not text_available():
            if mode is TextMode.OFF:
                return masked, TextReport(mode=mode.value, checked=False), True
            raise MissingExtra(DISTRIBUTION, EXTRA)
        from unseen.text.model import default_text_detector

        detector = default_text_detector()
    shape = original.shape
    found = find_text(original, faces, mode, detector)
    person = on_people(found, faces, shape)
    chosen = should_mask(found, faces, mode, shape)
    boxes = found.boxes[chosen]
    grow = np.ones(len(boxes), np.float32)
    out = fill_text(masked, boxes, grow)
    passed, rounds = True, 0
    left = Detections.empty()
    added: list[tuple[Detections, BoolArray]] = []
    if settings.verify and mode is not TextMode.OFF:
        face_area = (masked != original).any(axis=2)
        # but for its masks the image is the one the look saw, and text under the faces' masks
        # does not count: only the pixels around text masks can show more; after that, only
        # around the masks the round before changed (elsewhere the pixels are the same, and
        # the same detector found nothing left in them)
        recheck = np.asarray(mask_boxes(shape, boxes, grow), np.float32).reshape(-1, 4)
        for rounds in range(1, MAX_ROUNDS + 1):
            if RECHECK:
                again = find_text_near(out, faces, mode, detector, recheck)
            else:
                again = find_text(out, faces, mode, detector, touching=recheck)
            again = again[should_mask(again, faces, mode, shape)]
            left = again[_uncovered(again.boxes, text_area(shape, boxes, grow) | face_area)]
            if len(left) == 0:
                break
            if rounds == MAX_ROUNDS:
                passed = False
                break
            added.append((left, on_people(left, faces, shape)))
            grown = _touches(boxes, left.boxes)
            grow = np.where(grown, grow * GROW_STEP, grow).astype(np.float32)
            boxes = np.concatenate([boxes, left.boxes])
            grow = np.concatenate([grow, np.full(len(left), GROW_STEP**rounds, np.float32)])
            out = fill_text(masked, boxes, grow)
            redrawn = np.concatenate([grown, np.ones(len(left), bool)])
            recheck = np.asarray(mask_boxes(shape, boxes[redrawn], grow[redrawn]), np.float32).reshape(-1, 4)
    report = _report(mode, found, person, chosen, added, left if not passed else Detections.empty(), rounds)
    return out, report, passed


def text_area(shape: tuple[int, ...], boxes: FloatArray, grow: FloatArray) -> BoolArray:
    """Boolean H x W: True under a text mask (each box padded, then scaled by its grow)."""
    area = np.zeros(shape[:2], bool)
    for x1, y1, x2, y2 in mask_boxes(shape, boxes, grow):
        area[y1:y2, x1:x2] = True
    return area


def fill_text(image: Image, boxes: FloatArray, grow: FloatArray) -> Image:
    """A copy of `image` with every text region filled solid black: nothing of the letters left."""
    out = image.copy()
    for x1, y1, x2, y2 in mask_boxes(image.shape, boxes, grow):
        out[y1:y2, x1:x2] = 0
    return out


def mask_boxes(
    shape: tuple[int, ...], boxes: FloatArray, grow: FloatArray
) -> list[tuple[int, int, int, int]]:
    """The pixel box each text mask covers: the region padded by PAD of its height, scaled by its
    grow, clipped to the image."""
    height, width = shape[:2]
    out = []
    for (x1, y1, x2, y2), g in zip(boxes, grow, strict=True):
        pad = max(2.0, (y2 - y1) * PAD)
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        half_w, half_h = ((x2 - x1) / 2 + pad) * g, ((y2 - y1) / 2 + pad) * g
        out.append(
            (
                max(0, int(np.floor(cx - half_w))),
                max(0, int(np.floor(cy - half_h))),
                min(width, int(np.ceil(cx + half_w))),
                min(height, int(np.ceil(cy + half_h))),
            )
        )
    return out


def _uncovered(boxes: FloatArray, area: BoolArray) -> BoolArray:
    """Regions less than COVERED under the mask area."""
    keep = np.zeros(len(boxes), bool)
    for i, (x1, y1, x2, y2) in enumerate(boxes.round().astype(int)):
        region = area[max(0, y1) : max(0, y2), max(0, x1) : max(0, x2)]
        keep[i] = region.size > 0 and float(region.mean()) < COVERED
    return keep


def _touches(boxes: FloatArray, others: FloatArray) -> BoolArray:
    if len(boxes) == 0 or len(others) == 0:
        return np.zeros(len(boxes), bool)
    return np.asarray(
        (
            (boxes[:, None, 0] <= others[None, :, 2])
            & (others[None, :, 0] <= boxes[:, None, 2])
            & (boxes[:, None, 1] <= others[None, :, 3])
            & (others[None, :, 1] <= boxes[:, None, 3])
        ).any(axis=1)
    )


def _report(
    mode: TextMode,
    found: Detections,
    person: BoolArray,
    chosen: BoolArray,
    added: list[tuple[Detections, BoolArray]],
    left: Detections,
    rounds: int,
) -> TextReport:
    """Counts over the first look plus what verification added (masked, by definition)."""
    regions = [
        TextRecord(box=_box(b), score=round(float(s), 3), on_person=bool(p), masked=bool(c))
        for b, s, p, c in zip(found.boxes, found.scores, person, chosen, strict=True)
    ]
    for extra, extra_person in added:
        regions += [
            TextRecord(box=_box(b), score=round(float(s), 3), on_person=bool(p), masked=True)
            for b, s, p in zip(extra.boxes, extra.scores, extra_person, strict=True)
        ]
    people = [r for r in regions if r.on_person]
    others = [r for r in regions if not r.on_person]
    return TextReport(
        mode=mode.value,
        regions=regions,
        on_people_found=len(people),
        on_people_masked=sum(r.masked for r in people),
        on_people_left=sum(not r.masked for r in people),
        other_found=len(others),
        other_masked=sum(r.masked for r in others),
        other_left=sum(not r.masked for r in others),
        redetected=len(left),
        redetected_boxes=[_box(b) for b in left.boxes],
        rounds=rounds,
    )


def _box(b: FloatArray) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = (int(v) for v in np.round(b))
    return x1, y1, x2, y2


def text_summary(report: TextReport | None) -> str | None:
    """The run line's words for text: how many on people were masked, and how many left."""
    if report is None:
        return None
    if not report.checked:
        return f"text not checked (pip install 'unseen[{EXTRA}]')"
    parts = []
    if report.on_people_masked:
        parts.append(f"{_n(report.on_people_masked)} on people masked")
    if report.on_people_left:
        parts.append(f"{_n(report.on_people_left)} on people left")
    if not report.on_people_found:
        parts.append("no text on people found")
    if report.other_masked:
        parts.append(f"{_n(report.other_masked)} elsewhere masked")
    return ", ".join(parts)


def _n(count: int) -> str:
    return f"{count} text region{'s' if count != 1 else ''}"


def survey_text(image: Image, faces: Detections, detector: TextDetector | None = None) -> TextReport | None:
    """What `unseen inspect` says about text: every region found, on people or elsewhere, none
    masked (None: the text detector is not installed)."""
    if detector is None:
        if not text_available():
            return None
        from unseen.text.model import default_text_detector

        detector = default_text_detector()
    found = find_text(image, faces, TextMode.ALL, detector)
    person = on_people(found, faces, image.shape)
    nothing = np.zeros(len(found), bool)
    report = _report(TextMode.OFF, found, person, nothing, [], Detections.empty(), 0)
    report.mode = "inspect"
    return report


def busiest(reports: list[TextReport | None]) -> TextReport | None:
    """Of the text surveys of a video's sampled frames, the one with the most text on people."""
    found = [r for r in reports if r is not None]
    if not found:
        return None
    return max(found, key=lambda r: (r.on_people_found, r.other_found))


def inspect_summary(report: TextReport | None) -> str:
    """The inspect line's words for text."""
    if report is None:
        return ""
    return f"; {_n(report.on_people_found)} on people and {report.other_found} elsewhere"
