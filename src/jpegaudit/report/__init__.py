"""The report: figures (one function per figure, `figures`), index.html (`html`), summary.json
and summary.md (`writers`), thumbnails for outliers (`thumbnails`), assembled by
`build_report`."""

from __future__ import annotations

__all__ = ["ReportResult", "build_report"]


def __getattr__(name: str):
    # Lazy: importing jpegaudit.report must not pull in pandas and matplotlib by itself.
    if name in __all__:
        from jpegaudit.report import build

        return getattr(build, name)
    raise AttributeError(f"module 'jpegaudit.report' has no attribute {name!r}")
