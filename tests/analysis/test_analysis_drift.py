"""jpegaudit.analysis.drift: distances between splits, per setting."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from jpegaudit.analysis.drift import (
    DRIFT_SETTINGS,
    SUGGESTED_LIMITS,
    distance,
    drift_table,
    jensen_shannon_distance,
    total_variation_distance,
    wasserstein_1d,
)


def frame(train: dict, val: dict) -> pd.DataFrame:
    """A store-like DataFrame: `train` and `val` map column -> list of values (same lengths)."""
    n_train = len(next(iter(train.values())))
    n_val = len(next(iter(val.values())))
    data = {"split": ["train"] * n_train + ["val"] * n_val}
    for column in train:
        data[column] = list(train[column]) + list(val[column])
    df = pd.DataFrame(data)
    df["path"] = [f"{s}/{i}.jpg" for i, s in enumerate(df["split"])]
    return df


def test_quality_distance_is_in_quality_points():
    df = frame({"quality_luma": [90] * 8}, {"quality_luma": [60] * 8})
    assert distance(df, "train", "val", "quality_luma") == pytest.approx(30.0)


def test_identical_splits_have_zero_distance_for_every_setting_with_values():
    rows = {
        "format": ["jpeg", "jpeg", "png"],
        "subsampling": ["4:4:4", "4:2:0", None],
        "quality_luma": pd.array([96, 75, None], dtype="Int16"),
        "width": pd.array([500, 375, 640], dtype="Int32"),
        "height": pd.array([375, 500, 480], dtype="Int32"),
        "bytes": pd.array([1000, 2000, 3000], dtype="Int64"),
    }
    table = drift_table(frame(rows, rows), "train", "val")
    defined = table[table["distance"].notna()]
    assert set(defined["setting"]) >= {"format", "subsampling", "quality_luma", "width", "bytes"}
    assert (defined["distance"] == 0).all()


def test_wasserstein_matches_scipy_on_random_samples():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(1)
    for _ in range(20):
        a = rng.integers(1, 101, size=rng.integers(1, 300))
        b = rng.normal(70, 15, size=rng.integers(1, 300))
        assert wasserstein_1d(a, b) == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)


def test_wasserstein_hand_computed():
    # CDFs differ by 1/2 on [0, 1) and by 1/2 on [1, 3): area 0.5 + 1.0
    assert wasserstein_1d([0, 1], [1, 3]) == pytest.approx(1.5)


def test_width_distance_is_in_doublings():
    df = frame({"width": [500] * 4}, {"width": [250] * 4})
    assert distance(df, "train", "val", "width") == pytest.approx(1.0)


def test_bytes_per_pixel_uses_log2_of_bytes_over_pixels():
    df = frame(
        {"bytes": [1000, 4000], "width": [10, 10], "height": [10, 10]},
        {"bytes": [2000, 2000], "width": [10, 10], "height": [10, 10]},
    )
    # log2 bpp: train {log2 10, log2 40}, val {log2 20, log2 20}: each moves by 1 doubling
    assert distance(df, "train", "val", "bytes_per_pixel") == pytest.approx(1.0)


def test_total_variation_hand_computed():
    df = frame(
        {"subsampling": ["4:4:4"] * 9 + ["4:2:0"]},
        {"subsampling": ["4:4:4"] * 6 + ["4:2:0"] * 3 + ["4:1:1"]},
    )
    # shares: 4:4:4 .9 vs .6, 4:2:0 .1 vs .3, 4:1:1 0 vs .1 -> (0.3 + 0.2 + 0.1) / 2
    assert distance(df, "train", "val", "subsampling") == pytest.approx(0.3)


def test_total_variation_of_disjoint_distributions_is_one():
    assert total_variation_distance([1, 0], [0, 1]) == pytest.approx(1.0)


def test_jensen_shannon_matches_scipy():
    spatial = pytest.importorskip("scipy.spatial.distance")
    p, q = np.array([0.9, 0.1, 0.0]), np.array([0.6, 0.3, 0.1])
    assert jensen_shannon_distance(p, q) == pytest.approx(spatial.jensenshannon(p, q, base=2))


def test_jensen_shannon_can_be_chosen_for_categories():
    df = frame({"color": ["ycbcr"] * 4}, {"color": ["gray"] * 4})
    table = drift_table(df, "train", "val", ["color"], categorical_metric="jensen_shannon")
    assert table.loc[0, "metric"] == "jensen_shannon"
    assert table.loc[0, "distance"] == pytest.approx(1.0)


def test_nulls_are_left_out_and_counted_out():
    df = frame(
        {"format": ["jpeg", "png"], "subsampling": ["4:4:4", None]},
        {"format": ["jpeg", "jpeg"], "subsampling": ["4:4:4", "4:4:4"]},
    )
    row = drift_table(df, "train", "val", ["subsampling"]).iloc[0]
    assert (row["n_a"], row["n_b"], row["distance"]) == (1, 2, 0.0)


def test_setting_without_values_in_a_split_is_undefined():
    df = frame({"quality_luma": [None, None]}, {"quality_luma": [90, 80]})
    row = drift_table(df, "train", "val", ["quality_luma"]).iloc[0]
    assert math.isnan(row["distance"]) and row["n_a"] == 0 and "no values" in row["detail"]


def test_jpeg_without_orientation_counts_as_none():
    df = frame(
        {"format": ["jpeg", "jpeg"], "orientation": pd.array([None, None], dtype="Int16")},
        {"format": ["jpeg", "jpeg"], "orientation": pd.array([6, None], dtype="Int16")},
    )
    row = drift_table(df, "train", "val", ["orientation"]).iloc[0]
    assert row["distance"] == pytest.approx(0.5) and row["detail"].startswith(("6:", "none:"))


def test_detail_names_the_category_that_moved_most():
    df = frame(
        {"subsampling": ["4:4:4"] * 9 + ["4:2:0"]},
        {"subsampling": ["4:4:4"] * 6 + ["4:2:0"] * 3 + ["4:1:1"]},
    )
    detail = drift_table(df, "train", "val", ["subsampling"]).loc[0, "detail"]
    assert detail == "4:4:4: 90.0% -> 60.0%"


def test_table_has_one_row_per_requested_setting_in_order():
    df = frame({"quality_luma": [90]}, {"quality_luma": [80]})
    table = drift_table(df, "train", "val", ["width", "quality_luma"])
    assert list(table["setting"]) == ["width", "quality_luma"]
    assert list(table.columns[:7]) == [
        "setting",
        "kind",
        "metric",
        "distance",
        "unit",
        "n_a",
        "n_b",
    ]


def test_default_table_covers_every_drift_setting():
    df = frame({"quality_luma": [90]}, {"quality_luma": [80]})
    assert list(drift_table(df, "train", "val")["setting"]) == list(DRIFT_SETTINGS)


def test_unknown_setting_raises_naming_known_ones():
    df = frame({"quality_luma": [90]}, {"quality_luma": [80]})
    with pytest.raises(ValueError, match="unknown drift setting 'qualty'.*quality_luma"):
        drift_table(df, "train", "val", ["qualty"])


def test_ratio_is_distance_over_suggested_limit():
    df = frame({"quality_luma": [90] * 2}, {"quality_luma": [80] * 2})
    row = drift_table(df, "train", "val", ["quality_luma"]).iloc[0]
    assert row["ratio"] == pytest.approx(10.0 / SUGGESTED_LIMITS["quality_luma"])


def test_default_settings_include_the_studys_settings():
    for name in ("format", "color", "subsampling", "process", "progressive", "quality_luma",
                 "quality_chroma", "width", "height", "bytes", "bytes_per_pixel", "orientation",
                 "encoder"):  # fmt: skip
        assert name in DRIFT_SETTINGS
