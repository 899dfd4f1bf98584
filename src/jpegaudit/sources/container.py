"""What tar and zip shards share: member paths, member rows, the shard's own error row."""

from __future__ import annotations

from jpegaudit.audit import ReadAt, ReadLimits, audit_bytes, new_row
from jpegaudit.sources.retry import ReadFailed

MEMBER_SEPARATOR = "::"
CONTAINER_KINDS = {".tar": "tar", ".zip": "zip"}


def container_kind(path: str) -> str | None:
    """`tar` or `zip` when the name says the file is a shard to open, else None."""
    return CONTAINER_KINDS.get(path[-4:].lower())


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


def shard_row(shard_path: str, split: str, root: str, scanned_at, entry_type: str, error: str):
    """The row a shard gets when it cannot be read through (corrupt, cut short, unreadable);
    the members read before the problem keep their rows."""
    row = new_row(shard_path, split, root, scanned_at)
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
    identity = {k: row[k] for k in ("path", "split", "root", "scanned_at", "mtime_ns")}
    try:
        return audit_bytes(read_at, size, row, limits)
    except ReadFailed:
        raise
    except Exception as exc:
        # A fresh row: audit_bytes may have filled some columns before it failed.
        fresh = new_row(
            identity["path"], identity["split"], identity["root"], identity["scanned_at"]
        )
        fresh["entry_type"], fresh["bytes"], fresh["mtime_ns"] = "file", size, identity["mtime_ns"]
        if isinstance(exc, MemberError):
            fresh["error"] = str(exc)[:300]
        else:  # a parser bug must cost one row's detail, not the shard
            fresh["error"] = f"internal error: {type(exc).__name__}: {exc}"[:300]
        return fresh
