"""What a scan's pool costs over running its units in one process (docs/performance.md, "The
pool's overhead"): fresh scans of one dataset by several source trees and job counts, run in
turn (A B C A B C ...), each in a fresh interpreter, with the CPU of the main process and of its
workers apart and the CPU of the units (audit + part write) apart from the rest:

    python scripts/bench_pool.py DATASET before=/tmp/base/src after=src one=/tmp/base/src:1 \
        [--jobs 2] [--repeat 9] [--json OUT]

A contender is NAME=SRC[:JOBS]: SRC goes on PYTHONPATH (JPEGAUDIT_CORE=compiled), JOBS defaults
to --jobs. Figures are CPU us a file (user + system, getrusage), median [min-max] of the
repeats:

  total          main process and reaped workers
  main / workers each side alone
  units          audit_unit's own CPU, wherever it ran (the main thread's in the main process:
                 time.thread_time, so that the pool's threads are not counted in it)
  main-rest      the main process without the units it ran (walk, plan, pool threads, forks)
  workers-rest   the workers without their units (start, receiving units, sending results,
                 exit)

It patches `jpegaudit.scanner.process_pool.audit_unit`, which every version since the main
process could run units has.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import bench_sets  # scripts/bench_sets.py, beside this file

_TIMED: dict = {}  # set before the pool forks: the real audit_unit, the pipe's write end


def timed_audit_unit(work):
    start = time.thread_time()
    done = _TIMED["real"](work)
    os.write(_TIMED["fd"], f"{os.getpid()} {time.thread_time() - start:.6f}\n".encode())
    return done


def child(root: str, store: str, jobs: int) -> dict:
    import jpegaudit.scanner.process_pool as pool
    from jpegaudit.api import scan

    _TIMED["real"] = pool.audit_unit
    rfd, wfd = os.pipe()
    _TIMED["fd"] = wfd
    pool.audit_unit = timed_audit_unit  # module-level: the pool sends it to workers by name
    shutil.rmtree(store, ignore_errors=True)

    def usage(who: int) -> tuple[float, int]:
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime, r.ru_minflt

    main0, main_faults0 = usage(resource.RUSAGE_SELF)
    workers0, workers_faults0 = usage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    result = scan([root], store, jobs=jobs)
    wall = time.perf_counter() - started
    main1, main_faults1 = usage(resource.RUSAGE_SELF)
    workers1, workers_faults1 = usage(resource.RUSAGE_CHILDREN)
    os.close(wfd)
    with os.fdopen(rfd) as f:
        units = [(int(pid), float(cpu)) for pid, cpu in (line.split() for line in f)]
    me = os.getpid()
    return {
        "files": result.scanned,
        "wall_s": wall,
        "main_s": main1 - main0,
        "workers_s": workers1 - workers0,
        "units_s": sum(cpu for _, cpu in units),
        "main_units_s": sum(cpu for pid, cpu in units if pid == me),
        "units": len(units),
        "main_units": sum(1 for pid, _ in units if pid == me),
        "main_faults": main_faults1 - main_faults0,
        "workers_faults": workers_faults1 - workers_faults0,
        "main_maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "worker_maxrss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def spread(values: list[float]) -> str:
    values = sorted(values)
    return f"{statistics.median(values):6.2f} [{values[0]:.2f}-{values[-1]:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset")
    parser.add_argument("contenders", nargs="*", help="NAME=SRC[:JOBS]")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--json", metavar="OUT")
    parser.add_argument("--child", nargs=2, metavar=("STORE", "JOBS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.dataset, args.child[0], int(args.child[1]))))
        return
    contenders = []
    for spec in args.contenders:
        name, _, tree = spec.partition("=")
        src, _, jobs = tree.partition(":")
        contenders.append((name, os.path.abspath(src), int(jobs or args.jobs)))
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in contenders}
    read = bench_sets.read_everything_once(args.dataset)  # untimed: every run reads it cached
    print(f"warm-up: read {read / 2**30:.2f} GiB (untimed)", flush=True)
    work = tempfile.mkdtemp(prefix="bench-pool-")
    try:
        for _ in range(args.repeat):
            for name, src, jobs in contenders:
                env = dict(os.environ, PYTHONPATH=src, JPEGAUDIT_CORE="compiled")
                store = os.path.join(work, name)
                command = [sys.executable, __file__, args.dataset, "--child", store, str(jobs)]
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
                runs[name].append(json.loads(done.stdout.splitlines()[-1]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{args.dataset}: {args.repeat} runs each, CPU us a file, median [min-max]")
    print(f"load average at the end {os.getloadavg()}")
    for name, _src, jobs in contenders:
        rs = runs[name]

        def us(key: str, rs=rs) -> list[float]:
            return [r[key] / r["files"] * 1e6 for r in rs]

        total = [(r["main_s"] + r["workers_s"]) / r["files"] * 1e6 for r in rs]
        main_rest = [(r["main_s"] - r["main_units_s"]) / r["files"] * 1e6 for r in rs]
        workers_rest = [
            (r["workers_s"] - (r["units_s"] - r["main_units_s"])) / r["files"] * 1e6 for r in rs
        ]
        med = statistics.median
        print(
            f"  {name} (jobs={jobs}): total {spread(total)}  main {spread(us('main_s'))}  "
            f"workers {spread(us('workers_s'))}  units {spread(us('units_s'))}  "
            f"main-rest {spread(main_rest)}  workers-rest {spread(workers_rest)}"
        )
        print(
            f"      units run in main {med(r['main_units'] for r in rs):.0f} of "
            f"{med(r['units'] for r in rs):.0f}; faults main {med(r['main_faults'] for r in rs):.0f}"
            f" workers {med(r['workers_faults'] for r in rs):.0f}; wall "
            f"{med(r['wall_s'] for r in rs) * 1e3:.0f} ms; maxrss main "
            f"{med(r['main_maxrss_mib'] for r in rs):.0f} MiB, a worker "
            f"{med(r['worker_maxrss_mib'] for r in rs):.0f} MiB"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"dataset": args.dataset, "contenders": contenders, "runs": runs}, f)


if __name__ == "__main__":
    main()
