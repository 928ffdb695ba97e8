"""The environment the suite runs in is the tested set in constraints.txt: a new release of a
dependency cannot change behaviour without a test run that pins it."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

CONSTRAINTS = Path(__file__).resolve().parents[1] / "constraints.txt"


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not pinned with =="
            pins[_canonical(name)] = version
    return pins


def _requirements(dist: str, seen: set[str]) -> None:
    """Every distribution unseen needs to run, recursively (markers for extras skipped)."""
    for req in metadata.requires(dist) or []:
        name = _canonical(re.split(r"[ ;<>=!~\[(]", req, maxsplit=1)[0])
        if "extra ==" in req or name in seen:
            continue
        seen.add(name)
        try:
            _requirements(name, seen)
        except metadata.PackageNotFoundError:
            seen.discard(name)  # a requirement for another platform or Python


def test_runtime_dependencies_are_pinned() -> None:
    needed: set[str] = set()
    _requirements("unseen", needed)
    assert {"av", "numpy", "opencv-python"} <= needed, needed
    missing = sorted(needed - set(_pins()))
    assert not missing, f"not pinned in constraints.txt: {missing}"


def test_installed_versions_are_the_pinned_ones() -> None:
    wrong = []
    for name, version in _pins().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # an extra this environment does not have
        if installed.split("+")[0] != version:  # torch 2.13.0+cpu is the pinned 2.13.0
            wrong.append(f"{name} {installed} (pinned {version})")
    if wrong:
        pytest.fail("installed versions differ from constraints.txt: " + ", ".join(wrong))
