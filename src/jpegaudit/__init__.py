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
    "scan_images",
]


_API = (
    "scan",
    "scan_images",
    "read_store",
    "audit_file",
    "audit_files",
    "build_report",
    "run_check",
)


def __getattr__(name: str):
    # The public API lives in jpegaudit.api; importing it lazily keeps `import jpegaudit`
    # (and so `jpegaudit --help`) free of pandas and pyarrow.
    if name in _API:
        from jpegaudit import api

        return getattr(api, name)
    raise AttributeError(f"module 'jpegaudit' has no attribute {name!r}")
