"""The store's columns as Arrow: the schema, rows (dicts) to a table, a table to pandas."""

from __future__ import annotations

import importlib.abc
import operator
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from jpegaudit.schema import COLUMNS
from jpegaudit.store.files import write_atomically

_ARROW_TYPES = {
    "string": pa.string(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "float64": pa.float64(),
    "bool": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
ARROW_SCHEMA = pa.schema([pa.field(name, _ARROW_TYPES[kind]) for name, kind in COLUMNS])
# How a part is written, column by column (docs/performance.md, "Part write options"). Snappy:
# every Parquet reader has it, and it writes a 4096-row part in about 1.1 us a row against
# zstd's 1.7 (the part is about twice zstd's size). Dictionary encoding where a dictionary
# earns its hashing, plain (and snappy) elsewhere:
# - the strings the rescan index reads as dictionaries (store.index.CODED; tests/store check
#   that they are here): it takes the parts' dictionaries as they are;
# - longer texts that repeat (snappy leaves them several times the dictionary's size);
# - `header_signature` and `scanned_at` (one value per part);
# - the tables and their fingerprint only in a part whose tables repeat (part_write_options).
# Not on numbers and short words from a small vocabulary (`color`, `process`, `ext`, ...):
# snappy folds their plain pages to a byte or two a row, for less than a dictionary costs.
_DICTIONARY = frozenset(
    {"split", "label", "root", "format", "backend", "deep_reader",
     "encoder", "encoder_detail", "app_markers", "sampling_factors",
     "exif_make", "exif_model", "exif_software", "header_signature", "scanned_at"}
)  # fmt: skip
_TABLES = frozenset({"qtables", "qtables_hash"})
PART_COMPRESSION = "snappy"
# Hex digits: snappy finds nothing in them (88 KB -> 75 KB a no-repeat part), and where they
# repeat the dictionary has done the work already.
_UNCOMPRESSED = frozenset({"qtables_hash", "header_signature"})
# The writer drops a dictionary that outgrows this and goes on in plain in the same column
# chunk, which fastparquet (2026.9) reads back as nulls from there on: 4 MiB (pyarrow's default
# is 1 MiB) keeps every dictionary of a part of a few thousand rows whole, and the tables are
# dictionary-encoded only where they fit it whatever they hold (part_write_options).
_DICTIONARY_PAGE_LIMIT = 4 << 20
# Min/max statistics on numbers, booleans and timestamps (cheap; readers that push filters down
# use them) and on the strings the rescan index reads from the footer when a part holds one
# value (store.index._MAY_BE_CONSTANT; tests/store check the two agree). Not on the other
# strings: paths, tables and verdict texts cost 9 % of a part's writing for statistics
# nobody reads.
_STATISTICS_STRINGS = frozenset(
    {"split", "root", "backend", "deep_reader", "format", "label", "scanner_version"}
)


# Tables of their own (written plain) go through zstd at level 1: on them it is both faster and
# far smaller than snappy, which finds few repeats in comma-separated numbers that zstd's
# entropy coding folds well (no-repeat, `qtables` alone: 0.32 against 0.48 us a row, 14
# against 87 bytes a row; the whole part 1.59 against 1.74 us a row and 118 against 191 bytes;
# docs/performance.md, "Tables of their own: zstd"). A dictionary of repeating tables stays
# snappy: there zstd costs more (0.08 against 0.06 us a row) for a byte a row.
_PLAIN_TABLES_COMPRESSION = ("zstd", 1)


def _write_options(dictionary: frozenset[str]) -> dict:
    compression = {
        name: "none" if name in _UNCOMPRESSED else PART_COMPRESSION for name in ARROW_SCHEMA.names
    }
    levels = {}
    if "qtables" not in dictionary:
        compression["qtables"], levels["qtables"] = _PLAIN_TABLES_COMPRESSION
    return {
        "compression": compression,
        **({"compression_level": levels} if levels else {}),
        "use_dictionary": [name for name in ARROW_SCHEMA.names if name in dictionary],
        "dictionary_pagesize_limit": _DICTIONARY_PAGE_LIMIT,
        "write_statistics": [
            f.name
            for f in ARROW_SCHEMA
            if not pa.types.is_string(f.type) or f.name in _STATISTICS_STRINGS
        ],
    }


PART_WRITE_OPTIONS = _write_options(_DICTIONARY)
PART_WRITE_OPTIONS_REPEATING_TABLES = _write_options(_DICTIONARY | _TABLES)
_SAMPLE_ROWS = 128


def part_write_options(table: pa.Table) -> dict:
    """PART_WRITE_OPTIONS, with dictionaries on `qtables` and `qtables_hash` when the part's
    tables repeat: a quarter or fewer distinct fingerprints in 128 rows spread over the part
    (ImageNet's few IJG tables), and the column's text within the dictionary limit, so that
    the dictionary can never be dropped half-way. Where every file has its own tables a
    dictionary costs its hashing for nothing (0.07 us a row more on no-repeat; 10 us a part
    for the sample). Any other column whose dictionary would outgrow the limit (a shard of
    some 210,000 files with headers of their own, each `header_signature` distinct) is
    written plain too (_outgrown)."""
    rows = table.num_rows
    outgrown = _outgrown(table)
    if rows == 0 or _text_bytes(table.column("qtables")) + 4 * rows > _DICTIONARY_PAGE_LIMIT:
        return _without(PART_WRITE_OPTIONS, outgrown)
    rows_taken = np.arange(0, rows, max(1, rows // _SAMPLE_ROWS), dtype=np.int64)
    indices = pa.Array.from_buffers(pa.int64(), len(rows_taken), [None, pa.py_buffer(rows_taken)])
    sample = [v for v in table.column("qtables_hash").take(indices).to_pylist() if v is not None]
    if sample and 4 * len(set(sample)) <= len(sample):
        return _without(PART_WRITE_OPTIONS_REPEATING_TABLES, outgrown)
    return _without(PART_WRITE_OPTIONS, outgrown)


def _outgrown(table: pa.Table) -> frozenset[str]:
    """The dictionary columns whose dictionary would reach the limit in this part. The writer
    would drop it there and go on in plain in the same column chunk, which fastparquet reads
    back as nulls from there on. A column's buffers bound its dictionary (each distinct value's
    bytes and 4 for its length): only a part of some 100,000 rows, or one of long EXIF texts,
    is looked at further (40 us a part of 4,096 rows for the bounds)."""
    outgrown = []
    for name in _DICTIONARY:
        column = table.column(name)
        if column.nbytes < _DICTIONARY_PAGE_LIMIT:
            continue
        distinct = pc.drop_null(pc.unique(column))
        if pa.types.is_string(column.type):
            size = (pc.sum(pc.binary_length(distinct)).as_py() or 0) + 4 * len(distinct)
        else:  # scanned_at: one value a part
            size = column.type.bit_width // 8 * len(distinct)
        if size >= _DICTIONARY_PAGE_LIMIT:
            outgrown.append(name)
    return frozenset(outgrown)


def _without(options: dict, outgrown: frozenset[str]) -> dict:
    if not outgrown:
        return options
    return {
        **options,
        "use_dictionary": [n for n in options["use_dictionary"] if n not in outgrown],
    }


def _text_bytes(column: pa.ChunkedArray) -> int:
    """Bytes of text in a string column, from its offsets."""
    total = 0
    for chunk in column.chunks:
        if len(chunk) == 0:
            continue
        offsets = np.frombuffer(chunk.buffers()[1], np.int32)
        total += int(offsets[chunk.offset + len(chunk)] - offsets[chunk.offset])
    return total


def write_part(table: pa.Table, where) -> None:
    """One part, as every part is written (a path or a pyarrow output stream)."""
    pq.write_table(table, where, **part_write_options(table))


def rows_to_table(rows: list[dict]) -> pa.Table:
    # Transpose with one C-level itemgetter per row, then one typed pa.array per column:
    # about 3x faster than a list comprehension per column (docs/performance.md).
    if not rows:
        return ARROW_SCHEMA.empty_table()
    columns = zip(*map(_ROW_VALUES, rows), strict=True)
    arrays = [pa.array(c, type=f.type) for c, f in zip(columns, ARROW_SCHEMA, strict=True)]
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


_ROW_VALUES = operator.itemgetter(*ARROW_SCHEMA.names)


def table_from_columns(columns: list[tuple]) -> pa.Table:
    """A table from column buffers in schema order, as the compiled core builds them: per column
    (name, length, null count, validity bits or None, values, int32 offsets or None)."""
    arrays = []
    for (name, length, nulls, validity, values, offsets), field in zip(
        columns, ARROW_SCHEMA, strict=True
    ):
        if name != field.name:
            raise ValueError(f"column {name!r} where the schema has {field.name!r}")
        buffers = [None if validity is None else pa.py_buffer(validity)]
        if offsets is not None:
            buffers.append(pa.py_buffer(offsets))
        buffers.append(pa.py_buffer(values))
        arrays.append(pa.Array.from_buffers(field.type, length, buffers, null_count=nulls))
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def string_array(values: Sequence[str | None]) -> pa.Array:
    """A string array of `values` (None: null), built from buffers: `pa.array` of Python values
    makes pyarrow import pandas (0.13 s) in a process that has not, and a small scan runs its
    unit in the main process (scanner/process_pool.py). Each distinct value is encoded once
    (labels repeat: one per folder) and the array taken from them by index, as fast as
    `pa.array` (4,096 values of one label: 160 us)."""
    distinct = list(set(values))
    code = {v: k for k, v in enumerate(distinct)}
    indices = np.fromiter(map(code.__getitem__, values), np.int32, len(values))
    data = [b"" if v is None else v.encode("utf-8") for v in distinct]
    offsets = np.zeros(len(data) + 1, np.int64)
    np.cumsum(np.fromiter(map(len, data), np.int64, len(data)), out=offsets[1:])
    if offsets[-1] > np.iinfo(np.int32).max:
        raise ValueError(f"{offsets[-1]} bytes of strings do not fit one Arrow string array")
    validity = None
    if None in code:
        present = np.ones(len(distinct), np.bool_)
        present[code[None]] = False
        validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    buffers = [validity, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(b"".join(data))]
    dictionary = pa.Array.from_buffers(pa.string(), len(distinct), buffers)
    return dictionary.take(
        pa.Array.from_buffers(pa.int32(), len(values), [None, pa.py_buffer(indices)])
    )


def write_part_atomically(table: pa.Table, final_path: Path) -> None:
    """A part is written whole or not at all (store.files.write_atomically)."""
    write_atomically(lambda tmp: write_part(table, tmp), final_path)


def read_part(
    path: Path,
    columns: Sequence[str],
    read_dictionary: Sequence[str] = (),
    memory_pool: pa.MemoryPool | None = None,
) -> pa.Table:
    """`columns` of one part, with today's types (a part from an older schema gets missing
    columns as nulls). Reads with the reader under `pq.ParquetFile`: no per-file set-up in
    Python, and unlike `pq.read_table` it does not make pyarrow import pandas (0.13 s) in a
    process that has not. `read_dictionary`: string columns to read as dictionary arrays."""
    table, _ = read_part_columns(path, columns, (), read_dictionary, memory_pool)
    return table


def read_part_columns(
    path: Path,
    columns: Sequence[str],
    constant: Sequence[str],
    read_dictionary: Sequence[str] = (),
    memory_pool: pa.MemoryPool | None = None,
) -> tuple[pa.Table, dict[str, object]]:
    """As `read_part`, except the columns of `constant` that the part's footer shows to hold
    a single value (or only nulls) are not decoded but returned as {name: value}: decoding a
    column has a fixed cost per part, however little it holds (docs/performance.md, "Rescan
    and the main process")."""
    reader = pq.ParquetReader(memory_pool=memory_pool)
    try:
        reader.open(str(path), read_dictionary=list(read_dictionary) or None)
    except KeyError:  # a column to read as a dictionary is not in this part
        return pq.read_table(path, columns=list(columns), schema=ARROW_SCHEMA), {}
    try:
        if _as_today(reader.schema_arrow, columns, read_dictionary):
            values = _constants(reader, constant)
            indices = [reader.column_name_idx(c) for c in columns if c not in values]
            return reader.read_all(column_indices=indices, use_threads=False), values
    finally:
        reader.close()
    # A part written by an older schema (a column missing or of another type): pyarrow fills
    # and casts it to today's.
    return pq.read_table(path, columns=list(columns), schema=ARROW_SCHEMA), {}


def _constants(reader: pq.ParquetReader, names: Sequence[str]) -> dict[str, object]:
    """{name: value} of the columns whose statistics say every row holds `value` (None: all
    null). pyarrow writes a string's min and max whole or not at all."""
    if not names:
        return {}
    meta = reader.metadata
    groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
    out: dict[str, object] = {}
    for name in names:
        index = reader.column_name_idx(name)
        value: object = _UNKNOWN
        for group in groups:
            stats = group.column(index).statistics
            if stats is None or stats.null_count is None or group.num_rows == 0:
                break
            if stats.null_count == group.num_rows:
                one = None
            elif stats.null_count == 0 and stats.has_min_max and stats.min == stats.max:
                one = stats.min
            else:
                break
            if value is not _UNKNOWN and one != value:
                break
            value = one
        else:
            if value is not _UNKNOWN:
                out[name] = value
    return out


_UNKNOWN = object()


def _as_today(schema: pa.Schema, columns: Sequence[str], read_dictionary: Sequence[str]) -> bool:
    for name in columns:
        index = schema.get_field_index(name)
        if index < 0:
            return False
        have, want = schema.field(index).type, ARROW_SCHEMA.field(name).type
        if name in read_dictionary:
            if not (pa.types.is_dictionary(have) and have.value_type == want):
                return False
        elif have != want:
            return False
    return True


def arrow_without_pandas() -> None:
    """For a process that never hands pandas objects to pyarrow (a scan's pool worker): settle
    now, without importing it, that pyarrow's conversions go without pandas. pyarrow imports
    pandas at its first conversion of Python values, to recognise pandas objects: 0.13 s of CPU
    and about 50 MB in every worker. Asked for a DataFrame later (`to_pandas`), pyarrow still
    imports pandas then."""
    if "pandas" in sys.modules:
        return  # imported already (before the fork): nothing to save
    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        pa.array([0])  # pyarrow tries `import pandas` once, fails, and remembers
    finally:
        sys.meta_path.remove(blocker)


def preload_conversion_modules() -> None:
    """Before a pool forks (main process): import what pyarrow's first conversion of Python
    values imports besides pandas (dateutil, six), so that arrow_without_pandas in each worker
    does not load them again from disk (3 of its 5 ms)."""
    try:
        importlib.import_module("dateutil.relativedelta")
    except ImportError:
        pass


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "pandas":
            raise ModuleNotFoundError(f"{name} is not imported here", name=name)
        return None


def table_to_pandas(table: pa.Table):
    """pandas with nullable dtypes for integers and booleans (Int16, Int32, Int64, boolean),
    so that a missing quality is <NA> rather than a float NaN; strings stay Python objects."""
    import pandas as pd

    nullable = {
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return table.to_pandas(types_mapper=nullable.get)
