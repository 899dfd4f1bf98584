"""build_report: a scan store (or its DataFrame) in; figures, index.html, summary.json and
summary.md out."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from jpegaudit._version import __version__
from jpegaudit.analysis import drift, stats
from jpegaudit.analysis.projection import DEFAULT_CAP, DEFAULT_KEEP_500
from jpegaudit.report.writers import jsonable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["REPORT_COLUMNS", "ReportResult", "build_report", "load_report_frame"]

REPORT_VERSION = 1
# The store columns the report reads: loading only these keeps a 1.28 M-row store small.
REPORT_COLUMNS = (
    "path", "split", "entry_type", "bytes", "format", "ext_mismatch", "error", "width",
    "height", "color", "subsampling", "process", "progressive", "arithmetic", "precision",
    "qtables_hash", "quality_luma", "quality_chroma", "quality_exact", "quality_closeness",
    "encoder", "huffman_standard", "exif", "orientation", "icc", "icc_colorspace", "truncated",
    "trailing_bytes", "scanner_version",
)  # fmt: skip


@dataclass
class ReportResult:
    """Where the report was written and what it took."""

    out_dir: Path
    index_html: Path
    summary_json: Path
    summary_md: Path
    figures: dict[str, dict[str, Path]]  # figure name -> {"png": path, "pdf": path}
    rows: int
    splits: list[str]
    seconds: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    summary: dict = field(default_factory=dict, repr=False)


def load_report_frame(store: str | os.PathLike) -> pd.DataFrame:
    """The store's rows with only the columns the report reads (nullable dtypes, as
    `jpegaudit.read_store` gives them): a 1.28 M-row store loads in a fraction of a second."""
    from jpegaudit.schema import COLUMN_NAMES
    from jpegaudit.store.reader import read_store

    return read_store(store, columns=[c for c in REPORT_COLUMNS if c in COLUMN_NAMES])


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._") or "split"


def _sizes_for_json(sizes: pd.DataFrame, splits: list[str]) -> dict:
    out = {}
    for s in splits:
        part = sizes[sizes["split"] == s]
        out[s] = {
            "width": part["width"].astype(int).tolist(),
            "height": part["height"].astype(int).tolist(),
            "count": part["count"].astype(int).tolist(),
        }
    return out


def _drift_section(df: pd.DataFrame, splits: list[str]) -> dict:
    if len(splits) < 2:
        return {"reference": None, "comparisons": [], "note": "one split only: nothing to compare"}
    reference = "train" if "train" in splits else splits[0]
    comparisons = []
    for other in splits:
        if other == reference:
            continue
        table = drift.drift_table(df, reference, other)
        comparisons.append(
            {
                "split_a": reference,
                "split_b": other,
                "figure": f"drift_{_safe_name(reference)}_vs_{_safe_name(other)}",
                "table": jsonable(table.to_dict("records")),
            }
        )
    return {
        "reference": reference,
        "comparisons": comparisons,
        "metrics": "categorical: total variation distance (share of files); quality: "
        "Wasserstein in IJG quality points; sizes and ratios: Wasserstein of log2 values",
    }


def build_report(
    store_or_df: str | os.PathLike | pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    umap: bool = True,
    umap_sample: int = DEFAULT_CAP,
    umap_keep_500: float = DEFAULT_KEEP_500,
    seed: int = 0,
    files_root: str | os.PathLike | None = None,
    thumbnails: bool = True,
    outliers_per_kind: int = 6,
    top_fingerprints: int = 20,
    dpi: int = 110,
) -> ReportResult:
    """Write the report for a scan store (a store directory, or a DataFrame with the store's
    columns) into `out_dir`: one PNG and one PDF per figure, index.html (self-contained),
    summary.json (every number behind the figures) and summary.md (for a CI step summary).

    `umap=False` skips the projection (the slow part). `umap_sample` caps the projected sample
    and `umap_keep_500` is the study's share of width-or-height-500 images kept; `seed` makes
    the sample and the embedding reproducible. Outlier thumbnails are decoded from the files
    (relative store paths resolved under `files_root`, default the current directory); a file
    that is missing or undecodable is listed without one.
    """
    from jpegaudit.report import figures as figs
    from jpegaudit.report.html import render_html
    from jpegaudit.report.thumbnails import make_thumbnail, resolve_path
    from jpegaudit.report.writers import render_markdown, write_json

    seconds: dict[str, float] = {}
    warnings: list[str] = []
    t = time.perf_counter()
    if isinstance(store_or_df, pd.DataFrame):
        df = store_or_df
        source = "DataFrame"
    else:
        df = load_report_frame(store_or_df)
        source = os.fspath(store_or_df)
    seconds["load"] = time.perf_counter() - t
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    splits = stats.split_order(df)
    data = {  # sanitised (NaN -> None) so figures, HTML and JSON read the same values
        "splits": splits,
        "colour": stats.color_counts(df, splits),
        "subsampling": stats.subsampling_counts(df, splits),
        "process": stats.process_counts(df, splits),
        "progressive": stats.progressive_share(df, splits),
        "orientation": stats.orientation_counts(df, splits),
        "icc": stats.icc_counts(df, splits),
        "encoder_families": stats.encoder_families(df, splits),
        "fingerprints": stats.fingerprints(df, splits, top=top_fingerprints),
        "sizes": _sizes_for_json(stats.size_counts(df, splits), splits),
        "quality": stats.quality_histograms(df, splits),
        "file_size": stats.file_size_histogram(df, splits),
        "bpp_vs_quality": stats.bpp_vs_quality(df, splits),
    }
    data = jsonable(data)
    versions = stats.column(df, "scanner_version").dropna().unique().tolist()
    summary: dict = {
        "report_version": REPORT_VERSION,
        "jpegaudit_version": __version__,
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "rows": len(df),
        "splits": splits,
        "scanner_versions": sorted(str(v) for v in versions),
        "overview": jsonable(stats.overview(df, splits)),
        "figures": {},
        "data": data,
        "outliers": jsonable(stats.outliers(df, per_kind=outliers_per_kind)),
    }
    seconds["stats"] = time.perf_counter() - t

    t = time.perf_counter()
    summary["drift"] = _drift_section(df, splits)
    seconds["drift"] = time.perf_counter() - t

    projection = None
    if umap:
        t = time.perf_counter()
        try:
            from jpegaudit.analysis.projection import project

            projection = project(df, sample=umap_sample, keep_500=umap_keep_500, seed=seed)
            summary["projection"] = {
                "method": projection.method,
                "features": ["subsampling_code", "width", "height", "quality_luma"],
                "sampling": jsonable(projection.sampling),
                "clusters": jsonable(projection.clusters),
                "seconds": projection.seconds,
            }
        except ImportError as exc:
            summary["projection"] = {"skipped": f"projection unavailable: {exc}"}
            warnings.append(summary["projection"]["skipped"])
        seconds["projection"] = time.perf_counter() - t
    else:
        summary["projection"] = {"skipped": "projection not requested (umap=False / --no-umap)"}

    # -- figures ---------------------------------------------------------------------------
    t = time.perf_counter()
    jobs: list[tuple[str, str, str, str, Callable[[], Figure]]] = [
        (spec.name, spec.title, spec.caption, "main", partial(spec.render, data))
        for spec in figs.FIGURES
    ]
    for comp in summary["drift"]["comparisons"]:
        jobs.append((comp["figure"], f"Drift {comp['split_a']} vs {comp['split_b']}",
                     "Per setting, distance between the two splits divided by its suggested "
                     "limit (log scale; red bars are above it). Categorical settings: total "
                     "variation (share of files that would have to change category); quality: "
                     "Wasserstein in quality points; sizes: Wasserstein of log2 values.",
                     "drift", partial(figs.fig_drift, data, comp)))  # fmt: skip
    if projection is not None:
        jobs.append(("projection", "UMAP projection", "Each point is a sampled JPEG placed by "
                     "UMAP from (subsampling, width, height, quality); the same layout coloured "
                     "three ways. Tight islands are groups of files with identical settings: "
                     "likely one source each. Cluster numbers match the table.",
                     "projection", partial(figs.fig_projection, data, projection)))  # fmt: skip
    pngs: dict[str, bytes] = {}
    written: dict[str, dict[str, Path]] = {}
    for name, title, caption, section, render in jobs:
        files = {"png": out / f"{name}.png", "pdf": out / f"{name}.pdf"}
        try:
            figure = render()
            figure.savefig(files["png"], dpi=dpi)
            figure.savefig(files["pdf"])
        except Exception as exc:  # noqa: BLE001 - one broken figure must not lose the report
            warnings.append(f"figure {name} failed: {type(exc).__name__}: {exc}")
            continue
        pngs[name] = files["png"].read_bytes()
        written[name] = files
        summary["figures"][name] = {
            "title": title,
            "caption": caption,
            "section": section,
            "files": {k: p.name for k, p in files.items()},
        }
    seconds["figures"] = time.perf_counter() - t

    # -- thumbnails ------------------------------------------------------------------------
    t = time.perf_counter()
    thumbs: dict[str, tuple[str | None, str | None]] = {}
    root = Path.cwd() if files_root is None else Path(files_root)
    for entry in summary["outliers"].values():
        for f in entry["files"]:
            if f["path"] in thumbs:
                continue
            if not thumbnails:
                thumbs[f["path"]] = (None, "thumbnails off")
                continue
            thumb = make_thumbnail(resolve_path(f["path"], root))
            thumbs[f["path"]] = (thumb.data_uri, thumb.problem)
            f["thumbnail_problem"] = thumb.problem
    for entry in summary["outliers"].values():
        for f in entry["files"]:
            f["thumbnail_problem"] = thumbs[f["path"]][1]
    seconds["thumbnails"] = time.perf_counter() - t

    # -- writers ---------------------------------------------------------------------------
    t = time.perf_counter()
    summary["warnings"] = warnings
    summary["seconds"] = seconds
    paths = {
        "html": out / "index.html",
        "json": out / "summary.json",
        "md": out / "summary.md",
    }
    paths["html"].write_text(render_html(summary, pngs, thumbs), encoding="utf-8")
    paths["md"].write_text(render_markdown(summary), encoding="utf-8")
    seconds["write"] = time.perf_counter() - t
    write_json(summary, paths["json"])
    return ReportResult(
        out_dir=out,
        index_html=paths["html"],
        summary_json=paths["json"],
        summary_md=paths["md"],
        figures=written,
        rows=len(df),
        splits=splits,
        seconds=seconds,
        warnings=warnings,
        summary=summary,
    )
