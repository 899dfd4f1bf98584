"""One scan's view of the store directory: a directory of parts, each written to a temporary
name and renamed, so a part is either complete or absent. One scan writes at a time (an flock
on `.lock`).

Rows for files seen for the first time go straight into visible parts, so an interrupted scan
keeps every finished batch. Rows that replace an existing row (the file changed) go into hidden
`.pending-*` parts; `finalize` first drops the rows they replace from the old parts and only then
makes them visible. Whatever the moment a scan dies, no path ever has two rows.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from jpegaudit._version import __version__
from jpegaudit.schema import SCHEMA_VERSION
from jpegaudit.store.arrow import ARROW_SCHEMA, read_part, write_part_atomically
from jpegaudit.store.files import (
    LOCK_FILE,
    METADATA_FILE,
    PENDING_PREFIX,
    TMP_PREFIX,
    StoreError,
    part_files,
    write_atomically,
)
from jpegaudit.store.index import StoreIndex


class ScanStore:
    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._lock_fd: int | None = None

    # -- locking ---------------------------------------------------------------------------
    def open_for_writing(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create store {self.root}: {exc.strerror}") from exc
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"store {self.root} is not a directory")
        try:
            fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StoreError(f"cannot lock store {self.root}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreError(
                f"store {self.root} is being written by another scan; try again when it ends"
            ) from None
        except OSError as exc:  # no flock on this file system (some NFS set-ups)
            os.close(fd)
            raise StoreError(f"cannot lock store {self.root}: {exc.strerror}") from exc
        self._lock_fd = fd
        try:
            self._clean_leftovers()
            meta = self.root / METADATA_FILE
            if not meta.exists():
                text = json.dumps({"schema_version": SCHEMA_VERSION, "created_by": __version__})
                write_atomically(lambda tmp: tmp.write_text(text + "\n"), meta)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def _clean_leftovers(self) -> None:
        # Temporary files and pending parts of a scan that died: never visible, safe to drop
        # (the paths they covered still have their old rows, or none, and are rescanned).
        for p in self.root.iterdir():
            if p.name.startswith((TMP_PREFIX, PENDING_PREFIX)):
                p.unlink(missing_ok=True)

    # -- reading ---------------------------------------------------------------------------
    def part_files(self) -> list[Path]:
        return part_files(self.root)

    def load_index(self) -> StoreIndex:
        return StoreIndex.load(self.part_files())

    # -- writing ---------------------------------------------------------------------------
    def finalize(self, drop_paths: set[str], index: StoreIndex, pending: Iterable[Path]) -> int:
        """Drop rows for `drop_paths` from existing parts, then publish the pending parts.
        Returns the number of rows dropped."""
        dropped = 0
        for part_name, paths in sorted(index.stored_by_part(drop_paths).items()):
            part = self.root / part_name
            table = read_part(part, ARROW_SCHEMA.names)
            table = pa.Table.from_arrays(table.columns, schema=ARROW_SCHEMA)
            kept = table.filter(pc.invert(pc.is_in(table.column("path"), value_set=paths)))
            dropped += table.num_rows - kept.num_rows
            if kept.num_rows:
                write_part_atomically(kept, part)
            else:
                part.unlink()
        for p in pending:
            os.replace(p, p.with_name(p.name[len(PENDING_PREFIX) :]))
        return dropped
