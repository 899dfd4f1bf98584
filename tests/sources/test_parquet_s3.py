"""A Parquet file in S3 (moto on loopback) is read column by column: the requests fetch the
footer and the image and label columns' chunks, not the file's other columns."""

from __future__ import annotations

import numpy as np
import pytest
from sourcedata import CountingS3Server, noise_jpeg

from jpegaudit.api import read_store, scan


@pytest.fixture(scope="module")
def s3():
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    server = CountingS3Server().start()
    yield server
    server.stop()


def parquet_with_other_columns(path) -> dict:
    """40 images (about 20 KB each) in 4 row groups, beside a label and two columns as large
    as the images together (captions, an embedding), which the scan must not fetch."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    images = [noise_jpeg((160, 120), 80 + i % 10, seed=i) for i in range(40)]
    table = pa.table(
        {
            "caption": [rng.bytes(len(b) // 2).hex() for b in images],
            "image": pa.array([{"bytes": b, "path": f"{i}.jpg"} for i, b in enumerate(images)]),
            "embedding": [rng.standard_normal(len(b) // 16).tolist() for b in images],
            "label": [i % 3 for i in range(40)],
        }
    )
    pq.write_table(table, path, row_group_size=10, compression="zstd")
    md = pq.ParquetFile(path).metadata
    chunks = {}
    for g in range(md.num_row_groups):
        for j in range(md.num_columns):
            column = md.row_group(g).column(j)
            top = column.path_in_schema.split(".", 1)[0]
            chunks[top] = chunks.get(top, 0) + column.total_compressed_size
    return chunks


def test_a_parquet_file_in_s3_costs_its_image_and_label_columns(s3, tmp_path):
    chunks = parquet_with_other_columns(tmp_path / "train.parquet")
    data = (tmp_path / "train.parquet").read_bytes()
    s3.upload("hf-data", {"data/train-00000-of-00001.parquet": data})
    s3.log.clear()
    scan("s3://hf-data/data/", tmp_path / "store", jobs=1, storage_options=s3.storage_options)
    df = read_store(tmp_path / "store")
    assert len(df) == 40 and df["quality_luma"].notna().all()
    assert sorted(df["label"].unique()) == ["0", "1", "2"]
    gets = [e for e in s3.log.snapshot() if e.method == "GET" and e.path.endswith(".parquet")]
    fetched = sum(e.body_bytes for e in gets)
    wanted = chunks["image"] + chunks["label"]
    print(
        f"\nparquet in S3: file {len(data)} bytes (image {chunks['image']}, label "
        f"{chunks['label']}, caption {chunks['caption']}, embedding {chunks['embedding']}); "
        f"fetched {fetched} bytes ({100 * fetched / len(data):.1f} % of the file) in "
        f"{len(gets)} GETs"
    )
    # The image and label chunks, the footer, and at most the 64 KiB footer read-ahead.
    assert wanted <= fetched <= wanted + 64 * 1024 + 16 * 1024
    assert fetched < 0.6 * len(data)
