"""Local files: stat first (special files are never opened), then exact positional reads."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from datetime import datetime, timezone

from jpegaudit.audit import DEFAULT_LIMITS, Origin, ReadLimits, audit_bytes
from jpegaudit.sources.compiled import compiled
from jpegaudit.sources.paths import default_split, display_path
from jpegaudit.sources.retry import ReadFailed

_SPECIAL_TYPES = (
    (stat.S_ISFIFO, "fifo"),
    (stat.S_ISSOCK, "socket"),
    (stat.S_ISCHR, "char-device"),
    (stat.S_ISBLK, "block-device"),
    (stat.S_ISDIR, "directory"),
)
# O_NONBLOCK: if a FIFO replaces a listed file before it is opened, open() returns at once
# instead of waiting for a writer (fstat then reports it and nothing is read).
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
# The listing said "regular file, not a symlink": one that became a symlink since (to a device,
# say) fails to open with ELOOP and is stat'ed like any other entry.
_OPEN_LISTED_FLAGS = _OPEN_FLAGS | getattr(os, "O_NOFOLLOW", 0)
# A file that shrinks between fstat and the reads is read again at its new size this many times
# in all; a file still changing under the reads after that gets an error.
_READ_ATTEMPTS = 2


def stat_entry(fs_path: str) -> tuple[os.stat_result | None, str, str | None]:
    """(stat, entry_type, error) without opening anything."""
    try:
        st = os.stat(fs_path)
    except FileNotFoundError:
        if os.path.islink(fs_path):
            return None, "broken-symlink", "broken symlink: target does not exist"
        return None, "missing", "vanished before it was read"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "broken-symlink", "symlink loop"
        return None, "unreadable", f"cannot stat: {exc.strerror}"
    for is_type, name in _SPECIAL_TYPES:
        if is_type(st.st_mode):
            return st, name, f"{name}: not a regular file"
    return st, "file", None


def audit_path(
    fs_path: str, *, split: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> dict:
    """One local file's store row, without a store: its split defaults to its folder's name,
    its root is the path itself."""
    origin = Origin(split or default_split(fs_path), fs_path, datetime.now(timezone.utc))
    return audit_local_file(fs_path, display_path(fs_path), origin, limits)


def audit_local_batch(
    fs_paths: tuple[str, ...],
    paths: tuple[str, ...],
    regular: bytes,
    origin: Origin,
    limits: ReadLimits,
    fallback: Callable[[int], dict],
    folder_label: Callable[[str], str | None] | None = None,
):
    """The rows of many local files as column buffers (the compiled core's `ColumnSet`), or
    None when the compiled core does not run here. The compiled core audits each file the
    listing called regular whose header is clean; every other entry k gets `fallback(k)`, the
    reference core's row (`audit_local_file`). `folder_label(path)`: each row's label, for a
    rule under which a path's folder decides it (the class folder); asked once per folder.
    Without it `label` stays null."""
    if compiled is None:
        return None
    limits_tuple = (
        limits.head_bytes,
        limits.max_header_bytes,
        limits.tail_bytes,
        limits.max_tail_bytes,
        limits.read_tail,
    )
    return compiled.audit_files(
        fs_paths, paths, regular, origin.split, origin.root, origin.scanned_at, limits_tuple,
        fallback, folder_label,
    )  # fmt: skip


def audit_local_file(
    fs_path: str,
    path: str,
    origin: Origin,
    limits: ReadLimits = DEFAULT_LIMITS,
    known_regular: bool = False,
) -> dict:
    """The store row for one local path. Never raises for anything the file system does.

    `known_regular`: the directory listing said this is a regular file (not a symlink), so it is
    opened straight away and checked with fstat, saving a stat per file; anything else is
    stat'ed first so that FIFOs and devices are never opened."""
    row = origin.new_row(path)
    if not known_regular:
        st, entry_type, error = stat_entry(fs_path)
        row["entry_type"] = entry_type
        row["error"] = error
        if st is not None:
            row["bytes"] = st.st_size
            row["mtime_ns"] = st.st_mtime_ns
        if error is not None:
            return row
    try:
        fd = os.open(fs_path, _OPEN_LISTED_FLAGS if known_regular else _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP and known_regular:  # became a symlink since the listing
            return audit_local_file(fs_path, path, origin, limits)
        if exc.errno == errno.ENOENT:
            row["entry_type"], row["error"] = "missing", "vanished before it was read"
        else:
            row["entry_type"], row["error"] = "unreadable", f"cannot open: {exc.strerror}"
        return row
    try:
        return _audit_open_file(fd, row, lambda: origin.new_row(path), limits)
    except OSError as exc:
        row["entry_type"] = "unreadable"
        row["error"] = f"read error: {exc.strerror}"
        return row
    finally:
        os.close(fd)


def _audit_open_file(fd: int, row: dict, fresh_row: Callable[[], dict], limits: ReadLimits) -> dict:
    read_total = 0
    for attempt in range(_READ_ATTEMPTS):
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced between listing and opening
            kind = next((name for is_type, name in _SPECIAL_TYPES if is_type(st.st_mode)), "other")
            row["entry_type"], row["error"] = kind, f"{kind}: not a regular file"
            return row
        if attempt:
            row = fresh_row()
        row["entry_type"] = "file"
        row["bytes"] = st.st_size
        row["mtime_ns"] = st.st_mtime_ns
        short_reads = 0

        def read_at(offset: int, n: int) -> bytes:
            nonlocal short_reads
            data = os.pread(fd, n, offset)
            if len(data) < n:  # the audit never asks past the fstat size: the file shrank
                short_reads += 1
            return data

        row = audit_bytes(read_at, st.st_size, row, limits)
        read_total += row["read_bytes"] or 0
        row["read_bytes"] = read_total
        if not short_reads:
            return row
    # Still shrinking under the reads: keep what the last pass saw, with the size it has now.
    st = os.fstat(fd)
    row["bytes"], row["mtime_ns"] = st.st_size, st.st_mtime_ns
    if row["error"] is None:
        row["error"] = "file shrank while it was being read"
    return row


class LocalShardFile:
    """A local shard opened once: a buffered file object for tarfile/zipfile to walk the
    archive with, and `read_at` (pread on the same descriptor, which leaves the file object's
    position alone) for the members' bytes. Read errors become ReadFailed."""

    def __init__(self, fs_path: str) -> None:
        self.fileobj = open(fs_path, "rb")  # noqa: SIM115 (closed by close())
        st = os.fstat(self.fileobj.fileno())
        self.size = st.st_size
        self.mtime_ns = st.st_mtime_ns

    def read_at(self, offset: int, n: int) -> bytes:
        try:
            return os.pread(self.fileobj.fileno(), n, offset)
        except OSError as exc:
            raise ReadFailed(f"read error: {exc.strerror}") from exc

    def close(self) -> None:
        self.fileobj.close()

    def __enter__(self) -> LocalShardFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
