"""The Python API: the same features as the CLI, returning plain values and pandas DataFrames.
A façade over the library: nothing inside the package imports it."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from jpegaudit.audit import DEFAULT_LIMITS, ReadLimits
from jpegaudit.scanner.engine import run_scan
from jpegaudit.scanner.options import ScanOptions, as_paths
from jpegaudit.scanner.result import ScanError, ScanInterrupted, ScanResult
from jpegaudit.sources.local import audit_path
from jpegaudit.sources.remote import RemoteOptions
from jpegaudit.sources.retry import RetryPolicy
from jpegaudit.store.files import StoreError
from jpegaudit.store.reader import read_store

if TYPE_CHECKING:
    import pandas as pd

    from jpegaudit.report.build import ReportResult

__all__ = [
    "ReadLimits",
    "RemoteOptions",
    "RetryPolicy",
    "ScanError",
    "ScanInterrupted",
    "ScanOptions",
    "ScanResult",
    "StoreError",
    "audit_file",
    "audit_files",
    "build_report",
    "read_store",
    "run_check",
    "scan",
    "scan_images",
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


def run_check(
    paths: Sequence[str | os.PathLike] | str | os.PathLike,
    policy,
    *,
    store: str | os.PathLike | None = None,
    options: ScanOptions | None = None,
    examples: int | None = None,
    scan: bool = True,
    **settings: Any,
):
    """Scan `paths` incrementally into `store` (default `$JPEGAUDIT_STORE`, else
    `.jpegaudit/store`) and evaluate `policy` (a path or a loaded `Policy`); returns a
    `CheckReport` whose `exit_code` is 0 (pass) or 1 (a rule broken), and raises `PolicyError`
    or `CheckError` when the check cannot run. Scan settings as for `scan` (`options`, or
    keyword arguments named like its fields); `scan=False` evaluates the store as it is;
    `examples`: paths listed per broken rule (default 5). See
    `jpegaudit.policy.check.run_check`."""
    from jpegaudit.policy.check import DEFAULT_EXAMPLES
    from jpegaudit.policy.check import run_check as check

    return check(
        as_paths(paths),
        policy,
        store=None if store is None else os.fspath(store),
        options=ScanOptions.build(options, **settings),
        examples=DEFAULT_EXAMPLES if examples is None else examples,
        scan=scan,
    )


def scan(
    paths: Sequence[str | os.PathLike] | str | os.PathLike,
    store: str | os.PathLike,
    options: ScanOptions | None = None,
    **settings: Any,
) -> ScanResult:
    """Scan files, folders, shards and object-store URLs into the Parquet store at `store`
    (created if needed).

    `options` is a `ScanOptions` (every setting, with its default and meaning, is declared
    there); keyword arguments named like its fields change single settings, e.g.
    `scan("data/", "store/", jobs=2, limits=ReadLimits(read_tail=False))`.

    Each folder is walked; every entry in it gets one row. `.tar` and `.zip` files are opened
    and each member gets a row, with path `shard.tar::member.jpg` (`shards=False`: a row for
    the file itself). URLs (`s3://bucket/prefix`, `gs://`, `https://`, `memory://`, any fsspec
    protocol, configured by `storage_options`) are listed and read by exact byte ranges.
    `from_list`: text files naming one path or URL per line (optionally `<TAB>size<TAB>mtime_ns`).
    `split` defaults to each folder's (or prefix's, or list file's) name.

    Files whose size, mtime and split are unchanged since the last scan are not read again,
    nor are shards whose size and mtime (local) or ETag (object stores) are unchanged; rows of
    files that no longer exist under a scanned folder are dropped. Raises ScanInterrupted
    (holding the partial result) on Ctrl-C after keeping every finished unit.
    """
    return run_scan(as_paths(paths), store, ScanOptions.build(options, **settings))


def scan_images(
    items: Iterable,
    store: str | os.PathLike,
    options: ScanOptions | None = None,
    **settings: Any,
) -> ScanResult:
    """Audit images handed over in Python into the store at `store`: `items` yields
    `(key, data)` or `(key, data, label)`, `data` the encoded image's bytes (or the
    `{"bytes", "path"}` dict of a Hugging Face `Image(decode=False)` column). `key` is the
    row's `path`; `split` defaults to `images`; `batch_size`, `limits` and `label_from` apply as
    in `scan`. For a torch or Hugging Face `Dataset` in a notebook:

        ds = datasets.load_dataset("imagenet-1k", split="validation")
        ds = ds.cast_column("image", datasets.Image(decode=False))
        jpegaudit.scan_images(((i, ex["image"], ex["label"]) for i, ex in enumerate(ds)), "audit/")

    A key already in the store gets its row replaced; keys not given keep theirs."""
    from jpegaudit.scanner.images import scan_image_items

    return scan_image_items(items, store, ScanOptions.build(options, **settings))


def audit_file(
    path: str | os.PathLike, *, split: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> dict:
    """One file's store row as a dict, without a store."""
    return audit_path(os.fspath(path), split=split, limits=limits)


def audit_files(paths: Sequence[str | os.PathLike], *, split: str | None = None):
    """Several files' rows as a DataFrame with the store's columns and dtypes, without a store."""
    from jpegaudit.store.arrow import rows_to_table, table_to_pandas

    rows = [audit_file(p, split=split) for p in paths]
    return table_to_pandas(rows_to_table(rows))
