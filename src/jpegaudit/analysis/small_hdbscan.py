"""HDBSCAN for small samples in plain NumPy: the labels scikit-learn's `HDBSCAN` gives, without
importing scikit-learn.

`from sklearn.cluster import HDBSCAN` costs 0.7 to 0.8 s of CPU in a fresh process (scipy.stats,
scipy.sparse, the metrics and neighbours packages), while clustering a few hundred 2-D points
takes milliseconds. The report clusters a small sample's embedding on its critical path, so
`projection.find_clusters` uses `hdbscan_labels` up to `projection.SMALL_HDBSCAN_MAX` points
and scikit-learn above.

This is a port of scikit-learn 1.9.1's algorithm (sklearn/cluster/_hdbscan: hdbscan.py,
_linkage.pyx, _tree.pyx; BSD-3-Clause licence, copyright the scikit-learn developers) for the
parameters jpegaudit uses: `HDBSCAN(min_cluster_size=s, copy=True)` with every other parameter
at its default (min_samples = s, euclidean metric, alpha 1, "eom" selection, epsilon 0, no
single cluster, no maximum size). For such data `algorithm="auto"` takes the k-d tree path
(`_hdbscan_prims`), so the steps are those of that path, in its order:

1. core distance of each point: the distance to its s-th nearest point, itself included (the
   tree query's value; which of several equidistant points is s-th does not change it);
2. a minimum spanning tree of the mutual-reachability graph, max(core_i, core_j, d_ij), grown by
   `mst_from_data_matrix`'s Prim from point 0: each step adds the outside point of smallest
   reachability, the lowest index among equals, joined to the tree point that first reached
   that value;
3. the edges reordered by `np.argsort` of their weights, the default (unstable) sort applied to
   the same field of the same structured array, so that equal weights come out in the order
   scikit-learn's NumPy puts them in (a stable sort gives other labels on tied inputs: the
   tests catch it); then the single-linkage tree by union-find;
4. the condensed tree (breadth first from the root, runts of fewer than s points dropped, a
   zero distance, as between duplicate points, giving lambda = inf), cluster stabilities
   summed in the condensed tree's row order, excess-of-mass selection from the highest
   cluster id down, and labels by the same union-find (clusters numbered by id).

Distances are computed as scikit-learn's Cython computes them (per-coordinate differences
squared and summed in coordinate order, then a square root), so that ties and near-ties
resolve alike; tests/analysis/test_small_hdbscan.py compares the labels with scikit-learn's
on blobs, noise, duplicates, collinear points and integer grids, so an upgrade of
scikit-learn that changes its results shows there. Rows with a NaN or an
infinity are handled as scikit-learn handles them: left out of the clustering and labelled -3
(a NaN in the row's sum) or -2 (an infinite sum).

One deliberate difference: when the points cannot all be joined by finite mutual
reachabilities (coordinates so far apart, beyond about 1e154, that squared differences
overflow), scikit-learn's Prim records a loop (0, 0, DBL_MAX) and its tree is corrupt: it
then fails with a KeyError while labelling, or exhausts memory walking the tree. Here that
raises a ValueError at once.

Time and memory are O(n^2): meant for a few thousand points at most.
"""

from __future__ import annotations

import sys

import numpy as np

__all__ = ["hdbscan_labels"]

# scikit-learn's MST edge (_linkage.pyx MST_edge_dtype): the argsort of step 3 runs
# on a field of this layout, as there.
_MST_EDGE = np.dtype(
    [("current_node", np.int64), ("next_node", np.int64), ("distance", np.float64)]
)
_DBL_MAX = sys.float_info.max
_NOISE = -1
_INFINITE_LABEL = -2
_MISSING_LABEL = -3
# Rows of the distance matrix computed at once for the core distances (a block of 256 x n
# doubles: 6 MB at n = 3,000).
_BLOCK_ROWS = 256


def hdbscan_labels(points: np.ndarray, min_cluster_size: int) -> np.ndarray:
    """Labels of `HDBSCAN(min_cluster_size=min_cluster_size, copy=True).fit_predict(points)`
    in scikit-learn 1.9.1 (-1 noise; -2 and -3 for rows with infinities and NaNs), for an
    (n, d) array. Raises ValueError where scikit-learn does (min_cluster_size below 2, a single
    point, fewer points than min_cluster_size) and where it fails otherwise (distances that
    overflow: see the module docstring)."""
    x = np.asarray(points, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"expected a non-empty 2-D array of points, got shape {x.shape}")
    size = int(min_cluster_size)
    if size != min_cluster_size or size < 2:
        raise ValueError(
            f"min_cluster_size must be an integer of at least 2, got {min_cluster_size}"
        )
    if np.isfinite(x).all():
        return _finite_labels(x, size)
    # As HDBSCAN.fit: classify rows by their sum, cluster the rows whose sum is finite.
    with np.errstate(invalid="ignore"):  # inf - inf in a row: NaN, as intended
        row_sum = x.sum(axis=1)
    finite = np.isfinite(row_sum)
    labels = np.empty(len(x), dtype=np.int32)
    labels[finite] = _finite_labels(x[finite], size)
    labels[np.isinf(row_sum)] = _INFINITE_LABEL
    labels[np.isnan(row_sum)] = _MISSING_LABEL
    return labels


def _finite_labels(x: np.ndarray, min_cluster_size: int) -> np.ndarray:
    n = len(x)
    if n == 1:
        raise ValueError("n_samples=1 while HDBSCAN requires more than one sample")
    if min_cluster_size > n:
        raise ValueError(
            f"min_samples ({min_cluster_size}) must be at most the number of samples in X ({n})"
        )
    columns = [np.ascontiguousarray(x[:, k]) for k in range(x.shape[1])]
    core = _core_distances(columns, min_cluster_size)
    mst = _prim_mst(columns, core)
    mst = mst[np.argsort(mst["distance"])]
    left, right, value, count = _single_linkage(mst)
    parent, child, lam, child_size = _condense(left, right, value, count, min_cluster_size)
    stability = _stability(parent, child, lam, child_size)
    clusters = _select_eom(parent, child, child_size, stability)
    return _label_points(parent, child, clusters)


def _pair_distances(columns: list[np.ndarray], start: int, stop: int) -> np.ndarray:
    """Euclidean distances from points start..stop-1 to every point, rounded as scikit-learn's
    Cython `euclidean_dist` rounds them: (a_k - b_k)^2 accumulated over k in order, then the
    square root. `columns` holds the coordinates, one contiguous array per dimension."""
    with np.errstate(over="ignore"):  # an overflow is an infinite distance, as in C
        # C starts from 0.0; 0.0 + a square is that square, so start from the first one.
        acc = columns[0][start:stop, None] - columns[0][None, :]
        acc *= acc
        for column in columns[1:]:
            diff = column[start:stop, None] - column[None, :]
            diff *= diff
            acc += diff
    return np.sqrt(acc, out=acc)


def _core_distances(columns: list[np.ndarray], min_samples: int) -> np.ndarray:
    """Distance from each point to its min_samples-th nearest point, itself included (what
    `NearestNeighbors(...).kneighbors(X, min_samples)[0][:, -1]` returns)."""
    n = len(columns[0])
    core = np.empty(n)
    for start in range(0, n, _BLOCK_ROWS):
        block = _pair_distances(columns, start, min(start + _BLOCK_ROWS, n))
        core[start : start + len(block)] = np.partition(block, min_samples - 1, axis=1)[
            :, min_samples - 1
        ]
    return core


def _prim_mst(columns: list[np.ndarray], core: np.ndarray) -> np.ndarray:
    """`mst_from_data_matrix` (_linkage.pyx) with alpha 1: the edges in the order Prim adds
    them, as an array of `_MST_EDGE`.

    There, each step scans the outside points j in index order, lowers j's reachability (and
    records the current point as j's source) when the new mutual reachability is strictly
    smaller, and keeps the first j whose reachability is strictly below the best so far,
    starting from DBL_MAX."""
    n = len(core)
    mst = np.empty(n - 1, dtype=_MST_EDGE)
    reach = np.full(n, np.inf)
    sources = np.ones(n, dtype=np.int64)
    # Tree points get an infinite core distance, hence an infinite mutual reachability, and
    # an infinite reachability: never updated, never chosen.
    outside_core = core.copy()
    current = 0
    for i in range(n - 1):
        current_core = core[current]
        outside_core[current] = np.inf
        reach[current] = np.inf
        mrd = _pair_distances(columns, current, current + 1)[0]
        np.maximum(mrd, outside_core, out=mrd)
        np.maximum(mrd, current_core, out=mrd)
        lower = mrd < reach
        np.copyto(reach, mrd, where=lower)
        np.copyto(sources, current, where=lower)
        new = int(np.argmin(reach))
        if not reach[new] < _DBL_MAX:
            # scikit-learn records the edge (0, 0, DBL_MAX) here, a loop that corrupts the
            # single-linkage tree: its labelling then fails (a KeyError), or walking the
            # tree exhausts memory. Fail at once instead.
            raise ValueError(
                "no finite mutual reachability joins the points: their distances overflow"
            )
        mst[i] = (sources[new], new, reach[new])
        current = new
    return mst


def _single_linkage(mst: np.ndarray) -> tuple[list[int], list[int], list[float], list[int]]:
    """`make_single_linkage` (_linkage.pyx): the dendrogram of the sorted MST, with
    scikit-learn's `UnionFind` (_hierarchical_fast.pyx) naming merged clusters n, n+1, ..."""
    n = len(mst) + 1
    parent = [-1] * (2 * n - 1)
    size = [1] * n + [0] * (n - 1)
    next_label = n
    left: list[int] = []
    right: list[int] = []
    value: list[float] = []
    count: list[int] = []

    def find(node: int) -> int:
        root = node
        while parent[root] != -1:
            root = parent[root]
        while parent[node] != root and node != root:
            parent[node], node = root, parent[node]
        return root

    for a, b, distance in zip(
        mst["current_node"].tolist(),
        mst["next_node"].tolist(),
        mst["distance"].tolist(),
        strict=True,
    ):
        ra, rb = find(a), find(b)
        left.append(ra)
        right.append(rb)
        value.append(distance)
        count.append(size[ra] + size[rb])
        parent[ra] = next_label
        parent[rb] = next_label
        size[next_label] = size[ra] + size[rb]
        next_label += 1
    return left, right, value, count


def _condense(
    left: list[int], right: list[int], value: list[float], count: list[int], min_size: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_condense_tree` (_tree.pyx): rows (parent, child, lambda, child size), in its order."""
    n = len(left) + 1
    root = 2 * (n - 1)

    def bfs(start: int) -> list[int]:
        out: list[int] = []
        queue = [start]
        while queue:
            out.extend(queue)
            inner = [node - n for node in queue if node >= n]
            queue = []
            for node in inner:
                queue.append(left[node])
                queue.append(right[node])
        return out

    def node_size(node: int) -> int:
        return count[node - n] if node >= n else 1

    relabel = [0] * (root + 1)
    relabel[root] = n
    next_label = n + 1
    ignore = [False] * (root + 1)
    rows: list[tuple[int, int, float, int]] = []
    for node in bfs(root):
        if ignore[node] or node < n:
            continue
        a, b, distance = left[node - n], right[node - n], value[node - n]
        lam = 1.0 / distance if distance > 0.0 else np.inf
        a_size, b_size = node_size(a), node_size(b)
        here = relabel[node]
        if a_size >= min_size and b_size >= min_size:
            relabel[a] = next_label
            rows.append((here, next_label, lam, a_size))
            relabel[b] = next_label + 1
            rows.append((here, next_label + 1, lam, b_size))
            next_label += 2
            continue
        if a_size >= min_size:
            relabel[a] = here
            dropped = [b]
        elif b_size >= min_size:
            relabel[b] = here
            dropped = [a]
        else:
            dropped = [a, b]
        for side in dropped:
            for sub in bfs(side):
                if sub < n:
                    rows.append((here, sub, lam, 1))
                ignore[sub] = True
    parent, child, lam_col, size_col = zip(*rows, strict=True)
    return (
        np.array(parent, dtype=np.intp),
        np.array(child, dtype=np.intp),
        np.array(lam_col, dtype=np.float64),
        np.array(size_col, dtype=np.intp),
    )


def _stability(
    parent: np.ndarray, child: np.ndarray, lam: np.ndarray, size: np.ndarray
) -> dict[int, float]:
    """`_compute_stability` (_tree.pyx): sum over a cluster's rows of (lambda - the cluster's
    birth lambda) * size, accumulated in row order (bincount adds in order, as the loop does)."""
    smallest = int(parent.min())
    births = np.full(max(int(child.max()), smallest) + 1, np.nan)
    births[child] = lam
    births[smallest] = 0.0
    terms = (lam - births[parent]) * size
    totals = np.bincount(
        parent - smallest, weights=terms, minlength=int(parent.max()) - smallest + 1
    )
    return {smallest + i: total for i, total in enumerate(totals.tolist())}


def _select_eom(
    parent: np.ndarray, child: np.ndarray, size: np.ndarray, stability: dict[int, float]
) -> list[int]:
    """`_get_clusters` (_tree.pyx) with "eom", no single cluster, epsilon 0: the selected
    cluster ids, ascending."""
    nodes = sorted(stability, reverse=True)[:-1]  # every cluster but the root
    is_cluster = dict.fromkeys(nodes, True)
    children: dict[int, list[int]] = {}
    for p, c in zip(parent[size > 1].tolist(), child[size > 1].tolist(), strict=True):
        children.setdefault(p, []).append(c)
    for node in nodes:
        below = children.get(node, [])
        subtree = np.sum([stability[c] for c in below])
        if subtree > stability[node]:
            is_cluster[node] = False
            stability[node] = float(subtree)
        else:
            queue = list(below)
            while queue:
                is_cluster[queue[-1]] = False
                queue.extend(children.get(queue.pop(), []))
    return sorted(c for c, selected in is_cluster.items() if selected)


def _label_points(parent: np.ndarray, child: np.ndarray, clusters: list[int]) -> np.ndarray:
    """`_do_labelling` (_tree.pyx): union every row whose child is not a selected cluster,
    with `TreeUnionFind` (union by rank, path compression); a point takes the label of its
    set's representative, noise when that is the root."""
    root = int(parent.min())
    label_of = {c: i for i, c in enumerate(clusters)}
    up = list(range(int(parent.max()) + 1))
    rank = [0] * len(up)

    def find(node: int) -> int:
        top = node
        while up[top] != top:
            top = up[top]
        while up[node] != top:
            up[node], node = top, up[node]
        return top

    for p, c in zip(parent.tolist(), child.tolist(), strict=True):
        if c in label_of:
            continue
        rp, rc = find(p), find(c)
        if rank[rp] < rank[rc]:
            up[rp] = rc
        elif rank[rp] > rank[rc]:
            up[rc] = rp
        else:
            up[rc] = rp
            rank[rp] += 1
    labels = np.empty(root, dtype=np.intp)
    for point in range(root):
        top = find(point)
        labels[point] = _NOISE if top == root else label_of[top]
    return labels
