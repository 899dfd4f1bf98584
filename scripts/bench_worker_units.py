"""Where a scan's workers spend their CPU, unit by unit, for one or more source trees side by
side (docs/performance.md, "Provenance: where the cost is"): fresh scans of one dataset, each in
a fresh interpreter, the trees in turn (A B A B ...):

    python scripts/bench_worker_units.py DATASET main=src off=/work/wt/provoff3/src \
        [--jobs 2] [--repeat 5] [--json OUT]

A contender is NAME=SRC: SRC goes on PYTHONPATH (JPEGAUDIT_CORE=compiled). Per scan, summed over
the workers (CPU ms, process_time of the worker around each call):

  units      audit_unit, whole
  audit      the unit's rows (sources.local.audit_local_batch: reads, parsing, the columns)
  write      its part (write_part_atomically)
  first      the first unit of each worker, whole (summed over the workers)
  steady     the median unit after each worker's first, per 4,096 files
  judged     calls into the Python core's verdict code from the compiled core
             (provenance.identify.structure_from_features and template_row) and their CPU
  faults     minor page faults inside the units
  first_faults  of which in the first unit of each worker (summed over the workers)
  steady_faults the median unit's after each worker's first, per 4,096 files

Figures are the median [min-max] over the repeats. It patches `process_pool.audit_unit`,
`units.audit_local_batch`, `units.write_part_atomically` and the two identify functions before
the compiled core takes them (its configure() runs at the import of sources.compiled).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import bench_sets  # scripts/bench_sets.py, beside this file

CHILD = r"""
import importlib, json, os, resource, shutil, sys, time
identify = importlib.import_module("jpegaudit.provenance.identify")
JUDGED = [0, 0.0]

def counted(fn):
    def call(*args):
        start = time.process_time()
        try:
            return fn(*args)
        finally:
            JUDGED[0] += 1
            JUDGED[1] += time.process_time() - start
    return call

identify.structure_from_features = counted(identify.structure_from_features)
identify.template_row = counted(identify.template_row)
import jpegaudit.sources.compiled  # noqa: F401  (configure() takes the counted functions)
import jpegaudit.scanner.process_pool as pool
import jpegaudit.scanner.units as units
from jpegaudit.api import scan

PHASE = {}
real_batch, real_write, real_unit = units.audit_local_batch, units.write_part_atomically, pool.audit_unit

def batch(*args, **kwargs):
    start = time.process_time()
    try:
        return real_batch(*args, **kwargs)
    finally:
        PHASE["audit"] = time.process_time() - start

def write(*args):
    start = time.process_time()
    try:
        return real_write(*args)
    finally:
        PHASE["write"] = time.process_time() - start

def unit(work):
    JUDGED[0], JUDGED[1] = 0, 0.0
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.process_time()
    done = real_unit(work)
    spent = time.process_time() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    line = json.dumps([os.getpid(), done.rows, spent, PHASE.get("audit", 0.0),
                       PHASE.get("write", 0.0), JUDGED[0], JUDGED[1], faults])
    os.write(FD, (line + "\n").encode())
    return done

units.audit_local_batch, units.write_part_atomically, pool.audit_unit = batch, write, unit
root, store, log = sys.argv[1], sys.argv[2], sys.argv[3]
FD = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
shutil.rmtree(store, ignore_errors=True)
scan([root], store, jobs=int(sys.argv[4]))
"""


def one_scan(src: str, dataset: str, jobs: int, work: str) -> dict:
    log = os.path.join(work, "units.log")
    if os.path.exists(log):
        os.remove(log)
    env = dict(os.environ, PYTHONPATH=src, JPEGAUDIT_CORE="compiled")
    subprocess.run(
        [sys.executable, "-c", CHILD, dataset, os.path.join(work, "store"), log, str(jobs)],
        env=env,
        check=True,
    )
    rows = [json.loads(line) for line in open(log)]
    by_worker: dict[int, list] = {}
    for r in rows:
        by_worker.setdefault(r[0], []).append(r)
    firsts = [w[0] for w in by_worker.values()]
    later = [r for w in by_worker.values() for r in w[1:] if r[1] >= 1024]
    steady = [r[2] / r[1] * 4096 for r in later]
    return {
        "units": 1e3 * sum(r[2] for r in rows),
        "audit": 1e3 * sum(r[3] for r in rows),
        "write": 1e3 * sum(r[4] for r in rows),
        "first": 1e3 * sum(r[2] for r in firsts),
        "steady": 1e3 * statistics.median(steady) if steady else float("nan"),
        "judged_calls": sum(r[5] for r in rows),
        "judged": 1e3 * sum(r[6] for r in rows),
        "faults": sum(r[7] for r in rows),
        "first_faults": sum(r[7] for r in firsts),
        "steady_faults": statistics.median(r[7] / r[1] * 4096 for r in later) if later else 0,
        "files": sum(r[1] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("contenders", nargs="+", help="NAME=SRC")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args()
    contenders = [c.split("=", 1) for c in args.contenders]
    results: dict[str, list[dict]] = {name: [] for name, _ in contenders}
    read = bench_sets.read_everything_once(args.dataset)  # untimed: every run reads it cached
    print(f"warm-up: read {read / 2**30:.2f} GiB (untimed)", flush=True)
    with tempfile.TemporaryDirectory() as work:
        for _ in range(args.repeat):
            for name, src in contenders:
                results[name].append(one_scan(os.path.abspath(src), args.dataset, args.jobs, work))
    print(f"{args.dataset}: {args.repeat} scans each, jobs={args.jobs}; CPU ms a scan, "
          "median [min-max]")  # fmt: skip
    keys = (
        "units",
        "audit",
        "write",
        "first",
        "steady",
        "judged",
        "judged_calls",
        "faults",
        "first_faults",
        "steady_faults",
    )
    for name, runs in results.items():
        cells = []
        for key in keys:
            values = [r[key] for r in runs]
            cells.append(
                f"{key} {statistics.median(values):.1f} [{min(values):.1f}-{max(values):.1f}]"
            )
        print(f"  {name}: " + "  ".join(cells))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"dataset": args.dataset, "jobs": args.jobs, "runs": results}, out, indent=1)


if __name__ == "__main__":
    main()
