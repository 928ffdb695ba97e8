"""Helpers the test files share: clip writers, files of every format with planted metadata,
scripted detectors, fakes."""
