"""`--no-tail` (`ReadLimits(read_tail=False)`): the file's end is not read, `truncated` and
`trailing_bytes` are unknown (null) and `tail_checked` says so; a later scan that wants the
tail reads exactly those rows again. Object-store request counts are in test_s3_requests.py."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from sourcedata import noise_jpeg, tar_bytes

from jpegaudit.api import ReadLimits, read_store, scan
from jpegaudit.audit import audit_bytes
from jpegaudit.cli import main
from jpegaudit.schema import empty_row

NO_TAIL = ReadLimits(read_tail=False)


def audit(data: bytes, limits: ReadLimits) -> tuple[dict, list[tuple[int, int]]]:
    reads: list[tuple[int, int]] = []

    def read_at(offset: int, n: int) -> bytes:
        reads.append((offset, n))
        return data[offset : offset + n]

    row = empty_row()
    row["ext"] = "jpg"
    return audit_bytes(read_at, len(data), row, limits), reads


@pytest.fixture(scope="module")
def big_jpeg() -> bytes:
    data = noise_jpeg((500, 375), 90, seed=3)
    assert len(data) > 2 * ReadLimits().head_bytes
    return data


@pytest.mark.parametrize("variant", ["whole", "cut", "trailing"])
def test_without_the_tail_only_the_head_is_read_and_the_end_is_unknown(big_jpeg, variant):
    data = {"whole": big_jpeg, "cut": big_jpeg[:-100], "trailing": big_jpeg + b"junk"}[variant]
    for _ in range(2):  # a header-cache miss, then a hit
        row, reads = audit(data, NO_TAIL)
        assert reads == [(0, NO_TAIL.head_bytes)]
        assert row["tail_checked"] is False
        assert row["truncated"] is None and row["trailing_bytes"] is None
        assert row["quality_luma"] == 90 and row["read_bytes"] == NO_TAIL.head_bytes


@pytest.mark.parametrize(
    ("variant", "truncated", "trailing"),
    [("whole", False, 0), ("cut", True, None), ("trailing", False, 4)],
)
def test_with_the_tail_the_end_is_checked(big_jpeg, variant, truncated, trailing):
    data = {"whole": big_jpeg, "cut": big_jpeg[:-100], "trailing": big_jpeg + b"junk"}[variant]
    for _ in range(2):
        row, reads = audit(data, ReadLimits())
        # The 64-byte tail (widened step by step when no EOI is there).
        assert reads[1] == (len(data) - 64, 64) and len(reads) == (5 if truncated else 2)
        assert row["tail_checked"] is True
        assert (row["truncated"], row["trailing_bytes"]) == (truncated, trailing)


def test_a_file_held_whole_in_the_head_is_still_checked():
    small = noise_jpeg((32, 24), 75)
    assert len(small) < NO_TAIL.head_bytes
    row, reads = audit(small[:-10], NO_TAIL)
    assert len(reads) == 1 and row["tail_checked"] is True and row["truncated"] is True


def test_a_header_cut_short_is_truncated_without_the_tail(big_jpeg):
    row, _ = audit(big_jpeg[:300], NO_TAIL)
    assert row["truncated"] is True and row["tail_checked"] is True


def test_not_a_jpeg_has_no_tail_check():
    row, _ = audit(b"\x89PNG\r\n\x1a\n" + bytes(100), NO_TAIL)
    assert row["tail_checked"] is None


def test_a_tail_scan_rereads_rows_read_without_the_tail(big_jpeg, tmp_path):
    root = tmp_path / "train"
    root.mkdir()
    for i in range(3):
        (root / f"{i}.jpg").write_bytes(big_jpeg[: len(big_jpeg) - 100 * i])
    store = tmp_path / "store"
    first = scan(root, store, jobs=1, limits=NO_TAIL)
    assert first.scanned == 3
    assert read_store(store).truncated.isna().all()
    again_without = scan(root, store, jobs=1, limits=NO_TAIL)  # nothing wanted that is missing
    assert (again_without.scanned, again_without.unchanged) == (0, 3)
    with_tail = scan(root, store, jobs=1)
    assert (with_tail.scanned, with_tail.unchanged) == (3, 0)
    df = read_store(store).set_index("path")
    assert len(df) == 3 and df.tail_checked.all()
    assert df.truncated.to_dict() == {os.path.join(str(root), f"{i}.jpg"): i > 0 for i in range(3)}
    # Rows that have their tail stay unchanged for a later --no-tail scan.
    assert scan(root, store, jobs=1, limits=NO_TAIL).unchanged == 3


def test_a_tail_scan_rereads_a_shard_read_without_the_tail(big_jpeg, tmp_path):
    shard = tmp_path / "train" / "000.tar"
    shard.parent.mkdir()
    shard.write_bytes(tar_bytes({"a.jpg": big_jpeg, "b.jpg": big_jpeg[:-50]}))
    store = tmp_path / "store"
    scan(shard.parent, store, jobs=1, limits=NO_TAIL)
    assert read_store(store).truncated.isna().all()
    assert scan(shard.parent, store, jobs=1, limits=NO_TAIL).unchanged == 2
    with_tail = scan(shard.parent, store, jobs=1)
    assert with_tail.scanned == 2
    df = read_store(store).set_index("path")
    assert len(df) == 2 and df.tail_checked.all()
    assert df.truncated.to_dict() == {f"{shard}::a.jpg": False, f"{shard}::b.jpg": True}


def test_cli_no_tail(big_jpeg, tmp_path):
    root = tmp_path / "train"
    root.mkdir()
    (root / "a.jpg").write_bytes(big_jpeg)
    store = tmp_path / "store"
    result = CliRunner().invoke(main, ["scan", str(root), "--store", str(store), "--no-tail"])
    assert result.exit_code == 0, result.output
    row = read_store(store).iloc[0]
    assert row.tail_checked is False or row.tail_checked == False  # noqa: E712 (numpy bool)
    assert row.read_bytes == NO_TAIL.head_bytes
