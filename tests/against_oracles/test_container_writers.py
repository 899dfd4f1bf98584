"""The formats' own libraries against our readers and our test writers: TFRecord files written
by TensorFlow and MDS datasets written by mosaicml-streaming give the folder's rows, and those
libraries read what tests/containerdata.py writes back unchanged.

Both libraries are heavy (TensorFlow; streaming pulls torch), so they live in their own
virtual environments, built by .ci/tensorflow.sh and .ci/streaming.sh. Here the tests skip
without them, and fail instead under JPEGAUDIT_REQUIRE_TENSORFLOW=1 or
JPEGAUDIT_REQUIRE_STREAMING=1 (what those CI steps set)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

import pandas as pd
import pytest
from containerdata import example, imagenet_example, tfrecord_bytes, write_mds
from sourcedata import comparable, dataset_files, write_folder

from jpegaudit.api import read_store, scan


def _require(module: str, variable: str, load: bool = True):
    if importlib.util.find_spec(module) is None:
        if os.environ.get(variable) == "1":
            pytest.fail(f"{module} is required here ({variable}=1) but is not installed")
        pytest.skip(f"{module} is not installed (.ci/ builds its environment)")
    return importlib.import_module(module) if load else None


@pytest.fixture(scope="module")
def files():
    return dataset_files()


@pytest.fixture(scope="module")
def folder_rows(files, tmp_path_factory):
    base = tmp_path_factory.mktemp("folder")
    write_folder(base / "train", files)
    scan(base / "train", base / "store", jobs=1)
    return comparable(read_store(base / "store"))


# -- TensorFlow ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tf():
    return _require("tensorflow", "JPEGAUDIT_REQUIRE_TENSORFLOW")


def tf_example(tf, rel: str, data: bytes, label_id: int):
    def b(v):
        return tf.train.Feature(bytes_list=tf.train.BytesList(value=[v]))

    def i(v):
        return tf.train.Feature(int64_list=tf.train.Int64List(value=[v]))

    features = {
        "image/encoded": b(data),
        "image/filename": b(rel.encode()),
        "image/class/label": i(label_id),
        "image/class/synset": b(rel.split("/", 1)[0].encode()),
        "image/format": b(b"JPEG"),
        "image/height": i(0),
    }
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


@pytest.mark.parametrize("compression", [None, "GZIP"])
def test_tfrecords_written_by_tensorflow_give_the_folder_rows(
    tf, files, folder_rows, tmp_path, compression
):
    (tmp_path / "tf").mkdir()
    names = sorted({rel.split("/", 1)[0] for rel in files})
    path = str(tmp_path / "tf" / "train-00000-of-00001")
    with tf.io.TFRecordWriter(path, options=compression) as writer:
        for rel, data in files.items():
            writer.write(tf_example(tf, rel, data, names.index(rel.split("/", 1)[0])))
    scan(tmp_path / "tf", tmp_path / "store", jobs=1)
    pd.testing.assert_frame_equal(comparable(read_store(tmp_path / "store")), folder_rows)


def test_our_tfrecord_framing_is_tensorflows_byte_for_byte(tf, tmp_path):
    records = [example({"image/encoded": b"x" * n, "n": n}) for n in (0, 1, 300, 70000)]
    path = str(tmp_path / "tf.tfrecord")
    with tf.io.TFRecordWriter(path) as writer:
        for r in records:
            writer.write(r)
    assert (tmp_path / "tf.tfrecord").read_bytes() == tfrecord_bytes(records)


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_tensorflow_parses_the_examples_our_test_writer_makes(tf, files, tmp_path, compressed):
    records = [imagenet_example(rel, data, 7, "n01") for rel, data in files.items()]
    (tmp_path / "ours").write_bytes(tfrecord_bytes(records, compressed))
    spec = {
        "image/encoded": tf.io.FixedLenFeature([], tf.string),
        "image/filename": tf.io.FixedLenFeature([], tf.string),
        "image/class/label": tf.io.FixedLenFeature([], tf.int64),
        "image/class/synset": tf.io.FixedLenFeature([], tf.string),
    }
    dataset = tf.data.TFRecordDataset(
        str(tmp_path / "ours"), compression_type="GZIP" if compressed else ""
    )
    parsed = [tf.io.parse_single_example(r, spec) for r in dataset]
    assert [p["image/encoded"].numpy() for p in parsed] == list(files.values())
    assert [p["image/filename"].numpy().decode() for p in parsed] == list(files)
    assert {int(p["image/class/label"]) for p in parsed} == {7}


# -- mosaicml-streaming ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def mds_writer():
    _require("streaming", "JPEGAUDIT_REQUIRE_STREAMING", load=False)
    # `import streaming` imports streaming.vision, hence torchvision, whose PyPI wheel needs a
    # CUDA build of torch; the writer and reader need neither. Import them without the
    # package's __init__ (a failed `import streaming` would leave half-imported modules).
    if "streaming" not in sys.modules:
        spec = importlib.util.find_spec("streaming")
        assert spec is not None and spec.submodule_search_locations is not None
        package = types.ModuleType("streaming")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["streaming"] = package
    from streaming.base.format.mds.writer import MDSWriter

    return MDSWriter


@pytest.mark.parametrize("compression", [None, "zstd", "gz"])
def test_mds_written_by_streaming_gives_the_folder_rows(
    mds_writer, files, folder_rows, tmp_path, compression
):
    columns = {"image": "bytes", "label": "str", "filename": "str"}
    out = tmp_path / "mds"
    # A small size limit, so that the dataset has several shards.
    with mds_writer(
        out=str(out), columns=columns, compression=compression, size_limit=1 << 16
    ) as writer:
        for rel, data in files.items():
            writer.write({"image": data, "label": rel.split("/", 1)[0], "filename": rel})
    assert len(list(out.glob("shard.*"))) > 1
    scan(out, tmp_path / "store", jobs=1)
    pd.testing.assert_frame_equal(comparable(read_store(tmp_path / "store")), folder_rows)


def test_mds_jpeg_columns_written_by_streaming_keep_the_files_bytes(mds_writer, files, tmp_path):
    from PIL import Image

    jpegs = {
        rel: data
        for rel, data in files.items()
        if rel.endswith(".jpg") and not rel.startswith("c/")
    }
    write_folder(tmp_path / "src", jpegs)
    with mds_writer(out=str(tmp_path / "mds"), columns={"image": "jpeg", "label": "int"}) as w:
        for i, rel in enumerate(jpegs):
            w.write({"image": Image.open(tmp_path / "src" / rel), "label": i})
    scan(tmp_path / "mds", tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store").sort_values("label", key=lambda s: s.astype(int))
    assert list(df["bytes"]) == [len(d) for d in jpegs.values()]
    assert list(df["label"]) == [str(i) for i in range(len(jpegs))]


def test_streaming_reads_the_mds_our_test_writer_makes(mds_writer, files, tmp_path):
    import json

    from streaming.base.format import reader_from_json

    samples = [{"image": d, "label": 3, "filename": r} for r, d in files.items()]
    out = write_mds(
        tmp_path / "mds", samples, {"image": "bytes", "label": "int", "filename": "str"}
    )
    index = json.loads((out / "index.json").read_text())
    got = []
    for shard in index["shards"]:
        reader = reader_from_json(str(out), None, shard)
        got.extend(reader.get_item(i) for i in range(reader.samples))
    assert [g["image"] for g in got] == list(files.values())
    assert [g["filename"] for g in got] == list(files)
    assert {g["label"] for g in got} == {3}
