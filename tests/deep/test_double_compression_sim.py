"""The double-compression estimator on simulated coefficients (pure: no encoder, no reader).

Laplacian 'unquantized' coefficients stand in for an image's DCT; a first quantization, a
decoder's rounding noise and a second quantization are applied in numpy, as the estimator's
model says a real pipeline does. test_double_compression_real.py checks real encoders."""

from __future__ import annotations

import numpy as np
import pytest

from jpegaudit.deep.double import estimate_double_compression
from jpegaudit.quality import ijg_table

_U, _V = np.divmod(np.arange(64), 8)
SCALE = 80.0 / (1.0 + _U + _V)  # coefficient spread falls with frequency, as in photos


def unquantized(seed: int, blocks: int = 3000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.laplace(0.0, SCALE, size=(blocks, 64))


def quantize(x: np.ndarray, table) -> np.ndarray:
    return np.round(x / np.asarray(table, dtype=np.float64)).astype(np.int32)


def twice(q1: int, q2: int, seed: int = 0, noise: float = 0.4, baseline1: bool = True):
    x = unquantized(seed)
    t1 = ijg_table(q1, "luma", baseline1)
    t2 = ijg_table(q2, "luma")
    decoded = quantize(x, t1) * np.asarray(t1) + np.random.default_rng(seed + 1).normal(
        0.0, noise, x.shape
    )
    return quantize(decoded, t2), t2


def once(q: int, seed: int = 0):
    t = ijg_table(q, "luma")
    return quantize(unquantized(seed), t), t


@pytest.mark.parametrize(("q1", "q2"), [(30, 95), (50, 90), (20, 75), (70, 100)])
def test_coarser_first_compression_is_detected_with_its_quality(q1, q2):
    estimate = estimate_double_compression(*twice(q1, q2))
    assert estimate.detected
    assert estimate.first_quality == q1


@pytest.mark.parametrize("q", [50, 75, 90, 96, 100])
def test_single_compression_is_not_flagged(q):
    assert not estimate_double_compression(*once(q)).detected


def test_same_quality_twice_is_not_detected():
    # A limitation: the second quantizer changes nothing; there are no empty bins to find.
    assert not estimate_double_compression(*twice(90, 90)).detected


def test_finer_first_compression_is_not_detected():
    # A limitation: a first step smaller than the second leaves every second bin reachable.
    assert not estimate_double_compression(*twice(95, 70)).detected


def test_16_bit_first_table_is_a_candidate():
    # cjpeg below q24 writes 16-bit tables; q10's entries go well past 255.
    estimate = estimate_double_compression(*twice(10, 90, baseline1=False))
    assert estimate.detected and estimate.first_quality == 10


def test_no_blocks_is_no_evidence():
    estimate = estimate_double_compression(np.zeros((0, 64), np.int16), ijg_table(90, "luma"))
    assert not estimate.detected and estimate.first_quality is None and estimate.evidence == 0


def test_all_zero_ac_is_no_evidence():
    blocks = np.zeros((500, 64), np.int16)
    blocks[:, 0] = 40
    estimate = estimate_double_compression(blocks, ijg_table(90, "luma"))
    assert not estimate.detected and estimate.gap_ratio is None


def test_gap_ratio_is_low_when_double_and_high_when_single():
    double = estimate_double_compression(*twice(30, 95))
    single = estimate_double_compression(*once(95))
    assert double.gap_ratio < 0.1
    assert single.gap_ratio is None or single.gap_ratio > 0.5
