"""`jpegaudit.scan_images`: images handed over in Python (a torch or Hugging Face `Dataset` in
a notebook) get the rows their files would get, with their labels."""

from __future__ import annotations

import pandas as pd
import pytest
from sourcedata import comparable, dataset_files, write_folder

import jpegaudit
from jpegaudit.api import read_store, scan


def test_scan_images_gives_the_rows_of_the_same_files_scanned_as_a_folder(tmp_path):
    files = dataset_files()
    write_folder(tmp_path / "train", files)
    scan(tmp_path / "train", tmp_path / "folder", jobs=1)
    items = ((f"/x/train/{rel}", data, rel.split("/", 1)[0]) for rel, data in files.items())
    result = jpegaudit.scan_images(items, tmp_path / "store", batch_size=5)
    assert (result.scanned, result.units) == (len(files), 3)
    got = read_store(tmp_path / "store")
    assert set(got["split"]) == {"images"} and set(got["root"]) == {"scan_images"}
    expected = comparable(read_store(tmp_path / "folder"))
    pd.testing.assert_frame_equal(comparable(got), expected)


def test_a_hugging_face_dataset_with_undecoded_images_can_be_scanned(tmp_path):
    datasets = pytest.importorskip("datasets")
    from containerdata import hf_dataset

    files = {k: v for k, v in dataset_files().items() if k.endswith(".jpg")}
    ds = hf_dataset(files).cast_column("image", datasets.Image(decode=False))
    names = ds.features["label"].names
    items = ((i, ex["image"], names[ex["label"]]) for i, ex in enumerate(ds))
    jpegaudit.scan_images(items, tmp_path / "store")
    df = read_store(tmp_path / "store").set_index("path")
    assert df.loc["0", "entry_name"] == next(iter(files))
    assert df.loc["0", "label"] == next(iter(files)).split("/", 1)[0]
    assert df["format"].value_counts().to_dict() == {"jpeg": len(files) - 2, "png": 1, "empty": 1}


def test_values_that_are_not_bytes_are_row_errors_and_keys_are_replaced(tmp_path):
    from PIL import Image

    good = dataset_files()["a/gray.jpg"]
    jpegaudit.scan_images([("k1", good), ("k2", Image.new("RGB", (4, 4))), ("k3",)], tmp_path)
    df = read_store(tmp_path).set_index("path")
    assert df.loc["k1", "format"] == "jpeg"
    assert df.loc["k2", "error"].startswith("scan_images: the value is of type Image, not encoded")
    assert df["error"].str.contains("an item must be").sum() == 1
    again = jpegaudit.scan_images([("k2", good), ("k2", b"")], tmp_path)
    assert again.scanned == 1  # a key given twice: the first
    df = read_store(tmp_path).set_index("path")
    assert len(df) == 3 and df.loc["k2", "format"] == "jpeg"
