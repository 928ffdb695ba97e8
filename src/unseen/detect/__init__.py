"""Face detectors behind one small protocol, and the passes that combine them."""

from unseen.detect.base import Detector, FakeDetector, nms
from unseen.detect.centerface import CenterFace
from unseen.detect.multiscale import MultiScale, Pass

__all__ = ["CenterFace", "Detector", "FakeDetector", "MultiScale", "Pass", "nms"]
