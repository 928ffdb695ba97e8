"""A person's review corrections never sit in the output folder: they say where a face was left
bare on purpose, and the output folder is meant for publishing. They live in the state folder,
are applied by `unseen batch` (locally and on a worker that cannot see that folder), and a
sidecar an earlier version left beside its output is moved out."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
from PIL import Image

from unseen.batch import run_batch
from unseen.batch.work import Task, process
from unseen.detect import FakeDetector
from unseen.edits import SIDECAR_SUFFIX, Edits, edits_root, sidecar_for
from unseen.settings import Settings
from unseen.web import serve

FACE = (60, 40, 120, 110)
FAST = Settings(verify=False)


def _photos(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((160, 200, 3), 200, np.uint8)).save(folder / name)


def _published(out: Path) -> list[str]:
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


def test_review_edits_are_saved_outside_the_output_folder(tmp_path: Path) -> None:
    import http.client

    folder, out = tmp_path / "photos", tmp_path / "out"
    _photos(folder)
    srv = serve(folder, out, FAST, detector=FakeDetector([FACE]))
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", srv.server_port, timeout=30)
        body = json.dumps({"removed": [list(FACE)]})
        conn.request(
            "POST",
            "/api/items/0/edits",
            body,
            {"X-Unseen-Token": srv.token, "Content-Type": "application/json"},
        )
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        srv.shutdown()
        srv.server_close()
    sidecar = sidecar_for(out / "a.unseen.png")
    assert sidecar.is_file() and sidecar.is_relative_to(edits_root())
    assert not sidecar.is_relative_to(out) and not sidecar.is_relative_to(folder)
    assert sidecar.parent.stat().st_mode & 0o077 == 0, "the edits folder is private"
    assert not any(p.name.endswith(SIDECAR_SUFFIX) for p in out.rglob("*"))


def test_batch_applies_the_edits_and_publishes_only_outputs(tmp_path: Path) -> None:
    folder, out = tmp_path / "photos", tmp_path / "out"
    _photos(folder)
    Edits(removed=[FACE]).save(sidecar_for(out / "a.unseen.png"))
    result = run_batch(folder, out, FAST, detector=FakeDetector([FACE]), workers=1)
    assert result.exit_code == 0
    assert _published(out) == ["a.unseen.png", "b.unseen.png"]
    x1, y1, x2, y2 = FACE
    kept = np.asarray(Image.open(out / "a.unseen.png"))[y1:y2, x1:x2]
    masked = np.asarray(Image.open(out / "b.unseen.png"))[y1:y2, x1:x2]
    assert (kept == 200).all(), "the face the person removed is left as they chose"
    assert (masked != 200).any(), "the other photo's face is masked"


class _Elsewhere:
    """An engine whose worker runs on a machine with its own, empty state folder (as on Ray)."""

    def __init__(self, state: Path) -> None:
        self.state, self.seen = state, {}  # type: ignore[var-annotated]

    def run(self, tasks: list[Task], started, finished) -> None:  # type: ignore[no-untyped-def]
        for task in tasks:
            started(task)
            self.seen[task.rel] = task.edits
            before = os.environ["XDG_STATE_HOME"]
            os.environ["XDG_STATE_HOME"] = str(self.state)
            try:
                outcome = process(task, FakeDetector([FACE]))
            finally:
                os.environ["XDG_STATE_HOME"] = before
            finished(outcome)


def test_the_edits_travel_with_the_task(tmp_path: Path) -> None:
    """A Ray worker on another machine cannot read the driver's state folder: the task carries them."""
    folder, out = tmp_path / "photos", tmp_path / "out"
    _photos(folder)
    Edits(removed=[FACE]).save(sidecar_for(out / "a.unseen.png"))
    engine = _Elsewhere(tmp_path / "worker-state")
    assert run_batch(folder, out, FAST, engine=engine).exit_code == 0
    assert engine.seen["b.png"] is None
    assert Edits.parse(engine.seen["a.png"], Path("x")).removed == [FACE]
    x1, y1, x2, y2 = FACE
    assert (np.asarray(Image.open(out / "a.unseen.png"))[y1:y2, x1:x2] == 200).all()
    assert not (tmp_path / "worker-state").exists(), "the worker looked for no sidecar of its own"


def test_a_sidecar_beside_an_output_from_an_earlier_version_is_moved_out(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    legacy = out / ("a.unseen.png" + SIDECAR_SUFFIX)
    Edits(removed=[FACE]).save(legacy)
    moved = sidecar_for(out / "a.unseen.png")
    assert not legacy.exists() and Edits.load(moved).removed == [FACE]
