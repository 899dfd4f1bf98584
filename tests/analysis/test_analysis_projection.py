"""jpegaudit.analysis.projection: the study's sampling rule, features, clusters and their table.
(UMAP itself runs in the demo report test.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jpegaudit.analysis.projection import (
    DENSE_UMAP_MAX,
    SUBSAMPLING_CODES,
    cluster_table,
    embed,
    embedding_method,
    feature_matrix,
    find_clusters,
    numba_cache_dir,
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


def blobs(n_per: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Four tight groups of identical-but-jittered 4-D settings, as a store's sources are."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0, 0], [3, 0, 0, 0], [0, 3, 3, 0], [0, 0, 0, 3]], float)
    truth = np.repeat(np.arange(4), n_per)
    return centres[truth] + rng.normal(0, 0.05, (len(truth), 4)), truth


def test_embedding_method_depends_on_the_sample_size_only():
    assert embedding_method(0) == "none" and embedding_method(16) == "pca"
    assert embedding_method(17) == "umap-dense" and embedding_method(DENSE_UMAP_MAX) == "umap-dense"
    assert embedding_method(DENSE_UMAP_MAX + 1) == "umap"


def test_dense_umap_is_reproducible_and_keeps_sources_apart():
    x, truth = blobs(40)
    first, again = embed(x, seed=3), embed(x, seed=3)
    assert first.shape == (160, 2) and np.array_equal(first, again)
    labels = find_clusters(first, min_cluster_size=20)
    for group in range(4):
        assert len(set(labels[truth == group])) == 1  # each source one cluster...
    assert len(set(labels)) == 4  # ...and no two sources merged


def test_dense_umap_needs_no_jit_compiler():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from jpegaudit.analysis.projection import embed; "
        "embed(np.random.default_rng(0).normal(size=(300, 4))); "
        "print(sorted(m for m in ('numba', 'umap', 'pynndescent') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_umap_learn_above_the_dense_limit_is_reproducible(monkeypatch):
    import jpegaudit.analysis.projection as projection

    monkeypatch.setattr(projection, "DENSE_UMAP_MAX", 50)
    x, truth = blobs(30)
    first, again = embed(x, seed=1), embed(x, seed=1)
    assert embedding_method(len(x)) == "umap" and np.array_equal(first, again)
    labels = find_clusters(first, min_cluster_size=15)
    assert all(len(set(labels[truth == group])) == 1 for group in range(4))


def test_numba_cache_dir_is_in_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr("sys.platform", "linux")
    assert numba_cache_dir() == str(tmp_path / "jpegaudit" / "numba")
    monkeypatch.setenv("NUMBA_CACHE_DIR", "/elsewhere")
    assert numba_cache_dir() == "/elsewhere"
