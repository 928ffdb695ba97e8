"""Video as its own pipeline: decode, detect at cadence, track, mask, check, encode.

`media/` reads and writes containers; this package decides what is masked on every frame.
"""

from unseen.video.anonymize import anonymize_video, inspect_video, plan_masks, refusal
from unseen.video.painting import Masks, Painter

__all__ = ["Masks", "Painter", "anonymize_video", "inspect_video", "plan_masks", "refusal"]
