"""APP1 Exif (jpeg/exif.py): the IFD0 tags an audit reads, and a walk that stays bounded whatever
the offsets and counts in the file say. Pillow's own Exif reader is the oracle for real files."""

from __future__ import annotations

import struct
from io import BytesIO

import jpegbuild as jb
import pytest
from oracles import CORPORA_DIR
from PIL import Image

from jpegaudit.audit import audit_bytes, new_row
from jpegaudit.jpeg import parse_jpeg
from jpegaudit.jpeg.exif import MAX_IFD_ENTRIES, parse_exif

ORIENTATION, MAKE, MODEL, SOFTWARE = 0x0112, 0x010F, 0x0110, 0x0131
SHORT, LONG, ASCII, UNDEFINED = 3, 4, 2, 7
CORPORA = CORPORA_DIR


def orientation_entry(order: str, value: int) -> tuple[int, int, int, bytes]:
    return (ORIENTATION, SHORT, 1, jb.short(order, value))


def ascii_entry(tag: int, text: bytes) -> tuple[int, int, int, bytes]:
    return (tag, ASCII, len(text) + 1, text + b"\x00")


def gray_with_exif(tiff: bytes) -> bytes:
    return jb.baseline(jb.exif(tiff), components=((1, 1, 1, 0),), tables=((0, [8] * 64),))


def audit(data: bytes) -> dict:
    row = new_row("x.jpg", "test", "root", None)
    return audit_bytes(lambda offset, length: data[offset : offset + length], len(data), row)


@pytest.mark.parametrize("order", ["II", "MM"])
@pytest.mark.parametrize("value", range(1, 9))
def test_orientation_is_read_in_both_byte_orders(order, value):
    exif = parse_exif(jb.tiff(order, [orientation_entry(order, value)]))
    assert exif.byte_order == order
    assert exif.orientation == value
    assert exif.warnings == ()


@pytest.mark.parametrize("order", ["II", "MM"])
def test_orientation_stored_as_long_is_read(order):
    value = struct.pack("<I" if order == "II" else ">I", 6)
    assert parse_exif(jb.tiff(order, [(ORIENTATION, LONG, 1, value)])).orientation == 6


@pytest.mark.parametrize(
    "typ, fmt",
    [(1, "B"), (3, "H"), (4, "I"), (6, "b"), (8, "h"), (9, "i")],
    ids=["byte", "short", "long", "sbyte", "sshort", "slong"],
)
def test_orientation_of_any_integer_type_is_read(typ, fmt):
    value = struct.pack(">" + fmt, 7)
    assert parse_exif(jb.tiff("MM", [(ORIENTATION, typ, 1, value)])).orientation == 7


def test_negative_signed_orientation_is_out_of_range():
    exif = parse_exif(jb.tiff("II", [(ORIENTATION, 8, 1, struct.pack("<h", -1))]))
    assert exif.orientation is None
    assert exif.warnings == ("Exif: orientation -1 outside 1..8",)


def test_orientation_as_text_is_ignored():
    assert parse_exif(jb.tiff("II", [ascii_entry(ORIENTATION, b"6")])).orientation is None


@pytest.mark.parametrize("value", [0, 9, 65535])
def test_orientation_outside_1_to_8_is_dropped_with_a_warning(value):
    exif = parse_exif(jb.tiff("II", [orientation_entry("II", value)]))
    assert exif.orientation is None
    assert exif.warnings == (f"Exif: orientation {value} outside 1..8",)


@pytest.mark.parametrize("order", ["II", "MM"])
def test_make_model_and_software_are_read(order):
    entries = [
        ascii_entry(MAKE, b"Canon"),
        ascii_entry(MODEL, b"Canon EOS 40D"),
        ascii_entry(SOFTWARE, b"GIMP 2.4.5"),
        orientation_entry(order, 3),
    ]
    exif = parse_exif(jb.tiff(order, entries))
    assert (exif.make, exif.model, exif.software, exif.orientation) == (
        "Canon",
        "Canon EOS 40D",
        "GIMP 2.4.5",
        3,
    )


def test_string_of_four_bytes_or_fewer_is_read_from_the_entry_itself():
    assert parse_exif(jb.tiff("MM", [ascii_entry(MAKE, b"HTC")])).make == "HTC"


def test_strings_are_trimmed_and_cut_at_the_first_nul():
    exif = parse_exif(jb.tiff("II", [ascii_entry(MODEL, b"  DSC-F1  \x00garbage")]))
    assert exif.model == "DSC-F1"


def test_strings_are_bounded_to_100_characters():
    exif = parse_exif(jb.tiff("II", [ascii_entry(SOFTWARE, b"s" * 10_000)]))
    assert exif.software == "s" * 100


def test_blank_string_is_absent():
    assert parse_exif(jb.tiff("II", [ascii_entry(MAKE, b"   ")])).make is None


def test_undecodable_string_bytes_do_not_raise():
    exif = parse_exif(jb.tiff("II", [(MAKE, UNDEFINED, 6, b"\xff\xfeab\xc3\x00")]))
    assert exif.make is not None and "ab" in exif.make


def test_bad_tiff_header_is_a_warning_not_an_error():
    exif = parse_exif(b"XX\x00\x2a\x00\x00\x00\x08")
    assert exif.orientation is None and exif.warnings == ("Exif: bad TIFF header",)


def test_empty_tiff_is_a_warning():
    assert parse_exif(b"").warnings == ("Exif: bad TIFF header",)


@pytest.mark.parametrize("offset", [8_000, 0xFFFFFFFF])
def test_ifd0_offset_past_the_segment_is_a_warning(offset):
    tiff = b"II" + struct.pack("<HI", 42, offset) + b"\x00" * 20
    exif = parse_exif(tiff)
    assert exif.byte_order == "II" and exif.orientation is None
    assert exif.warnings == ("Exif: IFD0 offset out of range",)


def test_value_offset_past_the_segment_is_a_warning():
    entry = struct.pack("<HHII", MAKE, ASCII, 40, 0x7FFF_FFF0)
    tiff = b"II" + struct.pack("<HIH", 42, 8, 1) + entry + b"\x00" * 4
    exif = parse_exif(tiff)
    assert exif.make is None
    assert exif.warnings == ("Exif: tag 0x010f value out of range",)


def test_count_that_overflows_the_value_size_is_a_warning():
    entry = struct.pack("<HHII", MODEL, ASCII, 0xFFFF_FFFF, 26)
    tiff = b"II" + struct.pack("<HIH", 42, 8, 1) + entry + b"\x00" * 4 + b"x" * 20
    exif = parse_exif(tiff)
    assert exif.model is None and "value out of range" in exif.warnings[0]


def test_ifd_entry_count_bomb_is_capped_with_a_warning():
    entries = [orientation_entry("II", 1)] * 3
    tiff = bytearray(jb.tiff("II", entries))
    tiff[8:10] = struct.pack("<H", 65535)  # claims 65535 entries, holds 3
    exif = parse_exif(bytes(tiff))
    assert exif.orientation == 1
    assert f"Exif: IFD0 claims 65535 entries; read {MAX_IFD_ENTRIES}" in exif.warnings
    assert "Exif: IFD0 runs past the segment" in exif.warnings


def test_entry_count_bomb_with_room_for_every_entry_reads_at_most_the_cap():
    entries = [(0x9000 + k, SHORT, 1, b"\x00\x00") for k in range(600)]
    entries.append(orientation_entry("II", 5))  # entry 601: beyond the cap, never reached
    exif = parse_exif(jb.tiff("II", entries))
    assert exif.orientation is None
    assert exif.warnings == ("Exif: IFD0 claims 601 entries; read 512",)


def test_ifd0_pointing_at_itself_does_not_loop():
    # Only IFD0 is walked, so a next-IFD offset pointing back at IFD0 cannot cause a cycle.
    tiff = bytearray(jb.tiff("II", [orientation_entry("II", 8)]))
    tiff[-4:] = struct.pack("<I", 8)
    assert parse_exif(bytes(tiff)).orientation == 8


def test_exif_in_a_jpeg_reaches_the_row():
    tiff = jb.tiff("MM", [orientation_entry("MM", 6), ascii_entry(MAKE, b"NIKON")])
    row = audit(gray_with_exif(tiff))
    assert row["exif"] and row["orientation"] == 6 and row["exif_make"] == "NIKON"
    assert row["encoder"] == "nikon"  # flat tables are not IJG's, and EXIF names the maker


def test_exif_warnings_reach_the_row():
    row = audit(gray_with_exif(jb.tiff("II", [orientation_entry("II", 11)])))
    assert "Exif: orientation 11 outside 1..8" in row["warnings"]


def test_only_the_first_exif_segment_is_used():
    first = jb.exif(jb.tiff("II", [orientation_entry("II", 2)]))
    second = jb.exif(jb.tiff("II", [orientation_entry("II", 7)]))
    header = parse_jpeg(jb.baseline(first, second))
    assert header.exif.orientation == 2


def test_exif_segment_running_past_end_of_file_is_truncated():
    tiff = jb.tiff("II", [orientation_entry("II", 6)])
    data = jb.SOI + jb.segment_with_length(0xE1, 500, b"Exif\x00\x00" + tiff)
    header = parse_jpeg(data)
    assert header.truncated and header.error is not None


def test_app1_that_is_not_exif_or_xmp_is_ignored():
    header = parse_jpeg(jb.baseline(jb.app(1, b"Exif-ish but not really")))
    assert header.exif is None and not header.xmp and header.error is None


@pytest.mark.parametrize("value", range(1, 9))
def test_orientation_agrees_with_pillow_on_a_pillow_written_file(value):
    exif = Image.Exif()
    exif[ORIENTATION] = value
    exif[MAKE] = "jpegaudit-test"
    data = jb.pillow_jpeg(exif=exif.tobytes())
    with Image.open(BytesIO(data)) as image:
        expected = image.getexif().get(ORIENTATION)
    header = parse_jpeg(data)
    assert header.exif.orientation == expected == value
    assert header.exif.make == "jpegaudit-test"


CORPUS_ORIENTATION = sorted((CORPORA / "pillow").glob("hopper_orientation_*.jpg"))


@pytest.mark.skipif(not CORPUS_ORIENTATION, reason="../shared/corpora not present")
@pytest.mark.parametrize("path", CORPUS_ORIENTATION, ids=lambda p: p.name)
def test_orientation_agrees_with_pillow_on_corpus_files(path):
    with Image.open(path) as image:
        expected = image.getexif().get(ORIENTATION)
    assert parse_jpeg(path.read_bytes()).exif.orientation == expected


CORPUS_CAMERAS = sorted((CORPORA / "exif-samples").glob("*.jpg"))


@pytest.mark.skipif(not CORPUS_CAMERAS, reason="../shared/corpora not present")
def test_make_and_model_agree_with_pillow_on_camera_files():
    compared = 0
    for path in CORPUS_CAMERAS:
        try:
            with Image.open(path) as image:
                tags = image.getexif()
        except Exception:  # Pillow refuses some broken files; our parser is not judged on them
            continue
        header = parse_jpeg(path.read_bytes())
        if header.exif is None or MAKE not in tags or not isinstance(tags[MAKE], str):
            continue
        expected = tags[MAKE].split("\x00", 1)[0].strip()[:100] or None
        assert header.exif.make == expected, path.name
        compared += 1
    assert compared >= 20
