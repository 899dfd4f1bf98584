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
