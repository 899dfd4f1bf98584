"""What every container format shares (tar and zip shards today): how a container format is
declared, member paths, member rows, the container's own error row.

A container is a file whose entries each get a row. A format module (sources/tar.py,
sources/zipfile.py) declares a `ContainerFormat` and is listed once in sources/registry.py; the
scan engine needs nothing else to plan, run, resume and replace its shards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO, NamedTuple

from jpegaudit.audit import Origin, ReadAt, ReadLimits, audit_bytes, internal_error
from jpegaudit.sources.retry import ReadFailed

MEMBER_SEPARATOR = "::"


class ContainerBytes(NamedTuple):
    """An opened container: a seekable file object over it (for archive libraries), and exact
    positional reads of the same bytes (for the members' heads and tails)."""

    fileobj: BinaryIO
    read_at: ReadAt
    size: int


# container, its path as the store shows it, the rows' origin, read limits -> one row per
# entry in container order, then (if the container is corrupt or cut short) one row for the
# container itself. Read failures (ReadFailed) propagate: the unit is redone by the next scan.
AuditContainer = Callable[[ContainerBytes, str, Origin, ReadLimits], Iterator[dict]]


@dataclass(frozen=True)
class ContainerFormat:
    kind: str  # the store's name for it, and part of each shard's unit digest
    suffixes: tuple[str, ...]  # lower-case file name endings that say "open me"
    audit: AuditContainer


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
    path, mtime_ns = row["path"], row["mtime_ns"]
    try:
        return audit_bytes(read_at, size, row, limits)
    except ReadFailed:
        raise
    except Exception as exc:
        # A fresh row: audit_bytes may have filled some columns before it failed.
        fresh = origin.new_row(path)
        fresh["entry_type"], fresh["bytes"], fresh["mtime_ns"] = "file", size, mtime_ns
        # A MemberError says what is wrong with the member; anything else is a parser bug.
        fresh["error"] = str(exc)[:300] if isinstance(exc, MemberError) else internal_error(exc)
        return fresh
