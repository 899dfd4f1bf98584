"""What a JPEG header says, as frozen dataclasses. Filled by `jpeg.parser`; no behaviour here."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


@dataclass(frozen=True)
class Component:
    id: int
    h: int  # horizontal sampling factor, 1..4
    v: int  # vertical sampling factor, 1..4
    tq: int  # quantization table slot, 0..3


@dataclass(frozen=True)
class Frame:
    sof: int  # marker code, 0xC0..0xCF (or 0xF7 for JPEG-LS)
    offset: int  # file offset of the SOF marker
    precision: int
    height: int
    width: int
    components: tuple[Component, ...]


@dataclass(frozen=True)
class QuantTable:
    slot: int
    bits: int  # 8 or 16 (DQT Pq 0 or 1)
    values: tuple[int, ...]  # 64 entries in natural (row-major) order


@dataclass(frozen=True)
class HuffmanTable:
    table_class: int  # 0 DC, 1 AC
    slot: int
    counts: tuple[int, ...]  # 16 code-length counts
    values: tuple[int, ...]


@dataclass(frozen=True)
class Jfif:
    version: str
    density_unit: int
    x_density: int
    y_density: int


@dataclass(frozen=True)
class Adobe:
    version: int
    transform: int
    flags0: int = 0  # APP14 flags words: writers differ (Photoshop sets 0x8000 in flags0)
    flags1: int = 0


@dataclass(frozen=True)
class Exif:
    byte_order: str  # "II" or "MM"
    orientation: int | None
    make: str | None
    model: str | None
    software: str | None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class IccChunk:
    seq: int
    count: int
    size: int  # payload bytes in this chunk
    colorspace: str | None  # from the profile header, first chunk only


@dataclass(frozen=True)
class AppSegment:
    marker: int  # 0xE0..0xEF
    offset: int
    length: int  # segment length field (includes its own 2 bytes)
    ident: str  # leading identifier string ("JFIF", "Exif", "ICC_PROFILE", ...) or ""


class ScanHeader(NamedTuple):
    """The first SOS's spectral selection and successive approximation: the first line of a
    progressive scan script (the only one before the entropy-coded data). A NamedTuple: one is
    made per parse, and a frozen dataclass costs several times more to build."""

    ss: int
    se: int
    ah: int
    al: int


@dataclass(frozen=True)
class JpegHeader:
    """Everything before the first SOS (plus the SOS itself). `error` is set when parsing had to
    stop early; the fields then hold what was read up to that point."""

    frame: Frame | None = None
    qtables: dict[int, QuantTable] = field(default_factory=dict)  # state at the first SOS
    dqt_definitions: tuple[QuantTable, ...] = ()  # every DQT table, in file order
    huffman_tables: tuple[HuffmanTable, ...] = ()
    restart_interval: int = 0
    jfif: Jfif | None = None
    adobe: Adobe | None = None
    exif: Exif | None = None
    xmp: bool = False
    icc_chunks: tuple[IccChunk, ...] = ()
    mpf: bool = False
    photoshop: bool = False
    comment: str | None = None
    app_segments: tuple[AppSegment, ...] = ()  # the first 64
    app_segment_count: int = 0  # all of them
    sos_offset: int | None = None
    sos_components: tuple[int, ...] = ()
    # How the writer laid the header out (docs/provenance.md): every marker code from the one
    # after SOI to the first SOS included, in file order (the first MAX_RECORDED_MARKERS);
    # the table slots each DQT segment defines and the Tc<<4|Th of each DHT segment's tables,
    # segment by segment; the first SOS's spectral parameters.
    marker_order: tuple[int, ...] = ()
    marker_count: int = 0  # all of them
    dqt_segments: tuple[tuple[int, ...], ...] = ()
    dht_segments: tuple[tuple[int, ...], ...] = ()
    first_scan: ScanHeader | None = None
    comment_count: int = 0
    # Writers' own statements of their quality setting: Photoshop's APP13 image resource 0x0406
    # (its 0..12 "Save As" level; stored as level - 4) and the APP12 "Ducky" quality (0..100)
    # that Photoshop's "Save for Web" writes.
    photoshop_quality: int | None = None
    ducky_quality: int | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    truncated: bool = False  # the data ended inside the header
