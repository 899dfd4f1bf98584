"""Planning: which entries must be read, grouped into units of work.

The planner walks or lists every root and compares each entry with the store's index:
unchanged entries are skipped (one `stat`), new ones go to ordinary batches, changed ones to
"pending" batches (their parts stay hidden until finalisation drops the rows they replace).
Containers (tar, zip, ...) become one `Shard` unit each. It remembers the stored paths it saw,
so that the rows of files gone from a scanned folder can be dropped when the walk completes.
"""

from __future__ import annotations

import os
import stat
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.result import ScanError
from jpegaudit.scanner.roots import Root, read_list_file, url_split
from jpegaudit.scanner.units import (
    FileBatch,
    LocalItem,
    ObjectBatch,
    ObjectItem,
    Shard,
    Work,
    done_part_name,
)
from jpegaudit.scanner.walk import Entry, walk
from jpegaudit.sources.container import SNIFF_BYTES, shard_of
from jpegaudit.sources.directory import directory_version
from jpegaudit.sources.paths import display_path
from jpegaudit.sources.registry import (
    claimed_kind,
    container_format,
    container_kind,
    directory_kind,
    sniffed_kind,
    worth_sniffing,
)
from jpegaudit.sources.remote import FsSpec, RemoteEntry, is_url, list_url, resolve_url
from jpegaudit.sources.retry import call_with_retries
from jpegaudit.store.index import IndexEntry, StoreIndex


class PlannedEntry(NamedTuple):
    """A file or object to read, batched with others of its `bucket`."""

    bucket: tuple[str, ...]  # ("local", root, split) or ("object", protocol)
    item: LocalItem | ObjectItem
    replaces: bool  # the store has a row for it: its batch is written pending
    fs: FsSpec | None  # the filesystem of an object, None for a local file

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


Planned = PlannedEntry | PlannedShard


@dataclass
class Planner:
    """Decides, entry by entry, what must be read; remembers what it saw for deletions."""

    index: StoreIndex
    done_parts: set[str]
    options: ScanOptions
    unchanged: int = 0
    seen_known: set[str] = field(default_factory=set)
    walk_complete: bool = False
    _members: dict[str, list[str]] | None = None

    def __post_init__(self) -> None:
        self._labels = self.options.labels()

    def _same_mode(self, previous: IndexEntry) -> bool:
        """A row read by another backend, without deep columns when --deep is asked, or
        without its tail (`read_tail=False`) when the tail is wanted, is read again even
        though the file did not change."""
        wants_deep = self.options.deep and previous.format == "jpeg"  # deep reads JPEGs only
        return (
            (previous.backend or "header") == self.options.backend
            and (not wants_deep or previous.deep_reader is not None)
            and self._tail_as_wanted(previous)
        )

    def _tail_as_wanted(self, previous: IndexEntry) -> bool:
        return not (self.options.limits.read_tail and previous.tail_checked is False)

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
                    if planned.path in yielded:
                        continue
                    yielded.add(planned.path)
                yield planned
        self.walk_complete = True

    # -- sources of entries ------------------------------------------------------------
    def _local(self, root: Root) -> Iterator[Planned]:
        assert root.split is not None
        claims = directory_kind if self.options.shards else None
        for entry in walk(root.arg, claims):
            yield from self._local_entry(entry, root.arg, root.split)

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
        previous = self.index.entries.get(entry.path)
        if previous is None:
            yield PlannedEntry(("local", root, split), LocalItem(entry, root, split), False, None)
            return
        self.seen_known.add(entry.path)
        if (
            entry.error is None
            and self._same_mode(previous)
            and previous.label == self._labels.path_label(entry.path, root)
            and _unchanged_local(entry.fs_path, previous, split)
        ):
            self.unchanged += 1
            return
        yield PlannedEntry(("local", root, split), LocalItem(entry, root, split), True, None)

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
        previous = self.index.entries.get(entry.path)
        if previous is None:
            yield PlannedEntry(bucket, ObjectItem(entry, root, split), False, spec)
            return
        self.seen_known.add(entry.path)
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
        self.seen_known.update(old)
        tails_as_wanted = all(self._tail_as_wanted(self.index.entries[p]) for p in old)
        if done_part_name(shard) in self.done_parts and tails_as_wanted:
            self.unchanged += len(old)
            return
        yield PlannedShard(shard, old)

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

    def deleted(self, roots: Sequence[Root]) -> set[str]:
        """Stored paths under the scanned roots that the walk did not see."""
        scanned_roots = {root.arg for root in roots}
        return {
            path
            for path, entry in self.index.entries.items()
            if entry.root in scanned_roots and path not in self.seen_known
        }


def batched_works(
    planned: Iterator[Planned],
    options: ScanOptions,
    store_dir: str,
    drops_when_done: dict[str, list[str]],
) -> Iterator[Work]:
    """Units of work for the planned entries: each shard alone, files and objects in batches
    of `options.batch_size` per bucket (new and replacing entries apart). Records in
    `drops_when_done` the stored rows each replacing shard's part supersedes."""
    buckets: dict[tuple, list] = defaultdict(list)
    specs: dict[tuple, FsSpec] = {}

    def batch(key: tuple, items: list) -> FileBatch | ObjectBatch:
        if key[0][0] == "local":
            return FileBatch.of(items)
        return ObjectBatch(specs[key], tuple(items))

    for p in planned:
        if isinstance(p, PlannedShard):
            if p.replaces_rows:
                drops_when_done[p.shard.digest()] = p.replaces_rows
            yield Work(p.shard, store_dir, bool(p.replaces_rows), options)
            continue
        key = (p.bucket, p.replaces)
        if p.fs is not None:
            specs[key] = p.fs
        bucket = buckets[key]
        bucket.append(p.item)
        if len(bucket) >= options.batch_size:
            yield Work(batch(key, bucket), store_dir, p.replaces, options)
            bucket.clear()
    for key, bucket in buckets.items():
        if bucket:
            yield Work(batch(key, bucket), store_dir, key[1], options)


def _remote_claims(names: frozenset[str], read_file) -> str | None:
    return claimed_kind(names, read_file, remote=True)


def _unchanged_local(fs_path: str, previous: IndexEntry, split: str) -> bool:
    try:
        st = os.stat(fs_path)
    except OSError:
        return False
    return (
        st.st_size == previous.bytes
        and st.st_mtime_ns == previous.mtime_ns
        and split == previous.split
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
