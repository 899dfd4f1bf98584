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
3. `embed`: UMAP (umap-learn) to 2-D, `random_state=seed` (reproducible; umap-learn then runs
   single-threaded). Two departures from UMAP's defaults, both for the same reason: a
   dataset like ImageNet has thousands of images with the *identical* vector (500x375, q96,
   4:4:4), which degenerates the nearest-neighbour graph into many disconnected pieces. Each
   vector gets a seeded Gaussian jitter of sd `jitter` = 0.05 standardised units (about 7 px
   of width or half a quality point on ImageNet-like data: below any real difference between
   settings), and the layout starts from a random initialisation instead of the spectral one,
   whose eigen-solver fails on such graphs and then takes minutes (measured: 20,000 rows, 52 s
   with spectral vs 17 s random on 2 cores).
4. `find_clusters`: HDBSCAN (scikit-learn) on the 2-D embedding; label -1 is "unclustered".
5. `cluster_table`: per cluster, its size and share of the sample, the dominant frame size,
   quality and subsampling with their shares, the median quality and the split mix.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jpegaudit.analysis.stats import KNOWN_SUBSAMPLING, column, numeric, split_order

__all__ = [
    "DEFAULT_CAP",
    "DEFAULT_KEEP_500",
    "SUBSAMPLING_CODES",
    "Projection",
    "cluster_table",
    "embed",
    "feature_matrix",
    "find_clusters",
    "project",
    "study_sample",
]

DEFAULT_KEEP_500 = 0.10
DEFAULT_CAP = 20_000
# The study's "subsampling type" coordinate: one code per named scheme, in KNOWN_SUBSAMPLING's
# order (4:4:4 = 0 ... 4:4:1 = 6, gray = 7), and one for every raw factor string.
SUBSAMPLING_CODES = {name: code for code, name in enumerate(KNOWN_SUBSAMPLING)}
OTHER_SUBSAMPLING_CODE = len(SUBSAMPLING_CODES)
_UMAP_NEIGHBORS = 15
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


def embed(
    features: np.ndarray,
    *,
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    jitter: float = 0.05,
) -> np.ndarray:
    """UMAP to 2-D (jittered, random initialisation: see the module docstring). Fewer rows
    than UMAP needs (n_neighbors + 2) get a 2-D PCA instead, so a tiny store still gets a
    picture."""
    n = len(features)
    if n == 0:
        return np.zeros((0, 2))
    if n < n_neighbors + 2:
        centred = features - features.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        out = centred @ vt[:2].T
        return np.pad(out, ((0, 0), (0, 2 - out.shape[1])))
    import warnings

    import umap

    rng = np.random.default_rng(seed)
    jittered = features + rng.normal(0.0, jitter, features.shape) if jitter else features
    with warnings.catch_warnings():
        # umap-learn warns that a random_state disables parallelism: that is the trade we chose.
        warnings.filterwarnings("ignore", message=".*n_jobs.*", category=UserWarning)
        reducer = umap.UMAP(
            n_components=2,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            init="random",
            random_state=seed,
        )
        return np.asarray(reducer.fit_transform(jittered), dtype="float64")


def find_clusters(embedding: np.ndarray, *, min_cluster_size: int | None = None) -> np.ndarray:
    """HDBSCAN labels for the embedded points (-1: unclustered). `min_cluster_size` defaults
    to 1 % of the points, at least 10."""
    n = len(embedding)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    size = max(10, n // 100) if min_cluster_size is None else int(min_cluster_size)
    if n < max(size, 2):
        return np.full(n, -1, dtype=np.int64)
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
    embedding = embed(features, seed=seed, n_neighbors=_UMAP_NEIGHBORS)
    t2 = time.perf_counter()
    labels = find_clusters(embedding, min_cluster_size=min_cluster_size)
    clusters = cluster_table(rows, labels, embedding, split_order(df))
    t3 = time.perf_counter()
    method = "umap" if len(rows) >= _UMAP_NEIGHBORS + 2 else ("pca" if len(rows) else "none")
    return Projection(
        sample=rows,
        embedding=embedding,
        labels=labels,
        clusters=clusters,
        seconds={"sample": t1 - t0, "embed": t2 - t1, "cluster": t3 - t2},
        method=method,
    )
