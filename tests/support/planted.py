"""Real photos and clips of every format unseen handles, each with identifying metadata planted,
and exiftool (`-j -a -G1 -ee`) as the oracle that reads them back.

The picture is NASA's public-domain astronaut photo (skimage), so a real detector finds a face.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pillow_heif
from PIL import Image

pillow_heif.register_heif_opener()

EXIFTOOL = shutil.which("exiftool")
SIZE = 256  # the astronaut photo resized: her face is about 50 px, found by CenterFace and MTCNN
FACE = (90, 30, 130, 85)  # x1, y1, x2, y2 of the middle of her face at SIZE, where a mask must be
PHOTO_FORMATS = {"jpg": "JPEG", "png": "PNG", "webp": "WEBP", "tif": "TIFF", "heic": "HEIF"}
VIDEO_FORMATS = ("mp4", "mov", "mkv", "webm")

# Every planted value, as exiftool prints it; none may be in an output.
PHOTO_SECRETS = ("CAM123456", "Jane Doe", "Xavier Mole", "2024:01:02 03:04:05", "51 deg 30", "Acme Cam")
PHOTO_PLANT = [
    "-GPSLatitude=51.5", "-GPSLatitudeRef=N", "-GPSLongitude=0.12", "-GPSLongitudeRef=W",
    "-SerialNumber=CAM123456", "-OwnerName=Jane Doe", "-Artist=Jane Doe", "-Make=Acme Cam",
    "-DateTimeOriginal=2024:01:02 03:04:05", "-CreateDate=2024:01:02 03:04:05",
    "-XMP-dc:Creator=Xavier Mole", "-XMP:GPSLatitude=51.5", "-XMP:GPSLongitude=0.12",
]  # fmt: skip
VIDEO_SECRETS = ("48 deg 51", "48.8584", "Acme", "Phone X1", "Jane Doe", "2024:05:01")
VIDEO_TAGS = {
    "location": "+48.8584+002.2945/",
    "creation_time": "2024-05-01T12:00:00Z",
    "make": "Acme",
    "model": "Phone X1",
    "title": "Jane Doe",
}


def astronaut(size: int = SIZE) -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(cv2.resize(data.astronaut(), (size, size), interpolation=cv2.INTER_AREA))


def exiftool_json(*paths: Path) -> list[dict[str, object]]:
    """exiftool's dump of each file, one call for all of them (perl starts once)."""
    assert EXIFTOOL is not None
    done = subprocess.run(
        [EXIFTOOL, "-j", "-a", "-G1", "-ee", "--", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    found = {Path(d["SourceFile"]).name: d for d in json.loads(done.stdout or "[]")}
    return [found[p.name] for p in paths]


def survivors(dump: dict[str, object], secrets: tuple[str, ...]) -> list[str]:
    """The planted values exiftool still finds in a file, outside its own file-system facts."""
    text = json.dumps({k: v for k, v in dump.items() if not k.startswith(("System:", "File:", "ExifTool:"))})
    text += json.dumps({k: v for k, v in dump.items() if k.startswith("File:") and "Comment" in k})
    return [secret for secret in secrets if secret in text]


def write_photo(path: Path, fmt: str) -> None:
    """The astronaut in `fmt` (a Pillow format name) with PHOTO_PLANT written by exiftool."""
    Image.fromarray(astronaut()).save(path, format=fmt)
    assert EXIFTOOL is not None
    subprocess.run([EXIFTOOL, "-q", "-q", "-overwrite_original", *PHOTO_PLANT, "--", str(path)], check=True)


def write_clip(path: Path, frames: int = 6, fps: int = 10) -> None:
    """The astronaut drifting sideways, with audio and VIDEO_TAGS on the file and its video track."""
    webm = path.suffix == ".webm"
    options = {} if path.suffix in (".mkv", ".webm") else {"movflags": "use_metadata_tags"}
    picture = astronaut()
    with av.open(str(path), "w", options=options) as out:
        out.metadata.update(VIDEO_TAGS)
        codec = "libvpx-vp9" if webm else "libx264"
        coding = {"deadline": "realtime", "cpu-used": "8"} if webm else {"preset": "ultrafast"}
        video = out.add_stream(codec, rate=fps, options=coding)
        video.width, video.height, video.pix_fmt = SIZE, SIZE, "yuv420p"
        video.metadata["creation_time"] = VIDEO_TAGS["creation_time"]
        sound = out.add_stream("libopus" if webm else "aac", rate=48000)
        chunk = 960 if webm else 1024
        samples = 0
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.roll(picture, i, axis=1), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
            while samples < (i + 1) * 48000 // fps:
                tone = (0.1 * np.sin(np.arange(chunk) / 9 + samples)).astype(np.float32)[None]
                audio = av.AudioFrame.from_ndarray(tone, format="flt" if webm else "fltp", layout="mono")
                audio.sample_rate, audio.pts = 48000, samples
                samples += chunk
                out.mux(sound.encode(audio))
        out.mux(video.encode())
        out.mux(sound.encode())


def write_all(folder: Path, stem: str = "face") -> list[Path]:
    """One planted file of every format in `folder`: five photos, four clips."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext, fmt in PHOTO_FORMATS.items():
        paths.append(folder / f"{stem}.{ext}")
        write_photo(paths[-1], fmt)
    for ext in VIDEO_FORMATS:
        paths.append(folder / f"{stem}.{ext}")
        write_clip(paths[-1])
    return paths


def first_picture(path: Path) -> np.ndarray:
    """The first picture of a photo or video output, RGB."""
    if path.suffix.lower() in {f".{ext}" for ext in VIDEO_FORMATS}:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            return frame.to_ndarray(format="rgb24")
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def face_masked(path: Path) -> bool:
    """The middle of the astronaut's face is under a solid mask (dark and flat) in the output."""
    x1, y1, x2, y2 = FACE
    patch = first_picture(path)[y1:y2, x1:x2].astype(np.float32)
    original = astronaut()[y1:y2, x1:x2].astype(np.float32)
    return bool(patch.std() < 12 and abs(patch.mean() - original.mean()) > 40)
