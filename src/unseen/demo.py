"""A sample photo the project may ship: NASA's public-domain astronaut portrait (from scikit-image),
saved with the metadata a phone would leave in it: GPS, camera serial, owner, capture time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_sample(folder: Path) -> Path:
    """Write astronaut.jpg, with planted identifying EXIF, into `folder`; return its path."""
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    pixels = data.astronaut()  # type: ignore[no-untyped-call]
    image = Image.fromarray(np.ascontiguousarray(pixels))
    exif = Image.Exif()
    exif[0x010F] = "DemoPhone"  # Make
    exif[0x0110] = "Model X"  # Model
    exif[0x0131] = "DemoPhone OS 1.0"  # Software
    exif[0x013B] = "Jane Photographer"  # Artist
    exif[0x0132] = "2026:03:01 12:00:00"  # DateTime
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = "2026:03:01 12:00:00"  # DateTimeOriginal
    exif_ifd[0xA430] = "Jane Photographer"  # CameraOwnerName
    exif_ifd[0xA431] = "SN-0042-7781"  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (55.0, 45.0, 21.0)  # Moscow, Pushkinskaya
    gps[3], gps[4] = "E", (37.0, 36.0, 18.0)
    path = folder / "astronaut.jpg"
    image.save(path, quality=92, exif=exif.tobytes())
    return path
