"""The Python API: the same features as the CLI, returning plain values and pandas DataFrames."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timezone

from jpegaudit.audit import DEFAULT_LIMITS, ReadLimits
from jpegaudit.scanner.engine import ScanError, ScanInterrupted, ScanResult, run_scan
from jpegaudit.scanner.store import StoreError, read_store
from jpegaudit.scanner.walk import default_split, display_path
from jpegaudit.sources.local import audit_local_file

__all__ = [
    "ScanError",
    "ScanInterrupted",
    "ScanResult",
    "StoreError",
    "audit_file",
    "audit_files",
    "read_store",
    "scan",
]


def scan(
    paths: Sequence[str | os.PathLike] | str | os.PathLike,
    store: str | os.PathLike,
    *,
    split: str | None = None,
    jobs: int | None = None,
    progress: bool = False,
    batch_size: int = 1000,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> ScanResult:
    """Scan files and folders into the Parquet store at `store` (created if needed).

    Each folder is walked; every entry in it gets one row. `split` defaults to each folder's
    name. Files whose size, mtime and split are unchanged since the last scan are not read
    again; rows of files that no longer exist under a scanned folder are dropped. Raises
    ScanInterrupted (holding the partial result) on Ctrl-C after keeping every finished batch.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return run_scan(
        list(paths),
        store,
        split=split,
        jobs=jobs,
        progress=progress,
        batch_size=batch_size,
        limits=limits,
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
