"""Stores written before a column existed still read: the missing column is null, through
`read_store`, `pandas.read_parquet` of the old part, and the rescan index; a rescan fills it."""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq
from sourcedata import noise_jpeg

from jpegaudit.api import read_store, scan
from jpegaudit.store.index import StoreIndex
from jpegaudit.store.scan_store import ScanStore


def drop_column_from_parts(store, column: str) -> None:
    for part in ScanStore(store).part_files():
        table = pq.read_table(part)
        pq.write_table(table.drop_columns([column]), part)


def test_a_store_without_the_label_column_reads_with_null_labels_and_a_rescan_fills_them(
    tmp_path,
):
    data = tmp_path / "train"
    (data / "n01").mkdir(parents=True)
    (data / "n01" / "a.jpg").write_bytes(noise_jpeg((32, 32), 80))
    (data / "top.jpg").write_bytes(noise_jpeg((32, 32), 70))
    scan(data, tmp_path / "store", jobs=1)
    drop_column_from_parts(tmp_path / "store", "label")

    old = read_store(tmp_path / "store")
    assert "label" in old.columns and old["label"].isna().all()
    assert len(old) == 2 and old["quality_luma"].notna().all()
    index = StoreIndex.load(ScanStore(tmp_path / "store").part_files())
    assert {e.label for e in index.entries.values()} == {None}

    # Only the file whose label the rule now gives differently is read again.
    result = scan(data, tmp_path / "store", jobs=1)
    assert (result.scanned, result.unchanged) == (1, 1)
    df = read_store(tmp_path / "store").set_index("path")
    assert df.loc[f"{data}/n01/a.jpg", "label"] == "n01"
    assert pd.isna(df.loc[f"{data}/top.jpg", "label"])
