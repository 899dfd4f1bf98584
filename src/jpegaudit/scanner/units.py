"""Units of work: what one task reads, and the one Parquet part it writes.

- `FileBatch`: up to `batch_size` local files (from a walk or a list).
- `ObjectBatch`: up to `batch_size` loose objects behind one fsspec filesystem.
- `Shard`: one tar or zip file, local or remote, with all its members.

A unit's part is named from what the unit covers (`part-<digest>.parquet`), so running a unit
twice (a retried task, a worker lost after writing) rewrites the same part instead of adding a
second copy of its rows, and a shard whose part exists is done: a killed scan resumes by
skipping it. The functions here run in workers (a process pool, Dask); they are plain,
picklable data in and out, and never raise for anything a file or the network does.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from jpegaudit.audit import ReadLimits, new_row
from jpegaudit.scanner.store import PENDING_PREFIX, rows_to_table, write_part_atomically
from jpegaudit.scanner.walk import Entry
from jpegaudit.sources.container import shard_row
from jpegaudit.sources.local import LocalShardFile, audit_local_file
from jpegaudit.sources.remote import (
    FetchStats,
    FsSpec,
    RangeStream,
    RemoteEntry,
    RemoteOptions,
    audit_object,
    info_with_retries,
)
from jpegaudit.sources.retry import ReadFailed
from jpegaudit.sources.tar import audit_tar
from jpegaudit.sources.zipfile import audit_zip


@dataclass(frozen=True)
class LocalItem:
    entry: Entry
    root: str
    split: str


@dataclass(frozen=True)
class ObjectItem:
    entry: RemoteEntry
    root: str
    split: str


@dataclass(frozen=True)
class FileBatch:
    items: tuple[LocalItem, ...]

    def digest(self) -> str:
        return "f" + _digest(x for i in self.items for x in (i.entry.path, i.split))


@dataclass(frozen=True)
class ObjectBatch:
    fs: FsSpec
    items: tuple[ObjectItem, ...]

    def digest(self) -> str:
        return "o" + _digest(x for i in self.items for x in (i.entry.path, i.split))


@dataclass(frozen=True)
class Shard:
    kind: str  # "tar" or "zip"
    fs_path: str  # what to open: a local path, or a path inside `fs`
    path: str  # as shown in the store; members are `path::member`
    root: str
    split: str
    size: int | None
    version: str | None  # local: mtime_ns; remote: ETag (or mtime when the store has none)
    fs: FsSpec | None = None  # None for a local file

    def digest(self) -> str:
        # The version is in the name: a part for this exact shard content means "done".
        return "s" + _digest((self.kind, self.path, str(self.size), str(self.version), self.split))


Unit = FileBatch | ObjectBatch | Shard


@dataclass(frozen=True)
class Work:
    """A unit plus where and how to write it."""

    unit: Unit
    store: str
    pending: bool  # its rows replace existing ones: written hidden, published by finalize
    limits: ReadLimits
    remote: RemoteOptions
    backend: str = "header"  # or "torchjpeg": tables and sizes read through libjpeg
    deep: bool = False  # add the DCT-coefficient columns (docs/deep.md)
    deep_reader: str | None = None

    def part_name(self, complete: bool = True) -> str:
        name = f"part-{self.unit.digest()}{'' if complete else '-partial'}.parquet"
        return PENDING_PREFIX + name if self.pending else name


@dataclass(frozen=True)
class UnitDone:
    part: str  # file name of the part written, in the store directory
    unit_key: str  # the unit's digest
    pending: bool
    rows: int
    errors: int
    paths: tuple[str, ...]
    complete: bool  # False: a shard whose reading failed part-way (the next scan redoes it)
    requests: int = 0  # remote requests made (failed attempts included)
    fetched_bytes: int = 0  # remote bytes received


def done_part_name(unit: Unit) -> str:
    return f"part-{unit.digest()}.parquet"


def _digest(parts: Iterable[str]) -> str:
    h = hashlib.blake2b(digest_size=10)
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()


# -- running a unit --------------------------------------------------------------------------
def run_unit(work: Work) -> tuple[list[dict], UnitDone]:
    """Audit a unit: its rows, and the summary (naming the part they belong in)."""
    scanned_at = datetime.now(timezone.utc)
    unit = work.unit
    stats = FetchStats()
    complete = True
    if isinstance(unit, FileBatch):
        rows = [_audit_local_item(item, work.limits, scanned_at) for item in unit.items]
        if work.backend != "header" or work.deep:
            rows = [_deepen(row, item, work) for row, item in zip(rows, unit.items, strict=True)]
    elif isinstance(unit, ObjectBatch):
        rows = _audit_objects(unit, work, scanned_at, stats)
    else:
        rows, complete = _audit_shard(unit, work, scanned_at, stats)
    done = UnitDone(
        part=work.part_name(complete),
        unit_key=unit.digest(),
        pending=work.pending,
        rows=len(rows),
        errors=sum(r["error"] is not None for r in rows),
        paths=tuple(r["path"] for r in rows),
        complete=complete,
        requests=stats.requests,
        fetched_bytes=stats.bytes,
    )
    return rows, done


def end_with_parent() -> None:
    """In a pool worker (Linux): be killed when the process that forked it dies. Workers inherit
    the store's lock (an flock is shared across fork) and wait on a task queue whose parent end
    they also hold, so after a SIGKILL of the scan's main process alone (the OOM killer picks
    one process) they would live on forever, and every later scan would be refused."""
    if not sys.platform.startswith("linux"):
        return
    parent = multiprocessing.parent_process()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)  # the parent died before prctl took effect: nobody will send the signal


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def audit_unit(work: Work) -> UnitDone:
    """Worker with the store at hand (process pool): audit, then write the part atomically."""
    rows, done = run_unit(work)
    write_part_atomically(rows_to_table(rows), Path(work.store) / done.part)
    return done


def audit_unit_to_parquet(work: Work) -> tuple[bytes, UnitDone]:
    """Worker without the store at hand (a cluster): the part's bytes, for the client to
    write. A shard of 10,000 members is about 1 MB of Parquet."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows, done = run_unit(work)
    sink = pa.BufferOutputStream()
    pq.write_table(rows_to_table(rows), sink, compression="zstd")
    return sink.getvalue().to_pybytes(), done


def _audit_local_item(item: LocalItem, limits: ReadLimits, scanned_at) -> dict:
    entry = item.entry
    if entry.error is not None:
        row = new_row(entry.path, item.split, item.root, scanned_at)
        row["entry_type"], row["error"] = "directory", entry.error
        return row
    try:
        return audit_local_file(
            entry.fs_path,
            entry.path,
            item.split,
            item.root,
            scanned_at,
            limits,
            known_regular=entry.regular,
        )
    except Exception as exc:  # a parser bug must cost one row's detail, not the scan
        row = new_row(entry.path, item.split, item.root, scanned_at)
        row["entry_type"] = "file"
        row["error"] = f"internal error: {type(exc).__name__}: {exc}"
        return row


def _deepen(row: dict, item: LocalItem, work: Work) -> dict:
    """The torchjpeg backend and deep columns for one local row (lazy imports: torch only
    where asked for)."""
    from jpegaudit.deep.backend import apply_torchjpeg, deep_columns

    try:
        if work.backend == "torchjpeg":
            return apply_torchjpeg(row, item.entry.fs_path, deep=work.deep)
        row.update(deep_columns(item.entry.fs_path, row, reader=work.deep_reader))
    except Exception as exc:  # a reader bug must cost one row's detail, not the scan
        row["deep_error"] = f"internal error: {type(exc).__name__}: {exc}"
    return row


def _audit_objects(batch: ObjectBatch, work: Work, scanned_at, stats: FetchStats) -> list[dict]:
    fs = batch.fs.filesystem()

    def one(item: ObjectItem) -> tuple[dict, FetchStats]:
        try:
            return audit_object(
                fs, item.entry, item.split, item.root, scanned_at, work.limits, work.remote
            )
        except Exception as exc:  # a parser bug must cost one row's detail, not the scan
            row = new_row(item.entry.path, item.split, item.root, scanned_at)
            row["entry_type"] = "file"
            row["error"] = f"internal error: {type(exc).__name__}: {exc}"
            return row, FetchStats()

    # Threads hide request latency (tens of ms on a real object store); the audit itself is
    # microseconds of Python per object.
    workers = max(1, min(work.remote.concurrency, len(batch.items)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, batch.items))
    for _, s in results:
        stats.add(s)
    return [row for row, _ in results]


def _audit_shard(shard: Shard, work: Work, scanned_at, stats: FetchStats):
    """(rows, complete). Members read before a failure keep their rows; the shard gets a row
    saying what went wrong."""
    audit = audit_tar if shard.kind == "tar" else audit_zip
    rows: list[dict] = []

    def problem(entry_type: str, error: str) -> dict:
        return shard_row(shard.path, shard.split, shard.root, scanned_at, entry_type, error)

    try:
        if shard.fs is None:
            with LocalShardFile(shard.fs_path) as f:
                args = (shard.path, shard.split, shard.root, scanned_at, work.limits)
                for row in audit(f.fileobj, f.read_at, f.size, *args):
                    rows.append(row)
        else:
            fs = shard.fs.filesystem()
            size = shard.size
            if size is None:
                size = int(info_with_retries(fs, shard.fs_path, work.remote, stats)["size"])
            stream = RangeStream(fs, shard.fs_path, size, work.remote, stats)
            args = (shard.path, shard.split, shard.root, scanned_at, work.limits)
            for row in audit(stream, stream.read_at, size, *args):
                rows.append(row)
    except FileNotFoundError:
        rows.append(problem("missing", "vanished before it was read"))
    except PermissionError as exc:
        rows.append(problem("unreadable", f"cannot open: {exc.strerror or exc}"))
    except (ReadFailed, OSError) as exc:
        rows.append(problem("unreadable", f"read error: {exc}"[:300]))
        return rows, False
    except Exception as exc:  # a bug in an archive reader on odd input: one row, not a crash
        rows.append(problem("shard", f"internal error: {type(exc).__name__}: {exc}"[:300]))
    return rows, True
