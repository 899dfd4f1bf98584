"""How much of an entry the audit may read: the head, how far a header may grow, the tail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Sources hand the audit a positional reader: `read_at(offset, length) -> bytes`, which returns
# fewer bytes only at the end of the entry.
ReadAt = Callable[[int, int], bytes]


@dataclass(frozen=True)
class ReadLimits:
    head_bytes: int = 16384  # first read; holds the whole header of most files
    max_header_bytes: int = 16 * 1024 * 1024  # a header that needs more is reported, not read
    tail_bytes: int = 64  # first tail read; EOI is normally the last two bytes
    max_tail_bytes: int = 1024 * 1024  # how far back to look for EOI before calling it missing
    # False skips the tail read of files longer than the head: one ranged request per object
    # store object instead of two, at the price of `truncated`/`trailing_bytes` being unknown.
    read_tail: bool = True


DEFAULT_LIMITS = ReadLimits()
