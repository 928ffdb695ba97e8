"""Every format through every path a user takes: `unseen`, `unseen inspect`, `unseen batch` and the
review export, on real files with planted metadata, checked by exiftool and by looking at the face.

The class of bug this closes: parts tested one by one while a path (HEIC through the CLI) failed.
All runs share one process, so the models load once (`unseen.cli.main`, batch with one worker).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import av
import pytest

from support.planted import (
    PHOTO_FORMATS,
    PHOTO_SECRETS,
    VIDEO_FORMATS,
    VIDEO_SECRETS,
    exiftool_json,
    face_masked,
    survivors,
    write_all,
)
from unseen.cli import main
from unseen.errors import UnseenError
from unseen.media.image import sniff_format

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("exiftool") is None, reason="exiftool is absent: apt-get install libimage-exiftool-perl"
    ),
]
FORMATS = [*PHOTO_FORMATS, *VIDEO_FORMATS]


def secrets_of(path: Path) -> tuple[str, ...]:
    return PHOTO_SECRETS if path.suffix[1:] in PHOTO_FORMATS else VIDEO_SECRETS


@pytest.fixture(scope="module")
def incoming(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """One planted file of every format; the planting itself is checked, so a clean result means something."""
    paths = write_all(tmp_path_factory.mktemp("formats") / "incoming")
    for path, dump in zip(paths, exiftool_json(*paths), strict=True):
        planted = survivors(dump, secrets_of(path))
        assert len(planted) >= len(secrets_of(path)) - 1, (path.name, planted)  # Matroska prints no "48 deg"
        assert not face_masked(path)
    return paths


def kind_of(path: Path) -> str:
    """What a written file is by content: a photo's extension, or "video"."""
    try:
        return sniff_format(path).suffix
    except UnseenError:
        with av.open(str(path)) as container:
            assert container.streams.video
        return "video"


def assert_clean_and_masked(outputs: list[Path]) -> None:
    """exiftool finds none of the planted values, and the face is under a solid mask, in every output."""
    for path, dump in zip(outputs, exiftool_json(*outputs), strict=True):
        assert survivors(dump, PHOTO_SECRETS + VIDEO_SECRETS) == [], path.name
        assert face_masked(path), f"{path.name}: the face is not masked"


def test_unseen_writes_every_format_clean(
    incoming: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main([*map(str, incoming), "-o", f"{out}/"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(incoming) and all("verified" in line for line in lines), lines
    outputs = [out / f"face.unseen{p.suffix}" for p in incoming]
    assert sorted(out.iterdir()) == sorted(outputs)
    for path in outputs:  # written in its own format: a HEIC stays a HEIC photo, a clip a clip
        assert kind_of(path) == ("video" if path.suffix[1:] in VIDEO_FORMATS else path.suffix)
    assert_clean_and_masked(outputs)


def test_inspect_names_what_every_format_holds(
    incoming: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["inspect", *map(str, incoming)]) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.strip().splitlines())
    for path in incoming:
        line = lines[str(path)]
        assert re.match(r"[1-9]\d* faces? found", line), line  # the face (a poster may add one)
        wanted = ("GPS", "camera serial", "owner name", "capture time", "XMP")
        if path.suffix[1:] in VIDEO_FORMATS:
            wanted = ("location", "creation time", "make/model")
        assert all(word in line for word in wanted), line
    assert sorted(p.name for p in incoming[0].parent.iterdir()) == sorted(p.name for p in incoming)


def test_batch_writes_every_format_clean(incoming: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "published"
    assert main(["batch", str(incoming[0].parent), "-o", str(out), "--workers", "1", "-q"]) == 0
    outputs = [out / f"face.unseen{p.suffix}" for p in incoming]
    assert all(path.is_file() for path in outputs)
    assert_clean_and_masked(outputs)


def test_review_export_writes_every_format_clean(incoming: list[Path], tmp_path: Path) -> None:
    from unseen.settings import Settings
    from unseen.web.catalog import Catalog
    from unseen.web.export import Exporter

    catalog = Catalog(incoming[0].parent, tmp_path / "reviewed", Settings())
    assert sorted(item.kind for item in catalog.items) == ["image"] * 5 + ["video"] * 4
    exporter = Exporter(catalog)
    results = [exporter.export_one(item) for item in catalog.items]
    assert [r["verdict"] for r in results] == ["verified"] * len(incoming), results
    assert_clean_and_masked([item.output for item in catalog.items])


# A photo is written in the photo format its output name asks for; across kinds is a usage error.
CONVERSIONS = [
    ("heic", "jpg"),
    ("jpg", "heic"),
    ("png", "webp"),
    ("webp", "tif"),
    ("tif", "png"),
    ("mp4", "mkv"),
]


def test_output_extension_picks_the_format(incoming: list[Path], tmp_path: Path) -> None:
    by_ext = {p.suffix[1:]: p for p in incoming}
    outputs = []
    for source, target in CONVERSIONS:
        dst = tmp_path / f"from-{source}.{target}"
        assert main([str(by_ext[source]), "-o", str(dst), "-q"]) == 0, (source, target)
        assert kind_of(dst) == ("video" if target in VIDEO_FORMATS else f".{target}"), "the format asked for"
        outputs.append(dst)
    beside = tmp_path / "beside" / "photo.heic"  # no -o: the output goes beside it, as a HEIC
    beside.parent.mkdir()
    shutil.copy(by_ext["heic"], beside)
    assert main([str(beside), "-q"]) == 0
    outputs.append(beside.with_name("photo.unseen.heic"))
    assert kind_of(outputs[-1]) == ".heic"
    assert_clean_and_masked(outputs)


@pytest.mark.parametrize(
    ("source", "target"), [("heic", "mp4"), ("jpg", "mov"), ("mp4", "jpg"), ("png", "gif")]
)
def test_output_of_the_wrong_kind_is_a_usage_error(
    incoming: list[Path], tmp_path: Path, source: str, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    src = next(p for p in incoming if p.suffix == f".{source}")
    assert main([str(src), "-o", str(tmp_path / f"x.{target}")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"x.{target}" in err[0]
    assert list(tmp_path.iterdir()) == []
