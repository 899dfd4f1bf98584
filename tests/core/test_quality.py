"""IJG quality (quality.py) against the jcparam.c formula as ../shared/reference/jpeg-quality.md
states it, computed again here, with the Annex K tables checked against Pillow's own q50 output."""

from __future__ import annotations

import math
from io import BytesIO

import jpegbuild as jb
import pytest
from PIL import Image

from jpegaudit.audit import audit_bytes, new_row
from jpegaudit.quality import estimate_quality, ijg_table, match_table

KINDS = ("luma", "chroma")


def reference_qualities(table: tuple[int, ...], kind: str) -> tuple[int, ...]:
    return tuple(
        q
        for q in range(1, 101)
        if table in (jb.ijg_reference_table(q, kind, True), jb.ijg_reference_table(q, kind, False))
    )


def audit(data: bytes) -> dict:
    row = new_row("x.jpg", "test", "root", None)
    return audit_bytes(lambda offset, length: data[offset : offset + length], len(data), row)


def test_annex_k_tables_are_what_pillow_writes_at_quality_50():
    with Image.open(BytesIO(jb.pillow_jpeg(quality=50))) as image:
        tables = image.quantization
    assert list(tables[0]) == jb.ANNEX_K_QUANT["luma"]
    assert list(tables[1]) == jb.ANNEX_K_QUANT["chroma"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("baseline", [True, False], ids=["baseline", "16bit"])
def test_ijg_table_equals_the_reference_formula_at_every_quality(kind, baseline):
    for q in range(1, 101):
        assert ijg_table(q, kind, force_baseline=baseline) == jb.ijg_reference_table(
            q, kind, baseline
        ), q


def test_quality_is_clamped_so_0_gives_the_q1_tables():
    assert ijg_table(0, "luma") == jb.ijg_reference_table(1, "luma", True)
    assert ijg_table(150, "luma") == (1,) * 64


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("baseline", [True, False], ids=["baseline", "16bit"])
def test_every_ijg_table_matches_exactly_with_all_its_qualities(kind, baseline):
    for q in range(1, 101):
        table = jb.ijg_reference_table(q, kind, baseline)
        fit = match_table(table, kind)
        assert fit.exact, q
        assert q in fit.candidates, q
        assert set(fit.candidates) == set(reference_qualities(table, kind)), q
        assert fit.sq_log_error == 0.0 and fit.close_entries == 64


@pytest.mark.parametrize("baseline", [True, False], ids=["baseline", "16bit"])
def test_luma_tables_name_a_single_quality(baseline):
    for q in range(1, 101):
        fit = match_table(jb.ijg_reference_table(q, "luma", baseline), "luma")
        assert (fit.quality, fit.candidates) == (q, (q,))


def test_baseline_chroma_tables_of_q1_to_3_are_one_table():
    tables = {jb.ijg_reference_table(q, "chroma", True) for q in (1, 2, 3)}
    assert tables == {(255,) * 64}
    assert set(match_table((255,) * 64, "chroma").candidates) == {1, 2, 3}


@pytest.mark.parametrize("q", [1, 2, 3])
def test_chroma_range_takes_the_luma_quality_when_it_is_in_the_range(q):
    estimate = estimate_quality(
        jb.ijg_reference_table(q, "luma", True), [jb.ijg_reference_table(q, "chroma", True)]
    )
    assert estimate.quality_chroma_range == "1-3"
    assert (estimate.quality_luma, estimate.quality_chroma) == (q, q)
    assert estimate.exact


def test_chroma_range_takes_the_highest_when_luma_is_outside_it():
    estimate = estimate_quality(jb.ijg_reference_table(50, "luma", True), [(255,) * 64])
    assert estimate.quality_chroma_range == "1-3"
    assert estimate.quality_chroma == 3


def test_unique_chroma_match_has_no_range():
    estimate = estimate_quality(
        jb.ijg_reference_table(75, "luma", True), [jb.ijg_reference_table(75, "chroma", True)]
    )
    assert estimate.quality_chroma_range is None and estimate.quality_chroma == 75


def test_split_luma_and_chroma_qualities_are_both_exact():
    estimate = estimate_quality(
        jb.ijg_reference_table(90, "luma", True), [jb.ijg_reference_table(40, "chroma", True)]
    )
    assert (estimate.quality_luma, estimate.quality_chroma, estimate.exact) == (90, 40, True)
    assert estimate.fit_error == 0.0 and estimate.closeness == 1.0


def test_grayscale_has_no_chroma_quality():
    estimate = estimate_quality(jb.ijg_reference_table(70, "luma", True))
    assert estimate.quality_chroma is None and estimate.quality_luma == 70


def test_one_entry_off_is_the_nearest_quality_with_its_fit_error_and_closeness():
    table = list(jb.ijg_reference_table(60, "luma", True))
    table[20] += 10
    fit = match_table(tuple(table), "luma")
    assert not fit.exact and fit.quality == 60 and fit.candidates == ()
    assert fit.sq_log_error == pytest.approx(math.log2(table[20] / (table[20] - 10)) ** 2)
    assert fit.close_entries == 63


def nearest_by_reference(table: tuple[int, ...], kind: str) -> tuple[int, float]:
    """Least squares over log2 entries against both variants, as docs/quality.md states it."""
    best = None
    for baseline in (False, True):
        for q in range(1, 101):
            ref = jb.ijg_reference_table(q, kind, baseline)
            err = sum(
                (math.log2(max(a, 1)) - math.log2(b)) ** 2 for a, b in zip(table, ref, strict=True)
            )
            if best is None or err < best[1]:
                best = (q, err)
    return best


@pytest.mark.parametrize("factor", [0.7, 1.15, 1.6])
@pytest.mark.parametrize("q", [10, 45, 80, 95])
def test_table_scaled_off_ijg_gets_the_least_squares_nearest_quality(q, factor):
    table = tuple(max(1, round(v * factor)) for v in jb.ijg_reference_table(q, "luma", True))
    fit = match_table(table, "luma")
    expected_q, expected_err = nearest_by_reference(table, "luma")
    assert not fit.exact
    assert fit.quality == expected_q
    assert fit.sq_log_error == pytest.approx(expected_err)


def test_fit_error_is_the_rms_log_error_over_all_tables():
    luma = tuple(max(1, round(v * 1.3)) for v in jb.ijg_reference_table(80, "luma", True))
    chroma = jb.ijg_reference_table(80, "chroma", True)
    estimate = estimate_quality(luma, [chroma])
    _, luma_err = nearest_by_reference(luma, "luma")
    assert not estimate.exact
    assert estimate.fit_error == pytest.approx(math.sqrt(luma_err / 128))


def test_flat_table_is_approximate_with_low_closeness():
    estimate = estimate_quality((50,) * 64, [(50,) * 64])
    assert not estimate.exact and estimate.closeness < 0.5 and estimate.fit_error > 0.3


# ---------------------------------------------------------------------------------------------
# Real encoders through the row


@pytest.mark.parametrize("q", [1, 2, 3, 24, 50, 75, 99, 100])
def test_pillow_quality_is_exact_in_the_row(q):
    row = audit(jb.pillow_jpeg(quality=q))
    assert (row["quality_luma"], row["quality_exact"], row["encoder"]) == (q, True, "libjpeg")
    assert row["quality_chroma"] == q


# ---------------------------------------------------------------------------------------------
# Fingerprint


LUMA_75 = list(jb.ijg_reference_table(75, "luma", True))
CHROMA_75 = list(jb.ijg_reference_table(75, "chroma", True))


def file_with(*dqt_segments: bytes, slots=(0, 1, 1)) -> bytes:
    comps = [(1, 2, 2, slots[0]), (2, 1, 1, slots[1]), (3, 1, 1, slots[2])]
    return jb.jpeg(*dqt_segments, jb.sof(components=comps), jb.std_dht(), jb.sos())


def test_fingerprint_ignores_how_tables_are_split_across_dqt_segments():
    one_segment = audit(file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75))))
    two_segments = audit(file_with(jb.dqt((0, LUMA_75)), jb.dqt((1, CHROMA_75))))
    assert one_segment["qtables_hash"] == two_segments["qtables_hash"]
    assert one_segment["qtables"] == two_segments["qtables"]


def test_fingerprint_ignores_slot_numbers():
    usual = audit(file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75))))
    swapped = audit(file_with(jb.dqt((1, LUMA_75)), jb.dqt((3, CHROMA_75)), slots=(1, 3, 3)))
    assert usual["qtables_hash"] == swapped["qtables_hash"]
    assert swapped["qtable_ids"] == "1,3,3"
    assert swapped["quality_luma"] == swapped["quality_chroma"] == 75


def test_fingerprint_ignores_unused_tables():
    usual = audit(file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75))))
    extra = audit(file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75), (2, [7] * 64))))
    assert usual["qtables_hash"] == extra["qtables_hash"]


def test_fingerprint_ignores_a_table_repeated_in_a_second_slot():
    # Cb and Cr with identical tables in slots 1 and 2 are the same table set as both using
    # slot 1: `qtables` holds the distinct tables (docs/store-schema.md).
    shared = audit(file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75))))
    repeated = audit(
        file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75), (2, CHROMA_75)), slots=(0, 1, 2))
    )
    assert shared["qtables"] == repeated["qtables"]
    assert shared["qtables_hash"] == repeated["qtables_hash"]


def test_fingerprint_changes_when_one_entry_changes():
    other = list(CHROMA_75)
    other[63] += 1
    a = audit(file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75))))
    b = audit(file_with(jb.dqt((0, LUMA_75), (1, other))))
    assert a["qtables_hash"] != b["qtables_hash"]


def test_fingerprint_depends_on_which_table_is_luma():
    a = audit(file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75))))
    b = audit(file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75)), slots=(1, 0, 0)))
    assert a["qtables_hash"] != b["qtables_hash"]


def test_fingerprint_is_16_hex_digits():
    value = audit(file_with(jb.dqt((0, LUMA_75), (1, CHROMA_75))))["qtables_hash"]
    assert len(value) == 16 and int(value, 16) >= 0


def test_table_used_but_never_defined_is_an_error_without_quality():
    row = audit(file_with(jb.dqt((0, LUMA_75)), slots=(0, 1, 1)))
    assert row["error"] == "quantization table 1 used but never defined"
    assert row["quality_luma"] is None
