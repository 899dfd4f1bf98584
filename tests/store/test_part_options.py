"""store/arrow.py: how a part's columns are written (encodings, codecs), read from the written
file's footer, so that a choice that stops applying fails here rather than in a benchmark."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jpegaudit.quality import fingerprint
from jpegaudit.store.arrow import (
    ARROW_SCHEMA,
    PART_WRITE_OPTIONS,
    PART_WRITE_OPTIONS_REPEATING_TABLES,
    part_write_options,
    read_part,
    write_part,
)
from jpegaudit.store.index import CODED

IJG_Q75 = ",".join(["8"] * 64) + "/" + ",".join(["9"] * 64)


def table_text(serial: int) -> str:
    """A table of its own per serial (as no-repeat's, which write the serial into the table)."""
    return ",".join(["12"] * 57 + list(str(serial).zfill(7))) + "/" + ",".join(["13"] * 64)


def part(tables: list[str]) -> pa.Table:
    rows = len(tables)
    values = {
        "path": [f"/d/n01/{i}.jpg" for i in range(rows)],
        "split": ["train"] * rows,
        "root": ["/d"] * rows,
        "label": ["n01"] * rows,
        "format": ["jpeg"] * rows,
        "backend": ["header"] * rows,
        "color": (["ycbcr", "gray"] * rows)[:rows],
        "process": ["baseline"] * rows,
        "width": ([500, 375] * rows)[:rows],
        "quality_luma": [75] * rows,
        "qtables": tables,
        "qtables_hash": [t and fingerprint(t) for t in tables],
        "header_signature": [t and fingerprint(t)[::-1] for t in tables],
        "encoder_detail": ["libjpeg layout shared by cjpeg, OpenCV, Pillow"] * rows,
    }
    columns = {n: values.get(n, [None] * rows) for n in ARROW_SCHEMA.names}
    return pa.table(columns, schema=ARROW_SCHEMA)


def written(tmp_path, table: pa.Table) -> dict[str, tuple[str, bool]]:
    """{column: (codec, dictionary-encoded)} as the part's footer says."""
    write_part(table, tmp_path / "part.parquet")
    group = pq.ParquetFile(tmp_path / "part.parquet").metadata.row_group(0)
    out = {}
    for i in range(group.num_columns):
        column = group.column(i)
        out[column.path_in_schema] = (column.compression, "RLE_DICTIONARY" in column.encodings)
    return out


def test_repeating_tables_are_written_as_dictionaries(tmp_path):
    got = written(tmp_path, part([IJG_Q75, table_text(1)] * 300))
    assert got["qtables"] == ("SNAPPY", True)
    assert got["qtables_hash"] == ("UNCOMPRESSED", True)


def test_tables_of_their_own_are_written_plain(tmp_path):
    got = written(tmp_path, part([table_text(i) for i in range(600)]))
    assert got["qtables"] == ("ZSTD", False)
    assert got["qtables_hash"] == ("UNCOMPRESSED", False)


@pytest.mark.parametrize("repeat", [True, False], ids=["tables-repeat", "tables-unique"])
def test_every_other_column_is_written_as_chosen(tmp_path, repeat):
    tables = [IJG_Q75] * 600 if repeat else [table_text(i) for i in range(600)]
    got = written(tmp_path, part(tables))
    assert got["header_signature"] == ("UNCOMPRESSED", True)
    for name in ("split", "root", "label", "format", "backend", "encoder_detail"):
        assert got[name] == ("SNAPPY", True), name
    for name in ("path", "color", "process", "width", "quality_luma"):
        assert got[name] == ("SNAPPY", False), name


def test_the_columns_the_index_reads_as_dictionaries_are_dictionary_encoded():
    """The rescan index reads CODED as dictionaries: it takes a dictionary-encoded column's
    dictionary as it is, and would hash a plain one."""
    for options in (PART_WRITE_OPTIONS, PART_WRITE_OPTIONS_REPEATING_TABLES):
        assert set(CODED) <= set(options["use_dictionary"])


def test_tables_too_long_for_one_dictionary_are_written_plain():
    """The writer would drop an outgrown dictionary half-way through the column (fastparquet
    reads the rows after that as nulls): a part whose tables repeat but whose text exceeds the
    dictionary limit is written plain."""
    limit = PART_WRITE_OPTIONS["dictionary_pagesize_limit"]
    rows = limit // len(IJG_Q75) + 1
    tables = [IJG_Q75] * (rows - 1) + [table_text(1)]
    assert part_write_options(part(tables)) is PART_WRITE_OPTIONS
    assert part_write_options(part(tables[: rows // 2])) is PART_WRITE_OPTIONS_REPEATING_TABLES


def test_a_part_without_tables_and_an_empty_part_are_written_plain(tmp_path):
    assert part_write_options(part([None] * 10)) is PART_WRITE_OPTIONS
    assert part_write_options(ARROW_SCHEMA.empty_table()) is PART_WRITE_OPTIONS
    write_part(ARROW_SCHEMA.empty_table(), tmp_path / "empty.parquet")
    assert read_part(tmp_path / "empty.parquet", ARROW_SCHEMA.names).num_rows == 0


def test_a_part_reads_back_as_written_either_way(tmp_path):
    for tables in ([IJG_Q75, None, table_text(2)] * 200, [table_text(i) for i in range(600)]):
        table = part(tables)
        write_part(table, tmp_path / "part.parquet")
        assert read_part(tmp_path / "part.parquet", ARROW_SCHEMA.names).equals(table)
        assert pq.read_schema(tmp_path / "part.parquet").remove_metadata() == ARROW_SCHEMA


def test_the_table_text_is_counted_in_a_sliced_chunked_column():
    """Finalisation writes parts it filtered: their columns are slices in several chunks."""
    from jpegaudit.store.arrow import _text_bytes

    one, two = part([IJG_Q75] * 10), part([table_text(3)] * 10)
    column = pa.concat_tables([one.slice(3), two.slice(0, 4)]).column("qtables")
    assert column.num_chunks == 2
    assert _text_bytes(column) == 7 * len(IJG_Q75) + 4 * len(table_text(3))


def big_part(rows: int, header_signature: list[str | None]) -> pa.Table:
    values = {
        "path": pa.array([f"/d/s.tar::{i}.jpg" for i in range(rows)]),
        "scanned_at": pa.array([0] * rows, pa.timestamp("us", tz="UTC")),
        "header_signature": pa.array(header_signature, pa.string()),
    }
    columns = [values.get(f.name, pa.nulls(rows, f.type)) for f in ARROW_SCHEMA]
    return pa.Table.from_arrays(columns, schema=ARROW_SCHEMA)


def test_a_column_whose_dictionary_would_outgrow_the_limit_is_written_plain(tmp_path):
    """A shard of 220,000 files with headers of their own: 220,000 distinct 16-digit
    `header_signature`s (20 bytes each in a dictionary) pass the 4 MiB limit, where the writer
    would drop the dictionary and go on in plain in the same column chunk (fastparquet reads
    the rows after that as nulls). Written plain from the start instead, and read back whole."""
    rows = 220_000
    signatures = [f"{i * 2654435761 % 2**64:016x}" for i in range(rows)]
    table = big_part(rows, signatures)
    assert "header_signature" not in part_write_options(table)["use_dictionary"]
    got = written(tmp_path, table)
    assert got["header_signature"] == ("UNCOMPRESSED", False)
    assert got["scanned_at"][1] and got["split"][1]  # the others keep their dictionaries
    back = read_part(tmp_path / "part.parquet", ["header_signature"])
    assert back.column("header_signature").to_pylist() == signatures


def test_a_long_column_of_few_values_keeps_its_dictionary():
    """Past the bound (the column's buffers), the dictionary itself is what counts: 220,000
    rows of two signatures stay dictionary-encoded."""
    rows = 220_000
    table = big_part(rows, ["0123456789abcdef", None] * (rows // 2))
    assert part_write_options(table) is PART_WRITE_OPTIONS
