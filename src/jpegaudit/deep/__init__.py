"""Deep mode: what the entropy-coded data says, read through libjpeg.

`torchjpeg_row(path)` and `deep_columns(path)` (in `jpegaudit.deep.backend`) are the per-file
entry points; `stats` and `double` are pure numpy on coefficient arrays. Importing this package
imports neither torch nor torchjpeg: the reader does, on first use (see docs/deep.md)."""

from __future__ import annotations

__all__ = ["deep_columns", "torchjpeg_row"]


def __getattr__(name: str):
    if name in __all__:
        from jpegaudit.deep import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'jpegaudit.deep' has no attribute {name!r}")
