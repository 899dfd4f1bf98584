"""The same files scanned as a folder, as tar shards, as zips (stored and deflated), as loose S3
objects and as tar shards in S3 (moto's S3 server on loopback) give identical rows apart from
where each row came from (path, root, split, mtime_ns, scanned_at)."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from sourcedata import (
    CountingS3Server,
    comparable,
    dataset_files,
    split_in_two,
    tar_bytes,
    write_folder,
    zip_bytes,
)

from jpegaudit.api import read_store, scan


@pytest.fixture(scope="module")
def files():
    return dataset_files()


@pytest.fixture(scope="module")
def s3(files):
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    server = CountingS3Server().start()
    first, second = split_in_two(files)
    objects = {f"loose/{rel}": data for rel, data in files.items()}
    objects["shards/part-000.tar"] = tar_bytes(first)
    objects["shards/part-001.tar"] = tar_bytes(second)
    server.upload("dataset", objects)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def folder_rows(files, tmp_path_factory):
    base = tmp_path_factory.mktemp("folder")
    write_folder(base / "train", files)
    scan(base / "train", base / "store", jobs=1)
    return comparable(read_store(base / "store"))


def assert_same_rows(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(got.index) == list(expected.index)
    pd.testing.assert_frame_equal(got, expected)


def test_folder_scan_reads_every_case(folder_rows):
    # The reference itself covers what it should: growth, problems, non-JPEG content.
    assert folder_rows.loc["b/icc.jpg", "read_bytes"] > 16384
    assert bool(folder_rows.loc["c/cut.jpg", "truncated"])
    assert folder_rows.loc["c/trailing.jpg", "trailing_bytes"] == 170
    assert folder_rows.loc["c/fake.jpg", "error"] == "not a JPEG: png"
    assert folder_rows.loc["a/q50_444.jpg", "quality_luma"] == 50


def test_tar_shards_give_the_folder_rows(files, folder_rows, tmp_path):
    first, second = split_in_two(files)
    (tmp_path / "shards").mkdir()
    (tmp_path / "shards" / "part-000.tar").write_bytes(tar_bytes(first))
    (tmp_path / "shards" / "part-001.tar").write_bytes(tar_bytes(second))
    scan(tmp_path / "shards", tmp_path / "store", jobs=2)
    assert_same_rows(folder_rows, comparable(read_store(tmp_path / "store")))


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_zip_gives_the_folder_rows(files, folder_rows, tmp_path, compression):
    (tmp_path / "data.zip").write_bytes(zip_bytes(files, compression))
    scan(tmp_path / "data.zip", tmp_path / "store", jobs=1)
    assert_same_rows(folder_rows, comparable(read_store(tmp_path / "store")))


def test_loose_s3_objects_give_the_folder_rows(s3, folder_rows, tmp_path):
    scan("s3://dataset/loose", tmp_path / "store", jobs=2, storage_options=s3.storage_options)
    assert_same_rows(folder_rows, comparable(read_store(tmp_path / "store")))


def test_tar_shards_in_s3_give_the_folder_rows(s3, folder_rows, tmp_path):
    scan("s3://dataset/shards/", tmp_path / "store", jobs=2, storage_options=s3.storage_options)
    assert_same_rows(folder_rows, comparable(read_store(tmp_path / "store")))


def test_s3_rows_name_the_object_url_and_the_prefix_split(files, s3, tmp_path):
    scan("s3://dataset/loose", tmp_path / "store", jobs=1, storage_options=s3.storage_options)
    df = read_store(tmp_path / "store").set_index("path")
    row = df.loc["s3://dataset/loose/a/gray.jpg"]
    assert (row["root"], row["split"]) == ("s3://dataset/loose", "loose")
    assert row["bytes"] == len(files["a/gray.jpg"])
    assert row["mtime_ns"] > 0


def test_zip_in_s3_gives_the_folder_rows(files, folder_rows, s3, tmp_path):
    s3.upload("zips", {"all.zip": zip_bytes(files, zipfile.ZIP_DEFLATED)})
    scan("s3://zips/all.zip", tmp_path / "store", jobs=1, storage_options=s3.storage_options)
    assert_same_rows(folder_rows, comparable(read_store(tmp_path / "store")))


# -- record and columnar containers ---------------------------------------------------------
def classes(files) -> list[str]:
    return sorted({rel.split("/", 1)[0] for rel in files})


def test_the_folder_rows_carry_the_class_folder_as_label(folder_rows, files):
    assert list(folder_rows["label"]) == [rel.split("/", 1)[0] for rel in sorted(files)]


def test_a_hugging_face_parquet_file_gives_the_folder_rows(files, folder_rows, tmp_path):
    pytest.importorskip("datasets")
    from containerdata import hf_dataset

    hf_dataset(files).to_parquet(str(tmp_path / "train.parquet"))
    scan(tmp_path / "train.parquet", tmp_path / "store", jobs=1)
    got = read_store(tmp_path / "store")
    assert sorted(got["path"]) == sorted(f"{tmp_path}/train.parquet::{i}" for i in range(14))
    assert_same_rows(folder_rows, comparable(got))


def test_push_to_hub_style_parquet_shards_give_the_folder_rows(files, folder_rows, tmp_path):
    pytest.importorskip("datasets")
    from containerdata import hf_dataset

    ds = hf_dataset(files)
    data = tmp_path / "repo" / "data"
    data.mkdir(parents=True)
    for i in range(3):  # what push_to_hub writes: data/<split>-NNNNN-of-NNNNN.parquet
        shard = ds.shard(num_shards=3, index=i, contiguous=True)
        shard.to_parquet(str(data / f"train-{i:05d}-of-00003.parquet"))
    scan(tmp_path / "repo", tmp_path / "store", jobs=2)
    assert_same_rows(folder_rows, comparable(read_store(tmp_path / "store")))


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_tfrecord_files_give_the_folder_rows(files, folder_rows, tmp_path, compressed):
    from containerdata import imagenet_example, tfrecord_bytes

    names = classes(files)
    records = [
        imagenet_example(rel, data, names.index(rel.split("/", 1)[0]) + 1, rel.split("/", 1)[0])
        for rel, data in files.items()
    ]
    (tmp_path / "tf").mkdir()
    # Named as TensorFlow's ImageNet builder names them: no suffix, found by content.
    (tmp_path / "tf" / "train-00000-of-00002").write_bytes(tfrecord_bytes(records[:7], compressed))
    (tmp_path / "tf" / "train-00001-of-00002").write_bytes(tfrecord_bytes(records[7:], compressed))
    scan(tmp_path / "tf", tmp_path / "store", jobs=1)
    got = read_store(tmp_path / "store")
    assert f"{tmp_path}/tf/train-00001-of-00002::6" in set(got["path"])
    assert_same_rows(folder_rows, comparable(got))


@pytest.mark.parametrize("compression", [None, "gz", "zstd"])
def test_an_mds_dataset_gives_the_folder_rows(files, folder_rows, tmp_path, compression):
    from containerdata import write_mds

    if compression == "zstd":
        pytest.importorskip("zstandard")
    samples = [
        {"image": data, "label": rel.split("/", 1)[0], "filename": rel}
        for rel, data in files.items()
    ]
    columns = {"image": "bytes", "label": "str", "filename": "str"}
    write_mds(tmp_path / "mds", samples, columns, compression=compression)
    scan(tmp_path / "mds", tmp_path / "store", jobs=1)
    got = read_store(tmp_path / "store")
    assert sorted(got["path"]) == sorted(f"{tmp_path}/mds::{i}" for i in range(14))
    assert_same_rows(folder_rows, comparable(got))


def test_an_lmdb_gives_the_folder_rows(files, folder_rows, tmp_path):
    pytest.importorskip("lmdb")
    from containerdata import write_lmdb

    write_lmdb(tmp_path / "train.lmdb", {rel.encode(): data for rel, data in files.items()})
    scan(tmp_path / "train.lmdb", tmp_path / "store", jobs=1)
    got = read_store(tmp_path / "store")
    assert f"{tmp_path}/train.lmdb::a/gray.jpg" in set(got["path"])
    assert_same_rows(folder_rows, comparable(got))
