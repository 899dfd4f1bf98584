"""Benchmark `jpegaudit scan` against a Pillow-based header scan and the I/O floors, on data sets
that behave like real data, side by side in one run.

    python scripts/bench_scan.py --data-root DIR --sets imagenet-like,no-repeat,pool-copy,corpora
                                 --jobs 2 [--generate] [--repeat 3] [--cold] [--json OUT]
    python scripts/bench_scan.py DATASET_DIR --jobs 2 [--generate N] [--repeat 3]
    python scripts/bench_scan.py --memory-only --data-root DIR [--generate] --jobs 2
    python scripts/bench_scan.py DATASET_DIR --profile 20000 [--profile-out scan.pstats]
    python scripts/bench_scan.py DATASET_DIR --stages 20000

Sets (`--sets`, docs/performance.md "The benchmark sets"; made by scripts/make_imagenet_like.py,
found as DIR/<set>-<N/1000>k for `--files N`, or named one by one with `--set-dir SET=PATH`):

  imagenet-like  every file its own encode, ImageNet's mix, ~98 % optimized Huffman tables
  no-repeat      no two headers alike (nudged quantization tables, per-file EXIF, random sizes)
  pool-copy      a pool of 300 encodes copied to N names: headers repeat; measures the cache,
                 not real data
  corpora        the real files of shared/corpora (found by walking up from the repository;
                 `--corpora DIR`), used in place; skipped when absent. 159 files are too few to
                 time one pass, so every timed run does `--corpora-loops` (20) complete passes
                 (pool start and stop included in each) and reports per file per pass.

One invocation times, per set, with the same process-pool size and on a warm page cache:

  io-floor     per file: os.open, os.fstat (the tail offset needs the size), os.pread of the same
               head (4 KiB) and tail (64 bytes) jpegaudit reads, os.close. Nothing else.
  pillow       per file: lazy `Image.open`, `.quantization`, `JpegImagePlugin.get_sampling`,
               size, mode, then an exact IJG dictionary match of the luma and chroma tables
               (both the baseline-clamped and the 16-bit variants of libjpeg's formula, computed
               here, not taken from jpegaudit); rows are returned to the main process.
  io-floor-walk the same reads, of files this contender finds itself inside its timing: the main
               process lists the roots with os.scandir (no sort, no stat) and hands each 1000
               paths to the pool as it goes, while the workers read. The listing is I/O that
               jpegaudit (and anyone's script) cannot skip and io-floor does not count; as the
               rescan-floor counts its walk. No target of its own (issue #11 names io-floor).
  io-floor-c   io-floor's reads of the same list, made by the C loop of scripts/syscall_floor.c
               (built here with `cc` at the first run, loaded through ctypes, one call per
               chunk; skipped where there is no compiler): what the kernel's share of those
               reads costs, without Python's calls around them. No target: it says how much of
               1.5x io-floor is left for everything jpegaudit does besides the reads (printed
               as "what the target leaves").
  jpegaudit    `jpegaudit.scan(roots, fresh_store, jobs=jobs)`: its own walk, the audit, and one
               Parquet part written per unit (`ScanOptions.batch_size` files, 8192 by
               default); a fresh store each repeat.
  rescan       the same call again on the store just written (every file unchanged).
  rescan-floor one process walks the roots with os.scandir and calls os.stat once per file;
               nothing else (what a rescan of an unchanged store cannot avoid).

The io-floor and Pillow peers get the file list up front (jpegaudit's own walker, run once,
outside the timings), split into chunks of 1000 paths, mapped over a `ProcessPoolExecutor(jobs)`
(the pool jpegaudit uses); the timing includes starting and stopping the pool, as jpegaudit's
does. jpegaudit and the rescan-floor walk the folders themselves inside their timing. Before a
set's timings, one untimed pass reads every file of the set in full, so that all contenders
read from the page cache. Every timed run is a fresh interpreter (`--child`) that imports what it
needs, then times only the work; repeats interleave the contenders. CPU time is user + system
of the process and of its reaped workers (getrusage): trust it over wall time on a shared
machine. An untimed cross-check per set compares the last jpegaudit store with the Pillow rows.

`--cold` then, after all warm timings, times io-floor, pillow, jpegaudit, jpegaudit-no-tail
(the same scan with `ReadLimits(read_tail=False)`, `--no-tail`: no read of each file's end),
rescan-floor and rescan `--cold-repeat` (2) more times per set, each child writing LEVEL to
/proc/sys/vm/drop_caches (`--drop-level`, default 3: page cache, dentries and inodes) just
before its timing, where the machine permits it (else it says so and skips), and measures
what the disk allows:
sequential 1 MiB reads and random 16 KiB / 128 KiB reads of a probe file at several queue
depths, all after a drop.

Peak memory is measured apart from the timings, in a fresh subprocess per contender (so that
`getrusage` maxima belong to that contender only), with `resource.getrusage(RUSAGE_SELF /
RUSAGE_CHILDREN)` and, when psutil is installed, by sampling the RSS of the process tree every
20 ms. `--memory-only` runs a fresh scan and a rescan on two sizes of the imagenet-like set
(DIR/imagenet-like-50k and DIR/imagenet-like-200k, or `--memory-datasets`), reports whether
the fresh scan's peak is flat, the rescan's index memory per file (main-process peak growth
between the two, against a third of 0.47 KiB) and times rescan against rescan-floor at both sizes.
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
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import bench_sets  # scripts/bench_sets.py, beside this file
from PIL import Image, JpegImagePlugin

import jpegaudit
from jpegaudit.api import scan as jpegaudit_scan  # imported up front: not part of any timing
from jpegaudit.audit import DEFAULT_LIMITS
from jpegaudit.scanner.walk import walk

HEAD_BYTES = DEFAULT_LIMITS.head_bytes  # what jpegaudit reads first (4 KiB)
TAIL_BYTES = DEFAULT_LIMITS.tail_bytes  # and from the end of the file (64 bytes)
CHUNK = 1000  # paths per pool task, as jpegaudit's batch size
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
SCRIPTS = Path(__file__).resolve().parent
SETS = ("imagenet-like", "no-repeat", "pool-copy", "corpora")
SET_LABELS = {
    "imagenet-like": "imagenet-like: per-file encodes, ImageNet's mix, ~98 % optimized Huffman",
    "no-repeat": "no-repeat: no two headers alike (nudged tables, per-file EXIF, random sizes)",
    "pool-copy": "pool-copy: headers repeat; measures the cache, not real data",
    "corpora": "corpora: the real files of shared/corpora, used in place",
    "custom": "custom: a folder given on the command line",
}
GENERATED = ("imagenet-like", "no-repeat", "pool-copy")  # what make_imagenet_like.py --kind makes
FLOOR_TARGET_SETS = ("imagenet-like", "no-repeat")  # where jpegaudit <= 1.5x io-floor is a target
TOOLS = (
    "io-floor", "io-floor-walk", "io-floor-c", "pillow", "jpegaudit", "rescan", "rescan-floor"
)  # fmt: skip
# (ratio, target, sets it applies to: None = every set)
TARGETS = (
    ("jpegaudit/pillow", 0.5, None),
    ("jpegaudit/io-floor", 1.5, FLOOR_TARGET_SETS),
    ("jpegaudit/io-floor-walk", 1.5, ()),  # informational: no set has this target
    ("jpegaudit/io-floor-c", 1.5, ()),  # informational: no set has this target
    ("jpegaudit-no-tail/pillow", 0.5, ()),  # informational, cold only (run_cold)
    ("rescan/rescan-floor", 1.5, None),
)
INDEX_KIB_TARGET = round(0.47 / 3, 3)  # a third of 0.47 KiB/file, the rescan index on 0414773
MEMORY_SIZES = (50_000, 200_000)
FLAT_SHARE = 0.05  # a fresh scan's peak memory is "flat" when 4x the files move it less than this
DROP_CACHES = "/proc/sys/vm/drop_caches"

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


# io-floor's reads in C: scripts/syscall_floor.c's floor_reads(), built as a library.
C_FLOOR_SOURCE = Path(__file__).with_name("syscall_floor.c")
C_FLOOR_READS = (4096, 64)  # the head and tail that syscall_floor.c reads
C_FLOOR_LIBRARY = "JPEGAUDIT_BENCH_C_FLOOR"  # where the parent put the compiled library


def build_c_floor(workdir: str | None) -> str | None:
    """scripts/syscall_floor.c built as a shared library (once per source text, kept in the
    temporary folder); its path, or None (and why, printed) where it cannot be built or reads
    other sizes than jpegaudit's."""
    import hashlib

    if (HEAD_BYTES, TAIL_BYTES) != C_FLOOR_READS:
        print(f"io-floor-c: {C_FLOOR_SOURCE.name} reads {C_FLOOR_READS}, jpegaudit "
              f"{(HEAD_BYTES, TAIL_BYTES)}: skipped")  # fmt: skip
        return None
    text = C_FLOOR_SOURCE.read_text()
    tag = hashlib.sha1(text.encode()).hexdigest()[:12]
    library = Path(workdir or tempfile.gettempdir()) / f"jpegaudit-bench-c-floor-{tag}.so"
    if library.exists():
        return str(library)
    compiler = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if compiler is None:
        print("io-floor-c: no C compiler (cc, gcc): skipped")
        return None
    built = subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", "-DSYSCALL_FLOOR_LIBRARY", "-o", str(library),
         str(C_FLOOR_SOURCE)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if built.returncode != 0:
        print(f"io-floor-c: {compiler} failed, skipped:\n{built.stderr}")
        return None
    return str(library)


_c_floor = None


def c_floor_chunk(paths: list[str]) -> tuple[int, int]:
    """(files, bytes read): io_floor_chunk's reads, made by the C loop in one call per chunk
    (the paths encoded and joined here, in Python: about 0.1 us a file)."""
    global _c_floor
    if _c_floor is None:
        import ctypes

        _c_floor = ctypes.CDLL(os.environ[C_FLOOR_LIBRARY]).floor_reads
        _c_floor.restype = ctypes.c_longlong
        _c_floor.argtypes = (ctypes.c_char_p, ctypes.c_int, ctypes.c_void_p)
    joined = b"\0".join(map(os.fsencode, paths)) + b"\0"
    read = _c_floor(joined, len(paths), None)  # None: stop at a file it cannot open
    if read < 0:
        raise OSError(f"io-floor-c cannot read {paths[-1 - read]}")
    return len(paths), read


def walked_chunks(roots: list[str], size: int = CHUNK) -> Iterator[list[str]]:
    """The files under `roots` as os.scandir lists them (no sort, no stat: d_type tells a
    folder), `size` paths at a time, yielded as they are found."""
    chunk: list[str] = []
    stack = list(reversed(roots))
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                chunk.append(entry.path)
                if len(chunk) == size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


# --- the rescan floor ------------------------------------------------------------------------


def rescan_floor(roots: list[str]) -> int:
    """Walk `roots` with os.scandir and stat every file once: what a rescan of an unchanged
    store must do at least. Returns the number of files."""
    files = 0
    stack = list(reversed(roots))
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir():
                    stack.append(entry.path)
                else:
                    os.stat(entry.path)
                    files += 1
    return files


# --- running ---------------------------------------------------------------------------------


def list_files(roots: list[str] | str) -> list[str]:
    """Every readable entry jpegaudit's walker yields under `roots` (the peers' file list)."""
    if isinstance(roots, str):
        roots = [roots]
    return [e.fs_path for root in roots for e in walk(root) if e.error is None]


def chunked(paths: list[str], size: int = CHUNK) -> list[list[str]]:
    return [paths[i : i + size] for i in range(0, len(paths), size)]


def pool_map(fn, chunks: Iterable[list[str]], jobs: int) -> list:
    # Executor.map submits each chunk as the iterable yields it: a walk feeds the workers as
    # it goes.
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(fn, chunks))


def time_pillow(paths: list[str], jobs: int) -> tuple[float, list[tuple]]:
    chunks = chunked(paths)
    start = time.perf_counter()
    rows = [row for part in pool_map(pillow_scan_chunk, chunks, jobs) for row in part]
    return time.perf_counter() - start, rows


def loop_store(store: str, loop: int, loops: int) -> str:
    """The store of pass `loop` when a timed run makes `loops` passes (one store per pass)."""
    return store if loops == 1 else f"{store}.{loop}"


def new_store_dir(workdir: str | None) -> str:
    parent = tempfile.mkdtemp(prefix="jpegaudit-bench-", dir=workdir)
    return os.path.join(parent, "store")


def drop_store(store: str | None) -> None:
    if store is not None:
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


def run_child(
    tool: str,
    roots: list[str],
    jobs: int,
    store: str | None,
    sample: bool,
    loops: int = 1,
    drop_level: int | None = None,
) -> dict:
    """Body of `--child`: run one contender `loops` times in this fresh process; time only its
    work (the peers' file list is built first, untimed); with `sample`, also measure memory;
    with `drop_level`, drop the caches just before the timing (after the imports and the
    peers' file list, so Python's own files are not what is read cold)."""
    sampler: TreeSampler | None = None
    if sample:
        try:
            sampler = TreeSampler()
        except ImportError:
            pass
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    paths = list_files(roots) if tool in ("pillow", "io-floor", "io-floor-c") else []
    chunks = chunked(paths)
    counts: list[int] = []
    if drop_level is not None:
        problem = drop_caches(drop_level)
        if problem:
            raise SystemExit(problem)
    cpu_before = _cpu_seconds(resource.RUSAGE_SELF)
    if sampler is not None:
        sampler.__enter__()
    start = time.perf_counter()
    try:
        for loop in range(loops):
            if tool == "pillow":
                counts.append(sum(len(p) for p in pool_map(pillow_scan_chunk, chunks, jobs)))
            elif tool == "io-floor":
                counts.append(sum(n for n, _ in pool_map(io_floor_chunk, chunks, jobs)))
            elif tool == "io-floor-c":
                counts.append(sum(n for n, _ in pool_map(c_floor_chunk, chunks, jobs)))
            elif tool == "io-floor-walk":
                walked = walked_chunks(roots)
                counts.append(sum(n for n, _ in pool_map(io_floor_chunk, walked, jobs)))
            elif tool == "rescan-floor":
                counts.append(rescan_floor(roots))
            elif tool in ("jpegaudit", "jpegaudit-no-tail", "rescan"):
                # jpegaudit-no-tail (cold only): what the tail's read costs there
                limits = replace(DEFAULT_LIMITS, read_tail=tool != "jpegaudit-no-tail")
                result = jpegaudit_scan(roots, loop_store(store, loop, loops), jobs=jobs,
                                        limits=limits)  # fmt: skip
                counts.append(result.scanned + result.unchanged)
                if tool == "rescan" and result.scanned:
                    raise SystemExit(f"rescan read {result.scanned} files: the store was stale")
            else:
                raise SystemExit(f"unknown tool {tool!r}")
        wall = time.perf_counter() - start
    finally:
        if sampler is not None:
            sampler.__exit__()
    # CPU seconds of this process during the run plus all its (reaped) workers: unlike wall
    # time, hardly changed by other load on the machine.
    cpu = _cpu_seconds(resource.RUSAGE_SELF) - cpu_before + _cpu_seconds(resource.RUSAGE_CHILDREN)
    if len(set(counts)) != 1:
        raise SystemExit(f"{tool}: passes saw different numbers of files: {counts}")
    out = {"tool": tool, "files": counts[0], "loops": loops, "wall_s": wall, "cpu_s": cpu}
    if tool in ("jpegaudit", "rescan"):
        # With loops > 1, later passes fork their workers from this process: say whether it had
        # imported pandas by then (pyarrow does at its first conversion), which they then share.
        out["pandas_in_main_after"] = "pandas" in sys.modules
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


def in_child(
    tool: str,
    roots: list[str],
    jobs: int,
    store: str | None = None,
    sample: bool = False,
    loops: int = 1,
    drop_level: int | None = None,
) -> dict:
    """Run one contender in a fresh interpreter (nothing imported or cached by earlier runs);
    with `drop_level`, the child drops the caches just before its timing."""
    cmd = [sys.executable, __file__, "--child", tool, "--roots-json", json.dumps(roots)]
    cmd += ["--jobs", str(jobs), "--loops", str(loops)]
    if store is not None:
        cmd += ["--store", store]
    if sample:
        cmd.append("--sample-memory")
    if drop_level is not None:
        cmd += ["--drop-first", str(drop_level)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"run of {tool} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- data sets -------------------------------------------------------------------------------


def count_files(root: str) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def find_corpora() -> Path | None:
    """shared/corpora beside the repository or beside one of its parents (a worktree)."""
    for parent in (SCRIPTS.parent, *SCRIPTS.parent.parents):
        candidate = parent / "shared" / "corpora"
        if candidate.is_dir():
            return candidate
    return None


def set_dir_name(name: str, files: int) -> str:
    return f"{name}-{files // 1000}k" if files % 1000 == 0 else f"{name}-{files}"


def generate(kind: str, root: str, n_files: int, jobs: int) -> None:
    """Make (or complete) set `kind` with `n_files` files at `root`, if it has fewer."""
    have = count_files(root) if os.path.isdir(root) else 0
    if have >= n_files:
        print(f"{root}: {have} files already there (asked {n_files}); not regenerating")
        return
    cmd = [sys.executable, str(SCRIPTS / "make_imagenet_like.py"), root, "--kind", kind]
    cmd += ["--files", str(n_files), "--jobs", str(jobs)]
    print("generating:", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def resolve_sets(args) -> list[tuple[str, list[str]]]:
    """(set name, roots) for every set to time; missing sets generated with `--generate`,
    else skipped with a message."""
    overrides = {}
    for spec in args.set_dir or []:
        name, _, path = spec.partition("=")
        if name not in SETS or not path:
            raise SystemExit(f"--set-dir {spec!r}: want SET=PATH with SET one of {SETS}")
        overrides[name] = os.path.abspath(path)
    out: list[tuple[str, list[str]]] = []
    if args.dataset is not None:
        root = os.path.abspath(args.dataset)
        if args.generate:
            n = args.generate if args.generate > 0 else args.files
            generate("imagenet-like", root, n, args.jobs)
        out.append(("custom", [root]))
    names = [s for s in (args.sets or "").split(",") if s]
    for name in names:
        if name not in SETS:
            raise SystemExit(f"--sets: unknown set {name!r} (known: {', '.join(SETS)})")
        if name == "corpora":
            corpora = Path(overrides.get(name) or args.corpora or find_corpora() or "")
            if not str(corpora) or not corpora.is_dir():
                print("corpora: shared/corpora not found; skipped (give --corpora DIR)")
                continue
            roots = sorted(str(p) for p in corpora.iterdir() if p.is_dir())
            out.append((name, roots))
            continue
        if name in overrides:
            root = overrides[name]
        elif args.data_root:
            root = os.path.join(os.path.abspath(args.data_root), set_dir_name(name, args.files))
        else:
            raise SystemExit(f"--sets {name}: give --data-root DIR or --set-dir {name}=PATH")
        if args.generate:
            generate(name, root, args.files, args.jobs)
        if not os.path.isdir(root) or count_files(root) == 0:
            print(f"{name}: {root} is missing or empty; skipped (--generate makes it)")
            continue
        out.append((name, [root]))
    return out


def header_summary(paths: list[str], jobs: int) -> dict:
    """Untimed: the set's share of optimized Huffman tables and of unique headers."""
    infos = [i for part in pool_map(_header_infos, chunked(paths), jobs) for i in part]
    return bench_sets.summarize_headers(infos)


def _header_infos(paths: list[str]) -> list:
    return [bench_sets.read_header_info(p) for p in paths]


# --- cold cache and the disk -----------------------------------------------------------------


def drop_caches(level: int) -> str | None:
    """Write `level` to /proc/sys/vm/drop_caches (after a sync); a reason if not permitted."""
    os.sync()
    try:
        with open(DROP_CACHES, "w") as f:
            f.write(f"{level}\n")
    except OSError as exc:
        return f"dropping the page cache is not permitted here ({exc.strerror})"
    return None


def _pread_random(path: str, block: int, offsets: list[int]) -> None:
    fd = os.open(path, OPEN_FLAGS)
    try:
        if hasattr(os, "posix_fadvise"):
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no readahead: one read per call
        for offset in offsets:
            os.pread(fd, block, offset)
    finally:
        os.close(fd)


def disk_probe(directory: str, drop_level: int, size: int = 1 << 30) -> dict:
    """What the disk under `directory` allows, each figure after a cache drop: sequential 1 MiB
    reads of a `size` probe file, then random aligned reads of 16 KiB (queue depth 1, 2, 8
    threads) and 128 KiB (2 threads, about a readahead window)."""
    path = os.path.join(directory, "disk-probe.bin")
    if not os.path.exists(path) or os.path.getsize(path) != size:
        print(f"disk probe: writing {size >> 20} MiB of random bytes to {path}", flush=True)
        with open(path, "wb") as f:
            for _ in range(size >> 23):
                f.write(os.urandom(1 << 23))
    out: dict = {"probe_file": path, "probe_bytes": size, "drop_level": drop_level}

    def sequential() -> float:
        start = time.perf_counter()
        with open(path, "rb", buffering=0) as f:
            while f.read(1 << 20):
                pass
        return time.perf_counter() - start

    sequential()
    out["warm_sequential_MBps"] = round(size / sequential() / 1e6)
    drop_caches(drop_level)
    out["cold_sequential_MBps"] = round(size / sequential() / 1e6)
    import random

    rng = random.Random(0)
    for block, depth in ((16384, 1), (16384, 2), (16384, 8), (131072, 2)):
        n = 1500 * depth if block == 16384 else 1500
        offsets = [rng.randrange(size // block) * block for _ in range(n)]
        drop_caches(drop_level)
        threads = [
            threading.Thread(target=_pread_random, args=(path, block, offsets[i::depth]))
            for i in range(depth)
        ]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - start
        out[f"random_{block // 1024}KiB_qd{depth}_iops"] = round(n / wall)
        out[f"random_{block // 1024}KiB_qd{depth}_MBps"] = round(n * block / wall / 1e6, 1)
    return out


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
        # The scripts may be newer than the engine they time: name the last commit of src/ too.
        src_commit = subprocess.run(
            ["git", "-C", here, "log", "-1", "--format=%h", "--", "src"],
            capture_output=True,
            text=True,
        ).stdout.strip()
        source = (
            f"{commit} (src/ last changed in {src_commit})"
            f"{' + uncommitted changes in src/' if dirty else ''}"
            if commit
            else "?"
        )
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


def figures(times: dict, cpu: dict, n: int, loops: int) -> dict:
    """Median/min wall, median CPU and per-file figures of each contender."""
    out = {}
    for tool, walls in times.items():
        med, cpu_med = statistics.median(walls), statistics.median(cpu[tool])
        out[tool] = {
            "wall_s": [round(x, 4) for x in walls],
            "cpu_s": [round(x, 4) for x in cpu[tool]],
            "wall_median_s": round(med, 4),
            "wall_min_s": round(min(walls), 4),
            "cpu_median_s": round(cpu_med, 4),
            "cpu_us_per_file": round(1e6 * cpu_med / (n * loops), 2),
            "wall_us_per_file": round(1e6 * med / (n * loops), 2),
            "files_per_s_median_wall": round(n * loops / med),
        }
    return out


def ratios(name: str, figs: dict) -> list[dict]:
    """Each target ratio on this set, by CPU, median wall and minimum wall; met when both the
    CPU and the median-wall ratio are within the target (None where no target applies)."""
    out = []
    for ratio, target, applies in TARGETS:
        a, b = ratio.split("/")
        if a not in figs or b not in figs:
            continue
        cpu = figs[a]["cpu_median_s"] / figs[b]["cpu_median_s"]
        wall = figs[a]["wall_median_s"] / figs[b]["wall_median_s"]
        wall_min = figs[a]["wall_min_s"] / figs[b]["wall_min_s"]
        has_target = applies is None or name in applies
        out.append(
            {
                "ratio": ratio,
                "cpu": round(cpu, 3),
                "wall_median": round(wall, 3),
                "wall_min": round(wall_min, 3),
                "target": target if has_target else None,
                "met": (cpu <= target and wall <= target) if has_target else None,
            }
        )
    return out


def floor_budget(figs: dict) -> dict | None:
    """CPU us a file that jpegaudit <= 1.5x io-floor leaves for everything but the reads
    themselves (the target's figure less io-floor-c's), against what jpegaudit spends on it."""
    if "io-floor-c" not in figs:
        return None
    c_floor = figs["io-floor-c"]["cpu_us_per_file"]
    target = next(t for r, t, _ in TARGETS if r == "jpegaudit/io-floor")
    return {
        "reads_in_c_us": c_floor,
        "left_by_target_us": round(target * figs["io-floor"]["cpu_us_per_file"] - c_floor, 2),
        "spent_by_jpegaudit_us": round(figs["jpegaudit"]["cpu_us_per_file"] - c_floor, 2),
    }


def verdict(r: dict) -> str:
    if r["target"] is None:
        return "no target"
    return f"<= {r['target']}: {'met' if r['met'] else 'NOT met'}"


def bench_set(name: str, roots: list[str], args) -> dict:
    loops = args.corpora_loops if name == "corpora" else 1
    t0 = time.perf_counter()
    paths = list_files(roots)
    n = len(paths)
    listed = time.perf_counter() - t0
    print()
    print(f"== {SET_LABELS[name]}")
    shown = roots[0] if len(roots) == 1 else f"{os.path.dirname(roots[0])}/{{{len(roots)} dirs}}"
    print(f"{shown}: {n} files, listed in {listed:.2f} s (untimed, for the two peers)")
    headers = header_summary(paths, args.jobs)
    print(f"headers: {bench_sets.describe_headers(headers)}")
    if loops > 1:
        print(f"every timed run makes {loops} complete passes over these {n} files")
    t0 = time.perf_counter()
    total = sum(pool_map(bench_sets.read_whole, chunked(paths), args.jobs))
    print(
        f"warm-up: read all {total / 2**30:.2f} GiB in {time.perf_counter() - t0:.1f} s (untimed)"
    )

    tools = [t for t in TOOLS if t != "io-floor-c" or os.environ.get(C_FLOOR_LIBRARY)]
    times: dict[str, list[float]] = {tool: [] for tool in tools}
    cpu: dict[str, list[float]] = {tool: [] for tool in tools}
    extra: dict[str, object] = {}
    kept_store = None
    loads: list[float] = []

    def record(tool: str, run: dict) -> None:
        if run["files"] != n:
            print(f"warning: {tool} saw {run['files']} files, the list has {n}")
        times[tool].append(run["wall_s"])
        cpu[tool].append(run["cpu_s"])
        if "pandas_in_main_after" in run:
            extra[f"{tool}_pandas_in_main_after"] = run["pandas_in_main_after"]

    peers = [t for t in tools if t in ("io-floor", "io-floor-walk", "io-floor-c", "pillow")]
    for rep in range(1, args.repeat + 1):
        for tool in peers:
            record(tool, in_child(tool, roots, args.jobs, loops=loops))
        store = new_store_dir(args.workdir)
        try:
            for tool in ("jpegaudit", "rescan"):
                record(tool, in_child(tool, roots, args.jobs, store, loops=loops))
            record("rescan-floor", in_child("rescan-floor", roots, args.jobs, loops=loops))
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
    try:
        # Untimed cross-check of what the contenders report, on the last repeat's store.
        checks = agreement(time_pillow(paths, args.jobs)[1], loop_store(kept_store, 0, loops))
    finally:
        drop_store(kept_store)

    memory: dict[str, dict] = {}
    if not args.no_memory:
        for tool in ("io-floor", "pillow", "jpegaudit", "rescan-floor"):
            store = new_store_dir(args.workdir) if tool == "jpegaudit" else None
            try:
                memory[tool] = in_child(tool, roots, args.jobs, store, sample=True)
                if tool == "jpegaudit":
                    memory["rescan"] = in_child("rescan", roots, args.jobs, store, sample=True)
            finally:
                drop_store(store)

    figs = figures(times, cpu, n, loops)
    result = {
        "set": name,
        "label": SET_LABELS[name],
        "roots": roots,
        "files": n,
        "bytes": total,
        "loops_per_timed_run": loops,
        "headers": headers,
        "contenders": figs,
        "ratios": ratios(name, figs),
        "floor_budget": floor_budget(figs),
        "loadavg_1min_after_each_repeat": loads,
        "agreement": checks,
        "memory": memory,
        **extra,
    }
    print_set(result)
    return result


def print_set(r: dict) -> None:
    n, loops = r["files"], r["loops_per_timed_run"]
    print()
    per = f", {loops} passes per run; per-file figures per file per pass" if loops > 1 else ""
    print(
        f"{r['set']}: {n} files, warm cache, {len(r['loadavg_1min_after_each_repeat'])} repeats{per}"
    )
    rows = []
    for tool, f in r["contenders"].items():
        m = r["memory"].get(tool, {})
        rows.append(
            [
                tool,
                f["wall_median_s"],
                f["wall_min_s"],
                f["cpu_median_s"],
                f["cpu_us_per_file"],
                f["wall_us_per_file"],
                f["files_per_s_median_wall"],
                m.get("sampled_main_peak_mib", m.get("ru_maxrss_self_mib")),
                m.get("sampled_child_peak_mib", m.get("ru_maxrss_children_mib")) or None,
                m.get("sampled_children_sum_peak_mib") or None,  # None: no workers
            ]
        )
    print_table(
        [
            "contender",
            "wall med s",
            "wall min s",
            "CPU med s",
            "CPU us/file",
            "wall us/file",
            "files/s",
            "main MiB",
            "child MiB",
            "children sum MiB",
        ],
        rows,
    )
    for x in r["ratios"]:
        print(
            f"{x['ratio']:20s} CPU {x['cpu']:.3f}, wall median {x['wall_median']:.3f}, wall min "
            f"{x['wall_min']:.3f}  ({verdict(x)})"
        )
    budget = r.get("floor_budget")
    if budget:
        print(
            f"what the target leaves: the reads cost {budget['reads_in_c_us']:.2f} CPU us a file "
            f"from C; 1.5x io-floor leaves {budget['left_by_target_us']:.2f} for everything "
            f"else, jpegaudit spends {budget['spent_by_jpegaudit_us']:.2f}"
        )
    if r["agreement"]:
        print("agreement:", ", ".join(f"{k}={v}" for k, v in r["agreement"].items()))


def print_summary(results: list[dict]) -> None:
    print()
    print("summary: CPU us per file (median of the repeats), and the target ratios (CPU / wall)")
    rows = []
    for r in results:
        c = r["contenders"]
        row = [r["set"], r["files"]] + [c.get(t, {}).get("cpu_us_per_file") for t in TOOLS]
        by_name = {x["ratio"]: x for x in r["ratios"]}
        for name, _, _ in TARGETS:
            x = by_name.get(name)
            if x is None:  # a contender that did not run (io-floor-c without a compiler)
                row.append(None)
                continue
            mark = "" if x["met"] is None else (" ok" if x["met"] else " NO")
            row.append(f"{x['cpu']:.2f} / {x['wall_median']:.2f}{mark}")
        rows.append(row)
    print_table(["set", "files", *TOOLS] + [f"{t[0]} (<= {t[1]})" for t in TARGETS], rows)
    print(
        f"(jpegaudit/io-floor has its target on {', '.join(FLOOR_TARGET_SETS)} only; "
        "ok/NO: both CPU and median wall within the target)"
    )


def run_cold(results: list[dict], sets: list[tuple[str, list[str]]], args) -> dict:
    """Each contender after a cache drop, `--cold-repeat` times per set; then the disk probe."""
    problem = drop_caches(args.drop_level)
    if problem:
        print(f"\ncold cache: {problem}; skipped")
        return {"permitted": False, "reason": problem}
    print(f"\ncold cache: echo {args.drop_level} > {DROP_CACHES} before each run", flush=True)
    tools = ("io-floor", "pillow", "jpegaudit", "jpegaudit-no-tail", "rescan-floor", "rescan")
    out: dict = {"permitted": True, "drop_level": args.drop_level, "sets": {}}
    for (name, roots), warm in zip(sets, results, strict=True):
        n = warm["files"]
        times: dict[str, list[float]] = {t: [] for t in tools}
        cpu: dict[str, list[float]] = {t: [] for t in tools}
        for _ in range(args.cold_repeat):
            store = new_store_dir(args.workdir)
            stores = {"jpegaudit": store, "rescan": store, "jpegaudit-no-tail": f"{store}-no-tail"}
            try:
                for tool in tools:
                    run = in_child(
                        tool,
                        roots,
                        args.jobs,
                        stores.get(tool),
                        drop_level=args.drop_level,
                    )
                    times[tool].append(run["wall_s"])
                    cpu[tool].append(run["cpu_s"])
            finally:
                drop_store(store)
        figs = figures(times, cpu, n, 1)
        out["sets"][name] = {"files": n, "contenders": figs, "ratios": ratios(name, figs)}
        print(f"{name} (cold, {args.cold_repeat} runs each):")
        print_table(
            ["contender", "wall med s", "wall min s", "CPU med s", "wall us/file", "files/s"],
            [
                [t, f["wall_median_s"], f["wall_min_s"], f["cpu_median_s"]]
                + [f["wall_us_per_file"], f["files_per_s_median_wall"]]
                for t, f in figs.items()
            ],
        )
        for x in out["sets"][name]["ratios"]:
            print(f"  {x['ratio']:20s} wall median {x['wall_median']:.3f}, CPU {x['cpu']:.3f}")
    probe_dir = args.data_root or args.workdir or tempfile.gettempdir()
    disk = disk_probe(probe_dir, args.drop_level)
    out["disk"] = disk
    print("disk (after a drop each):", ", ".join(f"{k} {v}" for k, v in disk.items()))
    iops = disk.get(f"random_16KiB_qd{args.jobs}_iops") or disk["random_16KiB_qd2_iops"]
    for name, cold in out["sets"].items():
        floor = cold["contenders"]["io-floor"]
        reads = floor["wall_median_s"] * iops / cold["files"]
        cold["floor_equals_random_16KiB_reads_per_file"] = round(reads, 2)
        print(
            f"  {name}: the cold io-floor's wall time is what {reads:.2f} random 16 KiB reads per "
            f"file take at queue depth {args.jobs} ({iops} reads/s)"
        )
    return out


def run_benchmark(args) -> dict:
    check_ijg_dictionary()
    info = machine_info()
    print(
        f"machine: {info['nproc']} CPUs, {info['cpu']}, Python {info['python']}, "
        f"Pillow {info['pillow']}, pyarrow {info['pyarrow']}, jpegaudit {info['jpegaudit']}, "
        f"load average {info['loadavg_1_5_15']}, source {info['source']}"
    )
    sets = resolve_sets(args)
    if not sets:
        raise SystemExit("no data set to time (give DATASET, or --sets with --data-root)")
    library = build_c_floor(args.workdir)
    if library is not None:
        os.environ[C_FLOOR_LIBRARY] = library  # the children inherit it
    results = [bench_set(name, roots, args) for name, roots in sets]
    load_after = [round(x, 2) for x in os.getloadavg()]
    print_summary(results)
    print(f"load average before {info['loadavg_1_5_15']}, after the warm timings {load_after}")
    cold = run_cold(results, sets, args) if args.cold else None
    return {
        "machine": info,
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "jobs": args.jobs,
        "repeat": args.repeat,
        "targets": [{"ratio": r, "target": t, "sets": s or "all"} for r, t, s in TARGETS],
        "sets": results,
        "loadavg_after_warm_timings": load_after,
        "cold": cold,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def memory_datasets(args) -> list[str]:
    if args.memory_datasets:
        return [os.path.abspath(d) for d in args.memory_datasets]
    if not args.data_root:
        raise SystemExit("--memory-only: give --data-root DIR (or --memory-datasets DIR DIR)")
    roots = []
    for n in MEMORY_SIZES:
        root = os.path.join(os.path.abspath(args.data_root), set_dir_name("imagenet-like", n))
        if args.generate:
            generate("imagenet-like", root, n, args.jobs)
        if os.path.isdir(root):
            roots.append(root)
        else:
            print(f"{root} is missing; skipped (--generate makes it)")
    return roots


def run_memory_only(args) -> dict:
    """Fresh scan and rescan of each dataset in a fresh, memory-sampled process; then rescan
    against rescan-floor, interleaved, `--repeat` times; then what grows with the files."""
    datasets = memory_datasets(args)
    if not datasets:
        raise SystemExit("--memory-only: no dataset")
    info = machine_info()
    print(f"machine: load average {info['loadavg_1_5_15']}, source {info['source']}")
    results = []
    for root in datasets:
        n = count_files(root)
        print(f"{root}: {n} files; fresh scan, rescan, then rescan vs rescan-floor", flush=True)
        store = new_store_dir(args.workdir)
        try:
            fresh = in_child("jpegaudit", [root], args.jobs, store, sample=True)
            rescan = in_child("rescan", [root], args.jobs, store, sample=True)
            times: dict[str, list[float]] = {"rescan": [], "rescan-floor": []}
            cpu: dict[str, list[float]] = {"rescan": [], "rescan-floor": []}
            for _ in range(args.repeat):
                for tool in ("rescan-floor", "rescan"):
                    run = in_child(tool, [root], args.jobs, store if tool == "rescan" else None)
                    times[tool].append(run["wall_s"])
                    cpu[tool].append(run["cpu_s"])
        finally:
            drop_store(store)
        figs = figures(times, cpu, n, 1)
        results.append(
            {
                "dataset": root,
                "files": n,
                "fresh": fresh,
                "rescan": rescan,
                "rescan_timing": figs,
                "ratios": ratios("imagenet-like", figs),
            }
        )
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
                    round(m["wall_s"], 2),
                    m["rss_before_mib"],
                    m.get("sampled_main_peak_mib"),
                    m["ru_maxrss_self_mib"],
                    m.get("sampled_child_peak_mib") or None,  # None: no workers
                    m["ru_maxrss_children_mib"] or None,
                    m.get("sampled_children_sum_peak_mib") or None,
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
    print()
    print("rescan of an unchanged store against the rescan floor (walk + one stat per file):")
    rows = []
    for r in results:
        f = r["rescan_timing"]
        x = r["ratios"][0]
        rows.append(
            [os.path.basename(r["dataset"]), r["files"]]
            + [f[t]["cpu_us_per_file"] for t in ("rescan-floor", "rescan")]
            + [f[t]["wall_median_s"] for t in ("rescan-floor", "rescan")]
            + [x["cpu"], x["wall_median"], verdict(x)]
        )
    print_table(
        [
            "dataset",
            "files",
            "floor CPU us/file",
            "rescan CPU us/file",
            "floor wall s",
            "rescan wall s",
            "CPU ratio",
            "wall ratio",
            "target",
        ],
        rows,
    )
    growth: dict = {}
    if len(results) >= 2:
        small, large = results[0], results[-1]
        extra_files = large["files"] - small["files"]

        def per_file(kind: str, key: str) -> float | None:
            a, b = small[kind].get(key), large[kind].get(key)
            if a is None or b is None or extra_files <= 0:
                return None
            return round((b - a) * 1024 / extra_files, 4)

        index = per_file("rescan", "sampled_main_peak_mib")
        if index is None:
            index = per_file("rescan", "ru_maxrss_self_mib")
        fresh_main = per_file("fresh", "sampled_main_peak_mib")
        fresh_child = per_file("fresh", "sampled_child_peak_mib")

        def growth_share(key: str) -> float | None:
            a, b = small["fresh"].get(key), large["fresh"].get(key)
            return None if not a or b is None else (b - a) / a

        shares = [growth_share("sampled_main_peak_mib"), growth_share("sampled_child_peak_mib")]
        growth = {
            "index_kib_per_file": index,
            "index_target_kib_per_file": INDEX_KIB_TARGET,
            "index_target_met": None if index is None else index <= INDEX_KIB_TARGET,
            "fresh_main_kib_per_file": fresh_main,
            "fresh_largest_worker_kib_per_file": fresh_child,
            "fresh_peak_growth_share": [None if x is None else round(x, 4) for x in shares],
            # Flat: each peak (main, largest worker) within 5 % of the smaller set's. The
            # workers' header caches are bounded (4096 entries), so they fill on either set.
            "fresh_flat": None if None in shares else max(abs(x) for x in shares) < FLAT_SHARE,
        }
        print()
        print(
            f"rescan index memory: {index} KiB per file (main-process peak growth from "
            f"{small['files']} to {large['files']} files; target <= {INDEX_KIB_TARGET}: "
            f"{'met' if growth['index_target_met'] else 'NOT met'})"
        )
        print(
            f"fresh scan peak growth: main {fresh_main} KiB/file, largest worker {fresh_child} "
            f"KiB/file ({', '.join(f'{100 * x:+.1f} %' for x in shares if x is not None)} of the "
            f"smaller set's peaks): {'flat' if growth['fresh_flat'] else 'NOT flat'} (flat: each "
            f"within {100 * FLAT_SHARE:.0f} %)"
        )
    return {
        "machine": info,
        "command": " ".join([os.path.basename(sys.executable), *sys.argv]),
        "jobs": args.jobs,
        "repeat": args.repeat,
        "memory": results,
        "growth": growth,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
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
    bench_sets.read_whole(list_files(subset))  # warm the cache for exactly these files

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
    from jpegaudit.scanner.plan import Planner, batched_works
    from jpegaudit.scanner.roots import Root
    from jpegaudit.scanner.units import FileBatch, LocalItem, UnitContext, Work, _audit_local_entry
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
    bench_sets.read_whole(paths)

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
        planner = Planner(StoreIndex.empty(), set(), options)
        works = batched_works(planner.planned([Root(subset, "local", "x")]), options, workdir, {})
        items.extend(LocalItem(e, subset, "x") for w in works for e in w.unit.entries())

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
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", nargs="?", help="a folder of images to time as set 'custom'")
    parser.add_argument(
        "--sets", help=f"comma-separated sets to time, in this order: {','.join(SETS)}"
    )
    parser.add_argument("--data-root", metavar="DIR", help="where the sets are: DIR/<set>-<N>k")
    parser.add_argument(
        "--set-dir", action="append", metavar="SET=PATH", help="one set's folder (repeatable)"
    )
    parser.add_argument("--corpora", metavar="DIR", help="default: shared/corpora, found upward")
    parser.add_argument(
        "--corpora-loops", type=int, default=20, help="passes per timed run on corpora (20)"
    )
    parser.add_argument("--files", type=int, default=50_000, help="files per generated set")
    parser.add_argument(
        "--generate",
        nargs="?",
        type=int,
        const=-1,
        metavar="N",
        help="first make missing sets (scripts/make_imagenet_like.py): --files each, or N for "
        "DATASET",
    )
    parser.add_argument("--jobs", type=int, default=2, help="pool size for every contender")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats (median reported)")
    parser.add_argument("--json", metavar="OUT", help="also write every figure as JSON")
    parser.add_argument("--workdir", help="where the temporary scan stores go (default: TMPDIR)")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument(
        "--cold", action="store_true", help="also time each contender after a cache drop"
    )
    parser.add_argument(
        "--drop-level",
        type=int,
        choices=(1, 2, 3),
        default=3,
        help="what --cold drops: 1 page cache, 3 also dentries and inodes (default)",
    )
    parser.add_argument("--cold-repeat", type=int, default=2, help="cold runs per contender")
    parser.add_argument(
        "--disk-only", action="store_true", help="only measure what the disk allows, and exit"
    )
    parser.add_argument(
        "--memory-only",
        action="store_true",
        help="fresh scan and rescan at 50k and 200k files: peak memory, index memory per file, "
        "rescan vs rescan-floor",
    )
    parser.add_argument(
        "--memory-datasets",
        nargs="+",
        metavar="DIR",
        help="default: DATA_ROOT/imagenet-like-50k and imagenet-like-200k",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        help="cProfile a jobs=1 jpegaudit scan of about N files of DATASET and exit",
    )
    parser.add_argument("--profile-out", metavar="FILE", help="pstats file for --profile")
    parser.add_argument(
        "--stages",
        type=int,
        metavar="N",
        help="CPU time per file of each scan stage, in one process, on about N files, and exit",
    )
    parser.add_argument("--child", metavar="TOOL", help=argparse.SUPPRESS)
    parser.add_argument("--roots-json", help=argparse.SUPPRESS)
    parser.add_argument("--loops", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--drop-first", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--store", help=argparse.SUPPRESS)
    parser.add_argument("--sample-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        report = run_child(
            args.child,
            json.loads(args.roots_json),
            args.jobs,
            args.store,
            args.sample_memory,
            args.loops,
            args.drop_first,
        )
        print(json.dumps(report))
        return
    if args.memory_only:
        report = run_memory_only(args)
    elif args.disk_only:
        problem = drop_caches(args.drop_level)
        if problem:
            raise SystemExit(problem)
        report = disk_probe(
            args.data_root or args.workdir or tempfile.gettempdir(), args.drop_level
        )
        print(json.dumps(report, indent=2))
    elif args.profile or args.stages:
        if args.dataset is None:
            parser.error("--profile and --stages need DATASET_DIR")
        report = run_profile(args) if args.profile else run_stages(args)
    elif args.dataset is None and not args.sets:
        parser.error("give DATASET_DIR or --sets (or --memory-only)")
    else:
        report = run_benchmark(args)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"JSON written to {args.json}")


if __name__ == "__main__":
    main()
