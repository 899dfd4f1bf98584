"""A scan's units run one after another in this process, phase by phase (docs/performance.md,
"What stays between jpegaudit and the floor"): CPU µs a file of each phase, the best of
`--passes` passes over the first `--units` units of DATASET's plan.

    JPEGAUDIT_CORE=compiled python scripts/bench_unit_phases.py /work/bench-data/no-repeat-50k

Phases: `rows` (FileBatch.rows: the compiled core's batch with its system calls, the table,
the labels), `part` (the Parquet part written to memory, as a worker writes it to a file),
`file` (the same part written to a file in a temporary folder, then renamed: what
`audit_unit` does), `digest` (the unit's name). No pool: what a worker's units cost without the
pool's own costs. Set PYTHONPATH to compare two trees.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.plan import Planner, batched_works
from jpegaudit.scanner.process_pool import _prepare_to_fork
from jpegaudit.scanner.roots import Root
from jpegaudit.scanner.units import UnitContext, unit_digest
from jpegaudit.sources.remote import FetchStats
from jpegaudit.store.arrow import write_part, write_part_atomically
from jpegaudit.store.index import StoreIndex


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("--units", type=int, default=12)
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    _prepare_to_fork()  # what a worker inherits: the database, the tables, pyarrow's modules
    workdir = tempfile.mkdtemp(dir="/tmp")
    options = ScanOptions()
    planner = Planner(StoreIndex.empty(), set(), options)
    plan = planner.planned([Root(args.dataset, "local", "bench")])
    works = list(batched_works(plan, options, workdir, {}))[: args.units]
    files = sum(len(w.unit.fs_paths) for w in works)
    best: dict[str, float] = {}
    for n in range(args.passes):
        spent = dict.fromkeys(("rows", "part", "file", "digest"), 0.0)
        for k, work in enumerate(works):
            batch = work.unit
            context = UnitContext(options, datetime.now(timezone.utc), FetchStats())
            t0 = time.process_time()
            table = batch.rows(context).table
            t1 = time.process_time()
            write_part(table, pa.BufferOutputStream())
            t2 = time.process_time()
            write_part_atomically(table, Path(workdir) / f"part-{n}-{k}.parquet")
            t3 = time.process_time()
            unit_digest((batch.split, *batch.fs_paths))
            t4 = time.process_time()
            for phase, cost in zip(spent, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
                spent[phase] += cost
        best = {p: min(best.get(p, float("inf")), s) for p, s in spent.items()}
    shown = "  ".join(f"{p} {s / files * 1e6:.2f}" for p, s in best.items())
    print(f"{files} files in {len(works)} units, CPU us a file (best of {args.passes}): {shown}")


if __name__ == "__main__":
    main()
