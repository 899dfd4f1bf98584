"""Coefficient statistics on hand-made coefficient blocks (pure, no reader needed)."""

from __future__ import annotations

import numpy as np
import pytest

from jpegaudit.deep.coefficients import ComponentCoefficients, DctCoefficients
from jpegaudit.deep.stats import HIGH_FREQUENCY, component_stats, file_stats

ONES = (1,) * 64


def component(blocks: list[list[int]], qtable=ONES, index=0) -> ComponentCoefficients:
    array = np.array(blocks, dtype=np.int16).reshape(1, len(blocks), 64)
    return ComponentCoefficients(index=index, qtable=tuple(qtable), blocks=array)


def block(**entries: int) -> list[int]:
    """A 64-entry block; keys like p9=3 set natural position 9."""
    values = [0] * 64
    for key, value in entries.items():
        values[int(key[1:])] = value
    return values


def test_zero_ac_share_ignores_dc():
    stats = component_stats(component([block(p0=50, p1=2)]))
    assert stats.zero_ac_share == pytest.approx(62 / 63)


def test_high_frequency_mask_is_second_half_of_zigzag():
    # u + v >= 8 holds for 28 positions, from (1, 7) to (7, 7).
    assert HIGH_FREQUENCY.sum() == 28
    assert HIGH_FREQUENCY[63] and HIGH_FREQUENCY[15] and not HIGH_FREQUENCY[7]


def test_high_frequency_share_counts_energy_at_u_plus_v_at_least_8():
    stats = component_stats(component([block(p1=3, p63=4)]))
    assert stats.high_frequency_energy / stats.ac_energy == pytest.approx(16 / 25)


def test_energy_is_dequantized_with_the_table():
    table = [1] * 64
    table[63] = 10
    stats = component_stats(component([block(p1=10, p63=1)], qtable=table))
    assert stats.high_frequency_energy == 100 and stats.ac_energy == 200


def test_flat_image_has_zero_high_frequency_share_not_nan():
    coefficients = DctCoefficients("test", ((8, 8),), (component([block(p0=7)]),), None)
    assert file_stats(coefficients).high_frequency_luma == 0.0


def test_chroma_share_is_pooled_over_cb_and_cr_by_block_count():
    y = component([block()], index=0)
    cb = component([block(p1=1)] * 3, index=1)  # 3 blocks, 62/63 zero each
    cr = component([block()], index=2)  # 1 block, all zero
    stats = file_stats(DctCoefficients("test", ((8, 8),) * 3, (y, cb, cr), None))
    assert stats.zero_ac_chroma == pytest.approx((3 * 62 / 63 + 1.0) / 4)


def test_grayscale_has_no_chroma_statistics():
    stats = file_stats(DctCoefficients("test", ((8, 8),), (component([block()]),), None))
    assert stats.zero_ac_chroma is None and stats.high_frequency_chroma is None


def test_large_coefficients_do_not_overflow():
    big = component([block(p1=2047, p63=-2048)] * 2000)
    stats = component_stats(big)
    assert stats.ac_energy == pytest.approx(2000 * (2047**2 + 2048**2))
