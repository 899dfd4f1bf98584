"""Double JPEG compression: was this file's content quantized before, with a coarser table than
the one in its header, and at which IJG quality? Pure numpy; no I/O.

Method (docs/deep.md cites it in full): the double-quantization effect. A coefficient quantized
first with step s1 and, after decoding, again with a smaller step s2 can only land in second-step
bins n whose value n*s2 lies within s2/2 (plus the decoder's rounding noise) of a multiple of s1;
the other bins of the histogram stay empty, periodically (Popescu & Farid, "Statistical tools for
digital forensics", IH 2004; Lukas & Fridrich, "Estimation of primary quantization matrix in
double compressed JPEG images", DFRWS 2003). For every candidate first table (IJG luma tables,
q 1..100, baseline and 16-bit variants) we count, over the luma AC positions, the coefficients
observed in the bins that table leaves empty (O) and the number a single compression would put
there (E, from a geometric fit of each position's histogram of |coefficient|, which double
quantization leaves roughly unchanged because it only moves mass between neighbouring bins).
Among the candidates with enough expected coefficients in their gaps to judge (E >= 40), the
first table is the one with the most explained emptiness, E - 2 O: finer candidates explain
fewer empty bins, coarser or wrong ones predict empty bins that are full. The file is called
double-compressed when O / E at that candidate is small.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from jpegaudit.quality import ijg_table

# Decoding, colour conversion and re-encoding move a coefficient by about half a step of 1 in
# the DCT domain (pixel rounding, clipping); a lattice point is "reached" within this slack.
ROUNDING_SLACK = 1.0
MAX_BIN = 256  # |coefficient| bins considered per position
GAP_RATIO_MAX = 0.35  # O / E below this: the empty bins are really empty
MIN_EVIDENCE = 40.0  # E below this: too few coefficients expected in the gaps to say anything
OVERFILL_WEIGHT = 2.0
# Histograms of this many blocks (evenly spread over the image) are plenty; a 12-megapixel
# photo has 190,000 luma blocks and would cost 10 times more for the same answer.
MAX_BLOCKS = 16384


@dataclass(frozen=True)
class DoubleCompression:
    detected: bool
    first_quality: int | None  # IJG quality of the estimated first (luma) table, when detected
    gap_ratio: float | None  # O / E at the best candidate: ~0 double, ~1 single; None when no
    # candidate could be judged (no table coarser than this file's leaves enough gaps)
    evidence: float  # E at the best candidate (the largest E when none could be judged)


@lru_cache(maxsize=1)
def _candidates() -> tuple[np.ndarray, tuple[int, ...]]:
    """Distinct IJG luma tables (natural order) and the quality each stands for."""
    tables: dict[tuple[int, ...], int] = {}
    for q in range(100, 0, -1):  # a table shared by both variants keeps its highest quality
        for baseline in (True, False):
            tables.setdefault(ijg_table(q, "luma", baseline), q)
    keys = list(tables)
    return np.array(keys, dtype=np.int64), tuple(tables[k] for k in keys)


def _bin_count(largest: int) -> int:
    # Rounded up to a power of two so that files with similar ranges share cached masks.
    bins = 16
    while bins < min(largest, MAX_BIN):
        bins *= 2
    return bins


@lru_cache(maxsize=8192)
def _empty_bin_masks(position: int, step2: int, bins: int) -> tuple[np.ndarray, np.ndarray] | None:
    """For one AC position: a (distinct first steps, bins) 0/1 matrix of the bins 1..bins
    (|coefficient| after the second quantization with `step2`) that no multiple of the first
    step reaches, and the index of each candidate's step in it; None when no candidate leaves
    a gap at this position."""
    tables, _ = _candidates()
    steps, inverse = np.unique(tables[:, position], return_inverse=True)
    value = np.arange(1, bins + 1, dtype=np.float64) * step2
    s = steps.astype(np.float64)[:, None]
    distance = np.abs(value[None, :] - s * np.round(value[None, :] / s))
    empty = distance > step2 / 2 + ROUNDING_SLACK
    # A first step this close to the second leaves no bin unreachable (exact arithmetic agrees;
    # this also keeps rounding noise of equal tables from counting as gaps).
    empty[steps <= step2 + 2 * ROUNDING_SLACK] = False
    if not empty.any():
        return None
    return empty.astype(np.float64), inverse


def _histograms(blocks: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per position (row k = natural index; row 0, DC, unused): counts of |c| = 1..bins, and
    the geometric expectation of those counts fitted to the position's non-zero coefficients."""
    magnitudes = np.abs(blocks.reshape(-1, 64).astype(np.int32))
    nonzero_count = np.count_nonzero(magnitudes, axis=0).astype(np.float64)
    totals = magnitudes.sum(axis=0, dtype=np.int64).astype(np.float64)
    offsets = (bins + 2) * np.arange(64, dtype=np.int32)
    clipped = np.minimum(magnitudes, bins + 1, out=magnitudes) + offsets
    counts = np.bincount(clipped.ravel(), minlength=64 * (bins + 2)).reshape(64, bins + 2)
    observed = counts[:, 1 : bins + 1].astype(np.float64)
    # Geometric law on n >= 1 with the sample mean m: P(n) = (1 - r) r^(n - 1), r = 1 - 1/m.
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(nonzero_count > 0, totals / nonzero_count, 1.0)
    r = 1.0 - 1.0 / mean
    n = np.arange(1, bins + 1, dtype=np.float64)
    expected = nonzero_count[:, None] * (1.0 - r)[:, None] * r[:, None] ** (n - 1.0)[None, :]
    observed[0] = expected[0] = 0.0
    return observed, expected


def estimate_double_compression(blocks: np.ndarray, qtable: tuple[int, ...]) -> DoubleCompression:
    """Estimate from the luma component's quantized blocks (any shape ending in 64, natural
    order) and the table they were quantized with (natural order)."""
    blocks = blocks.reshape(-1, 64)
    if blocks.shape[0] == 0:
        return DoubleCompression(False, None, None, 0.0)
    if blocks.shape[0] > MAX_BLOCKS:
        blocks = blocks[:: -(-blocks.shape[0] // MAX_BLOCKS)]
    bins = _bin_count(max(int(blocks.max()), -int(blocks.min())))
    observed, expected = _histograms(blocks, bins)
    tables, qualities = _candidates()
    o = np.zeros(len(tables))
    e = np.zeros(len(tables))
    for k in range(1, 64):
        if not observed[k].any():
            continue
        found = _empty_bin_masks(k, int(qtable[k]), bins)
        if found is None:
            continue
        masks, inverse = found
        o += (masks @ observed[k])[inverse]
        e += (masks @ expected[k])[inverse]
    # Only candidates that predict enough coefficients in their gaps can be judged; among them
    # the one whose gaps explain most wins.
    judged = e >= MIN_EVIDENCE
    if not judged.any():
        return DoubleCompression(False, None, None, float(e.max()))
    score = np.where(judged, e - OVERFILL_WEIGHT * o, -np.inf)
    best = int(np.argmax(score))
    ratio = float(o[best] / e[best])
    detected = bool(ratio < GAP_RATIO_MAX)
    return DoubleCompression(
        detected=detected,
        first_quality=qualities[best] if detected else None,
        gap_ratio=ratio,
        evidence=float(e[best]),
    )
