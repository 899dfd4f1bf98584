"""What writing a part costs, per row: the parts of a store written again in memory with
`write_part` (today's options, per column) and with the options every part was written with
before (snappy everywhere, dictionaries on every column but the nearly unique ones), with
today's options but snappy on the tables that are written plain (before zstd took them), and
with the repeating strings handed to the writer as dictionary arrays (`dictionary-input`: what
a core that built each part's dictionaries itself would save; the arrays are made before the
timing, and the part is checked to read back as today's schema and values), turn about,
CPU time of each write; median and range over the rounds, and the bytes a row takes
(docs/performance.md, "Part write options").

    python scripts/bench_part_write.py STORE [STORE ...] [--rounds 11] [--parts 3]

`--part-rows 1024,4096,8192,16384` times instead what a part's size does to today's options
(docs/performance.md, "Larger parts"): the same rows (the store's first `--total-rows`, read
as one table) cut into parts of each size and written with `write_part`, the sizes turn
about, CPU us a row.

Make a store first, e.g. `jpegaudit scan /work/bench-data/no-repeat-50k --store /tmp/pq-nr`.
A written part is not the whole cost of a unit's part in a scan: written right after a unit's
audit the same part costs 0.1-0.2 us a row more (the caches are cold), which this leaves out.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from jpegaudit.store.arrow import ARROW_SCHEMA, part_write_options, write_part

# The options of every part before the per-column choice (main at 509e04b).
_MOSTLY_UNIQUE = {"path", "entry_name", "bytes", "mtime_ns", "read_bytes", "header_bytes",
                  "qtables", "qtables_hash", "quality_fit_error", "quality_closeness",
                  "trailing_bytes"}  # fmt: skip
BEFORE = {
    "compression": "snappy",
    "use_dictionary": [n for n in ARROW_SCHEMA.names if n not in _MOSTLY_UNIQUE],
    "write_statistics": part_write_options(ARROW_SCHEMA.empty_table())["write_statistics"],
}


def write_before(table: pa.Table, sink) -> None:
    pq.write_table(table, sink, **BEFORE)


def write_snappy_tables(table: pa.Table, sink) -> None:
    """Today's options with snappy on tables written plain, as every part was written before
    zstd took them (main at d5776af)."""
    options = dict(part_write_options(table))
    options["compression"] = {**options["compression"], "qtables": "snappy"}
    options.pop("compression_level", None)
    pq.write_table(table, sink, **options)


def as_dictionaries(table: pa.Table) -> tuple[pa.Table, dict]:
    """The string columns today's options dictionary-encode, handed over as dictionary arrays:
    what a core that kept each part's distinct values itself would give the writer (untimed:
    here pyarrow builds them); and today's options for the part."""
    options = part_write_options(table)
    names = set(options["use_dictionary"])
    encoded = pa.Table.from_arrays(
        [
            column.combine_chunks().dictionary_encode()
            if field.name in names and pa.types.is_string(field.type)
            else column
            for column, field in zip(table.columns, table.schema, strict=True)
        ],
        names=table.schema.names,
    )
    return encoded, options


def write_dictionary_input(prepared: tuple[pa.Table, dict], sink) -> None:
    """as_dictionaries' table with today's options, and no Arrow schema in the footer: without
    it a reader takes each column's type from Parquet's own (strings, not dictionaries), which
    is today's schema (checked on every part: "reads back")."""
    table, options = prepared
    pq.write_table(table, sink, store_schema=False, **options)


# name -> (what is done to a part before the timing, the timed write)
CONTENDERS = {
    "before": (None, write_before),
    "snappy-tables": (None, write_snappy_tables),
    "now": (None, write_part),
    "dictionary-input": (as_dictionaries, write_dictionary_input),
}


def reads_back(part: pa.Buffer, table: pa.Table) -> bool:
    """A written part reads back as `table`, schema and values."""
    back = pq.read_table(pa.BufferReader(part))
    return back.schema.equals(ARROW_SCHEMA) and back.equals(table)


def full_parts(store: Path, count: int) -> list[pa.Table]:
    parts = sorted(store.glob("part-*.parquet"))
    tables = [pq.read_table(p, schema=ARROW_SCHEMA) for p in parts]
    largest = max((t.num_rows for t in tables), default=0)
    return [t for t in tables if t.num_rows == largest][:count]


def by_part_size(store: Path, sizes: list[int], total: int, rounds: int) -> None:
    """The store's first `total` rows written as parts of each size in `sizes` (every size
    writes the same rows), the sizes in a shuffled order each round; prints the median CPU us
    a row and the range."""
    parts = sorted(store.glob("part-*.parquet"))
    rows = pa.concat_tables(pq.read_table(p, schema=ARROW_SCHEMA) for p in parts)
    if rows.num_rows < total or any(total % n for n in sizes):
        raise SystemExit(
            f"{store}: needs {total} rows (has {rows.num_rows}), a multiple of each size"
        )
    rows = rows.slice(0, total).combine_chunks()
    cut = {n: [rows.slice(i, n).combine_chunks() for i in range(0, total, n)] for n in sizes}
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for r in range(rounds):
        order = list(sizes)
        random.Random(r).shuffle(order)
        for n in order:
            start = time.process_time()
            for part in cut[n]:
                write_part(part, pa.BufferOutputStream())
            times[n].append((time.process_time() - start) / total * 1e6)
    print(f"{store} ({total} rows, {rounds} rounds; today's options)")
    for n in sizes:
        t = times[n]
        print(
            f"  {n:6d} rows a part  {statistics.median(t):6.3f} us/row [{min(t):.3f}-{max(t):.3f}]"
        )


def written(write, prepared) -> pa.Buffer:
    """The part `write` makes of `prepared`, in memory."""
    sink = pa.BufferOutputStream()
    write(prepared, sink)
    return sink.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stores", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--parts", type=int, default=3)
    parser.add_argument("--writes", type=int, default=4, help="writes of each part a round")
    parser.add_argument(
        "--part-rows",
        type=lambda v: [int(n) for n in v.split(",")],
        help="comma-separated rows a part: time today's write at each size",
    )
    parser.add_argument(
        "--total-rows",
        type=int,
        default=32768,
        help="with --part-rows: the rows cut into parts (a multiple of each)",
    )
    args = parser.parse_args()
    if args.part_rows:
        for store in args.stores:
            by_part_size(store, args.part_rows, args.total_rows, args.rounds)
        return
    for store in args.stores:
        tables = full_parts(store, args.parts)
        rows = sum(t.num_rows for t in tables) * args.writes
        if not rows:
            print(f"{store}: no rows")
            continue
        prepared = {
            name: [prepare(t) if prepare else t for t in tables]
            for name, (prepare, _) in CONTENDERS.items()
        }
        times: dict[str, list[float]] = {name: [] for name in CONTENDERS}
        for r in range(args.rounds):
            order = list(CONTENDERS)
            random.Random(r).shuffle(order)
            for name in order:
                write, spent = CONTENDERS[name][1], 0.0
                for table in prepared[name]:
                    for _ in range(args.writes):
                        sink = pa.BufferOutputStream()
                        start = time.process_time()
                        write(table, sink)
                        spent += time.process_time() - start
                times[name].append(spent / rows * 1e6)
        print(f"{store} ({len(tables)} parts of {tables[0].num_rows} rows, {args.rounds} rounds)")
        for name, (_, write) in CONTENDERS.items():
            t = times[name]
            parts = [written(write, p) for p in prepared[name]]
            size = sum(part.size for part in parts) * args.writes / rows
            same = all(reads_back(p, original) for p, original in zip(parts, tables, strict=True))
            print(
                f"  {name:16s} {statistics.median(t):6.3f} us/row [{min(t):.3f}-{max(t):.3f}]"
                f"  {size:6.1f} bytes/row  reads back {'the same' if same else 'DIFFERENT'}"
            )


if __name__ == "__main__":
    main()
