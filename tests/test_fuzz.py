"""Fuzzing every reader: a hostile file either loads or raises an UnseenError, never anything else.

Seeds are generated (tests/fuzz_corpus.py); hypothesis mutates them with bit flips, byte
overwrites, truncations, splices across formats, moved blocks and hostile size fields near the
structure tags. A per-example deadline catches slow inputs, and a watchdog ends the process with
tracebacks if one never returns (a hang fails the run instead of stalling it).

The default budget keeps this file under a minute; a long session:
    UNSEEN_FUZZ_EXAMPLES=20000 .venv/bin/pytest tests/test_fuzz.py -q
or, coverage-guided, bench/fuzz_atheris.py.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.control import currently_in_test_context  # noqa: E402

import fuzz_corpus  # noqa: E402
from fuzz_corpus import Mutator, image_seeds, video_seeds  # noqa: E402
from unseen.errors import InputTooLarge  # noqa: E402
from unseen.media.image import ImageFormat, load_image  # noqa: E402
from unseen.media.video import is_video  # noqa: E402

EXAMPLES = int(os.environ.get("UNSEEN_FUZZ_EXAMPLES", "0"))
TALLY = os.environ.get("UNSEEN_FUZZ_TALLY")  # a file to append each outcome to, for long runs
WATCHDOG_SECONDS = 120  # one input taking this long is a hang (the deadline flags slow ones)


def budget(default: int) -> settings:
    return settings(
        max_examples=EXAMPLES or default,
        deadline=timedelta(seconds=10),
        derandomize=not EXAMPLES,  # the CI run is reproducible; a long run explores
        database=None,  # nothing written into the source tree
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        print_blob=True,
    )


@contextlib.contextmanager
def watchdog() -> Iterator[None]:
    """One input that never returns ends the process with every thread's stack: a hang fails."""
    faulthandler.dump_traceback_later(WATCHDOG_SECONDS, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@st.composite
def mutated(draw: st.DrawFn, seeds: dict[str, bytes]) -> bytes:
    """A seed with a few mutations: half drawn by hypothesis (they shrink), half by a seeded
    uniform generator (hypothesis favours small numbers, so offsets would cluster at the header)."""
    donors = [*seeds.values(), *image_seeds().values()]
    base = seeds[draw(st.sampled_from(sorted(seeds)))]
    if draw(st.booleans()):
        return Mutator(lambda lo, hi: draw(st.integers(lo, hi))).mutate(base, donors)
    rng = np.random.default_rng(draw(st.integers(0, 2**63)))
    return Mutator(lambda lo, hi: rng.integers(lo, hi + 1)).mutate(base, donors)


def note(outcome: str) -> None:
    """Count outcomes (pytest --hypothesis-show-statistics) and, in long runs, in a tally file."""
    if currently_in_test_context():
        event(outcome)
    if TALLY:
        with open(TALLY, "a", encoding="ascii") as f:
            f.write(outcome + "\n")


def check_image(data: bytes, folder: Path) -> None:
    with watchdog():
        fuzz_corpus.check_image(data, folder, note)


def check_video(data: bytes, folder: Path, suffix: str) -> None:
    with watchdog():
        fuzz_corpus.check_video(data, folder, suffix, note)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def test_seeds_are_valid(folder: Path) -> None:
    """Without valid seeds the fuzzer would only ever test the first byte check."""
    for name, data in image_seeds().items():
        path = folder / name
        path.write_bytes(data)
        assert load_image(path).pixels.size, name
    for name, data in video_seeds().items():
        path = folder / f"seed.{name}"
        path.write_bytes(data)
        assert is_video(path), name


@pytest.mark.slow
@budget(default=400)
@given(data=mutated(image_seeds()))
def test_fuzz_image_readers(data: bytes, folder: Path) -> None:
    check_image(data, folder)


@pytest.mark.slow
@budget(default=60)
@given(data=mutated(video_seeds()), suffix=st.sampled_from([".mp4", ".mkv", ".webm"]))
def test_fuzz_video_reader(data: bytes, suffix: str, folder: Path) -> None:
    check_video(data, folder, suffix)


def _png_ihdr(width: int, height: int, rest: bytes) -> bytes:
    body = b"IHDR" + width.to_bytes(4, "big") + height.to_bytes(4, "big") + rest
    return body + zlib.crc32(body).to_bytes(4, "big")


# Inputs the fuzzers found or that sit on the edges they probe, kept as regressions. Built here from
# a seed, so each is a few lines rather than a blob.
def _edge_cases() -> list[tuple[str, bytes]]:
    seeds = image_seeds()
    jpeg, png, tiff = seeds["jpeg"], seeds["png"], seeds["tiff-raw-exif"]
    ihdr = png.index(b"IHDR")
    sof = jpeg.index(b"\xff\xc0")
    huge_ihdr = _png_ihdr(60000, 60000, png[ihdr + 12 : ihdr + 17])
    return [
        # PNG header claims 60000 x 60000 with the real (small) data after it: refused before decoding
        ("png-claims-huge", png[:ihdr] + huge_ihdr + png[ihdr + 21 :]),
        # JPEG frame header claims 65535 x 65535
        ("jpeg-claims-huge", jpeg[: sof + 5] + b"\xff\xff\xff\xff" + jpeg[sof + 9 :]),
        # JPEG frame header claims zero lines
        ("jpeg-zero-height", jpeg[: sof + 5] + b"\x00\x00" + jpeg[sof + 7 :]),
        # TIFF whose first IFD points to itself: a loop
        ("tiff-ifd-loop", tiff[:4] + (8).to_bytes(4, "little") + tiff[8:]),
        # TIFF whose first IFD points past the end
        ("tiff-ifd-outside", tiff[:4] + (0x7FFFFFFF).to_bytes(4, "little") + tiff[8:]),
        # only the signatures
        *[(f"{fmt.value}-signature-only", data[:16]) for fmt, data in (
            (ImageFormat.JPEG, jpeg), (ImageFormat.PNG, png), (ImageFormat.TIFF, tiff),
            (ImageFormat.WEBP, seeds["webp"]), (ImageFormat.HEIF, seeds["heic"]))],
        # a HEIF whose boxes are fine but whose coded picture is zeroed
        ("heic-zeroed-picture", seeds["heic"][:-200] + bytes(200)),
    ]  # fmt: skip


EDGES = _edge_cases()


@pytest.mark.parametrize(("case", "data"), EDGES, ids=[case for case, _ in EDGES])
def test_edge_inputs_load_or_raise_our_errors(case: str, data: bytes, tmp_path: Path) -> None:
    check_image(data, tmp_path)


def test_huge_claims_are_refused_as_too_large(tmp_path: Path) -> None:
    for case, data in EDGES:
        if case.endswith("claims-huge"):
            path = tmp_path / f"{case}.img"
            path.write_bytes(data)
            with pytest.raises(InputTooLarge, match=path.name):
                load_image(path)


def test_video_edges(tmp_path: Path) -> None:
    """Truncated at every tenth of the file, and the header alone: a bool, then output or nothing."""
    for name, data in video_seeds().items():
        for cut in range(1, 10):
            check_video(data[: len(data) * cut // 10], tmp_path, f".{name}")
