"""The store index held as columns answers as the dict of path -> IndexEntry it replaced (kept
here as the reference), with the compiled path table and with its pure-Python twin."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jpegaudit.store.arrow import ARROW_SCHEMA
from jpegaudit.store.index import IndexEntry, PathDict, StoreIndex, path_table
from jpegaudit.store.scan_store import ScanStore

_FIELDS = ("bytes", "mtime_ns", "split", "root", "backend", "deep_reader", "format")


def reference_index(parts: list[Path]) -> dict[str, IndexEntry]:
    """The index as it was: a dict built row by row (later rows win)."""
    entries = {}
    names = ["path", *_FIELDS, "tail_checked", "label"]
    for part in parts:
        table = pq.read_table(part, columns=names, schema=ARROW_SCHEMA)
        columns = {n: table.column(n).to_pylist() for n in names}
        for path, size, mtime, split, root, backend, deep, fmt, tail, label in zip(
            *(columns[n] for n in names), strict=True
        ):
            entries[path] = IndexEntry(
                size, mtime, split, part.name, root, backend, deep, fmt, tail, label
            )
    return entries


def row(path: str, **values) -> dict:
    out = dict.fromkeys(ARROW_SCHEMA.names)
    out["path"] = path
    out.update(values)
    return out


def write(part: Path, rows: list[dict], schema: pa.Schema = ARROW_SCHEMA) -> None:
    columns = {n: [r.get(n) for r in rows] for n in schema.names}
    pq.write_table(pa.table(columns, schema=schema), part)


@pytest.fixture
def store(tmp_path) -> Path:
    """Parts with every kind of value the index holds, a path stored twice, and a part from a
    schema without `tail_checked` (read through pyarrow's schema filling)."""
    rng = random.Random(5)
    root = tmp_path / "store"
    root.mkdir()
    choices = {
        "bytes": [None, 0, 5, 2**40],
        "mtime_ns": [None, -1, 0, 1_700_000_000_123_456_789, -(2**62)],
        "split": ["train", "val", "ünïcode"],
        "root": ["/data/train", "/data/val", "s3://bucket/x", "list.txt"],
        "backend": [None, "header", "torchjpeg"],
        "deep_reader": [None, "libjpeg-turbo"],
        "format": [None, "jpeg", "png"],
        "tail_checked": [None, True, False],
        "label": [None, "n01", "n02"],
    }
    for k in range(4):
        rows = [
            row(f"/data/{k}/{i}-é.jpg", **{n: rng.choice(v) for n, v in choices.items()})
            for i in range(300)
        ]
        rows.append(row("/data/twice.jpg", bytes=k, split="train", root="/data/train"))
        rows.append(row(f"/data/shard{k}.tar::member.jpg", bytes=1, split="train", root="r"))
        write(root / f"part-{k}.parquet", rows)
    # More roots than a byte can code: the codes widen.
    many = [row(f"/many/{i}.jpg", bytes=i, split="m", root=f"/many/root{i}") for i in range(300)]
    write(root / "part-many.parquet", many)
    old_schema = pa.schema([f for f in ARROW_SCHEMA if f.name != "tail_checked"])
    write(
        root / "part-old.parquet", [row("/data/old.jpg", bytes=3, split="s", root="r")], old_schema
    )
    return root


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "python"])
def test_lookups_answer_as_the_dict_did(store, compiled, monkeypatch):
    if compiled:
        pytest.importorskip("jpegaudit._cwalk")
    else:
        monkeypatch.setattr("jpegaudit.store.index.PathTable", None)
    parts = ScanStore(store).part_files()
    expected = reference_index(parts)
    index = StoreIndex.load(parts)
    assert len(index) == len(expected) and index.row_count == len(expected) + 3
    assert len(index.values["root"]) > 300 and index.codes["root"].dtype == np.uint16
    for path, entry in expected.items():
        assert index.get(path) == entry
        assert index.part_of(path) == entry.part
        assert index.path_of(index.row_of(path)) == path
    assert index.get("/data/nowhere.jpg") is None and index.part_of("/nowhere") is None
    assert index.get("/data/twice.jpg").bytes == 3  # the later part's row
    assert index.get("/data/old.jpg").tail_checked is None


def test_the_empty_index_finds_nothing():
    index = StoreIndex.empty()
    assert (
        len(index),
        index.row_count,
        index.get("x"),
        index.unseen_paths(bytearray(), ["r"]),
    ) == (
        0,
        0,
        None,
        [],
    )


def test_unseen_paths_are_the_live_rows_of_the_roots_not_marked(store):
    parts = ScanStore(store).part_files()
    expected = reference_index(parts)
    index = StoreIndex.load(parts)
    seen = bytearray(index.row_count)
    marked = set(random.Random(1).sample(sorted(expected), 400))
    for path in marked:
        seen[index.row_of(path)] = 1
    roots = {"/data/train", "list.txt"}
    wanted = {p for p, e in expected.items() if e.root in roots and p not in marked}
    unseen = index.unseen_paths(seen, roots)
    assert sorted(unseen) == sorted(wanted) and len(unseen) == len(set(unseen))


def test_rows_containing_and_stored_by_part_agree_with_the_paths(store):
    parts = ScanStore(store).part_files()
    expected = reference_index(parts)
    index = StoreIndex.load(parts)
    rows, paths = index.rows_containing("::")
    assert sorted(paths) == sorted(p for p in expected if "::" in p)
    assert [index.path_of(r) for r in rows.tolist()] == paths
    asked = ["/data/twice.jpg", "/data/nowhere.jpg", *random.Random(2).sample(sorted(expected), 50)]
    by_part = {
        part: sorted(values.to_pylist()) for part, values in index.stored_by_part(asked).items()
    }
    want: dict[str, list[str]] = {}
    for path in asked:
        if path in expected:
            want.setdefault(expected[path].part, []).append(path)
    assert by_part == {part: sorted(set(paths)) for part, paths in want.items()}


def test_the_compiled_path_table_finds_what_a_dict_finds():
    cwalk = pytest.importorskip("jpegaudit._cwalk")
    rng = random.Random(7)
    alphabet = "ab/é中\U0001f600.-_" + "x" * 20
    paths = ["", "a", "/", "x" * 5000] + [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 120))) for _ in range(3000)
    ]
    paths += rng.sample(paths, 300)  # repeats: the later row wins
    rng.shuffle(paths)
    whole = pa.array(paths, type=pa.string())
    chunks = [whole.slice(0, 1000), whole.slice(1000, 7), whole.slice(1007)]  # offsets != 0
    compiled = cwalk.PathTable(chunks)
    python = PathDict(chunks)
    assert len(compiled) == len(python) == len(set(paths))
    assert sorted(compiled.shadowed) == sorted(python.shadowed)
    for path in set(paths) | {"absent", "a/", "x" * 4999, "\udcff"}:
        assert compiled.find(path) == python.find(path)


def test_loading_the_index_does_not_make_pyarrow_import_pandas(store):
    (store / "part-old.parquet").unlink()  # an older schema's part goes through pq.read_table
    code = (
        "import sys\n"
        "from jpegaudit.store.scan_store import ScanStore\n"
        f"index = ScanStore({str(store)!r}).load_index()\n"
        "index.unseen_paths(bytearray(index.row_count), ['/data/train'])\n"
        "index.rows_containing('::')\n"
        "print('pandas' in sys.modules, len(index))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == [
        "False",
        str(len(reference_index(ScanStore(store).part_files()))),
    ]


def test_path_table_picks_the_twin_without_the_compiled_module():
    chunks = [pa.array(["a", "b"])]
    assert isinstance(path_table(chunks, compiled=False), PathDict)
    assert np.array_equal(StoreIndex.empty().sizes, np.zeros(0, dtype=np.int64))


def test_parts_carry_the_statistics_the_index_reads_instead_of_columns(tmp_path):
    """The index takes a column that holds one value in a part from the footer's min/max
    (read_part_columns): write_part must keep those statistics for every such column, and the
    values read that way must be the column's."""
    from jpegaudit.store.arrow import PART_WRITE_OPTIONS, read_part_columns, write_part
    from jpegaudit.store.index import _MAY_BE_CONSTANT

    assert set(_MAY_BE_CONSTANT) <= set(PART_WRITE_OPTIONS["write_statistics"])
    values = {"split": "train", "root": "/r", "backend": "header", "deep_reader": None,
              "format": "jpeg", "label": "n01", "tail_checked": True}  # fmt: skip
    rows = [row(f"/r/{i}.jpg", **values) for i in range(5)]
    columns = {n: [r.get(n) for r in rows] for n in ARROW_SCHEMA.names}
    write_part(pa.table(columns, schema=ARROW_SCHEMA), tmp_path / "part.parquet")
    table, constant = read_part_columns(
        tmp_path / "part.parquet", ["path", *_MAY_BE_CONSTANT], _MAY_BE_CONSTANT
    )
    assert constant == {name: values[name] for name in _MAY_BE_CONSTANT}
    assert table.column_names == ["path"]
