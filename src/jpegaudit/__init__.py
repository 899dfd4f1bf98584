"""jpegaudit: audit how an image dataset was compressed, from JPEG headers only."""

from __future__ import annotations

from jpegaudit._version import __version__

__all__ = [
    "__version__",
    "audit_file",
    "audit_files",
    "build_report",
    "read_store",
    "run_check",
    "scan",
]


def __getattr__(name: str):
    # The public API lives in jpegaudit.api; importing it lazily keeps `import jpegaudit`
    # (and so `jpegaudit --help`) free of pandas and pyarrow.
    if name in ("scan", "read_store", "audit_file", "audit_files", "build_report", "run_check"):
        from jpegaudit import api

        return getattr(api, name)
    raise AttributeError(f"module 'jpegaudit' has no attribute {name!r}")
