"""Benchmark `jpegaudit check` on an unchanged dataset whose store exists, against a full scan.

    python scripts/bench_check.py DATASET_DIR [--generate 50000] [--jobs 2] [--repeat 3]

The CI gate's promise is that a rerun on an unchanged dataset costs a small fraction of the
first scan: unchanged files (same size and mtime) are not read again, so the check is a walk, a
`stat` per file, reading the store and evaluating the rules. One invocation measures, with the
same pool size and a warm page cache (one untimed pass reads every file first):

  full scan   `jpegaudit.api.scan(paths, fresh_store, jobs=jobs)`: a fresh store each repeat
  check       `jpegaudit.policy.run_check(paths, policy, store=that store, jobs=jobs)` on the
              unchanged dataset: scan (nothing to read) + read store + evaluate every rule of a
              policy using every file-rule kind; its parts are timed too
  CLI         the same two as commands in a fresh process (`jpegaudit scan` / `jpegaudit
              check`), so interpreter start and imports are included, as in a CI step

It prints each median (of --repeat runs) and the ratio check / full scan. The paths are
DATASET/train and DATASET/val when they exist (splits train and val), else DATASET.

--generate N makes the dataset first with scripts/make_imagenet_like.py when DATASET_DIR does
not exist.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jpegaudit.api import read_store, scan
from jpegaudit.policy import evaluate, load_policy, run_check
from jpegaudit.policy.check import scan_paths, store_rows

HERE = Path(__file__).resolve().parent

POLICY = """\
version = 1

[[rule]]
kind = "formats"
allowed = ["jpeg"]
tolerate_fraction = 0.01

[[rule]]
kind = "extension-matches"
tolerate_fraction = 0.01

[[rule]]
kind = "min-quality"
luma = 50
chroma = 40
tolerate_fraction = 0.05

[[rule]]
kind = "subsampling"
forbidden = ["4:1:1", "4:1:0"]
tolerate_fraction = 0.01

[[rule]]
kind = "colors"
forbidden = ["cmyk", "ycck"]
tolerate_fraction = 0.01

[[rule]]
kind = "processes"
allowed = ["baseline", "progressive"]
tolerate_fraction = 0.01

[[rule]]
kind = "min-size"
width = 32
height = 32
pixels = 4096
tolerate_fraction = 0.01

[[rule]]
kind = "max-aspect-ratio"
max = 5.0
paths = ["**/*.JPEG", "**/*.jpg"]
tolerate_fraction = 0.01

[[rule]]
kind = "no-truncated"
tolerate_fraction = 0.01

[[rule]]
kind = "no-trailing-data"
tolerate_fraction = 0.01

[[rule]]
kind = "no-errors"
splits = ["train", "val"]
tolerate_fraction = 0.01
"""


def dataset_paths(root: Path) -> list[str]:
    splits = [root / s for s in ("train", "val") if (root / s).is_dir()]
    return [str(p) for p in splits] or [str(root)]


def warm_cache(paths: list[str]) -> int:
    files = 0
    for top in paths:
        for folder, _, names in os.walk(top):
            for name in names:
                with open(os.path.join(folder, name), "rb") as fh:
                    while fh.read(1 << 20):
                        pass
                files += 1
    return files


def timed(fn) -> tuple[float, object]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def cli_seconds(args: list[str]) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} exited {done.returncode}: {done.stderr}")
    return seconds, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--generate", type=int, default=None, metavar="N")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-cli", action="store_true", help="skip the subprocess timings")
    args = parser.parse_args()

    if not args.dataset.exists():
        if args.generate is None:
            raise SystemExit(f"{args.dataset} does not exist; pass --generate N to make it")
        generator = HERE / "make_imagenet_like.py"
        if not generator.exists():
            raise SystemExit(f"{generator} is missing: cannot generate the dataset")
        cmd = [sys.executable, str(generator), str(args.dataset), "--files", str(args.generate)]
        print("generating:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)

    paths = dataset_paths(args.dataset)
    work = Path(tempfile.mkdtemp(prefix="bench_check-"))
    try:
        policy_file = work / "jpegaudit.toml"
        policy_file.write_text(POLICY)
        policy = load_policy(policy_file)
        print(f"paths: {' '.join(paths)}; jobs {args.jobs}; repeat {args.repeat}", flush=True)
        files = warm_cache(paths)
        print(f"warm cache: read {files:,} files once", flush=True)

        full, check, parts = [], [], {"scan (unchanged)": [], "read store": [], "evaluate": []}
        store = work / "store"
        for _ in range(args.repeat):
            shutil.rmtree(store, ignore_errors=True)
            seconds, result = timed(lambda: scan(paths, store, jobs=args.jobs))
            assert result.scanned == files, (result.scanned, files)
            full.append(seconds)
        for _ in range(args.repeat):
            seconds, report = timed(
                lambda: run_check(paths, policy, store=str(store), jobs=args.jobs)
            )
            assert report.scan.scanned == 0 and report.scan.unchanged == files, report.scan
            check.append(seconds)
            # the same work in its three parts, to show where the time goes
            t, _ = timed(lambda: scan_paths(paths, str(store), jobs=args.jobs))
            parts["scan (unchanged)"].append(t)
            t, df = timed(lambda: store_rows(str(store), paths))
            parts["read store"].append(t)
            t, _ = timed(lambda df=df: evaluate(policy, df))
            parts["evaluate"].append(t)
        verdict = report.exit_code

        print()
        print(f"{'':26}{'median s':>10}{'min s':>10}")
        full_s, check_s = statistics.median(full), statistics.median(check)
        print(f"{'full scan (fresh store)':26}{full_s:10.3f}{min(full):10.3f}")
        print(f"{'check (store exists)':26}{check_s:10.3f}{min(check):10.3f}")
        for name, values in parts.items():
            print(f"{'  ' + name:26}{statistics.median(values):10.3f}{min(values):10.3f}")
        print(f"ratio check / full scan: {check_s / full_s:.3f} ({full_s / check_s:.1f}x faster)")
        print(f"check verdict: exit {verdict}; {len(read_store(store)):,} rows in store")

        if not args.no_cli:
            exe = shutil.which("jpegaudit") or "jpegaudit"
            cli_full, cli_check = [], []
            cli_store = work / "cli-store"
            for _ in range(args.repeat):
                shutil.rmtree(cli_store, ignore_errors=True)
                t, _ = cli_seconds([exe, "scan", *paths, "--store", str(cli_store), "-j", str(args.jobs), "--no-progress"])  # fmt: skip
                cli_full.append(t)
            for _ in range(args.repeat):
                t, _ = cli_seconds([exe, "check", *paths, "--policy", str(policy_file), "--store", str(cli_store), "-j", str(args.jobs), "--no-progress"])  # fmt: skip
                cli_check.append(t)
            cf, cc = statistics.median(cli_full), statistics.median(cli_check)
            print()
            print(f"{'CLI jpegaudit scan':26}{cf:10.3f}{min(cli_full):10.3f}")
            print(f"{'CLI jpegaudit check':26}{cc:10.3f}{min(cli_check):10.3f}")
            print(f"ratio CLI check / CLI scan: {cc / cf:.3f} ({cf / cc:.1f}x faster)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
