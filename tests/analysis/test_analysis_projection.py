"""jpegaudit.analysis.projection: the study's sampling rule, features, clusters and their table.
(UMAP itself runs in the demo report test.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jpegaudit.analysis.projection import (
    SUBSAMPLING_CODES,
    cluster_table,
    embed,
    feature_matrix,
    find_clusters,
    study_sample,
)


def frame(n_500: int, n_other: int, n_png: int = 0) -> pd.DataFrame:
    width = [500] * n_500 + [640] * n_other + [None] * n_png
    height = [375] * n_500 + [480] * n_other + [None] * n_png
    return pd.DataFrame(
        {
            "path": [f"f{i:05d}.jpg" for i in range(n_500 + n_other + n_png)],
            "split": "train",
            "width": pd.array(width, dtype="Int32"),
            "height": pd.array(height, dtype="Int32"),
            "subsampling": ["4:4:4"] * n_500 + ["4:2:0"] * n_other + [None] * n_png,
            "quality_luma": pd.array([96] * n_500 + [75] * n_other + [None] * n_png, "Int16"),
        }
    )


def test_sample_keeps_every_file_without_a_500_side():
    sample = study_sample(frame(2000, 300), cap=100_000)
    assert (sample["width"] == 640).sum() == 300


def test_sample_keeps_about_a_tenth_of_500_side_files():
    sample = study_sample(frame(20_000, 0), cap=100_000)
    assert 1800 < len(sample) < 2200
    assert sample.attrs["eligible_500"] == 20_000 and sample.attrs["after_500_rule"] == len(sample)


def test_sample_is_capped_uniformly():
    sample = study_sample(frame(1000, 5000), cap=500)
    assert len(sample) == 500 and sample.attrs["sampled"] == 500


def test_sample_is_reproducible_with_a_seed_and_differs_across_seeds():
    df = frame(5000, 5000)
    a = study_sample(df, cap=1000, seed=1)
    b = study_sample(df, cap=1000, seed=1)
    c = study_sample(df, cap=1000, seed=2)
    assert a.index.equals(b.index) and not a.index.equals(c.index)


def test_sample_leaves_out_rows_missing_a_feature():
    sample = study_sample(frame(0, 10, n_png=5))
    assert len(sample) == 10 and sample.attrs["eligible"] == 10


def test_sample_keeps_path_and_split():
    sample = study_sample(frame(0, 3))
    assert list(sample["path"]) == ["f00000.jpg", "f00001.jpg", "f00002.jpg"]
    assert set(sample["split"]) == {"train"}


def test_keep_500_outside_0_1_is_rejected():
    with pytest.raises(ValueError, match="keep_500"):
        study_sample(frame(1, 1), keep_500=1.5)


def test_features_are_standardised_codes_sizes_and_quality():
    sample = study_sample(frame(0, 4)).assign(
        subsampling=["4:4:4", "4:2:0", "4:1:1", "2x2,1x1,1x2"],
        subsampling_code=[0, 2, 4, 8],
        quality_luma=[10, 20, 30, 40],
    )
    x = feature_matrix(sample)
    assert x.shape == (4, 4)
    assert np.allclose(x[:, 3], (np.array([10, 20, 30, 40]) - 25) / np.std([10, 20, 30, 40]))
    assert np.allclose(x[:, 1], 0)  # constant width: 0, not a division by zero
    assert SUBSAMPLING_CODES["4:1:1"] == 4


def test_tiny_samples_fall_back_to_pca():
    x = np.random.default_rng(0).normal(size=(5, 4))
    assert embed(x).shape == (5, 2)


def test_clusters_separate_blobs_and_number_them_by_size():
    rng = np.random.default_rng(0)
    big = rng.normal(0, 0.1, size=(300, 2))
    small = rng.normal(10, 0.1, size=(100, 2))
    labels = find_clusters(np.vstack([small, big]), min_cluster_size=20)
    assert set(labels[100:]) == {0} and set(labels[:100]) == {1}


def test_cluster_table_describes_each_cluster():
    sample = study_sample(frame(0, 6)).assign(
        width=[500, 500, 500, 640, 640, 640],
        height=[375, 375, 333, 480, 480, 480],
        quality_luma=[96, 96, 90, 75, 75, 75],
        subsampling=["4:4:4", "4:4:4", "4:4:4", "4:2:0", "4:2:0", "4:4:4"],
    )
    labels = np.array([0, 0, 0, 1, 1, 1])
    embedding = np.array([[0, 0], [0, 1], [0, 2], [5, 5], [5, 6], [5, 7]], float)
    first, second = cluster_table(sample, labels, embedding)
    assert (first["count"], first["size"], first["quality"]) == (3, "500x375", 96)
    assert first["size_share"] == pytest.approx(2 / 3) and first["center"] == [0.0, 1.0]
    assert (second["subsampling"], second["subsampling_share"]) == ("4:2:0", pytest.approx(2 / 3))
    assert second["per_split"] == {"train": 3}


def test_unclustered_points_come_last_in_the_table():
    sample = study_sample(frame(0, 3))
    table = cluster_table(sample, np.array([-1, 0, 0]))
    assert [row["label"] for row in table] == [0, -1]
