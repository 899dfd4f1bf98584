"""Names the report gives to summary keys, shared by index.html and the terminal summary."""

from __future__ import annotations

__all__ = ["OVERVIEW_LABELS"]

# The overview's rows (summary["overview"] keys) and how they are named.
OVERVIEW_LABELS = (
    ("rows", "rows"),
    ("jpeg", "JPEG"),
    ("not_jpeg", "not JPEG (by content)"),
    ("special_entries", "special entries (FIFO, broken link, ...)"),
    ("errors", "rows with an error"),
    ("ext_mismatch", "extension names another format"),
    ("truncated", "truncated"),
    ("trailing_data", "bytes after EOI"),
    ("cmyk_or_ycck", "CMYK or YCCK"),
    ("subsampling_4_1_1", "4:1:1"),
    ("quality_below_10", "luma quality < 10"),
    ("quality_approximate", "approximate quality (not IJG tables)"),
    ("progressive", "progressive"),
)
