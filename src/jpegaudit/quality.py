"""IJG quality from quantization tables: exact matches, nearest fits, fingerprints. Pure.

libjpeg's jpeg_set_quality (jcparam.c), which Pillow, OpenCV, ImageMagick and GIMP all call,
scales the Annex K tables: S = 5000/q for q < 50 else 200 - 2q; entry = (base*S + 50) / 100
clamped to 1..32767, and to 255 when `force_baseline` (Pillow, OpenCV, ImageMagick) is set. cjpeg
does not force baseline, so below about q 24 it writes 16-bit tables. Both variants are matched.
See docs/quality.md.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# Annex K.1 tables in natural (row-major) order.
LUMA_BASE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
CHROMA_BASE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip
BASES = {"luma": LUMA_BASE, "chroma": CHROMA_BASE}
QUALITIES = range(1, 101)
# An entry within this relative distance (and at least one step) counts as close.
CLOSE_RELATIVE = 0.05


def ijg_scale(quality: int) -> int:
    quality = min(max(quality, 1), 100)
    return 5000 // quality if quality < 50 else 200 - 2 * quality


def ijg_table(quality: int, kind: str, force_baseline: bool = True) -> tuple[int, ...]:
    """The table libjpeg's jpeg_set_quality(quality, force_baseline) writes, natural order."""
    scale = ijg_scale(quality)
    top = 255 if force_baseline else 32767
    return tuple(min(max((b * scale + 50) // 100, 1), top) for b in BASES[kind])


@dataclass(frozen=True)
class TableQuality:
    """How one table relates to IJG's tables of its kind."""

    quality: int  # exact quality, or the nearest one
    exact: bool
    candidates: tuple[int, ...]  # every quality whose IJG table equals this one (exact only)
    sq_log_error: float  # sum over entries of log2(entry / ijg entry)^2 at `quality`
    close_entries: int  # entries within CLOSE_RELATIVE of the IJG entry at `quality`
    entries: int = 64


@lru_cache(maxsize=4)
def _reference_tables(kind: str) -> np.ndarray:
    """Rows: the 16-bit variant for q 1..100, then the baseline variant (clamped at 255).

    ijg_table's arithmetic on every quality at once: the first file with a custom table pays
    a millisecond for this, not the 200 Python table builds a row at a time would cost."""
    qualities = np.array(QUALITIES, dtype=np.int64)
    scales = np.where(qualities < 50, 5000 // qualities, 200 - 2 * qualities)
    base = np.array(BASES[kind], dtype=np.int64)
    entries = np.maximum((base[None, :] * scales[:, None] + 50) // 100, 1)
    return np.concatenate([np.minimum(entries, 32767), np.minimum(entries, 255)])


@lru_cache(maxsize=4)
def _exact_index(kind: str) -> dict[tuple[int, ...], tuple[int, ...]]:
    index: dict[tuple[int, ...], list[int]] = {}
    rows = _reference_tables(kind).tolist()
    # Baseline first, as ijg_table(q, kind, True) before (q, kind, False) for each quality.
    for q in QUALITIES:
        for row in (rows[100 + q - 1], rows[q - 1]):
            qs = index.setdefault(tuple(row), [])
            if q not in qs:
                qs.append(q)
    return {table: tuple(qs) for table, qs in index.items()}


def load_reference_tables() -> None:
    """Build the IJG reference tables now (a process about to fork its pool: every worker
    inherits them instead of building its own at its first custom table)."""
    for kind in BASES:
        _exact_index(kind)
        _log_tables(kind)


def _log2_of(values: np.ndarray) -> np.ndarray:
    """log2(v) of table entries (0 is read as 1) by math.log2, which is the C library's log2:
    the compiled core computes the same values with the same function, so both cores agree to
    the last bit (numpy's own log2 need not). One call per distinct value."""
    distinct, where = np.unique(values, return_inverse=True)
    logs = np.array([math.log2(max(v, 1)) for v in distinct.tolist()], dtype=np.float64)
    return logs[where].reshape(values.shape)


@lru_cache(maxsize=4)
def _log_tables(kind: str) -> np.ndarray:
    return _log2_of(_reference_tables(kind))


@lru_cache(maxsize=4096)
def match_table(values: tuple[int, ...], kind: str) -> TableQuality:
    """Exact IJG match of a 64-entry natural-order table, else the least-squares nearest quality
    in the log domain (so that a table twice as coarse as IJG's is equally far at any quality)."""
    candidates = _exact_index(kind).get(values)
    if candidates:
        return TableQuality(
            quality=candidates[0],
            exact=True,
            candidates=candidates,
            sq_log_error=0.0,
            close_entries=64,
        )
    actual = np.array(values, dtype=np.int64)
    observed = _log2_of(actual)
    # Squared log errors summed entry by entry in table order (cumsum is sequential, unlike
    # sum's pairwise blocks), so that the compiled core's plain loop gives the same bits.
    errors = np.cumsum((_log_tables(kind) - observed) ** 2, axis=1)[:, -1]
    best = int(np.argmin(errors))
    quality = QUALITIES[best % 100]
    reference = _reference_tables(kind)[best]
    tolerance = np.maximum(1, np.round(CLOSE_RELATIVE * reference))
    return TableQuality(
        quality=quality,
        exact=False,
        candidates=(),
        sq_log_error=float(errors[best]),
        close_entries=int((np.abs(actual - reference) <= tolerance).sum()),
    )


@dataclass(frozen=True)
class QualityEstimate:
    quality_luma: int
    quality_chroma: int | None
    quality_chroma_range: str | None
    exact: bool
    fit_error: float  # RMS of log2(entry / IJG entry) over every used table
    closeness: float  # share of entries close to the IJG entry


def estimate_quality(luma: Sequence[int], chroma: Sequence[Sequence[int]] = ()) -> QualityEstimate:
    """Quality of a frame whose first component uses `luma` and whose other components use the
    distinct tables `chroma` (empty for grayscale, or when every component shares one table)."""
    fits = [match_table(tuple(luma), "luma")]
    fits += [match_table(tuple(t), "chroma") for t in chroma]
    luma_fit = fits[0]
    chroma_quality: int | None = None
    chroma_range: str | None = None
    if len(fits) > 1:
        first = fits[1]
        chroma_quality = first.quality
        if first.exact and len(first.candidates) > 1:
            lo, hi = min(first.candidates), max(first.candidates)
            chroma_range = f"{lo}-{hi}"
            chroma_quality = luma_fit.quality if luma_fit.quality in first.candidates else hi
    entries = sum(f.entries for f in fits)
    exact = all(f.exact for f in fits)
    # Exact matches must agree on a quality only per table: cjpeg -quality 90,40 is exact too.
    return QualityEstimate(
        quality_luma=luma_fit.quality,
        quality_chroma=chroma_quality,
        quality_chroma_range=chroma_range,
        exact=exact,
        fit_error=math.sqrt(sum(f.sq_log_error for f in fits) / entries),
        closeness=sum(f.close_entries for f in fits) / entries,
    )


def format_tables(tables: Sequence[Sequence[int]]) -> str:
    """The store's `qtables` text: 64 comma-separated values per table, tables joined by '/'."""
    return "/".join(",".join(map(str, t)) for t in tables)


def fingerprint(tables_text: str) -> str:
    """16 hex digits identifying a set of tables (`qtables_hash`)."""
    return hashlib.sha1(tables_text.encode("ascii")).hexdigest()[:16]
