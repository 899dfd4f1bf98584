"""APP1 Exif: the few IFD0 tags an audit needs, read with a bounded walk (no I/O)."""

from __future__ import annotations

import struct
from typing import Literal

from jpegaudit.jpeg.header import Exif

MAX_IFD_ENTRIES = 512
STRING_MAX_CHARS = 100
_TAG_ORIENTATION = 0x0112
_TAG_MAKE = 0x010F
_TAG_MODEL = 0x0110
_TAG_SOFTWARE = 0x0131
_INTEGER_TYPES = (1, 3, 4, 6, 8, 9)  # BYTE, SHORT, LONG, SBYTE, SSHORT, SLONG
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 6: 1, 7: 1, 8: 2, 9: 4}  # byte, ascii, short, long, ...
_WANTED_TAGS = frozenset({_TAG_ORIENTATION, _TAG_MAKE, _TAG_MODEL, _TAG_SOFTWARE})
# An IFD entry: tag, type, count, value or offset to it.
_ENTRY_LE = struct.Struct("<HHII")
_ENTRY_BE = struct.Struct(">HHII")


def parse_exif(tiff: bytes) -> Exif:
    """Parse the TIFF structure that follows `Exif\\0\\0`. Only IFD0 is walked: orientation, make,
    model and software all live there, and one IFD bounds the work whatever the offsets say."""
    warnings: list[str] = []
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return Exif("", None, None, None, None, ("Exif: bad TIFF header",))
    order: Literal["little", "big"] = "little" if tiff[:2] == b"II" else "big"

    def uint(pos: int, size: int) -> int:
        return int.from_bytes(tiff[pos : pos + size], order)

    ifd = uint(4, 4)
    if ifd + 2 > len(tiff):
        return Exif(tiff[:2].decode(), None, None, None, None, ("Exif: IFD0 offset out of range",))
    count = uint(ifd, 2)
    if count > MAX_IFD_ENTRIES:
        warnings.append(f"Exif: IFD0 claims {count} entries; read {MAX_IFD_ENTRIES}")
        count = MAX_IFD_ENTRIES
    orientation: int | None = None
    strings: dict[int, str] = {}
    entry_format = _ENTRY_LE if order == "little" else _ENTRY_BE
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if entry + 12 > len(tiff):
            warnings.append("Exif: IFD0 runs past the segment")
            break
        tag, typ, n, offset = entry_format.unpack_from(tiff, entry)
        if tag not in _WANTED_TAGS:
            continue  # most of IFD0 (resolution, dates, pointers): nothing to check or keep
        size = _TYPE_SIZES.get(typ, 0) * n
        value_at = entry + 8 if size <= 4 else offset
        if size == 0 or value_at + size > len(tiff):
            warnings.append(f"Exif: tag 0x{tag:04x} value out of range")
            continue
        if tag == _TAG_ORIENTATION and typ in _INTEGER_TYPES:
            # Any integer type, as Pillow and exiftool accept (some writers use SLONG).
            value = int.from_bytes(
                tiff[value_at : value_at + _TYPE_SIZES[typ]], order, signed=typ in (6, 8, 9)
            )
            if 1 <= value <= 8:
                orientation = value
            else:
                warnings.append(f"Exif: orientation {value} outside 1..8")
        elif tag in (_TAG_MAKE, _TAG_MODEL, _TAG_SOFTWARE) and typ in (1, 2, 7):
            text = exif_string(tiff[value_at : value_at + min(size, 4 * STRING_MAX_CHARS)])
            if text:
                strings[tag] = text
    return Exif(
        byte_order=tiff[:2].decode(),
        orientation=orientation,
        make=strings.get(_TAG_MAKE),
        model=strings.get(_TAG_MODEL),
        software=strings.get(_TAG_SOFTWARE),
        warnings=tuple(warnings),
    )


def exif_string(raw: bytes) -> str:
    """A text tag's value: up to its first NUL, as UTF-8 (bad bytes replaced), stripped, at most
    STRING_MAX_CHARS characters ("" when nothing is left)."""
    return raw.split(b"\x00", 1)[0].decode("utf-8", "replace").strip()[:STRING_MAX_CHARS]
