"""Does compression predict the label? (docs/provenance.md, "Label leakage")

A detector trained on real JPEGs against PNG fakes learns the format, not the content (Grommelt
et al. 2024, "Fake or JPEG?"). This module asks the question of a dataset: for each compression
feature, its association with the label; a cross-validated "predict the label from compression
alone" score against chance; and the labels whose compression differs most from the rest.

Every figure is judged against the same figure with the labels shuffled (permutations with a
fixed seed), so a dataset with many labels and few files each is not flagged for the bias that
such tables always show. DataFrame in (the store's columns plus `label`), dict out.

- Association: Cramér's V with Bergsma's bias correction (0 none, 1 the feature determines the
  label's group), and normalised mutual information I(L;F)/sqrt(H(L)H(F)).
- Prediction: k-fold cross-validated accuracy of "the most common label among training files
  with the same compression" (the combination of every feature but the header signature),
  against chance (the most common label's share) and as balanced accuracy against 1/labels.
- Labels: per label and feature, the total variation distance between the label's
  distribution of that feature and the rest's.

`flagged` is true when some feature's corrected V reaches `max_association` with a permutation
p-value at most `alpha`, or when some label's distance reaches `max_label_distance` beyond what
any label reaches under shuffled labels (the permutation maximum); the flagged labels are named.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from jpegaudit.analysis.stats import column, numeric
from jpegaudit.analysis.vocabulary import LEAKAGE_FEATURES

__all__ = [
    "FEATURES",
    "THRESHOLDS",
    "derive_labels",
    "feature_columns",
    "label_leakage",
    "with_labels",
]

FEATURES = LEAKAGE_FEATURES
# Default thresholds (the policy rule `label-leakage` takes the same names).
THRESHOLDS = {
    "max_association": 0.3,  # Cramér's V (bias-corrected)
    "max_label_distance": 0.5,  # total variation distance of one label from the rest
    "alpha": 0.05,  # permutation p-value
}
PERMUTATIONS = 49  # p-values from 1/50 = 0.02 up
MIN_LABEL_FILES = 5  # a label with fewer files is never flagged on its own
MAX_ROWS = 200_000  # permutations and cross-validation run on a sample this large
QUALITY_BANDS = ((0, 50, "<50"), (50, 70, "50-69"), (70, 80, "70-79"), (80, 90, "80-89"),
                 (90, 95, "90-94"), (95, 98, "95-97"), (98, 101, "98-100"))  # fmt: skip
NONE = "none"


def derive_labels(paths: pd.Series) -> pd.Series:
    """The default label: the name of the folder that holds the file (`train/n02105855/x.JPEG`
    gives `n02105855`; a tar member `shard.tar::n01/x.jpg` gives `n01`); empty when the file
    sits at the top of its root."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # RE2 over Arrow strings: 0.55 s for ImageNet's 1.33 M paths, where pandas' str.rsplit
    # took 2.7-4 s. The member's part is what follows the last "::"; the label is the component
    # before its last "/" (the pattern's leftmost match starts at that component).
    text = pc.fill_null(pa.array(paths, from_pandas=True).cast(pa.large_string()), "")
    member = pc.replace_substring_regex(text, r"(?s)^.*::", "")
    folder = pc.struct_field(pc.extract_regex(member, r"(?P<folder>[^/]*)/[^/]*$"), [0])
    labels = pc.fill_null(folder, "").to_pandas()
    return pd.Series(labels.to_numpy(), index=paths.index).astype(str)


def with_labels(df: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """`df` with a `label` column (the store's, or derived from the path) and where it came
    from."""
    if "label" in df.columns and df["label"].notna().any():
        return df, "label column"
    out = df.assign(label=derive_labels(column(df, "path")))
    return out, "derived from the path (class folder)"


def _band(values: np.ndarray, bands) -> np.ndarray:
    out = np.full(values.shape, NONE, dtype=object)
    for lo, hi, name in bands:
        out[(values >= lo) & (values < hi)] = name
    return out


def feature_columns(df: pd.DataFrame) -> pd.DataFrame:
    """One categorical column per FEATURE (strings; `none` for missing)."""
    quality = numeric(df, "quality_luma")
    pixels = numeric(df, "width") * numeric(df, "height")
    with np.errstate(divide="ignore", invalid="ignore"):
        size_band = np.where(pixels > 0, np.floor(np.log2(pixels)), np.nan)
    size_text = np.array(
        [NONE if math.isnan(v) else f"2^{int(v)} px" for v in size_band], dtype=object
    )
    progressive = column(df, "progressive").astype("boolean")
    return pd.DataFrame(
        {
            "format": column(df, "format").astype("string").fillna(NONE).to_numpy(dtype=object),
            "encoder": column(df, "encoder").astype("string").fillna(NONE).to_numpy(dtype=object),
            "header_signature": column(df, "header_signature")
            .astype("string")
            .fillna(NONE)
            .to_numpy(dtype=object),
            "quality_band": _band(quality, QUALITY_BANDS),
            "subsampling": column(df, "subsampling")
            .astype("string")
            .fillna(NONE)
            .to_numpy(dtype=object),
            "size_band": size_text,
            "progressive": progressive.map({True: "progressive", False: "sequential"})
            .astype("string")
            .fillna(NONE)
            .to_numpy(dtype=object),
        },
        index=df.index,
    )


def _codes(values) -> tuple[np.ndarray, list]:
    codes, uniques = pd.factorize(pd.Series(values), sort=True)
    return np.asarray(codes, dtype=np.int64), list(uniques)


def _table(labels: np.ndarray, n_labels: int, feature: np.ndarray, n_values: int) -> np.ndarray:
    return np.bincount(labels * n_values + feature, minlength=n_labels * n_values).reshape(
        n_labels, n_values
    )


def _cramers_v(table: np.ndarray) -> float:
    """Bias-corrected Cramér's V (Bergsma 2013) of a contingency table."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    n = table.sum()
    r, k = table.shape
    if n < 2 or r < 2 or k < 2:
        return 0.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    chi2 = float(((table - expected) ** 2 / expected).sum())
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    rc = r - (r - 1) ** 2 / (n - 1)
    kc = k - (k - 1) ** 2 / (n - 1)
    denominator = min(kc - 1, rc - 1)
    return math.sqrt(phi2 / denominator) if denominator > 0 else 0.0


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum())


def _nmi(table: np.ndarray) -> float:
    n = table.sum()
    if n == 0:
        return 0.0
    h_l, h_f = _entropy(table.sum(axis=1)), _entropy(table.sum(axis=0))
    if h_l == 0 or h_f == 0:
        return 0.0
    p = table / n
    outer = np.outer(table.sum(axis=1), table.sum(axis=0)) / n**2
    mask = p > 0
    mi = float((p[mask] * np.log2(p[mask] / outer[mask])).sum())
    return max(0.0, mi / math.sqrt(h_l * h_f))


def _label_distances(table: np.ndarray) -> np.ndarray:
    """Per label (row): total variation distance between its feature distribution and the
    distribution of all other rows."""
    sizes = table.sum(axis=1, keepdims=True)
    total = table.sum(axis=0, keepdims=True)
    rest = total - table
    rest_sizes = rest.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        mine = np.where(sizes > 0, table / sizes, 0.0)
        others = np.where(rest_sizes > 0, rest / rest_sizes, 0.0)
    return 0.5 * np.abs(mine - others).sum(axis=1)


def _predict_accuracy(labels: np.ndarray, key: np.ndarray, folds: int, rng) -> tuple[float, float]:
    """(accuracy, balanced accuracy) of predicting each file's label as the most common label
    among training files with the same key, k-fold cross-validated (unseen keys: the most
    common label overall)."""
    n = len(labels)
    fold = rng.permutation(n) % folds
    n_labels = int(labels.max()) + 1
    n_keys = int(key.max()) + 1
    correct = np.zeros(n, dtype=bool)
    for k in range(folds):
        train, test = fold != k, fold == k
        counts = np.bincount(key[train] * n_labels + labels[train],
                             minlength=n_keys * n_labels).reshape(n_keys, n_labels)  # fmt: skip
        best = counts.argmax(axis=1)
        seen = counts.sum(axis=1) > 0
        fallback = int(np.bincount(labels[train], minlength=n_labels).argmax())
        predicted = np.where(seen[key[test]], best[key[test]], fallback)
        correct[test] = predicted == labels[test]
    accuracy = float(correct.mean()) if n else 0.0
    per_label = np.bincount(labels, weights=correct, minlength=n_labels)
    sizes = np.bincount(labels, minlength=n_labels)
    present = sizes > 0
    balanced = float((per_label[present] / sizes[present]).mean()) if present.any() else 0.0
    return accuracy, balanced


def label_leakage(
    df: pd.DataFrame,
    features: Sequence[str] = FEATURES,
    *,
    permutations: int = PERMUTATIONS,
    folds: int = 5,
    seed: int = 0,
    max_association: float = THRESHOLDS["max_association"],
    max_label_distance: float = THRESHOLDS["max_label_distance"],
    alpha: float = THRESHOLDS["alpha"],
    top_labels: int = 10,
    examples: int = 3,
    max_rows: int = MAX_ROWS,
) -> dict:
    """The `label_leakage` section of summary.json (see the module docstring). `df` needs a
    `label` column (`with_labels` adds the default one); rows without a label are left out."""
    labels_all = column(df, "label").astype("string")
    keep = labels_all.notna().to_numpy() & (labels_all.fillna("") != "").to_numpy()
    rows = df[keep]
    thresholds = {"max_association": max_association, "max_label_distance": max_label_distance,
                  "alpha": alpha, "permutations": permutations}  # fmt: skip
    n = len(rows)
    label_codes, label_names = _codes(labels_all[keep].to_numpy(dtype=object))
    n_labels = len(label_names)
    result: dict = {"files": n, "labels": n_labels, "thresholds": thresholds}
    if n_labels < 2 or n < 4:
        result.update(flagged=False, features=[], prediction=None, labels_differing=[],
                      flagged_labels=[], note="fewer than two labels: nothing to compare")  # fmt: skip
        return result
    rng = np.random.default_rng(seed)
    feats = feature_columns(rows)
    coded = {f: _codes(feats[f].to_numpy()) for f in features}
    # Permutations (and cross-validation) on a sample of at most max_rows rows.
    sample = np.arange(n) if n <= max_rows else np.sort(rng.choice(n, max_rows, replace=False))
    shuffles = [rng.permutation(label_codes[sample]) for _ in range(permutations)]

    feature_out, label_scores = [], np.zeros((n_labels, len(features)))
    null_label_max = np.zeros(len(features))
    for j, name in enumerate(features):
        codes, values = coded[name]
        table = _table(label_codes, n_labels, codes, len(values))
        v, nmi = _cramers_v(table), _nmi(table)
        dist = _label_distances(table)
        label_scores[:, j] = dist
        null_v, null_max = [], []
        for perm in shuffles:
            t = _table(perm, n_labels, codes[sample], len(values))
            null_v.append(_cramers_v(t))
            sizes = t.sum(axis=1)
            d = _label_distances(t)
            null_max.append(float(d[sizes >= MIN_LABEL_FILES].max(initial=0.0)))
        p = (1 + sum(x >= v for x in null_v)) / (1 + permutations) if permutations else 1.0
        null_label_max[j] = float(np.quantile(null_max, 1 - alpha)) if null_max else 0.0
        feature_out.append(
            {
                "feature": name,
                "values": len(values),
                "cramers_v": v,
                "nmi": nmi,
                "p_value": p,
                "null_cramers_v_max": max(null_v) if null_v else None,
                "flagged": bool(v >= max_association and p <= alpha),
            }
        )

    # Prediction from compression alone (every feature but the signature, combined).
    combo = [f for f in features if f != "header_signature"] or list(features)
    key = np.zeros(n, dtype=np.int64)
    for name in combo:
        codes, values = coded[name]
        key = key * len(values) + codes
        key = _codes(key)[0]
    sub_labels = label_codes[sample]
    sub_key = _codes(key[sample])[0]
    accuracy, balanced = _predict_accuracy(sub_labels, sub_key, folds, rng)
    null_bal = [_predict_accuracy(perm, sub_key, folds, rng)[1]
                for perm in shuffles[: max(1, min(permutations, 19))]]  # fmt: skip
    sizes = np.bincount(sub_labels, minlength=n_labels)
    prediction = {
        "features": combo,
        "folds": folds,
        "accuracy": accuracy,
        "chance_accuracy": float(sizes.max() / sizes.sum()),
        "balanced_accuracy": balanced,
        "chance_balanced_accuracy": 1.0 / int((sizes > 0).sum()),
        "shuffled_balanced_accuracy_max": max(null_bal),
        "p_value": (1 + sum(x >= balanced for x in null_bal)) / (1 + len(null_bal)),
    }

    # Labels whose compression differs most from the rest.
    label_sizes = np.bincount(label_codes, minlength=n_labels)
    best_feature = label_scores.argmax(axis=1)
    best_score = label_scores.max(axis=1)
    order = np.lexsort((np.array(label_names, dtype=object).astype(str), -best_score))
    paths = column(rows, "path").astype("string").fillna("").to_numpy(dtype=object)
    differing, flagged_labels = [], []
    for i in order[:top_labels]:
        j = int(best_feature[i])
        name = features[j]
        mine = feats[name].to_numpy()[label_codes == i]
        others = feats[name].to_numpy()[label_codes != i]
        mine_top = pd.Series(mine).value_counts()
        rest_top = pd.Series(others).value_counts()
        flagged = bool(
            label_sizes[i] >= MIN_LABEL_FILES
            and best_score[i] >= max_label_distance
            and best_score[i] > null_label_max[j]
        )
        item = {
            "label": str(label_names[i]),
            "files": int(label_sizes[i]),
            "feature": name,
            "distance": float(best_score[i]),
            "null_distance": float(null_label_max[j]),
            "label_value": str(mine_top.index[0]),
            "label_value_share": float(mine_top.iloc[0] / len(mine)),
            "rest_value": str(rest_top.index[0]) if len(rest_top) else None,
            "rest_value_share": float(rest_top.iloc[0] / len(others)) if len(rest_top) else None,
            "examples": sorted(str(p) for p in paths[label_codes == i])[:examples],
            "flagged": flagged,
        }
        differing.append(item)
        if flagged:
            flagged_labels.append(item["label"])
    # Flagged labels beyond the top ones shown are still named.
    for i in order[top_labels:]:
        j = int(best_feature[i])
        if (label_sizes[i] >= MIN_LABEL_FILES and best_score[i] >= max_label_distance
                and best_score[i] > null_label_max[j]):  # fmt: skip
            flagged_labels.append(str(label_names[i]))
    any_feature = any(f["flagged"] for f in feature_out)
    result.update(
        flagged=bool(any_feature or flagged_labels),
        features=feature_out,
        prediction=prediction,
        labels_differing=differing,
        flagged_labels=flagged_labels,
    )
    return result
