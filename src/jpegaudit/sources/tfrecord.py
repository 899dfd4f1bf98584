"""TFRecord files of `tf.train.Example` records (TensorFlow's ImageNet pipeline, TFDS), plain
or gzip-compressed, read without TensorFlow.

A record is framed as `uint64 length`, `uint32 masked CRC-32C of the length`, `length` bytes of
data, `uint32 masked CRC-32C of the data` (little-endian). Every record is read whole (the
image is somewhere inside its protobuf) and both CRCs are checked. The `Example` protobuf is
decoded here (`parse_example`): its features map names to lists of bytes, floats or int64s.

Rows: one per record, path `file::<record index>` (from 0). The image is the feature named by
`scan --column`, else `image/encoded`, else the first bytes feature whose value is an image;
`entry_name` is `image/filename`; the label is `--label-column`'s feature, else
`image/class/synset`, `image/class/text`, `image/class/label`, `label` (the first present).

Problems are rows of their own, and reading goes on where it can: a record whose data CRC
fails is a row error; a length whose CRC fails (a length that lies) is a row error, and the
reader looks for the next position where a valid length frame starts; a record cut short, or a
gzip stream that is corrupt or inflates past the cap (sources/streams.py), ends the file with a
row saying so. A record longer than `MAX_RECORD_BYTES` is skipped with a row error."""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator

from jpegaudit.audit import Origin
from jpegaudit.sniff import sniff_format
from jpegaudit.sources.container import (
    MEMBER_SEPARATOR,
    ContainerBytes,
    ContainerFormat,
    ContainerOptions,
    audit_slice,
    entry_row,
)
from jpegaudit.sources.labels import label_text
from jpegaudit.sources.streams import (
    ContainerReader,
    ForwardWindow,
    PositionalWindow,
    StreamError,
    decompressed_cap,
    masked_crc32c,
    open_decompressed,
)

MAX_RECORD_BYTES = 64 * 1024 * 1024
_FRAME = struct.Struct("<QI")
_CRC = struct.Struct("<I")
_GZIP_MAGIC = b"\x1f\x8b"
_RESYNC_BLOCK = 1 << 20

IMAGE_FEATURE = "image/encoded"
NAME_FEATURE = "image/filename"
LABEL_FEATURES = ("image/class/synset", "image/class/text", "image/class/label", "label")
# Formats that make a bytes feature the image when no feature is named image/encoded.
_IMAGE_FORMATS = frozenset({"jpeg", "png", "gif", "webp", "bmp", "tiff", "jpeg2000", "jpegxl"})


def is_record_frame(head: bytes) -> bool:
    """The first 12 bytes are a record's length and its valid masked CRC."""
    if len(head) < _FRAME.size:
        return False
    _, crc = _FRAME.unpack_from(head)
    return masked_crc32c(head[:8]) == crc


def sniff_tfrecord(head: bytes) -> bool:
    if head.startswith(_GZIP_MAGIC):
        try:
            head = zlib.decompressobj(31).decompress(head, _FRAME.size)
        except zlib.error:
            return False
    return is_record_frame(head)


# -- the protobuf wire format, as much as tf.train.Example needs -----------------------------
class ProtoError(ValueError):
    pass


def _varint(data: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise ProtoError("varint runs past the end")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift >= 70:
            raise ProtoError("varint longer than 10 bytes")


def _fields(data: memoryview) -> Iterator[tuple[int, int, object]]:
    """(field number, wire type, value): an int for varint/fixed types, a memoryview for
    length-delimited ones."""
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, wire, value
        elif wire == 2:
            length, pos = _varint(data, pos)
            if length > end - pos:
                raise ProtoError(f"field {number}: length {length} runs past the end")
            yield number, wire, data[pos : pos + length]
            pos += length
        elif wire == 1:
            if pos + 8 > end:
                raise ProtoError(f"field {number}: 64-bit value runs past the end")
            yield number, wire, int.from_bytes(data[pos : pos + 8], "little")
            pos += 8
        elif wire == 5:
            if pos + 4 > end:
                raise ProtoError(f"field {number}: 32-bit value runs past the end")
            yield number, wire, int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        else:
            raise ProtoError(f"field {number}: unsupported wire type {wire}")


def parse_example(data: memoryview) -> dict[str, tuple[str, list]]:
    """feature name -> (kind, values): kind `bytes` (memoryviews), `int64` (ints) or `float`
    (the raw 32-bit patterns are not needed here: floats are kept as ints)."""
    features: dict[str, tuple[str, list]] = {}
    for number, wire, value in _fields(data):
        if number != 1 or wire != 2:
            continue
        assert isinstance(value, memoryview)
        for f_number, f_wire, entry in _fields(value):
            if f_number != 1 or f_wire != 2:
                continue
            assert isinstance(entry, memoryview)
            key = None
            feature: memoryview | None = None
            for e_number, e_wire, e_value in _fields(entry):
                if e_number == 1 and e_wire == 2:
                    assert isinstance(e_value, memoryview)
                    key = bytes(e_value).decode("utf-8", "backslashreplace")
                elif e_number == 2 and e_wire == 2:
                    feature = e_value  # type: ignore[assignment]
            if key is not None:
                features[key] = _feature(feature)
    return features


def _feature(feature: memoryview | None) -> tuple[str, list]:
    if feature is None:
        return "bytes", []
    for number, wire, value in _fields(feature):
        if wire != 2:
            continue
        assert isinstance(value, memoryview)
        if number == 1:
            return "bytes", [v for n, w, v in _fields(value) if n == 1 and w == 2]
        if number == 3:
            return "int64", _int64s(value)
        if number == 2:
            return "float", []
    return "bytes", []


def _int64s(value: memoryview) -> list[int]:
    out = []
    for number, wire, v in _fields(value):
        if number != 1:
            continue
        if wire == 2:  # packed
            assert isinstance(v, memoryview)
            pos = 0
            while pos < len(v):
                n, pos = _varint(v, pos)
                out.append(n - (1 << 64) if n >= 1 << 63 else n)
        elif wire == 0:
            assert isinstance(v, int)
            out.append(v - (1 << 64) if v >= 1 << 63 else v)
    return out


def _first_text(kind: str, values: list) -> str | None:
    if not values:
        return None
    value = values[0]
    return label_text(bytes(value) if kind == "bytes" else value)


# -- the reader ------------------------------------------------------------------------------
def audit_tfrecord(
    container: ContainerBytes, shard_path: str, origin: Origin, options: ContainerOptions
) -> Iterator[dict]:
    """One row per record, then a row for whatever ended the file early."""
    head = container.read_at(0, 2)
    compressed = head.startswith(_GZIP_MAGIC)
    window: ForwardWindow | PositionalWindow
    if compressed:
        stream = open_decompressed(ContainerReader(container.read_at, container.size), "gzip")
        window = ForwardWindow(stream, decompressed_cap(container.size))
    else:
        window = PositionalWindow(container.read_at, container.size)
    yield from _records(window, shard_path, origin, options)


def _records(
    window: ForwardWindow | PositionalWindow,
    shard_path: str,
    origin: Origin,
    options: ContainerOptions,
) -> Iterator[dict]:
    pos = 0
    index = 0

    def problem(text: str) -> dict:
        row = entry_row(origin, f"{shard_path}{MEMBER_SEPARATOR}{index}")
        row["error"] = f"tfrecord: record {index} at byte {pos}: {text}"
        return row

    while True:
        try:
            if window.at_end(pos):
                return
            frame = window.read_at(pos, _FRAME.size)
            if len(frame) < _FRAME.size:
                yield problem(f"{len(frame)} bytes left, a record frame needs 12 (cut short)")
                return
            length, length_crc = _FRAME.unpack(frame)
            if masked_crc32c(frame[:8]) != length_crc:
                found = _resync(window, pos + 1)
                skipped = (
                    f"skipped {found - pos} bytes to the next valid record"
                    if found is not None
                    else "no valid record after it"
                )
                yield problem(f"length CRC mismatch (a corrupt or lying length); {skipped}")
                if found is None:
                    return
                index, pos = index + 1, found
                continue
            end = pos + _FRAME.size + length + _CRC.size
            if length > MAX_RECORD_BYTES:
                yield problem(
                    f"{length} bytes, above the {MAX_RECORD_BYTES >> 20} MiB record cap: not read"
                )
                window.release(end)
                if window.size is not None and end > window.size:
                    return
                index, pos = index + 1, end
                continue
            body = window.read_at(pos + _FRAME.size, length + _CRC.size)
            if len(body) < length + _CRC.size:
                left = len(body)
                yield problem(
                    f"claims {length} bytes, the file ends {left} bytes later (cut short)"
                )
                return
            data = memoryview(body)[:length]
            if masked_crc32c(data) != _CRC.unpack_from(body, length)[0]:
                yield problem("data CRC mismatch (a corrupt record): not read")
                next_frame = window.read_at(end, _FRAME.size)
                if next_frame and not is_record_frame(next_frame):
                    # The length may lie with a valid CRC: look inside this record.
                    found = _resync(window, pos + _FRAME.size)
                    if found is None:
                        return
                    end = found
                index, pos = index + 1, end
                continue
            yield _record_row(data, f"{shard_path}{MEMBER_SEPARATOR}{index}", origin, options)
            window.release(end)
            index, pos = index + 1, end
        except StreamError as exc:
            yield problem(f"gzip: {exc}")
            return


def _resync(window: ForwardWindow | PositionalWindow, start: int) -> int | None:
    """The first offset at or after `start` where a valid record frame begins, or None.
    Lengths below 4 GiB have four zero high bytes, so candidates are found with `bytes.find`
    and zero runs are jumped over (a run of zeros holds at most 4 candidates, since a frame's
    CRC is not zero)."""
    block_start = start
    nonzero = re.compile(rb"[^\x00]")
    while True:
        block = window.read_at(block_start, _RESYNC_BLOCK + _FRAME.size)
        if len(block) < _FRAME.size:
            return None
        limit = len(block) - _FRAME.size  # candidates i <= limit have a whole frame here
        pos = 0
        while True:
            j = block.find(b"\0\0\0\0", pos)
            if j < 0 or j - 4 > limit:
                break
            run_end = nonzero.search(block, j)
            m = run_end.start() if run_end else len(block)
            for i in range(max(j - 4, m - 11, 0), min(m - 8, limit) + 1):
                if is_record_frame(block[i : i + _FRAME.size]):
                    return block_start + i
            pos = m + 1
        if len(block) < _RESYNC_BLOCK + _FRAME.size:
            return None
        block_start += _RESYNC_BLOCK
        window.release(block_start)


def _record_row(data: memoryview, path: str, origin: Origin, options: ContainerOptions) -> dict:
    try:
        features = parse_example(data)
    except ProtoError as exc:
        row = entry_row(origin, path)
        row["bytes"] = len(data)
        row["error"] = f"tfrecord: not a tf.train.Example: {exc}"
        return row
    name_kind, name_values = features.get(NAME_FEATURE, ("bytes", []))
    name = _first_text(name_kind, name_values) if name_kind == "bytes" else None
    row = entry_row(origin, path, name)
    label_keys = (options.label_column,) if options.label_column else LABEL_FEATURES
    for key in label_keys:
        if key in features:
            row["label"] = _first_text(*features[key])
            if row["label"] is not None:
                break
    image = _image_feature(features, options.column)
    if image is None:
        names = ", ".join(sorted(k for k, (kind, _) in features.items() if kind == "bytes"))
        wanted = f"feature {options.column!r}" if options.column else "image feature"
        row["error"] = f"tfrecord: no {wanted} (bytes features: {names or 'none'})"
        return row
    return audit_slice(image, row, options.limits)


def _image_feature(features: dict[str, tuple[str, list]], column: str | None):
    if column is not None:
        kind, values = features.get(column, ("", []))
        return values[0] if kind == "bytes" and values else None
    kind, values = features.get(IMAGE_FEATURE, ("", []))
    if kind == "bytes" and values:
        return values[0]
    for kind, values in features.values():
        if kind == "bytes" and values and sniff_format(bytes(values[0][:64])) in _IMAGE_FORMATS:
            return values[0]
    return None


FORMAT = ContainerFormat(
    kind="tfrecord",
    audit=audit_tfrecord,
    suffixes=(".tfrecord", ".tfrecords", ".tfrec", ".tfrecord.gz", ".tfrecords.gz", ".tfrec.gz"),
    sniff=sniff_tfrecord,
)
