"""jpegaudit.analysis.small_hdbscan: the same labels as scikit-learn's HDBSCAN, exactly, on
inputs full of ties (integer grids, duplicates, collinear points) as well as on blobs and
noise; and `find_clusters` using it without importing scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.cluster import HDBSCAN

from jpegaudit.analysis import projection
from jpegaudit.analysis.projection import SMALL_HDBSCAN_MAX, find_clusters
from jpegaudit.analysis.small_hdbscan import hdbscan_labels


def examples(count: int) -> settings:
    return settings(max_examples=count, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sklearn_labels(points: np.ndarray, min_cluster_size: int) -> np.ndarray:
    return HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit_predict(points)


def assert_same_labels(points: np.ndarray, min_cluster_size: int) -> None:
    expected = sklearn_labels(points, min_cluster_size)
    got = hdbscan_labels(points, min_cluster_size)
    assert np.array_equal(got, expected), (min_cluster_size, points.tolist())


@st.composite
def points_and_size(draw, points: st.SearchStrategy[np.ndarray]) -> tuple[np.ndarray, int]:
    # The size first: drawn after a large array, it would mostly be the simplest value, 2.
    size = draw(st.integers(2, 50))
    x = draw(points)
    return x, min(size, len(x))


def float_arrays(max_n: int = 200) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(
        np.float64,
        st.tuples(st.integers(2, max_n), st.integers(1, 3)),
        elements=st.floats(-100, 100, allow_nan=False, allow_infinity=False),
    )


def integer_grids(max_n: int = 300) -> st.SearchStrategy[np.ndarray]:
    return st.integers(1, 12).flatmap(
        lambda side: hnp.arrays(
            np.int64, st.tuples(st.integers(2, max_n), st.just(2)), elements=st.integers(0, side)
        )
    )


@st.composite
def blobs(draw) -> np.ndarray:
    """Gaussian blobs of mixed sizes and spreads, some points repeated exactly."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    counts = draw(st.lists(st.integers(1, 80), min_size=2, max_size=6))
    centres = rng.uniform(-20, 20, size=(len(counts), 2))
    spreads = rng.choice([0.01, 0.3, 1.0, 3.0], size=len(counts))
    x = np.vstack(
        [rng.normal(c, s, size=(k, 2)) for c, s, k in zip(centres, spreads, counts, strict=True)]
    )
    repeats = rng.integers(1, draw(st.integers(1, 5)) + 1, size=len(x))
    return rng.permutation(np.repeat(x, repeats, axis=0))


@st.composite
def duplicates(draw) -> np.ndarray:
    """A few distinct points, each repeated many times (zero distances, lambda = inf)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    distinct = rng.normal(size=(draw(st.integers(1, 12)), 2))
    return rng.permutation(np.repeat(distinct, rng.integers(2, 40, size=len(distinct)), axis=0))


@st.composite
def collinear(draw) -> np.ndarray:
    """Points on one line at integer or random steps: equal gaps, so equal MST weights."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(2, 200))
    steps = rng.integers(0, 6, size=n).astype(float) if draw(st.booleans()) else rng.random(n)
    direction = rng.choice([np.array([1.0, 0.0]), np.array([0.6, 0.8]), rng.normal(size=2)])
    return rng.normal(size=2) + np.outer(np.cumsum(steps), direction)


@examples(150)
@given(points_and_size(float_arrays()))
def test_same_labels_as_sklearn_on_arbitrary_floats(case):
    assert_same_labels(*case)


@examples(150)
@given(points_and_size(integer_grids()))
def test_same_labels_as_sklearn_on_integer_grids(case):
    assert_same_labels(*case)


@examples(100)
@given(points_and_size(blobs()))
def test_same_labels_as_sklearn_on_blobs(case):
    assert_same_labels(*case)


@examples(60)
@given(points_and_size(duplicates()))
def test_same_labels_as_sklearn_on_duplicated_points(case):
    assert_same_labels(*case)


@examples(60)
@given(points_and_size(collinear()))
def test_same_labels_as_sklearn_on_collinear_points(case):
    assert_same_labels(*case)


@examples(60)
@given(st.integers(2, 50), st.integers(0, 2), st.integers(0, 2**32 - 1), st.booleans())
def test_same_labels_as_sklearn_near_min_cluster_size(size, extra, seed, on_grid):
    """n = size, size + 1, 2 * size - 1 ... 2 * size + 1: the smallest trees that split."""
    rng = np.random.default_rng(seed)
    for n in (size, size + extra, 2 * size - 1 + extra):
        x = rng.integers(0, 4, size=(n, 2)).astype(float) if on_grid else rng.normal(size=(n, 2))
        assert_same_labels(x, size)


def report_like(n: int, seed: int) -> np.ndarray:
    """An embedding as the report makes: tight sources of very different sizes, plus noise."""
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.full(8, 0.5))
    counts = rng.multinomial(n - n // 10, shares)
    centres = rng.uniform(-15, 15, size=(8, 2))
    parts = [rng.normal(c, 0.4, size=(k, 2)) for c, k in zip(centres, counts, strict=True)]
    parts.append(rng.uniform(-18, 18, size=(n // 10, 2)))
    return rng.permutation(np.vstack(parts))


@pytest.mark.parametrize("n", [31, 300, 1000, SMALL_HDBSCAN_MAX])
def test_same_labels_as_sklearn_at_report_sizes(n):
    x = report_like(n, seed=n)
    assert_same_labels(x, max(10, n // 100))
    assert_same_labels(np.round(x, 1), max(10, n // 100))  # a coarse grid: many ties


@pytest.mark.parametrize("size", [2, 5, 50])
def test_same_labels_as_sklearn_on_noise_at_the_threshold(size):
    x = np.random.default_rng(size).uniform(size=(SMALL_HDBSCAN_MAX, 2))
    assert_same_labels(x, size)


def test_same_labels_as_sklearn_for_identical_points():
    assert_same_labels(np.zeros((40, 2)), 5)
    assert_same_labels(np.array([[0.0, 0.0], [1.0, 1.0]]), 2)


@pytest.mark.filterwarnings("ignore:invalid value encountered in reduce:RuntimeWarning")
def test_rows_with_nan_or_infinity_are_labelled_as_sklearn_labels_them():
    x = np.random.default_rng(0).normal(size=(60, 2))
    x[[3, 17]] = [np.nan, 0.0]
    x[[5, 40]] = [np.inf, 1.0]
    x[22] = [np.inf, -np.inf]  # sums to NaN
    got = hdbscan_labels(x, 5)
    assert np.array_equal(got, sklearn_labels(x, 5))
    assert list(got[[3, 5, 22]]) == [-3, -2, -3]


@pytest.mark.parametrize(
    ("points", "size"),
    [
        (np.zeros((4, 2)), 5),  # fewer points than min_samples
        (np.zeros((1, 2)), 2),  # a single point
        (np.zeros((10, 2)), 1),  # min_cluster_size below 2
    ],
)
def test_invalid_input_raises_value_error_as_sklearn_does(points, size):
    with pytest.raises(ValueError):
        sklearn_labels(points, size)
    with pytest.raises(ValueError):
        hdbscan_labels(points, size)


def test_overflowing_distances_raise_where_sklearn_breaks():
    """Squared gaps beyond 1.8e308 leave no finite edge: scikit-learn's tree is then corrupt
    (here its labelling raises a KeyError); ours refuses the input at once."""
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1e200, 0.0], [1e200, 1.0], [-1e200, 0.0]])
    with warnings.catch_warnings(), pytest.raises(KeyError):
        warnings.simplefilter("ignore")
        sklearn_labels(x, 2)
    with pytest.raises(ValueError, match="overflow"):
        hdbscan_labels(x, 2)


def test_module_imports_neither_sklearn_nor_scipy():
    code = (
        "import sys; import jpegaudit.analysis.small_hdbscan; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_find_clusters_on_a_small_input_does_not_import_sklearn(tmp_path, monkeypatch):
    points = report_like(500, seed=7)
    np.save(tmp_path / "points.npy", points)
    code = (
        "import json, sys; import numpy as np; "
        "from jpegaudit.analysis.projection import find_clusters; "
        f"labels = find_clusters(np.load({str(tmp_path / 'points.npy')!r})); "
        "print(json.dumps({'labels': labels.tolist(), 'sklearn': 'sklearn' in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["sklearn"] is False
    monkeypatch.setattr(projection, "SMALL_HDBSCAN_MAX", 0)  # the scikit-learn path
    expected = find_clusters(points)
    assert len(set(expected)) > 3  # a real clustering, not all noise
    assert result["labels"] == expected.tolist()
