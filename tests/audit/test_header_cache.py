"""The header caches (audit.py) never change a row: every file audited with cold caches gives
the same row as with caches warmed by other files, including files that differ only in EXIF
and files whose first FFDA bytes are not their SOS marker."""

from __future__ import annotations

import io
import struct

import pytest
from oracles import CORPORA_DIR
from PIL import Image

from jpegaudit import audit
from jpegaudit.audit import audit_bytes, new_row
from jpegaudit.audit.cache import DEFAULT_CACHE

CORPORA = CORPORA_DIR


def exif_block(orientation: int, make: bytes) -> bytes:
    # TIFF, little endian: IFD0 with Make (ASCII, offset) and Orientation (SHORT, inline)
    make = make + b"\x00"
    entries = 2
    ifd = struct.pack("<H", entries)
    data_at = 8 + 2 + 12 * entries + 4
    ifd += struct.pack("<HHII", 0x010F, 2, len(make), data_at)
    ifd += struct.pack("<HHIHH", 0x0112, 3, 1, orientation, 0)
    ifd += struct.pack("<I", 0)
    return b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + ifd + make


def row_of(data: bytes, name: str = "x.jpg") -> dict:
    row = new_row(name, "s", "r", None)
    row["entry_type"] = "file"
    return audit_bytes(lambda o, n: data[o : o + n], len(data), row)


def cold(data: bytes) -> dict:
    audit.clear_header_caches()
    return row_of(data)


def ffda_in_dqt() -> bytes:
    """A JPEG whose quantization table holds the bytes FF DA (entries 255, 218)."""
    table = [255, 218] * 32
    buf = io.BytesIO()
    Image.new("L", (16, 16), 80).save(buf, "JPEG", qtables=[table])
    data = buf.getvalue()
    assert b"\xff\xda" in data[: data.index(b"\xff\xc0")]
    return data


def ffda_in_comment(quality: int = 80) -> bytes:
    """A JPEG with a COM segment holding FF DA 00 02 before its tables: files at different
    qualities share their bytes up to the end of that fake "SOS"."""
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), 80).save(buf, "JPEG", quality=quality)
    data = buf.getvalue()
    comment = b"\xff\xda\x00\x02 not a scan"
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]


def samples() -> list[bytes]:
    out = []
    for orientation, make in ((1, b"Canon"), (6, b"NIKON"), (8, b"")):
        for quality in (75, 96):
            buf = io.BytesIO()
            exif = exif_block(orientation, make) if make or orientation != 8 else None
            Image.new("RGB", (40, 30), 80).save(buf, "JPEG", quality=quality, exif=exif or b"")
            out.append(buf.getvalue())
    out += [ffda_in_dqt(), ffda_in_comment(80), ffda_in_comment(50)]
    if CORPORA.is_dir():
        out += [p.read_bytes() for p in sorted(CORPORA.glob("*/*")) if p.suffix != ".tsv"]
    return out


@pytest.mark.parametrize("order", ["forward", "backward"])
def test_warm_cache_rows_equal_cold_rows(order):
    data = samples()
    expected = [cold(d) for d in data]
    audit.clear_header_caches()
    sequence = list(range(len(data)))
    if order == "backward":
        sequence.reverse()
    for _ in range(2):  # the second round is all hits where the key allows
        for i in sequence:
            assert row_of(data[i]) == expected[i], i


def test_files_differing_only_in_exif_share_one_entry_and_keep_their_own_exif():
    a, b = samples()[0], samples()[2]  # q75: orientation 1 Canon vs 6 NIKON
    audit.clear_header_caches()
    row_a, row_b = row_of(a), row_of(b)
    assert len(DEFAULT_CACHE.by_shape) == 1
    assert (row_a["orientation"], row_a["exif_make"]) == (1, "Canon")
    assert (row_b["orientation"], row_b["exif_make"]) == (6, "NIKON")


@pytest.mark.parametrize("make", [ffda_in_dqt, ffda_in_comment])
def test_a_first_ffda_that_is_not_the_sos_is_never_a_whole_header_key(make):
    data = make()
    audit.clear_header_caches()
    first = row_of(data)
    assert first["error"] is None and first["header_bytes"] > data.index(b"\xff\xda")
    assert DEFAULT_CACHE.whole == {}
    assert row_of(data) == first


def test_plain_headers_are_served_from_the_whole_header_cache():
    data = samples()[4]  # no EXIF
    assert b"Exif" not in data
    audit.clear_header_caches()
    first = row_of(data)
    assert list(DEFAULT_CACHE.whole) == [data[: first["header_bytes"] + 14]]
    assert row_of(data) == first
