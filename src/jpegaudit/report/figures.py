"""One function per report figure: the summary's numbers in, a matplotlib Figure out.

Figures are built with `matplotlib.figure.Figure` directly (no pyplot, no global backend
switch): the Agg canvas renders PNG, matplotlib's PDF backend renders PDF, and nothing is left
open in the caller's session. Every function takes the `data` section of the report summary
(see `jpegaudit.report.build`) and reads only numbers already computed there, so the figures
show exactly what summary.json holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, NullFormatter

from jpegaudit.analysis.stats import labels_in_order

__all__ = ["FIGURES", "FigureSpec", "split_colors"]

_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
_COLOR_LABELS = {
    "gray": "gray",
    "ycbcr": "YCbCr (colour)",
    "rgb": "RGB",
    "cmyk": "CMYK",
    "ycck": "YCCK",
    "unknown": "unknown",
}
_ASPECTS = ((1, 1), (4, 3), (3, 2), (3, 4), (2, 3))


def split_colors(splits: Sequence[str]) -> dict[str, str]:
    return {s: _PALETTE[i % len(_PALETTE)] for i, s in enumerate(splits)}


def _percent(x: float, _pos=None) -> str:
    if x >= 1:
        return f"{x:g} %"
    return f"{x:.3g} %"


def _count_text(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1e6:.2f}M"
    if n >= 10_000:
        return f"{n / 1e3:.0f}k"
    return f"{n:,}"


def _empty(ax, text: str = "no data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def _grid(n: int, ncols: int = 3) -> tuple[int, int]:
    cols = min(n, ncols) or 1
    return math.ceil(max(n, 1) / cols), cols


# -- grouped bars (colour, subsampling, process, orientation, ICC, encoder families) ----------
def _grouped_bars(
    fig: Figure,
    counts: dict[str, dict[str, int]],
    splits: Sequence[str],
    title: str,
    xlabel: str,
    labels: dict[str, str] | None = None,
    ax=None,
    rotate: bool = False,
):
    """Bars per category, one per split, height = share of the split's rows counted (log y),
    each bar labelled with its count."""
    ax = ax if ax is not None else fig.subplots()
    categories = labels_in_order(counts, splits)
    if not categories:
        _empty(ax)
        ax.set_title(title)
        return ax
    colors = split_colors(splits)
    width = 0.8 / max(len(splits), 1)
    x = np.arange(len(categories))
    lowest = 100.0
    for i, s in enumerate(splits):
        per = counts.get(s, {})
        total = sum(per.values())
        if total == 0:
            continue
        heights = np.array([100.0 * per.get(c, 0) / total for c in categories])
        shown = np.where(heights > 0, heights, np.nan)
        pos = x - 0.4 + width * (i + 0.5)
        ax.bar(pos, shown, width=width * 0.95, color=colors[s], label=f"{s} (n={total:,})")
        for px, h, c in zip(pos, heights, categories, strict=True):
            if h > 0:
                lowest = min(lowest, h)
                ax.annotate(
                    _count_text(per[c]),
                    (px, h),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=7,
                    rotation=90 if len(splits) * len(categories) > 14 else 0,
                )
    ax.set_yscale("log")
    ax.set_ylim(min(lowest / 3, 1.0), 100 * 8)  # room above the tallest bar for its label
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_ylabel("share of split (log scale)")
    ax.set_xticks(x)
    names = [(labels or {}).get(c, c) for c in categories]
    rotate = rotate and len(categories) > 4
    ax.set_xticklabels(names, rotation=30 if rotate else 0, ha="right" if rotate else "center")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", which="major", alpha=0.3)
    return ax


def fig_colour(data: dict) -> Figure:
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    _grouped_bars(
        fig,
        data["colour"],
        data["splits"],
        "Colour space (gray vs colour; CMYK, YCCK and RGB JPEGs apart)",
        "colour space from the frame header ('no frame': not a JPEG or unreadable)",
        labels=_COLOR_LABELS,
    )
    return fig


def fig_subsampling(data: dict) -> Figure:
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    counts = data["subsampling"]
    rotate = any(len(c) > 6 for per in counts.values() for c in per)
    _grouped_bars(
        fig,
        counts,
        data["splits"],
        "Chroma subsampling",
        "scheme (raw factor strings Y,Cb,Cr where Cb and Cr differ or no name applies)",
        rotate=rotate,
    )
    return fig


def fig_process(data: dict) -> Figure:
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    _grouped_bars(fig, data["process"], data["splits"], "Coding process (SOF type)", "process")
    return fig


def fig_orientation(data: dict) -> Figure:
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    labels = {
        "none": "no tag",
        "1": "1 normal",
        "2": "2 mirror",
        "3": "3 rot 180",
        "4": "4 flip",
        "5": "5 transpose",
        "6": "6 rot 90 CW",
        "7": "7 transverse",
        "8": "8 rot 90 CCW",
    }
    _grouped_bars(
        fig,
        data["orientation"],
        data["splits"],
        "EXIF orientation (5-8 swap displayed width and height)",
        "orientation tag",
        labels=labels,
        rotate=True,
    )
    return fig


def fig_icc(data: dict) -> Figure:
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    _grouped_bars(
        fig,
        data["icc"],
        data["splits"],
        "ICC colour profile (by the profile's colour space)",
        "embedded ICC profile",
    )
    return fig


def fig_progressive(data: dict) -> Figure:
    splits = data["splits"]
    fig = Figure(figsize=(8, 0.6 + 0.55 * max(len(splits), 1) + 0.9), layout="constrained")
    ax = fig.subplots()
    shares = data["progressive"]
    colors = split_colors(splits)
    y = np.arange(len(splits))
    values = [100 * (shares[s]["share"] or 0) if shares[s]["with_frame"] else 0 for s in splits]
    ax.barh(y, values, color=[colors[s] for s in splits], height=0.6)
    top = max(values + [1e-9])
    for yi, s, v in zip(y, splits, values, strict=True):
        entry = shares[s]
        ax.text(
            v + top * 0.01,
            float(yi),
            f"{v:.2f} %  ({entry['progressive']:,} of {entry['with_frame']:,})",
            va="center",
            fontsize=9,
        )
    ax.set_yticks(y)
    ax.set_yticklabels(splits)
    ax.invert_yaxis()
    ax.set_xlim(0, top * 1.6 if top > 0 else 1)
    ax.xaxis.set_major_formatter(FuncFormatter(_percent))
    ax.set_xlabel("progressive JPEGs, share of files with a frame")
    ax.set_title("Progressive coding")
    return fig


def fig_encoders(data: dict) -> Figure:
    fig = Figure(figsize=(13, 5.5), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1, 1.5])
    _grouped_bars(
        fig,
        data["encoder_families"],
        data["splits"],
        "Encoder families",
        "family from tables and markers",
        ax=left,
    )
    prints = data["fingerprints"][:15]
    if not prints:
        _empty(right)
    else:
        counts = [p["count"] for p in prints]
        y = np.arange(len(prints))
        right.barh(y, counts, color="#4c72b0")
        labels = []
        for p in prints:
            ql = p["quality_luma"]
            qc = p["quality_chroma"]
            q = f"q{ql}" if qc in (None, ql) else f"q{ql}/{qc}"
            exact = "" if p["exact_share"] >= 0.999 else " approx"
            labels.append(f"{p['qtables_hash'][:8]}  {p['encoder']} {q}{exact} {p['subsampling']}")
        right.set_yticks(y)
        right.set_yticklabels(labels, fontsize=8, family="monospace")
        right.invert_yaxis()
        right.set_xscale("log")
        right.set_xlim(max(min(counts) / 2, 0.5), max(counts) * 4)
        for yi, p in zip(y, prints, strict=True):
            right.text(p["count"] * 1.08, yi, f"{p['count']:,} ({100 * p['share']:.1f} %)",
                       va="center", fontsize=7)  # fmt: skip
        right.set_xlabel("files (log scale)")
        right.set_title("Most frequent quantization-table fingerprints (hash, implied settings)")
    return fig


# -- sizes ------------------------------------------------------------------------------------
def _size_panel(
    ax, fig, entry: dict, split: str, limit: int, step: int, rings: bool, top_n: int = 5
) -> None:
    widths = np.asarray(entry["width"], dtype=float)
    heights = np.asarray(entry["height"], dtype=float)
    counts = np.asarray(entry["count"], dtype=float)
    total = counts.sum()
    if total == 0:
        _empty(ax)
        ax.set_title(split)
        return
    edges = np.arange(0, limit + step, step)
    end = edges[-1]
    inside = (widths <= end) & (heights <= end)
    grid, _, _ = np.histogram2d(
        heights[inside], widths[inside], bins=[edges, edges], weights=counts[inside]
    )
    image = ax.imshow(
        np.ma.masked_equal(grid, 0),
        origin="lower",
        extent=(0, end, 0, end),
        norm=LogNorm(vmin=1, vmax=max(grid.max(), 2)),
        cmap="viridis",
        interpolation="nearest",
        aspect="equal",
        zorder=2,
    )
    for w, h in _ASPECTS:
        r = h / w
        x_end, y_end = (end, end * r) if r <= 1 else (end / r, end)
        # Above the cells (zorder) but light, so the data still reads through.
        ax.plot([0, x_end], [0, y_end], color="white", lw=1.6, alpha=0.5, zorder=3)
        ax.plot([0, x_end], [0, y_end], color="0.25", lw=0.7, ls="--", zorder=3)
        ax.text(x_end * 0.985, y_end * 0.985, f"{w}:{h}", fontsize=7, color="0.15", ha="right",
                va="top", zorder=5,
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})  # fmt: skip
    order = np.argsort(-counts, kind="stable")[:top_n]
    handles = []
    for rank, i in enumerate(order, start=1):
        label = f"{rank}: {int(widths[i])}x{int(heights[i])} ({100 * counts[i] / total:.1f} %)"
        handles.append(Line2D([], [], ls="none", marker="o", mfc="none", mec="crimson",
                              ms=7 if rings else 0, label=label))  # fmt: skip
        if not rings or not inside[i]:
            continue
        # A ring around the cell and the rank beside it, so the cell itself stays visible.
        cell = ((widths[i] // step + 0.5) * step, (heights[i] // step + 0.5) * step)
        ax.plot(*cell, "o", ms=9, mfc="none", mec="crimson", mew=1.0, zorder=4)
        ax.annotate(str(rank), cell, xytext=(5, 4), textcoords="offset points", fontsize=7,
                    color="crimson", fontweight="bold", zorder=5)  # fmt: skip
    ax.legend(handles=handles, title="most common sizes", loc="upper center", fontsize=7,
              title_fontsize=7, ncol=3, bbox_to_anchor=(0.5, -0.13), frameon=False,
              handletextpad=0.3, columnspacing=1.0)  # fmt: skip
    outside = int(total - counts[inside].sum())
    note = f"; {outside:,} larger not shown" if outside else ""
    ax.set_title(f"{split}: {int(total):,} frames{note}", fontsize=10)
    ax.set_xlabel("width (px)")
    ax.set_ylabel("height (px)")
    ax.set_xlim(0, end)
    ax.set_ylim(0, end)
    fig.colorbar(image, ax=ax, shrink=0.8, label=f"files per {step} x {step} px cell (log)")


def _fig_sizes(data: dict, limit: int | None, title: str) -> Figure:
    splits = data["splits"]
    rows, cols = _grid(len(splits), 2)
    fig = Figure(figsize=(6.2 * cols, 6.4 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols)).ravel()
    cropped = limit is not None
    if limit is None:
        # One range for every split, so panels compare; about 100 cells across.
        largest = max([max(e["width"] + e["height"], default=0) for e in data["sizes"].values()]
                      + [1])  # fmt: skip
        step = max(10, int(math.ceil(largest * 1.04 / 100 / 10.0)) * 10)
        limit = int(math.ceil(largest * 1.04 / step) * step)
    else:
        step = 10
    for ax, s in zip(axes, splits, strict=False):
        entry = data["sizes"].get(s, {"width": [], "height": [], "count": []})
        _size_panel(ax, fig, entry, s, limit, step, rings=cropped)
    for ax in axes[len(splits) :]:
        ax.set_visible(False)
    fig.suptitle(title)
    return fig


def fig_sizes_cropped(data: dict) -> Figure:
    return _fig_sizes(
        data,
        1000,
        "Frame sizes up to 1000 x 1000 (dashed: aspect ratios 1:1, 4:3, 3:2 and transposes)",
    )


def fig_sizes_full(data: dict) -> Figure:
    return _fig_sizes(data, None, "Frame sizes, full range (dashed: aspect ratios 1:1, 4:3, 3:2 "
                      "and transposes)")  # fmt: skip


# -- quality ----------------------------------------------------------------------------------
def fig_quality(data: dict) -> Figure:
    splits = data["splits"]
    fig = Figure(figsize=(11, 1.2 + 3.0 * max(len(splits), 1)), layout="constrained")
    axes = np.atleast_1d(fig.subplots(max(len(splits), 1), 1, sharex=True)).ravel()
    q = np.arange(1, 101)
    for ax, s in zip(axes, splits, strict=False):
        h = data["quality"][s]
        exact = np.asarray(h["luma_exact"], float)
        approx = np.asarray(h["luma_approx"], float)
        if exact.sum() + approx.sum() == 0:
            _empty(ax, f"{s}: no quantization tables")
            continue
        ax.bar(q - 0.2, np.where(exact > 0, exact, np.nan), width=0.4, color="#1f77b4",
               label=f"luma, exact IJG table ({int(exact.sum()):,})")  # fmt: skip
        ax.bar(q + 0.2, np.where(approx > 0, approx, np.nan), width=0.4, color="#ff7f0e",
               label=f"luma, nearest IJG quality ({int(approx.sum()):,})")  # fmt: skip
        if h["luma_differs_from_chroma"]:
            chroma = np.asarray(h["chroma_exact"], float) + np.asarray(h["chroma_approx"], float)
            ax.plot(q, np.where(chroma > 0, chroma, np.nan), "_", color="black", ms=6, mew=1.4,
                    label=f"chroma quality, all files (it differs from luma in "
                          f"{h['luma_differs_from_chroma']:,})")  # fmt: skip
        ax.set_yscale("log")
        ax.set_ylim(0.7, max(exact.max(), approx.max()) * 3)
        ax.set_ylabel("files (log)")
        ax.set_title(f"{s}", fontsize=10, loc="left")
        ax.legend(fontsize=8, loc="upper left")
        ax.grid(axis="y", alpha=0.3)
        ax.set_xlim(0.5, 100.5)
        ax.set_xticks([1, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 100])
    axes[-1].set_xlabel("IJG quality (1..100) of the luma table")
    fig.suptitle("Quality (IJG scale): exact matches vs nearest-quality approximations")
    return fig


# -- file size and bytes per pixel ----------------------------------------------------------
def _format_bytes(x: float, _pos=None) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if x >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.3g} B"


def fig_file_size(data: dict) -> Figure:
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    hist = data["file_size"]
    edges = np.asarray(hist["edges"], float)
    splits = data["splits"]
    if edges.size < 2:
        _empty(ax)
        return fig
    colors = split_colors(splits)
    for s in splits:
        counts = np.asarray(hist["counts"][s], float)
        total = counts.sum()
        if total == 0:
            continue
        share = 100 * counts / total
        ax.stairs(np.where(share > 0, share, np.nan), edges, color=colors[s], lw=1.5,
                  label=f"{s} (median {_format_bytes(hist['quantiles'][s]['p50'])})")  # fmt: skip
        ax.axvline(hist["quantiles"][s]["p50"], color=colors[s], lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(_format_bytes))
    ax.yaxis.set_major_formatter(FuncFormatter(_percent))
    ax.set_xlabel("file size (log scale, 20 bins per decade)")
    ax.set_ylabel("share of split per bin (log)")
    ax.set_title("File size")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def fig_bpp_vs_quality(data: dict) -> Figure:
    splits = data["splits"]
    entry = data["bpp_vs_quality"]
    edges = np.asarray(entry["bpp_edges"], float)
    rows, cols = _grid(len(splits), 2)
    fig = Figure(figsize=(6.5 * cols, 4.8 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, s in zip(axes, splits, strict=False):
        grid = np.asarray(entry["histogram"].get(s, []), float)
        if edges.size < 2 or grid.size == 0 or grid.sum() == 0:
            _empty(ax, f"{s}: no JPEG with size and quality")
            continue
        mesh = ax.pcolormesh(np.arange(0.5, 101.5), edges, np.ma.masked_equal(grid.T, 0),
                             norm=LogNorm(vmin=1, vmax=max(grid.max(), 2)), cmap="viridis",
                             rasterized=True)  # fmt: skip
        per_q = entry["per_quality"].get(s, {})
        qs = np.array(sorted(int(k) for k in per_q))
        if qs.size:
            med = np.array([per_q[_key(per_q, k)]["p50"] for k in qs])
            p25 = np.array([per_q[_key(per_q, k)]["p25"] for k in qs])
            p75 = np.array([per_q[_key(per_q, k)]["p75"] for k in qs])
            ax.plot(qs, med, "o-", color="crimson", ms=2.5, lw=1, label="median")
            ax.vlines(qs, p25, p75, color="crimson", lw=0.8, alpha=0.7, label="25th-75th pct")
        ax.set_yscale("log", base=2)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _p: f"{y:g}"))
        ax.set_xlim(0.5, 100.5)
        ax.set_xlabel("IJG quality (luma)")
        ax.set_ylabel("bytes per pixel (log2 scale)")
        ax.set_title(s, fontsize=10)
        ax.legend(fontsize=8, loc="upper left")
        fig.colorbar(mesh, ax=ax, label="files per cell (log)")
    for ax in axes[len(splits) :]:
        ax.set_visible(False)
    fig.suptitle("Bytes per pixel against quality (file bytes / (width x height))")
    return fig


def _key(mapping: dict, k: int):
    return k if k in mapping else str(k)


# -- drift ----------------------------------------------------------------------------------
def fig_drift(data: dict, comparison: dict) -> Figure:
    rows = [r for r in comparison["table"] if r["ratio"] is not None]
    rows.sort(key=lambda r: (-r["ratio"], r["setting"]))
    undefined = [r["setting"] for r in comparison["table"] if r["ratio"] is None]
    fig = Figure(figsize=(11, 1.4 + 0.27 * max(len(rows), 1)), layout="constrained")
    ax = fig.subplots()
    title = f"Drift {comparison['split_a']} vs {comparison['split_b']}: distance / suggested limit"
    if not rows:
        _empty(ax, "no setting has values in both splits")
        ax.set_title(title)
        return fig
    positive = [r["ratio"] for r in rows if r["ratio"] > 0]
    floor = min(min(positive) / 3, 0.1) if positive else 0.1
    ratios = np.array([r["ratio"] if r["ratio"] > 0 else np.nan for r in rows])
    y = np.arange(len(rows))
    colors = ["#d62728" if r["ratio"] > 1 else "#7f9fbf" for r in rows]
    ax.barh(y, ratios, color=colors, left=0)
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_yticks(y)
    ax.set_yticklabels([r["setting"] for r in rows], fontsize=8)
    ax.set_ylim(len(rows) - 0.4, -0.6)  # top to bottom, largest first
    top = np.nanmax(ratios) if positive else 1.0
    ax.set_xlim(floor, max(top, 1.0) * 40)
    metric_names = {"total_variation": "TV", "jensen_shannon": "JS", "wasserstein": "W1"}
    for yi, r in zip(y, rows, strict=True):
        metric = metric_names.get(r["metric"], r["metric"])
        where = r["ratio"] * 1.1 if r["ratio"] > 0 else floor * 1.1
        same = "identical" if r["ratio"] == 0 else f"{metric} {r['distance']:.3g} {r['unit']}"
        ax.text(where, float(yi), f"{same}  ({r['detail']})", va="center", fontsize=7)
    ax.xaxis.set_minor_formatter(NullFormatter())
    note = f"; undefined (no values in a split): {', '.join(undefined)}" if undefined else ""
    ax.set_xlabel(f"distance / suggested limit (log; red: above the limit){note}", fontsize=8)
    ax.set_title(title)
    return fig


# -- projection -----------------------------------------------------------------------------
def fig_projection(data: dict, projection) -> Figure:
    """Three panels of the same embedding: by subsampling, by quality, by cluster."""
    fig = Figure(figsize=(17, 5.8), layout="constrained")
    a, b, c = fig.subplots(1, 3, sharex=True, sharey=True)
    emb = projection.embedding
    sample = projection.sample
    if len(emb) == 0:
        for ax in (a, b, c):
            _empty(ax, "no JPEG with subsampling, size and quality")
        return fig
    size = 2.0 if len(emb) > 5000 else (6.0 if len(emb) > 1000 else 14.0)
    subs = sample["subsampling"].to_numpy()
    names = [n for n in dict.fromkeys(sample["subsampling"].value_counts().index)]
    cmap = [*_PALETTE, "#17becf", "#bcbd22", "#7f7f7f"]
    for i, name in enumerate(names):
        m = subs == name
        a.scatter(emb[m, 0], emb[m, 1], s=size, color=cmap[i % len(cmap)], alpha=0.6,
                  label=f"{name} ({int(m.sum()):,})", rasterized=True, linewidths=0)  # fmt: skip
    a.legend(fontsize=7, markerscale=4, loc="best")
    a.set_title("by subsampling")
    sc = b.scatter(emb[:, 0], emb[:, 1], s=size, c=sample["quality_luma"].to_numpy(),
                   cmap="turbo", vmin=1, vmax=100, alpha=0.7, rasterized=True,
                   linewidths=0)  # fmt: skip
    fig.colorbar(sc, ax=b, label="IJG quality (luma)", shrink=0.8)
    b.set_title("by quality")
    labels = projection.labels
    noise = labels < 0
    c.scatter(emb[noise, 0], emb[noise, 1], s=size, color="0.6", alpha=0.5, rasterized=True,
              linewidths=0, label="unclustered")  # fmt: skip
    tab = [*_PALETTE, "#17becf", "#bcbd22", "#7f7f7f", "#aec7e8", "#ffbb78", "#98df8a"]
    for row in projection.clusters:
        if row["label"] < 0:
            continue
        m = labels == row["label"]
        c.scatter(emb[m, 0], emb[m, 1], s=size, color=tab[row["label"] % len(tab)], alpha=0.7,
                  rasterized=True, linewidths=0)  # fmt: skip
        cx, cy = row["center"]
        c.text(cx, cy, str(row["label"]), fontsize=8, fontweight="bold", ha="center",
               va="center", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "0.3",
                                  "alpha": 0.85})  # fmt: skip
    n_clusters = sum(1 for r in projection.clusters if r["label"] >= 0)
    c.set_title(f"by cluster (HDBSCAN: {n_clusters} clusters; numbers as in the table)")
    for ax in (a, b, c):
        ax.set_xticks([])
        ax.set_yticks([])
    s = projection.sampling
    fig.suptitle(
        f"UMAP of (subsampling, width, height, quality): {len(emb):,} files sampled "
        f"(kept {100 * s.get('keep_500', 0):g} % of those with a side of 500, cap "
        f"{s.get('cap', 0):,}, seed {s.get('seed', 0)})"
    )
    return fig


@dataclass(frozen=True)
class FigureSpec:
    """A figure of the report: file stem, section title, how to read it, and its renderer."""

    name: str
    title: str
    caption: str
    render: Callable[[dict], Figure]


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("colour", "Colour", "Share of each split's rows by colour space (log scale; "
               "counts on the bars). CMYK, YCCK and RGB JPEGs are counted apart from YCbCr: "
               "many decoders mishandle them.", fig_colour),
    FigureSpec("sizes_cropped", "Image sizes up to 1000 x 1000", "Width x height, one cell per "
               "10 x 10 px, colour = number of files (log). Dashed lines are aspect ratios "
               "1:1, 4:3, 3:2 and their transposes; numbered circles are the most common sizes "
               "(listed below each panel).", fig_sizes_cropped),
    FigureSpec("sizes_full", "Image sizes, full range", "The same on the full range (one "
               "scale for every split, coarser cells), to show the outliers.", fig_sizes_full),
    FigureSpec("subsampling", "Chroma subsampling", "Share of files per subsampling scheme "
               "(log scale; counts on the bars). Unnamed factor sets keep their raw "
               "'HxV,HxV,HxV' string.", fig_subsampling),
    FigureSpec("quality", "Quality", "Files per IJG quality of the luma table (log scale). "
               "Blue: the tables are exactly IJG's at that quality; orange: not IJG tables, "
               "nearest IJG quality. A black line shows chroma quality when it differs from "
               "luma.", fig_quality),
    FigureSpec("file_size", "File size", "Share of each split's files per file-size bin (log "
               "x and y); dotted lines are medians.", fig_file_size),
    FigureSpec("bpp_vs_quality", "Bytes per pixel against quality", "2-D histogram of bytes "
               "per pixel against luma quality; red: median and 25th-75th percentiles per "
               "quality. Files far above their quality's band carry metadata or noise; far "
               "below, flat content or a re-encode.", fig_bpp_vs_quality),
    FigureSpec("process", "Coding process", "Share of files per coding process (log scale).",
               fig_process),
    FigureSpec("progressive", "Progressive share", "Share of JPEGs with a frame that are "
               "progressive.", fig_progressive),
    FigureSpec("orientation", "EXIF orientation", "Share of JPEGs per EXIF orientation (log "
               "scale); 'no tag' means displayed as stored.", fig_orientation),
    FigureSpec("icc", "ICC profile", "Share of JPEGs with an embedded ICC profile, by the "
               "profile's colour space (log scale).", fig_icc),
    FigureSpec("encoders", "Encoder families", "Left: encoder family per split. Right: the "
               "most frequent quantization-table fingerprints (first 8 hex digits of "
               "qtables_hash) with the settings they imply; the table below lists example "
               "files.", fig_encoders),
)  # fmt: skip
