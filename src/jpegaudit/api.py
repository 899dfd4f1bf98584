"""The Python API: the same features as the CLI, returning plain values and pandas DataFrames."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from jpegaudit.audit import DEFAULT_LIMITS, ReadLimits
from jpegaudit.scanner.engine import ScanError, ScanInterrupted, ScanResult, run_scan
from jpegaudit.scanner.store import StoreError, read_store
from jpegaudit.scanner.walk import default_split, display_path
from jpegaudit.sources.local import audit_local_file
from jpegaudit.sources.remote import DEFAULT_REMOTE, RemoteOptions
from jpegaudit.sources.retry import RetryPolicy

if TYPE_CHECKING:
    import pandas as pd

    from jpegaudit.report.build import ReportResult

__all__ = [
    "ScanError",
    "ScanInterrupted",
    "RemoteOptions",
    "RetryPolicy",
    "ScanResult",
    "StoreError",
    "audit_file",
    "audit_files",
    "build_report",
    "read_store",
    "run_check",
    "scan",
]


def build_report(
    store_or_df: str | os.PathLike | pd.DataFrame,
    out_dir: str | os.PathLike,
    *,
    umap: bool = True,
    umap_sample: int = 20_000,
    umap_keep_500: float = 0.10,
    seed: int = 0,
    files_root: str | os.PathLike | None = None,
    thumbnails: bool = True,
    formats: str | Sequence[str] = ("png",),
    jobs: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    outliers_per_kind: int = 6,
    top_fingerprints: int = 20,
    dpi: int = 110,
) -> ReportResult:
    """The report of a store (or a DataFrame with the store's columns) in `out_dir`: one file
    per figure and format (`formats`: "png", "pdf" or both; index.html embeds PNGs in any
    case), a self-contained index.html, summary.json (every number) and summary.md.

    `umap=False` skips the projection; `umap_sample` caps its sample and `umap_keep_500` is the
    study's share of width-or-height-500 files kept; `seed` makes both reproducible.
    Thumbnails of the listed outliers are decoded from the files (relative paths under
    `files_root`, default the current directory). `jobs`: processes that render figures and
    run the projection, this one included (default: the usable CPUs up to 4, or 1 when the
    load average already exceeds 1.5 x the CPUs).
    `progress(stage, done, total)` is told as "load", "analyse", "projection", "figures",
    "thumbnails" and "write" advance. Imports matplotlib and umap only when called; see
    docs/report.md."""
    from jpegaudit.report.build import build_report as build

    return build(
        store_or_df,
        out_dir,
        umap=umap,
        umap_sample=umap_sample,
        umap_keep_500=umap_keep_500,
        seed=seed,
        files_root=files_root,
        thumbnails=thumbnails,
        formats=formats,
        jobs=jobs,
        progress=progress,
        outliers_per_kind=outliers_per_kind,
        top_fingerprints=top_fingerprints,
        dpi=dpi,
    )


def run_check(paths, policy, **options):
    """Scan `paths` incrementally and evaluate a policy: see `jpegaudit.policy.check.run_check`."""
    from jpegaudit.policy.check import run_check as check

    return check(paths, policy, **options)


def scan(
    paths: Sequence[str | os.PathLike] | str | os.PathLike,
    store: str | os.PathLike,
    *,
    split: str | None = None,
    jobs: int | None = None,
    progress: bool = False,
    batch_size: int = 1000,
    limits: ReadLimits = DEFAULT_LIMITS,
    from_list: Sequence[str | os.PathLike] | str | os.PathLike = (),
    engine: str = "process",
    scheduler: str | None = None,
    storage_options: dict | None = None,
    shards: bool = True,
    remote: RemoteOptions = DEFAULT_REMOTE,
    backend: str = "header",
    deep: bool = False,
    deep_reader: str | None = None,
) -> ScanResult:
    """Scan files, folders, shards and object-store URLs into the Parquet store at `store`
    (created if needed).

    Each folder is walked; every entry in it gets one row. `.tar` and `.zip` files are opened
    and each member gets a row, with path `shard.tar::member.jpg` (`shards=False`: a row for
    the file itself). URLs (`s3://bucket/prefix`, `gs://`, `https://`, `memory://`, any fsspec
    protocol, configured by `storage_options`) are listed and read by exact byte ranges.
    `from_list`: text files naming one path or URL per line (optionally `<TAB>size<TAB>mtime_ns`).
    `split` defaults to each folder's (or prefix's, or list file's) name.

    Files whose size, mtime and split are unchanged since the last scan are not read again,
    nor are shards whose size and mtime (local) or ETag (object stores) are unchanged; rows of
    files that no longer exist under a scanned folder are dropped. `engine`: "process" (a
    local pool of `jobs` processes) or "dask" (the cluster at `scheduler`, an address, or a
    local cluster of `jobs` workers when None). `remote`: how remote bytes are fetched (whole
    objects below 32 KiB, 16 MiB shard ranges, concurrency, retries; docs/scale.md). Raises
    ScanInterrupted (holding the partial result) on Ctrl-C after keeping every finished unit.

    `backend="torchjpeg"` reads tables and component sizes through libjpeg by torchjpeg (in its
    own environment: docs/deep.md); `deep=True` adds DCT-coefficient statistics and the
    double-compression estimate (`deep_reader`: "libjpeg-turbo" or "torchjpeg"). Both apply to
    local files; rows read another way are re-read when the mode changes.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    if isinstance(from_list, (str, os.PathLike)):
        from_list = [from_list]
    return run_scan(
        list(paths),
        store,
        split=split,
        jobs=jobs,
        progress=progress,
        batch_size=batch_size,
        limits=limits,
        from_list=list(from_list),
        engine=engine,
        scheduler=scheduler,
        storage_options=storage_options,
        shards=shards,
        remote=remote,
        backend=backend,
        deep=deep,
        deep_reader=deep_reader,
    )


def audit_file(
    path: str | os.PathLike, *, split: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> dict:
    """One file's store row as a dict, without a store."""
    fs_path = os.fspath(path)
    return audit_local_file(
        fs_path,
        display_path(fs_path),
        split or default_split(fs_path),
        fs_path,
        datetime.now(timezone.utc),
        limits,
    )


def audit_files(paths: Sequence[str | os.PathLike], *, split: str | None = None):
    """Several files' rows as a DataFrame with the store's columns and dtypes, without a store."""
    from jpegaudit.scanner.store import rows_to_table

    rows = [audit_file(p, split=split) for p in paths]
    import pandas as pd
    import pyarrow as pa

    nullable = {
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return rows_to_table(rows).to_pandas(types_mapper=nullable.get)
