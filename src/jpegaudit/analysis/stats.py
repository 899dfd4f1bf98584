"""The counts and distributions behind the report's figures, per split.

Every function takes a scan-store DataFrame (`jpegaudit.read_store`, or `pandas.read_parquet`
of a store, or any frame with the store's column names; missing columns count as null) and
returns plain Python values (dicts of ints, floats and strings, lists) that can go straight into
JSON. No plotting here. Nulls are never assumed away: a row without a value for a quantity is
counted under an explicit label (`no frame`, `none`) or left out of that quantity, and each
function says which.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from jpegaudit.jpeg.describe import COLOR_MODELS, PROCESSES, SUBSAMPLING_SCHEMES
from jpegaudit.provenance import ENCODER_FAMILIES

__all__ = [
    "COLOR_ORDER",
    "KNOWN_SUBSAMPLING",
    "NO_FRAME",
    "bpp_vs_quality",
    "color_counts",
    "encoder_families",
    "file_size_histogram",
    "fingerprints",
    "icc_counts",
    "orientation_counts",
    "outliers",
    "overview",
    "process_counts",
    "progressive_share",
    "quality_histograms",
    "size_counts",
    "split_order",
    "subsampling_counts",
]

NO_FRAME = "no frame"  # the row has no SOF: not a JPEG, unreadable, or a broken header
COLOR_ORDER = (*COLOR_MODELS, NO_FRAME)
KNOWN_SUBSAMPLING = (*SUBSAMPLING_SCHEMES.values(), "gray")
PROCESS_ORDER = (*PROCESSES, NO_FRAME)
_SPLIT_PREFERENCE = ("train", "val", "validation", "test")


# -- column access that tolerates missing columns and any dtype --------------------------------
def column(df: pd.DataFrame, name: str) -> pd.Series:
    """The column, or an all-null object column when the frame lacks it."""
    if name in df.columns:
        return df[name]
    return pd.Series(None, index=df.index, dtype="object")


def numeric(df: pd.DataFrame, name: str) -> np.ndarray:
    """The column as a new float64 array with NaN for nulls."""
    values = pd.to_numeric(column(df, name), errors="coerce")
    # A copy: a float column's array can be a read-only view (copy-on-write), and callers write.
    return values.to_numpy(dtype="float64", na_value=np.nan, copy=True)


def flag(df: pd.DataFrame, name: str) -> np.ndarray:
    """A boolean column as a numpy bool array, null counted as False."""
    values = column(df, name)
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool)


def is_jpeg(df: pd.DataFrame) -> np.ndarray:
    return eq(df, "format", "jpeg")


def split_codes(df: pd.DataFrame, splits: Sequence[str]) -> np.ndarray:
    """Per row, the index of its split in `splits` (-1 for other splits)."""
    codes, uniques = pd.factorize(column(df, "split"))
    order = list(splits)
    lookup = np.array([order.index(u) if u in order else -1 for u in uniques] + [-1])
    return lookup[codes]


def split_order(df: pd.DataFrame) -> list[str]:
    """Splits in reading order: train, val, validation, test first, then the rest by name."""
    present = set(column(df, "split").dropna().astype(str).unique())
    first = [s for s in _SPLIT_PREFERENCE if s in present]
    return first + sorted(present - set(first))


def _label(value: object) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def eq(df: pd.DataFrame, name: str, value: object) -> np.ndarray:
    """column == value as a bool array, null counted as False (works for every string dtype)."""
    return column(df, name).eq(value).fillna(False).to_numpy(dtype=bool)


def isin(df: pd.DataFrame, name: str, values: Sequence[object]) -> np.ndarray:
    return column(df, name).isin(list(values)).to_numpy(dtype=bool)


def notna(df: pd.DataFrame, name: str) -> np.ndarray:
    return column(df, name).notna().to_numpy(dtype=bool)


def labels_in_order(counts: Mapping[str, Mapping[str, int]], splits: Sequence[str]) -> list[str]:
    """The labels of `counts_by_split`'s result, each once, in the order the splits list them
    (the overall-count order it sorted them in)."""
    return list(dict.fromkeys(label for s in splits for label in counts.get(s, {})))


def counts_by_split(
    df: pd.DataFrame, values: pd.Series, splits: Sequence[str], missing: str | None = None
) -> dict[str, dict[str, int]]:
    """{split: {label: count}}, labels ordered by overall count (ties by label); nulls are
    dropped, or counted under `missing` when given."""
    frame = pd.DataFrame({"split": column(df, "split"), "v": values})
    table = frame.groupby(["split", "v"], dropna=False, observed=True).size()
    counts: dict[str, dict[str, int]] = {s: {} for s in splits}
    totals: dict[str, int] = {}
    for (split, value), n in table.items():
        if pd.isna(value):
            if missing is None:
                continue
            label = missing
        else:
            label = _label(value)
        if split in counts:
            counts[split][label] = counts[split].get(label, 0) + int(n)
            totals[label] = totals.get(label, 0) + int(n)
    order = sorted(totals, key=lambda k: (-totals[k], k))
    return {s: {k: per[k] for k in order if k in per} for s, per in counts.items()}


def _ordered(counts: dict[str, dict[str, int]], order: Sequence[str]) -> dict[str, dict[str, int]]:
    """Put known labels first in `order`, others after by their existing (count) order."""
    out = {}
    for split, per in counts.items():
        known = [k for k in order if k in per]
        rest = [k for k in per if k not in order]
        out[split] = {k: per[k] for k in known + rest}
    return out


def _split_rows(df: pd.DataFrame, splits: Sequence[str]) -> dict[str, int]:
    sizes = column(df, "split").value_counts()
    return {s: int(sizes.get(s, 0)) for s in splits}


# -- overview ---------------------------------------------------------------------------------
def overview(df: pd.DataFrame, splits: Sequence[str] | None = None) -> dict[str, dict[str, int]]:
    """Per split, plus `all`: rows, JPEGs, non-JPEG files, special entries, errors, extension
    mismatches, truncated files, files with trailing data, CMYK/YCCK, 4:1:1, quality < 10."""
    splits = list(split_order(df) if splits is None else splits)
    split = split_codes(df, splits)
    jpeg = is_jpeg(df)
    special = notna(df, "entry_type") & ~eq(df, "entry_type", "file")
    fmt_known = notna(df, "format")
    quality = numeric(df, "quality_luma")
    trailing = numeric(df, "trailing_bytes")
    measures = {
        "rows": np.ones(len(df), dtype=bool),
        "jpeg": jpeg,
        "not_jpeg": fmt_known & ~jpeg,
        "special_entries": special,
        "errors": column(df, "error").notna().to_numpy(dtype=bool),
        "ext_mismatch": flag(df, "ext_mismatch"),
        "truncated": flag(df, "truncated"),
        "trailing_data": np.nan_to_num(trailing, nan=0) > 0,
        "cmyk_or_ycck": isin(df, "color", ["cmyk", "ycck"]),
        "subsampling_4_1_1": eq(df, "subsampling", "4:1:1"),
        "quality_below_10": np.nan_to_num(quality, nan=101) < 10,
        "quality_approximate": ~flag(df, "quality_exact") & ~np.isnan(quality),
        "progressive": flag(df, "progressive"),
    }
    out: dict[str, dict[str, int]] = {}
    for i, name in enumerate([*splits, "all"]):
        mask = np.ones(len(df), bool) if name == "all" else split == i
        out[name] = {key: int(np.count_nonzero(values & mask)) for key, values in measures.items()}
    return out


# -- categorical figures ---------------------------------------------------------------------
def color_counts(df: pd.DataFrame, splits: Sequence[str]) -> dict[str, dict[str, int]]:
    """Colour per split; rows without a frame counted as `no frame`."""
    return _ordered(counts_by_split(df, column(df, "color"), splits, missing=NO_FRAME), COLOR_ORDER)


def subsampling_counts(df: pd.DataFrame, splits: Sequence[str]) -> dict[str, dict[str, int]]:
    """Subsampling per split (named schemes in a fixed order, then raw factor strings by count);
    rows without a frame are left out."""
    return _ordered(counts_by_split(df, column(df, "subsampling"), splits), KNOWN_SUBSAMPLING)


def process_counts(df: pd.DataFrame, splits: Sequence[str]) -> dict[str, dict[str, int]]:
    """Coding process per split; rows without a frame counted as `no frame`."""
    return _ordered(
        counts_by_split(df, column(df, "process"), splits, missing=NO_FRAME), PROCESS_ORDER
    )


def progressive_share(df: pd.DataFrame, splits: Sequence[str]) -> dict[str, dict[str, float]]:
    """Per split: files with a frame, how many are progressive, and the share."""
    split = split_codes(df, splits)
    has = column(df, "progressive").notna().to_numpy(dtype=bool)
    prog = flag(df, "progressive")
    out = {}
    for k, s in enumerate(splits):
        mask = split == k
        n = int(np.count_nonzero(has & mask))
        p = int(np.count_nonzero(prog & mask))
        out[s] = {"with_frame": n, "progressive": p, "share": p / n if n else float("nan")}
    return out


def orientation_counts(df: pd.DataFrame, splits: Sequence[str]) -> dict[str, dict[str, int]]:
    """EXIF orientation per split over JPEGs: `none` when the file has no orientation tag."""
    values = numeric(df, "orientation")
    values[np.isnan(values) & is_jpeg(df)] = 0  # a JPEG without the tag: displayed as stored
    counts = counts_by_split(df, pd.Series(values, index=df.index), splits)
    renamed = {
        s: {("none" if k == "0" else k): n for k, n in per.items()} for s, per in counts.items()
    }
    return _ordered(renamed, ["none", *[str(i) for i in range(1, 9)]])


def icc_counts(df: pd.DataFrame, splits: Sequence[str]) -> dict[str, dict[str, int]]:
    """ICC profile per JPEG, by the profile's colour space: `no ICC`, `ICC RGB`, `ICC GRAY`,
    `ICC CMYK`, `ICC (unknown space)`. Rows without an `icc` value (not JPEG) are left out."""
    frame = pd.DataFrame(
        {
            "split": column(df, "split"),
            "icc": column(df, "icc"),
            "space": column(df, "icc_colorspace"),
        }
    )
    table = frame.groupby(["split", "icc", "space"], dropna=False, observed=True).size()
    counts: dict[str, dict[str, int]] = {s: {} for s in splits}
    for (split, icc, space), n in table.items():
        if split not in counts or pd.isna(icc):
            continue
        label = (
            ("ICC " + (str(space) if pd.notna(space) else "(unknown space)")) if icc else "no ICC"
        )
        counts[split][label] = counts[split].get(label, 0) + int(n)
    totals: dict[str, int] = {}
    for per in counts.values():
        for k, n in per.items():
            totals[k] = totals.get(k, 0) + n
    order = ["no ICC", *sorted((k for k in totals if k != "no ICC"), key=lambda k: (-totals[k], k))]
    return _ordered(counts, order)


def encoder_families(df: pd.DataFrame, splits: Sequence[str]) -> dict[str, dict[str, int]]:
    """Encoder family (`encoder` column) per split over JPEGs."""
    return _ordered(
        counts_by_split(df, column(df, "encoder"), splits),
        list(ENCODER_FAMILIES),
    )


# -- sizes ------------------------------------------------------------------------------------
def size_counts(df: pd.DataFrame, splits: Sequence[str]) -> pd.DataFrame:
    """Distinct (width, height) frames per split: columns split, width, height, count, sorted
    by split order then count (descending). Rows without a frame are left out."""
    frame = pd.DataFrame(
        {
            "split": column(df, "split").to_numpy(dtype=object),
            "width": numeric(df, "width"),
            "height": numeric(df, "height"),
        }
    ).dropna()
    if frame.empty:
        return pd.DataFrame(columns=["split", "width", "height", "count"])
    frame = frame.astype({"width": "int64", "height": "int64"})
    counts = frame.groupby(["split", "width", "height"]).size().rename("count").reset_index()
    rank = {s: i for i, s in enumerate(splits)}
    counts = counts[counts["split"].isin(rank)]
    counts = counts.assign(_r=counts["split"].map(rank)).sort_values(
        ["_r", "count", "width", "height"], ascending=[True, False, True, True], kind="stable"
    )
    return counts.drop(columns="_r").reset_index(drop=True)


# -- quality -------------------------------------------------------------------------------
def quality_histograms(df: pd.DataFrame, splits: Sequence[str]) -> dict[str, dict]:
    """Per split, counts at each IJG quality 1..100 (lists of 100, index 0 = quality 1):
    `luma_exact`, `luma_approx`, `chroma_exact`, `chroma_approx`; `luma_differs_from_chroma`
    counts files with both qualities whose values differ; `no_tables` counts rows without a
    quality."""
    split = split_codes(df, splits)
    exact = flag(df, "quality_exact")
    luma = numeric(df, "quality_luma")
    chroma = numeric(df, "quality_chroma")
    out = {}
    for k, s in enumerate(splits):
        mask = split == k
        entry: dict = {}
        for name, q in (("luma", luma), ("chroma", chroma)):
            for kind, sel in (("exact", exact), ("approx", ~exact)):
                v = q[mask & sel & ~np.isnan(q)].astype(int)
                entry[f"{name}_{kind}"] = np.bincount(
                    np.clip(v, 1, 100) - 1, minlength=100
                ).tolist()
        both = mask & ~np.isnan(luma) & ~np.isnan(chroma)
        entry["luma_differs_from_chroma"] = int(np.count_nonzero(luma[both] != chroma[both]))
        entry["no_tables"] = int(np.count_nonzero(mask & np.isnan(luma)))
        out[s] = entry
    return out


# -- file size and bytes per pixel ----------------------------------------------------------
def file_size_histogram(df: pd.DataFrame, splits: Sequence[str], per_decade: int = 20) -> dict:
    """Histogram of file size on log-spaced bins shared by all splits: `edges` (bytes) and
    `counts` per split; files of 0 bytes are counted apart (`empty`), rows without a size are
    left out."""
    nbytes = numeric(df, "bytes")
    split = split_codes(df, splits)
    positive = nbytes[nbytes > 0]
    if positive.size == 0:
        return {"edges": [], "counts": {s: [] for s in splits}, "empty": {s: 0 for s in splits}}
    lo = np.floor(np.log10(positive.min()) * per_decade) / per_decade
    hi = np.ceil(np.log10(positive.max()) * per_decade) / per_decade
    hi = max(hi, lo + 1.0 / per_decade)
    edges = 10 ** np.linspace(lo, hi, int(round((hi - lo) * per_decade)) + 1)
    counts, empty, quantiles = {}, {}, {}
    for k, s in enumerate(splits):
        v = nbytes[(split == k) & (nbytes > 0)]
        counts[s] = np.histogram(v, bins=edges)[0].tolist()
        empty[s] = int(np.count_nonzero((split == k) & (nbytes == 0)))
        quantiles[s] = (
            {f"p{p}": float(np.percentile(v, p)) for p in (1, 10, 50, 90, 99)} if v.size else {}
        )
    return {"edges": edges.tolist(), "counts": counts, "empty": empty, "quantiles": quantiles}


def bytes_per_pixel(df: pd.DataFrame) -> np.ndarray:
    """bytes / (width x height); NaN where any is missing or the frame is empty."""
    pixels = numeric(df, "width") * numeric(df, "height")
    with np.errstate(divide="ignore", invalid="ignore"):
        bpp = numeric(df, "bytes") / pixels
    bpp[~np.isfinite(bpp) | (bpp <= 0)] = np.nan
    return bpp


def bpp_vs_quality(df: pd.DataFrame, splits: Sequence[str], bins_per_octave: int = 4) -> dict:
    """Bytes per pixel against luma quality, per split: a 2-D histogram (`quality` 1..100 by
    log2-spaced `bpp_edges`) and, per quality with files, count and the 10/25/50/75/90th
    percentiles of bytes per pixel. Rows without a quality or a frame are left out."""
    bpp = bytes_per_pixel(df)
    quality = numeric(df, "quality_luma")
    split = split_codes(df, splits)
    ok = ~np.isnan(bpp) & ~np.isnan(quality)
    if not ok.any():
        return {"bpp_edges": [], "histogram": {s: [] for s in splits}, "per_quality": {}}
    lb = np.log2(bpp[ok])
    lo = np.floor(np.percentile(lb, 0.01) * bins_per_octave) / bins_per_octave
    hi = np.ceil(np.percentile(lb, 99.99) * bins_per_octave) / bins_per_octave
    hi = max(hi, lo + 1.0 / bins_per_octave)
    edges = 2 ** np.linspace(lo, hi, int(round((hi - lo) * bins_per_octave)) + 1)
    q_edges = np.arange(0.5, 101.5, 1.0)
    hist, per_quality = {}, {}
    for k, s in enumerate(splits):
        m = ok & (split == k)
        b = np.clip(bpp[m], edges[0], edges[-1])
        hist[s] = np.histogram2d(quality[m], b, bins=[q_edges, edges])[0].astype(int).tolist()
        frame = pd.DataFrame({"q": quality[m].astype(int), "bpp": bpp[m]})
        grouped = frame.groupby("q")["bpp"]
        quant = grouped.quantile([0.1, 0.25, 0.5, 0.75, 0.9]).unstack()
        sizes = grouped.size()
        per_quality[s] = {
            int(q): {
                "count": int(sizes[q]),
                **{f"p{int(p * 100)}": float(quant.at[q, p]) for p in quant.columns},
            }
            for q in sizes.index
        }
    return {"bpp_edges": edges.tolist(), "histogram": hist, "per_quality": per_quality}


# -- quantization-table fingerprints ---------------------------------------------------------
def _factorize(values: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes (-1 for null) and the sorted distinct values."""
    codes, uniques = pd.factorize(values, sort=True, use_na_sentinel=True)
    return np.asarray(codes), list(uniques)


def _mode_per_group(groups: np.ndarray, n_groups: int, values: pd.Series) -> list:
    """For each group 0..n_groups-1, the most frequent non-null value (ties: the smallest), or
    None; rows with group -1 are ignored."""
    codes, uniques = _factorize(values)
    ok = (groups >= 0) & (codes >= 0)
    if not uniques or not ok.any():
        return [None] * n_groups
    table = np.bincount(
        groups[ok] * len(uniques) + codes[ok], minlength=n_groups * len(uniques)
    ).reshape(n_groups, len(uniques))
    return [uniques[int(row.argmax())] if row.max() > 0 else None for row in table]


def fingerprints(
    df: pd.DataFrame, splits: Sequence[str], top: int = 20, examples: int = 3
) -> list[dict]:
    """The `top` most frequent quantization-table fingerprints (`qtables_hash`), each with its
    count, share of files with tables, count per split, encoder family, the luma and chroma
    quality it implies (the most common value among its files), the share of its files whose
    tables are exactly IJG's, their mean closeness, the most common subsampling with it, and
    the first `examples` paths in path order. Ties in count break by hash."""
    import pyarrow as pa
    import pyarrow.compute as pc

    hashes = column(df, "qtables_hash")
    counts = hashes.value_counts()
    with_tables = int(counts.sum())
    if with_tables == 0:
        return []
    counts = counts.sort_index(kind="stable").sort_values(ascending=False, kind="stable")
    chosen = [str(h) for h in counts.index[:top]]
    codes, uniques = pd.factorize(hashes, use_na_sentinel=True)
    rank = {h: i for i, h in enumerate(chosen)}
    lookup = np.array([rank.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)
    group = lookup[np.asarray(codes)]  # null code -1 picks the trailing -1
    k = len(chosen)
    modes = {c: _mode_per_group(group, k, column(df, c))
             for c in ("encoder", "quality_luma", "quality_chroma", "subsampling")}  # fmt: skip
    split = split_codes(df, splits)
    in_split = (group >= 0) & (split >= 0)
    per_split = np.bincount(
        group[in_split] * len(splits) + split[in_split], minlength=k * len(splits)
    ).reshape(k, len(splits))
    mine = group >= 0
    sizes = np.bincount(group[mine], minlength=k)
    exact = np.bincount(group[mine], weights=flag(df, "quality_exact")[mine], minlength=k)
    closeness = numeric(df, "quality_closeness")
    has_c = mine & ~np.isnan(closeness)
    close_sum = np.bincount(group[has_c], weights=closeness[has_c], minlength=k)
    close_n = np.bincount(group[has_c], minlength=k)
    path_array = pa.array(column(df, "path"), type=pa.string(), from_pandas=True)
    out = []
    for i, h in enumerate(chosen):
        paths_here = pc.filter(path_array, pa.array(group == i))
        lowest = pc.bottom_k_unstable(paths_here, k=examples)  # indices into paths_here
        first = sorted(paths_here.take(lowest).to_pylist())

        def as_value(col: str, value):
            if value is None:
                return None
            return int(value) if col.startswith("quality") else str(value)

        out.append(
            {
                "qtables_hash": h,
                "count": int(counts.iloc[i]),
                "share": float(counts.iloc[i] / with_tables),
                "per_split": {
                    s: int(per_split[i, j]) for j, s in enumerate(splits) if per_split[i, j]
                },  # fmt: skip
                "encoder": as_value("encoder", modes["encoder"][i]),
                "quality_luma": as_value("quality_luma", modes["quality_luma"][i]),
                "quality_chroma": as_value("quality_chroma", modes["quality_chroma"][i]),
                "exact_share": float(exact[i] / sizes[i]) if sizes[i] else float("nan"),
                "mean_closeness": float(close_sum[i] / close_n[i]) if close_n[i] else float("nan"),
                "subsampling": as_value("subsampling", modes["subsampling"][i]),
                "examples": first,
            }
        )
    return out


# -- outliers -------------------------------------------------------------------------------
OUTLIER_KINDS = (
    ("smallest", "smallest frames (width x height)"),
    ("largest", "largest frames (width x height)"),
    ("extreme_aspect", "most extreme aspect ratios"),
    ("lowest_quality", "lowest luma quality"),
    ("subsampling_4_1_1", "4:1:1 subsampling"),
    ("unusual_subsampling", "other unusual subsampling (not 4:4:4, 4:2:2, 4:2:0, 4:1:1, gray)"),
    ("cmyk_ycck", "CMYK and YCCK JPEGs"),
    ("not_jpeg", "not JPEG (by content)"),
    ("truncated", "truncated"),
    ("trailing_data", "bytes after EOI"),
    ("errors", "other errors"),
)
_OUTLIER_DETAILS = ("split", "width", "height", "format", "subsampling", "quality_luma", "bytes")


def _first_by_key(key: np.ndarray, paths: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n smallest finite keys, ties broken by path, without sorting every row."""
    finite = np.flatnonzero(~np.isnan(key))
    if finite.size > n:
        cut = np.partition(key[finite], n - 1)[n - 1]
        finite = finite[key[finite] <= cut]  # keeps every tie at the cut, so paths decide
    order = sorted(finite.tolist(), key=lambda i: (key[i], str(paths[i])))
    return np.array(order[:n], dtype=np.int64)


def _first_by_path(mask: np.ndarray, paths: np.ndarray, n: int) -> np.ndarray:
    idx = np.flatnonzero(mask)
    if idx.size > n:
        keep = heapq.nsmallest(n, idx.tolist(), key=lambda i: str(paths[i]))
        return np.array(keep, dtype=np.int64)
    return np.array(sorted(idx.tolist(), key=lambda i: str(paths[i])), dtype=np.int64)


def outliers(df: pd.DataFrame, per_kind: int = 6) -> dict[str, dict]:
    """Per outlier kind (`OUTLIER_KINDS`): `title`, `total` (how many files are of that kind;
    for the ranked kinds, how many files could be ranked) and `files`: the first `per_kind`,
    each a dict with path, `value` (the quantity ranked, or the reason), split, width, height,
    format, subsampling, quality_luma and bytes (None where the store has no value). Ties
    break by path."""
    width = numeric(df, "width")
    height = numeric(df, "height")
    pixels = width * height
    with np.errstate(divide="ignore", invalid="ignore"):
        aspect = np.maximum(width / height, height / width)
    aspect[~np.isfinite(aspect)] = np.nan
    quality = numeric(df, "quality_luma")
    trailing = np.nan_to_num(numeric(df, "trailing_bytes"), nan=0)
    paths = column(df, "path").to_numpy(dtype=object)
    jpeg = is_jpeg(df)
    truncated = flag(df, "truncated")
    n = per_kind

    def text(name: str, i: int) -> str | None:
        v = column(df, name).iloc[i]
        return None if pd.isna(v) else str(v)

    def size(i: int) -> str:
        return f"{int(width[i])}x{int(height[i])}"

    usual = ["4:4:4", "4:2:2", "4:2:0", "4:1:1", "gray"]
    masks = {
        "subsampling_4_1_1": eq(df, "subsampling", "4:1:1"),
        "unusual_subsampling": notna(df, "subsampling") & ~isin(df, "subsampling", usual),
        "cmyk_ycck": isin(df, "color", ["cmyk", "ycck"]),
        "not_jpeg": ~jpeg,
        "truncated": truncated,
        "trailing_data": trailing > 0,
        "errors": notna(df, "error") & jpeg & ~truncated,
    }
    ranked = {
        "smallest": pixels,
        "largest": -pixels,
        "extreme_aspect": -aspect,
        "lowest_quality": quality,
    }
    values = {
        "smallest": size,
        "largest": size,
        "extreme_aspect": lambda i: f"{size(i)} ({aspect[i]:.2f}:1)",
        "lowest_quality": lambda i: f"q{int(quality[i])}",
        "subsampling_4_1_1": lambda i: "4:1:1",
        "unusual_subsampling": lambda i: text("subsampling", i),
        "cmyk_ycck": lambda i: text("color", i),
        "not_jpeg": lambda i: text("error", i) or f"format {text('format', i)}",
        "truncated": lambda i: text("error", i) or "no EOI after the first SOS",
        "trailing_data": lambda i: f"{int(trailing[i]):,} bytes after EOI",
        "errors": lambda i: text("error", i),
    }
    out = {}
    for kind, title in OUTLIER_KINDS:
        if kind in ranked:
            key = ranked[kind]
            picked = _first_by_key(key, paths, n)
            total = int(np.count_nonzero(~np.isnan(key)))
        else:
            picked = _first_by_path(masks[kind], paths, n)
            total = int(np.count_nonzero(masks[kind]))
        files = []
        for i in picked.tolist():
            item: dict = {"path": str(paths[i]), "value": values[kind](i)}
            for c in _OUTLIER_DETAILS:
                v = column(df, c).iloc[i]
                if pd.isna(v):
                    item[c] = None
                elif c in ("width", "height", "quality_luma", "bytes"):
                    item[c] = int(v)
                else:
                    item[c] = str(v)
            files.append(item)
        out[kind] = {"title": title, "total": total, "files": files}
    return out
