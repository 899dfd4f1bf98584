"""The deep modules' store columns (declared in `jpegaudit.schema`, documented in docs/deep.md)."""

from __future__ import annotations

from jpegaudit.schema import BACKEND_COLUMNS, DEEP_COLUMNS

__all__ = ["BACKEND_COLUMNS", "DEEP_COLUMNS", "DEEP_COLUMN_NAMES", "empty_deep_columns"]

DEEP_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in DEEP_COLUMNS)


def empty_deep_columns() -> dict:
    return dict.fromkeys(DEEP_COLUMN_NAMES)
