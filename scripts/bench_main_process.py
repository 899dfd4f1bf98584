"""The main process's share of a scan, stage by stage (docs/performance.md "Rescan and the main
process"). scripts/bench_scan.py times whole scans (main process and workers together); this
script separates what the main process spends per file:

    python scripts/bench_main_process.py DATASET [--jobs 2] [--repeat 3] [--json OUT]

Every figure is CPU time (user + system, getrusage) per file, each measured in a fresh
interpreter that imports what it needs first (a rescan pays its first use of pyarrow's reader,
for one), the median of `--repeat` runs:

  fresh: main          a fresh scan (jobs workers): the main process (RUSAGE_SELF)
  fresh: workers       the same scan: its workers (RUSAGE_CHILDREN)
  plan: walk + units   the planner over an empty store: walk, plan, FileBatch units built
  plan: pickle units   pickling and unpickling those units (what the pool sends to workers)
  rescan: whole        the same call again on the store of a fresh scan (nothing changed)
  rescan: index load   loading that store's index
  rescan: walk + compare   walk, one stat per file and the comparison with the index

It runs against whichever jpegaudit is importable (set PYTHONPATH to compare two trees) and
uses only what every version since the scanner/ split has: `jpegaudit.scan`, `ScanStore`,
`Planner`, `batched_works`, `resolve_roots`.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def child(stage: str, root: str, store: str, jobs: int) -> dict:
    from jpegaudit.api import scan
    from jpegaudit.scanner.options import ScanOptions
    from jpegaudit.scanner.plan import Planner, batched_works
    from jpegaudit.scanner.roots import resolve_roots
    from jpegaudit.store.scan_store import ScanStore

    options = ScanOptions(jobs=jobs)
    roots = resolve_roots([root], (), None)
    out: dict = {}
    before = cpu(resource.RUSAGE_SELF)
    if stage in ("fresh", "rescan"):
        result = scan([root], store, jobs=jobs)
        out["files"] = result.scanned + result.unchanged
        out["main_s"] = cpu(resource.RUSAGE_SELF) - before
        out["workers_s"] = cpu(resource.RUSAGE_CHILDREN)
        out["whole_s"] = out["main_s"] + out["workers_s"]
        if stage == "rescan" and result.scanned:
            raise SystemExit(f"rescan read {result.scanned} files: the store was stale")
        return out
    if stage in ("plan", "pickle"):
        empty = tempfile.mkdtemp(prefix="jpegaudit-empty-")
        index = ScanStore(empty).load_index()
        before = cpu(resource.RUSAGE_SELF)
        planner = Planner(index, set(), options)
        works = list(batched_works(planner.planned(roots), options, empty, {}))
        out["main_s"] = cpu(resource.RUSAGE_SELF) - before
        if stage == "pickle":
            before = cpu(resource.RUSAGE_SELF)
            for w in works:
                pickle.loads(pickle.dumps(w))
            out["main_s"] = cpu(resource.RUSAGE_SELF) - before
        out["files"] = sum(len(getattr(w.unit, "fs_paths", ())) for w in works)
        shutil.rmtree(empty)
        return out
    scan_store = ScanStore(store)
    before = cpu(resource.RUSAGE_SELF)
    index = scan_store.load_index()
    if stage == "index":
        out["main_s"] = cpu(resource.RUSAGE_SELF) - before
        out["files"] = _rows(index)
        return out
    done = {p.name for p in scan_store.part_files()}
    before = cpu(resource.RUSAGE_SELF)
    planner = Planner(index, done, options)
    works = list(batched_works(planner.planned(roots), options, store, {}))
    out["main_s"] = cpu(resource.RUSAGE_SELF) - before
    out["files"] = planner.unchanged
    if works:
        raise SystemExit(f"walk + compare planned {len(works)} units: the store was stale")
    return out


def _rows(index) -> int:
    rows = getattr(index, "row_count", None)
    return rows if rows is not None else len(index.entries)


def run(stage: str, root: str, store: str, jobs: int) -> dict:
    cmd = [sys.executable, __file__, "--child", stage, root, "--store", store, "--jobs", str(jobs)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{stage} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


STAGES = (
    ("fresh: main", "fresh", "main_s"),
    ("fresh: workers", "fresh", "workers_s"),
    ("plan: walk + units", "plan", "main_s"),
    ("plan: pickle units", "pickle", "main_s"),
    ("rescan: whole", "rescan", "whole_s"),
    ("rescan: index load", "index", "main_s"),
    ("rescan: walk + compare", "compare", "main_s"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = os.path.abspath(args.dataset)
    if args.child:
        print(json.dumps(child(args.child, root, args.store, args.jobs)))
        return
    import jpegaudit

    print(f"jpegaudit from {os.path.dirname(jpegaudit.__file__)}; load {os.getloadavg()}")
    samples: dict[str, list[float]] = {name: [] for name, _, _ in STAGES}
    files = 0
    for rep in range(args.repeat):
        parent = tempfile.mkdtemp(prefix="jpegaudit-main-")
        store = os.path.join(parent, "store")
        try:
            runs = {}
            for stage in ("fresh", "plan", "pickle", "rescan", "index", "compare"):
                runs[stage] = run(stage, root, store, args.jobs)
            files = runs["fresh"]["files"]
            for name, stage, key in STAGES:
                samples[name].append(runs[stage][key])
        finally:
            shutil.rmtree(parent, ignore_errors=True)
        print(f"repeat {rep + 1} done (load {os.getloadavg()[0]:.2f})", flush=True)
    figures = {name: round(1e6 * statistics.median(v) / files, 2) for name, v in samples.items()}
    print(f"{files} files, CPU us per file (median of {args.repeat}):")
    for name, value in figures.items():
        print(f"  {name:24s} {value:8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"files": files, "cpu_us_per_file": figures, "samples_s": samples}, f, indent=2
            )


if __name__ == "__main__":
    main()
