"""Planning: which entries must be read, grouped into units of work.

The planner walks or lists every root and compares each entry with the store's index:
unchanged entries are skipped (one `stat`), new ones go to ordinary batches, changed ones to
"pending" batches (their parts stay hidden until finalisation drops the rows they replace).
Containers (tar, zip, ...) become one `Shard` unit each. It marks the stored rows it saw, so
that the rows of files gone from a scanned folder can be dropped when the walk completes.

Local folders are walked a folder at a time (scanner/walk.py `listings`): the comparison with
the index happens inside the walker, and what comes out are columns of the files to read
(`PlannedFiles`), never an object per file.
"""

from __future__ import annotations

import os
import stat
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.result import ScanError
from jpegaudit.scanner.roots import Root, read_list_file, url_split
from jpegaudit.scanner.units import (
    FileBatch,
    MultiRootBatch,
    ObjectBatch,
    ObjectItem,
    Shard,
    Work,
    done_part_name,
)
from jpegaudit.scanner.walk import (
    ASK,
    LABEL_NOT_STORED,
    LABEL_PER_ENTRY,
    REPLACES,
    Entry,
    Listing,
    Probe,
    listings,
    same_file,
)
from jpegaudit.sources.container import MEMBER_SEPARATOR, SNIFF_BYTES, shard_of
from jpegaudit.sources.directory import directory_version
from jpegaudit.sources.paths import display_path
from jpegaudit.sources.registry import (
    CONTAINER_FORMATS,
    claimed_kind,
    container_format,
    container_kind,
    directory_claim_names,
    directory_kind,
    sniffed_kind,
    worth_sniffing,
)
from jpegaudit.sources.remote import FsSpec, RemoteEntry, is_url, list_url, resolve_url
from jpegaudit.sources.retry import call_with_retries
from jpegaudit.store.index import NO_MTIME, NO_SIZE, IndexEntry, StoreIndex

# What the walkers hand to the planner as a possible container (it then asks container_kind,
# or sniffs a name without an extension).
CONTAINER_SUFFIXES = tuple(suffix for f in CONTAINER_FORMATS for suffix in f.suffixes)
SNIFFED = any(f.sniff is not None for f in CONTAINER_FORMATS)


class PlannedFiles(NamedTuple):
    """Consecutive local files of one root and split to read, as columns (a folder's listing
    or a run of it), batched with the other files of their root, split and `replaces`."""

    root: str
    split: str
    replaces: bool  # the store has rows for them: their batch is written pending
    fs_paths: list[str]
    paths: list[str] | None  # as the store shows them, when any differs from fs_paths
    regular: bytes  # one byte per file: 1 when the listing said "regular file"
    errors: tuple[tuple[int, str], ...] = ()  # (index, error): folders that could not be listed

    def display_paths(self) -> list[str]:
        return self.fs_paths if self.paths is None else self.paths


class PlannedEntry(NamedTuple):
    """An object to read, batched with others of its `bucket`."""

    bucket: tuple[str, ...]  # ("object", protocol)
    item: ObjectItem
    replaces: bool  # the store has a row for it: its batch is written pending
    fs: FsSpec | None  # the filesystem of the object

    @property
    def path(self) -> str:
        return self.item.entry.path


class PlannedShard(NamedTuple):
    """A container to read as one unit, and the stored rows its part replaces."""

    shard: Shard
    replaces_rows: list[str]

    @property
    def path(self) -> str:
        return self.shard.path


Planned = PlannedFiles | PlannedEntry | PlannedShard


@dataclass
class Planner:
    """Decides, entry by entry, what must be read; remembers what it saw for deletions."""

    index: StoreIndex
    done_parts: set[str]
    options: ScanOptions
    unchanged: int = 0
    walk_complete: bool = False
    compiled: bool | None = None  # the walker: None for the compiled one when it is built
    seen: bytearray = field(init=False)  # 1 per stored row met by this scan
    _members: dict[str, list[tuple[int, str]]] | None = None
    _skippable: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seen = bytearray(self.index.row_count)
        self._labels = self.options.labels()

    def skippable(self, split: str) -> np.ndarray:
        """uint8 per stored row: 1 where a local file of `split` whose size and mtime equal the
        row's is not read again. A row of another split, read by another backend, without deep
        columns when --deep is asked (deep mode reads JPEGs only), or without its tail
        (`read_tail=False`) when the tail is wanted, is read again even though the file did
        not change; so is one without a size or mtime."""
        cached = self._skippable.get(split)
        if cached is not None:
            return cached
        index, options = self.index, self.options
        ok = (index.sizes != NO_SIZE) & (index.mtimes != NO_MTIME)
        ok &= index.value_mask("split", lambda v: v == split)
        ok &= index.value_mask("backend", lambda v: (v or "header") == options.backend)
        if options.deep:
            jpeg = index.value_mask("format", lambda v: v == "jpeg")
            ok &= ~(jpeg & index.value_mask("deep_reader", lambda v: v is None))
        if options.limits.read_tail:
            ok &= index.tail_checked != 0
        cached = self._skippable[split] = ok.view(np.uint8)
        return cached

    def _tail_as_wanted(self, previous: IndexEntry) -> bool:
        return not (self.options.limits.read_tail and previous.tail_checked is False)

    def _probe(self, root: str, split: str) -> Probe:
        index, shards = self.index, self.options.shards
        return Probe(
            table=index.table,
            sizes=index.sizes,
            mtimes=index.mtimes,
            eligible=self.skippable(split),
            seen=self.seen,
            suffixes=CONTAINER_SUFFIXES if shards else (),
            sniff=SNIFFED and shards,
            labels=index.codes["label"],
            label_code=self._folder_label(root),
            claims=directory_kind if shards else None,
            claim_names=directory_claim_names(),
        )

    def _folder_label(self, root: str) -> Callable[[str], int]:
        """folder (as the store shows it) -> the code of the label its entries get, for the
        walkers (scanner/walk.py): LABEL_PER_ENTRY when the rule looks at more than the folder,
        LABEL_NOT_STORED when no stored row has the label. A walked entry's default label is
        its class folder, the same for every name in a folder but one holding `::` (which the
        walkers hand over): the label of a stand-in name is the folder's."""
        if self._labels.explicit:
            return lambda folder: LABEL_PER_ENTRY
        codes: dict[str, int] = {}

        def code(folder: str) -> int:
            found = codes.get(folder)
            if found is None:
                label = self._labels.path_label(os.path.join(folder, "x"), root)
                found = self.index.code_of("label", label)
                if found < 0:
                    found = LABEL_NOT_STORED
                codes[folder] = found
            return found

        return code

    def _label_as_stored(self, row: int, path: str, root: str) -> bool:
        return self.index.value_of("label", row) == self._labels.path_label(path, root)

    def planned(self, roots: Sequence[Root]) -> Iterator[Planned]:
        # Folders and URL prefixes cannot overlap (roots.check_roots), but a list may name a
        # path twice, or one that a folder argument also reaches: with lists, remember what
        # was yielded (about 100 bytes a path) so that no path gets two rows.
        yielded: set[str] | None = set() if any(r.kind == "list" for r in roots) else None
        sources: dict[str, Callable[[Root], Iterator[Planned]]] = {
            "local": self._local,
            "url": self._url,
            "list": self._list,
        }
        for root in roots:
            for planned in sources[root.kind](root):
                if yielded is not None:
                    planned = _not_yielded(planned, yielded)
                    if planned is None:
                        continue
                yield planned
        self.walk_complete = True

    # -- sources of entries ------------------------------------------------------------
    def _local(self, root: Root) -> Iterator[Planned]:
        assert root.split is not None
        walker = listings(root.arg, self._probe(root.arg, root.split), self.compiled)
        try:
            for listing in walker:
                yield from self._listed(listing, root.arg, root.split)
        finally:
            self.unchanged += walker.unchanged

    def _listed(self, listing: Listing, root: str, split: str) -> Iterator[Planned]:
        """A listing as runs of files of one status; what the walker asks about one at a
        time."""
        status, n = listing.status, len(listing.status)
        if listing.container is not None:
            path = listing.paths[0] if listing.paths else listing.fs_paths[0]
            entry = Entry(listing.fs_paths[0], path, container=listing.container)
            yield from self._local_entry(entry, root, split)
            return
        errors = ((0, listing.error),) if listing.error is not None else ()
        if status[0] != ASK and status.count(status[0]) == n:  # the usual case
            replaces = status[0] == REPLACES
            yield PlannedFiles(
                root, split, replaces, listing.fs_paths, listing.paths, listing.regular, errors
            )
            return
        fs_paths, paths, regular = listing.fs_paths, listing.paths, listing.regular
        k = 0
        while k < n:
            code = status[k]
            if code == ASK:
                path = fs_paths[k] if paths is None else paths[k]
                yield from self._local_entry(
                    Entry(fs_paths[k], path, None, bool(regular[k])), root, split
                )
                k += 1
                continue
            end = k + 1
            while end < n and status[end] == code:
                end += 1
            yield PlannedFiles(
                root,
                split,
                code == REPLACES,
                fs_paths[k:end],
                None if paths is None else paths[k:end],
                regular[k:end],
            )
            k = end

    def _local_entry(self, entry: Entry, root: str, split: str) -> Iterator[Planned]:
        if entry.container is not None:
            fmt = container_format(entry.container)
            size, version = directory_version(entry.fs_path, fmt.volatile_files)
            yield from self._shard(
                self._new_shard(entry.container, entry, root, split, size, version)
            )
            return
        kind = self._local_container_kind(entry)
        if kind is not None:
            try:
                st = os.stat(entry.fs_path)
            except OSError:
                st = None  # gets a row saying why, as a file
            if st is not None and stat.S_ISREG(st.st_mode):
                shard = self._new_shard(kind, entry, root, split, st.st_size, str(st.st_mtime_ns))
                yield from self._shard(shard)
                return
        row = self.index.row_of(entry.path)
        if row >= 0:
            self.seen[row] = 1
            if (
                entry.error is None
                and self.skippable(split)[row]
                and self._label_as_stored(row, entry.path, root)
                and same_file(entry.fs_path, self.index.sizes[row], self.index.mtimes[row])
            ):
                self.unchanged += 1
                return
        yield _one_file(entry, root, split, replaces=row >= 0)

    def _url(self, root: Root) -> Iterator[Planned]:
        try:
            spec, fs, fs_path = resolve_url(root.location, self.options.storage_options)
        except (ImportError, ValueError) as exc:
            raise ScanError(f"cannot read {root.arg}: {exc}{_extra_hint(exc)}") from None
        try:
            claims = _remote_claims if self.options.shards else None
            is_dir, entries = call_with_retries(lambda: list_url(fs, fs_path, root.arg, claims))
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

    def _remote_entry(
        self, entry: RemoteEntry, spec: FsSpec, root: str, split: str
    ) -> Iterator[Planned]:
        kind = entry.container or self._remote_container_kind(entry, spec)
        if kind is not None:
            shard = Shard(
                kind,
                entry.fs_path,
                entry.path,
                root,
                split,
                entry.size,
                entry.version,
                spec,
                rule_key=self.options.container_key(),
            )
            yield from self._shard(shard)
            return
        bucket = ("object", spec.protocol)
        row = self.index.row_of(entry.path)
        if row < 0:
            yield PlannedEntry(bucket, ObjectItem(entry, root, split), False, spec)
            return
        self.seen[row] = 1
        previous = self.index.entry(row)
        if entry.size is None:
            # A list line without a size: objects are normally written once; give sizes (and
            # mtimes) in the list to have changes detected.
            same = previous.bytes is not None
        else:
            same = previous.bytes == entry.size and (
                entry.mtime_ns is None or previous.mtime_ns == entry.mtime_ns
            )
        if (
            same
            and previous.split == split
            and self._tail_as_wanted(previous)
            and previous.label == self._labels.path_label(entry.path, root)
        ):
            self.unchanged += 1
            return
        yield PlannedEntry(bucket, ObjectItem(entry, root, split), True, spec)

    def _remote_container_kind(self, entry: RemoteEntry, spec: FsSpec) -> str | None:
        """As for local files; sniffing an object costs one ranged request of 1 KiB (only
        for names without an image extension)."""
        if not self.options.shards:
            return None
        kind = container_kind(entry.path)
        if kind is not None or not worth_sniffing(entry.path):
            return kind
        if entry.size is not None and entry.size < 12:
            return None
        try:
            fs = spec.filesystem()
            head = call_with_retries(lambda: fs.cat_file(entry.fs_path, start=0, end=SNIFF_BYTES))
        except Exception:
            return None  # read as a loose object: its row says what is wrong
        return sniffed_kind(head)

    def _list(self, root: Root) -> Iterator[Planned]:
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
                    spec, fs, _ = resolve_url(target, self.options.storage_options)
                except (ImportError, ValueError) as exc:
                    raise ScanError(f"cannot read {target}: {exc}{_extra_hint(exc)}") from None
                specs[protocol] = (spec, fs)
            spec, fs = specs[protocol]
            fs_path = fs._strip_protocol(target)  # type: ignore[attr-defined]
            version = None if mtime_ns is None else f"mtime:{mtime_ns}"
            entry = RemoteEntry(fs_path, target, size, mtime_ns, version)
            if self.options.shards and container_kind(target) and (size is None or version is None):
                entry = _with_info(fs, entry)
            yield from self._remote_entry(entry, spec, root.arg, split)

    def _local_container_kind(self, entry: Entry) -> str | None:
        """A container by its name, or (a name without an image extension) by its first
        bytes. Only regular files are sniffed, opened non-blocking."""
        if not self.options.shards or entry.error is not None:
            return None
        kind = container_kind(entry.path)
        if kind is not None or not worth_sniffing(entry.path):
            return kind
        try:
            st = os.stat(entry.fs_path)
            if not stat.S_ISREG(st.st_mode) or st.st_size < 12:
                return None
            fd = os.open(entry.fs_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            return sniffed_kind(os.pread(fd, SNIFF_BYTES, 0))
        except OSError:
            return None
        finally:
            os.close(fd)

    def _new_shard(
        self, kind: str, entry: Entry, root: str, split: str, size: int, version: str
    ) -> Shard:
        return Shard(
            kind,
            entry.fs_path,
            entry.path,
            root,
            split,
            size,
            version,
            rule_key=self.options.container_key(),
        )

    # -- shards --------------------------------------------------------------------------
    def _shard(self, shard: Shard) -> Iterator[Planned]:
        old = self._shard_rows(shard.path)
        for row, _ in old:
            self.seen[row] = 1
        tails_as_wanted = all(self._tail_as_wanted(self.index.entry(row)) for row, _ in old)
        if done_part_name(shard) in self.done_parts and tails_as_wanted:
            self.unchanged += len(old)
            return
        yield PlannedShard(shard, [path for _, path in old])

    def _shard_rows(self, shard_path: str) -> list[tuple[int, str]]:
        """(row, path) of the rows a shard has in the store: its members, and a row for the
        shard itself (an error, or the shard scanned as a plain file with shards off)."""
        if self._members is None:
            members: dict[str, list[tuple[int, str]]] = defaultdict(list)
            rows, paths = self.index.rows_containing(MEMBER_SEPARATOR)
            for row, path in zip(rows.tolist(), paths, strict=True):
                shard = shard_of(path)
                if shard is not None:
                    members[shard].append((row, path))
            self._members = members
        rows = list(self._members.get(shard_path, ()))
        own = self.index.row_of(shard_path)
        if own >= 0:
            rows.append((own, shard_path))
        return rows

    def deleted(self, roots: Sequence[Root]) -> set[str]:
        """Stored paths under the scanned roots that the walk did not see."""
        return set(self.index.unseen_paths(self.seen, {root.arg for root in roots}))


def batched_works(
    planned: Iterator[Planned],
    options: ScanOptions,
    store_dir: str,
    drops_when_done: dict[str, list[str]],
) -> Iterator[Work]:
    """Units of work for the planned entries: each shard alone, files and objects in batches
    of `options.batch_size` per bucket (new and replacing entries apart). The files left in
    each root's buckets at the end (fewer than a batch) go together, in units of up to a batch
    (`MultiRootBatch`), so that five small folders make one part, not five. Records in
    `drops_when_done` the stored rows each replacing shard's part supersedes."""
    size = options.batch_size
    buckets: dict[tuple, _Files | list[ObjectItem]] = {}
    specs: dict[tuple, FsSpec] = {}
    for p in planned:
        if isinstance(p, PlannedShard):
            if p.replaces_rows:
                drops_when_done[p.shard.digest()] = p.replaces_rows
            yield Work(p.shard, store_dir, bool(p.replaces_rows), options)
        elif isinstance(p, PlannedFiles):
            key = (("local", p.root, p.split), p.replaces)
            files = buckets.get(key)
            if files is None:
                files = buckets[key] = _Files(p.root, p.split)
            assert isinstance(files, _Files)
            files.add(p)
            while len(files) >= size:
                yield Work(files.take(size), store_dir, p.replaces, options)
        else:
            key = (p.bucket, p.replaces)
            if p.fs is not None:
                specs[key] = p.fs
            items = buckets.setdefault(key, [])
            assert isinstance(items, list)
            items.append(p.item)
            if len(items) >= size:
                yield Work(ObjectBatch(specs[key], tuple(items)), store_dir, p.replaces, options)
                items.clear()
    leftovers: dict[bool, list[FileBatch]] = {False: [], True: []}
    for key, bucket in buckets.items():
        if isinstance(bucket, _Files):
            if len(bucket):
                leftovers[key[1]].append(bucket.take(len(bucket)))
        elif bucket:
            yield Work(ObjectBatch(specs[key], tuple(bucket)), store_dir, key[1], options)
    for replaces, batches in leftovers.items():
        for unit in _packed(batches, size):
            yield Work(unit, store_dir, replaces, options)


def _packed(batches: list[FileBatch], size: int) -> Iterator[FileBatch | MultiRootBatch]:
    """`batches` (each of fewer than `size` files), in order, as units of up to `size` files:
    a batch alone stays itself (its part keeps the name it always had)."""
    group: list[FileBatch] = []
    files = 0
    for batch in [*batches, None]:
        if group and (batch is None or files + len(batch.fs_paths) > size):
            yield group[0] if len(group) == 1 else MultiRootBatch(tuple(group))
            group, files = [], 0
        if batch is not None:
            group.append(batch)
            files += len(batch.fs_paths)


class _Files:
    """The planned files of one root, split and `replaces` not yet in a batch, as columns."""

    def __init__(self, root: str, split: str) -> None:
        self.root, self.split = root, split
        self.fs_paths: list[str] = []
        self.paths: list[str] | None = None  # only once a display path differs
        self.regular = bytearray()
        self.errors: list[tuple[int, str]] = []  # (index in fs_paths, error)
        self.start = 0  # fs_paths[:start] are batched already

    def __len__(self) -> int:
        return len(self.fs_paths) - self.start

    def add(self, run: PlannedFiles) -> None:
        offset = len(self.fs_paths)
        if run.paths is not None and self.paths is None:
            self.paths = list(self.fs_paths)
        self.fs_paths.extend(run.fs_paths)
        if self.paths is not None:
            self.paths.extend(run.display_paths())
        self.regular.extend(run.regular)
        self.errors.extend((offset + k, error) for k, error in run.errors)

    def take(self, n: int) -> FileBatch:
        """A batch of the next `n` files (as FileBatch.of would build it)."""
        start, end = self.start, self.start + n
        fs_paths = tuple(self.fs_paths[start:end])
        paths = None if self.paths is None else tuple(self.paths[start:end])
        errors = tuple((k - start, e) for k, e in self.errors if start <= k < end)
        batch = FileBatch(
            root=self.root,
            split=self.split,
            fs_paths=fs_paths,
            paths=None if paths == fs_paths else paths,
            regular=bytes(self.regular[start:end]),
            errors=errors,
        )
        self.start = end
        if errors:
            self.errors = [(k, e) for k, e in self.errors if k >= end]
        if self.start > 4096 and self.start * 2 > len(self.fs_paths):
            # Drop what is batched (rarely: a bucket holds less than a batch between runs).
            del self.fs_paths[:end]
            if self.paths is not None:
                del self.paths[:end]
            del self.regular[:end]
            self.errors = [(k - end, e) for k, e in self.errors]
            self.start = 0
        return batch


def _remote_claims(names: frozenset[str], read_file) -> str | None:
    return claimed_kind(names, read_file, remote=True)


def _one_file(entry: Entry, root: str, split: str, replaces: bool) -> PlannedFiles:
    return PlannedFiles(
        root,
        split,
        replaces,
        [entry.fs_path],
        None if entry.path == entry.fs_path else [entry.path],
        bytes([entry.regular]),
        () if entry.error is None else ((0, entry.error),),
    )


def _not_yielded(planned: Planned, yielded: set[str]) -> Planned | None:
    """`planned` without what was yielded already (a list may name a path twice, or one that
    a folder argument also reaches); records what it lets through."""
    if not isinstance(planned, PlannedFiles):
        if planned.path in yielded:
            return None
        yielded.add(planned.path)
        return planned
    keep = []
    for k, path in enumerate(planned.display_paths()):
        if path not in yielded:
            yielded.add(path)
            keep.append(k)
    if len(keep) == len(planned.fs_paths):
        return planned
    if not keep:
        return None
    errors = dict(planned.errors)
    return planned._replace(
        fs_paths=[planned.fs_paths[k] for k in keep],
        paths=None if planned.paths is None else [planned.paths[k] for k in keep],
        regular=bytes(planned.regular[k] for k in keep),
        errors=tuple((i, errors[k]) for i, k in enumerate(keep) if k in errors),
    )


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
        "'jpegaudit[http]' for http(s)://, 'jpegaudit[hf]' for hf://)"
    )
