"""Text counts where a user reads them: `unseen inspect`'s line and report, `unseen batch`'s
summary and --csv columns, for a photo and a clip with a name tag on the person (real models)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from conftest import ASTRONAUT_FACE
from support.clips import write_clip
from test_text import scene
from test_text_video import FRAMES, H, W, draw
from unseen.cli import main
from unseen.text import text_available
from unseen.types import Image as Pixels

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not text_available(), reason="the text extra is not installed"),
]


def test_inspect_says_how_much_text_is_on_people(
    astronaut: Pixels, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, rep = tmp_path / "scene.png", tmp_path / "r.json"
    Image.fromarray(scene(astronaut)).save(src)
    assert main(["inspect", str(src), "--report", str(rep)]) == 0
    line = capsys.readouterr().out
    text = json.loads(rep.read_text())[0]["text"]
    assert text["on_people_found"] >= 1 and text["other_found"] >= 1  # the tag, and the sign beside
    assert text["on_people_masked"] == 0 and not any(r["masked"] for r in text["regions"])
    assert re.search(
        rf"{text['on_people_found']} text regions? on people and {text['other_found']} elsewhere", line
    )
    assert not list(tmp_path.glob("*.unseen.*"))  # inspect writes nothing


def test_batch_summary_and_csv_count_text_masked_and_left(
    astronaut: Pixels, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(scene(astronaut)).save(src / "scene.png")
    x1, y1, x2, y2 = ASTRONAUT_FACE
    write_clip(src / "clip.mp4", FRAMES, (W, H), lambda i: draw(i, astronaut[y1:y2, x1:x2]))
    for mode in ("people", "off"):
        out, table = tmp_path / mode, tmp_path / f"{mode}.csv"
        argv = ["batch", str(src), "-o", str(out), "--no-verify", "--workers", "1", "--csv", str(table)]
        assert main([*argv, "--text", mode]) == 0
        said = capsys.readouterr()
        with table.open() as f:
            rows = {r["input"]: r for r in csv.DictReader(f)}
        assert set(rows) == {"scene.png", "clip.mp4"}
        for row in rows.values():
            assert int(row["text_on_people_found"]) >= 1
            if mode == "people":
                assert int(row["text_on_people_masked"]) >= 1 and int(row["text_on_people_left"]) == 0
            else:
                assert int(row["text_on_people_masked"]) == 0 and int(row["text_on_people_left"]) >= 1
        masked = sum(int(r["text_on_people_masked"]) for r in rows.values())
        left = sum(int(r["text_on_people_left"]) for r in rows.values())
        assert f"text regions on people: {masked} masked, {left} left" in said.out + said.err
