"""Text that identifies: name tags, badges, jerseys, plates. Found, masked solid, and proved.

`protect_text` is the photo step (after faces are masked); `mask_text_in_frame` is the same for a
video frame, without the re-check, for the video pipeline to call per frame.
"""

from unseen.text.db import DBParams, quads_to_boxes, text_quads, unclip
from unseen.text.frame import mask_text_in_frame
from unseen.text.model import (
    FakeTextDetector,
    PPOCRText,
    TextDetector,
    default_text_detector,
    text_available,
    weights_path,
)
from unseen.text.people import body_boxes, on_people, search_crops
from unseen.text.protect import find_text, protect_text, text_summary

__all__ = [
    "DBParams",
    "FakeTextDetector",
    "PPOCRText",
    "TextDetector",
    "body_boxes",
    "default_text_detector",
    "find_text",
    "mask_text_in_frame",
    "on_people",
    "protect_text",
    "quads_to_boxes",
    "search_crops",
    "text_available",
    "text_quads",
    "text_summary",
    "unclip",
    "weights_path",
]
