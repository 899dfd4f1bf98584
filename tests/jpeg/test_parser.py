"""The header walker (jpeg/parser.py) on synthetic marker streams built to isolate one rule each.

Expected values come from the bytes the test writes, from ITU-T T.81, and from what libjpeg-turbo
does with the same bytes (djpeg -verbose -verbose; see the tests marked `oracle`)."""

from __future__ import annotations

import shutil
import subprocess

import jpegbuild as jb
import pytest

from jpegaudit.audit import audit_bytes, new_row
from jpegaudit.jpeg import JpegHeader, NeedMoreData, parse_jpeg

GRAY = ((1, 1, 1, 0),)
LUMA = [16] * 64
CHROMA = [17] * 64
HAVE_DJPEG = shutil.which("djpeg") is not None


def gray_file(*before_sof: bytes, tables=((0, LUMA),)) -> bytes:
    return jb.baseline(*before_sof, components=GRAY, tables=tables)


def audit(data: bytes, name: str = "x.jpg") -> dict:
    row = new_row(name, "test", "root", None)
    return audit_bytes(lambda offset, length: data[offset : offset + length], len(data), row)


def djpeg_stderr(data: bytes) -> str:
    done = subprocess.run(["djpeg", "-verbose", "-verbose"], input=data, capture_output=True)
    return done.stderr.decode("latin-1")


# ---------------------------------------------------------------------------------------------
# Frame headers


def test_baseline_file_parses_without_error_or_warning():
    header = parse_jpeg(jb.baseline())
    assert header.error is None and header.warnings == () and not header.truncated


def test_frame_dimensions_and_components_come_from_sof():
    data = jb.jpeg(
        jb.dqt((0, LUMA), (1, CHROMA)),
        jb.sof(0xC0, width=640, height=480, components=((1, 2, 1, 0), (2, 1, 1, 1), (3, 1, 1, 1))),
        jb.sos(),
    )
    frame = parse_jpeg(data).frame
    assert (frame.width, frame.height) == (640, 480)
    assert [(c.id, c.h, c.v, c.tq) for c in frame.components] == [
        (1, 2, 1, 0),
        (2, 1, 1, 1),
        (3, 1, 1, 1),
    ]


@pytest.mark.parametrize(
    "code", [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF]
)
def test_every_t81_sof_type_is_read_as_a_frame(code):
    header = parse_jpeg(jb.baseline(code=code))
    assert header.error is None
    assert header.frame.sof == code


@pytest.mark.parametrize("precision", [8, 12, 16])
def test_sample_precision_is_read_from_sof(precision):
    header = parse_jpeg(jb.baseline(code=0xC1, precision=precision))
    assert header.frame.precision == precision


def test_sof_offset_is_the_position_of_its_marker():
    data = jb.baseline()
    assert parse_jpeg(data).frame.offset == data.index(b"\xff\xc0")


def test_jpeg_ls_sof55_is_recorded_and_refused():
    data = jb.jpeg(jb.sof(0xF7, components=GRAY), jb.sos([1]))
    header = parse_jpeg(data)
    assert header.frame.sof == 0xF7
    assert "JPEG-LS" in header.error


def test_second_sof_is_a_duplicate_frame_error():
    data = jb.jpeg(jb.dqt((0, LUMA)), jb.sof(components=GRAY), jb.sof(components=GRAY), jb.sos([1]))
    assert "duplicate SOF" in parse_jpeg(data).error


def test_sof_length_that_does_not_fit_its_component_count_is_an_error():
    body = bytes([8, 0, 16, 0, 16, 3, 1, 0x11, 0])  # says 3 components, carries 1
    data = jb.jpeg(jb.segment(0xC0, body), jb.sos([1]))
    assert "does not fit 3 components" in parse_jpeg(data).error


def test_zero_width_frame_is_an_empty_image_error():
    data = jb.jpeg(jb.dqt((0, LUMA)), jb.sof(width=0, components=GRAY), jb.sos([1]))
    assert "empty image" in parse_jpeg(data).error


@pytest.mark.parametrize("h, v", [(0, 1), (1, 0), (5, 1), (1, 5)])
def test_sampling_factor_outside_1_to_4_is_an_error(h, v):
    data = jb.jpeg(jb.dqt((0, LUMA)), jb.sof(components=((1, h, v, 0),)), jb.sos([1]))
    assert "bogus sampling factors" in parse_jpeg(data).error


def test_component_table_slot_above_3_is_an_error():
    data = jb.jpeg(jb.dqt((0, LUMA)), jb.sof(components=((1, 1, 1, 4),)), jb.sos([1]))
    assert "uses table 4" in parse_jpeg(data).error


# ---------------------------------------------------------------------------------------------
# DQT


def test_8bit_dqt_is_stored_in_natural_order():
    natural = list(range(1, 65))
    header = parse_jpeg(gray_file(tables=((0, natural),)))
    table = header.qtables[0]
    assert table.values == tuple(natural)
    assert table.bits == 8


def test_dqt_bytes_are_zigzag_so_the_second_byte_is_natural_index_1_and_third_is_8():
    zigzag_payload = bytes([0]) + bytes(range(1, 65))
    data = jb.jpeg(jb.segment(0xDB, zigzag_payload), jb.sof(components=GRAY), jb.sos([1]))
    values = parse_jpeg(data).qtables[0].values
    assert (values[0], values[1], values[8], values[63]) == (1, 2, 3, 64)


def test_16bit_dqt_entries_above_255_are_read_whole():
    natural = [300 + k for k in range(64)]
    header = parse_jpeg(gray_file(tables=((0, natural, 16),)))
    assert header.qtables[0].values == tuple(natural)
    assert header.qtables[0].bits == 16


def test_several_tables_in_one_dqt_segment_are_all_read():
    tables = [(slot, [slot + 1] * 64) for slot in range(4)]
    data = jb.jpeg(jb.dqt(*tables), jb.sof(components=GRAY), jb.sos([1]))
    header = parse_jpeg(data)
    assert sorted(header.qtables) == [0, 1, 2, 3]
    assert all(header.qtables[s].values == (s + 1,) * 64 for s in range(4))


def test_mixed_8_and_16bit_tables_in_one_segment():
    data = jb.jpeg(
        jb.dqt((0, [2] * 64, 16), (1, [3] * 64, 8)), jb.sof(components=GRAY), jb.sos([1])
    )
    header = parse_jpeg(data)
    assert (header.qtables[0].bits, header.qtables[1].bits) == (16, 8)
    assert header.qtables[1].values == (3,) * 64


def test_redefined_slot_before_sos_keeps_the_last_definition():
    data = jb.jpeg(
        jb.dqt((0, [5] * 64)),
        jb.sof(components=GRAY),
        jb.dqt((0, [9] * 64)),
        jb.sos([1]),
    )
    assert parse_jpeg(data).qtables[0].values == (9,) * 64


def test_every_dqt_definition_is_kept_in_file_order():
    data = jb.jpeg(jb.dqt((0, [5] * 64)), jb.dqt((0, [9] * 64)), jb.sof(components=GRAY), jb.sos())
    definitions = parse_jpeg(data).dqt_definitions
    assert [t.values[0] for t in definitions] == [5, 9]


def test_dqt_after_the_first_sos_is_not_read():
    data = gray_file() + jb.dqt((0, [99] * 64))
    assert parse_jpeg(data).qtables[0].values == tuple(LUMA)


def test_short_last_dqt_table_is_an_error_like_libjpeg_turbo():
    # libjpeg-turbo 2.1.5 djpeg reads 64 entries anyway and stops with "Bogus marker length"
    # (IJG libjpeg 9 would fill the rest with 1s); we follow the oracle we test against.
    payload = bytes([0]) + bytes([7] * 10)
    data = jb.jpeg(jb.segment(0xDB, payload), jb.sof(components=GRAY), jb.sos([1]))
    header = parse_jpeg(data)
    assert header.error == "DQT: table 0 has only 10 of 64 entries"


def test_dqt_table_index_above_3_is_an_error():
    payload = bytes([0x04]) + bytes([1] * 64)
    data = jb.jpeg(jb.segment(0xDB, payload), jb.sof(components=GRAY), jb.sos([1]))
    assert "table index 4" in parse_jpeg(data).error


def test_dqt_length_past_end_of_file_is_a_truncated_error():
    data = jb.SOI + jb.segment_with_length(0xDB, 67 + 500, bytes([0]) + bytes([1] * 64))
    header = parse_jpeg(data)
    assert header.error is not None and "DQT" in header.error
    assert header.truncated


def test_dqt_length_past_end_of_a_complete_read_is_truncated_even_with_file_size():
    data = jb.SOI + jb.segment_with_length(0xDB, 600, bytes([0]) + bytes([1] * 64))
    header = parse_jpeg(data, file_size=len(data))
    assert header.truncated and "DQT" in header.error


def test_zero_quantizer_is_a_warning():
    header = parse_jpeg(gray_file(tables=((0, [0] + [1] * 63),)))
    assert header.error is None
    assert "DQT: table 0 has a zero entry" in header.warnings


# ---------------------------------------------------------------------------------------------
# Reading more: NeedMoreData


def test_need_more_data_is_raised_when_the_file_is_longer_than_the_bytes_given():
    data = gray_file(jb.app(1, b"x" * 1000))
    with pytest.raises(NeedMoreData) as raised:
        parse_jpeg(data[:100], file_size=len(data))
    assert 100 < raised.value.upto <= len(data)


def test_need_more_data_asks_for_the_whole_segment_that_must_be_read():
    dqt_segment = jb.dqt((0, LUMA), (1, CHROMA))
    data = jb.SOI + dqt_segment + jb.sof() + jb.sos()
    with pytest.raises(NeedMoreData) as raised:
        parse_jpeg(data[:10], file_size=len(data))
    assert raised.value.upto == 2 + len(dqt_segment)


def test_growing_the_read_as_asked_converges_on_the_full_parse():
    data = gray_file(jb.app(1, b"Exif\x00\x00" + b"y" * 3000), jb.com(b"hello"))
    have = 20
    while True:
        try:
            header = parse_jpeg(data[:have], file_size=len(data))
            break
        except NeedMoreData as more:
            assert more.upto > have
            have = more.upto
    assert header == parse_jpeg(data)


def test_no_need_more_data_when_the_header_fits_in_the_bytes_given():
    data = gray_file() + b"\x00" * 10_000
    header = parse_jpeg(data[:300], file_size=len(data))
    assert header.error is None and header.sos_offset is not None


def test_no_need_more_data_without_a_file_size():
    data = gray_file(jb.app(1, b"x" * 1000))
    header = parse_jpeg(data[:100])
    assert header.truncated and header.error is not None


def test_no_need_more_data_when_file_size_equals_the_bytes_given():
    data = gray_file(jb.app(1, b"x" * 1000))[:100]
    assert parse_jpeg(data, file_size=100).truncated


# ---------------------------------------------------------------------------------------------
# Junk, fill bytes and markers in the wrong place


def test_junk_before_a_marker_is_counted_like_libjpeg():
    data = jb.SOI + b"\x01\x02\x03" + jb.dqt((0, LUMA)) + jb.sof(components=GRAY) + jb.sos([1])
    header = parse_jpeg(data)
    assert header.error is None
    assert header.warnings == ("3 extraneous bytes before marker 0xdb",)


def test_ff00_before_a_marker_counts_as_two_extraneous_bytes():
    data = jb.SOI + b"\xff\x00" + jb.dqt((0, LUMA)) + jb.sof(components=GRAY) + jb.sos([1])
    assert parse_jpeg(data).warnings == ("2 extraneous bytes before marker 0xdb",)


def test_fill_bytes_before_ff00_are_not_counted_as_extraneous():
    # libjpeg's next_marker swallows FF fill bytes before counting FF00 as 2 discarded bytes:
    # FF FF 00 AB then FFDB is "3 extraneous bytes" in djpeg (libjpeg-turbo 2.1.5).
    data = jb.SOI + b"\xff\xff\x00\xab" + jb.dqt((0, LUMA)) + jb.sof(components=GRAY) + jb.sos([1])
    assert parse_jpeg(data).warnings == ("3 extraneous bytes before marker 0xdb",)


def test_fill_bytes_before_a_marker_are_legal_and_silent():
    data = jb.SOI + b"\xff\xff\xff" + jb.dqt((0, LUMA)) + jb.sof(components=GRAY) + jb.sos([1])
    header = parse_jpeg(data)
    assert header.error is None and header.warnings == ()
    assert header.qtables[0].values == tuple(LUMA)


def test_junk_before_sos_names_the_sos_marker():
    data = jb.SOI + jb.dqt((0, LUMA)) + jb.sof(components=GRAY) + b"\x00" + jb.sos([1])
    assert parse_jpeg(data).warnings == ("1 extraneous bytes before marker 0xda",)


def test_junk_at_end_of_data_without_a_marker_is_truncated():
    data = jb.SOI + jb.dqt((0, LUMA)) + b"\x00" * 50
    header = parse_jpeg(data)
    assert header.truncated and header.error is not None


def test_not_starting_with_soi_is_not_a_jpeg():
    header = parse_jpeg(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert header.error.startswith("not a JPEG")
    assert header.frame is None


def test_duplicate_soi_is_an_error():
    data = jb.SOI + jb.SOI + jb.dqt((0, LUMA)) + jb.sof(components=GRAY) + jb.sos([1])
    assert parse_jpeg(data).error == "duplicate SOI marker"


def test_eoi_before_sos_means_no_image():
    data = jb.SOI + jb.dqt((0, LUMA)) + jb.sof(components=GRAY) + jb.EOI
    header = parse_jpeg(data)
    assert "EOI before any SOS" in header.error
    assert header.sos_offset is None


def test_sos_before_sof_is_an_error():
    data = jb.jpeg(jb.dqt((0, LUMA)), jb.sos([1]), jb.sof(components=GRAY))
    header = parse_jpeg(data)
    assert header.error == "SOS before any SOF frame header"
    assert header.frame is None


def test_unknown_marker_is_an_error_naming_it():
    data = jb.SOI + jb.dqt((0, LUMA)) + jb.segment(0xF0, b"abc") + jb.sof(components=GRAY)
    assert "unknown marker 0xf0" in parse_jpeg(data).error


def test_jpg_marker_c8_is_not_taken_for_a_frame():
    data = jb.SOI + jb.segment(0xC8, bytes([8, 0, 16, 0, 16, 1, 1, 0x11, 0])) + jb.sos([1])
    header = parse_jpeg(data)
    assert header.frame is None and header.error is not None


def test_restart_marker_outside_scan_data_is_a_warning():
    data = jb.SOI + jb.marker(0xD3) + jb.dqt((0, LUMA)) + jb.sof(components=GRAY) + jb.sos([1])
    header = parse_jpeg(data)
    assert header.error is None
    assert header.warnings == ("RST3 marker outside entropy-coded data",)


def test_segment_length_below_two_is_an_error():
    data = jb.SOI + jb.segment_with_length(0xFE, 1) + jb.sof(components=GRAY)
    assert "shorter than its own length field" in parse_jpeg(data).error


def test_parsing_stops_at_the_first_sos():
    data = gray_file()
    header = parse_jpeg(data + jb.segment(0xF0, b"not reached"))
    assert header.sos_offset == data.index(b"\xff\xda")
    assert header.error is None


def test_sos_component_ids_are_read():
    assert parse_jpeg(jb.baseline()).sos_components == (1, 2, 3)


def test_sos_length_not_fitting_its_component_count_is_an_error():
    bad_sos = jb.segment(0xDA, bytes([3, 1, 0, 0, 63, 0]))  # says 3 components, carries 1
    data = jb.jpeg(jb.dqt((0, LUMA)), jb.sof(components=GRAY), bad_sos)
    assert "SOS: length" in parse_jpeg(data).error


# ---------------------------------------------------------------------------------------------
# DHT and DRI


def test_dht_tables_are_counted_with_class_and_slot():
    ac = (1, 1, jb.STD_DC_LUMA_COUNTS, jb.STD_DC_LUMA_VALUES)
    dc = (0, 1, jb.STD_DC_LUMA_COUNTS, jb.STD_DC_LUMA_VALUES)
    data = gray_file(jb.dht(dc, ac))
    tables = parse_jpeg(data).huffman_tables
    assert [(t.table_class, t.slot) for t in tables] == [(0, 1), (1, 1), (0, 0)]


def test_dht_counts_summing_above_256_are_an_error():
    counts = bytes([0] * 14 + [150, 150])  # 300 codes: more symbols than a byte can name
    bogus = jb.segment(0xC4, bytes([0]) + counts + bytes(300))
    assert "bogus table (counts sum to 300)" in parse_jpeg(gray_file(bogus)).error


@pytest.mark.parametrize("index", [0x04, 0x05, 0x14, 0x25])
def test_dht_index_outside_0_to_3_is_an_error_like_libjpeg(index):
    # libjpeg-turbo get_dht: "Bogus DHT index 5" (JERR_DHT_INDEX), then no image.
    payload = bytes([index]) + bytes(jb.STD_DC_LUMA_COUNTS) + bytes(jb.STD_DC_LUMA_VALUES)
    header = parse_jpeg(gray_file(jb.segment(0xC4, payload)))
    assert header.error is not None


def test_dri_sets_the_restart_interval():
    assert parse_jpeg(gray_file(jb.dri(37))).restart_interval == 37


def test_dri_of_wrong_length_is_an_error():
    data = gray_file(jb.segment(0xDD, b"\x00\x10\x00"))
    assert "DRI: length 5 is not 4" in parse_jpeg(data).error


# ---------------------------------------------------------------------------------------------
# COM


def test_comment_is_decoded_as_latin1():
    assert parse_jpeg(gray_file(jb.com(b"caf\xe9"))).comment == "caf\u00e9"


def test_comment_is_bounded_to_200_characters():
    assert parse_jpeg(gray_file(jb.com(b"a" * 5000))).comment == "a" * 200


def test_only_the_first_comment_is_kept():
    assert parse_jpeg(gray_file(jb.com(b"first"), jb.com(b"second"))).comment == "first"


def test_comment_trailing_nuls_are_dropped():
    assert parse_jpeg(gray_file(jb.com(b"cjpeg\x00\x00"))).comment == "cjpeg"


# ---------------------------------------------------------------------------------------------
# APPn segments


def test_app_segments_are_listed_in_file_order_with_identifiers():
    data = gray_file(jb.jfif(), jb.app(1, b"Exif\x00\x00II"), jb.app(5, b"\x00\x01"), jb.adobe(1))
    segments = parse_jpeg(data).app_segments
    assert [(s.marker, s.ident) for s in segments] == [
        (0xE0, "JFIF"),
        (0xE1, "Exif"),
        (0xE5, ""),
        (0xEE, "Adobe"),
    ]
    assert segments[0].offset == 2 and segments[0].length == 16


def test_jfif_version_and_density_are_read():
    jfif = parse_jpeg(gray_file(jb.jfif((1, 2), unit=1, x=300, y=72))).jfif
    assert (jfif.version, jfif.density_unit, jfif.x_density, jfif.y_density) == ("1.02", 1, 300, 72)


def test_jfif_shorter_than_14_bytes_is_ignored_like_libjpeg():
    header = parse_jpeg(gray_file(jb.app(0, b"JFIF\x00\x01\x01")))
    assert header.jfif is None and header.error is None


def test_jfxx_extension_is_listed_but_is_not_jfif():
    header = parse_jpeg(gray_file(jb.jfif(), jb.jfxx(0x13, b"\x01\x01")))
    assert [s.ident for s in header.app_segments] == ["JFIF", "JFXX"]
    only_jfxx = parse_jpeg(gray_file(jb.jfxx()))
    assert only_jfxx.jfif is None


def test_xmp_app1_is_recognised():
    xmp = jb.app(1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>")
    assert parse_jpeg(gray_file(xmp)).xmp


def test_icc_chunks_give_total_size_and_colour_space():
    profile = jb.icc_profile_header(b"GRAY", size=1128) + b"p" * 1000
    data = gray_file(jb.icc(1, 2, profile[:600]), jb.icc(2, 2, profile[600:]))
    chunks = parse_jpeg(data).icc_chunks
    assert [(c.seq, c.count) for c in chunks] == [(1, 2), (2, 2)]
    assert sum(c.size for c in chunks) == len(profile)
    assert chunks[0].colorspace == "GRAY"


def test_icc_colour_space_comes_from_chunk_one_even_when_it_is_not_first():
    profile = jb.icc_profile_header(b"CMYK") + b"q" * 100
    row = audit(gray_file(jb.icc(2, 2, profile[100:]), jb.icc(1, 2, profile[:100])))
    assert row["icc"] and row["icc_colorspace"] == "CMYK"
    assert row["icc_bytes"] == len(profile)


def test_pillow_icc_profile_size_is_reported_exactly():
    profile = jb.icc_profile_header(b"RGB ", size=70_000) + bytes(70_000 - 128)
    data = jb.pillow_jpeg(icc_profile=profile)
    row = audit(data)
    assert row["icc_bytes"] == len(profile)
    assert row["app_markers"].count("ICC_PROFILE") == 2  # 65519 bytes per chunk at most
    assert row["icc_colorspace"] == "RGB"


def test_mpf_app2_is_recognised():
    assert parse_jpeg(gray_file(jb.app(2, b"MPF\x00MM\x00\x2a"))).mpf


def test_photoshop_app13_is_recognised():
    assert parse_jpeg(gray_file(jb.app(13, b"Photoshop 3.0\x008BIM\x04\x04"))).photoshop


def test_adobe_app14_transform_and_version_are_read():
    adobe = parse_jpeg(gray_file(jb.adobe(2, version=101))).adobe
    assert (adobe.version, adobe.transform) == (101, 2)


def test_adobe_app14_shorter_than_12_bytes_is_ignored_like_libjpeg():
    header = parse_jpeg(gray_file(jb.app(14, b"Adobe\x00\x64\x00\x00")))
    assert header.adobe is None and header.error is None


def test_app_segment_past_end_of_file_is_truncated():
    data = jb.SOI + jb.segment_with_length(0xE5, 5000, b"abc")
    header = parse_jpeg(data)
    assert header.truncated and header.error is not None


# ---------------------------------------------------------------------------------------------
# Bounded output for hostile headers (issue 7): a row's text stays small whatever the header says


def test_many_empty_app_segments_do_not_make_an_unbounded_app_markers_column():
    data = gray_file(b"\xff\xe5\x00\x02" * 65_536)  # 256 KiB of empty APP5 segments
    row = audit(data)
    assert row["error"] is None
    assert len(row["app_markers"]) <= 10_000


@pytest.mark.parametrize(
    "unit",
    [b"\xff\xd0", b"\x00\xff\xfe\x00\x02"],  # a stray RST0; a junk byte then an empty COM
    ids=["rst", "junk"],
)
def test_many_warnings_do_not_make_an_unbounded_warnings_column(unit):
    data = gray_file(jb.com(b"x"), unit * (262_144 // len(unit)))  # 256 KiB of them
    row = audit(data)
    assert row["error"] is None
    assert len(row["warnings"]) <= 10_000


# ---------------------------------------------------------------------------------------------
# Real encoders, and libjpeg as the oracle


def test_pillow_file_parses_with_the_tables_pillow_reports():
    from io import BytesIO

    from PIL import Image

    data = jb.pillow_jpeg(quality=63)
    header = parse_jpeg(data)
    with Image.open(BytesIO(data)) as image:
        expected = {slot: tuple(t) for slot, t in image.quantization.items()}
    assert {slot: t.values for slot, t in header.qtables.items()} == expected


@pytest.mark.oracle
@pytest.mark.skipif(not HAVE_DJPEG, reason="djpeg not installed")
@pytest.mark.parametrize(
    "junk, count",
    [(b"\x01\x02\x03", 3), (b"\xff\x00", 2), (b"\xab\xff\x00", 3), (b"\xff\xff\x00\xab", 3)],
)
def test_extraneous_byte_count_agrees_with_djpeg(junk, count):
    clean = jb.pillow_jpeg(mode="L")
    at = clean.index(b"\xff\xdb")
    data = clean[:at] + junk + clean[at:]
    assert f"{count} extraneous bytes before marker 0xdb" in djpeg_stderr(data)
    assert f"{count} extraneous bytes before marker 0xdb" in parse_jpeg(data).warnings


def test_parse_result_is_a_frozen_header():
    header = parse_jpeg(jb.baseline())
    assert isinstance(header, JpegHeader)
    with pytest.raises(AttributeError):
        header.error = "x"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# Layout: what the provenance signature reads (docs/provenance.md)


def test_marker_order_lists_every_marker_after_soi_up_to_the_first_sos():
    data = jb.jpeg(
        jb.jfif(),
        jb.com(b"hello"),
        jb.dqt((0, LUMA)),
        jb.dqt((1, CHROMA)),
        jb.sof(0xC0),
        jb.std_dht(),
        jb.dri(4),
        jb.sos(),
    )
    header = parse_jpeg(data)
    assert header.marker_order == (0xE0, 0xFE, 0xDB, 0xDB, 0xC0, 0xC4, 0xDD, 0xDA)
    assert header.marker_count == 8
    assert header.comment_count == 1


def test_dqt_segments_record_how_tables_are_split_across_segments():
    one = parse_jpeg(jb.baseline(tables=((0, LUMA), (1, CHROMA))))
    two = parse_jpeg(
        jb.jpeg(jb.dqt((0, LUMA)), jb.dqt((1, CHROMA)), jb.sof(0xC0), jb.std_dht(), jb.sos())
    )
    assert one.dqt_segments == ((0, 1),)
    assert two.dqt_segments == ((0,), (1,))
    assert one.qtables == two.qtables


def test_dht_segments_record_class_and_slot_of_each_table_per_segment():
    counts, values = jb.STD_DC_LUMA_COUNTS, jb.STD_DC_LUMA_VALUES
    data = jb.jpeg(
        jb.dqt((0, LUMA), (1, CHROMA)),
        jb.sof(0xC0),
        jb.dht((0, 0, counts, values), (0, 1, counts, values)),
        jb.dht((1, 0, counts, values)),
        jb.sos(),
    )
    assert parse_jpeg(data).dht_segments == ((0x00, 0x01), (0x10,))


def test_first_scan_holds_the_first_sos_spectral_selection_and_approximation():
    data = jb.jpeg(jb.dqt((0, LUMA), (1, CHROMA)), jb.sof(0xC2), jb.std_dht(), jb.sos(ss=0, se=0))
    scan = parse_jpeg(data).first_scan
    assert (scan.ss, scan.se, scan.ah, scan.al) == (0, 0, 0, 0)


def test_adobe_flags_are_read():
    header = parse_jpeg(jb.baseline(jb.adobe(1, flags0=0x8000, flags1=0)))
    assert (header.adobe.flags0, header.adobe.flags1, header.adobe.transform) == (0x8000, 0, 1)


def test_marker_order_is_capped_and_counted():
    data = jb.baseline(*[jb.com(b"x")] * 100)
    header = parse_jpeg(data)
    assert len(header.marker_order) == 64
    assert header.marker_count == 100 + 4
    assert header.comment_count == 100


def test_layout_of_a_real_pillow_file():
    header = parse_jpeg(jb.pillow_jpeg(quality=90))
    assert header.marker_order[0] == 0xE0 and header.marker_order[-1] == 0xDA
    assert header.dqt_segments == ((0,), (1,))  # libjpeg writes one table per DQT segment
    assert len(header.dht_segments) == 4


def _photoshop_app13(*resources: tuple[int, bytes, bytes]) -> bytes:
    body = b"Photoshop 3.0\x00"
    for ident, name, data in resources:
        pascal = bytes([len(name)]) + name
        pascal += b"\x00" * (len(pascal) & 1)
        body += b"8BIM" + ident.to_bytes(2, "big") + pascal + len(data).to_bytes(4, "big") + data
        body += b"\x00" * (len(data) & 1)
    return jb.app(13, body)


@pytest.mark.parametrize("level", [0, 8, 12])
def test_photoshop_quality_comes_from_image_resource_0x0406(level):
    app13 = _photoshop_app13(
        (0x0404, b"", b"iptc"),
        (0x0406, b"JPEG Quality", (level - 4).to_bytes(2, "big", signed=True) + b"\x00\x01\x01"),
    )
    assert parse_jpeg(jb.baseline(app13)).photoshop_quality == level


def test_photoshop_app13_without_quality_resource_has_none():
    header = parse_jpeg(jb.baseline(_photoshop_app13((0x0404, b"", b"iptc"))))
    assert header.photoshop and header.photoshop_quality is None


def test_ducky_quality_is_read_from_app12():
    ducky = jb.app(12, b"Ducky" + b"\x00\x01\x00\x04" + (70).to_bytes(4, "big") + b"\x00\x00")
    assert parse_jpeg(jb.baseline(ducky)).ducky_quality == 70


def test_corpus_photoshop_files_state_their_level(corpora_dir):
    # exiftool names these "Adobe Photoshop, Quality 0 / 8 / 12" and "Save for web, Quality 70".
    for name, level in (("BlueSquare.jpg", 0), ("pil_sample_rgb.jpg", 12)):
        path = next(corpora_dir.glob(f"*/{name}"))
        assert parse_jpeg(path.read_bytes()).photoshop_quality == level
    path = next(corpora_dir.glob("*/portrait_1.jpg"))
    assert parse_jpeg(path.read_bytes()).ducky_quality == 70
