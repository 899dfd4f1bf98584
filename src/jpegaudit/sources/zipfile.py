"""Zip files. The central directory (at the end) lists the members; they are audited in the
order they are stored, so a remote zip is read front to back.

- Stored members (no compression, what `zip -0`/`-n .jpg` and Python's zipfile write by
  default): the 30-byte local header gives where the data starts, then the member is read by
  range exactly like a tar member: head and tail only.
- Compressed members (deflate, the `zip` tool's default even for JPEGs, bzip2, lzma): the head
  is the first bytes of the decompressed stream, but the tail (for EOI) can only be reached by
  decompressing the whole member. That costs reading the whole compressed member and about
  1 ms of inflate per MB; memory stays bounded (the head is kept, the rest is discarded).
  A member larger than `MAX_INFLATE_BYTES` uncompressed (by the central directory) is not
  inflated to its end: its tail is not checked (`tail_checked` false, `truncated` and
  `trailing_bytes` null, a warning saying why), so a zip bomb costs its head, milliseconds.
  A member whose stream inflates past its declared size is cut there (zipfile checks it).
"""

from __future__ import annotations

import calendar
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import replace

from jpegaudit.audit import Origin, ReadAt
from jpegaudit.sources.container import (
    ContainerBytes,
    ContainerFormat,
    ContainerOptions,
    MemberError,
    audit_guarded,
    audit_member,
    member_path,
    shard_row,
)
from jpegaudit.sources.retry import ReadFailed

_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature, then name and extra field lengths
_LOCAL_SIGNATURE = b"PK\x03\x04"
# A compressed member larger than this (uncompressed) is not inflated for its tail.
MAX_INFLATE_BYTES = 32 * 1024 * 1024


def audit_zip(
    container: ContainerBytes, shard_path: str, origin: Origin, options: ContainerOptions
) -> Iterator[dict]:
    """One row per member that is not a directory; a corrupt zip gives one row for itself.
    I/O failures (ReadFailed) propagate."""
    read_at = container.read_at
    limits = options.limits
    try:
        archive = zipfile.ZipFile(container.fileobj)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        yield shard_row(shard_path, origin, "shard", f"not a readable zip: {exc}")
        return
    members = sorted((i for i in archive.infolist() if not i.is_dir()), key=_offset)
    for info in members:
        row = origin.new_row(member_path(shard_path, info.filename))
        row["mtime_ns"] = _mtime_ns(info.date_time)
        if info.flag_bits & 0x1:
            row["entry_type"], row["bytes"] = "file", info.file_size
            row["error"] = "encrypted zip member: not read"
            yield row
        elif info.compress_type == zipfile.ZIP_STORED:
            data_offset, problem = _stored_data_offset(read_at, info)
            if problem is not None:
                row["entry_type"], row["bytes"], row["error"] = "file", info.file_size, problem
                yield row
            else:
                yield audit_member(read_at, data_offset, info.file_size, row, limits)
        else:
            reader = _InflatingReader(archive, info)
            capped = info.file_size > MAX_INFLATE_BYTES and limits.read_tail
            try:
                row = audit_guarded(
                    reader.read_at,
                    info.file_size,
                    row,
                    replace(limits, read_tail=False) if capped else limits,
                )
            finally:
                reader.close()
            if capped and row["tail_checked"] is False:
                note = (
                    f"tail not checked: compressed member of {info.file_size} bytes, above the "
                    f"{MAX_INFLATE_BYTES >> 20} MiB inflate cap"
                )
                row["warnings"] = f"{row['warnings']}; {note}" if row["warnings"] else note
            yield row


def _offset(info: zipfile.ZipInfo) -> int:
    return info.header_offset


def _stored_data_offset(read_at: ReadAt, info: zipfile.ZipInfo) -> tuple[int, str | None]:
    # The local header's extra field may differ from the central directory's: read it.
    header = read_at(info.header_offset, _LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size:
        return 0, "zip: member's local header runs past the end of the file"
    signature, name_len, extra_len = _LOCAL_HEADER.unpack(header)
    if signature != _LOCAL_SIGNATURE:
        return 0, "zip: bad local header signature"
    return info.header_offset + _LOCAL_HEADER.size + name_len + extra_len, None


def _mtime_ns(date_time: tuple) -> int | None:
    # DOS time has no zone; read as UTC so that the value does not depend on the machine.
    try:
        return calendar.timegm((*date_time, 0, 0, 0)) * 1_000_000_000
    except (TypeError, ValueError, OverflowError):
        return None


class _InflatingReader:
    """`read_at` over a compressed member, for the access pattern of an audit: a head grown
    forward from 0, then a tail near the end. The head is kept; bytes between are decompressed
    and dropped; a read behind the stream's position restarts it."""

    def __init__(self, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
        self._archive = archive
        self._info = info
        self._stream = None
        self._pos = 0  # decompressed bytes consumed from the stream
        self._head = bytearray()  # bytes [0, len) while the reads have been contiguous from 0

    def _open(self):
        self.close()
        try:
            self._stream = self._archive.open(self._info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError) as exc:
            raise MemberError(f"zip: {exc}") from exc
        self._pos = 0

    def _read(self, n: int) -> bytes:
        try:
            return self._stream.read(n)
        except ReadFailed:
            raise
        except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
            raise MemberError(f"zip: {exc}") from exc
        except Exception as exc:  # zlib.error, lzma.LZMAError, ...
            raise MemberError(f"zip: {type(exc).__name__}: {exc}") from exc

    def read_at(self, offset: int, n: int) -> bytes:
        end = offset + n
        if end <= len(self._head):
            return bytes(self._head[offset:end])
        if self._stream is None:
            self._open()
        if offset <= len(self._head) == self._pos:
            # Contiguous with the kept head: extend it.
            while len(self._head) < end:
                chunk = self._read(max(65536, end - len(self._head)))
                if not chunk:
                    break
                self._head += chunk
                self._pos += len(chunk)
            return bytes(self._head[offset:end])
        if offset < self._pos:
            self._open()
        while self._pos < offset:  # skip forward, dropping what is not needed
            chunk = self._read(min(1 << 20, offset - self._pos))
            if not chunk:
                return b""
            self._pos += len(chunk)
        out = bytearray()
        while len(out) < n:
            chunk = self._read(n - len(out))
            if not chunk:
                break
            out += chunk
            self._pos += len(chunk)
        return bytes(out)

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            except Exception:
                pass
            self._stream = None


FORMAT = ContainerFormat(kind="zip", audit=audit_zip, suffixes=(".zip",))
