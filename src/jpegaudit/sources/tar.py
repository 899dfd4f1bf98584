"""Tar shards (WebDataset and the like), uncompressed.

The shard is opened seekable (`tarfile` mode `r:`): tarfile reads each 512-byte member header
and seeks over the data, and each member is audited through positional reads at
`member.offset_data`, so a local shard costs a header read plus the member's head and tail, as
a folder does. (Streaming mode `r|` would read every byte of every member.) A remote shard gives
the same calls a `RangeStream`, which turns them into a few large ranged requests.
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator

from jpegaudit.audit import Origin, ReadLimits
from jpegaudit.sources.container import (
    ContainerBytes,
    ContainerFormat,
    audit_member,
    member_path,
    shard_row,
)

_SPECIAL = (
    (tarfile.TarInfo.isfifo, "fifo"),
    (tarfile.TarInfo.ischr, "char-device"),
    (tarfile.TarInfo.isblk, "block-device"),
)


def audit_tar(
    container: ContainerBytes, shard_path: str, origin: Origin, limits: ReadLimits
) -> Iterator[dict]:
    """One row per member that is not a directory, in archive order; then, if the archive is
    corrupt or cut short, one row for the shard itself. I/O failures (ReadFailed) propagate."""
    read_at = container.read_at
    try:
        archive = tarfile.open(fileobj=container.fileobj, mode="r:", encoding="utf-8")
    except (tarfile.TarError, EOFError) as exc:
        yield shard_row(shard_path, origin, "shard", f"not a readable tar: {exc}")
        return
    while True:
        try:
            member = archive.next()
        except (tarfile.TarError, EOFError) as exc:
            yield shard_row(shard_path, origin, "shard", f"tar: {exc}")
            return
        if member is None:
            # tarfile ends quietly at a header cut short; a whole archive ends with two zero
            # blocks after the last member.
            if archive.offset + 2 * tarfile.BLOCKSIZE > container.size:
                error = "tar: no end-of-archive marker after the last member (cut short?)"
                yield shard_row(shard_path, origin, "shard", error)
            return
        # tarfile keeps every TarInfo for getmember(); a shard is walked once, so drop them.
        archive.members.clear()
        if member.isdir():
            continue
        row = origin.new_row(member_path(shard_path, member.name))
        row["mtime_ns"] = _mtime_ns(member.mtime)
        if member.isreg():
            yield audit_member(read_at, member.offset_data, member.size, row, limits)
            continue
        if member.issym() or member.islnk():
            row["entry_type"] = "link"
            row["error"] = f"link member (to {member.linkname!r}): not read"
        else:
            kind = next((name for test, name in _SPECIAL if test(member)), "other")
            row["entry_type"] = kind
            row["error"] = f"{kind}: not a regular file"
        yield row


def _mtime_ns(mtime) -> int | None:
    try:
        return int(round(float(mtime) * 1e9))
    except (TypeError, ValueError, OverflowError):
        return None


FORMAT = ContainerFormat(kind="tar", suffixes=(".tar",), audit=audit_tar)
