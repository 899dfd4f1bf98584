"""The read strategy: which bytes of an entry to read (the head, grown only while a header
needs it, and a few bytes of the tail), and the row they give. Sources hand in a
`read_at(offset, length)` callable; this module does no I/O of its own."""

from __future__ import annotations

from jpegaudit.audit.cache import (
    DEFAULT_CACHE,
    HeaderCache,
    apply_cached,
    header_shape,
    whole_header_key,
)
from jpegaudit.audit.columns import fill_header_columns
from jpegaudit.audit.limits import DEFAULT_LIMITS, HEAD_GROWTH_HEADS, ReadAt, ReadLimits
from jpegaudit.jpeg import NeedMoreData, parse_jpeg
from jpegaudit.sniff import SNIFF_BYTES, is_ext_mismatch, sniff_format


def audit_bytes(
    read_at: ReadAt,
    size: int,
    row: dict,
    limits: ReadLimits = DEFAULT_LIMITS,
    cache: HeaderCache = DEFAULT_CACHE,
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
    whole_key = whole_header_key(head, sos_candidate)
    columns = cache.whole_columns(whole_key)
    if columns is not None:
        row.update(columns)
        row["read_bytes"] = read_bytes + _check_tail(
            read_at, size, head, sos_candidate, row, limits
        )
        return row

    shape = header_shape(head)
    cached = cache.shape_columns(shape)
    if cached is not None:
        assert shape is not None
        apply_cached(row, shape, cached)
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
            grown = max(more.upto, 2 * len(head), HEAD_GROWTH_HEADS * limits.head_bytes)
            want = min(size, grown, limits.max_header_bytes)
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
    provenance = fill_header_columns(row, header)
    if shape is not None:
        whole = whole_key if sos_candidate == shape.sos_offset else None
        cache.remember(shape, whole, header, before, row, provenance)
    if header.truncated:
        row["truncated"] = row["tail_checked"] = True
    elif header.sos_offset is not None and header.error is None:
        read_bytes += _check_tail(read_at, size, head, header.sos_offset, row, limits)
    else:
        row["truncated"] = False
    row["read_bytes"] = read_bytes
    return row


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
