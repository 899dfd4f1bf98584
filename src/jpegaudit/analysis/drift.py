"""Train-vs-val drift: one distribution distance per compression setting between two splits.

Categorical settings (format, colour, subsampling, ...) use the **total variation distance**
(half the L1 distance between the two splits' category shares: the share of files that would
have to change category for the splits to match; 0..1) or, on request, the **Jensen-Shannon
distance** (square root of the base-2 Jensen-Shannon divergence; 0..1).

Numeric settings use the 1-D **Wasserstein (earth mover's) distance**, in a unit chosen so that
a policy threshold reads naturally:

- qualities (`quality_luma`, `quality_chroma`): raw IJG quality points. `quality_luma = 2.0`
  means "on average, files would have to move 2 quality points for the splits to match". All
  train files at q90 and all val files at q60 give exactly 30.
- sizes and ratios (`width`, `height`, `pixels`, `aspect_ratio`, `bytes`, `bytes_per_pixel`):
  Wasserstein distance of the **log2** values, i.e. in doublings. 0.1 means the splits differ
  by about 7 % (2^0.1) on average; 1.0 means a factor of 2. These quantities are multiplicative
  (a 100-pixel shift matters at 200 px, not at 4000 px), and neither pooled standard deviation
  nor IQR works as a scale: for ImageNet widths the IQR is 0 (nearly every width is 500).

Nulls are not values: a row without a value for a setting (a PNG has no subsampling) is left
out of that setting's distribution, and `n_a`/`n_b` count the rows that have one. Where absence
is itself the finding, the setting says so explicitly (`orientation` counts JPEGs without an
EXIF orientation as `none`; `error` is whether the row has an error at all). A setting with no
values in one of the splits has distance NaN ("undefined").

`SUGGESTED_LIMITS` gives per-setting thresholds in those units (used by the report to rank
and highlight settings, and a sensible start for a policy's `drift` rule); `ratio` in the
table is distance / suggested limit, which makes settings of different units comparable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "DRIFT_SETTINGS",
    "SETTINGS",
    "SUGGESTED_LIMITS",
    "DriftSetting",
    "distance",
    "drift_table",
    "jensen_shannon_distance",
    "total_variation_distance",
    "wasserstein_1d",
]

Kind = Literal["categorical", "numeric"]
CategoricalMetric = Literal["total_variation", "jensen_shannon"]

TABLE_COLUMNS = (
    "setting",
    "kind",
    "metric",
    "distance",
    "unit",
    "n_a",
    "n_b",
    "detail",
    "limit",
    "ratio",
)


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series(pd.NA, index=df.index, dtype="object")


def _numeric(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("float64")


def _col(name: str) -> Callable[[pd.DataFrame], pd.Series]:
    return lambda df: _column(df, name)


def _is_jpeg(df: pd.DataFrame) -> pd.Series:
    return _column(df, "format").astype("object").eq("jpeg").fillna(False).astype(bool)


def _orientation(df: pd.DataFrame) -> pd.Series:
    # A JPEG without an EXIF orientation displays as stored: that is a value ("none"), not a gap.
    values = _numeric(_column(df, "orientation")).to_numpy()
    codes = np.full(len(values), -1, dtype=np.int64)
    has = np.isfinite(values) & (values >= 1) & (values <= 8)
    codes[has] = values[has].astype(np.int64)
    codes[_is_jpeg(df).to_numpy(bool) & ~np.isfinite(values)] = 0
    labels = ["none", *[str(i) for i in range(1, 9)]]
    return pd.Series(pd.Categorical.from_codes(codes, categories=labels), index=df.index)


def _error(df: pd.DataFrame) -> pd.Series:
    return _column(df, "error").notna()


def _trailing_data(df: pd.DataFrame) -> pd.Series:
    trailing = _numeric(_column(df, "trailing_bytes")).to_numpy()
    known = np.isfinite(trailing)
    values = pd.arrays.BooleanArray(np.where(known, trailing > 0, False), ~known)
    return pd.Series(values, index=df.index)


def _pixels(df: pd.DataFrame) -> pd.Series:
    return _numeric(_column(df, "width")) * _numeric(_column(df, "height"))


def _aspect_ratio(df: pd.DataFrame) -> pd.Series:
    return _numeric(_column(df, "width")) / _numeric(_column(df, "height"))


def _bytes_per_pixel(df: pd.DataFrame) -> pd.Series:
    return _numeric(_column(df, "bytes")) / _pixels(df)


@dataclass(frozen=True)
class DriftSetting:
    """One comparable setting: how to read its per-row value from a store DataFrame."""

    name: str
    kind: Kind
    values: Callable[[pd.DataFrame], pd.Series]
    unit: str
    limit: float  # suggested threshold, in `unit`
    log2: bool = False  # numeric: compare log2(value) (multiplicative quantities)
    description: str = ""


_SHARE = "share of files"
_QUALITY = "quality points"
_LOG2 = "log2 (doublings)"

_SETTING_LIST: tuple[DriftSetting, ...] = (
    DriftSetting("format", "categorical", _col("format"), _SHARE, 0.01, description="content format"),
    DriftSetting("ext_mismatch", "categorical", _col("ext_mismatch"), _SHARE, 0.01,
                 description="extension names another format"),
    DriftSetting("error", "categorical", _error, _SHARE, 0.01, description="row has an error"),
    DriftSetting("color", "categorical", _col("color"), _SHARE, 0.02, description="colour space"),
    DriftSetting("subsampling", "categorical", _col("subsampling"), _SHARE, 0.05,
                 description="chroma subsampling"),
    DriftSetting("process", "categorical", _col("process"), _SHARE, 0.02,
                 description="coding process"),
    DriftSetting("progressive", "categorical", _col("progressive"), _SHARE, 0.02,
                 description="progressive coding"),
    DriftSetting("arithmetic", "categorical", _col("arithmetic"), _SHARE, 0.01,
                 description="arithmetic coding"),
    DriftSetting("precision", "categorical", _col("precision"), _SHARE, 0.01,
                 description="sample precision (bits)"),
    DriftSetting("quality_luma", "numeric", _col("quality_luma"), _QUALITY, 2.0,
                 description="IJG quality of the luma table"),
    DriftSetting("quality_chroma", "numeric", _col("quality_chroma"), _QUALITY, 2.0,
                 description="IJG quality of the chroma table"),
    DriftSetting("quality_exact", "categorical", _col("quality_exact"), _SHARE, 0.05,
                 description="tables are exactly IJG's"),
    DriftSetting("encoder", "categorical", _col("encoder"), _SHARE, 0.05,
                 description="encoder family"),
    DriftSetting("qtables_hash", "categorical", _col("qtables_hash"), _SHARE, 0.1,
                 description="quantization-table fingerprint"),
    DriftSetting("huffman_standard", "categorical", _col("huffman_standard"), _SHARE, 0.05,
                 description="standard (not optimized) Huffman tables"),
    DriftSetting("width", "numeric", _col("width"), _LOG2, 0.1, log2=True,
                 description="frame width"),
    DriftSetting("height", "numeric", _col("height"), _LOG2, 0.1, log2=True,
                 description="frame height"),
    DriftSetting("pixels", "numeric", _pixels, _LOG2, 0.2, log2=True,
                 description="width x height"),
    DriftSetting("aspect_ratio", "numeric", _aspect_ratio, _LOG2, 0.1, log2=True,
                 description="width / height"),
    DriftSetting("bytes", "numeric", _col("bytes"), _LOG2, 0.2, log2=True,
                 description="file size"),
    DriftSetting("bytes_per_pixel", "numeric", _bytes_per_pixel, _LOG2, 0.2, log2=True,
                 description="file size / (width x height)"),
    DriftSetting("orientation", "categorical", _orientation, _SHARE, 0.02,
                 description="EXIF orientation (none = no tag)"),
    DriftSetting("icc", "categorical", _col("icc"), _SHARE, 0.05,
                 description="ICC profile present"),
    DriftSetting("exif", "categorical", _col("exif"), _SHARE, 0.05,
                 description="EXIF present"),
    DriftSetting("truncated", "categorical", _col("truncated"), _SHARE, 0.01,
                 description="file ends early"),
    DriftSetting("trailing_data", "categorical", _trailing_data, _SHARE, 0.01,
                 description="bytes after EOI"),
)  # fmt: skip

SETTINGS: dict[str, DriftSetting] = {s.name: s for s in _SETTING_LIST}
DRIFT_SETTINGS: tuple[str, ...] = tuple(SETTINGS)
SUGGESTED_LIMITS: dict[str, float] = {s.name: s.limit for s in _SETTING_LIST}


# -- distances --------------------------------------------------------------------------------
def total_variation_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Half the L1 distance between two probability vectors over the same categories."""
    return float(0.5 * np.abs(np.asarray(p, float) - np.asarray(q, float)).sum())


def jensen_shannon_distance(p: np.ndarray, q: np.ndarray) -> float:
    """Square root of the base-2 Jensen-Shannon divergence (0 = same, 1 = disjoint)."""
    p = np.asarray(p, float)
    q = np.asarray(q, float)
    m = 0.5 * (p + q)

    def kl(x: np.ndarray) -> float:
        nz = x > 0
        return float(np.sum(x[nz] * np.log2(x[nz] / m[nz])))

    divergence = max(0.0, 0.5 * kl(p) + 0.5 * kl(q))
    return float(np.sqrt(min(1.0, divergence)))


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """First Wasserstein distance between two 1-D samples: the area between their CDFs.

    Same definition as scipy.stats.wasserstein_distance (unweighted), in numpy only."""
    a = np.sort(np.asarray(a, dtype="float64"))
    b = np.sort(np.asarray(b, dtype="float64"))
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    support = np.unique(np.concatenate([a, b]))
    if len(support) < 2:
        return 0.0
    widths = np.diff(support)
    cdf_a = np.searchsorted(a, support[:-1], side="right") / len(a)
    cdf_b = np.searchsorted(b, support[:-1], side="right") / len(b)
    return float(np.sum(np.abs(cdf_a - cdf_b) * widths))


# -- per-setting comparison -------------------------------------------------------------------
def _split_masks(df: pd.DataFrame, split_a: str, split_b: str) -> tuple[np.ndarray, np.ndarray]:
    split = _column(df, "split").astype("object")
    return (split == split_a).to_numpy(dtype=bool), (split == split_b).to_numpy(dtype=bool)


def _setting(name: str) -> DriftSetting:
    try:
        return SETTINGS[name]
    except KeyError:
        raise ValueError(
            f"unknown drift setting {name!r} (known: {', '.join(DRIFT_SETTINGS)})"
        ) from None


def _label(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _compare_categorical(
    values: pd.Series, mask_a: np.ndarray, mask_b: np.ndarray, metric: CategoricalMetric
) -> tuple[float, int, int, str]:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    codes = np.asarray(codes)
    # Count per distinct value, then merge values that print the same (6 and 6.0).
    labels = [_label(u) for u in uniques]
    merged = sorted(set(labels))
    index = np.array([merged.index(label) for label in labels] + [-1], dtype=np.int64)
    label_codes = index[codes]  # a null code (-1) picks the trailing -1
    valid = label_codes >= 0
    counts_a = np.bincount(label_codes[mask_a & valid], minlength=len(merged))
    counts_b = np.bincount(label_codes[mask_b & valid], minlength=len(merged))
    n_a, n_b = int(counts_a.sum()), int(counts_b.sum())
    if n_a == 0 or n_b == 0:
        return float("nan"), n_a, n_b, _no_values(n_a, n_b)
    p, q = counts_a / n_a, counts_b / n_b
    dist = (
        total_variation_distance(p, q)
        if metric == "total_variation"
        else (jensen_shannon_distance(p, q))
    )
    top = int(np.argmax(np.abs(q - p)))  # ties: the first label in sorted order
    detail = f"{merged[top]}: {_share(p[top])} -> {_share(q[top])}"
    return dist, n_a, n_b, detail


def _share(x: float) -> str:
    """A share as a percentage with one decimal, or two significant digits when smaller."""
    pct = 100.0 * x
    if pct == 0 or pct >= 0.1:
        return f"{pct:.1f}%"
    return f"{pct:.{1 - math.floor(math.log10(pct))}f}%"


def _no_values(n_a: int, n_b: int) -> str:
    return "no values in " + (
        "both splits" if n_a == n_b == 0 else ("split a" if n_a == 0 else "split b")
    )


def _fmt_number(x: float) -> str:
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:.3g}"


def _compare_numeric(
    values: pd.Series, mask_a: np.ndarray, mask_b: np.ndarray, log2: bool
) -> tuple[float, int, int, str]:
    raw = _numeric(values).to_numpy()
    finite = np.isfinite(raw)
    if log2:
        finite &= raw > 0
    a = raw[mask_a & finite]
    b = raw[mask_b & finite]
    if len(a) == 0 or len(b) == 0:
        return float("nan"), len(a), len(b), _no_values(len(a), len(b))
    dist = wasserstein_1d(np.log2(a), np.log2(b)) if log2 else wasserstein_1d(a, b)
    detail = f"median {_fmt_number(np.median(a))} -> {_fmt_number(np.median(b))}"
    return dist, len(a), len(b), detail


def _compare(
    df: pd.DataFrame,
    setting: DriftSetting,
    mask_a: np.ndarray,
    mask_b: np.ndarray,
    categorical_metric: CategoricalMetric,
) -> dict:
    values = setting.values(df)
    if setting.kind == "categorical":
        metric: str = categorical_metric
        dist, n_a, n_b, detail = _compare_categorical(values, mask_a, mask_b, categorical_metric)
    else:
        metric = "wasserstein"
        dist, n_a, n_b, detail = _compare_numeric(values, mask_a, mask_b, setting.log2)
    return {
        "setting": setting.name,
        "kind": setting.kind,
        "metric": metric,
        "distance": dist,
        "unit": setting.unit,
        "n_a": n_a,
        "n_b": n_b,
        "detail": detail,
        "limit": setting.limit,
        "ratio": dist / setting.limit if np.isfinite(dist) else float("nan"),
    }


def distance(
    df: pd.DataFrame,
    split_a: str,
    split_b: str,
    setting: str,
    *,
    categorical_metric: CategoricalMetric = "total_variation",
) -> float:
    """The distance for one setting between two splits (NaN when a split has no values)."""
    mask_a, mask_b = _split_masks(df, split_a, split_b)
    return _compare(df, _setting(setting), mask_a, mask_b, categorical_metric)["distance"]


def drift_table(
    df: pd.DataFrame,
    split_a: str,
    split_b: str,
    settings: Sequence[str] | None = None,
    *,
    categorical_metric: CategoricalMetric = "total_variation",
) -> pd.DataFrame:
    """One row per setting: setting, kind, metric, distance, unit, n_a, n_b, detail (the
    category that moved most, or the medians), limit (suggested threshold) and ratio
    (distance / limit, comparable across units). Rows keep the order of `settings`
    (default: DRIFT_SETTINGS). Unknown setting names raise ValueError."""
    if categorical_metric not in ("total_variation", "jensen_shannon"):
        raise ValueError(f"unknown categorical metric {categorical_metric!r}")
    chosen = [_setting(name) for name in (DRIFT_SETTINGS if settings is None else settings)]
    mask_a, mask_b = _split_masks(df, split_a, split_b)
    rows = [_compare(df, s, mask_a, mask_b, categorical_metric) for s in chosen]
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return table.astype({"distance": "float64", "n_a": "int64", "n_b": "int64"})
