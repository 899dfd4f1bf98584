"""Hostile containers: a zip bomb, a truncated Parquet file, a corrupt Parquet footer and page,
a TFRecord with a bad CRC and a length that lies, a gzip TFRecord bomb, an MDS index pointing
past its shard, an LMDB that is not one. Each scan finishes; every readable image still gets
its row; each problem is one row with a specific error; none takes more than a few seconds
(the bounds are generous: the point is that none of them inflates gigabytes)."""

from __future__ import annotations

import json
import struct
import time

import pandas as pd
import pytest
from bombs import gzip_of_zeros, zip64_bomb
from containerdata import example, frame, hf_dataset, write_lmdb, write_mds
from sourcedata import noise_jpeg

from jpegaudit.api import read_store, scan

JPEGS = {f"n0{i % 2}/img{i}.jpg": noise_jpeg((48, 32), 70 + i, seed=i) for i in range(6)}
SECONDS = 10


def timed_scan(target, store, **kw) -> tuple[pd.DataFrame, float]:
    started = time.perf_counter()
    scan(target, store, jobs=1, **kw)
    elapsed = time.perf_counter() - started
    return read_store(store).set_index("path"), elapsed


def errors(df: pd.DataFrame) -> dict[str, str]:
    return {p: e for p, e in df["error"].items() if isinstance(e, str)}


def test_a_zip_bomb_costs_its_head_not_4_gib_of_inflate(tmp_path):
    jpeg = noise_jpeg((64, 48), 80)
    sos = jpeg.index(b"\xff\xda")
    # A real JPEG header and the start of its scan, then 4 GiB of zeros: no EOI anywhere.
    (tmp_path / "bomb.zip").write_bytes(zip64_bomb("bomb.jpg", jpeg[: sos + 200]))
    assert (tmp_path / "bomb.zip").stat().st_size < 4_400_000
    df, elapsed = timed_scan(tmp_path / "bomb.zip", tmp_path / "store")
    row = df.loc[f"{tmp_path}/bomb.zip::bomb.jpg"]
    assert row["bytes"] == sos + 200 + 4 * 1024**3
    assert (row["format"], row["quality_luma"], row["tail_checked"]) == ("jpeg", 80, False)
    assert pd.isna(row["truncated"]) and pd.isna(row["trailing_bytes"])
    size = sos + 200 + 4 * 1024**3
    assert (
        f"tail not checked: compressed member of {size} bytes, above the 32 MiB" in row["warnings"]
    )
    assert row["read_bytes"] <= 16384
    assert elapsed < SECONDS


def test_a_small_deflated_member_still_has_its_tail_checked(tmp_path):
    jpeg = noise_jpeg((64, 48), 80)
    (tmp_path / "ok.zip").write_bytes(zip64_bomb("cut.jpg", jpeg[:-2], zeros=1 << 20))
    df, _ = timed_scan(tmp_path / "ok.zip", tmp_path / "store")
    row = df.loc[f"{tmp_path}/ok.zip::cut.jpg"]
    assert (row["tail_checked"], row["truncated"]) == (True, True)


@pytest.fixture
def parquet_bytes(tmp_path) -> bytes:
    pytest.importorskip("datasets")
    path = tmp_path / "whole.parquet"
    hf_dataset(JPEGS).to_parquet(str(path))
    return path.read_bytes()


def test_a_truncated_parquet_file_is_one_row_and_its_neighbours_are_read(tmp_path, parquet_bytes):
    data = tmp_path / "data"
    data.mkdir()
    (data / "cut.parquet").write_bytes(parquet_bytes[: len(parquet_bytes) // 2])
    (data / "good.parquet").write_bytes(parquet_bytes)
    df, elapsed = timed_scan(data, tmp_path / "store")
    assert errors(df) == {
        f"{data}/cut.parquet": "not a readable Parquet file: Parquet magic bytes not found in "
        "footer. Either the file is corrupted or this is not a parquet file."
    }
    assert (
        df.loc[df.index.str.startswith(f"{data}/good.parquet::"), "quality_luma"].notna().sum() == 6
    )
    assert elapsed < SECONDS


def test_a_corrupt_parquet_footer_is_one_row(tmp_path, parquet_bytes):
    footer_length = struct.unpack("<I", parquet_bytes[-8:-4])[0]
    data = bytearray(parquet_bytes)
    start = len(data) - 8 - footer_length
    data[start : start + 64] = b"\xff" * 64  # the thrift metadata
    (tmp_path / "bad.parquet").write_bytes(bytes(data))
    df, elapsed = timed_scan(tmp_path / "bad.parquet", tmp_path / "store")
    assert list(df.index) == [f"{tmp_path}/bad.parquet"]
    assert df["entry_type"].iloc[0] == "shard"
    assert df["error"].iloc[0].startswith("not a readable Parquet file: ")
    assert elapsed < SECONDS


def test_a_corrupt_parquet_page_costs_its_row_group_only(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    images = list(JPEGS.values())
    table = pa.table({"image": pa.array(images, pa.binary()), "label": list(range(6))})
    path = tmp_path / "groups.parquet"
    pq.write_table(table, path, row_group_size=3, compression="snappy")
    column = pq.ParquetFile(path).metadata.row_group(0).column(0)
    data = bytearray(path.read_bytes())
    start = column.data_page_offset  # the page's header: a Thrift struct
    data[start : start + 16] = b"\xff" * 16
    path.write_bytes(bytes(data))
    df, elapsed = timed_scan(path, tmp_path / "store")
    problem = df.loc[f"{path}::row-group-0"]
    assert problem["entry_type"] == "shard"
    assert problem["error"].startswith("parquet: row group 0 (rows 0-2): cannot read it: ")
    readable = [f"{path}::{i}" for i in (3, 4, 5)]
    assert df.loc[readable, "format"].tolist() == ["jpeg"] * 3
    assert df.loc[readable, "label"].tolist() == ["3", "4", "5"]
    assert elapsed < SECONDS


def test_a_tfrecord_with_a_bad_crc_and_a_lying_length_keeps_every_other_record(tmp_path):
    records = [example({"image/encoded": data, "image/class/label": i}) for i, data in
               enumerate(JPEGS.values())]  # fmt: skip
    frames = [bytearray(frame(r)) for r in records]
    frames[1][40] ^= 0xFF  # a byte of record 1's data: its data CRC fails
    frames[3][0:8] = struct.pack("<Q", len(records[3]) + 5000)  # record 3's length lies
    (tmp_path / "train.tfrecord").write_bytes(b"".join(frames))
    df, elapsed = timed_scan(tmp_path / "train.tfrecord", tmp_path / "store")
    base = f"{tmp_path}/train.tfrecord::"
    assert errors(df) == {
        f"{base}1": f"tfrecord: record 1 at byte {len(frames[0])}: data CRC mismatch "
        "(a corrupt record): not read",
        f"{base}3": f"tfrecord: record 3 at byte {sum(map(len, frames[:3]))}: length CRC "
        f"mismatch (a corrupt or lying length); skipped {len(frames[3])} bytes to the next "
        "valid record",
    }
    assert df.loc[[f"{base}{i}" for i in (0, 2, 4, 5)], "label"].tolist() == ["0", "2", "4", "5"]
    assert df.loc[[f"{base}{i}" for i in (0, 2, 4, 5)], "format"].tolist() == ["jpeg"] * 4
    assert elapsed < SECONDS


def test_a_tfrecord_cut_short_keeps_the_records_before_the_cut(tmp_path):
    data = b"".join(frame(example({"image/encoded": j})) for j in JPEGS.values())
    (tmp_path / "cut.tfrecord").write_bytes(data[: len(data) - 100])
    df, _ = timed_scan(tmp_path / "cut.tfrecord", tmp_path / "store")
    problem = errors(df)
    assert list(problem) == [f"{tmp_path}/cut.tfrecord::5"]
    assert "the file ends" in problem[f"{tmp_path}/cut.tfrecord::5"]
    assert df["format"].eq("jpeg").sum() == 5


def test_a_gzip_tfrecord_bomb_stops_at_the_decompression_cap(tmp_path):
    first = frame(example({"image/encoded": next(iter(JPEGS.values()))}))
    (tmp_path / "bomb.tfrecord.gz").write_bytes(gzip_of_zeros(first, 4 * 1024**3))
    df, elapsed = timed_scan(tmp_path / "bomb.tfrecord.gz", tmp_path / "store")
    base = f"{tmp_path}/bomb.tfrecord.gz::"
    assert df.loc[f"{base}0", "format"] == "jpeg"
    error = df.loc[f"{base}1", "error"]
    assert error.startswith(f"tfrecord: record 1 at byte {len(first)}: gzip: decompressed ")
    assert "the cap for this stream (32x its compressed size + 64 MiB)" in error
    assert len(df) == 2
    assert elapsed < SECONDS


def test_an_mds_index_pointing_past_its_shard_costs_those_samples_only(tmp_path):
    samples = [{"image": data, "label": i} for i, data in enumerate(JPEGS.values())]
    mds = write_mds(tmp_path / "mds", samples, {"image": "jpeg", "label": "int"}, 3)
    shard = mds / "shard.00001.mds"
    shard.write_bytes(shard.read_bytes()[:-500])  # its last sample now ends past the file
    index = json.loads((mds / "index.json").read_text())
    index["shards"].append({**index["shards"][0], "raw_data": {"basename": "shard.00002.mds"}})
    index["shards"].append({**index["shards"][0], "raw_data": {"basename": "../../etc/passwd"}})
    (mds / "index.json").write_text(json.dumps(index))
    df, elapsed = timed_scan(mds, tmp_path / "store")
    got = errors(df)
    assert got.pop(f"{mds}::5").startswith(
        "mds: sample 5 in shard.00001.mds: its offsets point past the end of shard.00001.mds"
    )
    assert got == {
        f"{mds}::shard.00002.mds": "mds: shard file shard.00002.mds listed in index.json is "
        "missing",
        f"{mds}::../../etc/passwd": "mds: index.json entry for shard 3: shard file name "
        "'../../etc/passwd' leaves the dataset's directory",
    }
    assert df.loc[[f"{mds}::{i}" for i in range(5)], "label"].tolist() == list("01234")
    assert elapsed < SECONDS


def test_an_mds_index_that_is_not_one_is_walked_as_a_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "index.json").write_text(json.dumps({"pages": [1, 2]}))
    (tmp_path / "data" / "a.jpg").write_bytes(next(iter(JPEGS.values())))
    df, _ = timed_scan(tmp_path / "data", tmp_path / "store")
    assert sorted(df.index) == [f"{tmp_path}/data/a.jpg", f"{tmp_path}/data/index.json"]


def test_an_lmdb_that_is_not_an_lmdb_is_one_row(tmp_path):
    pytest.importorskip("lmdb")
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "data.mdb").write_bytes(b"not an lmdb at all " * 1000)
    df, elapsed = timed_scan(tmp_path / "db", tmp_path / "store")
    assert list(df.index) == [f"{tmp_path}/db"]
    assert df["error"].iloc[0].startswith("not a readable LMDB: ")
    assert "not an LMDB file" in df["error"].iloc[0]
    assert not (tmp_path / "db" / "lock.mdb").exists()  # opened without writing anything
    assert elapsed < SECONDS


def test_lmdb_values_that_are_pickles_or_records_are_row_errors(tmp_path):
    pytest.importorskip("lmdb")
    import pickle

    jpeg = next(iter(JPEGS.values()))
    items = {
        b"a.jpg": jpeg,
        b"b.pkl": pickle.dumps((jpeg, 3)),
        b"c.rec": b"\x08\x03\x10\xf4\x03\x18\xf4\x03" + jpeg,  # a Caffe Datum-like record
        b"__len__": b"3",
    }
    db = write_lmdb(tmp_path / "db", items)
    df, _ = timed_scan(db, tmp_path / "store")
    assert df.loc[f"{db}::a.jpg", "format"] == "jpeg"
    assert df.loc[f"{db}::b.pkl", "error"].startswith("lmdb: the value is a pickle")
    assert df.loc[f"{db}::c.rec", "error"].startswith(
        "lmdb: the value is not an image file (starts 08 03 10 f4 03 18 f4 03)"
    )
    assert df.loc[f"{db}::__len__", "error"] == "not a JPEG: text"
