"""The Parquet scan store: a directory of parts, each written to a temporary name and renamed, so
a part is either complete or absent. One scan writes at a time (an flock on `.lock`).

Rows for files seen for the first time go straight into visible parts, so an interrupted scan
keeps every finished batch. Rows that replace an existing row (the file changed) go into hidden
`.pending-*` parts; `finalize` first drops the rows they replace from the old parts and only then
makes them visible. Whatever the moment a scan dies, no path ever has two rows.
"""

from __future__ import annotations

import fcntl
import json
import operator
import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jpegaudit import __version__
from jpegaudit.schema import COLUMNS, SCHEMA_VERSION

_ARROW_TYPES = {
    "string": pa.string(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
ARROW_SCHEMA = pa.schema([pa.field(name, _ARROW_TYPES[kind]) for name, kind in COLUMNS])
METADATA_FILE = "_jpegaudit.json"
LOCK_FILE = ".lock"
PENDING_PREFIX = ".pending-"
TMP_PREFIX = ".tmp-"


class StoreError(Exception):
    """The store cannot be used (locked by another scan, not a store, unwritable)."""


def rows_to_table(rows: list[dict]) -> pa.Table:
    # Transpose with one C-level itemgetter per row, then one typed pa.array per column:
    # about 3x faster than a list comprehension per column (docs/performance.md).
    if not rows:
        return ARROW_SCHEMA.empty_table()
    columns = zip(*map(_ROW_VALUES, rows), strict=True)
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns, ARROW_SCHEMA, strict=True)]
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


_ROW_VALUES = operator.itemgetter(*ARROW_SCHEMA.names)


def write_part_atomically(table: pa.Table, final_path: Path) -> None:
    """Write to a temporary name in the store, then rename: readers and later scans see the whole
    part or nothing. No fsync: a crash of the machine (not of the scan) can lose recent parts
    (docs/guarantees.md). A full disk or file-size limit raises StoreError."""
    _write_atomically(lambda tmp: pq.write_table(table, tmp, compression="zstd"), final_path)


def write_part_bytes_atomically(data: bytes, final_path: Path) -> None:
    """A part serialised elsewhere (a Dask worker): same temporary-name-then-rename rule."""
    _write_atomically(lambda tmp: tmp.write_bytes(data), final_path)


def _write_atomically(write: Callable[[Path], object], final_path: Path) -> None:
    tmp = final_path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}{final_path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, final_path)
    except BaseException as exc:
        _discard(tmp)
        if isinstance(exc, OSError):
            raise StoreError(_write_failure(final_path, exc)) from exc
        raise


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass  # a leftover temporary file is never read, and the next scan removes it


def _write_failure(final_path: Path, exc: OSError) -> str:
    # pyarrow's strerror is "Error writing bytes to file. Detail: [errno 28] ..."; the errno's
    # own text is what a user recognises (No space left on device, File too large).
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"cannot write {final_path.name} in store {final_path.parent}: {reason}"


@dataclass
class StoreIndex:
    """What the store already holds: per path, (bytes, mtime_ns, split, part file name, root,
    backend, deep_reader, format)."""

    entries: dict[str, tuple]


class ScanStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._lock_fd: int | None = None

    # -- locking ---------------------------------------------------------------------------
    def open_for_writing(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create store {self.root}: {exc.strerror}") from exc
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"store {self.root} is not a directory")
        try:
            fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot lock store {self.root}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                f"store {self.root} is being written by another scan; try again when it ends"
            ) from None
        except OSError as exc:  # no flock on this file system (some NFS set-ups)
            os.close(fd)
            raise StoreError(f"cannot lock store {self.root}: {exc.strerror}") from exc
        self._lock_fd = fd
        try:
            self._clean_leftovers()
            meta = self.root / METADATA_FILE
            if not meta.exists():
                text = json.dumps({"schema_version": SCHEMA_VERSION, "created_by": __version__})
                _write_atomically(lambda tmp: tmp.write_text(text + "\n"), meta)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _clean_leftovers(self) -> None:
        # Temporary files and pending parts of a scan that died: never visible, safe to drop
        # (the paths they covered still have their old rows, or none, and are rescanned).
        for p in self.root.iterdir():
            if p.name.startswith((TMP_PREFIX, PENDING_PREFIX)):
                p.unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------
    def part_files(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(
            p for p in self.root.iterdir() if p.name.startswith("part-") and p.suffix == ".parquet"
        )

    def load_index(self) -> StoreIndex:
        entries: dict[str, tuple] = {}
        names = ["path", "bytes", "mtime_ns", "split", "root", "backend", "deep_reader", "format"]
        names.append("tail_checked")
        # Splits, roots, backends and formats repeat on every row: one string object each
        # instead of one per row (about a third of the index's memory).
        shared: dict = {}
        for part in self.part_files():
            table = pq.read_table(part, columns=names, schema=ARROW_SCHEMA)
            columns = [table.column(n).to_pylist() for n in names]
            for i in range(3, 8):
                columns[i] = [shared.setdefault(v, v) for v in columns[i]]
            for path, size, mtime, split, root, backend, deep, fmt, tail in zip(
                *columns, strict=True
            ):
                entries[path] = (size, mtime, split, part.name, root, backend, deep, fmt, tail)
        return StoreIndex(entries)

    # -- writing ---------------------------------------------------------------------------
    def part_path(self, run_id: str, seq: int, pending: bool) -> Path:
        name = f"part-{run_id}-{seq:06d}.parquet"
        return self.root / (PENDING_PREFIX + name if pending else name)

    def finalize(self, drop_paths: set[str], index: StoreIndex, pending: Iterable[Path]) -> int:
        """Drop rows for `drop_paths` from existing parts, then publish the pending parts.
        Returns the number of rows dropped."""
        by_part: dict[str, set[str]] = {}
        for path in drop_paths:
            entry = index.entries.get(path)
            if entry is not None:
                by_part.setdefault(entry[3], set()).add(path)
        dropped = 0
        for part_name, paths in sorted(by_part.items()):
            part = self.root / part_name
            table = pq.read_table(part, schema=ARROW_SCHEMA)
            keep = pc.invert(pc.is_in(table.column("path"), pa.array(list(paths))))
            kept = table.filter(keep)
            dropped += table.num_rows - kept.num_rows
            if kept.num_rows:
                write_part_atomically(kept, part)
            else:
                part.unlink()
        for p in pending:
            os.replace(p, p.with_name(p.name[len(PENDING_PREFIX) :]))
        return dropped


def read_store(store: str | os.PathLike, columns: Sequence[str] | None = None):
    """The store as a pandas DataFrame: one row per scanned entry, every schema column (or only
    `columns`, which reads less).

    Integer and boolean columns use pandas' nullable dtypes (Int16, Int32, Int64, boolean), so a
    missing quality is <NA> rather than a float NaN; strings are Python objects (None when null).
    `pandas.read_parquet(store)` reads the same rows with numpy dtypes instead."""
    import pandas as pd

    parts = ScanStore(store).part_files()
    if not parts and not Path(store).is_dir():
        raise StoreError(f"no scan store at {store}")
    schema = ARROW_SCHEMA
    if columns is not None:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise StoreError(f"no column {unknown[0]!r} in the store schema")
        schema = pa.schema([schema.field(c) for c in columns])
    tables = [pq.read_table(p, columns=schema.names, schema=ARROW_SCHEMA) for p in parts]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    nullable = {
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return table.to_pandas(types_mapper=nullable.get)
