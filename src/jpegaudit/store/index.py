"""What a store already holds, per path: the facts a rescan compares an entry with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import pyarrow.parquet as pq

from jpegaudit.store.arrow import ARROW_SCHEMA


class IndexEntry(NamedTuple):
    """One stored row, as much of it as a rescan needs (a tuple: one per stored row)."""

    bytes: int | None
    mtime_ns: int | None
    split: str
    part: str  # file name of the part that holds the row
    root: str
    backend: str | None
    deep_reader: str | None
    format: str | None
    tail_checked: bool | None
    label: str | None


# Store columns read for the index, in IndexEntry's order (`part` comes from the file name).
_COLUMNS = ("bytes", "mtime_ns", "split", "root", "backend", "deep_reader", "format")
# Columns whose values repeat on every row: one string object each, not one per row (about a
# third of the index's memory).
_SHARED = ("split", "root", "backend", "deep_reader", "format", "label")


@dataclass
class StoreIndex:
    """path -> IndexEntry for every row in the store."""

    entries: dict[str, IndexEntry]

    @classmethod
    def load(cls, parts: Iterable[Path]) -> StoreIndex:
        entries: dict[str, IndexEntry] = {}
        names = ["path", *_COLUMNS, "tail_checked", "label"]
        shared: dict = {}
        for part in parts:
            table = pq.read_table(part, columns=names, schema=ARROW_SCHEMA)
            columns = {n: table.column(n).to_pylist() for n in names}
            for n in _SHARED:
                columns[n] = [shared.setdefault(v, v) for v in columns[n]]
            for path, size, mtime, split, root, backend, deep, fmt, tail, label in zip(
                *(columns[n] for n in names), strict=True
            ):
                entries[path] = IndexEntry(
                    size, mtime, split, part.name, root, backend, deep, fmt, tail, label
                )
        return cls(entries)
