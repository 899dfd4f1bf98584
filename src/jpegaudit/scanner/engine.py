"""The scan engine: walk or list what was asked for, decide what needs reading, hand units of work
(batches of files or objects, whole shards; scanner/units.py) to an engine (a local process pool,
or Dask), and let each unit become one Parquet part. The main process holds only the walk, a
bounded number of units in flight, and (for rescans) the store's index."""

from __future__ import annotations

import os
import signal
import stat
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from jpegaudit.audit import DEFAULT_LIMITS, ReadLimits
from jpegaudit.scanner.store import ScanStore, StoreIndex
from jpegaudit.scanner.units import (
    FileBatch,
    LocalItem,
    ObjectBatch,
    ObjectItem,
    Shard,
    UnitDone,
    Work,
    audit_unit,
    done_part_name,
    end_with_parent,
)
from jpegaudit.scanner.walk import Entry, default_split, display_path, normalize_root, walk
from jpegaudit.sources.container import container_kind, shard_of
from jpegaudit.sources.remote import (
    DEFAULT_REMOTE,
    FsSpec,
    RemoteEntry,
    RemoteOptions,
    is_url,
    list_url,
    resolve_url,
)
from jpegaudit.sources.retry import call_with_retries

DEFAULT_BATCH_SIZE = 1000
ENGINES = ("process", "dask")


class ScanError(Exception):
    """The scan cannot run as asked (bad arguments, store unusable)."""


@dataclass(frozen=True)
class ScanResult:
    store: Path
    scanned: int  # rows written by this run
    unchanged: int  # entries skipped because size, mtime (or a shard's version) and split held
    removed: int  # rows dropped for files that no longer exist
    errors: int  # rows written by this run whose `error` is set
    elapsed_s: float
    interrupted: bool = False
    units: int = 0  # units of work (batches, shards) completed by this run
    requests: int = 0  # requests to remote stores made by the units (retries included)
    fetched_bytes: int = 0  # bytes received from remote stores by the units


class ScanInterrupted(Exception):
    def __init__(self, result: ScanResult) -> None:
        super().__init__("scan interrupted")
        self.result = result


@dataclass(frozen=True)
class _Root:
    arg: str  # as given, normalised (no trailing slash): the rows' `root`
    kind: str  # "local", "url" or "list"
    split: str | None  # None: decided when the root is listed (URLs)
    location: str = ""  # a URL exactly as given (over HTTP, `dir/` and `dir` differ)


@dataclass
class _Plan:
    """Decides, entry by entry, what must be read; remembers what it saw for deletions."""

    index: StoreIndex
    done_parts: set[str]
    shards: bool
    storage_options: dict
    unchanged: int = 0
    seen_known: set[str] = field(default_factory=set)
    walk_complete: bool = False
    _members: dict[str, list[str]] | None = None
    backend: str = "header"
    deep: bool = False
    read_tail: bool = True

    def _same_mode(self, previous: tuple) -> bool:
        """A row read by another backend, without deep columns when --deep is asked, or
        without its tail (`read_tail=False`) when the tail is wanted, is read again even
        though the file did not change."""
        backend, deep_reader, fmt = previous[5:8]
        wants_deep = self.deep and fmt == "jpeg"  # deep mode reads JPEGs only
        return (
            (backend or "header") == self.backend
            and (not wants_deep or deep_reader is not None)
            and self._tail_as_wanted(previous)
        )

    def _tail_as_wanted(self, previous: tuple) -> bool:
        return not (self.read_tail and previous[8] is False)

    # Each yielded thing is either a Shard with the paths of the rows it replaces, or a
    # batchable item: (bucket key, item, replaces an existing row, filesystem spec or None).
    def things(self, roots: Sequence[_Root]) -> Iterator[tuple]:
        # Folders and URL prefixes cannot overlap (_check_roots), but a list may name a path
        # twice, or one that a folder argument also reaches: with lists, remember what was
        # yielded (about 100 bytes a path) so that no path gets two rows.
        yielded: set[str] | None = set() if any(r.kind == "list" for r in roots) else None
        for root in roots:
            if root.kind == "local":
                things = self._local(root)
            elif root.kind == "url":
                things = self._url(root)
            else:
                things = self._list(root)
            for thing in things:
                if yielded is not None:
                    path = thing[0].path if isinstance(thing[0], Shard) else thing[1].entry.path
                    if path in yielded:
                        continue
                    yielded.add(path)
                yield thing
        self.walk_complete = True

    # -- sources of entries ------------------------------------------------------------
    def _local(self, root: _Root) -> Iterator[tuple]:
        for entry in walk(root.arg):
            yield from self._local_entry(entry, root.arg, root.split)

    def _local_entry(self, entry: Entry, root: str, split: str) -> Iterator[tuple]:
        kind = container_kind(entry.path) if self.shards and entry.error is None else None
        if kind is not None:
            try:
                st = os.stat(entry.fs_path)
            except OSError:
                st = None  # gets a row saying why, as a file
            if st is not None and stat.S_ISREG(st.st_mode):
                shard = Shard(
                    kind, entry.fs_path, entry.path, root, split, st.st_size, str(st.st_mtime_ns)
                )
                yield from self._shard(shard)
                return
        previous = self.index.entries.get(entry.path)
        if previous is None:
            yield ("local", LocalItem(entry, root, split), False, None)
            return
        self.seen_known.add(entry.path)
        if (
            entry.error is None
            and self._same_mode(previous)
            and _unchanged_local(entry.fs_path, previous, split)
        ):
            self.unchanged += 1
            return
        yield ("local", LocalItem(entry, root, split), True, None)

    def _url(self, root: _Root) -> Iterator[tuple]:
        try:
            spec, fs, fs_path = resolve_url(root.location, self.storage_options)
        except (ImportError, ValueError) as exc:
            raise ScanError(f"cannot read {root.arg}: {exc}{_extra_hint(exc)}") from None
        try:
            is_dir, entries = call_with_retries(lambda: list_url(fs, fs_path, root.arg))
        except FileNotFoundError:
            # As for a local path that does not exist: a row that says so.
            is_dir, entries = False, iter([RemoteEntry(fs_path, root.arg, None, None, None)])
        except Exception as exc:
            raise ScanError(f"cannot list {root.arg}: {type(exc).__name__}: {exc}") from None
        split = root.split or url_split(root.arg, is_dir)
        try:
            for entry in entries:
                yield from self._remote_entry(entry, spec, root.arg, split)
        except (ScanError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise ScanError(f"cannot list {root.arg}: {type(exc).__name__}: {exc}") from None

    def _remote_entry(self, entry: RemoteEntry, spec: FsSpec, root: str, split: str):
        kind = container_kind(entry.path) if self.shards else None
        if kind is not None:
            shard = Shard(
                kind, entry.fs_path, entry.path, root, split, entry.size, entry.version, spec
            )
            yield from self._shard(shard)
            return
        key = ("object", spec.protocol)
        previous = self.index.entries.get(entry.path)
        if previous is None:
            yield (key, ObjectItem(entry, root, split), False, spec)
            return
        self.seen_known.add(entry.path)
        size, mtime, old_split = previous[0], previous[1], previous[2]
        if entry.size is None:
            # A list line without a size: objects are normally written once; give sizes (and
            # mtimes) in the list to have changes detected.
            same = size is not None
        else:
            same = size == entry.size and (entry.mtime_ns is None or mtime == entry.mtime_ns)
        if same and old_split == split and self._tail_as_wanted(previous):
            self.unchanged += 1
            return
        yield (key, ObjectItem(entry, root, split), True, spec)

    def _list(self, root: _Root) -> Iterator[tuple]:
        split = root.split
        assert split is not None
        specs: dict[str, tuple[FsSpec, object]] = {}
        for target, size, mtime_ns in read_list_file(root.arg):
            if not is_url(target):
                entry = Entry(target, display_path(target))
                yield from self._local_entry(entry, root.arg, split)
                continue
            protocol = target.split("://", 1)[0]
            if protocol not in specs:
                try:
                    spec, fs, _ = resolve_url(target, self.storage_options)
                except (ImportError, ValueError) as exc:
                    raise ScanError(f"cannot read {target}: {exc}{_extra_hint(exc)}") from None
                specs[protocol] = (spec, fs)
            spec, fs = specs[protocol]
            fs_path = fs._strip_protocol(target)
            version = None if mtime_ns is None else f"mtime:{mtime_ns}"
            entry = RemoteEntry(fs_path, target, size, mtime_ns, version)
            if self.shards and container_kind(target) and (size is None or version is None):
                entry = _with_info(fs, entry)
            yield from self._remote_entry(entry, spec, root.arg, split)

    # -- shards --------------------------------------------------------------------------
    def _shard(self, shard: Shard) -> Iterator[tuple]:
        old = self._shard_rows(shard.path)
        self.seen_known.update(old)
        tails_as_wanted = all(self._tail_as_wanted(self.index.entries[p]) for p in old)
        if done_part_name(shard) in self.done_parts and tails_as_wanted:
            self.unchanged += len(old)
            return
        yield (shard, old)

    def _shard_rows(self, shard_path: str) -> list[str]:
        """Paths of the rows a shard has in the store: its members, and a row for the shard
        itself (an error, or the shard scanned as a plain file with shards off)."""
        if self._members is None:
            members: dict[str, list[str]] = defaultdict(list)
            for path in self.index.entries:
                shard = shard_of(path)
                if shard is not None:
                    members[shard].append(path)
            self._members = members
        rows = list(self._members.get(shard_path, ()))
        if shard_path in self.index.entries:
            rows.append(shard_path)
        return rows

    def deleted(self, roots: Sequence[_Root]) -> set[str]:
        scanned_roots = {root.arg for root in roots}
        return {
            path
            for path, (_, _, _, _, root, *_) in self.index.entries.items()
            if root in scanned_roots and path not in self.seen_known
        }


def _unchanged_local(fs_path: str, previous: tuple, split: str) -> bool:
    size, mtime, old_split = previous[0], previous[1], previous[2]
    try:
        st = os.stat(fs_path)
    except OSError:
        return False
    return st.st_size == size and st.st_mtime_ns == mtime and split == old_split


def _with_info(fs, entry: RemoteEntry) -> RemoteEntry:
    from jpegaudit.sources.remote import info_mtime_ns, info_version

    try:
        info = fs.info(entry.fs_path)
    except Exception:
        return entry  # the unit reports the problem as a row
    return RemoteEntry(
        entry.fs_path, entry.path, int(info["size"]), info_mtime_ns(info), info_version(info)
    )


def _extra_hint(exc: Exception) -> str:
    if not isinstance(exc, ImportError):
        return ""
    return (
        " (pip install 'jpegaudit[s3]' for s3://, 'jpegaudit[gcs]' for gs://, "
        "'jpegaudit[http]' for http(s)://)"
    )


def url_split(url: str, is_dir: bool) -> str:
    """`s3://bucket/imagenet/train` (a prefix) gives `train`; an object gives its prefix's
    last component, as a local file gives its folder's name."""
    path = url.split("://", 1)[1].rstrip("/")
    parts = [p for p in path.split("/") if p]
    if not is_dir:
        parts = parts[:-1]
    return parts[-1] if parts else "root"


def read_list_file(list_path: str) -> Iterator[tuple[str, int | None, int | None]]:
    """Lines of `--from-list`: `PATH_OR_URL[<TAB>SIZE[<TAB>MTIME_NS]]`; blank lines and lines
    starting with `#` are skipped. A line whose second field is not a number is all path."""
    with open(list_path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            size = mtime = None
            if len(fields) > 1:
                try:
                    size = int(fields[1])
                    mtime = int(fields[2]) if len(fields) > 2 and fields[2] else None
                except ValueError:
                    fields, size, mtime = [line], None, None
            yield fields[0], size, mtime


def _list_split(list_path: str) -> str:
    """`--from-list train.txt` gives split `train`."""
    name = os.path.basename(list_path)
    for suffix in (".txt", ".tsv", ".lst", ".list", ".csv"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or "root"
    return name or "root"


def _init_worker() -> None:
    # Workers finish their unit on Ctrl-C; the main process stops handing out new ones.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with_parent()


def _check_roots(roots: Sequence[_Root]) -> None:
    keyed = []
    for root in roots:
        if root.kind == "local":
            keyed.append((root.arg, os.path.realpath(root.arg)))
        elif root.kind == "url":
            keyed.append((root.arg, root.arg))
    for i, (given_a, a) in enumerate(keyed):
        for j, (given_b, b) in enumerate(keyed):
            if i != j and (a == b or b.startswith(a.rstrip("/") + "/")):
                raise ScanError(f"paths overlap: {given_b!r} is inside {given_a!r}")


def run_scan(
    paths: Sequence[str | os.PathLike],
    store: str | os.PathLike,
    *,
    split: str | None = None,
    jobs: int | None = None,
    progress: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    limits: ReadLimits = DEFAULT_LIMITS,
    from_list: Sequence[str | os.PathLike] = (),
    engine: str = "process",
    scheduler: str | None = None,
    storage_options: dict | None = None,
    shards: bool = True,
    remote: RemoteOptions = DEFAULT_REMOTE,
    backend: str = "header",
    deep: bool = False,
    deep_reader: str | None = None,
) -> ScanResult:
    started = time.perf_counter()
    deep_reader = _check_deep_mode(backend, deep, deep_reader)
    if not paths and not from_list:
        raise ScanError("nothing to scan: give at least one path or --from-list")
    if engine not in ENGINES:
        raise ScanError(f"unknown engine {engine!r}: choose from {', '.join(ENGINES)}")
    if batch_size < 1:
        raise ScanError("batch size must be at least 1")
    roots: list[_Root] = []
    for p in paths:
        arg = os.fspath(p)
        if is_url(arg):
            roots.append(_Root(arg.rstrip("/") or arg, "url", split, arg))
        else:
            local = normalize_root(arg)
            roots.append(_Root(local, "local", split or default_split(local)))
    for p in from_list:
        list_path = normalize_root(os.fspath(p))
        if not os.path.isfile(list_path):
            raise ScanError(f"list file {list_path!r} does not exist")
        roots.append(_Root(list_path, "list", split or _list_split(list_path)))
    _check_roots(roots)
    jobs = max(1, jobs if jobs is not None else (os.cpu_count() or 1))
    scan_store = ScanStore(store)
    scan_store.open_for_writing()
    try:
        settings = _Settings(
            jobs,
            progress,
            batch_size,
            limits,
            engine,
            scheduler,
            dict(storage_options or {}),
            shards,
            remote,
            backend,
            deep,
            deep_reader,
        )
        return _run(scan_store, roots, settings, started)
    finally:
        scan_store.close()


@dataclass(frozen=True)
class _Settings:
    jobs: int
    progress: bool
    batch_size: int
    limits: ReadLimits
    engine: str
    scheduler: str | None
    storage_options: dict
    shards: bool
    remote: RemoteOptions
    backend: str = "header"
    deep: bool = False
    deep_reader: str | None = None


def _check_deep_mode(backend: str, deep: bool, deep_reader: str | None) -> str | None:
    """Fail before scanning when the backend or deep mode cannot run here (a setup problem,
    not a file's). Returns the deep reader to use."""
    if backend not in ("header", "torchjpeg"):
        raise ScanError(f"unknown backend {backend!r}: choose header or torchjpeg")
    if backend == "torchjpeg":
        from jpegaudit.deep import torchjpeg_reader

        if not torchjpeg_reader.installed():
            raise ScanError(
                "--backend torchjpeg needs torchjpeg, which belongs in its own environment "
                "(it pins torch 2.4.1): see docs/deep.md"
            )
        return "torchjpeg" if deep else None
    if not deep:
        return None
    from jpegaudit.deep.backend import READERS, DeepModeUnavailable, default_reader

    if deep_reader is not None:
        if deep_reader not in READERS:
            raise ScanError(f"unknown deep reader {deep_reader!r}: choose {', '.join(READERS)}")
        if not READERS[deep_reader].available():
            raise ScanError(f"deep reader {deep_reader} cannot be loaded here: see docs/deep.md")
        return deep_reader
    try:
        return default_reader()
    except DeepModeUnavailable as exc:
        raise ScanError(str(exc)) from None


def _run(store: ScanStore, roots: Sequence[_Root], s: _Settings, started: float) -> ScanResult:
    index = store.load_index()
    done_parts = {p.name for p in store.part_files()}
    plan = _Plan(
        index,
        done_parts,
        s.shards,
        s.storage_options,
        backend=s.backend,
        deep=s.deep,
        read_tail=s.limits.read_tail,
    )
    pending_parts: list[Path] = []
    replaced: set[str] = set()
    drops_when_done: dict[str, list[str]] = {}  # part name (as planned) -> rows it replaces
    totals = defaultdict(int)
    bar = _progress_bar(s.progress)
    store_dir = str(store.root)

    def work(unit, pending: bool) -> Work:
        return Work(unit, store_dir, pending, s.limits, s.remote, s.backend, s.deep, s.deep_reader)

    def works() -> Iterator[Work]:
        buckets: dict[tuple, list] = defaultdict(list)
        specs: dict[tuple, FsSpec] = {}
        for thing in plan.things(roots):
            if isinstance(thing[0], Shard):
                shard, old = thing
                w = work(shard, bool(old))
                if old:
                    drops_when_done[shard.digest()] = old
                yield w
                continue
            kind, item, replaces, spec = thing
            key = (kind, replaces)
            if spec is not None:
                specs[key] = spec
            bucket = buckets[key]
            bucket.append(item)
            if len(bucket) >= s.batch_size:
                yield work(_batch(key, bucket, specs), replaces)
                bucket.clear()
        for key, bucket in buckets.items():
            if bucket:
                yield work(_batch(key, bucket, specs), key[1])

    def record(done: UnitDone) -> None:
        totals["rows"] += done.rows
        totals["errors"] += done.errors
        totals["units"] += 1
        totals["requests"] += done.requests
        totals["fetched_bytes"] += done.fetched_bytes
        if done.pending:
            pending_parts.append(store.root / done.part)
            replaced.update(done.paths)
            replaced.update(drops_when_done.pop(done.unit_key, ()))
        if bar is not None:
            bar.update(done.rows)

    interrupted = False
    try:
        if s.engine == "dask":
            from jpegaudit.scanner.dask_engine import run_dask

            run_dask(works(), record, store.root, s.jobs, s.scheduler)
        elif s.jobs == 1:
            for w in works():
                record(audit_unit(w))
        else:
            _run_pool(works(), s.jobs, record)
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
        units=totals["units"],
        requests=totals["requests"],
        fetched_bytes=totals["fetched_bytes"],
    )
    if interrupted:
        raise ScanInterrupted(result)
    return result


def _batch(key: tuple, items: list, specs: dict[tuple, FsSpec]):
    if key[0] == "local":
        return FileBatch(tuple(items))
    return ObjectBatch(specs[key], tuple(items))


def _run_pool(works: Iterator[Work], jobs: int, record: Callable[[UnitDone], None]) -> None:
    in_flight: set[Future] = set()
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker) as pool:
        try:
            for w in works:
                in_flight.add(pool.submit(audit_unit, w))
                if len(in_flight) >= 2 * jobs:
                    done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                    for f in done:
                        record(f.result())
            for f in list(in_flight):
                in_flight.discard(f)
                record(f.result())
        except KeyboardInterrupt:
            # Keep what is running (workers ignore SIGINT and finish their unit), drop the rest.
            for f in in_flight:
                f.cancel()
            for f in in_flight:
                if not f.cancelled():
                    try:
                        record(f.result())
                    except Exception:
                        pass
            raise


def _progress_bar(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(unit=" files", desc="scanning", smoothing=0.1)
