"""Tar shards: member rows and paths, shard-level incremental rescans, broken shards."""

from __future__ import annotations

import io
import tarfile

import pytest
from PIL import Image

from jpegaudit.api import read_store, scan
from jpegaudit.store.scan_store import ScanStore


def jpeg(quality=75, size=(32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, 90).save(out, "JPEG", quality=quality)
    return out.getvalue()


def write_tar(path, members: dict[str, bytes], mtime=1_700_000_000) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), mtime
            tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def shards(tmp_path):
    root = tmp_path / "webdataset" / "train"
    root.mkdir(parents=True)
    write_tar(root / "000.tar", {"s0/a.jpg": jpeg(90), "s0/a.json": b"{}", "s1/b.jpg": jpeg(40)})
    write_tar(root / "001.tar", {"s2/c.jpg": jpeg(60), "s3/d.jpg": jpeg(70)})
    return root


def paths(store):
    return sorted(read_store(store)["path"])


def test_every_member_gets_a_row_named_shard_then_member(shards, tmp_path):
    scan(shards, tmp_path / "store", jobs=1)
    assert paths(tmp_path / "store") == [
        f"{shards}/000.tar::s0/a.jpg",
        f"{shards}/000.tar::s0/a.json",
        f"{shards}/000.tar::s1/b.jpg",
        f"{shards}/001.tar::s2/c.jpg",
        f"{shards}/001.tar::s3/d.jpg",
    ]


def test_member_rows_carry_content_split_and_member_metadata(shards, tmp_path):
    scan(shards, tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store").set_index("path")
    row = df.loc[f"{shards}/000.tar::s1/b.jpg"]
    assert (row["quality_luma"], row["split"], row["root"]) == (40, "train", str(shards))
    assert (row["entry_type"], row["bytes"]) == ("file", len(jpeg(40)))
    assert row["mtime_ns"] == 1_700_000_000 * 10**9
    assert df.loc[f"{shards}/000.tar::s0/a.json", "error"] == "not a JPEG: text"


def test_a_tar_given_directly_takes_its_folders_name_as_split(shards, tmp_path):
    scan(shards / "001.tar", tmp_path / "store", jobs=1)
    assert set(read_store(tmp_path / "store")["split"]) == {"train"}


def test_each_shard_is_one_part(shards, tmp_path):
    scan(shards, tmp_path / "store", jobs=2)
    assert len(ScanStore(tmp_path / "store").part_files()) == 2


def test_rescan_skips_unchanged_shards_as_units(shards, tmp_path):
    scan(shards, tmp_path / "store", jobs=1)
    again = scan(shards, tmp_path / "store", jobs=1)
    assert (again.scanned, again.unchanged, again.units) == (0, 5, 0)
    assert len(read_store(tmp_path / "store")) == 5


def test_a_changed_shard_replaces_all_its_rows(shards, tmp_path):
    scan(shards, tmp_path / "store", jobs=1)
    write_tar(shards / "000.tar", {"s0/a.jpg": jpeg(20), "s9/new.jpg": jpeg(55)}, mtime=1)
    again = scan(shards, tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store").set_index("path")
    assert (again.scanned, again.unchanged, again.units) == (2, 2, 1)
    assert df.index.is_unique and len(df) == 4
    assert df.loc[f"{shards}/000.tar::s0/a.jpg", "quality_luma"] == 20
    assert f"{shards}/000.tar::s1/b.jpg" not in df.index


def test_a_deleted_shard_loses_its_rows(shards, tmp_path):
    scan(shards, tmp_path / "store", jobs=1)
    (shards / "000.tar").unlink()
    again = scan(shards, tmp_path / "store", jobs=1)
    assert again.removed == 3
    assert len(read_store(tmp_path / "store")) == 2


@pytest.mark.parametrize("cut", [2000, 1000], ids=["in-a-header", "in-member-data"])
def test_a_cut_shard_keeps_the_members_before_the_cut_and_says_so(shards, tmp_path, cut):
    data = (shards / "000.tar").read_bytes()
    (shards / "000.tar").write_bytes(data[:cut])  # 2000: the second header; 1000: the first data
    scan(shards / "000.tar", tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store").set_index("path")
    first = df.loc[f"{shards}/000.tar::s0/a.jpg"]
    assert first["quality_luma"] == 90 and bool(first["truncated"]) is (cut == 1000)
    shard = df.loc[f"{shards}/000.tar"]
    assert shard["entry_type"] == "shard" and shard["error"].startswith("tar: ")


def test_garbage_named_tar_gets_one_row_saying_so(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.tar").write_bytes(b"this is not a tar archive at all" * 40)
    scan(tmp_path / "d", tmp_path / "store", jobs=1)
    row = read_store(tmp_path / "store").iloc[0]
    assert row["path"].endswith("x.tar") and row["error"].startswith("not a readable tar")


def test_no_shards_treats_a_tar_as_a_plain_file(shards, tmp_path):
    scan(shards, tmp_path / "store", jobs=1, shards=False)
    df = read_store(tmp_path / "store")
    assert sorted(df["path"]) == [f"{shards}/000.tar", f"{shards}/001.tar"]
    assert set(df["error"]) == {"not a JPEG: unknown"}


def test_switching_shards_on_replaces_the_plain_row_with_member_rows(shards, tmp_path):
    scan(shards, tmp_path / "store", jobs=1, shards=False)
    scan(shards, tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store")
    assert len(df) == 5 and all("::" in p for p in df["path"])


def test_links_and_directories_in_a_tar(tmp_path):
    with tarfile.open(tmp_path / "x.tar", "w") as tar:
        d = tarfile.TarInfo("dir")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        data = jpeg()
        f = tarfile.TarInfo("dir/a.jpg")
        f.size = len(data)
        tar.addfile(f, io.BytesIO(data))
        link = tarfile.TarInfo("dir/b.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "a.jpg"
        tar.addfile(link)
    scan(tmp_path / "x.tar", tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store").set_index("path")
    assert len(df) == 2  # the directory member gets no row, as a folder does not
    link_row = df.loc[f"{tmp_path}/x.tar::dir/b.jpg"]
    assert link_row["entry_type"] == "link" and "not read" in link_row["error"]


def test_undecodable_member_names_are_escaped(tmp_path):
    data = jpeg()
    with tarfile.open(tmp_path / "x.tar", "w", format=tarfile.GNU_FORMAT, encoding="latin-1") as t:
        info = tarfile.TarInfo("caf\xe9.jpg")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    scan(tmp_path / "x.tar", tmp_path / "store", jobs=1)
    assert paths(tmp_path / "store") == [f"{tmp_path}/x.tar::caf\\xe9.jpg"]
