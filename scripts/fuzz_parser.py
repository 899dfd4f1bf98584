"""Fuzz campaign on the header parser, the sniffer and the row builder (issue 7).

    python scripts/fuzz_parser.py --seconds 300            # atheris when installed, else random
    python scripts/fuzz_parser.py --engine random --runs 200000 --seed 1

Seeds: every JPEG/MPO under ../shared/corpora (big files cut to their header plus 4 KiB of scan
data), plus files Pillow writes here. Each input goes through four checks:
  1. parse_jpeg(data) returns a JpegHeader;
  2. reading a random prefix and growing it on NeedMoreData ends with the same header;
  3. sniff_format(first 64 bytes) is one of the documented names;
  4. audit_bytes over an in-memory read_at returns a row with every schema column.
Anything raised is a crash (counted once per exception type and innermost source line, input
saved under --out); an input slower than --hang-ms is a hang (saved too). At the end it prints
executions, unique crashes, hangs, the slowest input and the peak RSS.

With atheris the fuzzer runs in a child process (libFuzzer exits without returning to Python):
the child records crashes, hangs and its counters under --out, and the parent reads them back.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
SEED_WHOLE_FILE_MAX = 256 * 1024


class Hang(Exception):
    """Raised by the per-input alarm in the random engine."""


# ---------------------------------------------------------------------------------------------
# Seeds


def pillow_seeds() -> list[bytes]:
    from PIL import Image

    def encode(mode: str = "RGB", **options) -> bytes:
        out = io.BytesIO()
        Image.linear_gradient("L").resize((48, 32)).convert(mode).save(out, "JPEG", **options)
        return out.getvalue()

    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "fuzz-camera"
    icc = struct.pack(">I", 600) + bytes(12) + b"RGB " + bytes(580)
    return [
        encode(quality=75),
        encode("L", quality=20),
        encode("CMYK", quality=90),
        encode(quality=95, subsampling="4:4:4", progressive=True),
        encode(quality=60, optimize=True, restart_marker_blocks=2),
        encode(quality=85, exif=exif.tobytes(), icc_profile=icc, comment=b"fuzz seed"),
        encode(qtables=[[300 + k for k in range(64)], [2] * 64]),
    ]


def corpus_seeds(corpora: Path) -> list[bytes]:
    seeds = []
    if not corpora.is_dir():
        return seeds
    for path in sorted(corpora.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".jpg", ".jpeg", ".mpo"):
            data = path.read_bytes()
            if len(data) > SEED_WHOLE_FILE_MAX:
                sos = data.find(b"\xff\xda")
                data = data[: max(sos, 0) + 4096] + b"\xff\xd9"
            seeds.append(data)
    return seeds


# ---------------------------------------------------------------------------------------------
# The checks


def make_target():
    from jpegaudit.audit import ReadLimits, audit_bytes, new_row
    from jpegaudit.jpeg import JpegHeader, NeedMoreData, parse_jpeg
    from jpegaudit.schema import COLUMN_NAMES
    from jpegaudit.sniff import SNIFF_BYTES, sniff_format

    known = {
        "jpeg", "png", "gif", "webp", "bmp", "tiff", "jpeg2000", "jpegxl", "heif", "avif",
        "pdf", "html", "text", "empty", "unknown",
    }  # fmt: skip
    columns = set(COLUMN_NAMES)
    small_reads = ReadLimits(head_bytes=SNIFF_BYTES, tail_bytes=3)

    def check(data: bytes) -> None:
        header = parse_jpeg(data)
        if not isinstance(header, JpegHeader):
            raise AssertionError("parse_jpeg returned something else")
        have = (len(data) * 7) // 13  # a deterministic prefix, different for every length
        while True:
            try:
                grown = parse_jpeg(data[:have], file_size=len(data))
                break
            except NeedMoreData as more:
                if more.upto <= have:
                    raise AssertionError("NeedMoreData asked for no more bytes") from None
                have = min(max(more.upto, 2 * have), len(data))
        if grown != header:
            raise AssertionError("prefix parse differs from whole-file parse")
        if sniff_format(data[:SNIFF_BYTES]) not in known:
            raise AssertionError("unknown format name")

        def read_at(offset: int, length: int) -> bytes:
            return data[offset : offset + length]

        row = audit_bytes(read_at, len(data), new_row("f.jpg", "fuzz", "r", None))
        if set(row) != columns:
            raise AssertionError("row columns differ from the schema")
        small = audit_bytes(read_at, len(data), new_row("f.jpg", "fuzz", "r", None), small_reads)
        row.pop("read_bytes")
        small.pop("read_bytes")
        if row != small:
            raise AssertionError("row depends on read sizes or the header cache")

    return check


def crash_signature(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "jpegaudit" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}: {str(exc)[:80]}"


class Recorder:
    """Counts executions, unique crashes and hangs; saves their inputs under `out`."""

    def __init__(self, out: Path, hang_seconds: float) -> None:
        self.out = out
        self.hang_seconds = hang_seconds
        self.executions = 0
        self.crashes: dict[str, str] = {}
        self.hangs: list[str] = []
        self.slowest = 0.0
        self.last_flush = time.monotonic()
        out.mkdir(parents=True, exist_ok=True)

    def save(self, kind: str, data: bytes) -> str:
        name = f"{kind}-{len(self.crashes) + len(self.hangs):04d}.bin"
        (self.out / name).write_bytes(data)
        return name

    def run(self, check, data: bytes) -> None:
        self.executions += 1
        start = time.perf_counter()
        try:
            check(data)
        except Hang:  # the alarm stopped it: certainly slower than the limit
            pass
        except Exception as exc:  # every escape is a finding: record it and go on
            signature = crash_signature(exc)
            if signature not in self.crashes:
                self.crashes[signature] = self.save("crash", data)
        elapsed = time.perf_counter() - start
        self.slowest = max(self.slowest, elapsed)
        if elapsed > self.hang_seconds:
            self.hangs.append(self.save("hang", data))
        now = time.monotonic()
        if now - self.last_flush > 1.0:
            self.flush()
            self.last_flush = now

    def flush(self) -> None:
        stats = {
            "executions": self.executions,
            "crashes": self.crashes,
            "hangs": self.hangs,
            "slowest_ms": round(self.slowest * 1000, 2),
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
        }
        tmp = self.out / "stats.json.tmp"
        tmp.write_text(json.dumps(stats, indent=1))
        tmp.replace(self.out / "stats.json")


# ---------------------------------------------------------------------------------------------
# Engines


def marker_offsets(data: bytes) -> list[int]:
    offsets, at = [], data.find(b"\xff", 2, 65536)
    while 0 <= at < len(data) - 3:
        if 0xC0 <= data[at + 1] <= 0xFE and data[at + 1] not in (0xD8, 0xD9):
            offsets.append(at)
        at = data.find(b"\xff", at + 1, 65536)
    return offsets


def mutate(rng: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    """Structure-aware byte mutations: flips, inserts (often marker-like), deletes, truncation,
    lying segment lengths, duplicated and dropped segments, splices of two files."""
    for _ in range(rng.randint(1, 4)):
        span = min(len(data), 16384) + 1
        pos = rng.randrange(span)
        kind = rng.randrange(9)
        offsets = marker_offsets(data) if kind >= 5 else []
        if kind == 0 and data:
            pos = min(pos, len(data) - 1)
            data = data[:pos] + bytes([data[pos] ^ (1 << rng.randrange(8))]) + data[pos + 1 :]
        elif kind == 1:
            pick = rng.choice(
                [b"\xff", b"\xff\x00", b"\xff\xff", bytes([0xFF, rng.randrange(256)])]
            )
            data = data[:pos] + (pick if rng.random() < 0.7 else rng.randbytes(8)) + data[pos:]
        elif kind == 2:
            data = data[:pos] + data[pos + rng.randint(1, 64) :]
        elif kind == 3:
            data = data[: rng.randrange(len(data) + 1)]
        elif kind == 4:
            other = rng.choice(seeds)
            data = data[:pos] + other[rng.randrange(len(other) + 1) :]
        elif offsets and kind in (5, 6):
            at = rng.choice(offsets) + 2
            length = rng.choice([0, 1, 2, 3, 4, 0xFFFF, rng.randrange(0x10000)])
            data = data[:at] + struct.pack(">H", length) + data[at + 2 :]
        elif offsets and kind == 7:
            src = rng.choice(offsets)
            chunk = data[src : src + 2 + ((data[src + 2] << 8) | data[src + 3])]
            dst = rng.choice(offsets)
            data = data[:dst] + chunk * rng.randint(1, 3) + data[dst:]
        elif offsets:
            src = rng.choice(offsets)
            data = data[:src] + data[src + 2 + ((data[src + 2] << 8) | data[src + 3]) :]
    return data


def run_random(args, seeds: list[bytes]) -> dict:
    check = make_target()
    recorder = Recorder(args.out, args.hang_ms / 1000)
    rng = random.Random(args.seed)

    def alarm(signum, frame):
        raise Hang()

    signal.signal(signal.SIGALRM, alarm)
    deadline = time.monotonic() + args.seconds if args.seconds else None
    for seed in seeds:
        recorder.run(check, seed)
    while True:
        if args.runs and recorder.executions >= args.runs:
            break
        if deadline and time.monotonic() >= deadline:
            break
        data = mutate(rng, rng.choice(seeds), seeds)
        signal.setitimer(signal.ITIMER_REAL, 10 * args.hang_ms / 1000)
        try:
            recorder.run(check, data)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    recorder.flush()
    return json.loads((args.out / "stats.json").read_text())


def atheris_child(args) -> None:
    import atheris

    with atheris.instrument_imports(include=["jpegaudit"]):
        check = make_target()
    recorder = Recorder(args.out, args.hang_ms / 1000)
    seeds = [p.read_bytes() for p in sorted(Path(args.seed_dir).iterdir())]
    rng = random.Random(args.seed)

    def one_input(data: bytes) -> None:
        recorder.run(check, data)
        if recorder.executions % 4096 == 0:
            recorder.flush()

    def custom_mutator(data: bytes, max_size: int, seed: int) -> bytes:
        # Half libFuzzer's own byte mutations, half the structure-aware ones.
        if seed % 2:
            return atheris.Mutate(data, max_size)
        rng.seed(seed)
        return mutate(rng, data, seeds)[:max_size]

    libfuzzer_args = [
        sys.argv[0],
        f"-max_total_time={args.seconds}" if args.seconds else "-max_total_time=0",
        f"-runs={args.runs}" if args.runs else "-runs=-1",
        f"-seed={args.seed}",
        "-timeout=30",  # a genuine infinite loop ends the campaign with a libFuzzer report
        "-rss_limit_mb=4096",
        "-max_len=1048576",
        "-print_final_stats=1",
        args.seed_dir,
    ]
    atheris.Setup(libfuzzer_args, one_input, custom_mutator=custom_mutator)
    atheris.Fuzz()


def run_atheris(args, seeds: list[bytes]) -> dict:
    with tempfile.TemporaryDirectory(prefix="jpegaudit-fuzz-") as tmp:
        seed_dir = Path(tmp) / "seeds"
        seed_dir.mkdir()
        for k, seed in enumerate(seeds):
            (seed_dir / f"seed-{k:04d}").write_bytes(seed)
        command = [
            sys.executable, __file__, "--child", "--seed-dir", str(seed_dir),
            "--out", str(args.out), "--seconds", str(args.seconds), "--runs", str(args.runs),
            "--seed", str(args.seed), "--hang-ms", str(args.hang_ms),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
    (args.out / "libfuzzer.log").write_text(done.stderr[-200_000:])
    stats = json.loads((args.out / "stats.json").read_text())
    final = {}
    for line in done.stderr.splitlines():
        if line.startswith("stat::"):
            key, _, value = line[6:].partition(":")
            final[key.strip()] = int(value.strip())
    if "number_of_executed_units" in final:
        stats["executions"] = final["number_of_executed_units"]
    if "peak_rss_mb" in final:
        stats["peak_rss_mb"] = max(stats["peak_rss_mb"], final["peak_rss_mb"])
    stats["libfuzzer_exit"] = done.returncode
    stats["libfuzzer_tail"] = done.stderr.strip().splitlines()[-3:]
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="campaign length (0: no limit)")
    parser.add_argument("--runs", type=int, default=0, help="stop after this many inputs")
    parser.add_argument("--engine", choices=["auto", "atheris", "random"], default="auto")
    parser.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "jpegaudit-fuzz")
    parser.add_argument("--hang-ms", type=float, default=1000, help="an input slower is a hang")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    if args.child:
        atheris_child(args)
        return 0
    engine = args.engine
    if engine == "auto":
        try:
            import atheris  # noqa: F401

            engine = "atheris"
        except ImportError:
            engine = "random"
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    seeds = corpus_seeds(args.corpora) + pillow_seeds()
    started = time.monotonic()
    stats = run_atheris(args, seeds) if engine == "atheris" else run_random(args, seeds)
    elapsed = time.monotonic() - started
    print(f"engine:          {engine}")
    print(f"seeds:           {len(seeds)} ({args.corpora} present: {args.corpora.is_dir()})")
    print(f"wall time:       {elapsed:.0f} s")
    print(f"executions:      {stats['executions']} ({stats['executions'] / elapsed:.0f}/s)")
    print(f"unique crashes:  {len(stats['crashes'])}")
    for signature, name in stats["crashes"].items():
        print(f"    {name}: {signature}")
    print(f"hangs (> {args.hang_ms:.0f} ms): {len(stats['hangs'])}")
    print(f"slowest input:   {stats['slowest_ms']} ms")
    print(f"peak RSS:        {stats['peak_rss_mb']} MB")
    if engine == "atheris":
        print(f"libFuzzer exit:  {stats['libfuzzer_exit']} ({' | '.join(stats['libfuzzer_tail'])})")
    print(f"inputs saved in: {args.out}")
    clean = not stats["crashes"] and not stats["hangs"] and stats.get("libfuzzer_exit", 0) == 0
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
