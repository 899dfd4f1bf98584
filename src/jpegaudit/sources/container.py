"""What every container format shares: how a container format is declared, member paths,
member rows, the container's own error row.

A container is a file (tar, zip, Parquet, TFRecord) or a directory (MDS, LMDB) whose entries
each get a row. A format module declares a `ContainerFormat` and is listed once in
sources/registry.py; the scan engine needs nothing else to find, plan, run, resume and replace
its units (docs/architecture.md, "Adding a source kind")."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Literal, NamedTuple, Protocol

from jpegaudit.audit import DEFAULT_LIMITS, Origin, ReadAt, ReadLimits, audit_bytes, internal_error
from jpegaudit.sniff import extension_of
from jpegaudit.sources.retry import ReadFailed

MEMBER_SEPARATOR = "::"


class ContainerBytes(NamedTuple):
    """An opened container: a seekable file object over it (for archive libraries), and exact
    positional reads of the same bytes (for the members' heads and tails)."""

    fileobj: BinaryIO
    read_at: ReadAt
    size: int


class ContainerDirectory(Protocol):
    """An opened directory container (MDS, LMDB): its files by name, relative to it."""

    path: str  # a local path, or a path inside a remote filesystem (see `local`)
    local: bool

    def open(self, name: str) -> contextlib.AbstractContextManager[ContainerBytes]:
        """One of its files; FileNotFoundError when it has no such file."""
        ...


# (file name in a directory, at most this many bytes) -> its first bytes (OSError if unreadable).
ReadFile = Callable[[str, int], bytes]


@dataclass(frozen=True)
class ContainerOptions:
    """What a container reader is told: the read limits, and which of an entry's fields is
    the image and which the label, when the user names them (`scan --column`,
    `--label-column`; None: found by the format)."""

    limits: ReadLimits = DEFAULT_LIMITS
    column: str | None = None
    label_column: str | None = None


# container (ContainerBytes for a file, ContainerDirectory for a directory), its path as the
# store shows it, the rows' origin, options -> one row per entry in container order, plus (if
# the container is corrupt or cut short) a row for each problem. Read failures (ReadFailed)
# propagate: the unit is redone by the next scan.
AuditContainer = Callable[..., Iterator[dict]]


@dataclass(frozen=True)
class ContainerFormat:
    """How the scan finds a container and reads it. A file is one when its name ends with one
    of `suffixes`, or, when its name has no extension (registry.worth_sniffing), when `sniff`
    accepts its first `SNIFF_BYTES` bytes (TFRecord shards are named `train-00000-of-01024`).
    A directory is
    one when `claims_directory(names, read_file)` says so (`names`: its entries' names;
    `read_file(name, limit)`: the first bytes of one of its files, local or remote); it is
    then one unit, not walked, and its version is derived from its files' names, sizes and
    times or ETags (`volatile_files` left out: LMDB's lock.mdb changes on every read)."""

    kind: str  # the store's name for it, and part of each shard's unit digest
    audit: AuditContainer
    suffixes: tuple[str, ...] = ()  # lower-case file name endings that say "open me"
    sniff: Callable[[bytes], bool] | None = None
    claims_directory: Callable[[frozenset[str], ReadFile], bool] | None = None
    # Names of which a directory must hold one for `claims_directory` to say yes, so that a
    # walk asks only about those folders (the compiled walker builds no name set otherwise);
    # None: any folder may be one.
    claim_names: frozenset[str] | None = None
    volatile_files: frozenset[str] = field(default_factory=frozenset)
    # How a remote container file is read: "stream" (large forward ranges: nearly every byte
    # is an entry's, as in a tar) or "ranges" (exact requests for what the reader asks: a
    # Parquet file read column by column).
    remote_access: Literal["stream", "ranges"] = "stream"
    # Whether a directory container is also read behind a URL (not LMDB: it maps its file).
    remote: bool = True

    @property
    def is_directory(self) -> bool:
        return self.claims_directory is not None


# Bytes read from a file whose name does not say what it is, for the formats' `sniff`.
SNIFF_BYTES = 1024  # a gzip stream needs a few hundred bytes before its first 12


def member_path(shard_path: str, name: str) -> str:
    """`shard.tar::member/path.jpg`. Undecodable bytes in the member name (tarfile keeps them as
    surrogate escapes) are shown as \\xNN, as the walker does for file names."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        name = name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return f"{shard_path}{MEMBER_SEPARATOR}{name}"


def shard_of(path: str) -> str | None:
    """The shard part of a member path, or None for a path that is not a member."""
    shard, sep, _ = path.partition(MEMBER_SEPARATOR)
    return shard if sep else None


def entry_row(origin: Origin, path: str, name: str | None = None) -> dict:
    """A fresh row for a container entry. `name`: the entry's own file name when the container
    records one apart from the path (a Parquet image struct's `path`, a TFRecord's
    `image/filename`): the `entry_name` column, and where `ext` is taken from."""
    row = origin.new_row(path)
    row["entry_type"] = "file"
    if name is not None:
        row["entry_name"] = name
        row["ext"] = extension_of(name)
    else:
        _, sep, inner = path.rpartition(MEMBER_SEPARATOR)
        row["ext"] = extension_of(inner) if sep else row["ext"]
    return row


def audit_slice(data, row: dict, limits: ReadLimits) -> dict:
    """Audit an entry held in memory (a Parquet cell, a TFRecord feature, an LMDB value):
    `data` is bytes or a memoryview; only the bytes the audit asks for are copied."""
    size = len(data)

    def read_at(offset: int, n: int) -> bytes:
        return bytes(data[offset : offset + n])

    return audit_guarded(read_at, size, row, limits)


def shard_row(shard_path: str, origin: Origin, entry_type: str, error: str) -> dict:
    """The row a shard gets when it cannot be read through (corrupt, cut short, unreadable);
    the members read before the problem keep their rows."""
    row = origin.new_row(shard_path)
    row["entry_type"] = entry_type
    row["error"] = error
    return row


class MemberError(Exception):
    """A member's bytes cannot be produced (a corrupt compressed stream, an unsupported
    method): the member's row carries the message."""


def audit_member(
    read_at: ReadAt, data_offset: int, size: int, row: dict, limits: ReadLimits
) -> dict:
    """Audit a member whose bytes are stored as is at `data_offset` in the shard. A read
    failure ends the shard (ReadFailed propagates); a parser bug costs this row's detail."""

    def member_read_at(offset: int, n: int) -> bytes:
        n = min(n, size - offset)
        return read_at(data_offset + offset, n) if n > 0 else b""

    return audit_guarded(member_read_at, size, row, limits)


def audit_guarded(read_at: ReadAt, size: int, row: dict, limits: ReadLimits) -> dict:
    row["entry_type"] = "file"
    row["bytes"] = size
    origin = Origin(row["split"], row["root"], row["scanned_at"])
    kept = {k: row[k] for k in _ENTRY_COLUMNS}
    try:
        return audit_bytes(read_at, size, row, limits)
    except ReadFailed:
        raise
    except Exception as exc:
        # A fresh row: audit_bytes may have filled some columns before it failed.
        fresh = origin.new_row(kept["path"])
        fresh.update(kept)
        fresh["entry_type"], fresh["bytes"] = "file", size
        # A MemberError says what is wrong with the member; anything else is a parser bug.
        fresh["error"] = str(exc)[:300] if isinstance(exc, MemberError) else internal_error(exc)
        return fresh


# What a container sets on an entry's row before its audit, kept when the audit fails.
_ENTRY_COLUMNS = ("path", "mtime_ns", "ext", "entry_name", "label")
