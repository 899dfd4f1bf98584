"""Zip files: stored members read by range, compressed ones through the stream, problems as rows."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import zipfile

import pytest
from PIL import Image
from sourcedata import noise_jpeg

from jpegaudit.api import read_store, scan
from jpegaudit.audit import DEFAULT_LIMITS


def jpeg(quality=75, size=(48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, 120).save(out, "JPEG", quality=quality)
    return out.getvalue()


def write_zip(path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> None:
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(zipfile.ZipInfo(name, (2024, 5, 6, 7, 8, 10)), data, compression)


def rows(store):
    return read_store(store).set_index("path")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA], ids=["bzip2", "lzma"])
def test_other_compression_methods_are_read_through_the_stream(tmp_path, method):
    write_zip(tmp_path / "x.zip", {"a.jpg": jpeg(33)}, method)
    scan(tmp_path / "x.zip", tmp_path / "store", jobs=1)
    row = rows(tmp_path / "store").loc[f"{tmp_path}/x.zip::a.jpg"]
    assert (row["quality_luma"], row["truncated"], row["trailing_bytes"]) == (33, False, 0)


def test_member_mtime_is_the_zip_timestamp_read_as_utc(tmp_path):
    write_zip(tmp_path / "x.zip", {"a.jpg": jpeg()})
    scan(tmp_path / "x.zip", tmp_path / "store", jobs=1)
    # 2024-05-06 07:08:10 UTC
    assert rows(tmp_path / "store")["mtime_ns"].iloc[0] == 1714979290 * 10**9


@pytest.mark.skipif(shutil.which("zip") is None, reason="the zip tool is not installed")
@pytest.mark.parametrize("level", ["-0", "-6"], ids=["stored", "deflated"])
def test_zip_tool_archives_with_extra_fields_are_read(tmp_path, level):
    # Info-ZIP writes local extra fields (UT, ux) that differ from the central directory's:
    # a stored member's data must be found from the local header.
    (tmp_path / "in" / "sub").mkdir(parents=True)
    (tmp_path / "in" / "sub" / "a.jpg").write_bytes(jpeg(61))
    subprocess.run(
        ["zip", "-q", "-r", level, str(tmp_path / "x.zip"), "sub"], cwd=tmp_path / "in", check=True
    )
    scan(tmp_path / "x.zip", tmp_path / "store", jobs=1)
    df = rows(tmp_path / "store")
    assert list(df.index) == [f"{tmp_path}/x.zip::sub/a.jpg"]  # the directory gets no row
    assert df["quality_luma"].iloc[0] == 61 and df["error"].isna().all()


def test_encrypted_member_gets_a_row_saying_so(tmp_path):
    write_zip(tmp_path / "x.zip", {"a.jpg": jpeg(), "b.jpg": jpeg(50)})
    data = bytearray((tmp_path / "x.zip").read_bytes())
    central = data.find(b"PK\x01\x02")  # first member's central record: set "encrypted"
    data[central + 8] |= 0x1
    (tmp_path / "x.zip").write_bytes(bytes(data))
    scan(tmp_path / "x.zip", tmp_path / "store", jobs=1)
    df = rows(tmp_path / "store")
    assert df.loc[f"{tmp_path}/x.zip::a.jpg", "error"] == "encrypted zip member: not read"
    assert df.loc[f"{tmp_path}/x.zip::b.jpg", "quality_luma"] == 50


def test_corrupt_compressed_member_is_a_row_error_and_others_are_read(tmp_path):
    first, second = jpeg(80, (200, 150)), jpeg(50)
    write_zip(tmp_path / "x.zip", {"a.jpg": first, "b.jpg": second}, zipfile.ZIP_DEFLATED)
    data = bytearray((tmp_path / "x.zip").read_bytes())
    for i in range(60, 200):  # inside a.jpg's deflate stream
        data[i] ^= 0x5A
    (tmp_path / "x.zip").write_bytes(bytes(data))
    scan(tmp_path / "x.zip", tmp_path / "store", jobs=1)
    df = rows(tmp_path / "store")
    assert df.loc[f"{tmp_path}/x.zip::a.jpg", "error"].startswith("zip: ")
    assert df.loc[f"{tmp_path}/x.zip::b.jpg", "quality_luma"] == 50


def test_garbage_named_zip_gets_one_row_saying_so(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"PK but not really" * 10)
    scan(tmp_path / "x.zip", tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store")
    assert len(df) == 1 and df["error"].iloc[0].startswith("not a readable zip")


def test_stored_member_is_read_by_range_head_and_tail_only(tmp_path, monkeypatch):
    big = noise_jpeg((1000, 750), 90)
    write_zip(tmp_path / "x.zip", {"big.jpg": big})
    real_pread, preads = os.pread, []

    def counting_pread(fd, n, offset):
        data = real_pread(fd, n, offset)
        preads.append(len(data))
        return data

    monkeypatch.setattr(os, "pread", counting_pread)
    scan(tmp_path / "x.zip", tmp_path / "store", jobs=1)
    # The 30-byte local header, the head and the 64-byte tail: not the 100+ KB member.
    assert preads == [30, DEFAULT_LIMITS.head_bytes, 64] and len(big) > 100_000
