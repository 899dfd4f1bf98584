"""Reading helpers the record containers share (TFRecord, MDS): positional reads over a file
or over a compressed stream decompressed forward under a cap, and CRC-32C.

A compressed container (a gzip TFRecord, a zstd MDS shard) can only be read front to back:
reaching an entry means decompressing everything before it. `ForwardWindow` does that with
bounded memory (it keeps the bytes from the last `release`d offset on) and bounded work: it
stops with `StreamError` once it has produced `DECOMPRESSED_CAP_RATIO` times the compressed
size plus `DECOMPRESSED_SLACK_BYTES` (images do not compress, so a stream that inflates further
is a bomb, not a dataset)."""

from __future__ import annotations

import bz2
import gzip
import io
import zlib
from collections.abc import Callable

from jpegaudit.sources.retry import ReadFailed

DECOMPRESSED_CAP_RATIO = 32
DECOMPRESSED_SLACK_BYTES = 64 * 1024 * 1024
_CHUNK = 1 << 20


class StreamError(Exception):
    """A compressed stream that cannot be read on (corrupt, cut short, over the cap, or a
    compression this installation cannot read): the message says which."""


def decompressed_cap(compressed_size: int) -> int:
    return DECOMPRESSED_CAP_RATIO * max(compressed_size, 0) + DECOMPRESSED_SLACK_BYTES


def open_decompressed(fileobj, method: str):
    """A file-like `read(n)` over `fileobj` decompressed by `method` (`gzip`, `bz2`, `zstd`);
    every one of these bounds its output by `n`, so a bomb is never inflated in one call."""
    if method in ("gz", "gzip"):
        return gzip.GzipFile(fileobj=fileobj, mode="rb")
    if method == "bz2":
        return bz2.BZ2File(fileobj)
    if method == "zstd":
        try:
            import zstandard
        except ImportError:
            raise StreamError(
                "zstd-compressed data needs the zstandard package (pip install 'jpegaudit[mds]')"
            ) from None
        return zstandard.ZstdDecompressor().stream_reader(fileobj, read_size=_CHUNK)
    raise StreamError(f"compression {method!r} is not supported (gz, bz2, zstd are)")


class ForwardWindow:
    """`read_at(offset, n)` over a stream read forward only. Offsets before the last
    `release(offset)` are gone; `size` is unknown (None) until the stream ends."""

    def __init__(self, stream, max_output: int) -> None:
        self._stream = stream
        self._max_output = max_output
        self._buf = bytearray()
        self._start = 0  # stream offset of _buf[0]
        self._eof = False
        self._skip_to = 0  # bytes before this offset are dropped as they are produced
        self.size: int | None = None

    @property
    def produced(self) -> int:
        return self._start + len(self._buf)

    def _fill(self, upto: int) -> None:
        while self.produced < upto and not self._eof:
            if self.produced >= self._max_output:
                raise StreamError(
                    f"decompressed {self.produced} bytes, the cap for this stream "
                    f"({DECOMPRESSED_CAP_RATIO}x its compressed size + "
                    f"{DECOMPRESSED_SLACK_BYTES >> 20} MiB): the rest is not read"
                )
            want = min(max(_CHUNK, upto - self.produced), self._max_output - self.produced)
            try:
                chunk = self._stream.read(want)
            except ReadFailed:
                raise
            except (OSError, EOFError, ValueError, zlib.error) as exc:
                raise StreamError(f"corrupt compressed data: {exc}"[:200]) from exc
            except Exception as exc:  # zstandard.ZstdError, lzma errors, ...
                text = f"corrupt compressed data: {type(exc).__name__}: {exc}"[:200]
                raise StreamError(text) from exc
            if not chunk:
                self._eof = True
                self.size = self.produced
                break
            self._buf += chunk
            if self._skip_to > self._start:
                self.release(self._skip_to)

    def read_at(self, offset: int, n: int) -> bytes:
        if offset < self._start:
            raise StreamError(f"offset {offset} is behind the stream (at {self._start})")
        self._fill(offset + n)
        lo = offset - self._start
        return bytes(self._buf[lo : lo + n])

    def at_end(self, offset: int) -> bool:
        self._fill(offset + 1)
        return self._eof and offset >= self.produced

    def release(self, offset: int) -> None:
        """Forget the bytes before `offset` (also those not produced yet: skipping forward
        holds no more than one chunk)."""
        self._skip_to = max(self._skip_to, offset)
        drop = min(max(offset - self._start, 0), len(self._buf))
        if drop:
            del self._buf[:drop]
            self._start += drop


class PositionalWindow:
    """The same interface over a seekable container: reads go straight to `read_at`."""

    def __init__(self, read_at: Callable[[int, int], bytes], size: int) -> None:
        self._read_at = read_at
        self.size: int | None = size

    def read_at(self, offset: int, n: int) -> bytes:
        assert self.size is not None
        n = min(n, self.size - offset)
        return self._read_at(offset, n) if n > 0 else b""

    def at_end(self, offset: int) -> bool:
        assert self.size is not None
        return offset >= self.size

    def release(self, offset: int) -> None:
        pass


class ContainerReader(io.RawIOBase):
    """A forward file object over `read_at`, for the decompressors."""

    def __init__(self, read_at: Callable[[int, int], bytes], size: int) -> None:
        super().__init__()
        self._read_at = read_at
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        data = self._read_at(self._pos, n)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


# -- CRC-32C (Castagnoli), as TFRecord frames use it -----------------------------------------
def _crc32c_python(data, crc: int = 0) -> int:
    crc ^= 0xFFFFFFFF
    table = _TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _table() -> list[int]:
    table = []
    for i in range(256):
        crc = i
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def _choose_crc32c() -> tuple[Callable[[bytes], int], str]:
    try:
        import google_crc32c

        return (lambda data: google_crc32c.value(bytes(data))), "google-crc32c"
    except ImportError:
        pass
    try:
        import crc32c as crc32c_module

        return (lambda data: crc32c_module.crc32c(bytes(data))), "crc32c"
    except ImportError:
        pass
    # About 5 MB/s: TFRecord CRCs then dominate a scan (pip install 'jpegaudit[tfrecord]').
    return _crc32c_python, "python"


crc32c, CRC32C_IMPLEMENTATION = _choose_crc32c()


def masked_crc32c(data) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF
