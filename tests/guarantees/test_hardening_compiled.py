"""The guarantees of docs/guarantees.md on the compiled core's path (a listed regular file), shown
without patching Python calls (the compiled core makes its system calls in C): the kernel's own
record of the calls (strace) for what is opened and how much is read; real files that vanish
or shrink for the hand-back to the reference core."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import stat
import struct
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from jpegaudit.api import read_store
from jpegaudit.audit import DEFAULT_LIMITS
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.units import FileBatch, UnitContext
from jpegaudit.sources.compiled import compiled
from jpegaudit.sources.remote import FetchStats

pytestmark = pytest.mark.skipif(compiled is None, reason="the compiled core is not built here")
STRACE = shutil.which("strace")
needs_strace = pytest.mark.skipif(
    STRACE is None and os.environ.get("JPEGAUDIT_REQUIRE_ORACLES") != "1",
    reason="strace (Debian: strace) is not installed",
)
SCAN = "import sys, jpegaudit; jpegaudit.scan(sys.argv[1], sys.argv[2], jobs=1)"


def jpeg_bytes(size=(32, 24), quality=75) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, 90).save(out, "JPEG", quality=quality)
    return out.getvalue()


def traced_scan(root: Path, store: Path, calls: str) -> list[str]:
    """Scan `root` in a child process under strace; the traced calls, one line each."""
    assert STRACE is not None, "strace is required here (JPEGAUDIT_REQUIRE_ORACLES=1)"
    log = store.parent / "strace.log"
    env = {**os.environ, "JPEGAUDIT_CORE": "compiled"}
    subprocess.run([STRACE, "-f", "-qq", "-e", f"trace={calls}", "-o", str(log),
                    sys.executable, "-c", SCAN, str(root), str(store)],
                   env=env, check=True, timeout=300)  # fmt: skip
    return log.read_text().splitlines()


@needs_strace
@pytest.mark.timeout(120)
def test_special_files_are_never_opened(tmp_path):
    root = tmp_path / "d"
    root.mkdir()
    (root / "good.jpg").write_bytes(jpeg_bytes())
    os.mkfifo(root / "pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock.jpg"))
    (root / "zero.jpg").symlink_to("/dev/zero")
    expected = {"pipe.jpg": "fifo", "sock.jpg": "socket", "zero.jpg": "char-device"}
    try:
        os.mknod(root / "chr.jpg", stat.S_IFCHR | 0o600, os.makedev(1, 5))
        expected["chr.jpg"] = "char-device"
    except PermissionError:
        pass
    try:
        opens = traced_scan(root, tmp_path / "store", "open,openat")
    finally:
        sock.close()
    opened = [line for line in opens if str(root) in line]
    assert any("good.jpg" in line for line in opened)  # the trace sees the scanner's opens
    for name in expected:
        assert not [line for line in opened if name in line], name
    df = read_store(tmp_path / "store").set_index("path")
    for name, entry_type in expected.items():
        assert df.loc[str(root / name), "entry_type"] == entry_type


def preads_of(lines: list[str], name: str) -> list[int]:
    """Bytes returned by each pread64 of the file opened under `name` (by its descriptor)."""
    fds: set[str] = set()
    sizes = []
    for line in lines:
        opened = re.search(r'open(?:at)?\(.*"([^"]+)".*= (\d+)$', line)
        if opened and opened.group(1).endswith(name):
            fds.add(opened.group(2))
        read = re.search(r"pread64\((\d+),.*= (\d+)$", line)
        if read and read.group(1) in fds:
            sizes.append(int(read.group(2)))
    return sizes


@needs_strace
def test_the_search_for_eoi_stops_at_the_tail_cap(tmp_path):
    noise = np.random.default_rng(5).integers(0, 255, 8_000_000, dtype=np.uint8).tobytes()
    root = tmp_path / "data"
    root.mkdir()
    (root / "no-eoi.jpg").write_bytes(jpeg_bytes()[:-2] + noise.replace(b"\xff", b"\xfe"))
    lines = traced_scan(root, tmp_path / "store", "open,openat,pread64")
    row = read_store(tmp_path / "store").iloc[0]
    assert bool(row["truncated"]) is True and pd.isna(row["error"])
    tail_windows = [64, 1024, 16384, 262144, DEFAULT_LIMITS.max_tail_bytes]
    assert preads_of(lines, "no-eoi.jpg") == [DEFAULT_LIMITS.head_bytes, *tail_windows]
    assert row["read_bytes"] == sum([DEFAULT_LIMITS.head_bytes, *tail_windows])


@needs_strace
def test_a_large_header_is_read_as_the_reference_reads_it(tmp_path, monkeypatch):
    """A 300 KB run of APP segments before a real header: the compiled core grows its head
    and reads its tail in the same reads, of the same sizes, as the reference core."""
    import jpegaudit.sources.local as local
    from jpegaudit.api import scan

    app1 = b"\xff\xe1" + struct.pack(">H", 65535) + b"x" * 65533
    root = tmp_path / "data"
    root.mkdir()
    (root / "big-header.jpg").write_bytes(b"\xff\xd8" + app1 * 5 + jpeg_bytes()[2:])
    lines = traced_scan(root, tmp_path / "store", "open,openat,pread64")
    row = read_store(tmp_path / "store").iloc[0]
    assert pd.isna(row["error"]) and row["header_bytes"] > 5 * 65537
    reference_reads: list[int] = []
    real_pread = os.pread

    def counting_pread(fd, n, offset):
        data = real_pread(fd, n, offset)
        reference_reads.append(len(data))
        return data

    monkeypatch.setattr(local, "compiled", None)
    monkeypatch.setattr(os, "pread", counting_pread)
    scan(root, tmp_path / "reference", jobs=1)
    reads = preads_of(lines, "big-header.jpg")
    assert len(reads) > 3 and reads == reference_reads
    assert sum(reads) == row["read_bytes"]


def unit_rows(tmp_path: Path, names: list[str]) -> pd.DataFrame:
    """FileBatch.rows for files the listing called regular (as a walk would list them)."""
    paths = tuple(str(tmp_path / n) for n in names)
    batch = FileBatch(str(tmp_path), "s", paths, None, bytes([1] * len(paths)))
    context = UnitContext(ScanOptions(), datetime.now(timezone.utc), FetchStats())
    return batch.rows(context).table.to_pandas().set_index("path")


def test_a_listed_file_that_vanished_is_handed_back_and_gets_a_vanished_row(tmp_path):
    (tmp_path / "here.jpg").write_bytes(jpeg_bytes())
    df = unit_rows(tmp_path, ["here.jpg", "gone.jpg"])
    assert tuple(df.loc[str(tmp_path / "gone.jpg"), ["entry_type", "error"]]) == (
        "missing",
        "vanished before it was read",
    )
    assert pd.isna(df.loc[str(tmp_path / "here.jpg"), "error"])


def test_a_listed_entry_that_is_now_a_directory_or_a_fifo_is_handed_back(tmp_path):
    (tmp_path / "now-a-dir.jpg").mkdir()
    os.mkfifo(tmp_path / "now-a-fifo.jpg")
    df = unit_rows(tmp_path, ["now-a-dir.jpg", "now-a-fifo.jpg"])
    assert df.loc[str(tmp_path / "now-a-dir.jpg"), "entry_type"] == "directory"
    assert df.loc[str(tmp_path / "now-a-fifo.jpg"), "entry_type"] == "fifo"


@pytest.mark.parametrize("missing", [1, 100, 20000])
def test_a_short_read_is_handed_back_to_the_reference(missing):
    """A file that shrank after its fstat: every read past what is left comes back short, and
    the compiled core gives no row of its own (the reference re-reads it at its new size)."""
    data = jpeg_bytes((400, 300), 95)
    limits = (16384, 1 << 24, 64, 1 << 20, True)
    now = datetime.now(timezone.utc)
    assert compiled.audit_buffer(data, "x.jpg", "s", "r", now, limits) is not None
    claimed = len(data) + missing
    assert compiled.audit_buffer(data, "x.jpg", "s", "r", now, limits, claimed) is None


def test_a_symlink_listed_as_regular_is_not_followed(tmp_path):
    """O_NOFOLLOW: an entry that became a symlink since the listing is the reference's (which
    stats it and follows it like any other symlink)."""
    (tmp_path / "target.jpg").write_bytes(jpeg_bytes())
    (tmp_path / "was-a-file.jpg").symlink_to(tmp_path / "target.jpg")
    df = unit_rows(tmp_path, ["was-a-file.jpg"])
    row = df.loc[str(tmp_path / "was-a-file.jpg")]
    assert row["entry_type"] == "file" and pd.isna(row["error"]) and row["format"] == "jpeg"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("at", range(4))
def test_read_limits_of_zero_bytes_are_refused_not_looped_on(at):
    """A zero tail window never grows (16x a step): the search for EOI in a file with none
    would not end. The compiled core refuses any size under 1, as ReadLimits does."""
    data = jpeg_bytes((400, 300), 95)[:-2]  # no EOI: the tail search runs to its cap
    limits = [16384, 1 << 24, 64, 1 << 20, True]
    now = datetime.now(timezone.utc)
    assert compiled.audit_buffer(data, "x.jpg", "s", "r", now, tuple(limits)) is not None
    limits[at] = 0
    with pytest.raises(ValueError, match="positive"):
        compiled.audit_buffer(data, "x.jpg", "s", "r", now, tuple(limits))
