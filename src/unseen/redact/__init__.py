"""Masks that destroy faces: where (head regions) and how (styles)."""

from unseen.redact.masks import apply_masks, head_boxes, mask_area

__all__ = ["apply_masks", "head_boxes", "mask_area"]
