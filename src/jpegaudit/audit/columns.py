"""A parsed header as the store's columns. Pure: the header in, columns set on a row dict."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from jpegaudit._version import __version__
from jpegaudit.jpeg import describe as d
from jpegaudit.jpeg.header import HuffmanTable, JpegHeader, QuantTable
from jpegaudit.jpeg.markers import LOSSLESS_SOF_MARKERS, STANDARD_HUFFMAN
from jpegaudit.provenance import NO_FRAME, Structure, TableEvidence, identify
from jpegaudit.quality import estimate_quality, fingerprint, format_tables
from jpegaudit.schema import empty_row
from jpegaudit.sniff import extension_of

_NEW_ROW = {**empty_row(), "ext_mismatch": False, "scanner_version": __version__}
_NEW_ROW["backend"] = "header"


def new_row(path: str, split: str, root: str, scanned_at) -> dict:
    """A row with the identity columns set and every other column null."""
    row = _NEW_ROW.copy()  # one per file: copying a template is the cheap way to build it
    row["path"] = path
    row["split"] = split
    row["root"] = root
    row["ext"] = extension_of(path)
    row["scanned_at"] = scanned_at
    return row


class Origin(NamedTuple):
    """What every row of one unit of work shares: its split, the root argument it was reached
    from, and when it was scanned."""

    split: str
    root: str
    scanned_at: datetime | None

    def new_row(self, path: str) -> dict:
        return new_row(path, self.split, self.root, self.scanned_at)


# Internal-error texts are cut to this length: a repr of odd input must not bloat the store.
INTERNAL_ERROR_MAX_CHARS = 300


def internal_error(exc: BaseException) -> str:
    """The `error` text of a row whose audit failed on a bug rather than on the file."""
    return f"internal error: {type(exc).__name__}: {exc}"[:INTERNAL_ERROR_MAX_CHARS]


# `huffman_tables` is an int16 column. libjpeg accepts any number of (re)definitions, so a
# hostile header can hold tens of thousands (an empty table is 17 bytes): the count is clamped
# with a warning instead of failing the part's conversion (found by scripts/fuzz_parser.py).
HUFFMAN_TABLES_MAX = 32767


def internal_error_row(path: str, origin: Origin, exc: BaseException, **columns) -> dict:
    """The row an entry gets when a bug stopped its audit: a parser bug must cost one row's
    detail, never the scan. `columns`: what is known without the audit (entry_type, bytes)."""
    row = origin.new_row(path)
    row["entry_type"] = "file"
    row.update(columns)
    row["error"] = internal_error(exc)
    return row


@lru_cache(maxsize=1024)
def is_standard_huffman(table: HuffmanTable) -> bool:
    return bytes(table.counts) + bytes(table.values) in STANDARD_HUFFMAN


def fill_header_columns(row: dict, h: JpegHeader) -> Structure | None:
    """Set every column a header determines (the integrity columns aside). Returns the
    provenance structure (what the header says of its writer, EXIF aside) for the cache."""
    row["error"] = h.error
    warnings = list(h.warnings)
    if h.exif is not None:
        warnings.extend(h.exif.warnings)
    if len(h.huffman_tables) > HUFFMAN_TABLES_MAX:
        warnings.append(f"{len(h.huffman_tables)} Huffman tables (stored as {HUFFMAN_TABLES_MAX})")
    row["warnings"] = "; ".join(warnings) or None
    row["restart_interval"] = h.restart_interval
    row["header_bytes"] = h.sos_offset
    row["huffman_tables"] = min(len(h.huffman_tables), HUFFMAN_TABLES_MAX)
    if h.huffman_tables:
        row["huffman_standard"] = all(is_standard_huffman(t) for t in h.huffman_tables)
    app_markers = ",".join(
        f"APP{s.marker - 0xE0}:{s.ident}" if s.ident else f"APP{s.marker - 0xE0}"
        for s in h.app_segments
    )
    if h.app_segment_count > len(h.app_segments):
        app_markers += f",... ({h.app_segment_count - len(h.app_segments)} more)"
    row["app_markers"] = app_markers
    row["jfif"] = h.jfif is not None
    if h.jfif is not None:
        row["jfif_version"] = h.jfif.version
        row["density_unit"] = h.jfif.density_unit
        row["x_density"] = h.jfif.x_density
        row["y_density"] = h.jfif.y_density
    if h.adobe is not None:
        row["adobe_transform"] = h.adobe.transform
    row["exif"] = h.exif is not None
    if h.exif is not None:
        row["orientation"] = h.exif.orientation
        row["exif_make"] = h.exif.make
        row["exif_model"] = h.exif.model
        row["exif_software"] = h.exif.software
    row["xmp"] = h.xmp
    row["icc"] = bool(h.icc_chunks)
    if h.icc_chunks:
        row["icc_bytes"] = sum(c.size for c in h.icc_chunks)
        row["icc_colorspace"] = next((c.colorspace for c in h.icc_chunks if c.seq == 1), None)
    row["mpf"] = h.mpf
    row["photoshop"] = h.photoshop
    row["comment"] = h.comment
    frame = h.frame
    if frame is None or not frame.components:
        row.update(NO_FRAME.columns())
        if frame is not None:
            row["width"], row["height"], row["components"] = frame.width, frame.height, 0
        return None
    row["width"] = frame.width
    row["height"] = frame.height
    row["components"] = len(frame.components)
    row["component_ids"] = ",".join(str(c.id) for c in frame.components)
    row["color"] = d.color_model(h)
    row["sampling_factors"] = d.sampling_factors(frame)
    row["subsampling"], row["chroma_factors_differ"] = d.subsampling(frame)
    row["process"] = d.process(frame)
    row["sof"] = frame.sof
    row["progressive"] = d.is_progressive(frame)
    row["arithmetic"] = d.is_arithmetic(frame)
    row["precision"] = frame.precision
    row["qtable_ids"] = ",".join(str(c.tq) for c in frame.components)
    _fill_quality_columns(row, h)
    structure, verdict = identify(
        h, table_evidence(row), row["subsampling"], row["huffman_standard"]
    )
    row.update(verdict.columns())
    return structure


def table_evidence(row: dict) -> TableEvidence:
    """What the quality columns say of the tables, as provenance takes it."""
    return TableEvidence(
        tables_hash=row["qtables_hash"],
        exact=row["quality_exact"],
        quality_luma=row["quality_luma"],
        quality_chroma=row["quality_chroma"],
        bits=row["qtable_bits"],
    )


def _fill_quality_columns(row: dict, h: JpegHeader) -> None:
    frame = h.frame
    assert frame is not None
    if frame.sof in LOSSLESS_SOF_MARKERS:
        return  # lossless processes have no quantization
    missing = sorted({c.tq for c in frame.components if c.tq not in h.qtables})
    if missing:
        if row["error"] is None:
            row["error"] = f"quantization table {missing[0]} used but never defined"
        return
    # The luma table, then the distinct chroma tables: a component sharing the luma slot adds
    # nothing, and Cb and Cr with equal tables in two slots are one table. A chroma slot equal
    # in value to luma still counts (IJG q 100 and q 1 tables are all 1s or all 255s in both).
    luma_slot = frame.components[0].tq
    tables: list[QuantTable] = [h.qtables[luma_slot]]
    for c in frame.components[1:]:
        table = h.qtables[c.tq]
        if c.tq != luma_slot and all(t.values != table.values for t in tables[1:]):
            tables.append(table)
    row.update(_frame_quality_columns(tuple(tables)))


@lru_cache(maxsize=4096)
def _frame_quality_columns(tables: tuple[QuantTable, ...]) -> dict:
    """Quality columns for the distinct tables a frame uses, in component order (memoised:
    a dataset has few distinct table sets)."""
    columns = quality_columns([t.values for t in tables])
    columns["qtable_bits"] = max(t.bits for t in tables)
    return columns


def quality_columns(tables: Sequence[tuple[int, ...]]) -> dict:
    """`qtables`, `qtables_hash` and the `quality_*` columns for a frame's distinct tables
    (luma first, then the distinct chroma tables), whoever read them."""
    estimate = estimate_quality(tables[0], list(tables[1:]))
    text = format_tables(tables)
    return {
        "qtables": text,
        "qtables_hash": fingerprint(text),
        "quality_luma": estimate.quality_luma,
        "quality_chroma": estimate.quality_chroma,
        "quality_chroma_range": estimate.quality_chroma_range,
        "quality_exact": estimate.exact,
        "quality_fit_error": estimate.fit_error,
        "quality_closeness": estimate.closeness,
    }


def clear_quality_cache() -> None:
    """Forget the memoised quality columns (benchmarks that need a cold start)."""
    _frame_quality_columns.cache_clear()
