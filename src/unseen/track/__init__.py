"""Video: tie detections into tracks over frames, fill gaps, hold and back-fill masks."""

from unseen.track.tracker import Track, Tracker

__all__ = ["Track", "Tracker"]
