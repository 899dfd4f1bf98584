"""One entry in, one store row out. Sources hand in a `read_at(offset, length)` callable; this
module decides which bytes to read (the head, grown only while a header needs it, and a few bytes
of the tail) and turns the parse into the store's columns. It does no I/O of its own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from jpegaudit import __version__
from jpegaudit.jpeg import NeedMoreData, parse_jpeg
from jpegaudit.jpeg import describe as d
from jpegaudit.jpeg.exif import parse_exif
from jpegaudit.jpeg.header import HuffmanTable, JpegHeader, QuantTable
from jpegaudit.jpeg.markers import STANDARD_HUFFMAN
from jpegaudit.quality import estimate_quality, fingerprint, format_tables
from jpegaudit.schema import empty_row
from jpegaudit.sniff import SNIFF_BYTES, extension_of, is_ext_mismatch, sniff_format

ReadAt = Callable[[int, int], bytes]


@dataclass(frozen=True)
class ReadLimits:
    head_bytes: int = 16384  # first read; holds the whole header of most files
    max_header_bytes: int = 16 * 1024 * 1024  # a header that needs more is reported, not read
    tail_bytes: int = 64  # first tail read; EOI is normally the last two bytes
    max_tail_bytes: int = 1024 * 1024  # how far back to look for EOI before calling it missing
    # False skips the tail read of files longer than the head: one ranged request per object
    # store object instead of two, at the price of `truncated`/`trailing_bytes` being unknown.
    read_tail: bool = True


DEFAULT_LIMITS = ReadLimits()


def audit_bytes(
    read_at: ReadAt,
    size: int,
    row: dict,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> dict:
    """Fill `row` (which already has the identity columns) from the entry's content."""
    head = read_at(0, min(size, limits.head_bytes)) if size else b""
    read_bytes = len(head)
    if len(head) < min(size, limits.head_bytes):
        # The file shrank between stat and read: judge what is there, and say so.
        size = len(head)
        row["bytes"] = size
    fmt = sniff_format(head[:SNIFF_BYTES])
    row["format"] = fmt
    row["ext_mismatch"] = is_ext_mismatch(row["ext"], fmt)
    if fmt != "jpeg":
        row["read_bytes"] = read_bytes
        row["error"] = "empty file" if fmt == "empty" else f"not a JPEG: {fmt}"
        return row

    sos_candidate = head.find(b"\xff\xda", 2)
    whole_key = _whole_header_key(head, sos_candidate)
    columns = _WHOLE_HEADER_CACHE.get(whole_key) if whole_key is not None else None
    if columns is not None:
        row.update(columns)
        row["read_bytes"] = read_bytes + _check_tail(
            read_at, size, head, sos_candidate, row, limits
        )
        return row

    shape = _header_shape(head)
    cached = _HEADER_CACHE.get(shape.key) if shape is not None else None
    if cached is not None:
        assert shape is not None
        _apply_cached(row, shape, cached)
        row["read_bytes"] = read_bytes + _check_tail(
            read_at, size, head, shape.sos_offset, row, limits
        )
        return row
    while True:
        try:
            header = parse_jpeg(head, size)
            break
        except NeedMoreData as more:
            if more.upto > limits.max_header_bytes:
                header = None
                break
            want = min(size, max(more.upto, 2 * len(head)), limits.max_header_bytes)
            extra = read_at(len(head), want - len(head))
            read_bytes += len(extra)
            if not extra:  # the file shrank while we read it
                size = len(head)
                row["bytes"] = size
            head += extra
    if header is None:
        row["read_bytes"] = read_bytes
        row["error"] = f"header larger than the {limits.max_header_bytes}-byte read cap"
        return row

    before = dict(row)
    _fill_header_columns(row, header)
    if shape is not None:
        _remember_header(
            shape, whole_key if sos_candidate == shape.sos_offset else None, header, before, row
        )
    if header.truncated:
        row["truncated"] = row["tail_checked"] = True
    elif header.sos_offset is not None and header.error is None:
        read_bytes += _check_tail(read_at, size, head, header.sos_offset, row, limits)
    else:
        row["truncated"] = False
    row["read_bytes"] = read_bytes
    return row


# Files from one encoder at one setting and size have byte-identical headers; ImageNet-like
# datasets repeat a few thousand headers over millions of files. Keyed on the exact bytes from
# SOI to the end of the SOS segment, so a hit is the same parse by construction.
_HEADER_CACHE: dict[bytes, _CachedHeader] = {}
_HEADER_CACHE_MAX = 4096
_HEADER_CACHE_MAX_BYTES = 4096  # keys longer than this (ICC profiles) are rarely repeated


# The fast path in front of that cache, for headers without EXIF (most files): keyed on the
# bytes up to the end of the segment that starts at the first FFDA in the file, found by one
# `bytes.find` instead of hopping segment by segment. A header is stored only when that FFDA
# is its real SOS; a later file whose bytes equal a stored key therefore parses the same up to
# the same SOS, whatever its first FFDA was, so a hit is the same parse by construction. The
# value holds every header column, the per-file ones included (without EXIF none vary).
_WHOLE_HEADER_CACHE: dict[bytes, dict] = {}


def clear_header_caches() -> None:
    """Forget every cached header (tests and benchmarks that need a cold start)."""
    _HEADER_CACHE.clear()
    _WHOLE_HEADER_CACHE.clear()


def _whole_header_key(head: bytes, sos: int) -> bytes | None:
    if sos < 0 or sos + 4 > len(head):
        return None
    end = sos + 2 + ((head[sos + 2] << 8) | head[sos + 3])
    if end > len(head) or end > _HEADER_CACHE_MAX_BYTES:
        return None
    return head[:end]


# Markers followed by a length field that a plain header is made of (SOFn, DHT, DAC, DQT, DNL,
# DRI, DHP, EXP, APPn, COM).
_SEGMENT_CODES = (
    frozenset(range(0xC0, 0xD0))
    | {0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFE}
    | frozenset(range(0xE0, 0xF0))
)


@dataclass(frozen=True)
class _HeaderShape:
    """A plain header found by hopping segment lengths. `key` is the header's bytes with the
    first Exif APP1 segment left out (its position kept), so that files which differ only in
    their EXIF (a per-shot DateTime, an orientation) share one cache entry; the EXIF segment
    is parsed per file."""

    key: bytes
    sos_offset: int
    exif_tiff: bytes | None  # the first Exif segment's TIFF bytes (after Exif\0\0)


def _header_shape(head: bytes) -> _HeaderShape | None:
    """None if anything is unusual (junk between markers, fill bytes, RSTn, a segment past
    `head`): the full parser handles those, uncached."""
    pos = 2
    limit = len(head)
    exif_at = exif_end = 0
    while pos + 4 <= limit:
        if head[pos] != 0xFF:
            return None
        code = head[pos + 1]
        end = pos + 2 + ((head[pos + 2] << 8) | head[pos + 3])
        if code == 0xDA:
            if end > limit:
                return None
            if exif_end:
                key = b"E%d:" % exif_at + head[:exif_at] + head[exif_end:end]
                exif_tiff: bytes | None = head[exif_at + 10 : exif_end]
            else:
                key, exif_tiff = b"N" + head[:end], None
            if len(key) > _HEADER_CACHE_MAX_BYTES:
                return None
            return _HeaderShape(key, pos, exif_tiff)
        if code not in _SEGMENT_CODES or end > limit:
            return None
        if code == 0xE1 and not exif_end and head[pos + 4 : pos + 9] == b"Exif\x00":
            exif_at, exif_end = pos, end
        pos = end
    return None


# Columns that depend on the EXIF segment or on where the SOS falls: set per file on a hit.
_PER_FILE_HEADER_COLUMNS = frozenset(
    {
        "orientation",
        "exif_make",
        "exif_model",
        "exif_software",
        "warnings",
        "encoder",
        "header_bytes",
    }
)


@dataclass(frozen=True)
class _CachedHeader:
    columns: dict
    header_warnings: tuple[str, ...]  # the parser's own, without the EXIF parser's
    photoshop_adobe: bool


def _remember_header(
    shape: _HeaderShape, whole_key: bytes | None, header: JpegHeader, before: dict, row: dict
) -> None:
    """Cache the columns a clean parse set (those that differ from `before`): under the shape
    key, without the per-file ones; and, for a header without EXIF whose first FFDA is its SOS
    (`whole_key` given), under the whole-header key, with them."""
    if header.error is not None or header.truncated or header.sos_offset != shape.sos_offset:
        return
    columns = {k: v for k, v in row.items() if before.get(k, _MISSING) is not v}
    if len(_HEADER_CACHE) < _HEADER_CACHE_MAX:
        _HEADER_CACHE[shape.key] = _CachedHeader(
            {k: v for k, v in columns.items() if k not in _PER_FILE_HEADER_COLUMNS},
            header.warnings,
            header.photoshop and header.adobe is not None,
        )
    no_exif = shape.exif_tiff is None and header.exif is None
    if whole_key is not None and no_exif and len(_WHOLE_HEADER_CACHE) < _HEADER_CACHE_MAX:
        _WHOLE_HEADER_CACHE[whole_key] = columns


def _apply_cached(row: dict, shape: _HeaderShape, cached: _CachedHeader) -> None:
    row.update(cached.columns)
    row["header_bytes"] = shape.sos_offset
    warnings = list(cached.header_warnings)
    make = None
    if shape.exif_tiff is not None:
        exif = parse_exif(shape.exif_tiff)
        row["orientation"] = exif.orientation
        row["exif_make"] = make = exif.make
        row["exif_model"] = exif.model
        row["exif_software"] = exif.software
        warnings.extend(exif.warnings)
    row["warnings"] = "; ".join(warnings) or None
    if "process" in cached.columns:  # a frame was read
        row["encoder"] = _encoder(
            row.get("quality_exact"), row.get("qtable_bits"), cached.photoshop_adobe, make
        )
    else:
        row["encoder"] = "unknown"


_MISSING = object()


@lru_cache(maxsize=1024)
def _is_standard(table: HuffmanTable) -> bool:
    return bytes(table.counts) + bytes(table.values) in STANDARD_HUFFMAN


def _check_tail(
    read_at: ReadAt, size: int, head: bytes, sos_offset: int, row: dict, limits: ReadLimits
) -> int:
    """Set `truncated`, `trailing_bytes` and `tail_checked` from the file's end; return the
    bytes read for it. A file held whole in the head is always checked (it costs nothing)."""
    if not limits.read_tail and size > len(head):
        row["tail_checked"] = False
        return 0
    tail_read, eoi_end = _find_eoi(read_at, size, head, sos_offset, limits)
    row["truncated"] = eoi_end is None
    row["trailing_bytes"] = None if eoi_end is None else size - eoi_end
    row["tail_checked"] = True
    return tail_read


def _find_eoi(
    read_at: ReadAt, size: int, head: bytes, sos_offset: int, limits: ReadLimits
) -> tuple[int, int | None]:
    """Return (bytes read, end offset of the last EOI after the first SOS or None). Within
    entropy-coded data 0xFF is always followed by 0x00 or RSTn, so FFD9 there is the EOI."""
    window = limits.tail_bytes
    read = 0
    while True:
        start = max(size - window, sos_offset + 2)
        if size <= len(head):
            tail = head[start:size]
        else:
            tail = read_at(start, size - start)
            read += len(tail)
        found = tail.rfind(b"\xff\xd9")
        if found >= 0:
            return read, start + found + 2
        if start <= sos_offset + 2 or window >= limits.max_tail_bytes:
            return read, None
        window = min(window * 16, limits.max_tail_bytes)


def _fill_header_columns(row: dict, h: JpegHeader) -> None:
    row["error"] = h.error
    warnings = list(h.warnings)
    if h.exif is not None:
        warnings.extend(h.exif.warnings)
    row["warnings"] = "; ".join(warnings) or None
    row["restart_interval"] = h.restart_interval
    row["header_bytes"] = h.sos_offset
    row["huffman_tables"] = len(h.huffman_tables)
    if h.huffman_tables:
        row["huffman_standard"] = all(_is_standard(t) for t in h.huffman_tables)
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
        row["encoder"] = "unknown"
        if frame is not None:
            row["width"], row["height"], row["components"] = frame.width, frame.height, 0
        return
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


def _fill_quality_columns(row: dict, h: JpegHeader) -> None:
    frame = h.frame
    assert frame is not None
    row["encoder"] = _encoder_family(row, h, exact=None)
    if frame.sof in (0xC3, 0xC7, 0xCB, 0xCF, 0xF7):
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
    row.update(_quality_columns(tuple(tables)))
    row["encoder"] = _encoder_family(row, h, exact=row["quality_exact"])


@lru_cache(maxsize=4096)
def _quality_columns(tables: tuple[QuantTable, ...]) -> dict:
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


def _encoder_family(row: dict, h: JpegHeader, exact: bool | None) -> str:
    make = h.exif.make if h.exif is not None else None
    return _encoder(exact, row["qtable_bits"], h.photoshop and h.adobe is not None, make)


def _encoder(exact: bool | None, qtable_bits: int | None, photoshop: bool, make: str | None) -> str:
    if exact:
        return "ijg-16bit" if qtable_bits == 16 else "ijg"
    if photoshop:
        return "photoshop"
    if make:
        return "camera"
    return "unknown"


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
