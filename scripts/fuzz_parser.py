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
saved under --out); an input taking more CPU time than --hang-ms is a hang (saved too). At the
end it prints executions, unique crashes, hangs, the slowest input and the peak RSS.

With atheris the fuzzer runs in a child process (libFuzzer exits without returning to Python):
the child records crashes, hangs and its counters under --out, and the parent reads them back.

--differential checks the compiled core (jpegaudit._ccore) against the Python core instead:

    python scripts/fuzz_parser.py --differential --engine random --runs 10000000 --seed 1

Every input goes to both cores, with the read limits, claimed size and path that
`differential_case` derives from its bytes (the defaults for half of them). A disagreement is a
compiled row that differs from the reference row in any column, or a clean reference row (jpeg,
no error, no warning) that the compiled core handed back; each is saved with a minimal
reproducer (`*.min.bin` and the case in `*.json`). Both engines then run in a child process, so
that a native crash (an AddressSanitizer report) or a hang inside the extension, which no
Python handler sees, is still caught: the child keeps its current input in a shared file, and
the parent saves it when the child dies or stops advancing. docs/fuzzing.md has the sanitizer
build and the campaign.
"""

from __future__ import annotations

import argparse
import io
import json
import mmap
import os
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
import zlib
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
SEED_WHOLE_FILE_MAX = 256 * 1024
# --differential cuts seeds sooner: both cores read only the header and the tail, and smaller
# inputs mutate faster (tail windows still grow past 16 KiB on the uncut files).
DIFFERENTIAL_SEED_WHOLE_FILE_MAX = 32 * 1024


class Hang(Exception):
    """Raised by the per-input alarm in the random engine."""


class Disagreement(Exception):
    """The two cores gave different answers for one input under one case."""

    def __init__(self, case: dict, differ: dict) -> None:
        super().__init__(f"{sorted(differ)}")
        self.case = case
        self.differ = differ


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


def synthetic_seeds() -> list[bytes]:
    """Headers no encoder here writes: EXIF text tags in both byte orders (repeated, empty,
    non-ASCII, SLONG orientation), Adobe + Photoshop, JFIF 1.02 in dots per cm, ICC chunks out
    of order, DRI, 16-bit and shared tables, 4 components, lossless and arithmetic frames."""

    def seg(code: int, payload: bytes) -> bytes:
        return bytes([0xFF, code]) + struct.pack(">H", len(payload) + 2) + payload

    def tiff(order: str, entries: list[tuple[int, int, int, bytes]]) -> bytes:
        e = "<" if order == "II" else ">"
        out = order.encode() + struct.pack(e + "HI", 42, 8) + struct.pack(e + "H", len(entries))
        after, extra = 8 + 2 + 12 * len(entries) + 4, b""
        for tag, typ, count, value in entries:
            field = (
                value.ljust(4, b"\0")
                if len(value) <= 4
                else struct.pack(e + "I", after + len(extra))
            )
            extra += value if len(value) > 4 else b""
            out += struct.pack(e + "HHI", tag, typ, count) + field
        return out + bytes(4) + extra

    def jpeg(*segments: bytes, sof: int = 0xC0, comps=((1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)),
             bits: int = 0) -> bytes:  # fmt: skip
        width = 2 if bits else 1
        tables = b"".join(
            bytes([bits << 4 | slot]) + b"".join(v.to_bytes(width, "big") for v in [slot + 2] * 64)
            for slot in range(2)
        )
        frame = bytes([8]) + struct.pack(">HH", 16, 16) + bytes([len(comps)])
        frame += b"".join(bytes(c) for c in comps)
        dht = bytes([0]) + bytes([0, 1] + [0] * 14) + b"\x05"
        scan = bytes([len(comps)]) + b"".join(bytes([c[0], 0]) for c in comps) + bytes([0, 63, 0])
        return (b"\xff\xd8" + b"".join(segments) + seg(0xDB, tables) + seg(sof, frame)
                + seg(0xC4, dht) + seg(0xDA, scan) + b"\x12\x34" * 40 + b"\xff\xd9")  # fmt: skip

    exif = [
        tiff("II", [(0x010F, 2, 6, b"Canon\0"), (0x010F, 2, 1, b"\0"), (0x0112, 3, 1, b"\x06\0")]),
        tiff(
            "MM",
            [
                (0x0110, 2, 9, b" Model X\0"),
                (0x0131, 7, 5, b"GIMP\0"),
                (0x0112, 9, 1, b"\0\0\0\x03"),
            ],
        ),  # fmt: skip
        tiff("II", [(0x010F, 2, 8, b"Nik\xc3\xb8n\0\0"), (0x0131, 2, 5, b"\xff\xfebad")]),
    ]
    icc_head = struct.pack(">I", 128) + bytes(12) + b"GRAY" + bytes(108)
    return [
        *(jpeg(seg(0xE1, b"Exif\0\0" + t)) for t in exif),
        jpeg(seg(0xED, b"Photoshop 3.0\0"), seg(0xEE, b"Adobe\0\x64\0\0\0\0\x01")),
        jpeg(seg(0xE0, b"JFIF\0\x01\x02\x02\0\x48\0\x60\0\0"), seg(0xDD, b"\0\x07")),
        jpeg(
            seg(0xE2, b"ICC_PROFILE\0\x02\x02" + bytes(40)),
            seg(0xE2, b"ICC_PROFILE\0\x01\x02" + icc_head),
            seg(0xFE, b"note\0\0"),
        ),  # fmt: skip
        jpeg(bits=1, comps=((1, 0x11, 0), (2, 0x11, 1), (3, 0x11, 1))),
        jpeg(comps=((1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1), (4, 0x22, 0))),
        jpeg(sof=0xC3, comps=((1, 0x11, 0),)),
        jpeg(sof=0xC9, comps=((82, 0x11, 0), (71, 0x11, 0), (66, 0x11, 0))),
    ]


def corpus_seeds(corpora: Path, whole_max: int = SEED_WHOLE_FILE_MAX) -> list[bytes]:
    seeds = []
    if not corpora.is_dir():
        return seeds
    for path in sorted(corpora.rglob("*")):
        if path.is_file() and path.suffix.lower() in (".jpg", ".jpeg", ".mpo"):
            data = path.read_bytes()
            if len(data) > whole_max:
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


# ---------------------------------------------------------------------------------------------
# The differential target: the compiled core against the Python core

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
# Read limits that force each path of the read strategy: a head that must grow (64, 700), no
# tail read, a small header cap, small tail windows. The defaults are case 0.
LIMIT_CASES = [
    {},
    {"head_bytes": 64},
    {"head_bytes": 700, "tail_bytes": 2},
    {"read_tail": False},
    {"head_bytes": 64, "read_tail": False},
    {"max_header_bytes": 1024},
    {"head_bytes": 300, "max_header_bytes": 600},
    {"tail_bytes": 8, "max_tail_bytes": 100},
    {"tail_bytes": 1, "max_tail_bytes": 16},
    {"head_bytes": 2},
    {"head_bytes": 3, "max_header_bytes": 4096},
]
PATHS = ["f.jpg", "a.JPEG", "b.png", "noext", "dir.v2/c", ".hidden", "d.jfif", "e.\u00e9",
         "back\\slash.TIF", "f." + "x" * 70]  # fmt: skip


def differential_case(data: bytes) -> dict:
    """The case an input is checked with, a function of its bytes (a saved input replays alike,
    and libFuzzer's inputs stay deterministic): half the inputs with the default limits, the
    exact size and a .jpg path; the others with one of LIMIT_CASES or limits drawn at random,
    now and then a claimed size larger than the bytes (a file that shrank after its stat)."""
    key = zlib.crc32(data[-64:], zlib.crc32(data[:4096], len(data)))
    if key & 1:
        return {"limits": {}, "extra_size": 0, "path": "f.jpg"}
    rng = random.Random(key)
    if rng.random() < 0.6:
        limits = dict(rng.choice(LIMIT_CASES))
    else:
        limits = {
            "head_bytes": rng.choice([2, 16, 64, 200, rng.randint(2, 40000)]),
            "max_header_bytes": rng.choice([1 << 24, rng.randint(64, 70000)]),
            "tail_bytes": rng.choice([1, 2, 64, rng.randint(1, 5000)]),
            "max_tail_bytes": rng.choice([1 << 20, rng.randint(1, 70000)]),
            "read_tail": rng.random() < 0.8,
        }
    extra = 0
    if rng.random() < 0.2:
        extra = rng.choice([1, 2, 64, rng.randint(1, 1 << 20)])
    return {"limits": limits, "extra_size": extra, "path": rng.choice(PATHS)}


def make_differential_target():
    """check(data) raises Disagreement when the cores differ on `differential_case(data)`."""
    from dataclasses import fields

    from jpegaudit.audit import ReadLimits, audit_bytes, new_row
    from jpegaudit.sources.compiled import compiled
    from jpegaudit.store.arrow import rows_to_table, table_from_columns

    if compiled is None:
        raise SystemExit(
            "--differential: jpegaudit._ccore is not built (python setup.py build_ext)"
        )
    names = [f.name for f in fields(ReadLimits)]
    # clean: reference rows on the clean path; answered: rows the compiled core gave; arrow:
    # of those, compared through Arrow; shrunk: inputs with a claimed size over their bytes.
    counters = {"clean": 0, "answered": 0, "arrow": 0, "shrunk": 0}

    def compare(data: bytes, case: dict) -> dict:
        """{column: (reference, compiled)} where they differ; {} when they agree."""
        limits = ReadLimits(**case["limits"])
        size = len(data) + case["extra_size"]
        row = new_row(case["path"], "train", "data", NOW)
        row["entry_type"], row["bytes"] = "file", size
        reference = audit_bytes(lambda offset, n: data[offset : offset + n], size, row, limits)
        columns = compiled.audit_buffer(
            data, case["path"], "train", "data", NOW, tuple(getattr(limits, n) for n in names),
            size if case["extra_size"] else None,
        )  # fmt: skip
        clean = (reference["format"] == "jpeg" and reference["error"] is None
                 and reference["warnings"] is None)  # fmt: skip
        counters["clean"] += clean
        counters["shrunk"] += case["extra_size"] > 0
        if columns is None:
            # By design the compiled core also hands back a file that shrank under its reads
            # (the reference judges what is left) and an extension over 64 bytes.
            by_design = case["extra_size"] or len(reference["ext"].encode()) > 64
            return {"(answered)": (True, False)} if clean and not by_design else {}
        counters["answered"] += 1
        # Every answered row is compared column by column through Arrow. (A cheaper check, the
        # two cores' column buffers compared directly, was here until 2026-12-01 and never
        # passed: the buffers compare by identity, so every row took this path anyway.)
        counters["arrow"] += 1
        ours = table_from_columns(columns.finish()).to_pylist()[0]
        expected = rows_to_table([reference]).to_pylist()[0]
        return {
            k: (expected[k], ours.get(k, "<missing>"))
            for k in expected
            if expected[k] != ours.get(k, "<missing>")
        }

    def check(data: bytes) -> None:
        case = differential_case(data)
        differ = compare(data, case)
        if differ:
            raise Disagreement(case, differ)

    check.compare = compare
    check.counters = counters
    return check


def minimize(holds, data: bytes, budget: int = 3000) -> bytes:
    """The shortest input found (chunk deletions, then byte clearing) for which `holds` (the
    same finding), within `budget` tries."""
    tries = 0

    def still(candidate: bytes) -> bool:
        nonlocal tries
        tries += 1
        return holds(candidate)

    chunk = max(len(data) // 2, 1)
    while chunk >= 1 and tries < budget:
        at, shrunk = 0, False
        while at < len(data) and tries < budget:
            candidate = data[:at] + data[at + chunk :]
            if still(candidate):
                data, shrunk = candidate, True
            else:
                at += chunk
        if not shrunk:
            chunk //= 2
    for at in range(len(data)):
        if tries >= budget:
            break
        if data[at] not in (0, 0xFF):
            candidate = data[:at] + b"\x00" + data[at + 1 :]
            if still(candidate):
                data = candidate
    return data


def crashes_alike(check, data: bytes, signature: str) -> bool:
    try:
        check(data)
    except Exception as exc:
        return crash_signature(exc) == signature
    return False


def crash_signature(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "jpegaudit" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}: {str(exc)[:80]}"


LIVE_MAX = 1 << 20  # the largest input (libFuzzer's -max_len)


class LiveInput:
    """The input being run, in a shared file that outlives the process: after a native crash
    or a kill, the parent reads back what the child was running (`read`)."""

    def __init__(self, path: Path) -> None:
        with open(path, "wb") as f:
            f.truncate(16 + LIVE_MAX)
        self.fd = os.open(path, os.O_RDWR)
        self.map = mmap.mmap(self.fd, 16 + LIVE_MAX)
        self.seq = 0

    def set(self, data: bytes) -> None:
        self.seq += 1
        n = min(len(data), LIVE_MAX)
        self.map[16 : 16 + n] = data[:n]
        self.map[:16] = struct.pack("<QQ", self.seq, n)

    @staticmethod
    def read(path: Path) -> tuple[int, bytes]:
        """(sequence number, input) of the last input started; (0, b"") before the first."""
        try:
            with open(path, "rb") as f:
                seq, n = struct.unpack("<QQ", f.read(16))
                return seq, f.read(n)
        except (OSError, struct.error):
            return 0, b""


class Recorder:
    """Counts executions, unique crashes, hangs and disagreements; saves their inputs under
    `out` (a disagreement with its case, its differing columns and a minimal reproducer)."""

    def __init__(self, out: Path, hang_seconds: float, live: bool = False) -> None:
        self.out = out
        self.hang_seconds = hang_seconds
        self.executions = 0
        self.crashes: dict[str, str] = {}
        self.hangs: list[str] = []
        self.disagreements: dict[str, str] = {}
        self.disagreement_count = 0
        self.slowest = 0.0
        self.started = time.monotonic()
        self.last_flush = time.monotonic()
        out.mkdir(parents=True, exist_ok=True)
        self.live = LiveInput(out / "live-input") if live else None
        self.check = None

    def save(self, kind: str, data: bytes) -> str:
        found = len(self.crashes) + len(self.hangs) + len(self.disagreements)
        name = f"{kind}-{found:04d}.bin"
        (self.out / name).write_bytes(data)
        return name

    def run(self, check, data: bytes) -> None:
        self.check = check
        self.executions += 1
        if self.live is not None:
            self.live.set(data)
        start = time.process_time()  # CPU time: other jobs on the machine do not count
        disagreement = None
        try:
            check(data)
        except Hang:  # the alarm stopped it: certainly slower than the limit
            pass
        except Disagreement as found:
            disagreement = found
        except Exception as exc:  # every escape is a finding: record it and go on
            signature = crash_signature(exc)
            if signature not in self.crashes:
                self.crashes[signature] = name = self.save("crash", data)
                small = minimize(lambda candidate: crashes_alike(check, candidate, signature), data)
                (self.out / name.replace(".bin", ".min.bin")).write_bytes(small)
        elapsed = time.process_time() - start
        self.slowest = max(self.slowest, elapsed)
        if elapsed > self.hang_seconds:
            self.hangs.append(self.save("hang", data))
        if disagreement is not None:  # after the clock: minimizing takes a while
            self.disagreement_count += 1
            self.record_disagreement(check, data, disagreement)
        now = time.monotonic()
        if now - self.last_flush > 1.0:
            self.flush()
            self.last_flush = now

    def record_disagreement(self, check, data: bytes, found: Disagreement) -> None:
        signature = ",".join(sorted(found.differ))
        if signature in self.disagreements:
            return
        name = self.save("disagreement", data)
        self.disagreements[signature] = name
        want = sorted(found.differ)

        def same_columns(candidate: bytes) -> bool:
            try:
                return sorted(check.compare(candidate, found.case)) == want
            except Exception:  # a reduction that crashes a core is another finding
                return False

        small = minimize(same_columns, data)
        stem = self.out / name.removesuffix(".bin")
        stem.with_suffix(".min.bin").write_bytes(small)
        detail = {
            "case": found.case,
            "differ": found.differ,
            "minimal": {"bytes": small.hex(), "differ": check.compare(small, found.case)},
        }
        stem.with_suffix(".json").write_text(json.dumps(detail, indent=1, default=repr))

    def flush(self) -> None:
        stats = {
            "executions": self.executions,
            "seconds": round(time.monotonic() - self.started, 1),
            "crashes": self.crashes,
            "hangs": self.hangs,
            "disagreements": self.disagreements,
            "disagreement_count": self.disagreement_count,
            "slowest_ms": round(self.slowest * 1000, 2),
            "counters": dict(getattr(self.check, "counters", {})),
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


SOF_CODES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
SAMPLING_BYTES = [0x11, 0x21, 0x12, 0x22, 0x41, 0x42, 0x14, 0x44, 0x31, 0x10, 0x01]


def set_sampling(rng: random.Random, data: bytes, offsets: list[int]) -> bytes:
    """Give the components after the first one sampling byte (Cb = Cr, like encoders), or
    one of them another."""
    sof = next((o for o in offsets if data[o + 1] in SOF_CODES), None)
    if sof is None or sof + 10 > len(data):
        return data
    out = bytearray(data)
    value = rng.choice([*SAMPLING_BYTES, rng.randrange(256)])
    for k in range(1, min(out[sof + 9], 4)) if rng.random() < 0.7 else [rng.randrange(1, 4)]:
        if sof + 11 + 3 * k < len(out):
            out[sof + 11 + 3 * k] = value
    return bytes(out)


def set_ijg_table(rng: random.Random, data: bytes, offsets: list[int]) -> bytes:
    """Overwrite an 8-bit DQT table with libjpeg's table at some quality (exact matches,
    chroma ranges), now and then one entry off."""
    from jpegaudit.jpeg.markers import ZIGZAG
    from jpegaudit.quality import ijg_table

    dqts = [o for o in offsets if data[o + 1] == 0xDB and o + 69 <= len(data)]
    if not dqts:
        return data
    at = rng.choice(dqts) + 4
    if data[at] >> 4:
        return data
    kind = "luma" if rng.random() < 0.5 else "chroma"
    natural = list(ijg_table(rng.randint(1, 100), kind, True))
    if rng.random() < 0.2:
        k = rng.randrange(64)
        natural[k] = min(255, max(1, natural[k] + rng.choice([-1, 1])))
    table = bytes(natural[ZIGZAG[k]] for k in range(64))
    return data[: at + 1] + table + data[at + 65 :]


def mutate(rng: random.Random, data: bytes, seeds: list[bytes]) -> bytes:
    """Structure-aware byte mutations: flips, inserts (often marker-like), deletes, truncation,
    lying segment lengths, duplicated and dropped segments, splices of two files, chroma
    sampling factors, IJG quantization tables."""
    for _ in range(rng.randint(1, 4)):
        span = min(len(data), 16384) + 1
        pos = rng.randrange(span)
        kind = rng.randrange(11)
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
        elif offsets and kind == 8:
            src = rng.choice(offsets)
            data = data[:src] + data[src + 2 + ((data[src + 2] << 8) | data[src + 3]) :]
        elif offsets and kind == 9:
            data = set_sampling(rng, data, offsets)
        elif offsets:
            data = set_ijg_table(rng, data, offsets)
    return data


def seeds_for(args) -> list[bytes]:
    whole_max = DIFFERENTIAL_SEED_WHOLE_FILE_MAX if args.differential else SEED_WHOLE_FILE_MAX
    extra = synthetic_seeds() if args.differential else []
    return corpus_seeds(args.corpora, whole_max) + pillow_seeds() + extra


def make_check(args):
    return make_differential_target() if args.differential else make_target()


def run_random(args, seeds: list[bytes]) -> dict:
    check = make_check(args)
    recorder = Recorder(args.out, args.hang_ms / 1000, live=args.differential)
    rng = random.Random(args.seed)

    def alarm(signum, frame):
        raise Hang()

    signal.signal(signal.SIGVTALRM, alarm)
    deadline = time.monotonic() + args.seconds if args.seconds else None
    for seed in seeds:
        recorder.run(check, seed)
    while True:
        if args.runs and recorder.executions >= args.runs:
            break
        if deadline and time.monotonic() >= deadline:
            break
        data = mutate(rng, rng.choice(seeds), seeds)
        signal.setitimer(signal.ITIMER_VIRTUAL, 10 * args.hang_ms / 1000)
        try:
            recorder.run(check, data)
        finally:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0)
    recorder.flush()
    return json.loads((args.out / "stats.json").read_text())


def child_command(args, engine: str, *extra: str) -> list[str]:
    command = [
        sys.executable, __file__, "--child", "--engine", engine, "--out", str(args.out),
        "--seconds", str(args.seconds), "--runs", str(args.runs), "--seed", str(args.seed),
        "--hang-ms", str(args.hang_ms), "--corpora", str(args.corpora), *extra,
    ]  # fmt: skip
    return [*command, "--differential"] if args.differential else command


def run_random_supervised(args) -> dict:
    """The random engine in a child process, watched: a child killed by a signal or by a
    sanitizer (exit status != 0) is a native crash, a child whose live input stops changing for
    `--kill-s` is a hang; either way the input it was running is saved."""
    log_path = args.out / "child.log"
    live_path = args.out / "live-input"
    with open(log_path, "wb") as log:
        child = subprocess.Popen(child_command(args, "random"), stdout=log, stderr=log)
        last_seq, last_change, hung = -1, time.monotonic(), False
        while child.poll() is None:
            time.sleep(0.5)
            seq, _ = LiveInput.read(live_path)
            now = time.monotonic()
            if seq != last_seq:
                last_seq, last_change = seq, now
            elif seq and now - last_change > args.kill_s:
                hung = True
                child.kill()
                child.wait()
    stats = json.loads((args.out / "stats.json").read_text())
    seq, data = LiveInput.read(live_path)
    stats["executions"] = max(stats["executions"], seq)
    stats["child_exit"] = child.returncode
    log_text = log_path.read_text(errors="replace")
    if hung:
        name = f"hang-native-{len(stats['hangs']):04d}.bin"
        (args.out / name).write_bytes(data)
        stats["hangs"].append(name)
    elif child.returncode != 0:
        name = f"crash-native-{len(stats['crashes']):04d}.bin"
        (args.out / name).write_bytes(data)
        summary = [line for line in log_text.splitlines() if "SUMMARY" in line or "ERROR" in line]
        stats["crashes"][f"exit {child.returncode}: {(summary or ['?'])[-1][:160]}"] = name
    stats["child_tail"] = log_text.strip().splitlines()[-3:]
    return stats


def atheris_child(args) -> None:
    import atheris

    with atheris.instrument_imports(include=["jpegaudit"]):
        check = make_check(args)
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
        f"-max_len={LIVE_MAX}",
        "-print_final_stats=1",
        f"-artifact_prefix={args.out}/",  # a native crash's input (crash-<sha1>)
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
        command = child_command(args, "atheris", "--seed-dir", str(seed_dir))
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
    for artifact in sorted(args.out.glob("*-*")):
        if artifact.name.split("-")[0] in ("crash", "timeout", "oom", "leak"):
            if artifact.name not in [*stats["crashes"].values(), *stats["hangs"]]:
                stats["crashes"][f"libFuzzer artifact {artifact.name}"] = artifact.name
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
    parser.add_argument(
        "--hang-ms", type=float, default=1000, help="an input taking more CPU time is a hang"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--differential", action="store_true",
                        help="check the compiled core against the Python core")  # fmt: skip
    parser.add_argument("--kill-s", type=float, default=60,
                        help="--differential, random engine: a child whose input has not "
                        "changed for this long is killed, a hang")  # fmt: skip
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO / "src"))
    if args.child:
        if args.engine == "atheris":
            atheris_child(args)
        else:
            run_random(args, seeds_for(args))
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
    seeds = seeds_for(args)
    started = time.monotonic()
    if engine == "atheris":
        stats = run_atheris(args, seeds)
    elif args.differential:
        stats = run_random_supervised(args)
    else:
        stats = run_random(args, seeds)
    elapsed = time.monotonic() - started
    print(f"engine:          {engine}")
    print(f"seeds:           {len(seeds)} ({args.corpora} present: {args.corpora.is_dir()})")
    print(f"wall time:       {elapsed:.0f} s")
    print(f"executions:      {stats['executions']} ({stats['executions'] / elapsed:.0f}/s)")
    print(f"unique crashes:  {len(stats['crashes'])}")
    for signature, name in stats["crashes"].items():
        print(f"    {name}: {signature}")
    print(f"hangs (> {args.hang_ms:.0f} ms): {len(stats['hangs'])}")
    if args.differential:
        count = stats["disagreement_count"]
        print(f"disagreements:   {count} ({len(stats['disagreements'])} unique)")
        for signature, name in stats["disagreements"].items():
            print(f"    {name}: {signature}")
        print(f"    {stats['counters']}")
    print(f"slowest input:   {stats['slowest_ms']} ms")
    print(f"peak RSS:        {stats['peak_rss_mb']} MB")
    if engine == "atheris":
        print(f"libFuzzer exit:  {stats['libfuzzer_exit']} ({' | '.join(stats['libfuzzer_tail'])})")
    if "child_exit" in stats:
        print(f"child exit:      {stats['child_exit']}")
    print(f"inputs saved in: {args.out}")
    clean = (
        not stats["crashes"]
        and not stats["hangs"]
        and not stats["disagreements"]
        and stats.get("libfuzzer_exit", 0) == 0
        and stats.get("child_exit", 0) == 0
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
