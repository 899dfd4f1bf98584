"""The local scan engine: walk the paths, decide what needs reading, audit batches in a process
pool, and let each worker write its batch as one Parquet part. The main process holds only the
walk, a bounded number of batches in flight, and (for rescans) the store's index."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from jpegaudit.audit import DEFAULT_LIMITS, ReadLimits, new_row
from jpegaudit.scanner.store import ScanStore, StoreIndex, rows_to_table, write_part_atomically
from jpegaudit.scanner.walk import Entry, default_split, normalize_root, walk
from jpegaudit.sources.local import audit_local_file

DEFAULT_BATCH_SIZE = 1000


class ScanError(Exception):
    """The scan cannot run as asked (bad arguments, store unusable)."""


@dataclass(frozen=True)
class ScanResult:
    store: Path
    scanned: int  # rows written by this run
    unchanged: int  # files skipped because size, mtime and split were unchanged
    removed: int  # rows dropped for files that no longer exist
    errors: int  # rows written by this run whose `error` is set
    elapsed_s: float
    interrupted: bool = False


class ScanInterrupted(Exception):
    def __init__(self, result: ScanResult) -> None:
        super().__init__("scan interrupted")
        self.result = result


@dataclass(frozen=True)
class _Item:
    entry: Entry
    root: str
    split: str


@dataclass(frozen=True)
class _Batch:
    items: tuple[_Item, ...]
    part: str
    limits: ReadLimits


@dataclass(frozen=True)
class _BatchDone:
    rows: int
    errors: int
    part: str
    paths: tuple[str, ...]


@dataclass
class _Plan:
    """Decides, entry by entry, what must be read; remembers what it saw for deletions."""

    index: StoreIndex
    unchanged: int = 0
    seen_known: set[str] = field(default_factory=set)
    walk_complete: bool = False

    def items(self, roots: Sequence[tuple[str, str]]) -> Iterator[tuple[_Item, bool]]:
        """Yield (item, replaces an existing row)."""
        known = self.index.entries
        for root, split in roots:
            for entry in walk(root):
                previous = known.get(entry.path)
                if previous is None:
                    yield _Item(entry, root, split), False
                    continue
                self.seen_known.add(entry.path)
                if entry.error is None and _unchanged(entry.fs_path, previous, split):
                    self.unchanged += 1
                    continue
                yield _Item(entry, root, split), True
        self.walk_complete = True

    def deleted(self, roots: Sequence[tuple[str, str]]) -> set[str]:
        scanned_roots = {root for root, _ in roots}
        return {
            path
            for path, (_, _, _, _, root) in self.index.entries.items()
            if root in scanned_roots and path not in self.seen_known
        }


def _unchanged(fs_path: str, previous: tuple, split: str) -> bool:
    size, mtime, old_split = previous[0], previous[1], previous[2]
    try:
        st = os.stat(fs_path)
    except OSError:
        return False
    return st.st_size == size and st.st_mtime_ns == mtime and split == old_split


def audit_batch(batch: _Batch) -> _BatchDone:
    """Worker: audit every item and write the rows as one part. Never raises for a file."""
    scanned_at = datetime.now(timezone.utc)
    rows = []
    for item in batch.items:
        entry = item.entry
        if entry.error is not None:
            row = new_row(entry.path, item.split, item.root, scanned_at)
            row["entry_type"], row["error"] = "directory", entry.error
        else:
            try:
                row = audit_local_file(
                    entry.fs_path,
                    entry.path,
                    item.split,
                    item.root,
                    scanned_at,
                    batch.limits,
                    known_regular=entry.regular,
                )
            except Exception as exc:  # a parser bug must cost one row's detail, not the scan
                row = new_row(entry.path, item.split, item.root, scanned_at)
                row["entry_type"] = "file"
                row["error"] = f"internal error: {type(exc).__name__}: {exc}"
        rows.append(row)
    write_part_atomically(rows_to_table(rows), Path(batch.part))
    return _BatchDone(
        rows=len(rows),
        errors=sum(r["error"] is not None for r in rows),
        part=batch.part,
        paths=tuple(r["path"] for r in rows),
    )


def _ignore_sigint() -> None:
    # Workers finish their batch on Ctrl-C; the main process stops handing out new ones.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _check_roots(paths: Sequence[str]) -> None:
    real = [os.path.realpath(p) for p in paths]
    for i, a in enumerate(real):
        for j, b in enumerate(real):
            if i != j and (a == b or b.startswith(a.rstrip("/") + "/")):
                raise ScanError(f"paths overlap: {paths[j]!r} is inside {paths[i]!r}")


def run_scan(
    paths: Sequence[str | os.PathLike],
    store: str | os.PathLike,
    *,
    split: str | None = None,
    jobs: int | None = None,
    progress: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> ScanResult:
    started = time.perf_counter()
    if not paths:
        raise ScanError("nothing to scan: give at least one path")
    roots_given = [normalize_root(os.fspath(p)) for p in paths]
    _check_roots(roots_given)
    roots = [(r, split or default_split(r)) for r in roots_given]
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    scan_store = ScanStore(store)
    scan_store.open_for_writing()
    try:
        return _run(scan_store, roots, jobs, progress, batch_size, limits, started)
    finally:
        scan_store.close()


def _run(store, roots, jobs, progress, batch_size, limits, started) -> ScanResult:
    index = store.load_index()
    plan = _Plan(index)
    run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    seq = 0
    new_items: list[_Item] = []
    changed_items: list[_Item] = []
    pending_parts: list[Path] = []
    replaced: set[str] = set()
    totals = {"rows": 0, "errors": 0}
    bar = _progress_bar(progress)

    def make_batch(items: list[_Item], pending: bool) -> _Batch:
        nonlocal seq
        seq += 1
        part = store.part_path(run_id, seq, pending)
        return _Batch(tuple(items), str(part), limits)

    def batches() -> Iterator[tuple[_Batch, bool]]:
        for item, replaces in plan.items(roots):
            bucket = changed_items if replaces else new_items
            bucket.append(item)
            if len(bucket) >= batch_size:
                yield make_batch(bucket, replaces), replaces
                bucket.clear()
        for bucket, replaces in ((new_items, False), (changed_items, True)):
            if bucket:
                yield make_batch(bucket, replaces), replaces

    def record(done: _BatchDone, pending: bool) -> None:
        totals["rows"] += done.rows
        totals["errors"] += done.errors
        if pending:
            pending_parts.append(Path(done.part))
            replaced.update(done.paths)
        if bar is not None:
            bar.update(done.rows)

    interrupted = False
    try:
        if jobs == 1:
            for batch, pending in batches():
                record(audit_batch(batch), pending)
        else:
            _run_pool(batches(), jobs, record)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    drop = set(replaced)
    removed = 0
    if plan.walk_complete and not interrupted:
        deleted = plan.deleted(roots)
        removed = len(deleted)
        drop |= deleted
    store.finalize(drop, index, pending_parts)
    result = ScanResult(
        store=store.root,
        scanned=totals["rows"],
        unchanged=plan.unchanged,
        removed=removed,
        errors=totals["errors"],
        elapsed_s=time.perf_counter() - started,
        interrupted=interrupted,
    )
    if interrupted:
        raise ScanInterrupted(result)
    return result


def _run_pool(batches: Iterator[tuple[_Batch, bool]], jobs: int, record) -> None:
    in_flight: dict[Future, bool] = {}
    with ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_sigint) as pool:
        try:
            for batch, pending in batches:
                in_flight[pool.submit(audit_batch, batch)] = pending
                if len(in_flight) >= 2 * jobs:
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for f in done:
                        record(f.result(), in_flight.pop(f))
            for f in list(in_flight):
                record(f.result(), in_flight.pop(f))
        except KeyboardInterrupt:
            # Keep what is running (workers ignore SIGINT and finish their batch), drop the rest.
            for f in in_flight:
                f.cancel()
            for f in list(in_flight):
                if not f.cancelled():
                    try:
                        record(f.result(), in_flight[f])
                    except Exception:
                        pass
            raise


def _progress_bar(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(unit=" files", desc="scanning", smoothing=0.1)
