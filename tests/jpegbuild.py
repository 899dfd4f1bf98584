"""Assemble synthetic JPEG marker streams for tests, one segment at a time.

Every function returns bytes; a test concatenates them in the order it wants, so it can build
well-formed headers and precisely broken ones (junk, fill bytes, short tables, lying lengths).
Tables are given in natural (row-major) order and written in zig-zag order, as DQT stores them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

SOI = b"\xff\xd8"
EOI = b"\xff\xd9"

# jpeg_natural_order, written out again here rather than imported from the code under test.
_ZIGZAG_TO_NATURAL = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip

# Annex K.3 luma DC table: the smallest complete DHT content a decoder accepts.
STD_DC_LUMA_COUNTS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
STD_DC_LUMA_VALUES = tuple(range(12))


def segment(code: int, payload: bytes = b"") -> bytes:
    """A marker segment whose length field is right (payload + 2)."""
    return bytes([0xFF, code]) + struct.pack(">H", len(payload) + 2) + payload


def segment_with_length(code: int, length: int, payload: bytes = b"") -> bytes:
    """A marker segment with a length field that may lie about the payload that follows."""
    return bytes([0xFF, code]) + struct.pack(">H", length) + payload


def marker(code: int) -> bytes:
    """A parameterless marker (SOI, EOI, RSTn, TEM) or a bare marker code."""
    return bytes([0xFF, code])


def app(n: int, payload: bytes) -> bytes:
    return segment(0xE0 + n, payload)


def jfif(version: tuple[int, int] = (1, 1), unit: int = 0, x: int = 1, y: int = 1) -> bytes:
    body = b"JFIF\x00" + bytes(version) + bytes([unit]) + struct.pack(">HH", x, y) + b"\x00\x00"
    return app(0, body)


def jfxx(extension_code: int = 0x10, thumbnail: bytes = b"") -> bytes:
    return app(0, b"JFXX\x00" + bytes([extension_code]) + thumbnail)


def adobe(transform: int, version: int = 100, flags0: int = 0, flags1: int = 0) -> bytes:
    return app(14, b"Adobe" + struct.pack(">HHHB", version, flags0, flags1, transform))


def zigzag(natural: Sequence[int]) -> list[int]:
    """A natural-order table in the zig-zag order DQT stores."""
    return [natural[_ZIGZAG_TO_NATURAL[k]] for k in range(64)]


def dqt_table(slot: int, natural: Sequence[int], bits: int = 8) -> bytes:
    """One table's bytes inside a DQT segment (Pq/Tq then 64 entries)."""
    assert len(natural) == 64
    entries = zigzag(natural)
    if bits == 16:
        return bytes([0x10 | slot]) + struct.pack(">64H", *entries)
    return bytes([slot]) + bytes(entries)


def dqt(*tables: tuple[int, Sequence[int]] | tuple[int, Sequence[int], int]) -> bytes:
    """One DQT segment holding several tables: each (slot, natural values[, bits])."""
    return segment(0xDB, b"".join(dqt_table(*t) for t in tables))


def sof(
    code: int = 0xC0,
    width: int = 16,
    height: int = 16,
    components: Iterable[tuple[int, int, int, int]] = ((1, 2, 2, 0), (2, 1, 1, 1), (3, 1, 1, 1)),
    precision: int = 8,
) -> bytes:
    """A frame header; components are (id, h, v, table slot)."""
    comps = list(components)
    body = struct.pack(">BHHB", precision, height, width, len(comps))
    for cid, h, v, tq in comps:
        body += bytes([cid, (h << 4) | v, tq])
    return segment(code, body)


def dht(*tables: tuple[int, int, Sequence[int], Sequence[int]]) -> bytes:
    """One DHT segment: each table (class, slot, 16 counts, values)."""
    body = b""
    for table_class, slot, counts, values in tables:
        body += bytes([(table_class << 4) | slot]) + bytes(counts) + bytes(values)
    return segment(0xC4, body)


def std_dht() -> bytes:
    return dht((0, 0, STD_DC_LUMA_COUNTS, STD_DC_LUMA_VALUES))


def dri(interval: int) -> bytes:
    return segment(0xDD, struct.pack(">H", interval))


def com(text: bytes) -> bytes:
    return segment(0xFE, text)


def sos(component_ids: Sequence[int] = (1, 2, 3), ss: int = 0, se: int = 63) -> bytes:
    body = bytes([len(component_ids)])
    for cid in component_ids:
        body += bytes([cid, 0x00])
    return segment(0xDA, body + bytes([ss, se, 0]))


def icc(seq: int, count: int, profile_part: bytes) -> bytes:
    return app(2, b"ICC_PROFILE\x00" + bytes([seq, count]) + profile_part)


def icc_profile_header(colorspace: bytes = b"RGB ", size: int = 128) -> bytes:
    """The first 128 bytes of an ICC profile: size, then the data colour space at offset 16."""
    header = bytearray(128)
    header[0:4] = struct.pack(">I", size)
    header[12:16] = b"mntr"
    header[16:20] = colorspace
    header[36:40] = b"acsp"
    return bytes(header)


def tiff(byte_order: str, entries: Sequence[tuple[int, int, int, bytes]], ifd0: int = 8) -> bytes:
    """A TIFF structure with one IFD0 at `ifd0`: entries are (tag, type, count, value bytes).
    Values of 4 bytes or fewer go in the entry; longer ones after the IFD, with their offset."""
    e = "<" if byte_order == "II" else ">"
    head = byte_order.encode() + struct.pack(e + "HI", 42, ifd0)
    head += b"\x00" * (ifd0 - len(head))
    after = ifd0 + 2 + 12 * len(entries) + 4
    ifd = struct.pack(e + "H", len(entries))
    extra = b""
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            field = value + b"\x00" * (4 - len(value))
        else:
            field = struct.pack(e + "I", after + len(extra))
            extra += value
        ifd += struct.pack(e + "HHI", tag, typ, count) + field
    return head + ifd + b"\x00\x00\x00\x00" + extra


def short(byte_order: str, value: int) -> bytes:
    return struct.pack("<H" if byte_order == "II" else ">H", value)


def exif(tiff_bytes: bytes) -> bytes:
    return app(1, b"Exif\x00\x00" + tiff_bytes)


def flat(value: int) -> list[int]:
    return [value] * 64


def jpeg(
    *segments: bytes,
    scan_data: bytes = b"\x12\x34\x56\x78",
    eoi: bool = True,
) -> bytes:
    """SOI + segments (which should end with an SOS) + entropy-coded data + EOI."""
    return SOI + b"".join(segments) + scan_data + (EOI if eoi else b"")


def baseline(
    *extra_before_sof: bytes,
    code: int = 0xC0,
    components: Iterable[tuple[int, int, int, int]] = ((1, 2, 2, 0), (2, 1, 1, 1), (3, 1, 1, 1)),
    tables: Sequence[tuple[int, Sequence[int]]] = ((0, [16] * 64), (1, [17] * 64)),
    precision: int = 8,
) -> bytes:
    """A small complete file: extra segments, DQT, SOF, DHT, SOS, data, EOI."""
    comps = list(components)
    return jpeg(
        *extra_before_sof,
        dqt(*tables),
        sof(code, components=comps, precision=precision),
        std_dht(),
        sos([c[0] for c in comps]),
    )


def pillow_jpeg(
    size: tuple[int, int] = (48, 32),
    mode: str = "RGB",
    **save_options,
) -> bytes:
    """A real JPEG written by Pillow (libjpeg) from a patterned image, so the scan is not trivial."""
    import io

    from PIL import Image

    image = Image.linear_gradient("L").resize(size).convert(mode)
    out = io.BytesIO()
    image.save(out, "JPEG", **save_options)
    return out.getvalue()


# ITU-T T.81 Annex K.1 quantization tables, natural order (typed from the standard; checked
# against Pillow's q50 output in test_quality_unit.py).
ANNEX_K_QUANT = {
    "luma": [
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    ],
    "chroma": [
        17, 18, 24, 47, 99, 99, 99, 99,
        18, 21, 26, 66, 99, 99, 99, 99,
        24, 26, 56, 99, 99, 99, 99, 99,
        47, 66, 99, 99, 99, 99, 99, 99,
    ] + [99] * 32,
}  # fmt: skip


def ijg_reference_table(quality: int, kind: str, baseline: bool) -> tuple[int, ...]:
    """jpeg_set_quality (jcparam.c) as ../shared/reference/jpeg-quality.md states it: the
    Annex K table scaled for `quality`, clamped to 1..255 (baseline) or 1..32767."""
    q = min(max(quality, 1), 100)
    scale = 5000 // q if q < 50 else 200 - 2 * q
    top = 255 if baseline else 32767
    return tuple(min(max((b * scale + 50) // 100, 1), top) for b in ANNEX_K_QUANT[kind])
