"""Units of work: what one task reads, and the one Parquet part it writes.

- `FileBatch`: up to `batch_size` local files (from a walk or a list) of one root and split.
- `MultiRootBatch`: the files left over by several roots (a few small folders, the rest of
  large ones), up to `batch_size` in all, in one part.
- `ObjectBatch`: up to `batch_size` loose objects behind one fsspec filesystem.
- `Shard`: one container file (tar, zip: sources/registry.py), local or remote, with all its
  entries.

Each unit knows how to produce its rows (`rows(context)`), so running one is the same call
whatever it is. A unit's part is named from what the unit covers (`part-<digest>.parquet`), so
running a unit twice (a retried task, a worker lost after writing) rewrites the same part
instead of adding a second copy of its rows, and a shard whose part exists is done: a killed
scan resumes by skipping it. The functions here run in workers (a process pool, Dask); they are
plain, picklable data in and out, and never raise for anything a file or the network does.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import multiprocessing
import os
import signal
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple, Protocol

import pyarrow as pa

from jpegaudit.audit import Origin, internal_error, internal_error_row
from jpegaudit.scanner.options import DEFAULT_OPTIONS, ScanOptions
from jpegaudit.scanner.walk import Entry
from jpegaudit.sources.compiled import compiled
from jpegaudit.sources.container import ContainerBytes, shard_row
from jpegaudit.sources.directory import LocalDirectory
from jpegaudit.sources.labels import LabelRule
from jpegaudit.sources.local import LocalShardFile, audit_local_batch, audit_local_file
from jpegaudit.sources.registry import container_format
from jpegaudit.sources.remote import (
    FetchStats,
    FsSpec,
    RangeFile,
    RangeStream,
    RemoteDirectory,
    RemoteEntry,
    audit_object,
    info_with_retries,
)
from jpegaudit.sources.retry import ReadFailed
from jpegaudit.store.arrow import (
    rows_to_table,
    string_array,
    table_from_columns,
    write_part_atomically,
)
from jpegaudit.store.files import PENDING_PREFIX


def once_per_unit(method):
    """A unit's method computed once and kept on the instance (units are frozen: the value
    cannot change). `digest` hashes every path of a unit and is asked for several times a unit
    (its part name, its key, the planner's done check)."""
    name = f"_{method.__name__}_once"

    @functools.wraps(method)
    def memoised(self):
        value = self.__dict__.get(name)
        if value is None:
            value = self.__dict__[name] = method(self)
        return value

    return memoised


class LocalItem(NamedTuple):
    entry: Entry
    root: str
    split: str


class ObjectItem(NamedTuple):
    entry: RemoteEntry
    root: str
    split: str


@dataclass
class UnitContext:
    """What a unit reads with, and what it counts while it does."""

    options: ScanOptions
    scanned_at: datetime
    stats: FetchStats


class UnitRows(NamedTuple):
    table: pa.Table  # the unit's rows, in the store's schema
    complete: bool = True  # False: a shard whose reading failed part-way (redone next scan)

    @classmethod
    def of(cls, rows: list[dict], complete: bool = True) -> UnitRows:
        return cls(rows_to_table(rows), complete)


class Unit(Protocol):
    def digest(self) -> str:
        """Names the unit's part: equal for a unit covering the same entries (and, for a
        shard, the same version of the file)."""
        ...

    def rows(self, context: UnitContext) -> UnitRows:
        """One row per entry; never raises for what a file or the network does."""
        ...


@dataclass(frozen=True)
class FileBatch:
    """Up to `batch_size` local files of one root and split, in walk order, held as columns
    rather than an object per file, so that a batch pickles in well under a microsecond a file.
    """

    root: str
    split: str
    fs_paths: tuple[str, ...]  # what to open
    # As the store shows them (undecodable bytes as \\xNN), when any differs from fs_paths.
    paths: tuple[str, ...] | None = None
    # One byte per file: 1 when the listing (d_type) said "regular file, not a symlink".
    regular: bytes = b""
    # (index, error) of the entries that are directories the walk could not list.
    errors: tuple[tuple[int, str], ...] = ()

    @classmethod
    def of(cls, items: Sequence[LocalItem]) -> FileBatch:
        """A batch of planned items, all of one root and split."""
        first = items[0]
        fs_paths = tuple(i.entry.fs_path for i in items)
        paths = tuple(i.entry.path for i in items)
        return cls(
            root=first.root,
            split=first.split,
            fs_paths=fs_paths,
            paths=None if paths == fs_paths else paths,
            regular=bytes(i.entry.regular for i in items),
            errors=tuple((k, i.entry.error) for k, i in enumerate(items) if i.entry.error),
        )

    def entries(self) -> list[Entry]:
        paths = self.paths if self.paths is not None else self.fs_paths
        regular = self.regular or bytes(len(self.fs_paths))
        errors = dict(self.errors)
        return [
            Entry(fs_path, path, errors.get(k), bool(regular[k]))
            for k, (fs_path, path) in enumerate(zip(self.fs_paths, paths, strict=True))
        ]

    @once_per_unit
    def digest(self) -> str:
        return "f" + unit_digest((self.split, *(self.paths or self.fs_paths)))

    @staticmethod
    def read_natively(options: ScanOptions) -> bool:
        """Whether the compiled core reads the batch: its rows then come as column buffers,
        and no Python value is converted to Arrow on the way (which makes pyarrow import
        pandas, 0.13 s, in a process that has not)."""
        return compiled is not None and options.backend == "header" and not options.deep

    def rows(self, context: UnitContext) -> UnitRows:
        options = context.options
        origin = Origin(self.split, self.root, context.scanned_at)
        if self.read_natively(options):
            entries: list[Entry] | None = None

            def reference_row(k: int) -> dict:
                nonlocal entries
                entries = entries or self.entries()
                return _audit_local_entry(entries[k], origin, options)

            regular = self.regular
            if self.errors:  # an unlistable directory is the reference core's to report
                flags = bytearray(regular or bytes(len(self.fs_paths)))
                for k, _ in self.errors:
                    flags[k] = 0
                regular = bytes(flags)
            labels = options.labels()
            # The default rule's label is the class folder: the compiled core asks for it once
            # per folder as it writes the rows (0.3 us a file less than _with_labels after).
            by_folder = (
                functools.partial(labels.path_label, root=self.root)
                if labels.source is None
                else None
            )
            columns = audit_local_batch(
                self.fs_paths, self.paths or self.fs_paths, regular, origin, options.limits,
                reference_row, by_folder,
            )  # fmt: skip
            if columns is not None:
                table = table_from_columns(columns.finish())
                if by_folder is not None:
                    return UnitRows(table)
                # The rows' paths are the batch's, in its order (a fallback row's too).
                paths = self.paths or self.fs_paths
                return UnitRows(_with_labels(table, self.root, labels, paths))
        labels = options.labels()
        entries = self.entries()
        rows = [labels.apply(_audit_local_entry(entry, origin, options)) for entry in entries]
        if options.backend != "header" or options.deep:
            rows = [_deepen(row, e, options) for row, e in zip(rows, entries, strict=True)]
        return UnitRows.of(rows)


@dataclass(frozen=True)
class MultiRootBatch:
    """FileBatches of several roots (or splits), each fewer files than `batch_size` and up to
    `batch_size` in all, read as one unit into one part: a part costs the same 1.5-2 ms to
    write (and a footer for every rescan to read) however few rows it holds. Each batch keeps
    its root, split and labels: the rows are those of the batches run one by one."""

    batches: tuple[FileBatch, ...]

    @once_per_unit
    def digest(self) -> str:
        # "m" apart from "f": no FileBatch names its part from its batches' digests.
        return "m" + unit_digest(b.digest() for b in self.batches)

    def rows(self, context: UnitContext) -> UnitRows:
        return UnitRows(pa.concat_tables([b.rows(context).table for b in self.batches]))

    def file_count(self) -> int:
        return sum(len(b.fs_paths) for b in self.batches)


@dataclass(frozen=True)
class ObjectBatch:
    fs: FsSpec
    items: tuple[ObjectItem, ...]

    @once_per_unit
    def digest(self) -> str:
        return "o" + unit_digest(x for i in self.items for x in (i.entry.path, i.split))

    def rows(self, context: UnitContext) -> UnitRows:
        fs = self.fs.filesystem()
        options = context.options

        def one(item: ObjectItem) -> tuple[dict, FetchStats]:
            origin = Origin(item.split, item.root, context.scanned_at)
            try:
                return audit_object(fs, item.entry, origin, options.limits, options.remote)
            except Exception as exc:  # a parser bug must cost one row's detail, not the scan
                return internal_error_row(item.entry.path, origin, exc), FetchStats()

        # Threads hide request latency (tens of ms on a real object store); the audit itself
        # is microseconds of Python per object.
        workers = max(1, min(options.remote.concurrency, len(self.items)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, self.items))
        for _, stats in results:
            context.stats.add(stats)
        labels = options.labels()
        return UnitRows.of([labels.apply(row) for row, _ in results])


@dataclass(frozen=True)
class Shard:
    kind: str  # a ContainerFormat's kind ("tar", "zip")
    fs_path: str  # what to open: a local path, or a path inside `fs`
    path: str  # as shown in the store; members are `path::member`
    root: str
    split: str
    size: int | None
    version: str | None  # local: mtime_ns; remote: ETag (or mtime when the store has none)
    fs: FsSpec | None = None  # None for a local file
    # ScanOptions.container_key(): the label rule and column choices the rows depend on, so
    # that a shard read under other ones is not done.
    rule_key: str = DEFAULT_OPTIONS.container_key()

    @once_per_unit
    def digest(self) -> str:
        # The version is in the name: a part for this exact shard content means "done".
        return "s" + unit_digest(
            (self.kind, self.path, str(self.size), str(self.version), self.split, self.rule_key)
        )

    def rows(self, context: UnitContext) -> UnitRows:
        """Members read before a failure keep their rows; the shard gets a row saying what
        went wrong."""
        fmt = container_format(self.kind)
        origin = Origin(self.split, self.root, context.scanned_at)
        options = context.options.container_options()
        rows: list[dict] = []
        try:
            if fmt.is_directory:
                directory: LocalDirectory | RemoteDirectory
                if self.fs is None:
                    directory = LocalDirectory(self.fs_path)
                else:
                    fs = self.fs.filesystem()
                    remote = context.options.remote
                    directory = RemoteDirectory(fs, self.fs_path, remote, context.stats)
                rows.extend(fmt.audit(directory, self.path, origin, options))
            elif self.fs is None:
                with LocalShardFile(self.fs_path) as f:
                    container = ContainerBytes(f.fileobj, f.read_at, f.size)
                    rows.extend(fmt.audit(container, self.path, origin, options))
            else:
                fs = self.fs.filesystem()
                remote = context.options.remote
                size = self.size
                if size is None:
                    info = info_with_retries(fs, self.fs_path, remote, context.stats)
                    size = int(info["size"])
                opener = RangeFile if fmt.remote_access == "ranges" else RangeStream
                stream = opener(fs, self.fs_path, size, remote, context.stats)
                container = ContainerBytes(stream, stream.read_at, size)
                rows.extend(fmt.audit(container, self.path, origin, options))
        except FileNotFoundError:
            rows.append(shard_row(self.path, origin, "missing", "vanished before it was read"))
        except PermissionError as exc:
            error = f"cannot open: {exc.strerror or exc}"
            rows.append(shard_row(self.path, origin, "unreadable", error))
        except (ReadFailed, OSError) as exc:
            rows.append(shard_row(self.path, origin, "unreadable", f"read error: {exc}"[:300]))
            labels = context.options.labels()
            return UnitRows.of([labels.apply(row) for row in rows], complete=False)
        except Exception as exc:  # a bug in an archive reader on odd input: one row, not a crash
            rows.append(internal_error_row(self.path, origin, exc, entry_type="shard"))
        labels = context.options.labels()
        return UnitRows.of([labels.apply(row) for row in rows])


@dataclass(frozen=True)
class Work:
    """A unit plus where and how to write it."""

    unit: FileBatch | MultiRootBatch | ObjectBatch | Shard
    store: str
    pending: bool  # its rows replace existing ones: written hidden, published by finalize
    options: ScanOptions  # the scan's, with `deep_reader` resolved (scanner.engine)

    def converts_no_python_values(self) -> bool:
        """Running it builds its table from column buffers alone (the compiled core reads local
        files): it can run in a process that must not import pandas (process_pool.py)."""
        local = isinstance(self.unit, (FileBatch, MultiRootBatch))
        return local and FileBatch.read_natively(self.options)

    def local_files(self) -> int | None:
        """How many local files the unit reads; None for objects and shards, whose cost is
        the network's or the container's."""
        if isinstance(self.unit, FileBatch):
            return len(self.unit.fs_paths)
        return self.unit.file_count() if isinstance(self.unit, MultiRootBatch) else None

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


def _with_labels(
    table: pa.Table, root: str, labels: LabelRule, paths: Sequence[str] | None = None
) -> pa.Table:
    """Under a rule of the user's (a pattern or a mapping) the compiled core leaves `label`
    null: set it from each path (files have no container label, so the rule's path label is
    the whole answer). `paths`: the table's, when the caller has them as strings already."""
    index = table.schema.get_field_index("label")
    if paths is None or len(paths) != table.num_rows:
        paths = table.column("path").to_pylist()
    values = [labels.path_label(p, root) for p in paths]
    return table.set_column(index, "label", string_array(values))


def done_part_name(unit: Unit) -> str:
    return f"part-{unit.digest()}.parquet"


def unit_digest(parts: Iterable[str]) -> str:
    """blake2b of every part followed by NUL, hashed as one joined string: one encode and one
    update for a batch of 4,096 paths, not two updates a path (1 us a file)."""
    parts = tuple(parts)
    joined = "\0".join(parts) + "\0" if parts else ""
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=10).hexdigest()


# -- running a unit --------------------------------------------------------------------------
def run_unit(work: Work) -> tuple[pa.Table, UnitDone]:
    """Audit a unit: its rows, and the summary (naming the part they belong in)."""
    context = UnitContext(work.options, datetime.now(timezone.utc), FetchStats())
    table, complete = work.unit.rows(context)
    errors = table.column("error")
    done = UnitDone(
        part=work.part_name(complete),
        unit_key=work.unit.digest(),
        pending=work.pending,
        rows=table.num_rows,
        errors=len(errors) - errors.null_count,
        # Only a pending unit's rows replace stored ones (engine.record): others send none back.
        paths=tuple(table.column("path").to_pylist()) if work.pending else (),
        complete=complete,
        requests=context.stats.requests,
        fetched_bytes=context.stats.bytes,
    )
    return table, done


def audit_unit(work: Work) -> UnitDone:
    """Worker with the store at hand (process pool): audit, then write the part atomically."""
    table, done = run_unit(work)
    write_part_atomically(table, Path(work.store) / done.part)
    return done


def audit_unit_to_parquet(work: Work) -> tuple[bytes, UnitDone]:
    """Worker without the store at hand (a cluster): the part's bytes, for the client to
    write. A shard of 10,000 members is about 1 MB of Parquet."""
    from jpegaudit.store.arrow import write_part

    table, done = run_unit(work)
    sink = pa.BufferOutputStream()
    write_part(table, sink)
    return sink.getvalue().to_pybytes(), done


def end_with_parent() -> None:
    """In a pool worker (Linux): be killed when the process that forked it dies. Workers inherit
    the store's lock (an flock is shared across fork) and wait on a task queue whose parent end
    they also hold, so after a SIGKILL of the scan's main process alone (the OOM killer picks
    one process) they would live on forever, and every later scan would be refused."""
    parent = multiprocessing.parent_process()
    if not _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL):
        return
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)  # the parent died before prctl took effect: nobody will send the signal


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def without_huge_pages() -> None:
    """In a pool worker (Linux): no transparent huge pages for this process. pyarrow's
    allocator (mimalloc) reserves its arena with MADV_HUGEPAGE, and where the kernel has huge
    pages free, a worker's first part write then clears one 2 MiB page for each region it
    touches: 10-40 ms of CPU in one worker out of five scans, against 12 ms for the whole write
    otherwise (docs/performance.md, "Huge pages in the workers"). With 4 KiB pages the same
    memory costs about 1,400 more page faults a worker (2 ms), every time."""
    _prctl(_PR_SET_THP_DISABLE, 1)


_PR_SET_THP_DISABLE = 41  # linux/prctl.h, since Linux 3.15 (an older kernel says EINVAL)


def _prctl(option: int, value: int) -> bool:
    """prctl(option, value) in this process (Linux); False where there is none to call."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(option, value, 0, 0, 0)
    except (OSError, AttributeError):
        return False
    return True


def _audit_local_entry(entry: Entry, origin: Origin, options: ScanOptions) -> dict:
    if entry.error is not None:
        row = origin.new_row(entry.path)
        row["entry_type"], row["error"] = "directory", entry.error
        return row
    try:
        return audit_local_file(
            entry.fs_path,
            entry.path,
            origin,
            options.limits,
            known_regular=entry.regular,
        )
    except Exception as exc:  # a parser bug must cost one row's detail, not the scan
        return internal_error_row(entry.path, origin, exc)


def _deepen(row: dict, entry: Entry, options: ScanOptions) -> dict:
    """The torchjpeg backend and deep columns for one local row (lazy imports: torch only
    where asked for)."""
    from jpegaudit.deep.backend import apply_torchjpeg, deep_columns

    try:
        if options.backend == "torchjpeg":
            return apply_torchjpeg(row, entry.fs_path, deep=options.deep)
        row.update(deep_columns(entry.fs_path, row, reader=options.deep_reader))
    except Exception as exc:  # a reader bug must cost one row's detail, not the scan
        row["deep_error"] = internal_error(exc)
    return row
