"""Tar shards (WebDataset and the like), uncompressed.

The shard is opened seekable (`tarfile` mode `r:`): tarfile reads each 512-byte member header
and seeks over the data, and each member is audited through positional reads at
`member.offset_data`, so a local shard costs a header read plus the member's head and tail, as
a folder does. (Streaming mode `r|` would read every byte of every member.) A remote shard gives
the same calls a `RangeStream`, which turns them into a few large ranged requests.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Iterator

from jpegaudit.audit import Origin, ReadAt, ReadLimits
from jpegaudit.sources.container import (
    ContainerBytes,
    ContainerFormat,
    ContainerOptions,
    audit_member,
    member_path,
    shard_row,
)
from jpegaudit.sources.labels import label_text

_SPECIAL = (
    (tarfile.TarInfo.isfifo, "fifo"),
    (tarfile.TarInfo.ischr, "char-device"),
    (tarfile.TarInfo.isblk, "block-device"),
)


# WebDataset's sample key: the member name up to the first dot of its file name
# (`dir/000123.cls` -> `dir/000123`, suffix `cls`), as webdataset's base_plus_ext splits it.
_SAMPLE_KEY = re.compile(r"^((?:.*/|)[^./]+)\.([^/]*)$")
# Label members of a sample, read whole when at most this long (anything longer is no label).
_LABEL_MEMBER_BYTES = 64 * 1024
_JSON_LABEL_KEYS = ("label", "cls", "class", "target")


def audit_tar(
    container: ContainerBytes, shard_path: str, origin: Origin, options: ContainerOptions
) -> Iterator[dict]:
    """One row per member that is not a directory, in archive order; then, if the archive is
    corrupt or cut short, one row for the shard itself. I/O failures (ReadFailed) propagate.

    WebDataset samples (members sharing a key, `000123.jpg` and `000123.cls`) label every
    member of the sample from its `.cls` member (the text), else its `.json` member (the
    first of `label`, `cls`, `class`, `target`). The rows of one sample are held until the key
    changes: members of a sample are adjacent in a WebDataset shard."""
    sample: _Sample | None = None
    for row, key, label in _tar_rows(container, shard_path, origin, options.limits):
        if sample is not None and (key is None or key != sample.key):
            yield from sample.labelled()
            sample = None
        if key is None:
            yield row
            continue
        if sample is None:
            sample = _Sample(key)
        sample.add(row, label)
    if sample is not None:
        yield from sample.labelled()


class _Sample:
    def __init__(self, key: str) -> None:
        self.key = key
        self.rows: list[dict] = []
        self.cls: str | None = None
        self.json: str | None = None

    def add(self, row: dict, label: tuple[str, str] | None) -> None:
        self.rows.append(row)
        if label is not None:
            kind, text = label
            setattr(self, kind, text)

    def labelled(self) -> list[dict]:
        label = self.cls if self.cls is not None else self.json
        if label is not None:
            for row in self.rows:
                row["label"] = label
        return self.rows


def _sample_label(read_at: ReadAt, member: tarfile.TarInfo, suffix: str):
    if suffix not in ("cls", "json") or member.size > _LABEL_MEMBER_BYTES:
        return None
    data = read_at(member.offset_data, member.size)
    if suffix == "cls":
        text = label_text(data.decode("utf-8", "replace"))
        return None if text is None else ("cls", text)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    for name in _JSON_LABEL_KEYS:
        value = doc.get(name)
        if isinstance(value, (str, int, float)):
            text = label_text(value)
            if text is not None:
                return ("json", text)
    return None


def _tar_rows(
    container: ContainerBytes, shard_path: str, origin: Origin, limits: ReadLimits
) -> Iterator[tuple[dict, str | None, tuple[str, str] | None]]:
    """(row, WebDataset sample key or None, the label the member carries or None)."""
    read_at = container.read_at
    try:
        archive = tarfile.open(fileobj=container.fileobj, mode="r:", encoding="utf-8")
    except (tarfile.TarError, EOFError) as exc:
        yield shard_row(shard_path, origin, "shard", f"not a readable tar: {exc}"), None, None
        return
    while True:
        try:
            member = archive.next()
        except (tarfile.TarError, EOFError) as exc:
            yield shard_row(shard_path, origin, "shard", f"tar: {exc}"), None, None
            return
        if member is None:
            # tarfile ends quietly at a header cut short; a whole archive ends with two zero
            # blocks after the last member.
            if archive.offset + 2 * tarfile.BLOCKSIZE > container.size:
                error = "tar: no end-of-archive marker after the last member (cut short?)"
                yield shard_row(shard_path, origin, "shard", error), None, None
            return
        # tarfile keeps every TarInfo for getmember(); a shard is walked once, so drop them.
        archive.members.clear()
        if member.isdir():
            continue
        row = origin.new_row(member_path(shard_path, member.name))
        row["mtime_ns"] = _mtime_ns(member.mtime)
        match = _SAMPLE_KEY.match(member.name)
        key = match.group(1) if match else None
        if member.isreg():
            label = _sample_label(read_at, member, match.group(2).lower()) if match else None
            yield audit_member(read_at, member.offset_data, member.size, row, limits), key, label
            continue
        if member.issym() or member.islnk():
            row["entry_type"] = "link"
            row["error"] = f"link member (to {member.linkname!r}): not read"
        else:
            kind = next((name for test, name in _SPECIAL if test(member)), "other")
            row["entry_type"] = kind
            row["error"] = f"{kind}: not a regular file"
        yield row, key, None


def _mtime_ns(mtime) -> int | None:
    try:
        return int(round(float(mtime) * 1e9))
    except (TypeError, ValueError, OverflowError):
        return None


FORMAT = ContainerFormat(kind="tar", audit=audit_tar, suffixes=(".tar",))
