"""kill -9 in the middle of a run: no partial output, no bare face on disk, a rerun finishes the job.

The CLI runs in a subprocess with its own TMPDIR, and is killed either at random moments (seeded)
or, deterministically, at the instant it renames a finished temporary file into place.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import av.error
import cv2
import numpy as np
import pytest

from unseen.errors import UnreadableInput
from unseen.media.image import load_image, read_back
from unseen.media.video import TMP_PREFIX

pytestmark = pytest.mark.slow
FACE = (190, 70, 260, 170)  # x1, y1, x2, y2 inside the astronaut's head in the 512 x 512 demo photo

# The CLI, with os.replace made to SIGKILL the process when it renames one of unseen's temporary
# files: the worst instant for a crash, reproduced on every run.
KILL_AT_RENAME = """
import os, signal, sys
real_replace = os.replace
def replace(src, dst, *args, **kwargs):
    if os.path.basename(os.fspath(src)).startswith(".unseen-tmp-"):
        os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *args, **kwargs)
os.replace = replace
from unseen.cli import main
sys.exit(main(sys.argv[1:]))
"""
CLI = "import sys\nfrom unseen.cli import main\nsys.exit(main(sys.argv[1:]))"


def left_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    from unseen.demo import write_sample

    sample = write_sample(tmp_path / "in")
    copies = [sample]
    for i in range(3):
        copy = sample.with_name(f"photo{i}.jpg")
        shutil.copy(sample, copy)
        copies.append(copy)
    return copies


class Child:
    """The CLI in a subprocess with a private temporary folder."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmpdir = tmp_path / "child-tmp"
        self.tmpdir.mkdir(exist_ok=True)
        self.env = {**os.environ, "TMPDIR": str(self.tmpdir)}

    def start(self, args: list[str], code: str = CLI) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", code, *args],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def run(self, args: list[str], code: str = CLI) -> tuple[int, str]:
        process = self.start(args, code)
        _, err = process.communicate(timeout=300)
        return process.returncode, err.decode(errors="replace")


def outputs_are_whole(out: Path, inputs: list[Path]) -> list[Path]:
    """Every file in out is a complete, clean, masked output or one of unseen's temporary files;
    returns the temporary files. None of them, temporary or not, shows the face."""
    expected = {p.with_suffix("").name + ".unseen.jpg" for p in inputs}
    temps = []
    for path in out.iterdir():
        if path.name.startswith(TMP_PREFIX):
            temps.append(path)
        else:
            assert path.name in expected, f"unexpected file {path.name}"
            assert read_back(path) == [], f"{path.name} holds metadata"
        try:
            pixels = load_image(path).pixels
        except UnreadableInput:
            assert path in temps, f"{path.name} is a partial output"
            continue  # a temporary file cut short by the kill
        x1, y1, x2, y2 = FACE
        assert pixels[y1:y2, x1:x2].mean() < 25, f"{path.name} shows the face"
    return temps


def test_random_kills_during_a_photo_batch(photos: list[Path], tmp_path: Path) -> None:
    """Killed at seeded random moments: only whole outputs appear, inputs are untouched, a rerun
    finishes, and nothing lands in the temporary folder or beside the inputs."""
    child = Child(tmp_path)
    out = tmp_path / "out"
    args = [*map(str, photos), "-o", f"{out}/", "--no-verify", "--text", "off", "-q"]  # text: elsewhere
    before = digest(photos[0].parent)
    started = time.perf_counter()
    code, err = child.run(args)
    full = time.perf_counter() - started
    assert code == 0, err
    shutil.rmtree(out)
    rng = random.Random(11)
    survivors: list[str] = []
    for _ in range(2):
        process = child.start(args)
        time.sleep(rng.uniform(0.3, full))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if out.is_dir():
            survivors += [p.name for p in outputs_are_whole(out, photos)]
    code, err = child.run([*args, "--overwrite"])  # the killed runs' whole outputs are in the way
    assert code == 0, err
    outputs_are_whole(out, photos)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(TMP_PREFIX)) == sorted(
        p.with_suffix("").name + ".unseen.jpg" for p in photos
    )
    assert digest(photos[0].parent) == before, "an input or its folder changed"
    assert left_in(child.tmpdir) == [], "files were left in the temporary folder"
    if survivors:
        print(f"temporary files seen after random kills: {len(survivors)}")


@pytest.mark.parametrize("verify", [False, True], ids=["no-verify", "verified"])
def test_kill_at_the_rename_leaves_no_output_and_no_bare_face(
    photos: list[Path], tmp_path: Path, verify: bool
) -> None:
    child = Child(tmp_path)
    out = tmp_path / "out"
    args = [str(photos[0]), "-o", f"{out}/", "-q", *([] if verify else ["--no-verify"])]
    code, _ = child.run(args, KILL_AT_RENAME)
    assert code == -signal.SIGKILL
    assert not (out / "astronaut.unseen.jpg").exists()
    outputs_are_whole(out, photos)  # whatever was left is masked
    assert left_in(child.tmpdir) == []
    assert sorted(p.name for p in photos[0].parent.iterdir()) == sorted(p.name for p in photos)
    code, err = child.run(args)
    assert code == 0, err
    assert (out / "astronaut.unseen.jpg").is_file()


@pytest.mark.parametrize(
    "kind",
    [
        "photo",
        "video",
    ],
)
def test_rerun_after_a_kill_leaves_no_temporary_file(
    kind: str, photos: list[Path], tmp_path: Path, astronaut: np.ndarray
) -> None:
    src = photos[0]
    if kind == "video":
        src = tmp_path / "clip.mp4"
        face_clip(src, astronaut, frames=10)
    child = Child(tmp_path)
    out = tmp_path / "out"
    args = [str(src), "-o", f"{out}/", "-q", "--no-verify"]
    assert child.run(args, KILL_AT_RENAME)[0] == -signal.SIGKILL
    assert child.run(args)[0] == 0
    assert [p.name for p in out.iterdir() if p.name.startswith(TMP_PREFIX)] == []


def face_clip(path: Path, astronaut: np.ndarray, frames: int = 40) -> tuple[int, int, int, int]:
    """A 320 x 240 clip with the astronaut's head standing still; returns the face box."""
    head = cv2.resize(np.ascontiguousarray(astronaut[20:240, 120:330]), (105, 110))
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=20, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(frames):
            image = np.full((240, 320, 3), 120, np.uint8)
            image[60:170, 100:205] = head
            image[:8, : 8 * (i % 40)] = 255  # a moving bar so frames differ
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 20)
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return (130, 80, 176, 140)  # the face inside the pasted head


def video_frames(path: Path) -> list[np.ndarray] | None:
    """The decodable frames of a video file, or None if it cannot be opened (cut short)."""
    try:
        with av.open(str(path)) as container:
            return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    except av.error.FFmpegError:
        return None


def test_kill_during_a_video_leaves_no_output_and_no_bare_frame(
    tmp_path: Path, astronaut: np.ndarray
) -> None:
    src = tmp_path / "in" / "clip.mp4"
    src.parent.mkdir()
    x1, y1, x2, y2 = face_clip(src, astronaut)
    child = Child(tmp_path)
    out = tmp_path / "out"
    final = out / "clip.unseen.mp4"
    args = [str(src), "-o", f"{out}/", "-q", "--no-verify", "--text", "off"]
    started = time.perf_counter()
    assert child.run(args)[0] == 0
    full = time.perf_counter() - started
    rng = random.Random(5)
    for _ in range(2):  # and the kill at the rename below
        final.unlink()
        process = child.start(args)
        time.sleep(rng.uniform(0.3, full))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if final.exists():  # the kill came after the rename: the output must be whole
            assert len(video_frames(final) or []) == 40
        else:
            child.run(args)
    final.unlink()
    assert child.run(args, KILL_AT_RENAME)[0] == -signal.SIGKILL
    assert not final.exists()
    for temp in out.iterdir():  # finished or cut short: whatever decodes is already masked
        assert temp.name.startswith(TMP_PREFIX)
        for image in video_frames(temp) or []:
            assert image[y1:y2, x1:x2].mean() < 25, f"a bare face in {temp.name}"
    assert left_in(child.tmpdir) == []
    assert [p.name for p in src.parent.iterdir()] == ["clip.mp4"]
    code, err = child.run(args)
    assert code == 0, err
    assert len(video_frames(final) or []) == 40


def test_temporary_folder_is_untouched_by_a_full_run(photos: list[Path], tmp_path: Path) -> None:
    """With verification on (the default), a run leaves nothing in TMPDIR or in /tmp."""
    system_tmp = Path("/tmp")
    before = {p for p in system_tmp.iterdir() if "unseen" in p.name}
    child = Child(tmp_path)
    code, err = child.run([str(photos[0]), "-o", f"{tmp_path}/out/", "-q"])
    assert code == 0, err
    assert left_in(child.tmpdir) == []
    assert {p for p in system_tmp.iterdir() if "unseen" in p.name} <= before


def test_a_full_run_never_loads_onnxruntime_nor_leaves_a_trace(
    photos: list[Path], tmp_path: Path, astronaut: np.ndarray
) -> None:
    """onnxruntime's official builds (1.32) carry a telemetry SDK: a device id under
    ~/.cache/Microsoft, $TMPDIR/.ses, and a process-info upload. unseen never imports it."""
    clip = tmp_path / "clip.mp4"
    face_clip(clip, astronaut, frames=10)
    home = tmp_path / "home"
    home.mkdir()
    child = Child(tmp_path)
    child.env = {**child.env, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    code = CLI.replace(
        "sys.exit(main(sys.argv[1:]))",
        "rc = main(sys.argv[1:])\n"
        "assert 'onnxruntime' not in sys.modules, 'onnxruntime was imported'\nsys.exit(rc)",
    )
    rc, err = child.run([str(photos[0]), str(clip), "-o", f"{tmp_path}/out/", "-q"], code)
    assert rc == 0, err
    assert list(home.iterdir()) == [] and left_in(child.tmpdir) == []
