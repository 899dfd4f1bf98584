"""Every file of ../shared/corpora, read by jpegaudit and by oracles nobody here wrote.

libjpeg (`djpeg -verbose -verbose`) is the reference for the header: frame, components, sampling
factors, table slots, quantization tables (values and precision, as in effect at the first SOS),
Huffman table counts, restart interval, Adobe and JFIF markers. Pillow, ImageMagick `identify`
and exiftool are second opinions on size, factors, tables, colour and EXIF orientation. The parser
is checked on the whole file (`parse_jpeg`), the store row through the real read path
(`audit_file`, head and tail only).

Files are classified at collection time by what libjpeg says: it reads the header (it reached the
first SOS; 12-bit files count, libjpeg-turbo's 8-bit djpeg stops only after the header), or it
refuses the file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from oracles import (
    CORPORA_DIR,
    DjpegHeader,
    corpus_files,
    djpeg_header,
    exiftool_infos,
    identify_info,
    pillow_info,
    require_tool,
    tool_available,
)

from jpegaudit import audit_file
from jpegaudit.jpeg import parse_jpeg

pytestmark = [pytest.mark.oracle, pytest.mark.needs_tools("djpeg")]

ALL_FILES = corpus_files()


def _classify() -> tuple[list[Path], list[Path]]:
    if not tool_available("djpeg"):
        return ALL_FILES, []  # every test then skips (or fails under CI) on the needs_tools mark
    read, refused = [], []
    for path in ALL_FILES:
        header = djpeg_header(path)
        assert header is not None
        (read if header.header_read else refused).append(path)
    return read, refused


READ_FILES, REFUSED_FILES = _classify()


def _rel(path: Path) -> str:
    return str(path.relative_to(CORPORA_DIR))


def _files_where(predicate) -> list[Path]:
    if not tool_available("djpeg"):
        return []
    return [p for p in READ_FILES if predicate(djpeg_header(p))]


HEADER_WARNING_FILES = _files_where(
    lambda d: any("extraneous bytes before marker" in w for w in d.header_warnings)
)
PREMATURE_EOF_FILES = _files_where(
    lambda d: any(w.startswith("Premature end of JPEG file") for w in d.warnings)
)
CLEAN_FILES = _files_where(lambda d: d.exit_status == 0 and not d.warnings and not d.unsupported)

# libjpeg-turbo's djpeg, Pillow and ImageMagick here are 8-bit builds: they read the header of a
# 12-bit file (djpeg traces it) but refuse to go further, so second opinions from Pillow and
# identify are asked only about the files libjpeg fully supports; exiftool covers the rest.
EIGHT_BIT_FILES = _files_where(lambda d: d.unsupported is None)

read_files = pytest.mark.parametrize("path", READ_FILES, ids=_rel)
eight_bit_files = pytest.mark.parametrize("path", EIGHT_BIT_FILES, ids=_rel)

PROCESS_BY_SOF = {
    0xC0: "baseline",
    0xC1: "extended",
    0xC9: "extended",
    0xC2: "progressive",
    0xCA: "progressive",
    0xC3: "lossless",
    0xCB: "lossless",
    0xC5: "differential-sequential",
    0xCD: "differential-sequential",
    0xC6: "differential-progressive",
    0xCE: "differential-progressive",
    0xC7: "differential-lossless",
    0xCF: "differential-lossless",
}
PROGRESSIVE_SOFS = {0xC2, 0xC6, 0xCA, 0xCE}
PILLOW_MODE_BY_COLOR = {"gray": "L", "ycbcr": "RGB", "rgb": "RGB", "cmyk": "CMYK", "ycck": "CMYK"}


@cache
def parsed(path: Path):
    return parse_jpeg(path.read_bytes())


@cache
def row(path: Path) -> dict:
    return audit_file(path)


def libjpeg(path: Path) -> DjpegHeader:
    header = djpeg_header(path)
    assert header is not None
    return header


@pytest.fixture(scope="session")
def exiftool_corpus() -> dict:
    require_tool("exiftool")  # session fixtures run before the autouse needs_tools check
    infos = exiftool_infos(READ_FILES)
    assert infos is not None
    return infos


def _orientation(value: int | None) -> int | None:
    """The store keeps orientations 1..8 only (anything else is null with a warning)."""
    return value if value is not None and 1 <= value <= 8 else None


def _expected_row_tables(d: DjpegHeader) -> tuple[str, int]:
    """The store's `qtables` text and `qtable_bits` built from libjpeg's tables by the schema's
    rule: the first component's table, then the tables (distinct by value) of the components
    that use another slot, in component order."""
    luma_slot = d.components[0].tq
    tables = [d.qtables[luma_slot]]
    for c in d.components[1:]:
        table = d.qtables[c.tq]
        if c.tq != luma_slot and all(t.values != table.values for t in tables[1:]):
            tables.append(table)
    text = "/".join(",".join(str(v) for v in t.values) for t in tables)
    bits = max(d.qtables[c.tq].bits for c in d.components)
    return text, bits


# --- the parser against libjpeg ---------------------------------------------------------------


@read_files
def test_parser_reads_the_header_without_error(path):
    assert parsed(path).error is None


@read_files
def test_parser_frame_size_matches_djpeg(path):
    d, frame = libjpeg(path), parsed(path).frame
    assert frame is not None
    assert (frame.width, frame.height) == (d.width, d.height)


@read_files
def test_parser_sof_marker_matches_djpeg(path):
    assert parsed(path).frame.sof == libjpeg(path).sof


@read_files
def test_parser_components_match_djpeg(path):
    """Identifiers, sampling factors and quantization slot of every component, in frame order."""
    ours = [(c.id, c.h, c.v, c.tq) for c in parsed(path).frame.components]
    assert ours == [(c.id, c.h, c.v, c.tq) for c in libjpeg(path).components]


@read_files
def test_parser_quant_tables_at_first_sos_match_djpeg(path):
    ours = {slot: (t.bits, t.values) for slot, t in parsed(path).qtables.items()}
    theirs = {slot: (t.bits, t.values) for slot, t in libjpeg(path).qtables.items()}
    assert ours == theirs


@read_files
def test_parser_dqt_definitions_before_first_sos_match_djpeg(path):
    d = libjpeg(path)
    # djpeg also traces DQTs of later scans; the parser stops at the first SOS.
    before_sos = d.qtable_definitions[: _definitions_before_first_sos(d)]
    ours = [(t.slot, t.bits, t.values) for t in parsed(path).dqt_definitions]
    assert ours == [(t.slot, t.bits, t.values) for t in before_sos]


def _definitions_before_first_sos(d: DjpegHeader) -> int:
    count = 0
    for line in d.trace.splitlines():
        if line.startswith("Start Of Scan"):
            break
        if line.startswith("Define Quantization Table"):
            count += 1
    return count


@read_files
def test_parser_huffman_tables_match_djpeg(path):
    ours = [(t.table_class, t.slot, t.counts) for t in parsed(path).huffman_tables]
    theirs = [(t.table_class, t.slot, t.counts) for t in libjpeg(path).huffman_tables]
    assert ours == theirs


@read_files
def test_parser_restart_interval_matches_djpeg(path):
    assert parsed(path).restart_interval == libjpeg(path).restart_interval


@read_files
def test_parser_adobe_transform_matches_djpeg(path):
    adobe = parsed(path).adobe
    assert (adobe.transform if adobe else None) == libjpeg(path).adobe_transform


@read_files
def test_parser_jfif_version_matches_djpeg(path):
    jfif = parsed(path).jfif
    assert (jfif.version if jfif else None) == libjpeg(path).jfif_version


# --- the store row (real head/tail read) against libjpeg --------------------------------------


@read_files
def test_row_has_no_error_when_libjpeg_reads_the_header(path):
    r = row(path)
    assert (r["format"], r["error"]) == ("jpeg", None)


@read_files
def test_row_dimensions_match_djpeg(path):
    d, r = libjpeg(path), row(path)
    assert (r["width"], r["height"], r["components"]) == (d.width, d.height, len(d.components))


@read_files
def test_row_sampling_factors_match_djpeg(path):
    assert row(path)["sampling_factors"] == libjpeg(path).sampling_factors


@read_files
def test_row_component_ids_and_table_slots_match_djpeg(path):
    d, r = libjpeg(path), row(path)
    assert (r["component_ids"], r["qtable_ids"]) == (
        ",".join(str(c.id) for c in d.components),
        ",".join(str(c.tq) for c in d.components),
    )


@read_files
def test_row_qtables_match_djpeg(path):
    d, r = libjpeg(path), row(path)
    assert (r["qtables"], r["qtable_bits"]) == _expected_row_tables(d)


@read_files
def test_row_process_matches_djpeg_sof(path):
    d, r = libjpeg(path), row(path)
    assert (r["sof"], r["process"], r["progressive"], r["arithmetic"]) == (
        d.sof,
        PROCESS_BY_SOF[d.sof],
        d.sof in PROGRESSIVE_SOFS,
        d.sof >= 0xC9,
    )


@read_files
def test_row_precision_matches_djpeg(path):
    assert row(path)["precision"] == libjpeg(path).precision


@read_files
def test_row_restart_interval_matches_djpeg(path):
    assert row(path)["restart_interval"] == libjpeg(path).restart_interval


@read_files
def test_row_adobe_transform_matches_djpeg(path):
    assert row(path)["adobe_transform"] == libjpeg(path).adobe_transform


@pytest.mark.parametrize("path", HEADER_WARNING_FILES, ids=_rel)
def test_row_warns_about_junk_before_a_header_marker_like_libjpeg(path):
    """libjpeg's `Corrupt JPEG data: N extraneous bytes before marker 0xXX` before the first SOS
    (djpeg prints only the first warning, so this checks that one)."""
    warning = next(w for w in libjpeg(path).header_warnings if "extraneous bytes" in w)
    expected = warning.split(": ", 1)[1]
    assert expected in (row(path)["warnings"] or "")


@pytest.mark.parametrize("path", PREMATURE_EOF_FILES, ids=_rel)
def test_row_truncated_where_libjpeg_hits_premature_end_of_file(path):
    assert row(path)["truncated"] is True


@pytest.mark.parametrize("path", CLEAN_FILES, ids=_rel)
def test_row_not_truncated_where_libjpeg_decodes_cleanly(path):
    assert row(path)["truncated"] is False


@pytest.mark.parametrize("path", REFUSED_FILES, ids=_rel)
def test_row_reports_files_libjpeg_refuses(path):
    r = row(path)
    assert r["error"] is not None or r["format"] != "jpeg"


# --- second opinions: Pillow, ImageMagick identify, exiftool ----------------------------------


def _pillow(path: Path):
    info = pillow_info(path)
    assert info is not None, "Pillow cannot open a file libjpeg reads"
    return info


@eight_bit_files
@pytest.mark.needs_tools("pillow")
def test_row_size_matches_pillow(path):
    r = row(path)
    assert (r["width"], r["height"]) == _pillow(path).size


@eight_bit_files
@pytest.mark.needs_tools("pillow")
def test_parser_components_match_pillow_layer(path):
    ours = tuple((c.id, c.h, c.v, c.tq) for c in parsed(path).frame.components)
    assert ours == _pillow(path).layer


@eight_bit_files
@pytest.mark.needs_tools("pillow")
def test_parser_quant_tables_match_pillow(path):
    ours = {slot: t.values for slot, t in parsed(path).qtables.items()}
    assert ours == _pillow(path).quantization


@eight_bit_files
@pytest.mark.needs_tools("pillow")
def test_row_color_agrees_with_pillow_mode(path):
    assert PILLOW_MODE_BY_COLOR.get(row(path)["color"]) == _pillow(path).mode


@eight_bit_files
@pytest.mark.needs_tools("pillow")
def test_row_progressive_matches_pillow(path):
    assert row(path)["progressive"] == _pillow(path).progressive


@eight_bit_files
@pytest.mark.needs_tools("pillow")
def test_row_adobe_transform_matches_pillow(path):
    assert row(path)["adobe_transform"] == _pillow(path).adobe_transform


@read_files
@pytest.mark.needs_tools("pillow", "exiftool")
def test_row_orientation_matches_exif_oracles(path, exiftool_corpus):
    """EXIF orientation (APP1 Exif IFD0, not XMP) as Pillow and exiftool read it. Where the two
    oracles disagree with each other (a broken IFD one of them rejects), either answer passes."""
    info = pillow_info(path)
    answers = set()
    if info is not None:
        answers.add(_orientation(info.exif_orientation))
    ex = exiftool_corpus.get(str(path))
    if ex is not None:
        answers.add(_orientation(ex.orientation))
    assert answers, "neither Pillow nor exiftool read the file"
    ours = row(path)["orientation"]
    if len(answers) == 1:
        assert ours == answers.pop()
    else:
        assert ours in answers


@eight_bit_files
@pytest.mark.needs_tools("identify")
def test_row_size_and_sampling_match_identify(path):
    info = identify_info(path)
    assert info is not None, "identify cannot read a file libjpeg reads"
    r = row(path)
    assert (r["width"], r["height"], r["sampling_factors"]) == (
        info.width,
        info.height,
        info.sampling_factor,
    )


@read_files
@pytest.mark.needs_tools("exiftool")
def test_row_size_process_and_precision_match_exiftool(path, exiftool_corpus):
    ex = exiftool_corpus.get(str(path))
    assert ex is not None
    r = row(path)
    assert (r["width"], r["height"], r["components"], r["sof"] - 0xC0, r["precision"]) == (
        ex.width,
        ex.height,
        ex.color_components,
        ex.encoding_process,
        ex.bits_per_sample,
    )
