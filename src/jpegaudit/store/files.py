"""A store directory's file names and the one way anything is written into it: to a temporary
name, then renamed, so that readers and later scans see a whole file or none."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

METADATA_FILE = "_jpegaudit.json"  # also how the walker knows a store inside the data
LOCK_FILE = ".lock"
PENDING_PREFIX = ".pending-"
TMP_PREFIX = ".tmp-"
PART_PREFIX = "part-"
PART_SUFFIX = ".parquet"


class StoreError(Exception):
    """The store cannot be used (locked by another scan, not a store, unwritable)."""


def write_atomically(write: Callable[[Path], object], final_path: Path) -> None:
    """`write(tmp)` to a temporary name beside `final_path`, then rename it into place. No
    fsync: a crash of the machine (not of the scan) can lose recent files
    (docs/guarantees.md). A full disk or file-size limit raises StoreError."""
    tmp = final_path.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}{final_path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, final_path)
    except BaseException as exc:
        _discard(tmp)
        if isinstance(exc, OSError):
            raise StoreError(_write_failure(final_path, exc)) from exc
        raise


def write_part_bytes_atomically(data: bytes, final_path: Path) -> None:
    """A part serialised elsewhere (a Dask worker)."""
    write_atomically(lambda tmp: tmp.write_bytes(data), final_path)


def _discard(tmp: Path) -> None:
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass  # a leftover temporary file is never read, and the next scan removes it


def _write_failure(final_path: Path, exc: OSError) -> str:
    # pyarrow's strerror is "Error writing bytes to file. Detail: [errno 28] ..."; the errno's
    # own text is what a user recognises (No space left on device, File too large).
    reason = os.strerror(exc.errno) if exc.errno else str(exc)
    return f"cannot write {final_path.name} in store {final_path.parent}: {reason}"


def is_part_name(name: str) -> bool:
    return name.startswith(PART_PREFIX) and name.endswith(PART_SUFFIX)


def part_files(root: Path) -> list[Path]:
    """The visible parts of a store, in name order (none when `root` is not a directory)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if is_part_name(p.name))
