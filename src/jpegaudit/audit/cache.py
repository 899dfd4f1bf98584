"""Header caches: files from one encoder at one setting and size have byte-identical headers,
and a dataset repeats a few thousand headers over millions of files, so a header's columns are
worked out once and looked up afterwards. Both keys are exact header bytes, so a hit is the
same parse by construction (tests/audit/test_header_cache.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from jpegaudit.jpeg.exif import parse_exif
from jpegaudit.jpeg.header import JpegHeader
from jpegaudit.provenance import NO_FRAME, PROVENANCE_COLUMNS, Structure, judge

MAX_ENTRIES = 4096
MAX_KEY_BYTES = 4096  # keys longer than this (ICC profiles) are rarely repeated

# Markers followed by a length field that a plain header is made of (SOFn, DHT, DAC, DQT, DNL,
# DRI, DHP, EXP, APPn, COM).
_SEGMENT_CODES = (
    frozenset(range(0xC0, 0xD0))
    | {0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFE}
    | frozenset(range(0xE0, 0xF0))
)

# Columns that depend on the EXIF segment or on where the SOS falls: set per file on a hit.
PER_FILE_HEADER_COLUMNS = frozenset(
    {
        "orientation",
        "exif_make",
        "exif_model",
        "exif_software",
        "warnings",
        "header_bytes",
        *PROVENANCE_COLUMNS,  # EXIF Make, Model and Software are evidence
    }
)


@dataclass(frozen=True)
class HeaderShape:
    """A plain header found by hopping segment lengths. `key` is the header's bytes with the
    first Exif APP1 segment left out (its position kept), so that files which differ only in
    their EXIF (a per-shot DateTime, an orientation) share one cache entry; the EXIF segment
    is parsed per file."""

    key: bytes
    sos_offset: int
    exif_tiff: bytes | None  # the first Exif segment's TIFF bytes (after Exif\0\0)


@dataclass(frozen=True)
class CachedHeader:
    columns: dict
    header_warnings: tuple[str, ...]  # the parser's own, without the EXIF parser's
    provenance: Structure | None  # None: no frame


_MISSING = object()


@dataclass
class HeaderCache:
    """Two caches over one header:

    - `whole`: the fast path, for headers without EXIF (most files), keyed on the bytes up to
      the end of the segment that starts at the first FFDA in the file, found by one
      `bytes.find` instead of hopping segment by segment. A header is stored only when that
      FFDA is its real SOS; a later file whose bytes equal a stored key therefore parses the
      same up to the same SOS, whatever its first FFDA was. The value holds every header
      column, the per-file ones included (without EXIF none vary).
    - `by_shape`: keyed on the header without its Exif segment (`HeaderShape`); the per-file
      columns are recomputed from the EXIF on a hit.
    """

    whole: dict[bytes, dict] = field(default_factory=dict)
    by_shape: dict[bytes, CachedHeader] = field(default_factory=dict)

    def clear(self) -> None:
        self.whole.clear()
        self.by_shape.clear()

    def whole_columns(self, key: bytes | None) -> dict | None:
        return self.whole.get(key) if key is not None else None

    def shape_columns(self, shape: HeaderShape | None) -> CachedHeader | None:
        return self.by_shape.get(shape.key) if shape is not None else None

    def remember(
        self,
        shape: HeaderShape,
        whole_key: bytes | None,
        header: JpegHeader,
        before: dict,
        row: dict,
        provenance: Structure | None,
    ) -> None:
        """Cache the columns a clean parse set (those that differ from `before`): under the
        shape key, without the per-file ones; and, for a header without EXIF whose first FFDA
        is its SOS (`whole_key` given), under the whole-header key, with them."""
        if header.error is not None or header.truncated or header.sos_offset != shape.sos_offset:
            return
        columns = {k: v for k, v in row.items() if before.get(k, _MISSING) is not v}
        if len(self.by_shape) < MAX_ENTRIES:
            self.by_shape[shape.key] = CachedHeader(
                {k: v for k, v in columns.items() if k not in PER_FILE_HEADER_COLUMNS},
                header.warnings,
                provenance,
            )
        no_exif = shape.exif_tiff is None and header.exif is None
        if whole_key is not None and no_exif and len(self.whole) < MAX_ENTRIES:
            self.whole[whole_key] = columns


# One per process, like an lru_cache: the scan's workers each warm their own.
DEFAULT_CACHE = HeaderCache()


def clear_header_caches() -> None:
    """Forget every cached header (tests and benchmarks that need a cold start)."""
    DEFAULT_CACHE.clear()


def whole_header_key(head: bytes, sos: int) -> bytes | None:
    if sos < 0 or sos + 4 > len(head):
        return None
    end = sos + 2 + ((head[sos + 2] << 8) | head[sos + 3])
    if end > len(head) or end > MAX_KEY_BYTES:
        return None
    return head[:end]


def header_shape(head: bytes) -> HeaderShape | None:
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
            if len(key) > MAX_KEY_BYTES:
                return None
            return HeaderShape(key, pos, exif_tiff)
        if code not in _SEGMENT_CODES or end > limit:
            return None
        if code == 0xE1 and not exif_end and head[pos + 4 : pos + 9] == b"Exif\x00":
            exif_at, exif_end = pos, end
        pos = end
    return None


def apply_cached(row: dict, shape: HeaderShape, cached: CachedHeader) -> None:
    """Set a row's header columns from a shape hit, and its per-file ones from its own EXIF."""
    row.update(cached.columns)
    row["header_bytes"] = shape.sos_offset
    warnings = list(cached.header_warnings)
    make = model = software = None
    if shape.exif_tiff is not None:
        exif = parse_exif(shape.exif_tiff)
        row["orientation"] = exif.orientation
        row["exif_make"] = make = exif.make
        row["exif_model"] = model = exif.model
        row["exif_software"] = software = exif.software
        warnings.extend(exif.warnings)
    row["warnings"] = "; ".join(warnings) or None
    if cached.provenance is not None:
        row.update(judge(cached.provenance, make, model, software).columns())
    else:
        row.update(NO_FRAME.columns())
