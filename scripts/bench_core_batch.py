"""What the compiled core's batch costs over the reads it makes, for one or more source trees
side by side (docs/performance.md, "What the target leaves"): `audit_files` over the first N
files of a dataset (sorted walk), in batches of a scan's units (ScanOptions.batch_size), in one
process, pass after pass; and the same files' reads alone (io-floor's open, fstat, head, tail,
close) from a C loop, in the same kind of process. Each contender runs in a fresh interpreter,
the contenders in turn (A B reads A B reads ...):

    python scripts/bench_core_batch.py DATASET main=src other=/work/wt/other/src \
        [--files 16384] [--passes 3] [--repeat 4] [--json OUT]

A contender is NAME=SRC: SRC goes on PYTHONPATH (JPEGAUDIT_CORE=compiled). Figures are CPU us a
file (process time), median [min-max] over the repeats:

  first    the first pass of a fresh process: every verdict judged in Python once, the
           caches empty (a worker's first unit)
  warm     the median of the later passes: the caches filled (a worker's later units)

`reads-in-c` (built with `cc`, as bench_scan.py's io-floor-c; left out where there is no
compiler) makes the same reads and nothing else. warm less reads-in-c is what the core itself
costs a file. The page cache is warmed by reading every listed file once, untimed, first.
Replaces docs/bench/provcost-audit-files.py (the same loop, one tree at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import bench_scan  # scripts/bench_scan.py, beside this file: the C reads (io-floor-c)
import bench_sets  # scripts/bench_sets.py, beside this file

from jpegaudit.scanner.options import ScanOptions

BATCH = ScanOptions().batch_size  # the files of a scan's unit, in every tree compared
READS = "reads-in-c"

CHILD = r"""
import json, os, sys, time
from datetime import datetime, timezone
paths = json.loads(open(sys.argv[1]).read())
passes = int(sys.argv[2])
out = []
if sys.argv[3] == "core":
    from jpegaudit.audit.limits import DEFAULT_LIMITS as L
    from jpegaudit.scanner.process_pool import _prepare_to_fork
    from jpegaudit.sources.compiled import compiled as core
    if core is None:
        raise SystemExit("the compiled core is not built in this tree")
    _prepare_to_fork()  # what a scan's workers inherit: the database and reference tables
    limits = (L.head_bytes, L.max_header_bytes, L.tail_bytes, L.max_tail_bytes, L.read_tail)
    when = datetime.now(timezone.utc)
    batches = [tuple(paths[i:i + BATCH]) for i in range(0, len(paths), BATCH)]
    def fallback(k):
        raise SystemExit(f"the core could not audit file {k} of a batch alone")
    for _ in range(passes):
        start = time.process_time()
        for batch in batches:
            rows = core.audit_files(batch, batch, b"\1" * len(batch), "x", "", when, limits,
                                    fallback)
            del rows
        out.append((time.process_time() - start) / len(paths) * 1e6)
else:
    import bench_scan
    chunks = bench_scan.chunked(paths)
    for _ in range(passes):
        start = time.process_time()
        for chunk in chunks:
            bench_scan.c_floor_chunk(chunk)
        out.append((time.process_time() - start) / len(paths) * 1e6)
print(json.dumps(out))
""".replace("BATCH", str(BATCH))


def first_files(root: str, n: int) -> list[str]:
    """The first `n` files under `root`, folders and names in sorted order."""
    paths: list[str] = []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        paths += [os.path.join(folder, f) for f in sorted(files)]
        if len(paths) >= n:
            break
    return paths[:n]


def run_one(src: str | None, list_file: str, passes: int) -> list[float]:
    env = dict(os.environ, JPEGAUDIT_CORE="compiled")
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, here) if p)
    what = "core" if src is not None else "reads"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, list_file, str(passes), what],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"a run failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("contenders", nargs="+", metavar="NAME=SRC")
    parser.add_argument("--files", type=int, default=16384)
    parser.add_argument("--passes", type=int, default=3, help="passes a run (first, then warm)")
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args(argv)
    if args.passes < 2:
        parser.error("--passes must be at least 2 (a first pass, then warm ones)")
    trees: dict[str, str | None] = {}
    for spec in args.contenders:
        name, sep, src = spec.partition("=")
        if not sep or not name or not src or name == READS:
            parser.error(f"a contender is NAME=SRC (not {READS!r}): {spec!r}")
        trees[name] = os.path.abspath(src)
    library = bench_scan.build_c_floor(None)
    if library is not None:
        os.environ[bench_scan.C_FLOOR_LIBRARY] = library
        trees[READS] = None
    paths = first_files(args.dataset, args.files)
    if not paths:
        raise SystemExit(f"no files under {args.dataset}")
    read = bench_sets.read_whole(paths)
    print(f"{args.dataset}: {len(paths)} files, warm-up read {read / 2**20:.1f} MiB (untimed)")
    runs: dict[str, list[list[float]]] = {name: [] for name in trees}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as listing:
        json.dump(paths, listing)
    try:
        for _ in range(args.repeat):
            for name, src in trees.items():
                runs[name].append(run_one(src, listing.name, args.passes))
    finally:
        os.unlink(listing.name)
    report: dict = {"dataset": args.dataset, "files": len(paths), "passes": args.passes}
    report["contenders"] = {}
    print(f"{args.repeat} runs each, {args.passes} passes a run; CPU us a file, median [min-max]")
    for name, per_run in runs.items():
        first = [r[0] for r in per_run]
        warm = [statistics.median(r[1:]) for r in per_run]
        report["contenders"][name] = {
            "first": spread(first),
            "warm": spread(warm),
            "runs": per_run,
        }
        f, w = report["contenders"][name]["first"], report["contenders"][name]["warm"]
        print(
            f"  {name}: first {f['median']:.3f} [{f['min']:.3f}-{f['max']:.3f}]  "
            f"warm {w['median']:.3f} [{w['min']:.3f}-{w['max']:.3f}]"
        )
    if READS in report["contenders"]:
        reads = report["contenders"][READS]["warm"]["median"]
        for name in trees:
            if name != READS:
                beyond = report["contenders"][name]["warm"]["median"] - reads
                report["contenders"][name]["warm_beyond_reads"] = round(beyond, 3)
                print(f"  {name}: the core's own work, warm: {beyond:.3f} us a file")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(report, out, indent=2)
            out.write("\n")
        print(f"JSON written to {args.json}")


if __name__ == "__main__":
    main()
