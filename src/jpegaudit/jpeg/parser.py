"""The header walker: bytes in, `JpegHeader` out, no I/O.

It reads markers from SOI to the first SOS, following libjpeg's rules (jdmarker.c) so that what it
accepts, warns about and refuses matches the decoder people train with. It never trusts a length:
every slice is bounds-checked. When a segment it must read runs past the bytes it was given, and
the caller said the file is longer, it raises `NeedMoreData` so that the caller can read further
(up to a cap of its choosing) and call again; segments whose content does not matter are skipped
by their length without being read.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from jpegaudit.jpeg import markers as m
from jpegaudit.jpeg.exif import parse_exif
from jpegaudit.jpeg.header import (
    Adobe,
    AppSegment,
    Component,
    Exif,
    Frame,
    HuffmanTable,
    IccChunk,
    Jfif,
    JpegHeader,
    QuantTable,
    ScanHeader,
)

COMMENT_MAX_CHARS = 200
MAX_SEGMENTS = 262_144  # markers before SOS; a header is a few dozen, a hostile one millions
MAX_RECORDED_APP_SEGMENTS = 64
MAX_RECORDED_MARKERS = 64  # marker_order, dqt_segments and dht_segments keep this many
MAX_DISTINCT_WARNINGS = 20
# Bytes of an APPn segment we read to name it and parse the small ones (JFIF, Adobe, ICC header).
APP_PEEK_BYTES = 160


class NeedMoreData(Exception):
    """The parser needs the file's first `upto` bytes (it was given fewer, and the file is longer)."""

    def __init__(self, upto: int) -> None:
        super().__init__(upto)
        self.upto = upto


class _Stop(Exception):
    """Parsing cannot go on; `message` becomes the header's error."""

    def __init__(self, message: str, truncated: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.truncated = truncated


@dataclass
class _State:
    """Mutable accumulator, frozen into a JpegHeader at the end."""

    frame: Frame | None = None
    qtables: dict[int, QuantTable] = field(default_factory=dict)
    dqt_definitions: list[QuantTable] = field(default_factory=list)
    huffman_tables: list[HuffmanTable] = field(default_factory=list)
    restart_interval: int = 0
    jfif: Jfif | None = None
    adobe: Adobe | None = None
    exif: Exif | None = None
    xmp: bool = False
    icc_chunks: list[IccChunk] = field(default_factory=list)
    mpf: bool = False
    photoshop: bool = False
    comment: str | None = None
    app_segments: list[AppSegment] = field(default_factory=list)
    app_segment_count: int = 0
    sos_offset: int | None = None
    sos_components: tuple[int, ...] = ()
    marker_order: list[int] = field(default_factory=list)  # every marker (MAX_SEGMENTS bounds it)
    dqt_segments: list[tuple[int, ...]] = field(default_factory=list)
    dht_segments: list[tuple[int, ...]] = field(default_factory=list)
    first_scan: ScanHeader | None = None
    photoshop_quality: int | None = None
    ducky_quality: int | None = None
    warning_counts: dict[str, int] = field(default_factory=dict)

    def warn(self, message: str) -> None:
        """Record a warning; repeats are counted, not listed, so the text stays bounded."""
        if message in self.warning_counts or len(self.warning_counts) < MAX_DISTINCT_WARNINGS:
            self.warning_counts[message] = self.warning_counts.get(message, 0) + 1

    def warnings(self) -> tuple[str, ...]:
        return tuple(m if n == 1 else f"{m} (x{n})" for m, n in self.warning_counts.items())

    def freeze(self, error: str | None = None, truncated: bool = False) -> JpegHeader:
        return JpegHeader(
            frame=self.frame,
            qtables=dict(self.qtables),
            dqt_definitions=tuple(self.dqt_definitions),
            huffman_tables=tuple(self.huffman_tables),
            restart_interval=self.restart_interval,
            jfif=self.jfif,
            adobe=self.adobe,
            exif=self.exif,
            xmp=self.xmp,
            icc_chunks=tuple(self.icc_chunks),
            mpf=self.mpf,
            photoshop=self.photoshop,
            comment=self.comment,
            app_segments=tuple(self.app_segments),
            app_segment_count=self.app_segment_count,
            sos_offset=self.sos_offset,
            sos_components=self.sos_components,
            marker_order=tuple(self.marker_order[:MAX_RECORDED_MARKERS]),
            marker_count=len(self.marker_order),
            dqt_segments=tuple(self.dqt_segments),
            dht_segments=tuple(self.dht_segments),
            first_scan=self.first_scan,
            comment_count=self.marker_order.count(m.COM),
            photoshop_quality=self.photoshop_quality,
            ducky_quality=self.ducky_quality,
            error=error,
            warnings=self.warnings(),
            truncated=truncated,
        )


class _Walker:
    def __init__(self, data: bytes, file_size: int | None) -> None:
        self.data = data
        self.complete = file_size is None or file_size <= len(data)
        self.state = _State()

    def need(self, upto: int, what: str) -> None:
        if upto <= len(self.data):
            return
        if not self.complete:
            raise NeedMoreData(upto)
        raise _Stop(f"{what}: runs past end of file at byte {len(self.data)}", truncated=True)

    def u16(self, pos: int) -> int:
        return (self.data[pos] << 8) | self.data[pos + 1]

    def next_marker(self, pos: int) -> tuple[int, int]:
        """Return (marker code, offset of the FF before it). Counts skipped bytes exactly as
        libjpeg's next_marker does: each non-FF byte is one, each FF00 pair is two, and
        duplicate FF fill bytes are free."""
        data = self.data
        discarded = 0
        while True:
            self.need(pos + 1, "marker")
            if data[pos] != 0xFF:
                found = data.find(b"\xff", pos)
                if found < 0:
                    discarded += len(data) - pos
                    pos = len(data)
                    self.need(pos + 1, "marker")
                discarded += found - pos
                pos = found
                continue
            pos += 1
            self.need(pos + 1, "marker")
            while data[pos] == 0xFF:  # fill bytes
                pos += 1
                self.need(pos + 1, "marker")
            code = data[pos]
            if code != 0:
                break
            discarded += 2  # FF00 is stuffing, not a marker
            pos += 1
        if discarded:
            self.state.warn(f"{discarded} extraneous bytes before marker 0x{code:02x}")
        return code, pos - 1

    def segment(self, pos: int, name: str) -> tuple[int, int]:
        """Given the offset just after a marker code, return (payload start, segment end)."""
        self.need(pos + 2, name)
        length = self.u16(pos)
        if length < 2:
            raise _Stop(f"{name}: length {length} is shorter than its own length field")
        return pos + 2, pos + length

    def run(self) -> JpegHeader:
        data = self.data
        try:
            self.need(2, "SOI")
            if data[0] != 0xFF or data[1] != m.SOI:
                raise _Stop(f"not a JPEG: starts with 0x{data[0]:02x} 0x{data[1]:02x}")
            pos = 2
            for _ in range(MAX_SEGMENTS):
                code, at = self.next_marker(pos)
                pos = self.dispatch(code, at, at + 2)
                if pos < 0:
                    return self.state.freeze()
            raise _Stop(f"more than {MAX_SEGMENTS} markers before the first SOS")
        except _Stop as stop:
            return self.state.freeze(stop.message, stop.truncated)

    def dispatch(self, code: int, at: int, pos: int) -> int:
        """Handle one marker whose code ends just before `pos` (its FF is at `at`). Return
        where the next marker may start, or -1 once the first SOS has been read."""
        self.state.marker_order.append(code)  # cut to MAX_RECORDED_MARKERS when frozen
        return MARKER_HANDLERS.get(code, _Walker.unknown_marker)(self, code, at, pos)

    def read_dri(self, code: int, at: int, pos: int) -> int:
        start, end = self.segment(pos, "DRI")
        if end - start != 2:
            raise _Stop(f"DRI: length {end - pos} is not 4")
        self.need(end, "DRI")
        self.state.restart_interval = self.u16(start)
        return end

    def read_com(self, code: int, at: int, pos: int) -> int:
        start, end = self.segment(pos, "COM")
        self.need(min(end, start + COMMENT_MAX_CHARS), "COM")
        if self.state.comment is None:
            raw = self.data[start : min(end, start + COMMENT_MAX_CHARS)]
            self.state.comment = raw.decode("latin-1").rstrip("\x00")
        return end

    def skip_segment(self, code: int, at: int, pos: int) -> int:
        # Arithmetic conditioning, DNL and hierarchical headers: nothing we report reads them.
        return self.segment(pos, m.marker_name(code))[1]

    def stray_marker(self, code: int, at: int, pos: int) -> int:
        self.state.warn(f"{m.marker_name(code)} marker outside entropy-coded data")
        return pos

    def duplicate_soi(self, code: int, at: int, pos: int) -> int:
        raise _Stop("duplicate SOI marker")

    def early_eoi(self, code: int, at: int, pos: int) -> int:
        raise _Stop("EOI before any SOS: the file holds no image")

    def unknown_marker(self, code: int, at: int, pos: int) -> int:
        raise _Stop(f"unknown marker 0x{code:02x} at byte {at}")

    def read_sof(self, code: int, at: int, pos: int) -> int:
        name = m.marker_name(code)
        start, end = self.segment(pos, name)
        self.need(end, name)
        if self.state.frame is not None:
            raise _Stop(f"{name}: a second frame header (duplicate SOF)")
        data = self.data
        if end - start < 6:
            raise _Stop(f"{name}: length {end - pos} too short for a frame header")
        precision = data[start]
        height = self.u16(start + 1)
        width = self.u16(start + 3)
        count = data[start + 5]
        if end - start != 6 + 3 * count:
            raise _Stop(f"{name}: length {end - pos} does not fit {count} components")
        comps = tuple(
            Component(
                id=data[i],
                h=data[i + 1] >> 4,
                v=data[i + 1] & 0x0F,
                tq=data[i + 2],
            )
            for i in range(start + 6, end, 3)
        )
        self.state.frame = Frame(
            sof=code,
            offset=at,
            precision=precision,
            height=height,
            width=width,
            components=comps,
        )
        if code == m.SOF55:
            raise _Stop("JPEG-LS (SOF55) is not an ITU-T T.81 JPEG; libjpeg cannot read it")
        if width == 0 or height == 0 or count == 0:
            raise _Stop(f"{name}: empty image ({width}x{height}, {count} components)")
        for c in comps:
            if not (1 <= c.h <= 4 and 1 <= c.v <= 4):
                raise _Stop(f"{name}: bogus sampling factors {c.h}x{c.v} for component {c.id}")
            if c.tq > 3:
                raise _Stop(f"{name}: component {c.id} uses table {c.tq} (only 0..3 exist)")
        return end

    def read_dqt(self, code: int, at: int, pos: int) -> int:
        start, end = self.segment(pos, "DQT")
        self.need(end, "DQT")
        tables, warnings, error, slots = _decode_dqt(self.data[start:end])
        for table in tables:
            self.state.qtables[table.slot] = table
        self.state.dqt_definitions.extend(tables)
        if len(self.state.dqt_segments) < MAX_RECORDED_MARKERS:
            self.state.dqt_segments.append(slots)
        for warning in warnings:
            self.state.warn(warning)
        if error is not None:
            raise _Stop(error)
        return end

    def read_dht(self, code: int, at: int, pos: int) -> int:
        start, end = self.segment(pos, "DHT")
        self.need(end, "DHT")
        tables, error, slots = _decode_dht(self.data[start:end])
        self.state.huffman_tables.extend(tables)
        if len(self.state.dht_segments) < MAX_RECORDED_MARKERS:
            self.state.dht_segments.append(slots)
        if error is not None:
            raise _Stop(error)
        return end

    def read_app(self, code: int, at: int, pos: int) -> int:
        name = m.marker_name(code)
        start, end = self.segment(pos, name)
        peek_end = min(end, start + APP_PEEK_BYTES)
        self.need(peek_end, name)
        peek = self.data[start:peek_end]
        st = self.state
        st.app_segment_count += 1
        if len(st.app_segments) < MAX_RECORDED_APP_SEGMENTS:
            st.app_segments.append(
                AppSegment(code, offset=at, length=end - pos, ident=_identifier(peek))
            )
        for prefix, read in APP_HANDLERS.get(code, ()):
            if peek.startswith(prefix):
                read(self, peek, start, end)
                break
        return end

    def read_jfif(self, peek: bytes, start: int, end: int) -> None:
        if len(peek) >= 14 and self.state.jfif is None:
            self.state.jfif = Jfif(
                version=f"{peek[5]}.{peek[6]:02d}",
                density_unit=peek[7],
                x_density=(peek[8] << 8) | peek[9],
                y_density=(peek[10] << 8) | peek[11],
            )

    def read_exif(self, peek: bytes, start: int, end: int) -> None:
        if self.state.exif is None:
            self.need(end, "APP1")
            self.state.exif = parse_exif(self.data[start + 6 : end])

    def mark_xmp(self, peek: bytes, start: int, end: int) -> None:
        self.state.xmp = True

    def read_icc(self, peek: bytes, start: int, end: int) -> None:
        if len(peek) < 14:
            return
        header = peek[14:]
        colorspace = None
        if peek[12] == 1 and len(header) >= 20:
            colorspace = header[16:20].decode("latin-1").strip() or None
        self.state.icc_chunks.append(
            IccChunk(seq=peek[12], count=peek[13], size=end - start - 14, colorspace=colorspace)
        )

    def mark_mpf(self, peek: bytes, start: int, end: int) -> None:
        self.state.mpf = True

    def mark_photoshop(self, peek: bytes, start: int, end: int) -> None:
        self.state.photoshop = True
        if self.state.photoshop_quality is None:
            self.need(end, "APP13")
            self.state.photoshop_quality = _photoshop_jpeg_quality(self.data[start + 14 : end])

    def read_ducky(self, peek: bytes, start: int, end: int) -> None:
        # "Ducky" (no terminator), then tagged fields (tag u16, length u16, value) up to a tag
        # 0; tag 1 is the quality.
        pos = 5
        while pos + 4 <= len(peek) and self.state.ducky_quality is None:
            tag, size = (peek[pos] << 8) | peek[pos + 1], (peek[pos + 2] << 8) | peek[pos + 3]
            if tag == 0:
                break
            if tag == 1 and size == 4 and pos + 8 <= len(peek):
                value = int.from_bytes(peek[pos + 4 : pos + 8], "big")
                if value <= 100:
                    self.state.ducky_quality = value
            pos += 4 + size

    def read_adobe(self, peek: bytes, start: int, end: int) -> None:
        # libjpeg examine_app14 needs the whole 12-byte body; a shorter one is ignored.
        if len(peek) >= 12 and self.state.adobe is None:
            self.state.adobe = Adobe(
                version=(peek[5] << 8) | peek[6],
                transform=peek[11],
                flags0=(peek[7] << 8) | peek[8],
                flags1=(peek[9] << 8) | peek[10],
            )

    def read_sos_marker(self, code: int, at: int, pos: int) -> int:
        self.read_sos(at, pos)
        return -1

    def read_sos(self, at: int, pos: int) -> None:
        start, end = self.segment(pos, "SOS")
        self.need(end, "SOS")
        st = self.state
        st.sos_offset = at
        if st.frame is None:
            raise _Stop("SOS before any SOF frame header")
        if end - start < 1:
            raise _Stop("SOS: empty segment")
        count = self.data[start]
        if end - start != 4 + 2 * count or count == 0:
            raise _Stop(f"SOS: length {end - pos} does not fit {count} components")
        st.sos_components = tuple(self.data[start + 1 + 2 * k] for k in range(count))
        tail = start + 1 + 2 * count
        st.first_scan = ScanHeader(
            ss=self.data[tail],
            se=self.data[tail + 1],
            ah=self.data[tail + 2] >> 4,
            al=self.data[tail + 2] & 0x0F,
        )


# Marker code -> handler (the walker's method, called with the code, the offset of its FF and
# the offset just after it); a code not listed is an unknown marker, which stops the read.
MarkerHandler = Callable[[_Walker, int, int, int], int]
MARKER_HANDLERS: dict[int, MarkerHandler] = {
    **dict.fromkeys(m.SOF_MARKERS | {m.SOF55}, _Walker.read_sof),
    m.DQT: _Walker.read_dqt,
    m.DHT: _Walker.read_dht,
    **dict.fromkeys(m.APP_MARKERS, _Walker.read_app),
    m.SOS: _Walker.read_sos_marker,
    m.DRI: _Walker.read_dri,
    m.COM: _Walker.read_com,
    **dict.fromkeys((m.DAC, m.DNL, m.DHP, m.EXP), _Walker.skip_segment),
    **dict.fromkeys(m.RST_MARKERS | {m.TEM}, _Walker.stray_marker),
    m.SOI: _Walker.duplicate_soi,
    m.EOI: _Walker.early_eoi,
}

# APPn segments by marker, then by the bytes their payload starts with: the first prefix that
# matches is read (peek = the payload's first APP_PEEK_BYTES bytes, start/end its bounds).
AppHandler = Callable[[_Walker, bytes, int, int], None]
APP_HANDLERS: dict[int, tuple[tuple[bytes, AppHandler], ...]] = {
    0xE0: ((b"JFIF\x00", _Walker.read_jfif),),
    0xE1: ((b"Exif\x00", _Walker.read_exif), (b"http://ns.adobe.com/x", _Walker.mark_xmp)),
    0xE2: ((b"ICC_PROFILE\x00", _Walker.read_icc), (b"MPF\x00", _Walker.mark_mpf)),
    0xEC: ((b"Ducky", _Walker.read_ducky),),
    0xED: ((b"Photoshop 3.0\x00", _Walker.mark_photoshop),),
    0xEE: ((b"Adobe", _Walker.read_adobe),),
}


# Datasets repeat the same few DQT and DHT segments millions of times: decode each payload once.
@lru_cache(maxsize=1024)
def _decode_dqt(
    payload: bytes,
) -> tuple[tuple[QuantTable, ...], tuple[str, ...], str | None, tuple[int, ...]]:
    """(tables, warnings, error, the tables' slots in order) of one DQT segment's payload,
    following libjpeg's get_dqt."""
    tables: list[QuantTable] = []
    warnings: list[str] = []
    i, end = 0, len(payload)
    while i < end:
        precision = payload[i] >> 4
        slot = payload[i] & 0x0F
        if slot > 3:
            return _dqt_result(tables, warnings, f"DQT: table index {slot} (only 0..3 exist)")
        width = 2 if precision else 1
        i += 1
        count = min(64, (end - i) // width)
        if count < 64:
            # libjpeg-turbo (the oracle we follow) reads 64 entries regardless and then fails
            # with "Bogus marker length"; IJG libjpeg 9 would fill with 1s and go on.
            zigzag = list(_read_entries(payload, i, count, width)) + [1] * (64 - count)
            values = tuple(zigzag[k] for k in _NATURAL_TO_ZIGZAG)
            tables.append(QuantTable(slot=slot, bits=16 if precision else 8, values=values))
            return _dqt_result(
                tables, warnings, f"DQT: table {slot} has only {count} of 64 entries"
            )
        zigzag = list(_read_entries(payload, i, 64, width))
        i += count * width
        values = tuple(zigzag[k] for k in _NATURAL_TO_ZIGZAG)
        if 0 in values:
            warnings.append(f"DQT: table {slot} has a zero entry")
        tables.append(QuantTable(slot=slot, bits=16 if precision else 8, values=values))
    if i != end:
        return _dqt_result(tables, warnings, f"DQT: {end - i} bytes left over after the tables")
    return _dqt_result(tables, warnings, None)


def _dqt_result(tables: list[QuantTable], warnings: list[str], error: str | None):
    return tuple(tables), tuple(warnings), error, tuple(t.slot for t in tables)


def _read_entries(payload: bytes, at: int, count: int, width: int):
    if width == 1:
        return payload[at : at + count]
    return struct.unpack_from(f">{count}H", payload, at)


# _NATURAL_TO_ZIGZAG[n] is the zig-zag position of natural index n (inverse of ZIGZAG).
_NATURAL_TO_ZIGZAG = tuple(sorted(range(64), key=lambda k: m.ZIGZAG[k]))


@lru_cache(maxsize=1024)
def _decode_dht(
    payload: bytes,
) -> tuple[tuple[HuffmanTable, ...], str | None, tuple[int, ...]]:
    """(tables, error, Tc << 4 | Th of each table in order) of one DHT segment's payload."""
    tables: list[HuffmanTable] = []
    i, end = 0, len(payload)
    while i < end:
        if i + 17 > end:
            return _dht_result(tables, "DHT: segment ends inside a table's code counts")
        index = payload[i] & ~0x10  # libjpeg get_dht: AC tables have 0x10 set; 0..3 only
        if index > 3:
            return _dht_result(tables, f"DHT: bogus table index 0x{payload[i]:02x}")
        counts = payload[i + 1 : i + 17]
        total = sum(counts)
        if total > 256 or i + 17 + total > end:
            return _dht_result(tables, f"DHT: bogus table (counts sum to {total})")
        tables.append(
            HuffmanTable(
                table_class=payload[i] >> 4,
                slot=payload[i] & 0x0F,
                counts=tuple(counts),
                values=tuple(payload[i + 17 : i + 17 + total]),
            )
        )
        i += 17 + total
    return _dht_result(tables, None)


def _dht_result(tables: list[HuffmanTable], error: str | None):
    return tuple(tables), error, tuple(t.table_class << 4 | t.slot for t in tables)


MAX_IMAGE_RESOURCES = 1024


def _photoshop_jpeg_quality(irb: bytes) -> int | None:
    """Photoshop's "Save As" quality (0..12) from image resource 0x0406 of an APP13 payload
    (after `Photoshop 3.0\0`): 8BIM, id, a Pascal name padded to even length, a size, data
    padded to even length; the resource's first int16 is the level minus 4."""
    pos = 0
    for _ in range(MAX_IMAGE_RESOURCES):
        if pos + 8 > len(irb) or irb[pos : pos + 4] != b"8BIM":
            return None
        ident = (irb[pos + 4] << 8) | irb[pos + 5]
        name_len = irb[pos + 6]
        pos += 6 + ((name_len + 2) & ~1)
        if pos + 4 > len(irb):
            return None
        size = int.from_bytes(irb[pos : pos + 4], "big")
        pos += 4
        if ident == 0x0406:
            if size < 2 or pos + 2 > len(irb):
                return None
            level = int.from_bytes(irb[pos : pos + 2], "big", signed=True) + 4
            return level if 0 <= level <= 12 else None
        pos += size + (size & 1)
    return None


def _identifier(peek: bytes) -> str:
    """The printable ASCII run an APPn segment starts with ("JFIF", "Exif", "ICC_PROFILE")."""
    n = 0
    limit = min(len(peek), 40)
    while n < limit and 0x20 <= peek[n] < 0x7F:
        n += 1
    return peek[:n].decode("ascii")


def parse_jpeg(data: bytes, file_size: int | None = None) -> JpegHeader:
    """Parse the header of a JPEG whose first bytes are `data`.

    `file_size` is the whole file's size; when it is larger than `len(data)` and the header needs
    bytes beyond `data`, `NeedMoreData` is raised with how many leading bytes are needed. When
    `file_size` is None, `data` is taken to be the whole file. Problems in the file never raise:
    they set `error` (parsing stopped) or `warnings` (parsing went on) on the result.
    """
    return _Walker(bytes(data), file_size).run()
