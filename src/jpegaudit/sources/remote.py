"""Objects behind fsspec URLs (`s3://`, `gs://`, `http(s)://`, `memory://`, ...).

Loose objects are read with exact ranged requests (`cat_file(path, start=, end=)`): the head,
grown only when the header needs more, and the last bytes, never the buffered file object whose
default block (5 MiB, s3fs 50 MiB) would download whole images. Shards are the opposite case:
nearly every byte of a tar of images is image, so they are streamed in large ranges
(`RangeStream`). fsspec is imported lazily: local scans never need it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from jpegaudit.audit import DEFAULT_LIMITS, Origin, ReadLimits, audit_bytes
from jpegaudit.sources.retry import DEFAULT_RETRY, ReadFailed, RetryPolicy, call_with_retries

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


@dataclass(frozen=True)
class RemoteOptions:
    """How remote bytes are fetched. The first range of a loose object is the audit's
    `ReadLimits.head_bytes`; these say the rest."""

    # An object this small is fetched whole in one request: cheaper than a second request for
    # its tail (requests, not bytes, dominate object-store cost and latency).
    whole_object_bytes: int = 32 * 1024
    # The first range of a larger object is at least this long, whatever ReadLimits.head_bytes
    # asks for: a header that outgrows the first range costs a second request, and a request
    # costs far more than the bytes (a local file's first read is smaller: there bytes cost).
    # The audit's reads inside it are served from it, so `read_bytes` is a local file's.
    first_range_bytes: int = 16 * 1024
    # Shards are streamed in ranges of this size.
    shard_block_bytes: int = 16 * 1024 * 1024
    # Loose objects audited at once per worker: hides request latency.
    concurrency: int = 32
    retry: RetryPolicy = DEFAULT_RETRY


DEFAULT_REMOTE = RemoteOptions()


def is_url(arg: str) -> bool:
    return bool(_URL.match(arg))


@dataclass(frozen=True)
class FsSpec:
    """A picklable recipe for an fsspec filesystem: workers rebuild it (fsspec caches
    instances, so this is cheap) instead of receiving a live client."""

    protocol: str
    options: dict = field(default_factory=dict)

    def filesystem(self):
        import fsspec

        return fsspec.filesystem(self.protocol, **self.options)


def resolve_url(url: str, storage_options: dict | None = None) -> tuple[FsSpec, object, str]:
    """(spec, filesystem, path inside it) for a URL."""
    import fsspec.core

    options = dict(storage_options or {})
    fs, path = fsspec.core.url_to_fs(url, **options)
    protocol = url.split("://", 1)[0]
    return FsSpec(protocol, options), fs, path


@dataclass(frozen=True)
class RemoteEntry:
    fs_path: str  # path inside the filesystem (protocol stripped)
    path: str  # as reached from the argument: the URL given plus the relative part
    size: int | None
    mtime_ns: int | None
    version: str | None  # ETag, generation or mtime: what changes when the object does
    container: str | None = None  # a prefix that is a directory container of this kind


def info_mtime_ns(info: dict) -> int | None:
    for key in ("LastModified", "last_modified", "mtime", "updated", "timeCreated", "created"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, datetime):
            return int(value.timestamp()) * 1_000_000_000 + value.microsecond * 1000
        if isinstance(value, (int, float)):
            return int(round(value * 1e9))
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return int(parsed.timestamp()) * 1_000_000_000 + parsed.microsecond * 1000
    return None


def info_version(info: dict) -> str | None:
    for key in ("ETag", "etag", "generation", "md5Hash", "VersionId"):
        value = info.get(key)
        if value:
            return str(value).strip('"')
    mtime = info_mtime_ns(info)
    return None if mtime is None else f"mtime:{mtime}"


def _entry(info: dict, fs_path: str, display: str) -> RemoteEntry:
    size = info.get("size")
    return RemoteEntry(
        fs_path=fs_path,
        path=display,
        size=None if size is None else int(size),
        mtime_ns=info_mtime_ns(info),
        version=info_version(info),
    )


# (names in a directory, read_file(name, limit)) -> the kind of directory container, or None.
ClaimsListing = Callable[[frozenset[str], Callable[[str, int], bytes]], "str | None"]


def list_url(
    fs, root_path: str, display_root: str, claims: ClaimsListing | None = None
) -> tuple[bool, Iterator[RemoteEntry]]:
    """(is a directory/prefix, its objects in sorted order). One listing per "directory", so
    memory holds one directory's listing at a time, not the whole bucket. Names are passed
    back to the filesystem as it gave them (over HTTP a directory's trailing slash matters).
    A directory that `claims` names a container is one entry (`container` set), not walked."""
    fs.invalidate_cache()  # a rescan in the same process must see the store as it is now
    prefix = root_path.rstrip("/")
    if not fs.isdir(root_path):
        return False, iter([_entry(fs.info(root_path), root_path, display_root)])

    def walk() -> Iterator[RemoteEntry]:
        stack = [root_path]
        seen = {prefix}
        while stack:
            directory = stack.pop()
            listing = sorted(fs.ls(directory, detail=True), key=lambda i: i["name"])
            if claims is not None:
                claimed = _claimed_directory(fs, directory, listing, claims)
                if claimed is not None:
                    kind, size, version = claimed
                    bare = directory.rstrip("/")
                    display = display_root + bare[len(prefix) :]
                    yield RemoteEntry(bare, display, size, None, version, kind)
                    continue
            subdirs = []
            for info in listing:
                name = info["name"]
                bare = name.rstrip("/")
                if info.get("type") == "directory":
                    # Some stores list the prefix itself; HTML index pages link to parents.
                    if bare not in seen and bare.startswith(prefix + "/"):
                        seen.add(bare)
                        subdirs.append(name)
                    continue
                if bare.startswith(prefix + "/"):
                    yield _entry(info, name, display_root + bare[len(prefix) :])
            stack.extend(reversed(subdirs))

    return True, walk()


def _claimed_directory(fs, directory: str, listing: list[dict], claims: ClaimsListing):
    """(kind, total size, version) when the listed directory is a container: its version is a
    digest of its objects' names, sizes and versions (ETags)."""
    files = {
        i["name"].rstrip("/").rsplit("/", 1)[-1]: i for i in listing if i.get("type") != "directory"
    }
    base = directory.rstrip("/")

    def read_file(name: str, limit: int) -> bytes:
        size = files[name].get("size") or 0
        return fs.cat_file(f"{base}/{name}", start=0, end=min(int(size), limit))

    kind = claims(frozenset(files), read_file)
    if kind is None:
        return None
    h = hashlib.blake2b(digest_size=10)
    total = 0
    for name in sorted(files):
        info = files[name]
        total += int(info.get("size") or 0)
        h.update(f"{name}\0{info.get('size')}\0{info_version(info)}\0".encode())
    return kind, total, h.hexdigest()


class RemoteDirectory:
    """A directory container behind a URL: each file streamed in large ranges when opened."""

    local = False

    def __init__(self, fs, path: str, options: RemoteOptions, stats: FetchStats) -> None:
        self._fs = fs
        self.path = path.rstrip("/")
        self._options = options
        self._stats = stats

    @contextlib.contextmanager
    def open(self, name: str):
        from jpegaudit.sources.container import ContainerBytes

        fs_path = f"{self.path}/{name}"
        info = info_with_retries(self._fs, fs_path, self._options, self._stats)
        stream = RangeStream(self._fs, fs_path, int(info["size"]), self._options, self._stats)
        yield ContainerBytes(stream, stream.read_at, int(info["size"]))


@dataclass
class FetchStats:
    requests: int = 0
    bytes: int = 0

    def add(self, other: FetchStats) -> None:
        self.requests += other.requests
        self.bytes += other.bytes


def fetch_range(
    fs, fs_path: str, start: int, end: int, options: RemoteOptions, stats: FetchStats
) -> bytes:
    """Bytes [start, end) of an object in one request (retried); FileNotFoundError passes
    through, anything else that outlasts the retries is ReadFailed."""

    def attempt() -> bytes:
        stats.requests += 1
        return fs.cat_file(fs_path, start=start, end=end)

    try:
        data = call_with_retries(attempt, options.retry)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ReadFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc
    stats.bytes += len(data)
    return data


class RangeReader:
    """`read_at` over one object with exact ranged requests, each retried; serves repeated or
    overlapping reads (the tail of an object fetched whole) from what it already fetched."""

    def __init__(self, fs, fs_path: str, size: int, options: RemoteOptions, stats: FetchStats):
        self._fs = fs
        self._fs_path = fs_path
        self._size = size
        self._options = options
        self._stats = stats
        self._chunks: list[tuple[int, bytes]] = []

    def _fetch(self, start: int, end: int) -> bytes:
        return fetch_range(self._fs, self._fs_path, start, end, self._options, self._stats)

    def read_at(self, offset: int, n: int) -> bytes:
        end = min(offset + n, self._size)
        if offset >= end:
            return b""
        for start, data in self._chunks:
            if start <= offset and end <= start + len(data):
                return data[offset - start : end - start]
        if not self._chunks and offset == 0:
            if self._size <= self._options.whole_object_bytes:
                end = self._size
            else:
                end = min(self._size, max(end, self._options.first_range_bytes))
        data = self._fetch(offset, end)
        self._chunks.append((offset, data))
        return data[: min(offset + n, self._size) - offset]


class RangeStream(io.RawIOBase):
    """A read-only, seekable file over one object, fetching large ranges (shard streaming).
    Forward reads are served from the current block; a seek past it starts the next request at
    the new position, so big members are skipped rather than downloaded."""

    def __init__(self, fs, fs_path: str, size: int, options: RemoteOptions, stats: FetchStats):
        super().__init__()
        self._fs = fs
        self._fs_path = fs_path
        self._size = size
        self._options = options
        self._stats = stats
        self._pos = 0
        self._buf_start = 0
        self._buf = b""

    # -- random access used by member audits --------------------------------------------
    def read_at(self, offset: int, n: int) -> bytes:
        end = min(offset + n, self._size)
        if offset >= end:
            return b""
        buf_end = self._buf_start + len(self._buf)
        if self._buf_start <= offset and end <= buf_end:
            return self._buf[offset - self._buf_start : end - self._buf_start]
        fetch_end = min(self._size, max(end, offset + self._options.shard_block_bytes))
        if self._buf_start <= offset < buf_end:
            kept = self._buf[offset - self._buf_start :]
            self._buf = kept + self._fetch(buf_end, fetch_end)
        else:
            self._buf = self._fetch(offset, fetch_end)
        self._buf_start = offset
        return self._buf[: end - offset]

    def _fetch(self, start: int, end: int) -> bytes:
        return fetch_range(self._fs, self._fs_path, start, end, self._options, self._stats)

    # -- the file interface tarfile and zipfile use ---------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if pos < 0:
            raise OSError("negative seek position")
        self._pos = pos
        return pos

    def readinto(self, buffer) -> int:
        data = self.read_at(self._pos, len(buffer))
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class RangeFile(RangeStream):
    """The same seekable file, fetching exactly what each read asks for (one request per read,
    the last range kept): for readers that jump to what they need, such as a Parquet reader
    reading a few columns of a file."""

    def read_at(self, offset: int, n: int) -> bytes:
        end = min(offset + n, self._size)
        if offset >= end:
            return b""
        buf_end = self._buf_start + len(self._buf)
        if self._buf_start <= offset and end <= buf_end:
            return self._buf[offset - self._buf_start : end - self._buf_start]
        self._buf = self._fetch(offset, end)
        self._buf_start = offset
        return self._buf


def audit_object(
    fs,
    entry: RemoteEntry,
    origin: Origin,
    limits: ReadLimits = DEFAULT_LIMITS,
    options: RemoteOptions = DEFAULT_REMOTE,
) -> tuple[dict, FetchStats]:
    """The store row for one loose object, and what fetching it cost. Never raises for I/O:
    a missing object or a read failing after the retries is a row with an error."""
    stats = FetchStats()
    row = origin.new_row(entry.path)
    row["entry_type"] = "file"
    size, mtime_ns = entry.size, entry.mtime_ns
    try:
        if size is None:  # from a list without sizes: one HEAD request
            info = info_with_retries(fs, entry.fs_path, options, stats)
            size, mtime_ns = int(info["size"]), info_mtime_ns(info)
        row["bytes"], row["mtime_ns"] = size, mtime_ns
        reader = RangeReader(fs, entry.fs_path, size, options, stats)
        return audit_bytes(reader.read_at, size, row, limits), stats
    except FileNotFoundError:
        row = origin.new_row(entry.path)
        row["entry_type"], row["error"] = "missing", "vanished before it was read"
    except ReadFailed as exc:
        # Trouble that outlasted the retries. No size or mtime_ns: the next scan sees the row
        # as out of date and tries again.
        row = origin.new_row(entry.path)
        row["entry_type"] = "unreadable"
        row["error"] = f"read error: {exc}"
    return row, stats


def info_with_retries(fs, fs_path: str, options: RemoteOptions, stats: FetchStats) -> dict:
    def attempt() -> dict:
        stats.requests += 1
        return fs.info(fs_path)

    try:
        return call_with_retries(attempt, options.retry)
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ReadFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc
