"""Writers for the record containers, from their specifications, for the source tests: TFRecord
framing and `tf.train.Example` protobufs, MDS datasets (index.json and shards), LMDB (through
the lmdb package), Hugging Face Parquet (through `datasets`). The writers of the formats' own
libraries (TensorFlow, mosaicml-streaming) are compared with these in
tests/against_oracles/test_container_writers.py, where they install."""

from __future__ import annotations

import gzip
import json
import struct
from pathlib import Path

from jpegaudit.sources.streams import masked_crc32c


# -- protobuf (the wire format, as tf.train.Example uses it) --------------------------------
def _varint(n: int) -> bytes:
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def feature(value) -> bytes:
    """A `tf.train.Feature`: bytes or str -> BytesList, int -> Int64List (packed), float ->
    FloatList (packed); a list of one kind gives a list of several values."""
    values = value if isinstance(value, list) else [value]
    first = values[0]
    if isinstance(first, (bytes, str)):
        items = b"".join(_field(1, v.encode() if isinstance(v, str) else v) for v in values)
        return _field(1, items)
    if isinstance(first, int):
        return _field(3, _field(1, b"".join(_varint(v) for v in values)))
    return _field(2, _field(1, b"".join(struct.pack("<f", v) for v in values)))


def example(features: dict) -> bytes:
    """A serialized `tf.train.Example`."""
    entries = b"".join(
        _field(1, _field(1, key.encode()) + _field(2, feature(value)))
        for key, value in features.items()
    )
    return _field(1, entries)


def frame(record: bytes) -> bytes:
    """One TFRecord frame: length, masked CRC of the length, data, masked CRC of the data."""
    length = struct.pack("<Q", len(record))
    return (
        length
        + struct.pack("<I", masked_crc32c(length))
        + record
        + struct.pack("<I", masked_crc32c(record))
    )


def tfrecord_bytes(records: list[bytes], compress: bool = False) -> bytes:
    data = b"".join(frame(r) for r in records)
    return gzip.compress(data, mtime=0) if compress else data


def imagenet_example(rel: str, data: bytes, label_id: int, synset: str) -> bytes:
    """The features TensorFlow's ImageNet builder (build_imagenet_data.py) writes."""
    return example(
        {
            "image/height": 0,
            "image/width": 0,
            "image/colorspace": b"RGB",
            "image/channels": 3,
            "image/class/label": label_id,
            "image/class/synset": synset,
            "image/class/text": f"class {synset}",
            "image/format": b"JPEG",
            "image/filename": rel,
            "image/encoded": data,
        }
    )


# -- MDS (mosaicml-streaming's format, version 2) --------------------------------------------
_FIXED = {"int": 8, "int64": 8, "int32": 4, "uint8": 1, "uint32": 4}


def _encode(encoding: str, value) -> bytes:
    if encoding in ("bytes", "jpeg", "png"):
        return value
    if encoding in ("str", "str_int"):
        return str(value).encode()
    if encoding in ("int", "int64"):
        return struct.pack("<q", value)
    if encoding == "int32":
        return struct.pack("<i", value)
    if encoding == "uint32":
        return struct.pack("<I", value)
    if encoding == "uint8":
        return struct.pack("<B", value)
    if encoding == "json":
        return json.dumps(value).encode()
    if encoding == "pkl":
        import pickle

        return pickle.dumps(value)
    raise ValueError(encoding)


def write_mds(
    out: Path,
    samples: list[dict],
    columns: dict[str, str],
    samples_per_shard: int = 5,
    compression: str | None = None,
) -> Path:
    """An MDS dataset as MDSWriter lays it out: columns sorted by name, shards of at most
    `samples_per_shard` samples, `compression` `gz` or `zstd` (whole shards)."""
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(columns)
    encodings = [columns[n] for n in names]
    sizes = [_FIXED.get(e) for e in encodings]
    shards = []
    for number, first in enumerate(range(0, len(samples), samples_per_shard)):
        chunk = samples[first : first + samples_per_shard]
        config = {
            "column_encodings": encodings,
            "column_names": names,
            "column_sizes": sizes,
            "compression": compression,
            "format": "mds",
            "hashes": [],
            "size_limit": 1 << 26,
            "version": 2,
        }
        config_bytes = json.dumps(config, sort_keys=True).encode()
        encoded = []
        for sample in chunk:
            data = [_encode(e, sample[n]) for n, e in zip(names, encodings, strict=True)]
            head = b"".join(
                struct.pack("<I", len(d)) for d, s in zip(data, sizes, strict=True) if s is None
            )
            encoded.append(head + b"".join(data))
        start = 4 + 4 * (len(chunk) + 1) + len(config_bytes)
        offsets = [start]
        for e in encoded:
            offsets.append(offsets[-1] + len(e))
        raw = (
            struct.pack("<I", len(chunk))
            + struct.pack(f"<{len(offsets)}I", *offsets)
            + config_bytes
            + b"".join(encoded)
        )
        raw_name = f"shard.{number:05d}.mds"
        raw_info = {"basename": raw_name, "bytes": len(raw), "hashes": {}}
        zip_info = None
        if compression:
            method = compression.split(":")[0]
            if method == "gz":
                stored = gzip.compress(raw, mtime=0)
            else:
                import zstandard

                stored = zstandard.ZstdCompressor().compress(raw)
            zip_info = {"basename": f"{raw_name}.{method}", "bytes": len(stored), "hashes": {}}
            (out / zip_info["basename"]).write_bytes(stored)
        else:
            (out / raw_name).write_bytes(raw)
        shards.append({**config, "raw_data": raw_info, "samples": len(chunk), "zip_data": zip_info})
    (out / "index.json").write_text(json.dumps({"shards": shards, "version": 2}, sort_keys=True))
    return out


# -- LMDB ------------------------------------------------------------------------------------
def write_lmdb(out: Path, items: dict[bytes, bytes]) -> Path:
    import lmdb

    out.mkdir(parents=True, exist_ok=True)
    size = max(1 << 20, 4 * sum(len(k) + len(v) for k, v in items.items()))
    env = lmdb.open(str(out), map_size=size, subdir=True)
    with env.begin(write=True) as txn:
        for key, value in items.items():
            txn.put(key, value)
    env.close()
    return out


# -- Hugging Face Parquet --------------------------------------------------------------------
def hf_dataset(files: dict[str, bytes]):
    """A `datasets.Dataset` of {image, label}: the images as the Image feature stores them
    (struct {bytes, path}), the label a ClassLabel of the class folders."""
    import datasets

    names = sorted({rel.split("/", 1)[0] for rel in files})
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=names)}
    )
    return datasets.Dataset.from_dict(
        {
            "image": [{"bytes": data, "path": rel} for rel, data in files.items()],
            "label": [names.index(rel.split("/", 1)[0]) for rel in files],
        },
        features=features,
    )
