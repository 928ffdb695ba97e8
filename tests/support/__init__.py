"""Helpers the test files share: clip writers, scripted detectors, fakes."""
