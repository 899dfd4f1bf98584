"""One entry's bytes in, one store row out, with no I/O of its own:

- `limits`: how much may be read (`ReadLimits`) and the `read_at` callable sources provide;
- `read`: the read strategy (`audit_bytes`: head, grown while the header needs it, then tail);
- `cache`: header caches that make repeated headers cost one lookup;
- `columns`: a parsed header as the store's columns (`new_row`, `quality_columns`);
- provenance columns (`encoder`, ...) come from `jpegaudit.provenance`.
"""

from __future__ import annotations

from jpegaudit.audit.cache import clear_header_caches
from jpegaudit.audit.columns import (
    Origin,
    internal_error,
    internal_error_row,
    new_row,
    quality_columns,
)
from jpegaudit.audit.limits import DEFAULT_LIMITS, ReadAt, ReadLimits
from jpegaudit.audit.read import audit_bytes

__all__ = [
    "DEFAULT_LIMITS",
    "Origin",
    "ReadAt",
    "ReadLimits",
    "audit_bytes",
    "clear_header_caches",
    "internal_error",
    "internal_error_row",
    "new_row",
    "quality_columns",
]
