"""Long, coverage-guided fuzzing of the photo and video readers with atheris (pip install atheris).

libFuzzer mutates a control string; the control string picks a generated seed and the mutations
applied to it (tests/fuzz_corpus.py), so every input starts from a valid file. The property is the
one tests/test_fuzz.py checks: load or raise an UnseenError, never another exception, never a hang
(-timeout), never a crash. A failing input's bytes are written to bench/out/fuzz/ for a regression.

    .venv/bin/python bench/fuzz_atheris.py image -max_total_time=420 -timeout=30 -max_len=64
    .venv/bin/python bench/fuzz_atheris.py video -max_total_time=360 -timeout=60 -max_len=64
"""

from __future__ import annotations

import collections
import hashlib
import sys
import time
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
OUT = ROOT / "bench" / "out" / "fuzz"

with atheris.instrument_imports(include=["unseen"]):
    import unseen.media.image  # noqa: F401
    import unseen.media.metadata  # noqa: F401
    import unseen.media.video  # noqa: F401

import fuzz_corpus  # noqa: E402

TARGET = sys.argv.pop(1) if len(sys.argv) > 1 and sys.argv[1] in ("image", "video") else "image"
SEEDS = fuzz_corpus.image_seeds() if TARGET == "image" else fuzz_corpus.video_seeds()
NAMES = sorted(SEEDS)
DONORS = [*SEEDS.values(), *fuzz_corpus.image_seeds().values()]
FOLDER = OUT / f"work-{TARGET}"  # reused: libFuzzer exits without running Python's atexit
FOLDER.mkdir(parents=True, exist_ok=True)
TALLY: collections.Counter[str] = collections.Counter()
STARTED = time.monotonic()


def one_input(control: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(control)
    name = NAMES[fdp.ConsumeIntInRange(0, len(NAMES) - 1)]
    mutator = fuzz_corpus.Mutator(lambda lo, hi: fdp.ConsumeIntInRange(lo, hi))
    data = mutator.mutate(SEEDS[name], DONORS)
    try:
        if TARGET == "image":
            fuzz_corpus.check_image(data, FOLDER, lambda outcome: TALLY.update([outcome]))
        else:
            fuzz_corpus.check_video(data, FOLDER, "." + name, lambda outcome: TALLY.update([outcome]))
    except BaseException:
        OUT.mkdir(parents=True, exist_ok=True)
        crash = OUT / f"{TARGET}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
        crash.write_bytes(data)
        print(f"\nfailing input ({name} seed) written to {crash}", file=sys.stderr)
        raise
    total = TALLY.total()
    if total % 5000 == 0:  # libFuzzer prints its own totals at the end; these are the outcomes
        print(f"{total} inputs in {time.monotonic() - STARTED:.0f} s: {dict(TALLY)}", file=sys.stderr)


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
