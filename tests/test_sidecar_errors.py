"""A damaged review sidecar (`*.unseen-edits.json`) is a one-line error naming it, never a traceback,
never silently reset: the CLI exits 2, a batch fails that file only, the review page says so."""

from __future__ import annotations

import http.client
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unseen.cli import main
from unseen.detect import FakeDetector
from unseen.edits import Edits, sidecar_for
from unseen.errors import UnreadableInput
from unseen.settings import Settings
from unseen.web import serve

FACE = (20, 10, 50, 45)
DAMAGED = [
    b"{not json",
    b"",
    b"[]",
    b'{"added": [[1, 2, 3]]}',
    b'{"added": [[1, 2, "x", 4]]}',
    b'{"removed": 5}',
    b'{"mask": "sparkles"}',
    b'{"tracks_off": ["x"]}',
    b'{"added_ranges": [{"box": [1, 2, 3, 4]}]}',
    b"\xff\xfe\x00",
]


def photo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((64, 80, 3), 120, np.uint8)).save(path)
    return path


@pytest.mark.parametrize("body", DAMAGED, ids=range(len(DAMAGED)))
def test_load_names_the_file(body: bytes, tmp_path: Path) -> None:
    sidecar = tmp_path / "a.unseen.png.unseen-edits.json"
    sidecar.write_bytes(body)
    with pytest.raises(UnreadableInput, match="a.unseen.png.unseen-edits.json") as caught:
        Edits.load(sidecar)
    assert "\n" not in str(caught.value) and "delete it" in str(caught.value)


def test_a_good_sidecar_still_loads(tmp_path: Path) -> None:
    edits = Edits(added=[(1.0, 2.0, 3.0, 4.0)], mask="blur", tracks_off=[3],
                  added_ranges=[{"box": [1.0, 2.0, 5.0, 6.0], "first": 0, "last": 4}])  # fmt: skip
    edits.save(tmp_path / "x.json")
    assert Edits.load(tmp_path / "x.json") == edits


@pytest.mark.parametrize("body", DAMAGED[:4], ids=range(4))
def test_cli_exits_2_with_one_line(
    body: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("unseen.pipeline.default_detector", lambda settings: FakeDetector([FACE]))
    src = photo(tmp_path / "a.png")
    _write(sidecar_for(tmp_path / "a.unseen.png"), body)
    assert main([str(src), "--no-verify"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        len(err) == 2 and "unseen-edits.json" in err[1] and "damaged" in err[1]
    )  # after the --no-verify warning
    assert not (tmp_path / "a.unseen.png").exists()


def test_batch_fails_that_file_and_does_the_others(tmp_path: Path) -> None:
    src, out = tmp_path / "incoming", tmp_path / "published"
    photo(src / "a.png")
    photo(src / "b.png")
    common = ["--workers", "1", "--no-verify", "-q"]
    assert main(["batch", str(src), "-o", str(out), *common]) == 0
    _write(sidecar_for(out / "a.unseen.png"), b"{broken")
    report = tmp_path / "r.json"
    assert main(["batch", str(src), "-o", str(out), "--resume", "--report", str(report), *common]) == 2
    files = {f["input"]: f for f in json.loads(report.read_text())["files"]}
    assert files["a.png"]["state"] == "failed" and "unseen-edits.json" in files["a.png"]["reason"]
    assert "internal error" not in files["a.png"]["reason"]
    assert files["b.png"]["state"] == "done" and (out / "b.unseen.png").is_file()


def call(server, path: str, body: object = None) -> tuple[int, dict]:  # noqa: ANN001
    conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    headers = {"X-Unseen-Token": server.token}
    data = None
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    conn.request("POST" if body is not None else "GET", path, data, headers)
    response = conn.getresponse()
    status, payload = response.status, json.loads(response.read() or b"{}")
    conn.close()
    return status, payload


def test_review_page_reports_it_and_never_resets_it(tmp_path: Path) -> None:
    folder, out = tmp_path / "shots", tmp_path / "out"
    photo(folder / "a.png")
    photo(folder / "b.png")
    out.mkdir()
    damaged = sidecar_for(out / "a.unseen.png")
    _write(damaged, b'{"removed": [[1, 2, 3]]')
    server = serve(folder, out, Settings(verify=False), detector=FakeDetector([FACE]))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        listing = call(server, "/api/items")[1]["items"]
        assert "a.unseen.png.unseen-edits.json" in listing[0]["edits_error"]
        assert str(out) not in listing[0]["edits_error"], "the page names no folders of the machine"
        assert listing[1]["edits_error"] is None
        status, answer = call(server, "/api/items/0/edits", {"added": [[5, 5, 30, 30]]})
        assert status == 409 and "unseen-edits.json" in answer["error"]
        assert damaged.read_text() == '{"removed": [[1, 2, 3]]', "the damaged file is left for the person"
        result = server.exporter.export_one(server.catalog.items[0])
        assert result["verdict"] == "error" and "unseen-edits.json" in result["message"]
        assert not (out / "a.unseen.png").exists(), "no export without the person's corrections"
        assert server.exporter.export_one(server.catalog.items[1])["verdict"] == "unverified"
    finally:
        server.shutdown()
        server.server_close()


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
