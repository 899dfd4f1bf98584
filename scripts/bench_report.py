"""Benchmark `jpegaudit report` on an ImageNet-sized synthetic store (1.28 M + 50 k rows).

    python scripts/bench_report.py [--store /tmp/jpegaudit-bench-store] [--train 1281167]
                                   [--val 50000] [--umap-sample 20000] [--repeat 1] [--json OUT]

Steps, each timed in a fresh interpreter so that peak memory (`resource.getrusage(RUSAGE_SELF)
.ru_maxrss`) belongs to that step alone:

  synth      scripts/synth_store.py writes the store if it is missing (rows only, no files;
             ImageNet-like distributions), in its own process. Not part of the report's time.
  report     build_report(store, out, umap=False): load the columns the report reads, every
             statistic, drift, all figures as PNG and PDF, outlier thumbnails (the synthetic
             paths do not exist, so each thumbnail is a quick "not readable"), index.html,
             summary.json, summary.md. Target: under 60 s on 2 cores.
  umap       the projection alone, as the report runs it: load, the study's sample (10 % of
             width-or-height-500 files, capped at --umap-sample), UMAP (seeded, so single-
             threaded), HDBSCAN, cluster table, and its figure. umap-learn compiles its numba
             kernels on first use; `--repeat 2` shows the warm time (numba's on-disk cache).

The machine is shared: the load average before and after each step is printed with it, and
each step's CPU seconds (user + system, imports included), which contention moves less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _child_report(store: str, out: str) -> dict:
    from jpegaudit.report import build_report

    start = time.perf_counter()
    result = build_report(store, out, umap=False)
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "stages_s": result.seconds,
        "rows": result.rows,
        "figures": len(result.figures),
        "html_bytes": result.index_html.stat().st_size,
        "json_bytes": result.summary_json.stat().st_size,
        "warnings": result.warnings,
    }


def _child_umap(store: str, out: str, sample: int) -> dict:
    from jpegaudit.analysis.projection import project
    from jpegaudit.report.build import load_report_frame
    from jpegaudit.report.figures import fig_projection

    start = time.perf_counter()
    df = load_report_frame(store)
    loaded = time.perf_counter()
    projection = project(df, sample=sample)
    projected = time.perf_counter()
    figure = fig_projection({}, projection)
    Path(out).mkdir(parents=True, exist_ok=True)
    figure.savefig(Path(out) / "projection.png", dpi=110)
    figure.savefig(Path(out) / "projection.pdf")
    done = time.perf_counter()
    return {
        "wall_s": done - start,
        "stages_s": {
            "load": loaded - start,
            **projection.seconds,
            "figure": done - projected,
        },
        "sampling": projection.sampling,
        "clusters": sum(1 for c in projection.clusters if c["label"] >= 0),
    }


def _run_child(args: list[str]) -> dict:
    before = os.getloadavg()
    done = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["loadavg_before"] = before[0]
    result["loadavg_after"] = os.getloadavg()[0]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", default="/tmp/jpegaudit-bench-store")
    parser.add_argument("--out", default="/tmp/jpegaudit-bench-report")
    parser.add_argument("--train", type=int, default=1_281_167)
    parser.add_argument("--val", type=int, default=50_000)
    parser.add_argument("--umap-sample", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step")
    parser.add_argument("--skip-umap", action="store_true")
    parser.add_argument("--json", default=None, help="write the results here too")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        if kind == "report":
            result = _child_report(*rest)
        else:
            result = _child_umap(rest[0], rest[1], int(rest[2]))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["peak_rss_mb"] = usage.ru_maxrss / 1024
        # CPU seconds of the whole child (imports included): on a machine shared with other
        # jobs this moves far less than wall time does.
        result["cpu_s"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(result))
        return 0

    store = Path(args.store)
    expected = args.train + args.val
    synth_s = None
    if not any(store.glob("part-*.parquet")):
        # In a child process: ru_maxrss survives fork and exec, so a parent that had held the
        # synthetic table would pass its peak on to every measured child.
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, str(HERE / "synth_store.py"), str(store), "--train", str(args.train),
             "--val", str(args.val)],
            check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        synth_s = time.perf_counter() - start
    print(f"store {store} ({expected:,} rows expected)"
          + (f", synthesised in {synth_s:.1f} s" if synth_s else ", reused"))  # fmt: skip
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")

    results: dict = {"store": str(store), "rows_expected": expected, "runs": []}
    for i in range(args.repeat):
        report = _run_child(["report", str(store), args.out])
        stages = ", ".join(f"{k} {v:.1f}" for k, v in report["stages_s"].items())
        print(
            f"report (no UMAP) run {i + 1}: {report['wall_s']:.1f} s wall, "
            f"{report['cpu_s']:.1f} s CPU (whole process) "
            f"({report['wall_s'] / 60:.2f}x the 60 s target), peak RSS {report['peak_rss_mb']:.0f} MB, "
            f"{report['rows']:,} rows, {report['figures']} figures; stages: {stages}; "
            f"load average {report['loadavg_before']:.1f} -> {report['loadavg_after']:.1f}"
        )
        results["runs"].append({"step": "report", **report})
    if not args.skip_umap:
        for i in range(args.repeat):
            umap = _run_child(["umap", str(store), args.out + "-umap", str(args.umap_sample)])
            stages = ", ".join(f"{k} {v:.1f}" for k, v in umap["stages_s"].items())
            s = umap["sampling"]
            print(
                f"umap run {i + 1}: {umap['wall_s']:.1f} s wall, {umap['cpu_s']:.1f} s CPU "
                f"(whole process), peak RSS "
                f"{umap['peak_rss_mb']:.0f} MB; sample {s['sampled']:,} of {s['eligible']:,} "
                f"eligible ({s['after_500_rule']:,} after the 500-side rule), "
                f"{umap['clusters']} clusters; stages: {stages}; "
                f"load average {umap['loadavg_before']:.1f} -> {umap['loadavg_after']:.1f}"
            )
            results["runs"].append({"step": "umap", **umap})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
