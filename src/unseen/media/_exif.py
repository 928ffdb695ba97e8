"""The plain-word names of identifying metadata, and a reader for TIFF-structured blocks (EXIF).

EXIF blocks in JPEG, PNG, WebP and HEIF and whole TIFF files share one structure: chains of
tagged directories (IFDs). Each tag is named by what it reveals; an unknown one is never skipped.
"""

from __future__ import annotations

import struct

GPS = "GPS"
SERIAL = "camera serial"
TIME = "capture time"
CAMERA = "camera make/model"
OWNER = "owner name"
SOFTWARE = "software"
UNIQUE_ID = "unique image ID"
XMP = "XMP"
IPTC = "IPTC"
THUMBNAIL = "thumbnail"
COMMENT = "comment"
ICC = "ICC profile"
MAKER_NOTES = "maker notes"
EXTRA_IMAGES = "extra embedded images"
OTHER_EXIF = "other EXIF"
OTHER = "other metadata"
TRAILING = "data after the image"
UNPARSEABLE = "unreadable file structure"

ORDER = (
    GPS, SERIAL, TIME, CAMERA, OWNER, SOFTWARE, UNIQUE_ID, XMP, IPTC, THUMBNAIL, COMMENT, ICC,
    MAKER_NOTES, EXTRA_IMAGES, OTHER_EXIF, OTHER, TRAILING, UNPARSEABLE,
)  # fmt: skip

Found = set[str]


class Malformed(Exception):
    """The bytes do not follow the structure they claim; never leaves this package."""


def ordered(found: Found) -> list[str]:
    """The names found, in the fixed order above, each once."""
    return [name for name in ORDER if name in found]


_TAG_NAMES = {
    0x010F: CAMERA, 0x0110: CAMERA, 0xA433: CAMERA, 0xA434: CAMERA, 0xC614: CAMERA, 0xC615: CAMERA,
    0xA431: SERIAL, 0xA435: SERIAL, 0xC62F: SERIAL,
    0x0132: TIME, 0x9003: TIME, 0x9004: TIME, 0x9010: TIME, 0x9011: TIME, 0x9012: TIME,
    0x9290: TIME, 0x9291: TIME, 0x9292: TIME,
    0x013B: OWNER, 0x8298: OWNER, 0xA430: OWNER, 0x9C9D: OWNER,
    0x0131: SOFTWARE, 0x013C: SOFTWARE, 0x000B: SOFTWARE,
    0xA420: UNIQUE_ID,
    0x010E: COMMENT, 0x010D: COMMENT, 0x011D: COMMENT, 0x9286: COMMENT, 0x9C9B: COMMENT,
    0x9C9C: COMMENT, 0x9C9E: COMMENT, 0x9C9F: COMMENT,
    0x927C: MAKER_NOTES, 0xC634: MAKER_NOTES,
    0x02BC: XMP, 0x83BB: IPTC, 0x8773: ICC,
    0x8825: GPS, 0xA005: OTHER_EXIF, 0x014A: EXTRA_IMAGES,
    0x0201: THUMBNAIL, 0x0202: THUMBNAIL,
}  # fmt: skip

# Baseline tags that only describe how the pixels are stored. Orientation is not among them:
# outputs are turned upright, so a written one means something else wrote the file.
_STRUCTURAL = {
    0x00FE, 0x0100, 0x0101, 0x0102, 0x0103, 0x0106, 0x010A, 0x0111, 0x0115, 0x0116, 0x0117,
    0x011A, 0x011B, 0x011C, 0x0128, 0x013D, 0x0140, 0x0142, 0x0143, 0x0144, 0x0145, 0x0152,
    0x0153, 0x015B, 0x0211, 0x0212, 0x0213, 0x0214,
}  # fmt: skip

_EXIF_IFD, _PHOTOSHOP = 0x8769, 0x8649
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4,
               16: 8, 17: 8, 18: 8}  # fmt: skip
_MAX_IFDS = 64  # a loop of IFD pointers is damage, not a photo


class _Tiff:
    """A TIFF structure held in memory: byte order, offset width and the IFDs already seen."""

    def __init__(self, data: bytes, allow_big: bool) -> None:
        order = data[:2]
        if order not in (b"II", b"MM"):
            raise Malformed("TIFF byte order mark missing")
        self.data = data
        self.e = "<" if order == b"II" else ">"
        magic = self.unpack("H", 2)
        if magic == 42:
            self.big = False
            self.first = self.unpack("I", 4)
        elif magic == 43 and allow_big:
            self.big = True
            self.first = self.unpack("Q", 8)
        else:
            raise Malformed("not a TIFF structure")
        self.seen: set[int] = set()

    def unpack(self, code: str, at: int) -> int:
        value: int = struct.unpack_from(self.e + code, self.data, at)[0]
        return value

    def ifd(self, at: int) -> tuple[list[tuple[int, int, int, int]], int]:
        """The entries of the IFD at offset at, as (tag, type, count, value field offset)."""
        if at in self.seen or len(self.seen) >= _MAX_IFDS or at < 8 or at >= len(self.data):
            raise Malformed("IFD pointer loops or points outside the data")
        self.seen.add(at)
        count_code, entry, word = ("Q", 20, "Q") if self.big else ("H", 12, "I")
        count = self.unpack(count_code, at)
        start = at + (8 if self.big else 2)
        entries = []
        for i in range(count):
            pos = start + i * entry
            tag, kind = self.unpack("H", pos), self.unpack("H", pos + 2)
            n = self.unpack(word, pos + 4)
            entries.append((tag, kind, n, pos + (12 if self.big else 8)))
        next_ifd = self.unpack(word, start + count * entry)
        return entries, next_ifd

    def pointer(self, field: int) -> int:
        return self.unpack("Q" if self.big else "I", field)

    def value_bytes(self, kind: int, count: int, field: int) -> bytes:
        size = _TYPE_SIZES.get(kind, 1) * count
        inline = 8 if self.big else 4
        at = field if size <= inline else self.pointer(field)
        return self.data[at : at + size]


def scan_exif(block: bytes, found: Found) -> None:
    """Name what an EXIF block (a TIFF structure) reveals; any block is at least "other EXIF"."""
    try:
        tiff = _Tiff(block, allow_big=False)
        entries, next_ifd = tiff.ifd(tiff.first)
        _name_entries(tiff, entries, found, default=OTHER_EXIF, skip=set())
        if next_ifd:
            found.add(THUMBNAIL)  # IFD1 exists only to describe the embedded thumbnail
    except (Malformed, struct.error):
        found.add(OTHER_EXIF)


def scan_tiff_file(data: bytes, found: Found) -> None:
    """Name every non-structural tag of a TIFF file; a second IFD is a second image."""
    try:
        tiff = _Tiff(data, allow_big=True)
        entries, next_ifd = tiff.ifd(tiff.first)
    except struct.error as e:
        raise Malformed("TIFF header runs past the end") from e
    _name_entries(tiff, entries, found, default=OTHER, skip=_STRUCTURAL)
    if next_ifd:
        found.add(EXTRA_IMAGES)


def _name_entries(
    tiff: _Tiff, entries: list[tuple[int, int, int, int]], found: Found, default: str, skip: set[int]
) -> None:
    for tag, kind, count, field in entries:
        if tag in skip:
            continue
        if tag == _EXIF_IFD:
            try:
                sub, _ = tiff.ifd(tiff.pointer(field))
                _name_entries(tiff, sub, found, default=OTHER_EXIF, skip=set())
            except (Malformed, struct.error):
                found.add(OTHER_EXIF)
        elif tag == _PHOTOSHOP:
            scan_photoshop(tiff.value_bytes(kind, count, field), found)
        else:
            found.add(_TAG_NAMES.get(tag, default))


_PHOTOSHOP_NAMES = {0x0404: IPTC, 0x0409: THUMBNAIL, 0x040C: THUMBNAIL, 0x040F: ICC, 0x0422: OTHER_EXIF,
                    0x0424: XMP}  # fmt: skip


def scan_photoshop(block: bytes, found: Found) -> None:
    """Name the resources in a Photoshop block (where JPEG and TIFF keep IPTC)."""
    pos = 0
    while pos + 12 <= len(block):
        if block[pos : pos + 4] != b"8BIM":
            found.add(OTHER)
            return
        resource = int.from_bytes(block[pos + 4 : pos + 6], "big")
        name_length = block[pos + 6]
        pos += 6 + ((name_length + 2) & ~1)  # Pascal string padded to an even length
        size = int.from_bytes(block[pos : pos + 4], "big")
        pos += 4 + size + (size & 1)
        found.add(_PHOTOSHOP_NAMES.get(resource, OTHER))
    if pos < len(block) and block[pos:].strip(b"\x00"):
        found.add(OTHER)


def unhex_profile(text: bytes) -> bytes:
    """The bytes of an ImageMagick "Raw profile" text: a name line, a length line, then hex."""
    lines = text.strip().split(b"\n")
    if len(lines) < 3:
        raise ValueError("too short for a raw profile")
    raw = bytes.fromhex(b"".join(line.strip() for line in lines[2:]).decode("ascii"))
    return raw[6:] if raw.startswith(b"Exif\x00") else raw
