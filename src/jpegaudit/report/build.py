"""build_report: a scan store (or its DataFrame) in; figures, index.html, summary.json and
summary.md out.

The report is built in named stages, each a function of this module that can be used alone:

    load_report_frame   the store's rows, only the columns the report reads
    analyse             every statistic, the outliers and the drift tables: the summary dict
                        (what summary.json holds, before figures and projection)
    project_in          the UMAP projection of the study's sample (analysis.projection)
    render_figure       one figure, as PNG (and PDF when asked), from the summary's numbers
    make_thumbnails     the outliers' thumbnails
    write_report_files  index.html, summary.md, summary.json

`build_report` runs them, the projection and the figures in worker processes (`jobs`) so
that UMAP on one core overlaps the figures on the other, and reports each stage to an
optional `progress` callback (the CLI draws it on a terminal).
"""

from __future__ import annotations

import io
import os
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from jpegaudit._version import __version__
from jpegaudit.analysis import drift, stats
from jpegaudit.analysis.projection import DEFAULT_CAP, DEFAULT_KEEP_500
from jpegaudit.report.provenance import summary_section as provenance_section
from jpegaudit.report.writers import jsonable

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from jpegaudit.analysis.projection import Projection

__all__ = [
    "DEFAULT_FORMATS",
    "FIGURE_FORMATS",
    "REPORT_COLUMNS",
    "FigureJob",
    "ProgressCallback",
    "ReportResult",
    "analyse",
    "build_report",
    "default_jobs",
    "figure_jobs",
    "load_report_frame",
    "make_thumbnails",
    "parse_formats",
    "render_figure",
    "write_report_files",
]

REPORT_VERSION = 1
FIGURE_FORMATS = ("png", "pdf")
# PNG is what index.html embeds and what a screen shows; PDF (for papers) only when asked: it
# doubled the time spent saving figures.
DEFAULT_FORMATS = ("png",)
# progress(stage, done, total): called from the calling thread as stages advance, and about
# twice a second while the projection runs (done stays 0 until it finishes).
ProgressCallback = Callable[[str, int, int], None]
# The store columns the report reads: loading only these keeps a 1.28 M-row store small.
REPORT_COLUMNS = (
    "path", "split", "entry_type", "bytes", "format", "ext_mismatch", "error", "width",
    "height", "color", "subsampling", "process", "progressive", "arithmetic", "precision",
    "qtables_hash", "quality_luma", "quality_chroma", "quality_exact", "quality_closeness",
    "encoder", "huffman_standard", "exif", "orientation", "icc", "icc_colorspace", "truncated",
    "trailing_bytes", "scanner_version",
)  # fmt: skip
# The provenance section's columns (report/provenance.py).
REPORT_COLUMNS += ("encoder_detail", "header_signature", "label")


@dataclass
class ReportResult:
    """Where the report was written and what it took."""

    out_dir: Path
    index_html: Path
    summary_json: Path
    summary_md: Path
    figures: dict[str, dict[str, Path]]  # figure name -> {"png": path, "pdf": path} (as asked)
    rows: int
    splits: list[str]
    seconds: dict[str, float] = field(default_factory=dict)  # per stage; stages overlap
    elapsed_s: float = 0.0  # wall time of the whole build
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


def parse_formats(formats: str | Iterable[str]) -> tuple[str, ...]:
    """("png", "pdf") from "png,pdf" or an iterable; raises ValueError on an unknown format."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    wanted = tuple(dict.fromkeys(f.strip().lower() for f in items if f.strip()))
    unknown = [f for f in wanted if f not in FIGURE_FORMATS]
    if unknown or not wanted:
        raise ValueError(
            f"figure formats must be among {', '.join(FIGURE_FORMATS)}, got {formats!r}"
        )
    return wanted


# -- stage: analyse ---------------------------------------------------------------------------
def analyse(
    df: pd.DataFrame,
    *,
    source: str = "DataFrame",
    outliers_per_kind: int = 6,
    top_fingerprints: int = 20,
    seconds: dict[str, float] | None = None,
) -> dict:
    """The report's summary without figures and projection: overview per split, the numbers
    behind every figure (`data`, sanitised so that figures, HTML and JSON read the same
    values), outliers, drift, and the provenance section (report/provenance.py: sources,
    pipelines, label leakage). `seconds`, when given, receives the "stats", "drift" and
    "provenance" times."""
    t = time.perf_counter()
    splits = stats.split_order(df)
    data = {
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
        "data": jsonable(data),
        "outliers": jsonable(stats.outliers(df, per_kind=outliers_per_kind)),
    }
    t_drift = time.perf_counter()
    summary["drift"] = _drift_section(df, splits)
    t_provenance = time.perf_counter()
    summary.update(provenance_section(df, splits))
    if seconds is not None:
        seconds["stats"] = t_drift - t
        seconds["drift"] = t_provenance - t_drift
        seconds["provenance"] = time.perf_counter() - t_provenance
    return summary


def _projection_section(projection: Projection) -> dict:
    return {
        "method": projection.method,
        "features": ["subsampling_code", "width", "height", "quality_luma"],
        "sampling": jsonable(projection.sampling),
        "clusters": jsonable(projection.clusters),
        "seconds": projection.seconds,
    }


# -- stage: figures ---------------------------------------------------------------------------
_DRIFT_CAPTION = (
    "Per setting, distance between the two splits divided by its suggested limit (log scale; "
    "red bars are above it). Categorical settings: total variation (share of files that would "
    "have to change category); quality: Wasserstein in quality points; sizes: Wasserstein of "
    "log2 values."
)
_PROJECTION_CAPTION = (
    "Each point is a sampled JPEG placed by UMAP from (subsampling, width, height, quality); "
    "the same layout coloured three ways. Tight islands are groups of files with identical "
    "settings: likely one source each. Cluster numbers match the table."
)


@dataclass(frozen=True)
class FigureJob:
    """One figure to render: file stem, title, caption, section of index.html, and a
    picklable callable that returns the matplotlib Figure."""

    name: str
    title: str
    caption: str
    section: str
    render: Callable[[], Figure]


def figure_jobs(summary: dict, projection: Projection | None = None) -> list[FigureJob]:
    """The report's figures in page order: the main ones, one per drift comparison, and the
    projection's when there is one."""
    from jpegaudit.report import figures as figs

    data = summary["data"]
    jobs = [
        FigureJob(spec.name, spec.title, spec.caption, "main", partial(spec.render, data))
        for spec in figs.FIGURES
    ]
    for comp in summary["drift"]["comparisons"]:
        jobs.append(FigureJob(comp["figure"], f"Drift {comp['split_a']} vs {comp['split_b']}",
                              _DRIFT_CAPTION, "drift", partial(figs.fig_drift, data, comp)))  # fmt: skip
    if projection is not None:
        jobs.append(_projection_job(data, projection))
    return jobs


def _projection_job(data: dict, projection: Projection) -> FigureJob:
    from jpegaudit.report import figures as figs

    return FigureJob("projection", "UMAP projection", _PROJECTION_CAPTION, "projection",
                     partial(figs.fig_projection, data, projection))  # fmt: skip


def render_figure(
    job: FigureJob, out_dir: Path, formats: tuple[str, ...] = DEFAULT_FORMATS, dpi: int = 110
) -> tuple[bytes, dict[str, Path]]:
    """Render one figure: its PNG bytes (what index.html embeds, rendered even when PNG files
    are not asked for) and the files written, one per format."""
    figure = job.render()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    png = buffer.getvalue()
    files: dict[str, Path] = {}
    for kind in formats:
        path = Path(out_dir) / f"{job.name}.{kind}"
        if kind == "png":
            path.write_bytes(png)
        else:
            figure.savefig(path, format=kind)
        files[kind] = path
    return png, files


def _render_or_warn(job: FigureJob, out_dir: Path, formats: tuple[str, ...], dpi: int):
    """`render_figure`, with a failure turned into its message: one broken figure must not
    lose the report (and exceptions from a worker process may not pickle)."""
    try:
        return render_figure(job, out_dir, formats, dpi), None
    except Exception as exc:  # noqa: BLE001
        return None, f"figure {job.name} failed: {type(exc).__name__}: {exc}"


# -- stage: thumbnails ------------------------------------------------------------------------
def make_thumbnails(
    summary: dict,
    *,
    files_root: str | os.PathLike | None = None,
    enabled: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, tuple[str | None, str | None]]:
    """path -> (data URI, problem) for every file listed among the outliers, decoded once per
    path; sets each listed file's `thumbnail_problem` in the summary."""
    from jpegaudit.report.thumbnails import make_thumbnail, resolve_path

    root = Path.cwd() if files_root is None else Path(files_root)
    listed = list(dict.fromkeys(f["path"] for e in summary["outliers"].values()
                                for f in e["files"]))  # fmt: skip
    thumbs: dict[str, tuple[str | None, str | None]] = {}
    for i, path in enumerate(listed):
        if not enabled:
            thumbs[path] = (None, "thumbnails off")
            continue
        thumb = make_thumbnail(resolve_path(path, root))
        thumbs[path] = (thumb.data_uri, thumb.problem)
        if progress is not None:
            progress(i + 1, len(listed))
    for entry in summary["outliers"].values():
        for f in entry["files"]:
            f["thumbnail_problem"] = thumbs[f["path"]][1]
    return thumbs


# -- stage: writers ---------------------------------------------------------------------------
def write_report_files(
    summary: dict,
    pngs: dict[str, bytes],
    thumbs: dict[str, tuple[str | None, str | None]],
    out_dir: Path,
    seconds: dict[str, float] | None = None,
) -> dict[str, Path]:
    """index.html, summary.md and summary.json in `out_dir`: {"html", "md", "json"} -> path.
    `seconds`, when given, receives "write" (HTML and Markdown) before the JSON is written."""
    from jpegaudit.report.html import render_html
    from jpegaudit.report.writers import render_markdown, write_json

    paths = {"html": out_dir / "index.html", "md": out_dir / "summary.md",
             "json": out_dir / "summary.json"}  # fmt: skip
    t = time.perf_counter()
    paths["html"].write_text(render_html(summary, pngs, thumbs), encoding="utf-8")
    paths["md"].write_text(render_markdown(summary), encoding="utf-8")
    if seconds is not None:
        seconds["write"] = time.perf_counter() - t
    write_json(summary, paths["json"])
    return paths


# -- worker processes -------------------------------------------------------------------------
def default_jobs() -> int:
    """Processes for the report, the calling one included: the CPUs this process may use, at
    most 4 (a report has about 15 figures; more workers cost more imports than they save), or
    1 when the machine is already saturated (1-minute load average at least 1.5 x the CPUs):
    there a second process only adds its imports (about 0.6 s of CPU) and the demo's report
    took 14.5 to 18.8 s with 2 processes against 8 to 14.5 s with 1 at load 3.5 to 7."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows
        load = 0.0
    if load >= 1.5 * cpus:
        return 1
    return max(1, min(cpus, 4))


def _warm_worker() -> None:
    # Import matplotlib and the figure code while the main process is still loading the store.
    import jpegaudit.report.figures  # noqa: F401


class _Inline:
    """The executor interface, running each call at once in this process (jobs=1)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            future.set_exception(exc)
        return future


class _Workers:
    """Worker processes for one report, and what keeps them busy.

    Without workers (`count` 0, or no joblib) every call runs in this process. Otherwise
    joblib's loky executor (joblib comes with scikit-learn): its workers start by fork+exec,
    so they share neither this process's threads (pyarrow's, a progress bar's) nor its OpenMP
    state, and, unlike multiprocessing's spawn and forkserver, they do not re-run the calling
    script, so `build_report` works from a script without an `if __name__ == "__main__"`
    guard. Figures are handed to a worker only when it is idle (`idle`), so that none queues
    behind the projection or a slow start while this process could draw it."""

    def __init__(self, count: int):
        self.count = count
        self.pool = None
        self._futures: list[Future] = []
        if count < 1:
            return
        try:
            from joblib.externals.loky.process_executor import ProcessPoolExecutor
        except ImportError:
            self.count = 0
            return
        self.pool = ProcessPoolExecutor(max_workers=count)
        for _ in range(count):  # each worker imports matplotlib now, while we load the store
            self.submit(_warm_worker)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        if self.pool is None:
            return _Inline().submit(fn, *args, **kwargs)
        future = self.pool.submit(fn, *args, **kwargs)
        self._futures.append(future)
        return future

    def idle(self) -> int:
        """Workers with nothing to do."""
        return self.count - len(self.pending())

    def pending(self) -> list[Future]:
        """The calls submitted and not finished."""
        return [f for f in self._futures if not f.done()]

    def close(self) -> None:
        if self.pool is not None:
            for future in self._futures:
                future.cancel()
            # Every result is in; waiting for the workers to exit would only delay the caller.
            self.pool.shutdown(wait=False, kill_workers=True)


def _result_or_inline(future: Future, fallback: Callable[[], Any]):
    """The future's result; a worker that died (killed, out of memory) is retried here."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return future.result()
    except BrokenProcessPool:
        return fallback()


# -- all stages -------------------------------------------------------------------------------
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
    formats: str | Iterable[str] = DEFAULT_FORMATS,
    jobs: int | None = None,
    progress: ProgressCallback | None = None,
    outliers_per_kind: int = 6,
    top_fingerprints: int = 20,
    dpi: int = 110,
) -> ReportResult:
    """Write the report for a scan store (a store directory, or a DataFrame with the store's
    columns) into `out_dir`: one file per figure and format (`formats`: "png" and/or "pdf",
    default PNG only), index.html (self-contained), summary.json (every number behind the
    figures) and summary.md (for a CI step summary).

    `umap=False` skips the projection. `umap_sample` caps the projected sample and
    `umap_keep_500` is the study's share of width-or-height-500 images kept; `seed` makes the
    sample and the embedding reproducible. Outlier thumbnails are decoded from the files
    (relative store paths resolved under `files_root`, default the current directory); a file
    that is missing or undecodable is listed without one. `jobs` processes, this one
    included, render the figures and run the projection (default: `default_jobs()`, the
    usable CPUs up to 4, or 1 on a saturated machine; 1: everything in this process).
    `progress(stage, done, total)` is called as the stages advance: "load", "analyse",
    "projection", "figures", "thumbnails", "write".
    """
    started = time.perf_counter()
    wanted = parse_formats(formats)
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    tell = progress or (lambda stage, done, total: None)
    seconds: dict[str, float] = {}
    warnings: list[str] = []
    out = Path(out_dir)
    workers = _Workers(jobs - 1)  # and this process
    pending: list[tuple[FigureJob, Future]] = []
    try:
        tell("load", 0, 1)
        t = time.perf_counter()
        if isinstance(store_or_df, pd.DataFrame):
            df, source = store_or_df, "DataFrame"
        else:
            df, source = load_report_frame(store_or_df), os.fspath(store_or_df)
        seconds["load"] = time.perf_counter() - t
        tell("load", 1, 1)
        out.mkdir(parents=True, exist_ok=True)

        # The projection first: on a large store it is the longest stage, and it needs only
        # the sample, so it runs in a worker while this process computes the statistics.
        projecting = None
        if umap:
            projecting = _start_projection(workers, df, umap_sample, umap_keep_500, seed)
        tell("analyse", 0, 1)
        summary = analyse(df, source=source, outliers_per_kind=outliers_per_kind,
                          top_fingerprints=top_fingerprints, seconds=seconds)  # fmt: skip
        tell("analyse", 1, 1)

        t_thumbs = time.perf_counter()
        thumbs = make_thumbnails(summary, files_root=files_root, enabled=thumbnails,
                                 progress=lambda d, n: tell("thumbnails", d, n))  # fmt: skip
        seconds["thumbnails"] = time.perf_counter() - t_thumbs
        t = time.perf_counter()
        jobs_list = figure_jobs(summary)
        total = len(jobs_list) + (1 if projecting is not None else 0)
        tell("figures", 0, total)
        drawn: list = []  # the projection's (job, future) once drawn, or None if it has none

        def projection_figure(pending) -> None:
            # The projection's figure, drawn here as soon as its result is in (between two
            # figures of this process), or after them, waiting for it.
            projection, note = _finish_projection(projecting, df, seed, pending, tell, total)
            # From the sample's draw to the result.
            seconds["projection"] = projecting[3][0] - projecting[2]
            if projection is None:
                summary["projection"] = {"skipped": note}
                warnings.append(note)
                drawn.append(None)
                return
            summary["projection"] = _projection_section(projection)
            job = _projection_job(summary["data"], projection)
            drawn.append((job, _Inline().submit(_render_or_warn, job, out, wanted, dpi)))

        def when_ready() -> None:
            if projecting is not None and not drawn and projecting[0].done():
                projection_figure([])

        pending = _render_figures(workers, jobs_list, out, wanted, dpi,
                                  lambda done: tell("figures", done, total), when_ready)  # fmt: skip
        if projecting is None:
            summary["projection"] = {"skipped": "projection not requested (umap=False / --no-umap)"}
        elif not drawn:
            projection_figure(pending)
        pending.extend(entry for entry in drawn if entry is not None)
        pngs, written = _collect_figures(pending, out, wanted, dpi, summary, warnings, tell)
        seconds["figures"] = time.perf_counter() - t
    finally:
        workers.close()

    tell("write", 0, 1)
    summary["warnings"] = warnings
    summary["seconds"] = seconds
    paths = write_report_files(summary, pngs, thumbs, out, seconds)
    tell("write", 1, 1)
    return ReportResult(
        out_dir=out,
        index_html=paths["html"],
        summary_json=paths["json"],
        summary_md=paths["md"],
        figures=written,
        rows=len(df),
        splits=summary["splits"],
        seconds=seconds,
        elapsed_s=time.perf_counter() - started,
        warnings=warnings,
        summary=summary,
    )


class _Ends:
    """The figure jobs still to draw, taken from both ends by two threads: workers take the
    front (page order), this process the back."""

    def __init__(self, count: int):
        self._front, self._back = 0, count - 1
        self._lock = threading.Lock()

    def take_front(self) -> int | None:
        with self._lock:
            if self._front > self._back:
                return None
            self._front += 1
            return self._front - 1

    def take_back(self) -> int | None:
        with self._lock:
            if self._front > self._back:
                return None
            self._back -= 1
            return self._back + 1


def _render_figures(workers: _Workers, jobs: list[FigureJob], out, wanted, dpi, tell_done,
                    between: Callable[[], None] = lambda: None):  # fmt: skip
    """Every figure job, in page order with its future. A thread of this process hands the
    next job from the front to a worker the moment one is free (the projection or a start
    finishing mid-figure would otherwise leave it idle until this process looks up from its
    own drawing, 0.3 s on the demo), while this process draws from the back, calling
    `between()` before each of its figures and after the last."""
    futures: dict[int, Future] = {}
    ends = _Ends(len(jobs))
    feeder = None
    if workers.pool is not None:
        feeder = threading.Thread(
            target=_feed_workers,
            args=(workers, jobs, ends, futures, (out, wanted, dpi)),
            name="jpegaudit-report-feeder",
            daemon=True,
        )
        feeder.start()
    while (i := ends.take_back()) is not None:
        between()
        futures[i] = _Inline().submit(_render_or_warn, jobs[i], out, wanted, dpi)
        tell_done(sum(f.done() for f in list(futures.values())))
    between()
    if feeder is not None:
        feeder.join()
    return [(job, futures[i]) for i, job in enumerate(jobs)]


def _feed_workers(workers: _Workers, jobs, ends: _Ends, futures: dict, render_args) -> None:
    """Give each free worker the next job from the front until none is left."""
    while True:
        if workers.idle() < 1:
            wait_for(workers.pending(), return_when=FIRST_COMPLETED)
            continue
        i = ends.take_front()
        if i is None:
            return
        try:
            futures[i] = workers.submit(_render_or_warn, jobs[i], *render_args)
        except Exception as exc:  # noqa: BLE001 - the pool broke: the job is drawn here
            from concurrent.futures.process import BrokenProcessPool

            failed: Future = Future()  # (_collect_figures draws it inline, as for a dead worker)
            failed.set_exception(BrokenProcessPool(f"{type(exc).__name__}: {exc}"))
            futures[i] = failed


def _collect_figures(pending, out, wanted, dpi, summary, warnings, tell):
    """Wait for every figure in page order: ({name: PNG bytes}, {name: {format: path}}), each
    entered in `summary["figures"]`; failures go to `warnings`."""
    pngs: dict[str, bytes] = {}
    written: dict[str, dict[str, Path]] = {}
    for job, future in pending:
        rendered, problem = _result_or_inline(
            future, partial(_render_or_warn, job, out, wanted, dpi)
        )
        tell("figures", sum(f.done() for _, f in pending), len(pending))
        if problem is not None:
            warnings.append(problem)
            continue
        pngs[job.name], written[job.name] = rendered
        summary["figures"][job.name] = {
            "title": job.title,
            "caption": job.caption,
            "section": job.section,
            "files": {kind: path.name for kind, path in written[job.name].items()},
        }
    return pngs, written


def _start_projection(workers, df: pd.DataFrame, cap: int, keep_500: float, seed: int):
    """Draw the study's sample here and submit its embedding and clustering to `workers`:
    (future, (sample rows, features, seconds), start time, [end time] once it is done)."""
    from jpegaudit.analysis.projection import embed_and_cluster, feature_matrix, study_sample

    start = time.perf_counter()
    rows = study_sample(df, keep_500=keep_500, cap=cap, seed=seed)
    features = feature_matrix(rows)
    seconds = {"sample": time.perf_counter() - start}
    future = workers.submit(embed_and_cluster, features, seed=seed)
    finished: list[float] = []  # when the result came in (in whichever thread delivers it)
    future.add_done_callback(lambda _: finished.append(time.perf_counter()))
    return future, (rows, features, seconds), start, finished


def _finish_projection(projecting, df, seed, pending, tell, total):
    """Wait for the projection (telling progress twice a second, and as figures finish):
    (Projection, None), or (None, why) when umap-learn is missing."""
    from jpegaudit.analysis.projection import embed_and_cluster, project_sample

    future, (rows, features, seconds), _, _ = projecting
    while not future.done():
        wait_for([future], timeout=0.5)
        tell("projection", 0, 1)
        tell("figures", sum(f.done() for _, f in pending), total)
    try:
        embedding, labels, method, times = _result_or_inline(
            future, partial(embed_and_cluster, features, seed=seed)
        )
    except ImportError as exc:
        return None, f"projection unavailable: {exc}"
    tell("projection", 1, 1)
    projection = project_sample(rows, embedding, labels, splits=stats.split_order(df),
                                method=method, seconds={**seconds, **times})  # fmt: skip
    return projection, None
