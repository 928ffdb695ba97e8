"""Name the identifying metadata in a photo file by walking its bytes against an allow-list.

The same reader describes what an input carried and proves an output clean, and it does not
trust the writer: only structural parts (pixels, their coding, a JFIF header, an nclx colour
box) pass; every other block is named in plain words, and an unknown one is "other metadata".
"""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from typing import Any

import pillow_heif

from unseen.media import _exif
from unseen.media._exif import (
    CAMERA,
    COMMENT,
    EXTRA_IMAGES,
    ICC,
    IPTC,
    OTHER,
    OTHER_EXIF,
    OWNER,
    SOFTWARE,
    THUMBNAIL,
    TIME,
    TRAILING,
    UNPARSEABLE,
    XMP,
    Found,
    Malformed,
    ordered,
)
from unseen.media.image import ImageFormat, read_back

__all__ = ["read_back", "scan"]  # read_back lives beside load_image and calls scan


def scan(data: bytes, fmt: ImageFormat) -> list[str]:
    """Identifying metadata in the bytes of a photo file of a known format, in a stable order."""
    found: Found = set()
    try:
        _SCANNERS[fmt](data, found)
    except (Malformed, struct.error, IndexError, ValueError):
        found.add(UNPARSEABLE)  # a file we cannot walk cannot be proved clean
    return ordered(found)


def _scan_jpeg(data: bytes, found: Found) -> None:
    pos = 2  # after SOI, checked by the sniffer
    while True:
        if pos + 2 > len(data) or data[pos] != 0xFF:
            raise Malformed("JPEG marker expected")
        while data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker == 0xD9:  # EOI
            _trailing(data[pos:], found)
            return
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # RSTn, TEM carry no length
            continue
        length = int.from_bytes(data[pos : pos + 2], "big")
        if length < 2 or pos + length > len(data):
            raise Malformed("JPEG segment runs past the end")
        body = data[pos + 2 : pos + length]
        pos += length
        if marker == 0xDA:  # SOS: skip the entropy-coded data up to the next real marker
            pos = _after_scan(data, pos)
        elif marker in _JPEG_STRUCTURAL:
            continue
        else:
            _jpeg_segment(marker, body, found)


# SOF0-15 except the non-SOF C4 (DHT), C8 (reserved), CC (DAC); plus DHT, DAC, DQT, DNL, DRI.
_JPEG_STRUCTURAL = {m for m in range(0xC0, 0xD0) if m != 0xC8} | {0xDB, 0xDC, 0xDD}


def _after_scan(data: bytes, pos: int) -> int:
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise Malformed("JPEG scan without an end")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def _jpeg_segment(marker: int, body: bytes, found: Found) -> None:
    if marker == 0xE0:
        if body.startswith(b"JFIF\x00") and len(body) >= 14:
            if body[12] * body[13]:
                found.add(THUMBNAIL)
            return
        found.add(THUMBNAIL if body.startswith(b"JFXX\x00") else OTHER)
    elif marker == 0xE1 and body.startswith(b"Exif\x00"):
        _exif.scan_exif(body[6:], found)
    elif marker == 0xE1 and body.startswith(b"http://ns.adobe.com/x"):
        found.add(XMP)
    elif marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"):
        found.add(ICC)
    elif marker == 0xE2 and body.startswith(b"MPF\x00"):
        found.add(EXTRA_IMAGES)
    elif marker == 0xED and body.startswith(b"Photoshop 3.0\x00"):
        _exif.scan_photoshop(body[14:], found)
    elif marker == 0xFE:
        found.add(COMMENT)
    else:
        found.add(OTHER)  # APP3-APP15 (C2PA/JUMBF, Adobe, Ducky...), unknown markers


def _trailing(rest: bytes, found: Found) -> None:
    """Bytes after the end of the image: a second image, or a vendor trailer."""
    if not rest.strip(b"\x00"):
        return
    found.add(EXTRA_IMAGES if b"\xff\xd8\xff" in rest else TRAILING)


_PNG_STRUCTURAL = {b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"sRGB", b"gAMA", b"cHRM", b"pHYs"}
_PNG_TEXT_NAMES = {
    "xml:com.adobe.xmp": XMP,
    "raw profile type xmp": XMP,
    "raw profile type iptc": IPTC,
    "raw profile type 8bim": IPTC,
    "raw profile type icc": ICC,
    "raw profile type icm": ICC,
    "author": OWNER,
    "artist": OWNER,
    "copyright": OWNER,
    "owner": OWNER,
    "creation time": TIME,
    "date:create": TIME,
    "date:modify": TIME,
    "date:timestamp": TIME,
    "software": SOFTWARE,
    "make": CAMERA,
    "model": CAMERA,
    "source": CAMERA,
}


def _scan_png(data: bytes, found: Found) -> None:
    pos = 8
    while True:
        if pos + 12 > len(data):
            raise Malformed("PNG chunk runs past the end")
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise Malformed("PNG chunk runs past the end")
        pos += 12 + length
        if kind == b"IEND":
            _trailing(data[pos:], found)
            return
        if kind in _PNG_STRUCTURAL:
            continue
        if kind in (b"tEXt", b"zTXt", b"iTXt"):
            _png_text(kind, body, found)
        elif kind == b"eXIf":
            _exif.scan_exif(body, found)
        elif kind == b"iCCP":
            found.add(ICC)
        elif kind == b"tIME":
            found.add(TIME)
        elif kind in (b"acTL", b"fcTL", b"fdAT"):
            found.add(EXTRA_IMAGES)
        else:
            found.add(OTHER)


def _png_text(kind: bytes, body: bytes, found: Found) -> None:
    keyword, _, rest = body.partition(b"\x00")
    name = keyword.decode("latin-1").strip().lower()
    if name in ("raw profile type exif", "raw profile type app1"):
        found.add(OTHER_EXIF)  # ImageMagick's hex-encoded EXIF: name what it holds
        text = _png_text_value(kind, rest)
        with contextlib.suppress(ValueError, Malformed):
            _exif.scan_exif(_exif.unhex_profile(text), found)
        return
    found.add(_PNG_TEXT_NAMES.get(name, COMMENT))


def _png_text_value(kind: bytes, rest: bytes) -> bytes:
    if kind == b"zTXt":
        return _inflate(rest[1:])
    if kind == b"iTXt":
        compressed = rest[:1] == b"\x01"
        _, _, after_lang = rest[2:].partition(b"\x00")
        _, _, text = after_lang.partition(b"\x00")
        return _inflate(text) if compressed else text
    return rest


def _inflate(data: bytes, limit: int = 16 * 1024 * 1024) -> bytes:
    """Decompress a text chunk, bounded so a crafted chunk cannot exhaust memory."""
    try:
        return zlib.decompressobj().decompress(data, limit)
    except zlib.error:
        return b""


_VP8X_FLAGS = ((0x20, ICC), (0x08, OTHER_EXIF), (0x04, XMP), (0x02, EXTRA_IMAGES))


def _scan_webp(data: bytes, found: Found) -> None:
    end = 8 + int.from_bytes(data[4:8], "little")
    if end > len(data):
        raise Malformed("WebP RIFF size runs past the end")
    _trailing(data[end:], found)
    pos = 12
    while pos < end:
        if pos + 8 > end:
            raise Malformed("WebP chunk header runs past the end")
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body = data[pos + 8 : pos + 8 + size]
        if len(body) != size:
            raise Malformed("WebP chunk runs past the end")
        pos += 8 + size + (size & 1)
        if kind == b"VP8X":
            flags = body[0] if body else 0
            found.update(name for bit, name in _VP8X_FLAGS if flags & bit)
        elif kind in (b"VP8 ", b"VP8L", b"ALPH"):
            continue
        elif kind == b"EXIF":
            _exif.scan_exif(body[6:] if body.startswith(b"Exif\x00") else body, found)
        elif kind == b"ICCP":
            found.add(ICC)
        elif kind == b"XMP ":
            found.add(XMP)
        elif kind in (b"ANIM", b"ANMF"):
            found.add(EXTRA_IMAGES)
        else:
            found.add(OTHER)


def _scan_tiff(data: bytes, found: Found) -> None:
    _exif.scan_tiff_file(data, found)


_HEIF_TOP = {b"ftyp", b"meta", b"mdat", b"free", b"skip"}
_HEIF_META = {b"hdlr", b"pitm", b"iloc", b"iinf", b"iref", b"iprp", b"idat", b"dinf"}
_HEIF_ITEMS = {b"hvc1", b"grid", b"iden", b"iovl", b"Exif", b"mime"}  # Exif, mime: named below
_HEIF_PROPERTIES = {
    b"hvcC", b"ispe", b"pixi", b"colr", b"irot", b"imir", b"clap", b"pasp", b"auxC",
    b"clli", b"mdcv", b"cclv", b"amve", b"rloc", b"lsel",
}  # fmt: skip
_HEIF_REFERENCES = {b"cdsc", b"dimg", b"auxl", b"prem"}  # auxl is judged by its aux type below
_HEIF_ALPHA = {"urn:mpeg:hevc:2015:auxid:1", "urn:mpeg:mpegB:cicp:systems:auxiliary:alpha"}


def _scan_heif(data: bytes, found: Found) -> None:
    """Walk the box tree ourselves, then ask libheif what the items mean."""
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind == b"meta":
            _heif_meta(data, start + 4, end, found)
        elif kind == b"moov":
            found.add(EXTRA_IMAGES)  # an image sequence (burst, live photo)
        elif kind not in _HEIF_TOP:
            found.add(OTHER)
    if b"x265 (build" in data:  # x265's encoder-settings SEI names the software
        found.add(SOFTWARE)
    try:
        heif = pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=False)
        images = list(heif)
    except Exception as e:  # libheif reports damage with several exception types
        raise Malformed(f"libheif cannot read it: {e}") from e
    if len(images) > 1:
        found.add(EXTRA_IMAGES)
    for image in images:
        info: dict[str, Any] = image.info
        exif = info.get("exif")
        if isinstance(exif, bytes) and exif:
            _exif.scan_exif(exif[6:] if exif.startswith(b"Exif\x00") else exif, found)
        if info.get("xmp"):
            found.add(XMP)
        for block in info.get("metadata") or []:
            content_type = str(block.get("content_type", "")).lower()
            found.add(XMP if "xmp" in content_type or "rdf" in content_type else OTHER)
        if info.get("thumbnails"):
            found.add(THUMBNAIL)
        if info.get("depth_images") or set(info.get("aux") or {}) - _HEIF_ALPHA:
            found.add(EXTRA_IMAGES)
        if info.get("icc_profile"):
            found.add(ICC)
        if info.get("heif"):
            found.add(OTHER)  # camera intrinsics and extrinsics


def _heif_meta(data: bytes, start: int, end: int, found: Found) -> None:
    for kind, body_start, body_end in _boxes(data, start, end):
        if kind == b"iinf":
            _heif_items(data, body_start, body_end, found)
        elif kind == b"iprp":
            for part, part_start, part_end in _boxes(data, body_start, body_end):
                if part == b"ipco":
                    _heif_properties(data, part_start, part_end, found)
                elif part != b"ipma":
                    found.add(OTHER)
        elif kind == b"iref":
            for ref, _, _ in _boxes(data, body_start + 4, body_end):
                if ref == b"thmb":
                    found.add(THUMBNAIL)
                elif ref == b"base":
                    found.add(EXTRA_IMAGES)  # a gain map or other derived image
                elif ref not in _HEIF_REFERENCES:
                    found.add(OTHER)
        elif kind == b"xml ":
            found.add(XMP)
        elif kind not in _HEIF_META:
            found.add(OTHER)


def _heif_properties(data: bytes, start: int, end: int, found: Found) -> None:
    for prop, body, _ in _boxes(data, start, end):
        if prop == b"colr" and data[body : body + 4] in (b"prof", b"rICC"):
            found.add(ICC)
        elif prop == b"udes":
            found.add(COMMENT)  # user description: name, description, tags
        elif prop not in _HEIF_PROPERTIES:
            found.add(OTHER)


def _heif_items(data: bytes, start: int, end: int, found: Found) -> None:
    first = start + 4 + (2 if data[start] == 0 else 4)
    for kind, body, _ in _boxes(data, first, end):
        if kind != b"infe" or data[body] < 2:
            found.add(OTHER)  # old-style item entries name no type we could judge
            continue
        type_at = body + 4 + (2 if data[body] == 2 else 4) + 2
        item_type = data[type_at : type_at + 4]
        if item_type == b"Exif":
            found.add(OTHER_EXIF)
        elif item_type == b"mime":
            found.add(XMP)
        elif item_type not in _HEIF_ITEMS:
            found.add(OTHER)


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """ISO boxes between start and end, as (type, body start, box end)."""
    boxes = []
    pos = start
    while pos < end:
        if pos + 8 > end:
            raise Malformed("ISO box header runs past the end")
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise Malformed(f"ISO box {kind!r} runs past its parent")
        boxes.append((kind, pos + header, pos + size))
        pos += size
    return boxes


_SCANNERS = {
    ImageFormat.JPEG: _scan_jpeg,
    ImageFormat.PNG: _scan_png,
    ImageFormat.WEBP: _scan_webp,
    ImageFormat.TIFF: _scan_tiff,
    ImageFormat.HEIF: _scan_heif,
}
