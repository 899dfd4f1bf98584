"""Benchmark `jpegaudit scan` against a Pillow-based header scan and the I/O floor.

    python scripts/bench_scan.py DATASET_DIR --jobs 2 [--generate N] [--repeat 3] [--json OUT]
    python scripts/bench_scan.py --memory-only [--memory-datasets DIR DIR ...] --jobs 2
    python scripts/bench_scan.py DATASET_DIR --profile 20000 [--profile-out scan.pstats]

One invocation times, with the same process-pool size and on a warm page cache:

  pillow     per file: lazy `Image.open`, `.quantization`, `JpegImagePlugin.get_sampling`, size,
             mode, then an exact IJG dictionary match of the luma and chroma tables (both the
             baseline-clamped and the 16-bit variants of libjpeg's formula); rows are returned
             to the main process and collected.
  io-floor   per file: os.open, os.fstat (the tail offset needs the size), os.pread of the same
             head (16 KiB) and tail (64 bytes) jpegaudit reads, os.close. Nothing else.
  jpegaudit  `jpegaudit.scan([DATASET_DIR], fresh_store, jobs=jobs)`: its own walk, the audit,
             and one Parquet part written per batch of 1000 files; a fresh store each repeat.
  rescan     the same call again on the store just written (every file unchanged).

The two peers get the file list up front (jpegaudit's own walker, run once, outside the
timings), split into chunks of 1000 paths, mapped over a `ProcessPoolExecutor(jobs)` (the pool
jpegaudit uses); the timing includes starting and stopping the pool, as jpegaudit's does.
jpegaudit walks the folder itself inside its timing. Before the timings, one untimed pass reads
every file in full so that all contenders read from the page cache.

Peak memory is measured apart from the timings, in a fresh subprocess per contender (so that
`getrusage` maxima belong to that contender only), with `resource.getrusage(RUSAGE_SELF /
RUSAGE_CHILDREN)` and, when psutil is installed, by sampling the RSS of the process tree every
20 ms. `--memory-only` does this for jpegaudit alone on two dataset sizes (default /tmp/bench50k
and /tmp/bench200k) to show whether memory grows with the number of files.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, JpegImagePlugin

import jpegaudit
from jpegaudit.api import scan as jpegaudit_scan  # imported up front: not part of any timing
from jpegaudit.audit import DEFAULT_LIMITS
from jpegaudit.scanner.walk import walk

HEAD_BYTES = DEFAULT_LIMITS.head_bytes  # what jpegaudit reads first (16 KiB)
TAIL_BYTES = DEFAULT_LIMITS.tail_bytes  # and from the end of the file (64 bytes)
CHUNK = 1000  # paths per pool task, as jpegaudit's batch size
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
DEFAULT_MEMORY_DATASETS = ("/tmp/bench50k", "/tmp/bench200k")
SCRIPTS = Path(__file__).resolve().parent

# --- the Pillow-based peer -------------------------------------------------------------------

# Annex K tables, natural order; recomputed here (not taken from jpegaudit) so that the peer is
# independent, then checked against jpegaudit.quality.ijg_table at start-up.
_LUMA_BASE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_CHROMA_BASE = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    *([99] * 32),
)  # fmt: skip


def ijg_formula_table(base: tuple[int, ...], quality: int, force_baseline: bool) -> tuple:
    """libjpeg's jpeg_set_quality: scale the Annex K table, clamp to 1..255 or 1..32767."""
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    top = 255 if force_baseline else 32767
    return tuple(min(max((b * scale + 50) // 100, 1), top) for b in base)


def ijg_dictionary(base: tuple[int, ...]) -> dict[tuple, int]:
    """{table: quality} over q 1..100 and both variants; where tables coincide, the lowest q."""
    table: dict[tuple, int] = {}
    for force_baseline in (True, False):
        for q in range(1, 101):
            table.setdefault(ijg_formula_table(base, q, force_baseline), q)
    return table


IJG_LUMA = ijg_dictionary(_LUMA_BASE)
IJG_CHROMA = ijg_dictionary(_CHROMA_BASE)


def check_ijg_dictionary() -> None:
    from jpegaudit.quality import ijg_table

    for q in range(1, 101):
        for fb in (True, False):
            assert ijg_formula_table(_LUMA_BASE, q, fb) == ijg_table(q, "luma", fb), q
            assert ijg_formula_table(_CHROMA_BASE, q, fb) == ijg_table(q, "chroma", fb), q


def pillow_scan_chunk(paths: list[str]) -> list[tuple]:
    """Rows (path, format, width, height, mode, sampling, q_luma, q_chroma, error)."""
    rows = []
    for path in paths:
        try:
            with Image.open(path) as im:
                width, height = im.size
                quant = getattr(im, "quantization", None) or {}
                sampling = JpegImagePlugin.get_sampling(im) if im.format == "JPEG" else None
                q_luma = IJG_LUMA.get(tuple(quant[0])) if 0 in quant else None
                q_chroma = IJG_CHROMA.get(tuple(quant[1])) if 1 in quant else None
                rows.append(
                    (path, im.format, width, height, im.mode, sampling, q_luma, q_chroma, None)
                )
        except Exception as exc:  # a bad file is a row, as in jpegaudit
            rows.append((path, None, None, None, None, None, None, None, repr(exc)))
    return rows


# --- the I/O floor ---------------------------------------------------------------------------


def io_floor_chunk(paths: list[str]) -> tuple[int, int]:
    """(files, bytes read): exactly jpegaudit's reads for a plain JPEG, and nothing else."""
    read = 0
    for path in paths:
        fd = os.open(path, OPEN_FLAGS)
        try:
            size = os.fstat(fd).st_size
            read += len(os.pread(fd, HEAD_BYTES, 0))
            if size > HEAD_BYTES:  # smaller files have their tail in the head, as in jpegaudit
                read += len(os.pread(fd, TAIL_BYTES, size - TAIL_BYTES))
        finally:
            os.close(fd)
    return len(paths), read


def read_whole_chunk(paths: list[str]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(1 << 20):
                total += len(chunk)
    return total


# --- running ---------------------------------------------------------------------------------


def list_files(root: str) -> list[str]:
    """Every readable entry jpegaudit's walker yields under `root` (the peers' file list)."""
    return [e.fs_path for e in walk(root) if e.error is None]


def chunked(paths: list[str], size: int = CHUNK) -> list[list[str]]:
    return [paths[i : i + size] for i in range(0, len(paths), size)]


def pool_map(fn, chunks: list[list[str]], jobs: int) -> list:
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, chunks))


def time_pillow(paths: list[str], jobs: int) -> tuple[float, list[tuple]]:
    chunks = chunked(paths)
    start = time.perf_counter()
    rows = [row for part in pool_map(pillow_scan_chunk, chunks, jobs) for row in part]
    return time.perf_counter() - start, rows


def time_io_floor(paths: list[str], jobs: int) -> tuple[float, int]:
    chunks = chunked(paths)
    start = time.perf_counter()
    files = sum(n for n, _ in pool_map(io_floor_chunk, chunks, jobs))
    return time.perf_counter() - start, files


def time_jpegaudit(root: str, store: str, jobs: int) -> tuple[float, object]:
    start = time.perf_counter()
    result = jpegaudit_scan([root], store, jobs=jobs)
    return time.perf_counter() - start, result


def new_store_dir(workdir: str | None) -> str:
    parent = tempfile.mkdtemp(prefix="jpegaudit-bench-", dir=workdir)
    return os.path.join(parent, "store")


def drop_store(store: str) -> None:
    shutil.rmtree(os.path.dirname(store), ignore_errors=True)


# --- memory ----------------------------------------------------------------------------------


class TreeSampler:
    """Peak RSS of this process and of its descendants, sampled every `interval` seconds."""

    def __init__(self, interval: float = 0.02) -> None:
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.main_peak = 0
        self.child_peak = 0  # the largest single descendant
        self.children_sum_peak = 0  # all descendants at one instant (shared pages counted twice)
        self.samples = 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self._interval)
        self._sample()

    def _sample(self) -> None:
        try:
            self.main_peak = max(self.main_peak, self._me.memory_info().rss)
            total = 0
            for child in self._me.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except self._psutil.Error:
                    continue
                total += rss
                self.child_peak = max(self.child_peak, rss)
            self.children_sum_peak = max(self.children_sum_peak, total)
            self.samples += 1
        except self._psutil.Error:
            pass

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def mib(n_bytes: float | None) -> float | None:
    return None if n_bytes is None else round(n_bytes / 2**20, 1)


def _cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_child(tool: str, dataset: str, jobs: int, store: str | None, sample: bool) -> dict:
    """Body of `--child`: run one contender once in this fresh process; time only its work
    (the peers' file list is built first, untimed); with `sample`, also measure memory."""
    sampler: TreeSampler | None = None
    if sample:
        try:
            sampler = TreeSampler()
        except ImportError:
            pass
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    paths = list_files(dataset) if tool in ("pillow", "io-floor") else []
    cpu_before = _cpu_seconds(resource.RUSAGE_SELF)
    if sampler is not None:
        sampler.__enter__()
    try:
        if tool == "pillow":
            wall, rows = time_pillow(paths, jobs)
            files = len(rows)
        elif tool == "io-floor":
            wall, files = time_io_floor(paths, jobs)
        elif tool in ("jpegaudit", "rescan"):
            wall, result = time_jpegaudit(dataset, store, jobs)
            files = result.scanned + result.unchanged
            if tool == "rescan" and result.scanned:
                raise SystemExit(f"rescan read {result.scanned} files: the store was not current")
        else:
            raise SystemExit(f"unknown tool {tool!r}")
    finally:
        if sampler is not None:
            sampler.__exit__()
    # CPU seconds of this process during the run plus all its (reaped) workers: unlike wall
    # time, hardly changed by other load on the machine.
    cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu_before + _cpu_seconds(resource.RUSAGE_CHILDREN)
    out = {"tool": tool, "files": files, "wall_s": wall, "cpu_s": cpu}
    if sample:
        out.update(
            rss_before_mib=mib(rss_before),
            ru_maxrss_self_mib=mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024),
            ru_maxrss_children_mib=mib(
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
            ),
        )
    if sampler is not None:
        out.update(
            sampled_main_peak_mib=mib(sampler.main_peak),
            sampled_child_peak_mib=mib(sampler.child_peak),
            sampled_children_sum_peak_mib=mib(sampler.children_sum_peak),
            samples=sampler.samples,
        )
    return out


def in_child(tool: str, dataset: str, jobs: int, store: str | None = None, sample=False) -> dict:
    """Run one contender in a fresh interpreter (nothing imported or cached by earlier runs)."""
    cmd = [sys.executable, __file__, "--child", tool, dataset, "--jobs", str(jobs)]
    if store is not None:
        cmd += ["--store", store]
    if sample:
        cmd.append("--sample-memory")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"run of {tool} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- dataset generation ----------------------------------------------------------------------


def count_files(root: str) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def ensure_dataset(root: str, n_files: int) -> None:
    have = count_files(root) if os.path.isdir(root) else 0
    if have >= n_files:
        print(f"dataset {root}: {have} files already there (asked {n_files}); not regenerating")
        return
    generator = SCRIPTS / "make_imagenet_like.py"
    if not generator.exists():
        raise SystemExit(f"--generate needs {generator}, which does not exist yet")
    cmd = [sys.executable, str(generator), root, "--count", str(n_files)]
    print("generating:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


# --- reporting -------------------------------------------------------------------------------


def machine_info() -> dict:
    import PIL
    import pyarrow

    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                cpu,
            )
    except OSError:
        pass
    try:
        here = str(SCRIPTS.parent)
        commit = subprocess.run(
            ["git", "-C", here, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", here, "status", "--porcelain", "--", "src"],
            capture_output=True,
            text=True,
        ).stdout.split()
        source = f"{commit}{' + uncommitted changes in src/' if dirty else ''}" if commit else "?"
    except OSError:
        source = "?"
    return {
        "source": source,
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "pyarrow": pyarrow.__version__,
        "jpegaudit": jpegaudit.__version__,
        "platform": platform.platform(),
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def fmt(x, digits: int = 2) -> str:
    return "-" if x is None else f"{x:.{digits}f}" if isinstance(x, float) else str(x)


def print_table(headers: list[str], rows: list[list]) -> None:
    cells = [headers] + [[fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for k, r in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
        if k == 0:
            print("  ".join("-" * w for w in widths))


def agreement(pillow_rows: list[tuple], store: str) -> dict:
    """Did the contenders see the same files and agree on size and exact IJG quality? (pyarrow
    only: importing pandas here would hand it to the next pools' workers for free.)"""
    import pyarrow.parquet as pq

    columns = ["path", "width", "height", "quality_luma", "quality_exact"]
    table = pq.read_table(store, columns=columns)
    ours = {
        path: (w, h, q, exact)
        for path, w, h, q, exact in zip(
            *(table.column(c).to_pylist() for c in columns), strict=True
        )
    }
    same_size = same_quality = ijg_exact_both = seen = 0
    for path, _, width, height, _, _, q_luma, _, _ in pillow_rows:
        if path not in ours:
            continue
        seen += 1
        w, h, q, exact = ours[path]
        same_size += (w, h) == (width, height)
        if q_luma is not None and exact:
            ijg_exact_both += 1
            same_quality += q == q_luma
    return {
        "jpegaudit_rows": table.num_rows,
        "pillow_rows": len(pillow_rows),
        "paths_in_both": seen,
        "same_dimensions": same_size,
        "ijg_exact_in_both": ijg_exact_both,
        "same_luma_quality_where_both_exact": same_quality,
    }


# --- modes -----------------------------------------------------------------------------------


def run_benchmark(args) -> dict:
    root = os.path.abspath(args.dataset)
    if args.generate:
        ensure_dataset(root, args.generate)
    check_ijg_dictionary()
    info = machine_info()
    print(
        f"machine: {info['nproc']} CPUs, {info['cpu']}, Python {info['python']}, "
        f"Pillow {info['pillow']}, pyarrow {info['pyarrow']}, jpegaudit {info['jpegaudit']}, "
        f"load average {info['loadavg_1_5_15']}, source {info['source']}"
    )

    t0 = time.perf_counter()
    paths = list_files(root)
    list_s = time.perf_counter() - t0
    n = len(paths)
    print(f"dataset {root}: {n} files, listed in {list_s:.2f} s (untimed, for the two peers)")
    t0 = time.perf_counter()
    total = sum(pool_map(read_whole_chunk, chunked(paths), args.jobs))
    print(
        f"warm-up: read all {total / 2**30:.2f} GiB in {time.perf_counter() - t0:.1f} s (untimed)"
    )

    tools = ("io-floor", "pillow", "jpegaudit", "rescan")
    times: dict[str, list[float]] = {tool: [] for tool in tools}
    cpu: dict[str, list[float]] = {tool: [] for tool in tools}
    kept_store = None
    loads: list[float] = []  # 1-minute load average after each repeat: other work on the machine
    for rep in range(1, args.repeat + 1):
        for tool in ("io-floor", "pillow"):
            run = in_child(tool, root, args.jobs)
            if run["files"] != n:
                print(f"warning: {tool} saw {run['files']} files, the list has {n}")
            times[tool].append(run["wall_s"])
            cpu[tool].append(run["cpu_s"])
        store = new_store_dir(args.workdir)
        try:
            for tool in ("jpegaudit", "rescan"):
                run = in_child(tool, root, args.jobs, store)
                if run["files"] != n:
                    print(f"warning: {tool} saw {run['files']} files, the list has {n}")
                times[tool].append(run["wall_s"])
                cpu[tool].append(run["cpu_s"])
        finally:
            if rep == args.repeat:
                kept_store = store
            else:
                drop_store(store)
        loads.append(round(os.getloadavg()[0], 2))
        print(
            f"repeat {rep}: "
            + ", ".join(f"{tool} {v[-1]:.3f} s" for tool, v in times.items())
            + f" (load average after it: {loads[-1]})",
            flush=True,
        )
    load_after = [round(x, 2) for x in os.getloadavg()]
    print(f"load average before {info['loadavg_1_5_15']}, after the timings {load_after}")
    try:
        # Untimed cross-check of what the contenders report, on the last repeat's store.
        checks = agreement(time_pillow(paths, args.jobs)[1], kept_store)
    finally:
        drop_store(kept_store)

    memory: dict[str, dict] = {}
    if not args.no_memory:
        print("memory: one more run of each contender in a fresh subprocess (untimed)", flush=True)
        for tool in ("io-floor", "pillow", "jpegaudit"):
            store = new_store_dir(args.workdir) if tool == "jpegaudit" else None
            try:
                memory[tool] = in_child(tool, root, args.jobs, store, sample=True)
                if tool == "jpegaudit":
                    memory["rescan"] = in_child("rescan", root, args.jobs, store, sample=True)
            finally:
                if store is not None:
                    drop_store(store)

    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    ratios = {
        "wall_median": {
            "jpegaudit/pillow": med["jpegaudit"] / med["pillow"],
            "jpegaudit/io-floor": med["jpegaudit"] / med["io-floor"],
        },
        "wall_min": {
            "jpegaudit/pillow": best["jpegaudit"] / best["pillow"],
            "jpegaudit/io-floor": best["jpegaudit"] / best["io-floor"],
        },
        "cpu_median": {
            "jpegaudit/pillow": cpu_med["jpegaudit"] / cpu_med["pillow"],
            "jpegaudit/io-floor": cpu_med["jpegaudit"] / cpu_med["io-floor"],
        },
    }
    targets = {"jpegaudit/pillow": 0.5, "jpegaudit/io-floor": 1.5}
    report = {
        "machine": info,
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "dataset": root,
        "files": n,
        "jobs": args.jobs,
        "repeat": args.repeat,
        "wall_s": {k: [round(x, 3) for x in v] for k, v in times.items()},
        "cpu_s": {k: [round(x, 3) for x in v] for k, v in cpu.items()},
        "wall_median_s": {k: round(v, 3) for k, v in med.items()},
        "wall_min_s": {k: round(v, 3) for k, v in best.items()},
        "cpu_median_s": {k: round(v, 3) for k, v in cpu_med.items()},
        "files_per_s_median_wall": {k: round(n / v) for k, v in med.items()},
        "ratios": {kind: {k: round(v, 3) for k, v in r.items()} for kind, r in ratios.items()},
        "targets": {
            f"{k} <= {limit} (wall median)": ratios["wall_median"][k] <= limit
            for k, limit in targets.items()
        },
        "loadavg_after_timings": load_after,
        "loadavg_1min_after_each_repeat": loads,
        "agreement": checks,
        "memory": memory,
    }
    print()
    print(f"{n} files, jobs={args.jobs}, warm cache, {args.repeat} repeats")
    rows = []
    for tool in tools:
        m = memory.get(tool, {})
        rows.append(
            [
                tool,
                f"{med[tool]:.3f}",
                f"{best[tool]:.3f}",
                " ".join(f"{x:.3f}" for x in times[tool]),
                round(n / med[tool]),
                round(cpu_med[tool], 2),
                round(1e6 * cpu_med[tool] / n, 1),
                m.get("sampled_main_peak_mib", m.get("ru_maxrss_self_mib")),
                m.get("sampled_child_peak_mib", m.get("ru_maxrss_children_mib")),
                m.get("sampled_children_sum_peak_mib"),
            ]
        )
    print_table(
        [
            "contender",
            "wall med s",
            "wall min s",
            "wall runs",
            "files/s",
            "CPU med s",
            "CPU us/file",
            "main MiB",
            "child MiB",
            "children sum MiB",
        ],
        rows,
    )
    print("(CPU: user+sys of the main process and its workers; MiB: peak RSS, see --help)")
    print()
    for k, limit in targets.items():
        print(
            f"{k:20s} wall median {ratios['wall_median'][k]:.3f}, wall min "
            f"{ratios['wall_min'][k]:.3f}, CPU {ratios['cpu_median'][k]:.3f}  (target <= "
            f"{limit}: {'met' if ratios['wall_median'][k] <= limit else 'NOT met'})"
        )
    if checks:
        print("agreement:", ", ".join(f"{k}={v}" for k, v in checks.items()))
    return report


def run_memory_only(args) -> dict:
    datasets = args.memory_datasets or [d for d in DEFAULT_MEMORY_DATASETS if os.path.isdir(d)]
    if not datasets:
        raise SystemExit("--memory-only: no dataset (give --memory-datasets DIR ...)")
    info = machine_info()
    results = []
    for dataset in datasets:
        root = os.path.abspath(dataset)
        n = count_files(root)
        print(f"{root}: {n} files; fresh scan, then rescan, jobs={args.jobs}", flush=True)
        store = new_store_dir(args.workdir)
        try:
            fresh = in_child("jpegaudit", root, args.jobs, store, sample=True)
            rescan = in_child("rescan", root, args.jobs, store, sample=True)
        finally:
            drop_store(store)
        results.append({"dataset": root, "files": n, "fresh": fresh, "rescan": rescan})
    print()
    rows = []
    for r in results:
        for kind in ("fresh", "rescan"):
            m = r[kind]
            rows.append(
                [
                    os.path.basename(r["dataset"]),
                    kind,
                    m["files"],
                    m["wall_s"],
                    m["rss_before_mib"],
                    m.get("sampled_main_peak_mib"),
                    m["ru_maxrss_self_mib"],
                    m.get("sampled_child_peak_mib"),
                    m["ru_maxrss_children_mib"],
                    m.get("sampled_children_sum_peak_mib"),
                ]
            )
    print_table(
        [
            "dataset",
            "run",
            "files",
            "wall s",
            "main before",
            "main peak",
            "main maxrss",
            "child peak",
            "child maxrss",
            "children sum",
        ],
        rows,
    )
    print("(MiB; 'peak' sampled every 20 ms with psutil, 'maxrss' from getrusage)")
    return {
        "machine": info,
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "jobs": args.jobs,
        "memory": results,
    }


def run_profile(args) -> dict:
    """cProfile of an in-process (jobs=1) jpegaudit scan of about `args.profile` files: the
    first class folders of DATASET, reached through one root of symlinks (one root, as in a
    real scan), with the cache warm. Also times, without the profiler, the same scan and the
    one-time cost of pyarrow's first `pa.array` (it imports pandas)."""
    import cProfile
    import pstats

    import pyarrow as pa

    root = os.path.abspath(args.dataset)
    subdirs = sorted(e.path for e in os.scandir(root) if e.is_dir())
    if not subdirs:
        raise SystemExit("--profile needs a DATASET of class folders")
    workdir = tempfile.mkdtemp(prefix="jpegaudit-profile-", dir=args.workdir)
    subset = os.path.join(workdir, "subset")
    os.mkdir(subset)
    n = 0
    for d in subdirs:
        if n >= args.profile:
            break
        os.symlink(d, os.path.join(subset, os.path.basename(d)))
        n += count_files(d)
    read_whole_chunk(list_files(subset))  # warm the cache for exactly these files

    start = time.perf_counter()
    pa.array([0])
    pandas_import = time.perf_counter() - start
    try:
        start = time.perf_counter()
        plain = jpegaudit_scan([subset], os.path.join(workdir, "plain"), jobs=1)
        plain_wall = time.perf_counter() - start
        import jpegaudit.audit as audit_module

        audit_module.clear_header_caches()  # the profiled run starts as cold as the first one
        profiler = cProfile.Profile()
        start = time.perf_counter()
        profiler.enable()
        result = jpegaudit_scan([subset], os.path.join(workdir, "profiled"), jobs=1)
        profiler.disable()
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    files = result.scanned
    print(f"first pa.array (imports pandas; once per worker per scan): {pandas_import:.3f} s")
    print(
        f"jobs=1 scan of {plain.scanned} files, no profiler: {plain_wall:.2f} s = "
        f"{1e6 * plain_wall / max(plain.scanned, 1):.1f} us/file"
    )
    print(f"same, under cProfile: {wall:.2f} s = {1e6 * wall / max(files, 1):.1f} us/file")
    if args.profile_out:
        profiler.dump_stats(args.profile_out)
        print(f"stats written to {args.profile_out}")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(35)
    stats.sort_stats("cumulative").print_stats(45)
    return {
        "files": files,
        "first_pa_array_s": round(pandas_import, 3),
        "wall_s_plain": round(plain_wall, 3),
        "wall_s_under_cprofile": round(wall, 3),
    }


def run_stages(args) -> dict:
    """CPU time per file of each stage of a jpegaudit scan, run stage by stage in this process
    on about `args.stages` files (best of 3 passes each). Reaches into jpegaudit's internals
    (scanner.engine, scanner.units, audit), so it may need updating when they change."""
    import pickle
    from datetime import datetime, timezone

    import pyarrow as pa

    import jpegaudit.audit as audit_module
    from jpegaudit.audit import Origin
    from jpegaudit.audit.cache import DEFAULT_CACHE
    from jpegaudit.audit.columns import clear_quality_cache
    from jpegaudit.jpeg import parser as parser_module
    from jpegaudit.scanner.options import ScanOptions
    from jpegaudit.scanner.plan import Planner
    from jpegaudit.scanner.roots import Root
    from jpegaudit.scanner.units import FileBatch, UnitContext, Work, _audit_local_entry
    from jpegaudit.sources.compiled import CORE_NAME
    from jpegaudit.sources.remote import FetchStats
    from jpegaudit.store.arrow import rows_to_table, write_part_atomically
    from jpegaudit.store.index import StoreIndex

    pa.array([0])  # pyarrow's first conversion imports pandas: a per-worker cost, not per file
    root = os.path.abspath(args.dataset)
    workdir = tempfile.mkdtemp(prefix="jpegaudit-stages-", dir=args.workdir)
    subset = os.path.join(workdir, "subset")
    os.mkdir(subset)
    n = 0
    for d in sorted(e.path for e in os.scandir(root) if e.is_dir()):
        if n >= args.stages:
            break
        os.symlink(d, os.path.join(subset, os.path.basename(d)))
        n += count_files(d)
    paths = list_files(subset)
    n = len(paths)
    read_whole_chunk(paths)

    def per_file(fn, setup=None) -> float:
        best = float("inf")
        for _ in range(3):
            if setup is not None:
                setup()
            start = time.process_time()
            fn()
            best = min(best, time.process_time() - start)
        return round(1e6 * best / n, 1)

    def clear_caches() -> None:
        audit_module.clear_header_caches()
        clear_quality_cache()
        parser_module._decode_dqt.cache_clear()
        parser_module._decode_dht.cache_clear()

    items: list = []

    options = ScanOptions()

    def walk_and_plan() -> None:
        items.clear()
        planner = Planner(StoreIndex({}), set(), options)
        items.extend(p.item for p in planner.planned([Root(subset, "local", "x")]))

    now = datetime.now(timezone.utc)

    def audit_all() -> list[dict]:
        """The pure-Python core's rows (dicts), file by file."""
        batch = FileBatch.of(items)
        origin = Origin(batch.split, batch.root, now)
        return [_audit_local_entry(e, origin, options) for e in batch.entries()]

    def compiled_table():
        """The unit's table as a scan builds it (the compiled core when it is built)."""
        context = UnitContext(options, now, FetchStats())
        return [FileBatch.of(items[i : i + CHUNK]).rows(context) for i in range(0, n, CHUNK)]

    stages: dict[str, float] = {}
    stages["I/O floor: open, fstat, pread head and tail, close"] = per_file(
        lambda: io_floor_chunk(paths)
    )
    stages["Pillow peer (for comparison)"] = per_file(lambda: pillow_scan_chunk(paths))
    stages["main: walk + plan"] = per_file(walk_and_plan)
    batches = [FileBatch.of(items[i : i + CHUNK]) for i in range(0, n, CHUNK)]
    works = [Work(b, workdir, False, options) for b in batches]
    stages["main -> worker: pickle + unpickle the batch"] = per_file(
        lambda: [pickle.loads(pickle.dumps(w)) for w in works]
    )
    stages["worker: batch digest (twice per batch)"] = per_file(
        lambda: [(b.digest(), b.digest()) for b in batches]
    )
    stages["worker: audit every file, caches emptied first"] = per_file(audit_all, clear_caches)
    stages["worker: audit every file, caches warm"] = per_file(audit_all)
    stages[f"worker: a unit's table, as the scan builds it ({CORE_NAME} core)"] = per_file(
        compiled_table
    )
    stages["  of which new_row (the empty 70-column dict)"] = per_file(
        lambda: [audit_module.new_row(p, "x", subset, now) for p in paths]
    )
    clear_caches()
    rows = audit_all()
    cached = len(DEFAULT_CACHE.by_shape)
    stages["worker: rows_to_table"] = per_file(
        lambda: [rows_to_table(rows[i : i + CHUNK]) for i in range(0, n, CHUNK)]
    )
    tables = [rows_to_table(rows[i : i + CHUNK]) for i in range(0, n, CHUNK)]
    stages["worker: write the Parquet part (zstd)"] = per_file(
        lambda: [
            write_part_atomically(t, Path(workdir) / f"part-{i}.parquet")
            for i, t in enumerate(tables)
        ]
    )
    shutil.rmtree(workdir, ignore_errors=True)
    parsed = sum(1 for r in rows if r.get("header_bytes") is not None)
    print(f"{n} files; header cache after one cold pass: {cached} entries; CPU us per file:")
    print_table(["stage", "CPU us/file"], [[k, v] for k, v in stages.items()])
    return {"files": n, "header_cache_entries": cached, "jpeg_rows": parsed, "stages": stages}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", nargs="?", help="folder of images to scan")
    parser.add_argument("--jobs", type=int, default=2, help="pool size for every contender")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats (median reported)")
    parser.add_argument(
        "--generate",
        type=int,
        metavar="N",
        help="first create DATASET with N files (scripts/make_imagenet_like.py)",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the results as JSON")
    parser.add_argument("--workdir", help="where the temporary scan stores go (default: TMPDIR)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="only jpegaudit's peak memory on --memory-datasets",
    )
    parser.add_argument(
        "--memory-datasets",
        nargs="+",
        metavar="DIR",
        help=f"default: those of {', '.join(DEFAULT_MEMORY_DATASETS)} that exist",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="cProfile a jobs=1 jpegaudit scan of about N files and exit",
    )
    parser.add_argument("--profile-out", metavar="FILE", help="pstats file for --profile")
    parser.add_argument(
        "--stages",
        type=int,
        metavar="N",
        help="CPU time per file of each scan stage, in one process, on about N files, and exit",
    )
    parser.add_argument("--child", metavar="TOOL", help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--sample-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        report = run_child(args.child, args.dataset, args.jobs, args.store, args.sample_memory)
        print(json.dumps(report))
        return
    if args.memory_only:
        report = run_memory_only(args)
    elif args.dataset is None:
        parser.error("DATASET_DIR is required (except with --memory-only)")
    elif args.profile:
        report = run_profile(args)
    elif args.stages:
        report = run_stages(args)
    else:
        report = run_benchmark(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"JSON written to {args.json}")


if __name__ == "__main__":
    main()
