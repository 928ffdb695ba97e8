"""The command line end to end, with the real models, as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unseen.cli import main

pytestmark = pytest.mark.slow
EXIFTOOL = shutil.which("exiftool")


@pytest.fixture
def sample(tmp_path: Path) -> Path:
    from unseen.demo import write_sample

    return write_sample(tmp_path / "photos")


def exif_tags(path: Path) -> dict[str, object]:
    out = subprocess.run(
        [EXIFTOOL, "-j", "-a", "-G1", "-ee", str(path)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)[0]


def test_one_photo_beside_it(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(sample)]) == 0
    out = sample.with_name("astronaut.unseen.jpg")
    line = capsys.readouterr().out.strip()
    assert "1 face masked" in line and "GPS" in line and "camera serial" in line and "verified" in line
    pixels = np.asarray(Image.open(out))
    assert pixels[70:170, 190:260].mean() < 25, "her face is under an opaque mask"
    if EXIFTOOL:
        tags = exif_tags(out)
        leaked = [
            k
            for k in tags
            if any(w in k for w in ("GPS", "Serial", "Owner", "Artist", "Make", "Model", "Date"))
        ]
        assert leaked == [] or all(k.startswith(("System:", "File:")) for k in leaked), leaked


def test_batch_with_a_corrupt_file_does_the_rest(
    sample: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = sample.with_name("broken.jpg")
    bad.write_bytes(sample.read_bytes()[:3000])
    out = tmp_path / "out"
    code = main([str(bad), str(sample), "-o", str(out) + "/", "--report", str(tmp_path / "r.json")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.jpg" in err[0]
    assert sorted(p.name for p in out.iterdir()) == ["astronaut.unseen.jpg"]
    reports = json.loads((tmp_path / "r.json").read_text())
    assert [r["face_count"] for r in reports] == [0, 1]
    assert reports[0]["error"] and reports[1]["verdict"] == "verified"


def test_report_holds_no_pixels(sample: Path, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert main([str(sample), "--report", str(report)]) == 0
    text = report.read_text()
    assert len(text) < 5000
    data = json.loads(text)[0]
    assert data["faces"][0]["mask_box"] and data["metadata_removed"]


def test_inspect(sample: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(sample)]) == 0
    line = capsys.readouterr().out
    assert "1 face found" in line and "GPS" in line and "nothing written" in line
    assert sorted(p.name for p in sample.parent.iterdir()) == ["astronaut.jpg"]


@pytest.mark.parametrize("mask", ["noise", "blur", "pixelate"])
def test_other_mask_styles_are_verified(sample: Path, mask: str, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    code = main([str(sample), "--mask", mask, "--report", str(report), "-o", str(tmp_path / f"{mask}.jpg")])
    data = json.loads(report.read_text())[0]
    assert code == 0 and data["verdict"] == "verified" and data["mask"] == mask


def test_usage_errors_exit_1(sample: Path) -> None:
    assert main([str(sample), "--mask", "sparkles"]) == 1
    assert main([]) == 1


def test_whole_run_opens_no_socket(sample: Path) -> None:
    """The CLI in a process that dies the moment anything touches a socket."""
    guard = (
        "import os, sys\n"
        "sys.addaudithook(lambda e, a: os._exit(99) if e.startswith('socket.') else None)\n"
        "from unseen.cli import main\n"
        f"sys.exit(main([{str(sample)!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", guard], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert sample.with_name("astronaut.unseen.jpg").is_file()


@pytest.mark.skipif(not shutil.which("unshare"), reason="unshare (util-linux) is absent")
def test_runs_without_a_network(sample: Path) -> None:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("this machine does not allow network namespaces")
    exe = Path(sys.executable).with_name("unseen")
    done = subprocess.run(
        ["unshare", "-rn", str(exe), str(sample)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
