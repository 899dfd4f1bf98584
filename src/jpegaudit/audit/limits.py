"""How much of an entry the audit may read: the head, how far a header may grow, the tail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Sources hand the audit a positional reader: `read_at(offset, length) -> bytes`, which returns
# fewer bytes only at the end of the entry.
ReadAt = Callable[[int, int], bytes]


@dataclass(frozen=True)
class ReadLimits:
    # First read. It holds the whole header of most files (98.5 % of the ImageNet-like set's,
    # whose median header is 387 bytes): a first read of 16 KiB cost 1.5 us a file more in
    # the kernel's copy and page lookups (docs/performance.md). A header that outgrows it is
    # read on to HEAD_GROWTH_HEADS heads at once, then doubling.
    head_bytes: int = 4096
    max_header_bytes: int = 16 * 1024 * 1024  # a header that needs more is reported, not read
    tail_bytes: int = 64  # first tail read; EOI is normally the last two bytes
    max_tail_bytes: int = 1024 * 1024  # how far back to look for EOI before calling it missing
    # False skips the tail read of files longer than the head: one ranged request per object
    # store object instead of two, at the price of `truncated`/`trailing_bytes` being unknown.
    read_tail: bool = True

    def __post_init__(self) -> None:
        # A zero tail window never grows (it grows 16x a step): the search for EOI would loop.
        for name in ("head_bytes", "max_header_bytes", "tail_bytes", "max_tail_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"ReadLimits.{name} must be a positive number of bytes: {value!r}")


DEFAULT_LIMITS = ReadLimits()
# A head that is not enough grows to at least this many heads (16 KiB by default, what the head
# was before it was 4 KiB): a longer header costs one more read of a file, not three, and an
# object store's first range (RemoteOptions.first_range_bytes, 16 KiB) serves that growth too.
HEAD_GROWTH_HEADS = 4
