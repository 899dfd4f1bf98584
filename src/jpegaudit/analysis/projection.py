"""The study's 2-D projection of compression settings, and the clusters ("sources") in it.

"Compression in the ImageNet Dataset" embedded 4-D vectors (subsampling type, width, height,
quality) with UMAP, on a sample that keeps only 10 % of the images whose width or height is 500
(they dominate ImageNet otherwise). We do the same:

1. `study_sample`: the rows that have all four values (JPEGs with a frame and tables); of those
   with width == 500 or height == 500, keep each with probability `keep_500` (default 0.1);
   then, if more than `cap` rows remain, draw `cap` of them uniformly. Both draws use one
   seeded generator, so the same store and seed give the same sample.
2. `feature_matrix`: subsampling as an ordinal code (`SUBSAMPLING_CODES`: 4:4:4 0, 4:2:2 1,
   4:2:0 2, 4:4:0 3, 4:1:1 4, 4:1:0 5, 4:4:1 6, gray 7, any raw factor string 8), width,
   height and luma quality, each standardised to zero mean and unit variance over the sample
   (otherwise pixel counts, in the hundreds, would drown subsampling and quality).
3. `embed`: UMAP to 2-D, seeded. Two departures from UMAP's defaults, both for the same
   reason: a dataset like ImageNet has thousands of images with the *identical* vector
   (500x375, q96, 4:4:4), which degenerates the nearest-neighbour graph into many disconnected
   pieces. Each vector gets a seeded Gaussian jitter of sd `jitter` = 0.05 standardised units
   (about 7 px of width or half a quality point on ImageNet-like data: below any real
   difference between settings), and the layout starts from a random initialisation instead
   of the spectral one, whose eigen-solver fails on such graphs and then takes minutes
   (measured: 20,000 rows, 52 s with spectral vs 17 s random on 2 cores).
   Two implementations, chosen by sample size alone (so a store and a seed give one picture
   whatever is cached): up to `DENSE_UMAP_MAX` rows, `umap_dense`, UMAP's graph and objective
   in plain numpy (exact neighbours, full-batch gradients of the expected sampled-SGD forces),
   which needs no JIT compiler and takes well under a second; above it, umap-learn
   (`random_state=seed`, so single-threaded), whose numba functions are compiled once and then
   loaded from an on-disk cache (`numba_cache_dir()`), not compiled again on every run.
4. `find_clusters`: HDBSCAN on the 2-D embedding; label -1 is "unclustered". Up to
   `SMALL_HDBSCAN_MAX` points, `small_hdbscan.hdbscan_labels`, a NumPy port of scikit-learn's
   algorithm that gives the same labels without importing scikit-learn (0.8 s of CPU in a
   fresh process, against 0.1 s to cluster 3,000 points); above it, scikit-learn's HDBSCAN.
5. `cluster_table`: per cluster, its size and share of the sample, the dominant frame size,
   quality and subsampling with their shares, the median quality and the split mix.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jpegaudit.analysis import small_hdbscan
from jpegaudit.analysis.stats import KNOWN_SUBSAMPLING, column, numeric, split_order

__all__ = [
    "DEFAULT_CAP",
    "DEFAULT_KEEP_500",
    "DENSE_UMAP_MAX",
    "SMALL_HDBSCAN_MAX",
    "SUBSAMPLING_CODES",
    "Projection",
    "cluster_table",
    "embed",
    "embed_and_cluster",
    "embedding_method",
    "feature_matrix",
    "find_clusters",
    "numba_cache_dir",
    "project",
    "project_sample",
    "study_sample",
    "umap_dense",
]

DEFAULT_KEEP_500 = 0.10
DEFAULT_CAP = 20_000
# The study's "subsampling type" coordinate: one code per named scheme, in KNOWN_SUBSAMPLING's
# order (4:4:4 = 0 ... 4:4:1 = 6, gray = 7), and one for every raw factor string.
SUBSAMPLING_CODES = {name: code for code, name in enumerate(KNOWN_SUBSAMPLING)}
OTHER_SUBSAMPLING_CODE = len(SUBSAMPLING_CODES)
_UMAP_NEIGHBORS = 15
# Up to this many sampled rows the embedding is `umap_dense` (no JIT, O(n^2) memory and time per
# epoch: 0.3 s for 500 rows, 1.2 s for 1,000 on the project machine); above, umap-learn.
DENSE_UMAP_MAX = 1_000
# Up to this many points `find_clusters` uses `small_hdbscan` (O(n^2) time and memory: 4 ms for
# 300 points, 20 ms for 1,000, 0.10 s for 3,000 on the project machine, where importing
# scikit-learn's HDBSCAN costs 0.8 s of CPU); above, scikit-learn.
SMALL_HDBSCAN_MAX = 3_000
FEATURES = ("subsampling_code", "width", "height", "quality_luma")


def study_sample(
    df: pd.DataFrame, *, keep_500: float = DEFAULT_KEEP_500, cap: int = DEFAULT_CAP, seed: int = 0
) -> pd.DataFrame:
    """The sample to project: columns path, split, subsampling, subsampling_code, width,
    height, quality_luma (index: the rows' positions in `df`). `attrs` records how many rows
    were eligible, how many passed the width/height-500 rule, and the rule's parameters."""
    if not 0.0 <= keep_500 <= 1.0:
        raise ValueError(f"keep_500 must be within 0..1, got {keep_500}")
    if cap < 1:
        raise ValueError(f"cap must be at least 1, got {cap}")
    width = numeric(df, "width")
    height = numeric(df, "height")
    quality = numeric(df, "quality_luma")
    subsampling = column(df, "subsampling")
    eligible = ~np.isnan(width) & ~np.isnan(height) & ~np.isnan(quality)
    eligible &= subsampling.notna().to_numpy(bool)
    rng = np.random.default_rng(seed)
    is_500 = (width == 500) | (height == 500)
    kept = eligible & (~is_500 | (rng.random(len(df)) < keep_500))
    rows = np.flatnonzero(kept)
    after_rule = int(rows.size)
    if rows.size > cap:
        rows = np.sort(rng.choice(rows, size=cap, replace=False))
    sub = subsampling.iloc[rows].astype("object").to_numpy()
    sample = pd.DataFrame(
        {
            "path": column(df, "path").iloc[rows].astype("object").to_numpy(),
            "split": column(df, "split").iloc[rows].astype("object").to_numpy(),
            "subsampling": sub,
            "subsampling_code": [SUBSAMPLING_CODES.get(s, OTHER_SUBSAMPLING_CODE) for s in sub],
            "width": width[rows].astype(np.int64),
            "height": height[rows].astype(np.int64),
            "quality_luma": quality[rows].astype(np.int64),
        },
        index=rows,
    )
    sample.attrs.update(
        eligible=int(np.count_nonzero(eligible)),
        eligible_500=int(np.count_nonzero(eligible & is_500)),
        after_500_rule=after_rule,
        sampled=int(rows.size),
        keep_500=keep_500,
        cap=cap,
        seed=seed,
    )
    return sample


def feature_matrix(sample: pd.DataFrame) -> np.ndarray:
    """(n, 4) float array: subsampling code, width, height, quality, each z-scored over the
    sample (a constant feature becomes 0)."""
    x = sample[list(FEATURES)].to_numpy(dtype="float64")
    if len(x) == 0:
        return x.reshape(0, len(FEATURES))
    std = x.std(axis=0)
    std[std == 0] = 1.0
    return (x - x.mean(axis=0)) / std


def embedding_method(n: int, n_neighbors: int = _UMAP_NEIGHBORS) -> str:
    """Which embedding `embed` uses for `n` rows: "none", "pca" (fewer rows than UMAP needs,
    n_neighbors + 2), "umap-dense" (up to `DENSE_UMAP_MAX`) or "umap" (umap-learn)."""
    if n == 0:
        return "none"
    if n < n_neighbors + 2:
        return "pca"
    return "umap-dense" if n <= DENSE_UMAP_MAX else "umap"


def embed(
    features: np.ndarray,
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    jitter: float = 0.05,
) -> np.ndarray:
    """UMAP to 2-D (jittered, random initialisation: see the module docstring): `umap_dense`
    up to `DENSE_UMAP_MAX` rows, umap-learn above. Fewer rows than UMAP needs (n_neighbors + 2)
    get a 2-D PCA instead, so a tiny store still gets a picture."""
    n = len(features)
    method = embedding_method(n, n_neighbors)
    if method == "none":
        return np.zeros((0, 2))
    if method == "pca":
        centred = features - features.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        out = centred @ vt[:2].T
        return np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    rng = np.random.default_rng(seed)
    jittered = features + rng.normal(0.0, jitter, features.shape) if jitter else features
    if method == "umap-dense":
        return umap_dense(jittered, seed=seed, n_neighbors=n_neighbors, min_dist=min_dist)
    import warnings

    from sklearn.neighbors import NearestNeighbors

    umap = _import_umap()
    # Exact neighbours from a k-d tree (0.15 s for 20,000 4-D rows) instead of pynndescent's
    # approximate NN-descent, whose functions take other compiled functions as arguments, so
    # numba cannot cache them: they were compiled again on every run (about 10 s of CPU).
    distances, indices = NearestNeighbors(n_neighbors=n_neighbors).fit(jittered).kneighbors()
    indices = np.hstack([np.arange(n)[:, None], indices[:, :-1]])  # each row's own index first,
    distances = np.hstack([np.zeros((n, 1)), distances[:, :-1]])  # as umap-learn counts it
    with warnings.catch_warnings():
        # umap-learn warns that a random_state disables parallelism (the trade we chose) and
        # that precomputed neighbours rule out transform() (not used).
        warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*precomputed_knn.*", category=UserWarning)
        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            init="random",
            random_state=seed,
            precomputed_knn=(indices, distances, None),
        )
        return np.asarray(reducer.fit_transform(jittered), dtype="float64")


# -- umap-learn, compiled once ------------------------------------------------------------------
def numba_cache_dir() -> str:
    """Where numba keeps umap-learn's compiled functions: $NUMBA_CACHE_DIR when set, else
    jpegaudit's folder in the user cache directory (`$XDG_CACHE_HOME/jpegaudit/numba`, default
    `~/.cache/jpegaudit/numba`; `~/Library/Caches/jpegaudit/numba` on macOS,
    `%LOCALAPPDATA%\\jpegaudit\\numba` on Windows)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    home = os.path.expanduser("~")
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
    elif sys.platform == "darwin":
        base = os.path.join(home, "Library", "Caches")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
    return os.path.join(base, "jpegaudit", "numba")


def _import_umap():
    """umap-learn with every numba function of umap and pynndescent cached on disk.

    Without this, the eight functions umap-learn declares without `cache=True` (the layout
    epoch, smooth_knn_dist, membership strengths, ...) were compiled on every run (7 to 19 s),
    and pynndescent's cached ones went into site-packages, which may be read-only. Numba keys
    each cache entry by the function's source file and its stamp, the signature and the CPU,
    so an upgrade of umap-learn or a different machine compiles afresh instead of loading a
    stale entry."""
    if "umap" in sys.modules:
        return sys.modules["umap"]
    import numba.core.config

    if not os.environ.get("NUMBA_CACHE_DIR"):
        numba.core.config.CACHE_DIR = numba_cache_dir()
    import umap
    from numba.core.caching import NullCache
    from numba.core.dispatcher import Dispatcher

    for name, module in list(sys.modules.items()):
        if module is None or not name.startswith(("umap", "pynndescent")):
            continue
        for value in list(vars(module).values()):
            # Only functions not compiled yet: those with explicit signatures were compiled at
            # import (and are small).
            if (
                isinstance(value, Dispatcher)
                and isinstance(value._cache, NullCache)
                and not value.signatures
            ):
                try:
                    value.enable_caching()
                except Exception:  # noqa: BLE001 - uncacheable (a closure): compiled per run
                    pass
    return umap


# -- UMAP in numpy, for small samples --------------------------------------------------------
def _smooth_knn(distances: np.ndarray, n_iter: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """umap-learn's smooth_knn_dist (local_connectivity 1, bandwidth 1), for all rows at
    once: rho = distance to the nearest other point, sigma such that
    sum_j exp(-max(0, d_ij - rho) / sigma) = log2(k)."""
    n, k = distances.shape
    target = np.log2(k)
    positive = np.where(distances > 0, distances, np.inf)
    rho = positive.min(axis=1)
    rho[~np.isfinite(rho)] = 0.0
    lo = np.zeros(n)
    hi = np.full(n, np.inf)
    mid = np.ones(n)
    shifted = np.maximum(distances[:, 1:] - rho[:, None], 0.0)
    for _ in range(n_iter):
        psum = np.exp(-shifted / mid[:, None]).sum(axis=1)
        high = psum > target
        hi = np.where(high, mid, hi)
        lo = np.where(high, lo, mid)
        mid = np.where(np.isinf(hi), mid * 2, (lo + hi) / 2)
    # umap-learn's floor: at least 1e-3 of the mean distance (of the row, else of all rows).
    mean_all = distances.mean()
    row_mean = distances.mean(axis=1)
    floor = np.where(rho > 0, 1e-3 * row_mean, 1e-3 * mean_all)
    return np.maximum(mid, floor), rho


def _ab_params(min_dist: float, spread: float = 1.0) -> tuple[float, float]:
    """umap-learn's find_ab_params: fit 1 / (1 + a d^(2b)) to the offset exponential curve
    (the default min_dist's values without importing scipy)."""
    if (min_dist, spread) == (0.1, 1.0):
        return 1.576943460405378, 0.8950608781227859
    from scipy.optimize import curve_fit

    x = np.linspace(0, spread * 3, 300)
    y = np.where(x < min_dist, 1.0, np.exp(-(x - min_dist) / spread))
    (a, b), _ = curve_fit(lambda d, a, b: 1.0 / (1.0 + a * d ** (2 * b)), x, y)
    return float(a), float(b)


def umap_dense(
    x: np.ndarray,
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    n_epochs: int = 200,
    negative_sample_rate: int = 5,
) -> np.ndarray:
    """UMAP of a small sample in plain numpy: no JIT compiler, so no compile time.

    The graph is umap-learn's: exact `n_neighbors` nearest neighbours (the point itself
    included, as umap-learn counts it), `smooth_knn_dist`'s rho and sigma, memberships
    exp(-(d - rho) / sigma), fuzzy union P = W + W' - W * W'. So is the low-dimensional curve
    1 / (1 + a d^2b) fitted to `min_dist`. The layout minimises the same cross-entropy, but
    with full-batch gradients: each epoch applies, to every point, the forces that one epoch
    of umap-learn's sampled SGD applies in expectation (attraction along each edge with weight
    P_ij / max P, both ends moving; repulsion from every point with weight
    negative_sample_rate * degree_i / n, as negative samples are drawn uniformly), each pair's
    force clipped to +-4 as umap-learn clips it, with the learning rate decaying linearly from
    1. The start is a seeded uniform random layout in [-10, 10], as with umap-learn's
    `init="random"`. Time and memory grow as n^2 per epoch: meant for `DENSE_UMAP_MAX` rows or
    fewer."""
    n = len(x)
    k = min(n_neighbors, n)  # umap-learn counts the point itself among its neighbours
    d2 = np.maximum(((x[:, None, :] - x[None, :, :]) ** 2).sum(axis=2), 0.0)
    rows = np.arange(n)
    ranked = d2.copy()
    np.fill_diagonal(ranked, -1.0)  # each point first among its own neighbours
    order = np.argsort(ranked, axis=1, kind="stable")[:, :k]
    dist = np.sqrt(np.take_along_axis(d2, order, axis=1))
    sigma, rho = _smooth_knn(dist)
    w = np.exp(-np.maximum(dist - rho[:, None], 0.0) / sigma[:, None])
    graph = np.zeros((n, n))
    graph[rows[:, None], order] = w
    np.fill_diagonal(graph, 0.0)
    graph = graph + graph.T - graph * graph.T
    # umap-learn drops edges too weak to be sampled once in its 500 epochs.
    graph[graph < graph.max() / 500] = 0.0
    p = graph / graph.max() if graph.max() > 0 else graph
    head, tail = np.nonzero(p)  # both directions of every edge
    weight = p[head, tail].astype(np.float32)
    repel_w = (negative_sample_rate * p.sum(axis=1) / n).astype(np.float32)
    a, b = _ab_params(min_dist)
    a32, b32 = np.float32(a), np.float32(b)

    rng = np.random.default_rng(seed)
    y = rng.uniform(-10.0, 10.0, size=(n, 2)).astype(np.float32)
    for epoch in range(n_epochs):
        alpha = np.float32(1.0 - epoch / n_epochs)
        # Attraction along each edge, moving both ends (umap-learn's move_other).
        delta = y[head] - y[tail]
        dd = (delta**2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            coeff = np.where(dd > 0, -2 * a32 * b32 * dd ** (b32 - 1) / (1 + a32 * dd**b32), 0)
        pull = np.clip(coeff[:, None] * delta, -4, 4) * weight[:, None]
        step = np.zeros_like(y)
        for axis in (0, 1):
            step[:, axis] += np.bincount(head, pull[:, axis], minlength=n)
            step[:, axis] -= np.bincount(tail, pull[:, axis], minlength=n)
        # Repulsion from every other point, moving only the head.
        dx = y[:, 0, None] - y[None, :, 0]
        dy = y[:, 1, None] - y[None, :, 1]
        dd = dx * dx + dy * dy
        coeff = 2 * b32 / ((np.float32(0.001) + dd) * (1 + a32 * dd**b32))
        np.fill_diagonal(coeff, 0)
        step[:, 0] += np.clip(coeff * dx, -4, 4).sum(axis=1) * repel_w
        step[:, 1] += np.clip(coeff * dy, -4, 4).sum(axis=1) * repel_w
        y += alpha * step
    return y.astype(np.float64)


def find_clusters(embedding: np.ndarray, *, min_cluster_size: int | None = None) -> np.ndarray:
    """HDBSCAN labels for the embedded points (-1: unclustered). `min_cluster_size` defaults
    to 1 % of the points, at least 10."""
    n = len(embedding)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    size = max(10, n // 100) if min_cluster_size is None else int(min_cluster_size)
    if n < max(size, 2):
        return np.full(n, -1, dtype=np.int64)
    if n <= SMALL_HDBSCAN_MAX:
        labels = small_hdbscan.hdbscan_labels(embedding, size)
    else:
        from sklearn.cluster import HDBSCAN

        labels = HDBSCAN(min_cluster_size=size, copy=True).fit_predict(embedding)
    return _relabel_by_size(np.asarray(labels, dtype=np.int64))


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Number clusters 0, 1, ... by decreasing size (ties: lowest original label)."""
    ids, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -counts))]
    mapping = {int(old): new for new, old in enumerate(order)}
    return np.array([mapping.get(int(v), -1) for v in labels], dtype=np.int64)


def _dominant(values: pd.Series) -> tuple[object, float]:
    counts = values.value_counts()
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    return counts.index[0], float(counts.iloc[0] / counts.sum())


def cluster_table(
    sample: pd.DataFrame,
    labels: np.ndarray,
    embedding: np.ndarray | None = None,
    splits: Sequence[str] | None = None,
) -> list[dict]:
    """One dict per cluster (then one for the unclustered points, label -1, if any): label,
    count, share of the sample, dominant size ("500x375") and its share, dominant quality and
    its share, median quality, dominant subsampling and its share, count per split, and the
    cluster's centre in the embedding (median x, y) when given."""
    if len(sample) == 0:
        return []
    frame = sample.assign(
        label=np.asarray(labels),
        size=sample["width"].astype(str) + "x" + sample["height"].astype(str),
    )
    if embedding is not None:
        frame = frame.assign(x=embedding[:, 0], y=embedding[:, 1])
    splits = list(splits) if splits is not None else list(split_order(frame))
    out = []
    ordered = sorted(frame["label"].unique(), key=lambda v: (v < 0, v))
    for label in ordered:
        group = frame[frame["label"] == label]
        size, size_share = _dominant(group["size"])
        quality, quality_share = _dominant(group["quality_luma"])
        sub, sub_share = _dominant(group["subsampling"])
        per_split = group["split"].value_counts()
        row = {
            "label": int(label),
            "count": len(group),
            "share": len(group) / len(frame),
            "size": str(size),
            "size_share": size_share,
            "quality": int(quality),  # type: ignore[call-overload]  # a value of an int column
            "quality_share": quality_share,
            "median_quality": float(group["quality_luma"].median()),
            "subsampling": str(sub),
            "subsampling_share": sub_share,
            "per_split": {s: int(per_split[s]) for s in splits if s in per_split.index},
        }
        if embedding is not None:
            row["center"] = [float(group["x"].median()), float(group["y"].median())]
        out.append(row)
    return out


@dataclass
class Projection:
    """A projected sample: the rows, their 2-D embedding, cluster labels and the table."""

    sample: pd.DataFrame
    embedding: np.ndarray
    labels: np.ndarray
    clusters: list[dict]
    seconds: dict[str, float] = field(default_factory=dict)
    method: str = "umap"

    @property
    def sampling(self) -> dict:
        return dict(self.sample.attrs)


def embed_and_cluster(
    features: np.ndarray,
    *,
    seed: int = 0,
    n_neighbors: int = _UMAP_NEIGHBORS,
    min_cluster_size: int | None = None,
) -> tuple[np.ndarray, np.ndarray, str, dict[str, float]]:
    """The sample-independent part of `project` (embedding, HDBSCAN labels, method, seconds):
    plain arrays in and out, so the report can run it in a worker process."""
    t0 = time.perf_counter()
    embedding = embed(features, seed=seed, n_neighbors=n_neighbors)
    t1 = time.perf_counter()
    labels = find_clusters(embedding, min_cluster_size=min_cluster_size)
    t2 = time.perf_counter()
    method = embedding_method(len(features), n_neighbors)
    return embedding, labels, method, {"embed": t1 - t0, "cluster": t2 - t1}


def project_sample(
    rows: pd.DataFrame,
    embedding: np.ndarray,
    labels: np.ndarray,
    *,
    splits: Sequence[str],
    method: str,
    seconds: dict[str, float],
) -> Projection:
    """A `Projection` from a `study_sample` and its embedding and labels."""
    t0 = time.perf_counter()
    clusters = cluster_table(rows, labels, embedding, splits)
    seconds = {**seconds, "table": time.perf_counter() - t0}
    return Projection(rows, embedding, labels, clusters, seconds=seconds, method=method)


def project(
    df: pd.DataFrame,
    *,
    sample: int = DEFAULT_CAP,
    keep_500: float = DEFAULT_KEEP_500,
    seed: int = 0,
    min_cluster_size: int | None = None,
) -> Projection:
    """Sample by the study's rule, embed with UMAP, cluster the embedding, describe clusters."""
    t0 = time.perf_counter()
    rows = study_sample(df, keep_500=keep_500, cap=sample, seed=seed)
    features = feature_matrix(rows)
    t1 = time.perf_counter()
    embedding, labels, method, seconds = embed_and_cluster(
        features, seed=seed, min_cluster_size=min_cluster_size
    )
    return project_sample(rows, embedding, labels, splits=split_order(df), method=method,
                          seconds={"sample": t1 - t0, **seconds})  # fmt: skip
