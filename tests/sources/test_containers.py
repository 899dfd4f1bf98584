"""What every container kind shares with tar and zip shards: a unit with a version, skipped on a
rescan while unchanged (a directory's version from its files), read again when changed or when
the columns asked for change; --no-shards; remote files found by content, MDS in S3."""

from __future__ import annotations

import os
import sys

import pytest
from click.testing import CliRunner
from containerdata import example, imagenet_example, tfrecord_bytes, write_lmdb, write_mds
from sourcedata import CountingS3Server, noise_jpeg

from jpegaudit.api import read_store, scan
from jpegaudit.cli import main

JPEGS = [noise_jpeg((40, 30), 60 + i, seed=i) for i in range(4)]


def mds_dataset(path):
    samples = [{"image": j, "label": f"c{i % 2}"} for i, j in enumerate(JPEGS)]
    return write_mds(path, samples, {"image": "jpeg", "label": "str"}, samples_per_shard=2)


def test_an_unchanged_directory_container_is_skipped_and_a_changed_one_read_again(tmp_path):
    data = tmp_path / "data"
    mds = mds_dataset(data / "mds")
    first = scan(data, tmp_path / "store", jobs=1)
    assert first.scanned == 4
    again = scan(data, tmp_path / "store", jobs=1)
    assert (again.scanned, again.unchanged) == (0, 4)
    shard = mds / "shard.00001.mds"
    st = shard.stat()
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    changed = scan(data, tmp_path / "store", jobs=1)
    assert changed.scanned == 4
    assert len(read_store(tmp_path / "store")) == 4


def test_lmdb_lock_file_changes_do_not_make_it_changed(tmp_path):
    pytest.importorskip("lmdb")
    db = write_lmdb(tmp_path / "data" / "db", {b"n1/a.jpg": JPEGS[0], b"n2/b.jpg": JPEGS[1]})
    scan(tmp_path / "data", tmp_path / "store", jobs=1)
    (db / "lock.mdb").write_bytes(b"\0" * 8192)  # what a reader with locking does
    again = scan(tmp_path / "data", tmp_path / "store", jobs=1)
    assert (again.scanned, again.unchanged) == (0, 2)
    df = read_store(tmp_path / "store").set_index("path")
    assert df.loc[f"{db}::n1/a.jpg", "label"] == "n1"  # the class folder inside the key


def test_choosing_another_column_reads_the_container_again(tmp_path):
    records = [
        example({"jpg": j, "thumb": JPEGS[0], "cls": i, "name": f"x{i}.jpg"})
        for i, j in enumerate(JPEGS)
    ]
    path = tmp_path / "a.tfrecord"
    path.write_bytes(tfrecord_bytes(records))
    scan(path, tmp_path / "store", jobs=1, label_column="cls")
    df = read_store(tmp_path / "store")
    assert list(df["quality_luma"]) == [60, 61, 62, 63] and list(df["label"]) == list("0123")
    again = scan(path, tmp_path / "store", jobs=1, column="thumb", label_column="cls")
    assert again.scanned == 4
    assert list(read_store(tmp_path / "store")["quality_luma"]) == [60] * 4


def test_column_options_on_the_command_line(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    table = pa.table({"a": JPEGS, "b": JPEGS[::-1], "y": ["p", "q", "r", "s"]})
    pq.write_table(table, tmp_path / "t.parquet")
    args = ["scan", str(tmp_path / "t.parquet"), "--store", str(tmp_path / "store"), "-j", "1"]
    result = CliRunner().invoke(main, [*args, "--column", "b", "--label-column", "y"])
    assert result.exit_code == 0, result.output
    df = read_store(tmp_path / "store")
    assert list(df["quality_luma"]) == [63, 62, 61, 60] and list(df["label"]) == list("pqrs")
    missing = CliRunner().invoke(main, [*args, "--column", "nope"])
    assert missing.exit_code == 0
    error = read_store(tmp_path / "store")["error"].iloc[0]
    assert error.startswith("parquet: no binary or image-struct column 'nope' (columns: a, b, y)")


def test_without_shards_containers_are_plain_files(tmp_path):
    data = tmp_path / "data"
    mds_dataset(data / "mds")
    (data / "train-00000-of-00001").write_bytes(tfrecord_bytes([example({"image/encoded": b"x"})]))
    scan(data, tmp_path / "store", jobs=1, shards=False)
    df = read_store(tmp_path / "store")
    assert sorted(p.rsplit("/", 1)[1] for p in df["path"]) == [
        "index.json", "shard.00000.mds", "shard.00001.mds", "train-00000-of-00001",
    ]  # fmt: skip


def test_a_file_without_extension_that_is_not_a_tfrecord_is_a_file(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "README").write_text("not a record\n" * 10)
    (tmp_path / "data" / "LICENSE").write_bytes(b"\0" * 100)
    scan(tmp_path / "data", tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store")
    assert sorted(df["error"]) == ["not a JPEG: text", "not a JPEG: unknown"]


@pytest.fixture(scope="module")
def s3():
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    server = CountingS3Server().start()
    yield server
    server.stop()


def test_tfrecords_in_s3_are_found_by_content_and_streamed(s3, tmp_path):
    records = [imagenet_example(f"n0{i}/{i}.JPEG", j, i, f"n0{i}") for i, j in enumerate(JPEGS)]
    s3.upload("tfr", {"train/train-00000-of-00001": tfrecord_bytes(records, compress=True)})
    scan("s3://tfr/train", tmp_path / "store", jobs=1, storage_options=s3.storage_options)
    df = read_store(tmp_path / "store").set_index("path")
    assert list(df.index) == [f"s3://tfr/train/train-00000-of-00001::{i}" for i in range(4)]
    assert list(df["label"]) == ["n00", "n01", "n02", "n03"]
    assert list(df["entry_name"]) == [f"n0{i}/{i}.JPEG" for i in range(4)]


def test_an_mds_dataset_in_s3_is_read_and_an_lmdb_there_is_listed_as_files(s3, tmp_path):
    pytest.importorskip("lmdb")
    mds = mds_dataset(tmp_path / "mds")
    db = write_lmdb(tmp_path / "db", {b"a.jpg": JPEGS[0]})
    objects = {f"ds/mds/{p.name}": p.read_bytes() for p in mds.iterdir()}
    objects.update({f"ds/db/{p.name}": p.read_bytes() for p in db.iterdir()})
    s3.upload("mdsb", objects)
    scan("s3://mdsb/ds", tmp_path / "store", jobs=1, storage_options=s3.storage_options)
    df = read_store(tmp_path / "store").set_index("path")
    samples = [f"s3://mdsb/ds/mds::{i}" for i in range(4)]
    assert df.loc[samples, "quality_luma"].tolist() == [60, 61, 62, 63]
    assert df.loc[samples, "label"].tolist() == ["c0", "c1", "c0", "c1"]
    assert {p for p in df.index if p.startswith("s3://mdsb/ds/db/")} == {
        "s3://mdsb/ds/db/data.mdb",
        "s3://mdsb/ds/db/lock.mdb",
    }
    again = scan("s3://mdsb/ds", tmp_path / "store", jobs=1, storage_options=s3.storage_options)
    assert again.scanned == 0  # unchanged: the same names, sizes and ETags


def test_the_planner_opens_only_names_that_may_be_records(tmp_path, monkeypatch):
    import jpegaudit.scanner.plan as plan

    data = tmp_path / "data"
    data.mkdir()
    for name in ("a.jpg", "a.json", "a.txt", "README", "x.tfrecord-00000-of-00002"):
        (data / name).write_bytes(b"{}" * 20)
    opened = []
    real_open = os.open

    def recording_open(path, *args):
        if sys._getframe(1).f_code.co_filename == plan.__file__:  # the planner's opens only
            opened.append(path)
        return real_open(path, *args)

    monkeypatch.setattr(os, "open", recording_open)
    scan(data, tmp_path / "store", jobs=1)
    assert sorted(os.path.basename(p) for p in opened) == ["README", "x.tfrecord-00000-of-00002"]


def test_a_directory_format_claims_only_folders_holding_one_of_its_claim_names():
    """The walkers ask a format about a folder only when it holds one of the format's
    claim_names (sources.container.ContainerFormat): without one, no format says yes."""
    from jpegaudit.sources.registry import CONTAINER_FORMATS, directory_claim_names

    def read_file(name: str, limit: int) -> bytes:
        return b'{"shards": [{"format": "mds"}]}'  # what an MDS index would say

    directories = [f for f in CONTAINER_FORMATS if f.claims_directory is not None]
    assert directories and all(f.claim_names for f in directories)
    every = frozenset().union(*(f.claim_names for f in directories))
    assert directory_claim_names() == every
    names = {"a.jpg", "shard.00000.mds", "lock.mdb", "INDEX.JSON", "Data.mdb", "index.json.bak"}
    for f in directories:
        assert f.claims_directory(frozenset(names), read_file) is False, f.kind
        assert f.claims_directory(frozenset(names | f.claim_names), read_file), f.kind
