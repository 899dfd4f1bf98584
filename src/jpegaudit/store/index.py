"""What a store already holds, per path: the facts a rescan compares an entry with.

The index is held as columns, not as an object per row: the stored paths stay in the Arrow
string arrays the parts were read into (one per part, rows numbered across them in part order),
sizes and mtimes are NumPy int64 arrays, the repeating strings (split, root, backend,
deep_reader, format) small integer codes, and a hash table over the Arrow buffers maps a path to
its row (`jpegaudit._cwalk.PathTable`; `PathDict`, a dict, when the compiled module is not
built). About 110 bytes a row, most of it the path itself (docs/performance.md)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from jpegaudit.store.arrow import read_part_columns

try:
    from jpegaudit._cwalk import PathTable
except ImportError:  # not built: PathDict gives the same rows
    PathTable = None  # type: ignore[assignment,misc]


class IndexEntry(NamedTuple):
    """One stored row, as much of it as a rescan needs (a view built on lookup)."""

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


# Store columns read for the index; `part` comes from the file name.
_COLUMNS = ("path", "bytes", "mtime_ns", "split", "root", "backend", "deep_reader", "format")
_COLUMNS += ("tail_checked", "label")
# Columns whose values repeat on every row: read as dictionaries, held as codes.
CODED = ("split", "root", "backend", "deep_reader", "format", "label")
NO_SIZE = -1  # `bytes` is null (sizes are never negative)
NO_MTIME = np.iinfo(np.int64).min  # `mtime_ns` is null
_TAIL = {-1: None, 0: False, 1: True}  # tail_checked as held (int8)
_TAIL_CODE = {v: k for k, v in _TAIL.items()}
# Usually one value in a whole part (a unit has one root, split and backend): read from the
# part's statistics when they say so.
_MAY_BE_CONSTANT = (*CODED, "tail_checked")


class PathDict:
    """PathTable's pure-Python twin: path -> row. When a path repeats, the later row wins and
    the earlier one is listed in `shadowed`."""

    def __init__(self, chunks: Sequence[pa.Array]) -> None:
        self.rows: dict[str, int] = {}
        self.shadowed: list[int] = []
        row = 0
        for chunk in chunks:
            for path in chunk.to_pylist():
                earlier = self.rows.get(path)
                if earlier is not None:
                    self.shadowed.append(earlier)
                self.rows[path] = row
                row += 1

    def find(self, path: str) -> int:
        return self.rows.get(path, -1)

    def __len__(self) -> int:
        return len(self.rows)


def path_table(chunks: Sequence[pa.Array], compiled: bool | None = None):
    """The path -> row table over `chunks` (Arrow string arrays without nulls)."""
    if compiled is None:
        compiled = PathTable is not None
    return PathTable(chunks) if compiled else PathDict(chunks)


@dataclass
class StoreIndex:
    """Every row in the store, as columns; `row_of(path)` finds one, `entry(row)` views it."""

    parts: list[str]  # part file names, in row order
    starts: np.ndarray  # int64: the first row of each part, then the row count
    paths: list[pa.Array]  # the stored paths: one Arrow string array per part
    table: object | None  # path -> row (PathTable or PathDict); None when the store is empty
    sizes: np.ndarray  # int64, NO_SIZE where null
    mtimes: np.ndarray  # int64, NO_MTIME where null
    codes: dict[str, np.ndarray]  # per CODED column: the code of each row's value
    values: dict[str, list]  # per CODED column: the value of each code (None included)
    tail_checked: np.ndarray  # int8: -1 null, 0 False, 1 True
    live: np.ndarray | None  # bool: False for a row whose path a later row repeats (None: all)

    @classmethod
    def empty(cls) -> StoreIndex:
        return cls.load([])

    @classmethod
    def load(cls, parts: Iterable[Path]) -> StoreIndex:
        """The index of `parts`: the needed columns of each, read with pyarrow; the paths kept
        as read, the rest appended to NumPy columns through the buffers. Nothing per row in
        Python, and nothing that makes pyarrow import pandas.

        Memory (docs/performance.md): parts are read through the system allocator, where the
        room a part's temporary buffers leave between the kept paths is reused by the next
        part's, and the NumPy columns grow in blocks of 1 MiB and more, which are mappings of
        their own; together 30 % less than with pyarrow's default pool and a list of per-part
        arrays (measured: 112 instead of 211 bytes a row at 200,000 rows)."""
        pool = pa.system_memory_pool()
        names: list[str] = []
        paths: list[pa.Array] = []
        sizes, mtimes, tails = _Growing(np.int64), _Growing(np.int64), _Growing(np.int8)
        coded = {n: _Coded() for n in CODED}
        for part in parts:
            table, constant = read_part_columns(part, _COLUMNS, _MAY_BE_CONSTANT, CODED, pool)
            names.append(part.name)
            paths.append(_one_chunk(table.column("path"), pa.string()))
            sizes.extend(_int64s(table.column("bytes"), NO_SIZE))
            mtimes.extend(_int64s(table.column("mtime_ns"), NO_MTIME))
            n = table.num_rows
            if "tail_checked" in constant:
                tails.extend(np.full(n, _TAIL_CODE[constant["tail_checked"]], dtype=np.int8))
            else:
                tails.extend(_tails(table.column("tail_checked")))
            for name in CODED:
                if name in constant:
                    coded[name].extend_constant(constant[name], n)
                else:
                    coded[name].extend(table.column(name))
        counts = [len(p) for p in paths]
        starts = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        table = path_table(paths) if starts[-1] else None
        live = None
        if table is not None and table.shadowed:
            live = np.ones(int(starts[-1]), dtype=bool)
            live[table.shadowed] = False
        return cls(
            parts=names,
            starts=starts,
            paths=paths,
            table=table,
            sizes=sizes.values(),
            mtimes=mtimes.values(),
            codes={n: c.codes.values() for n, c in coded.items()},
            values={n: list(c.position) for n, c in coded.items()},
            tail_checked=tails.values(),
            live=live,
        )

    @property
    def entries(self) -> IndexEntries:
        """path -> IndexEntry for every stored path, as the dict this index once was (a view:
        each lookup builds its entry; iterating walks every row in Python)."""
        return IndexEntries(self)

    # -- size --------------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        """Rows held, a repeated path's earlier rows included (the size of a `seen` mark)."""
        return int(self.starts[-1])

    def __len__(self) -> int:
        """Distinct stored paths."""
        return 0 if self.table is None else len(self.table)

    # -- one row -----------------------------------------------------------------------------
    def row_of(self, path: str) -> int:
        """The row holding `path`, or -1."""
        return -1 if self.table is None else self.table.find(path)

    def get(self, path: str) -> IndexEntry | None:
        row = self.row_of(path)
        return None if row < 0 else self.entry(row)

    def entry(self, row: int) -> IndexEntry:
        size, mtime = int(self.sizes[row]), int(self.mtimes[row])
        value = {n: self.values[n][self.codes[n][row]] for n in CODED}
        return IndexEntry(
            None if size == NO_SIZE else size,
            None if mtime == NO_MTIME else mtime,
            value["split"],
            self.parts[self._part_number(row)],
            value["root"],
            value["backend"],
            value["deep_reader"],
            value["format"],
            _TAIL[int(self.tail_checked[row])],
            value["label"],
        )

    def part_of(self, path: str) -> str | None:
        """The file name of the part holding `path`'s row."""
        row = self.row_of(path)
        return None if row < 0 else self.parts[self._part_number(row)]

    def path_of(self, row: int) -> str:
        k = self._part_number(row)
        return self.paths[k][row - int(self.starts[k])].as_py()

    def _part_number(self, row: int) -> int:
        return int(np.searchsorted(self.starts, row, side="right")) - 1

    # -- many rows ---------------------------------------------------------------------------
    def value_of(self, column: str, row: int):
        """A CODED column's value at `row`."""
        return self.values[column][self.codes[column][row]]

    def code_of(self, column: str, value) -> int:
        """The code of `value` in a CODED column, or -1 when no row holds it."""
        try:
            return self.values[column].index(value)
        except ValueError:
            return -1

    def value_mask(self, column: str, wanted) -> np.ndarray:
        """bool per row: the row's value in a CODED column makes `wanted(value)` true."""
        per_code = np.array([bool(wanted(v)) for v in self.values[column]], dtype=bool)
        return per_code[self.codes[column]] if len(per_code) else np.zeros(0, dtype=bool)

    def paths_of(self, rows: np.ndarray) -> list[str]:
        """The paths of `rows` (ascending row numbers), in that order."""
        return [p for _, paths in self._by_part(rows) for p in paths.to_pylist()]

    def stored_by_part(self, paths: Iterable[str]) -> dict[str, pa.Array]:
        """The stored ones among `paths`, by the file name of the part holding each (as Arrow
        strings taken from that part's paths)."""
        rows = np.array(sorted({r for r in map(self.row_of, paths) if r >= 0}), dtype=np.int64)
        return {self.parts[k]: paths for k, paths in self._by_part(rows)}

    def _by_part(self, rows: np.ndarray) -> Iterator[tuple[int, pa.Array]]:
        """(part number, the paths of its rows among `rows`, ascending)."""
        # Where each part's rows begin among `rows` (np.unique would import numpy.ma: 15 ms).
        cut = np.searchsorted(rows, self.starts)
        for k in np.flatnonzero(np.diff(cut)).tolist():
            local = rows[cut[k] : cut[k + 1]] - self.starts[k]
            yield k, self.paths[k].take(_arrow_int64s(local))

    def unseen_paths(self, seen: bytearray, roots: Iterable[str]) -> list[str]:
        """Paths of the rows with one of `roots` that `seen` does not mark."""
        if self.table is None:
            return []
        codes = [c for c in (self.code_of("root", r) for r in roots) if c >= 0]
        mask = np.isin(self.codes["root"], codes)
        mask &= np.frombuffer(seen, dtype=np.uint8) == 0
        if self.live is not None:
            mask &= self.live
        return self.paths_of(np.flatnonzero(mask))

    def rows_containing(self, text: str) -> tuple[np.ndarray, list[str]]:
        """(rows, paths) of the live rows whose path contains `text`, in row order."""
        rows: list[np.ndarray] = []
        for k, chunk in enumerate(self.paths):
            hits = pc.match_substring(chunk, text)
            bits = _bits(hits.buffers()[1], hits.offset, len(hits))
            rows.append(np.flatnonzero(bits) + self.starts[k])
        found = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
        if self.live is not None:
            found = found[self.live[found]]
        return found, self.paths_of(found)


class IndexEntries(Mapping):
    """StoreIndex.entries: path -> IndexEntry. Paths come in row order, a repeated path once
    (where its winning row is)."""

    def __init__(self, index: StoreIndex) -> None:
        self._index = index

    def __getitem__(self, path: str) -> IndexEntry:
        row = self._index.row_of(path)
        if row < 0:
            raise KeyError(path)
        return self._index.entry(row)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, str) and self._index.row_of(path) >= 0

    def __iter__(self) -> Iterator[str]:
        index = self._index
        for k, chunk in enumerate(index.paths):
            start = int(index.starts[k])
            for offset, path in enumerate(chunk.to_pylist()):
                if index.live is None or index.live[start + offset]:
                    yield path

    def __len__(self) -> int:
        return len(self._index)


def _one_chunk(column: pa.ChunkedArray, type_: pa.DataType) -> pa.Array:
    chunk = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if chunk.type != type_:
        chunk = chunk.cast(type_)
    if chunk.null_count:  # a null path is never walked: an empty one is not either
        chunk = chunk.fill_null("")
    return chunk


# Arrow to NumPy through the buffers: Array.to_numpy and np.asarray make pyarrow import pandas.
def _valid(chunk: pa.Array) -> np.ndarray | None:
    """bool per element, or None when there is no null."""
    if not chunk.null_count:
        return None
    return _bits(chunk.buffers()[0], chunk.offset, len(chunk)).astype(bool)


def _bits(buffer: pa.Buffer, offset: int, n: int) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")
    return bits[offset : offset + n]


def _arrow_int64s(values: np.ndarray) -> pa.Array:
    values = np.ascontiguousarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(values), [None, pa.py_buffer(values)])


def _int64s(column: pa.ChunkedArray, null: int) -> np.ndarray:
    """The column's values (a view of its buffer when there is no null)."""
    out = []
    for chunk in column.chunks:
        values = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[chunk.offset :][: len(chunk)]
        valid = _valid(chunk)
        if valid is not None:
            values = np.where(valid, values, null)
        out.append(values)
    return out[0] if len(out) == 1 else np.concatenate(out)


def _tails(column: pa.ChunkedArray) -> np.ndarray:
    """tail_checked as int8: -1 null, 0 False, 1 True."""
    out = []
    for chunk in column.chunks:
        values = _bits(chunk.buffers()[1], chunk.offset, len(chunk)).astype(np.int8)
        valid = _valid(chunk)
        if valid is not None:
            values[~valid] = -1
        out.append(values)
    return out[0] if len(out) == 1 else np.concatenate(out)


class _Growing:
    """A NumPy column appended to part by part. Its room doubles, from 1 MiB: blocks that
    large are mappings of their own, so an outgrown one goes back to the system instead of
    leaving a hole between the kept paths (as a list of per-part arrays joined at the end
    does)."""

    def __init__(self, dtype) -> None:
        self._array = np.empty((1 << 20) // np.dtype(dtype).itemsize, dtype=dtype)
        self._size = 0

    def extend(self, values: np.ndarray) -> None:
        end = self._size + len(values)
        if end > len(self._array):
            self._resize(max(2 * len(self._array), end), self._array.dtype)
        self._array[self._size : end] = values
        self._size = end

    def widen(self, dtype) -> None:
        if np.dtype(dtype).itemsize > self._array.dtype.itemsize:
            self._resize(len(self._array), dtype)

    def _resize(self, room: int, dtype) -> None:
        grown = np.empty(room, dtype=dtype)
        grown[: self._size] = self._array[: self._size]
        self._array = grown

    def values(self) -> np.ndarray:
        return self._array[: self._size]


class _Coded:
    """Codes of a column of repeating strings (None is a value too), read as dictionaries."""

    def __init__(self) -> None:
        self.position: dict = {}  # value -> code
        self.codes = _Growing(np.uint8)  # uint16, then int32, once there are more values

    def _code(self, value) -> int:
        code = self.position.setdefault(value, len(self.position))
        if len(self.position) > 0xFF:
            self.codes.widen(np.uint16 if len(self.position) <= 0xFFFF else np.int32)
        return code

    def extend_constant(self, value, n: int) -> None:
        self.codes.extend(np.full(n, self._code(value), dtype=np.int32))

    def extend(self, column: pa.ChunkedArray) -> None:
        for chunk in column.chunks:
            if not pa.types.is_dictionary(chunk.type):
                chunk = chunk.dictionary_encode()
            local = chunk.dictionary.to_pylist() + [None]
            mapping = np.array([self._code(v) for v in local])
            indices = chunk.indices
            at = np.frombuffer(indices.buffers()[1], dtype=np.int32)
            at = at[indices.offset :][: len(indices)]
            valid = _valid(indices)
            if valid is not None:
                at = np.where(valid, at, len(local) - 1)
            self.codes.extend(mapping[at])
