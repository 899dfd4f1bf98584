"""One entry in, one store row out. Sources hand in a `read_at(offset, length)` callable; this
module decides which bytes to read (the head, grown only while a header needs it, and a few bytes
of the tail) and turns the parse into the store's columns. It does no I/O of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jpegaudit import __version__
from jpegaudit.jpeg import NeedMoreData, parse_jpeg
from jpegaudit.jpeg import describe as d
from jpegaudit.jpeg.header import JpegHeader
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
    if len(head) < min(size, SNIFF_BYTES):
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

    _fill_header_columns(row, header)
    if header.truncated:
        row["truncated"] = True
    elif header.sos_offset is not None and header.error is None:
        tail_read, eoi_end = _find_eoi(read_at, size, head, header.sos_offset, limits)
        read_bytes += tail_read
        row["truncated"] = eoi_end is None
        row["trailing_bytes"] = None if eoi_end is None else size - eoi_end
    else:
        row["truncated"] = False
    row["read_bytes"] = read_bytes
    return row


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
        row["huffman_standard"] = all(
            bytes(t.counts) + bytes(t.values) in STANDARD_HUFFMAN for t in h.huffman_tables
        )
    row["app_markers"] = ",".join(
        f"APP{s.marker - 0xE0}:{s.ident}" if s.ident else f"APP{s.marker - 0xE0}"
        for s in h.app_segments
    )
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
    if frame is None:
        row["encoder"] = "unknown"
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
    slots: list[int] = []
    for c in frame.components:
        if c.tq not in slots:
            slots.append(c.tq)
    if any(s not in h.qtables for s in slots):
        missing = [s for s in slots if s not in h.qtables]
        if row["error"] is None:
            row["error"] = f"quantization table {missing[0]} used but never defined"
        return
    tables = [h.qtables[s] for s in slots]
    estimate = estimate_quality(tables[0].values, [t.values for t in tables[1:]])
    text = format_tables([t.values for t in tables])
    row["qtables"] = text
    row["qtables_hash"] = fingerprint(text)
    row["qtable_bits"] = max(t.bits for t in tables)
    row["quality_luma"] = estimate.quality_luma
    row["quality_chroma"] = estimate.quality_chroma
    row["quality_chroma_range"] = estimate.quality_chroma_range
    row["quality_exact"] = estimate.exact
    row["quality_fit_error"] = estimate.fit_error
    row["quality_closeness"] = estimate.closeness
    row["encoder"] = _encoder_family(row, h, exact=estimate.exact)


def _encoder_family(row: dict, h: JpegHeader, exact: bool | None) -> str:
    if exact:
        return "ijg-16bit" if row["qtable_bits"] == 16 else "ijg"
    if h.photoshop and h.adobe is not None:
        return "photoshop"
    if h.exif is not None and h.exif.make:
        return "camera"
    return "unknown"


def new_row(path: str, split: str, root: str, scanned_at) -> dict:
    """A row with the identity columns set and every other column null."""
    row = empty_row()
    row["path"] = path
    row["split"] = split
    row["root"] = root
    row["ext"] = extension_of(path)
    row["ext_mismatch"] = False
    row["scanned_at"] = scanned_at
    row["scanner_version"] = __version__
    return row
