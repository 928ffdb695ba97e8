"""unseen: find every face in photos and videos, destroy it irreversibly, strip identifying
metadata, and prove the result. Offline.

    >>> import unseen
    >>> masked, report = unseen.anonymize(rgb_array)
    >>> report = unseen.anonymize_file("crowd.jpg")        # writes crowd.unseen.jpg
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Detections",
    "InputError",
    "MaskShape",
    "MaskStyle",
    "OutputError",
    "Report",
    "Settings",
    "UnseenError",
    "VerificationFailed",
    "__version__",
    "anonymize",
    "anonymize_file",
    "find_faces",
    "inspect_file",
]

from unseen.errors import InputError, OutputError, UnseenError, VerificationFailed
from unseen.settings import Settings
from unseen.types import Detections, MaskShape, MaskStyle, Report

if TYPE_CHECKING:
    from unseen.pipeline import anonymize, anonymize_file, find_faces, inspect_file


def __getattr__(name: str) -> Any:
    # the pipeline pulls in OpenCV and the models: load it on first use, not on `import unseen`
    if name in {"anonymize", "anonymize_file", "find_faces", "inspect_file"}:
        from unseen import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'unseen' has no attribute {name!r}")
