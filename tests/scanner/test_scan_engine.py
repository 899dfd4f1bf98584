"""The scan engine and store: one row per entry, incremental rescans, deletions, locking."""

from __future__ import annotations

import io
import os
import socket

import pandas as pd
import pytest
from PIL import Image

from jpegaudit.api import ScanError, StoreError, read_store, scan
from jpegaudit.schema import COLUMN_NAMES
from jpegaudit.store.files import LOCK_FILE
from jpegaudit.store.scan_store import ScanStore


def jpeg_bytes(size=(32, 24), quality=75, subsampling="4:2:0", mode="RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, 90).save(out, "JPEG", quality=quality, subsampling=subsampling)
    return out.getvalue()


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "data" / "train"
    (root / "a").mkdir(parents=True)
    (root / "b").mkdir()
    (root / "a" / "one.jpg").write_bytes(jpeg_bytes(quality=90))
    (root / "a" / "two.JPEG").write_bytes(jpeg_bytes(quality=50, subsampling="4:4:4"))
    png = io.BytesIO()
    Image.new("RGB", (4, 4)).save(png, "PNG")
    (root / "b" / "fake.JPEG").write_bytes(png.getvalue())
    (root / "b" / "empty.jpg").write_bytes(b"")
    (root / "b" / "cut.jpg").write_bytes(jpeg_bytes()[:-300])
    return root


def test_scan_writes_one_row_per_file_with_every_column(dataset, tmp_path):
    result = scan(dataset, tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store")
    assert result.scanned == 5
    assert len(df) == 5 and df["path"].is_unique
    assert list(df.columns) == list(COLUMN_NAMES)
    assert set(df["split"]) == {"train"}


def test_plain_pandas_reads_the_store(dataset, tmp_path):
    scan(dataset, tmp_path / "store", jobs=1)
    df = pd.read_parquet(tmp_path / "store")
    assert len(df) == 5


def test_paths_are_as_reached_from_the_argument(dataset, tmp_path):
    scan(dataset, tmp_path / "store", jobs=1)
    paths = set(read_store(tmp_path / "store")["path"])
    assert os.path.join(str(dataset), "a", "one.jpg") in paths


def test_rows_report_content_and_problems(dataset, tmp_path):
    scan(dataset, tmp_path / "store", jobs=2)
    df = read_store(tmp_path / "store").set_index("path")
    one = df.loc[os.path.join(str(dataset), "a", "one.jpg")]
    assert (one["quality_luma"], one["subsampling"], one["truncated"]) == (90, "4:2:0", False)
    fake = df.loc[os.path.join(str(dataset), "b", "fake.JPEG")]
    assert fake["format"] == "png" and fake["ext_mismatch"] and fake["error"] == "not a JPEG: png"
    empty = df.loc[os.path.join(str(dataset), "b", "empty.jpg")]
    assert empty["format"] == "empty" and empty["error"] == "empty file"
    cut = df.loc[os.path.join(str(dataset), "b", "cut.jpg")]
    assert bool(cut["truncated"]) is True


def test_two_folders_give_two_splits_in_one_store(tmp_path):
    for split in ("train", "val"):
        (tmp_path / "ds" / split).mkdir(parents=True)
        (tmp_path / "ds" / split / "x.jpg").write_bytes(jpeg_bytes())
    scan([tmp_path / "ds" / "train", tmp_path / "ds" / "val"], tmp_path / "store", jobs=1)
    assert sorted(read_store(tmp_path / "store")["split"]) == ["train", "val"]


def test_split_option_overrides_folder_name(dataset, tmp_path):
    scan(dataset, tmp_path / "store", split="holdout", jobs=1)
    assert set(read_store(tmp_path / "store")["split"]) == {"holdout"}


def test_rescan_skips_unchanged_files(dataset, tmp_path):
    scan(dataset, tmp_path / "store", jobs=1)
    again = scan(dataset, tmp_path / "store", jobs=1)
    assert (again.scanned, again.unchanged) == (0, 5)
    assert len(read_store(tmp_path / "store")) == 5


def test_rescan_rereads_a_changed_file_and_keeps_one_row(dataset, tmp_path):
    scan(dataset, tmp_path / "store", jobs=1)
    target = dataset / "a" / "one.jpg"
    target.write_bytes(jpeg_bytes(quality=30, size=(40, 40)))
    again = scan(dataset, tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store").set_index("path")
    assert (again.scanned, again.unchanged) == (1, 4)
    assert len(df) == 5 and df.index.is_unique
    assert df.loc[str(target), "quality_luma"] == 30


def test_rescan_drops_rows_of_deleted_files(dataset, tmp_path):
    scan(dataset, tmp_path / "store", jobs=1)
    (dataset / "b" / "empty.jpg").unlink()
    again = scan(dataset, tmp_path / "store", jobs=1)
    assert again.removed == 1
    assert len(read_store(tmp_path / "store")) == 4


def test_rescan_of_one_split_keeps_the_other(tmp_path):
    for split in ("train", "val"):
        (tmp_path / "ds" / split).mkdir(parents=True)
        (tmp_path / "ds" / split / "x.jpg").write_bytes(jpeg_bytes())
    scan([tmp_path / "ds" / "train", tmp_path / "ds" / "val"], tmp_path / "store", jobs=1)
    (tmp_path / "ds" / "train" / "y.jpg").write_bytes(jpeg_bytes())
    scan(tmp_path / "ds" / "train", tmp_path / "store", jobs=1)
    assert sorted(read_store(tmp_path / "store")["split"]) == ["train", "train", "val"]


def test_many_batches_in_a_pool_give_every_row_once(tmp_path):
    root = tmp_path / "many"
    root.mkdir()
    data = jpeg_bytes()
    for i in range(230):
        (root / f"{i:04d}.jpg").write_bytes(data)
    result = scan(root, tmp_path / "store", jobs=2, batch_size=17)
    df = read_store(tmp_path / "store")
    assert result.scanned == 230 and len(df) == 230 and df["path"].is_unique
    assert len(ScanStore(tmp_path / "store").part_files()) == 14


def test_special_entries_get_a_row_and_are_not_opened(tmp_path):
    root = tmp_path / "odd"
    root.mkdir()
    os.mkfifo(root / "pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock.jpg"))
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    (root / "loop.jpg").symlink_to(root / "loop.jpg")
    (root / "dir.jpg").mkdir()
    (root / "dir.jpg" / "inner.jpg").write_bytes(jpeg_bytes())
    (root / "back").symlink_to(root)  # a directory loop: walked once
    try:
        scan(root, tmp_path / "store", jobs=1)
    finally:
        sock.close()
    df = read_store(tmp_path / "store").set_index("path")
    kinds = {
        os.path.basename(p): (t, e)
        for p, t, e in zip(df.index, df["entry_type"], df["error"], strict=True)
    }
    assert kinds["pipe.jpg"] == ("fifo", "fifo: not a regular file")
    assert kinds["sock.jpg"] == ("socket", "socket: not a regular file")
    assert kinds["dangling.jpg"][0] == "broken-symlink"
    assert kinds["loop.jpg"] == ("broken-symlink", "symlink loop")
    assert kinds["inner.jpg"][0] == "file"
    assert len(df) == 5


def test_character_device_gets_a_row(tmp_path):
    scan("/dev/null", tmp_path / "store", jobs=1)
    row = read_store(tmp_path / "store").iloc[0]
    assert row["entry_type"] == "char-device" and pd.isna(row["format"])


def test_undecodable_and_odd_file_names_are_kept(tmp_path):
    root = tmp_path / "names"
    root.mkdir()
    data = jpeg_bytes()
    for name in (b"caf\xe9.jpg", b"new\nline.jpg", b"tab\t.jpg", b"<script>&.jpg"):
        with open(os.path.join(os.fsencode(root), name), "wb") as f:
            f.write(data)
    scan(root, tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store")
    assert len(df) == 4 and df["error"].isna().all()
    assert any(p.endswith("caf\\xe9.jpg") for p in df["path"])


def test_a_second_writer_is_refused_while_the_store_is_locked(dataset, tmp_path):
    holder = ScanStore(tmp_path / "store")
    holder.open_for_writing()
    try:
        with pytest.raises(StoreError, match="being written by another scan"):
            scan(dataset, tmp_path / "store", jobs=1)
    finally:
        holder.close()
    assert (tmp_path / "store" / LOCK_FILE).exists()
    assert scan(dataset, tmp_path / "store", jobs=1).scanned == 5


def test_overlapping_paths_are_refused(dataset, tmp_path):
    with pytest.raises(ScanError, match="overlap"):
        scan([dataset, dataset / "a"], tmp_path / "store", jobs=1)


def test_leftover_pending_and_temporary_parts_are_never_read(dataset, tmp_path):
    scan(dataset, tmp_path / "store", jobs=1)
    stray = tmp_path / "store" / ".pending-part-x-000001.parquet"
    stray.write_bytes(b"garbage")
    assert len(pd.read_parquet(tmp_path / "store")) == 5
    scan(dataset, tmp_path / "store", jobs=1)
    assert not stray.exists()


def test_reading_a_missing_store_is_an_error(tmp_path):
    with pytest.raises(StoreError):
        read_store(tmp_path / "nope")


def test_a_store_inside_the_scanned_folder_is_not_scanned(dataset):
    store = dataset / "audit"
    scan(dataset, store, jobs=1)
    again = scan(dataset, store, jobs=1)
    df = read_store(store)
    assert len(df) == 5 and not df["path"].str.contains("audit").any()
    assert again.unchanged == 5


def test_walker_store_marker_is_the_store_metadata_file():
    from jpegaudit.scanner.walk import STORE_MARKER
    from jpegaudit.store.files import METADATA_FILE

    assert STORE_MARKER == METADATA_FILE


def test_read_store_reads_only_the_columns_asked_for(dataset, tmp_path):
    scan(dataset, tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store", columns=["path", "quality_luma"])
    assert list(df.columns) == ["path", "quality_luma"] and len(df) == 5
    with pytest.raises(StoreError, match="no column 'nope'"):
        read_store(tmp_path / "store", columns=["nope"])


# -- several small roots in one part -----------------------------------------------------------


@pytest.fixture
def small_roots(tmp_path):
    """Three folders of a few files each, with class folders (labels)."""
    roots = []
    for k, split in enumerate(("train", "val", "test")):
        root = tmp_path / "ds" / split
        for cls in ("cat", "dog"):
            (root / cls).mkdir(parents=True)
            for i in range(k + 2):
                (root / cls / f"{i}.jpg").write_bytes(jpeg_bytes(quality=40 + 10 * k + i))
        roots.append(root)
    return roots


def rows_by_path(store) -> pd.DataFrame:
    return read_store(store).drop(columns=["scanned_at"]).set_index("path").sort_index()


def test_small_roots_share_one_part_with_the_rows_each_would_have_alone(small_roots, tmp_path):
    scan(small_roots, tmp_path / "together", jobs=2)
    assert len(ScanStore(tmp_path / "together").part_files()) == 1
    for k, root in enumerate(small_roots):
        scan(root, tmp_path / f"alone{k}", jobs=2)
    alone = pd.concat([rows_by_path(tmp_path / f"alone{k}") for k in range(3)]).sort_index()
    together = rows_by_path(tmp_path / "together")
    pd.testing.assert_frame_equal(together, alone)
    assert sorted(set(zip(together["split"], together["label"], strict=True))) == [
        (s, c) for s in ("test", "train", "val") for c in ("cat", "dog")
    ]


def test_a_change_in_one_of_the_roots_of_a_shared_part_is_rescanned_alone(small_roots, tmp_path):
    store = tmp_path / "store"
    scan(small_roots, store, jobs=2)
    before = read_store(store).set_index("path")
    train, val, test = small_roots
    changed = [val / "dog" / "0.jpg", test / "dog" / "1.jpg"]  # one pending unit, two roots
    for path in changed:
        path.write_bytes(jpeg_bytes(quality=20, size=(40, 40)))
    (test / "cat" / "0.jpg").unlink()
    added = train / "dog" / "new.jpg"
    added.write_bytes(jpeg_bytes(quality=95))
    again = scan(small_roots, store, jobs=2)
    assert (again.scanned, again.removed, again.unchanged) == (3, 1, len(before) - 3)
    after = read_store(store).set_index("path")
    assert after.index.is_unique and len(after) == len(before)
    assert after.loc[[str(p) for p in changed], "quality_luma"].tolist() == [20, 20]
    assert after.loc[[str(p) for p in changed], "split"].tolist() == ["val", "test"]
    assert after.loc[str(added), ["split", "label"]].tolist() == ["train", "dog"]
    kept = before.index.difference([*map(str, changed), str(test / "cat" / "0.jpg")])
    pd.testing.assert_frame_equal(after.loc[kept], before.loc[kept])  # scanned_at included
    assert scan(small_roots, store, jobs=2).scanned == 0


def test_rescanning_one_root_of_a_shared_part_keeps_the_others_rows(small_roots, tmp_path):
    store = tmp_path / "store"
    scan(small_roots, store, jobs=2)
    before = read_store(store).set_index("path")
    train, val, test = small_roots
    (val / "cat" / "1.jpg").unlink()
    (train / "cat" / "0.jpg").unlink()  # not rescanned: its row stays
    again = scan(val, store, jobs=2)
    assert (again.scanned, again.removed) == (0, 1)
    after = read_store(store).set_index("path")
    assert sorted(after.index) == sorted(before.index.difference([str(val / "cat" / "1.jpg")]))
    pd.testing.assert_frame_equal(after, before.loc[after.index])
