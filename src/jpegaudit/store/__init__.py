"""The Parquet scan store (docs/store-schema.md), by concern:

- `files`: the names in a store directory, atomic writes, `StoreError` (no pyarrow: the walker
  imports it to recognise a store inside the data);
- `arrow`: the Arrow schema, rows to a table, a table to pandas;
- `index`: what a store holds per path, for rescans (`StoreIndex`, `IndexEntry`);
- `scan_store`: one scan's writer (lock, parts, finalisation);
- `reader`: `read_store`, the store as a DataFrame.

This package's `__init__` imports nothing, so that `jpegaudit.store.files` stays cheap.
"""
