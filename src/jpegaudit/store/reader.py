"""Reading a store: the rows as a DataFrame."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jpegaudit.store.arrow import ARROW_SCHEMA, table_to_pandas
from jpegaudit.store.files import StoreError, part_files


def read_store(store: str | os.PathLike, columns: Sequence[str] | None = None):
    """The store as a pandas DataFrame: one row per scanned entry, every schema column (or only
    `columns`, which reads less).

    Integer and boolean columns use pandas' nullable dtypes (Int16, Int32, Int64, boolean), so a
    missing quality is <NA> rather than a float NaN; strings are Python objects (None when null).
    `pandas.read_parquet(store)` reads the same rows with numpy dtypes instead."""
    parts = part_files(Path(store))
    if not parts and not Path(store).is_dir():
        raise StoreError(f"no scan store at {store}")
    schema = ARROW_SCHEMA
    if columns is not None:
        unknown = [c for c in columns if c not in schema.names]
        if unknown:
            raise StoreError(f"no column {unknown[0]!r} in the store schema")
        schema = pa.schema([schema.field(c) for c in columns])
    tables = [pq.read_table(p, columns=schema.names, schema=ARROW_SCHEMA) for p in parts]
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    return table_to_pandas(table)
