"""Hostile file systems, interruptions, two writers and a full disk (issue 7, docs/guarantees.md).

Each test shows one guarantee with real files, real signals and real subprocesses; where a race
cannot be produced on demand, the moment is forced by patching the one call that precedes it
(the read after a listing, the pread after an fstat)."""

from __future__ import annotations

import builtins
import fcntl
import io
import os
import random
import resource
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from PIL import Image

import jpegaudit.scanner.units as units
from jpegaudit.api import StoreError, read_store, scan
from jpegaudit.audit import DEFAULT_LIMITS, ReadLimits
from jpegaudit.cli import main
from jpegaudit.store.files import LOCK_FILE, TMP_PREFIX

CLI = [sys.executable, "-c", "from jpegaudit.cli import main; main()"]
N_MANY = 3000
VANISHED = "vanished before it was read"


def jpeg_bytes(size=(32, 24), quality=75) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, 90).save(out, "JPEG", quality=quality)
    return out.getvalue()


def noisy_jpeg_bytes() -> bytes:
    """About 48 KB: longer than the head, so its EOI is found by a separate tail read."""
    pixels = np.random.default_rng(7).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=95)
    data = out.getvalue()
    assert len(data) > 2 * DEFAULT_LIMITS.head_bytes
    return data


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4)).save(out, "PNG")
    return out.getvalue()


def dqt_past_eof_bytes() -> bytes:
    """SOI, then a DQT whose length (67) promises more bytes than the file has."""
    return b"\xff\xd8\xff\xdb" + struct.pack(">H", 67) + bytes(20)


def _grow_dataset(root: Path, start: int, stop: int) -> None:
    data = jpeg_bytes((24, 24), 60)
    for i in range(start, stop):
        (root / f"{i:04d}.jpg").write_bytes(data)


@pytest.fixture
def python_core(monkeypatch):
    """The tests that force a race by patching a Python call (os.pread, os.open, the audit of
    one file) run the pure-Python core, which makes those calls; the compiled core's side of
    each guarantee is shown without patching in tests/guarantees/test_hardening_compiled.py."""
    import jpegaudit.sources.local as local

    monkeypatch.setattr(local, "compiled", None)


def rows_by_path(store) -> pd.DataFrame:
    df = read_store(store)
    assert df["path"].is_unique
    return df.set_index("path")


@pytest.fixture(scope="module")
def many_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening") / "train"
    data = jpeg_bytes((24, 24), 85)
    for d in range(10):
        (root / f"c{d}").mkdir(parents=True)
        for i in range(N_MANY // 10):
            (root / f"c{d}" / f"{i:05d}.jpg").write_bytes(data)
    return root


def start_cli_scan(root, store, *extra, **popen):
    return subprocess.Popen(
        [*CLI, "scan", str(root), "--store", str(store), "--jobs", "2", "--batch-size", "50"]
        + list(extra),
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def wait_for_first_part(store, proc, timeout=60.0):
    """A visible part means the scan holds the store's lock (taken before anything is written)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.is_dir() and any(store.glob("part-*.parquet")):
            return
        if proc.poll() is not None:
            raise AssertionError(f"scan ended before writing a part: {proc.stderr.read()}")
        time.sleep(0.005)
    raise AssertionError("scan wrote no part")


def assert_parts_complete(store) -> int:
    """Every published part is a whole Parquet file: footer readable, every row readable."""
    rows = 0
    for part in sorted(store.glob("part-*.parquet")):
        footer = pq.ParquetFile(part).metadata
        assert pq.read_table(part).num_rows == footer.num_rows, part.name
        rows += footer.num_rows
    return rows


# -- files that vanish or shrink during the scan ---------------------------------------------
@pytest.mark.parametrize("how", ["listed-regular", "via-symlink"])
def test_a_file_deleted_between_the_walk_and_the_read_gets_a_vanished_row(
    tmp_path, monkeypatch, how, python_core
):
    root = tmp_path / "data"
    root.mkdir()
    (root / "keep.jpg").write_bytes(jpeg_bytes())
    (root / "target.jpg").write_bytes(jpeg_bytes())
    doomed = root / "doomed.jpg"
    if how == "listed-regular":  # opened straight from the listing (d_type), no stat
        doomed.write_bytes(jpeg_bytes())
    else:  # stat'ed before it is opened
        doomed.symlink_to(root / "target.jpg")
    real_audit = units.audit_local_file

    def delete_then_audit(fs_path, *args, **kwargs):
        if fs_path == str(doomed):
            doomed.unlink()
        return real_audit(fs_path, *args, **kwargs)

    monkeypatch.setattr(units, "audit_local_file", delete_then_audit)
    result = scan(root, tmp_path / "store", jobs=1)
    df = rows_by_path(tmp_path / "store")
    assert result.scanned == 3 and len(df) == 3
    assert tuple(df.loc[str(doomed), ["entry_type", "error"]]) == ("missing", VANISHED)
    assert df.drop(index=str(doomed))["error"].isna().all()


@pytest.mark.parametrize("keep", [5000, 30000], ids=["inside-head", "past-head"])
def test_a_file_that_shrinks_after_its_fstat_gets_its_new_size_and_truncated(
    tmp_path, monkeypatch, keep, python_core
):
    root = tmp_path / "data"
    root.mkdir()
    target = root / "shrinks.jpg"
    target.write_bytes(noisy_jpeg_bytes())
    inode = target.stat().st_ino
    real_pread = os.pread
    cut = []

    def pread_after_a_truncation(fd, n, offset):
        if not cut and os.fstat(fd).st_ino == inode:
            os.truncate(target, keep)  # after the scanner's fstat, before its first read
            cut.append(keep)
        return real_pread(fd, n, offset)

    monkeypatch.setattr(os, "pread", pread_after_a_truncation)
    scan(root, tmp_path / "store", jobs=1)
    row = rows_by_path(tmp_path / "store").loc[str(target)]
    assert cut == [keep]
    assert (row["format"], row["entry_type"]) == ("jpeg", "file")
    assert row["bytes"] == keep
    assert bool(row["truncated"]) is True and pd.isna(row["error"])


def test_files_truncated_or_deleted_while_a_scan_runs_are_seen_before_or_after(
    tmp_path, monkeypatch, python_core
):
    """A real race: a thread truncates or deletes files while the scan reads them. Every listed
    file gets one row, either of the whole file or of what was left."""
    root = tmp_path / "data"
    root.mkdir()
    data = noisy_jpeg_bytes()
    keep = 20000
    files = [root / f"{i:03d}.jpg" for i in range(200)]
    for f in files:
        f.write_bytes(data)
    listed = threading.Event()
    real_audit = units.audit_local_file

    def audit_after_listing(*args, **kwargs):
        listed.set()  # the folder is listed whole before its first entry is audited
        return real_audit(*args, **kwargs)

    def vandal():
        listed.wait(30)
        order = list(enumerate(files))
        random.Random(3).shuffle(order)
        for i, f in order:
            os.truncate(f, keep) if i % 2 else f.unlink()
            time.sleep(0.0005)

    monkeypatch.setattr(units, "audit_local_file", audit_after_listing)
    thread = threading.Thread(target=vandal)
    thread.start()
    try:
        scan(root, tmp_path / "store", jobs=1, batch_size=10)
    finally:
        thread.join()
    df = rows_by_path(tmp_path / "store")
    assert set(df.index) == {str(f) for f in files}
    for i, f in enumerate(files):
        row = df.loc[str(f)]
        seen = row[["entry_type", "error", "bytes", "truncated"]].to_dict()
        whole = pd.isna(row["error"]) and row["bytes"] == len(data) and not row["truncated"]
        if i % 2:
            cut = pd.isna(row["error"]) and row["bytes"] == keep and bool(row["truncated"])
            assert whole or cut, seen
        else:
            gone = (row["entry_type"], row["error"]) == ("missing", VANISHED)
            assert whole or gone, seen


# -- a header of 60 MB: reads stay bounded -----------------------------------------------------
@pytest.fixture
def reads(monkeypatch, python_core) -> list[int]:
    """The sizes `os.pread` returned, in order (scans with jobs=1 read in this process)."""
    real_pread = os.pread
    sizes: list[int] = []

    def counting_pread(fd, n, offset):
        data = real_pread(fd, n, offset)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "pread", counting_pread)
    return sizes


def test_a_header_longer_than_the_head_costs_one_more_read(tmp_path, reads):
    """A 10 KB header: the 4 KiB head, then one read on to four heads (not 8 KiB, then 16),
    then the tail; read_bytes counts each."""
    image = noisy_jpeg_bytes()
    data = image[:2] + b"\xff\xfe" + struct.pack(">H", 10_002) + b"x" * 10_000 + image[2:]
    head = DEFAULT_LIMITS.head_bytes
    assert len(data) > 4 * head + 64
    (tmp_path / "long.jpg").write_bytes(data)
    scan(tmp_path / "long.jpg", tmp_path / "store", jobs=1)
    row = rows_by_path(tmp_path / "store").iloc[0]
    assert pd.isna(row["error"]) and row["header_bytes"] > 10_000
    assert reads == [head, 3 * head, 64]
    assert row["read_bytes"] == 4 * head + 64


def test_a_60_mb_header_is_refused_at_the_read_cap_with_bounded_reads(tmp_path, reads):
    app1 = b"\xff\xe1" + struct.pack(">H", 65535) + b"x" * 65533
    target = tmp_path / "data" / "huge-header.jpg"
    target.parent.mkdir()
    with open(target, "wb") as f:
        f.write(b"\xff\xd8")
        for _ in range(920):
            f.write(app1)
        f.write(jpeg_bytes()[2:])  # a real header and scan after the APP segments
    assert target.stat().st_size > 60_000_000
    scan(target, tmp_path / "store", jobs=1)
    row = rows_by_path(tmp_path / "store").loc[str(target)]
    cap = DEFAULT_LIMITS.max_header_bytes
    assert row["error"] == f"header larger than the {cap}-byte read cap"
    assert sum(reads) == row["read_bytes"]
    assert row["read_bytes"] <= cap + DEFAULT_LIMITS.max_tail_bytes
    # the head grows from 4 KiB to the cap, doubling or straight to what a segment's length
    # asks: at most 12 reads with the tail
    assert len(reads) <= 12


def test_the_search_for_eoi_stops_at_the_tail_cap(tmp_path, reads):
    """8 MB of entropy-coded-looking data and no EOI: the tail is read backwards in windows
    of 64 B, 1 KiB, 16 KiB, 256 KiB and 1 MiB, then the file is called truncated."""
    noise = np.random.default_rng(5).integers(0, 255, 8_000_000, dtype=np.uint8).tobytes()
    target = tmp_path / "data" / "no-eoi.jpg"
    target.parent.mkdir()
    target.write_bytes(jpeg_bytes()[:-2] + noise.replace(b"\xff", b"\xfe"))
    scan(target, tmp_path / "store", jobs=1)
    row = rows_by_path(tmp_path / "store").loc[str(target)]
    assert bool(row["truncated"]) is True and pd.isna(row["error"])
    tail_windows = [64, 1024, 16384, 262144, DEFAULT_LIMITS.max_tail_bytes]
    assert reads == [DEFAULT_LIMITS.head_bytes, *tail_windows]
    assert row["read_bytes"] == sum(reads)


# -- special files are never opened ------------------------------------------------------------
@pytest.mark.timeout(60)  # a FIFO opened for reading without O_NONBLOCK would block forever
def test_fifos_sockets_and_devices_get_a_row_and_are_never_opened(
    tmp_path, monkeypatch, python_core
):
    root = tmp_path / "d"
    root.mkdir()
    (root / "good.jpg").write_bytes(jpeg_bytes())
    expected = {
        "pipe.jpg": "fifo",
        "sock.jpg": "socket",
        "zero.jpg": "char-device",  # a symlink to /dev/zero
    }
    os.mkfifo(root / "pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock.jpg"))
    (root / "zero.jpg").symlink_to("/dev/zero")
    try:
        os.mknod(root / "chr.jpg", stat.S_IFCHR | 0o600, os.makedev(1, 5))
        os.mknod(root / "blk.jpg", stat.S_IFBLK | 0o600, os.makedev(7, 250))
        expected.update({"chr.jpg": "char-device", "blk.jpg": "block-device"})
    except PermissionError:
        pass  # not root: the symlink to /dev/zero still stands for devices
    opened: list[str] = []
    real_os_open, real_open = os.open, builtins.open

    def recording_os_open(path, *args, **kwargs):
        opened.append(os.path.realpath(os.fsdecode(path)))
        return real_os_open(path, *args, **kwargs)

    def recording_open(file, *args, **kwargs):
        if isinstance(file, str | bytes | os.PathLike):
            opened.append(os.path.realpath(os.fsdecode(file)))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", recording_os_open)
    monkeypatch.setattr(builtins, "open", recording_open)
    try:
        scan(root, tmp_path / "store", jobs=1)
    finally:
        monkeypatch.undo()
        sock.close()
    df = rows_by_path(tmp_path / "store")
    assert os.path.realpath(root / "good.jpg") in opened  # the recorder sees the scanner's opens
    for name, entry_type in expected.items():
        assert os.path.realpath(root / name) not in opened, name
        row = df.loc[str(root / name)]
        assert row["entry_type"] == entry_type
        assert row["error"] == f"{entry_type}: not a regular file"
        assert pd.isna(row["read_bytes"]) and pd.isna(row["format"])
    assert "/dev/zero" not in opened
    assert len(df) == len(expected) + 1


# -- two writers -------------------------------------------------------------------------------
def test_a_second_scan_while_the_first_writes_is_refused_and_rows_are_not_duplicated(
    many_files, tmp_path
):
    store = tmp_path / "store"
    first = start_cli_scan(many_files, store)
    try:
        wait_for_first_part(store, first)
        # Frozen mid-scan (workers too), the first scan holds the lock for as long as we need.
        os.killpg(first.pid, signal.SIGSTOP)
        assert first.poll() is None, "the first scan finished before the second could start"
        second = subprocess.run(
            [*CLI, "scan", str(many_files), "--store", str(store), "--jobs", "1"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    assert second.returncode != 0
    assert f"store {store} is being written by another scan" in second.stderr
    assert "Traceback" not in second.stderr
    df = pd.read_parquet(store)
    assert len(df) == N_MANY and df["path"].is_unique


def test_a_reader_during_a_scan_sees_whole_parts_and_one_row_per_path(many_files, tmp_path):
    store = tmp_path / "store"
    proc = start_cli_scan(many_files, store)
    wait_for_first_part(store, proc)
    seen = []
    while proc.poll() is None:
        df = read_store(store, columns=["path"])
        assert df["path"].is_unique
        seen.append(len(df))
    assert proc.returncode == 0, proc.stderr.read()
    assert seen == sorted(seen)  # finished parts stay: rows only ever appear
    assert len(read_store(store, columns=["path"])) == N_MANY


def test_the_store_lock_is_held_for_the_whole_scan(many_files, tmp_path):
    """What a second process sees: the lock file is flocked while the first scan runs."""
    store = tmp_path / "store"
    first = start_cli_scan(many_files, store)
    try:
        wait_for_first_part(store, first)
        os.killpg(first.pid, signal.SIGSTOP)
        fd = os.open(store / LOCK_FILE, os.O_RDWR)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
    finally:
        os.killpg(first.pid, signal.SIGCONT)
    assert first.wait(timeout=300) == 0
    fd = os.open(store / LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when the scan ends
    finally:
        os.close(fd)


def test_killing_the_main_process_alone_ends_its_workers_and_frees_the_lock(many_files, tmp_path):
    """The OOM killer ends one process: the scan's workers must not outlive it holding the
    store's lock (they share it across fork), or every later scan is refused."""
    store = tmp_path / "store"
    first = start_cli_scan(many_files, store)
    try:
        wait_for_first_part(store, first)
        os.kill(first.pid, signal.SIGKILL)  # the main process only, not its workers
        first.wait(timeout=60)
        fd = os.open(store / LOCK_FILE, os.O_RDWR)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    assert time.monotonic() < deadline, "orphaned workers still hold the lock"
                    time.sleep(0.01)
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        try:
            os.killpg(first.pid, signal.SIGKILL)  # whatever is left, if the test failed
        except ProcessLookupError:
            pass
    rerun = start_cli_scan(many_files, store)
    assert rerun.wait(timeout=300) == 0, rerun.stderr.read()
    df = pd.read_parquet(store)
    assert len(df) == N_MANY and df["path"].is_unique


CRASHING_SCAN = """
import os, sys
import jpegaudit
from jpegaudit.store.scan_store import ScanStore
def crash(*args):
    os._exit(137)  # as a SIGKILL would: nothing else runs
if sys.argv[3] == "before-finalize":
    ScanStore.finalize = crash
else:  # while publishing: replaced rows already dropped, pending parts still hidden
    real_replace = os.replace
    def replace(src, dst):
        if os.path.basename(src).startswith(".pending-"):
            crash()
        return real_replace(src, dst)
    os.replace = replace
jpegaudit.scan(sys.argv[1], sys.argv[2], jobs=1, batch_size=10)
"""


@pytest.mark.parametrize("moment", ["before-finalize", "while-publishing"])
def test_a_crash_around_finalisation_leaves_at_most_one_row_per_path(tmp_path, moment):
    """Rows that replace old ones are written to hidden pending parts; finalisation drops the
    old rows, then publishes the pending parts. A crash before it leaves the old rows, a crash
    between the two steps leaves no row for the changed files, never two; the next scan drops
    the pending parts and reads the changed files again."""
    root, store = tmp_path / "data", tmp_path / "store"
    root.mkdir()
    _grow_dataset(root, 0, 40)
    scan(root, store, jobs=1, batch_size=10)
    changed = {str(root / f"{i:04d}.jpg") for i in (3, 17, 25)}
    for f in changed:
        Path(f).write_bytes(jpeg_bytes((40, 40), 30))
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_SCAN, str(root), str(store), moment], timeout=120
    )
    assert crashed.returncode == 137
    assert any(p.name.startswith(".pending-") for p in store.iterdir())
    df = pd.read_parquet(store)
    assert df["path"].is_unique
    if moment == "before-finalize":
        assert len(df) == 40 and 30 not in set(df["quality_luma"])
    else:
        assert len(df) == 40 - len(changed) and not set(df["path"]) & changed
    scan(root, store, jobs=1, batch_size=10)
    assert not any(p.name.startswith(".pending-") for p in store.iterdir())
    df = rows_by_path(store)
    assert len(df) == 40
    assert set(df.loc[sorted(changed), "quality_luma"]) == {30}


# -- full disk -----------------------------------------------------------------------------------
def _limit_file_size(limit: int):
    def preexec():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_a_file_size_limit_gives_a_clear_error_and_leaves_the_store_intact(tmp_path):
    root, store = tmp_path / "data", tmp_path / "store"
    root.mkdir()
    _grow_dataset(root, 0, 30)
    scan(root, store, jobs=1)
    before = read_store(store).sort_values("path", ignore_index=True)
    _grow_dataset(root, 30, 300)
    limited = subprocess.run(
        [*CLI, "scan", str(root), "--store", str(store), "--jobs", "2", "--batch-size", "50"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_file_size(2048),  # smaller than any part of 50 rows
    )
    assert limited.returncode != 0
    assert "Traceback" not in limited.stderr
    assert "cannot write part-" in limited.stderr and "File too large" in limited.stderr
    assert not [p.name for p in store.iterdir() if p.name.startswith(TMP_PREFIX)]
    assert assert_parts_complete(store) == 30
    assert len(pd.read_parquet(store)) == 30
    pd.testing.assert_frame_equal(read_store(store).sort_values("path", ignore_index=True), before)
    rerun = subprocess.run(
        [*CLI, "scan", str(root), "--store", str(store), "--jobs", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    df = read_store(store)
    assert len(df) == 300 and df["path"].is_unique


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 1 MiB tmpfs (needs root and permission to mount): a file system that really fills."""
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_no_space_left_on_a_full_file_system_gives_a_clear_error(tmp_path, small_tmpfs):
    root, store = tmp_path / "data", small_tmpfs / "store"
    root.mkdir()
    _grow_dataset(root, 0, 30)
    scan(root, store, jobs=1)
    before = read_store(store).sort_values("path", ignore_index=True)
    filler = small_tmpfs / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # fill the file system to the last block
        while os.write(fd, bytes(4096)):
            pass
    except OSError:
        pass
    finally:
        os.close(fd)
    _grow_dataset(root, 30, 300)
    runner = CliRunner()
    full = runner.invoke(main, ["scan", str(root), "--store", str(store), "--jobs", "1"])
    assert full.exit_code != 0 and isinstance(full.exception, SystemExit)  # handled, no traceback
    assert "No space left on device" in full.output
    assert not [p.name for p in store.iterdir() if p.name.startswith(TMP_PREFIX)]
    pd.testing.assert_frame_equal(read_store(store).sort_values("path", ignore_index=True), before)
    filler.unlink()
    again = runner.invoke(main, ["scan", str(root), "--store", str(store), "--jobs", "1"])
    assert again.exit_code == 0, again.output
    assert len(read_store(store)) == 300


def test_a_failed_part_write_raises_the_stores_error_with_the_errno_text(tmp_path, monkeypatch):
    import jpegaudit.store.arrow as store_module

    def enospc(table, where, **kwargs):
        Path(where).write_bytes(b"PAR1 half a part")
        raise OSError(28, "Error writing bytes to file. Detail: [errno 28] No space left")

    root = tmp_path / "data"
    root.mkdir()
    _grow_dataset(root, 0, 5)
    monkeypatch.setattr(store_module.pq, "write_table", enospc)
    with pytest.raises(StoreError, match=r"cannot write part-\w+\.parquet in store .*: No space"):
        scan(root, tmp_path / "store", jobs=1)
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == [LOCK_FILE, "_jpegaudit.json"]


# -- atomic parts --------------------------------------------------------------------------------
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.3])
def test_every_published_part_is_complete_after_a_sigkill(many_files, tmp_path, delay):
    store = tmp_path / "store"
    proc = start_cli_scan(many_files, store, "--batch-size", "100")
    wait_for_first_part(store, proc)
    time.sleep(delay)  # where the kill lands; the assertion holds wherever it does
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    rows = assert_parts_complete(store)
    df = pd.read_parquet(store)
    assert len(df) == rows and df["path"].is_unique
    assert 0 < rows <= N_MANY


# -- every entry but a directory yields exactly one row ----------------------------------------
def non_directory_entries(root: Path) -> set[str]:
    """Computed apart from the scanner: os.walk over bytes, names shown as the store shows them
    (undecodable bytes as \\xNN). Symlinks to folders are listed as folders and not followed;
    the scanner walks them once, so here they add nothing."""
    found = set()
    for directory, _, names in os.walk(os.fsencode(root)):
        for name in names:
            found.add(os.path.join(directory, name).decode("utf-8", "backslashreplace"))
    return found


@pytest.mark.timeout(120)  # a FIFO opened for reading would block the scan
def test_every_hostile_entry_but_a_directory_gets_exactly_one_row(tmp_path):
    root = tmp_path / "h"
    root.mkdir()
    good = jpeg_bytes()
    good_names = [b"good.jpg", b"caf\xe9.jpg", b"new\nline.jpg", b"tab\t.jpg", b"<script>&.jpg"]
    for name in good_names:
        with open(os.path.join(os.fsencode(root), name), "wb") as f:
            f.write(good)
    (root / "dir.jpg").mkdir()
    (root / "dir.jpg" / "inner.jpg").write_bytes(good)
    (root / "zero.jpg").write_bytes(b"")
    (root / "cut.jpg").write_bytes(good[: len(good) // 2])
    (root / "dqt.jpg").write_bytes(dqt_past_eof_bytes())
    (root / "fake.jpg").write_bytes(png_bytes())
    os.mkfifo(root / "pipe.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock.jpg"))
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    (root / "loop.jpg").symlink_to(root / "loop.jpg")
    (root / "dev.jpg").symlink_to("/dev/null")
    (root / "back").symlink_to(root)  # a folder loop: walked once
    expected_good = {
        os.path.join(os.fsencode(root), n).decode("utf-8", "backslashreplace") for n in good_names
    } | {str(root / "dir.jpg" / "inner.jpg")}
    store = tmp_path / "store"
    try:
        result = CliRunner().invoke(
            main, ["scan", str(root), "--store", str(store), "--jobs", "2", "--batch-size", "3"]
        )
    finally:
        sock.close()
    assert result.exit_code == 0, result.output
    df = read_store(store)
    assert df["path"].is_unique
    assert set(df["path"]) == non_directory_entries(root)
    assert len(df) == 15
    for row in df.itertuples():
        if row.path in expected_good:
            assert pd.isna(row.error) and row.truncated is not pd.NA and not row.truncated, row
        else:
            assert pd.notna(row.error) or (row.truncated is not pd.NA and row.truncated), row


def test_a_jpeg_cut_at_every_byte_offset_gets_one_truncated_or_error_row_each(tmp_path):
    whole = jpeg_bytes()
    root = tmp_path / "cuts"
    root.mkdir()
    for n in range(len(whole)):
        (root / f"{n:05d}.jpg").write_bytes(whole[:n])
    scan(root, tmp_path / "store", jobs=2, batch_size=100)
    df = read_store(tmp_path / "store")
    assert set(df["path"]) == {str(root / f"{n:05d}.jpg") for n in range(len(whole))}
    problem = df["error"].notna() | df["truncated"].fillna(False)
    assert problem.all(), df.loc[~problem, ["path", "error", "truncated"]]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("name", ["head_bytes", "max_header_bytes", "tail_bytes", "max_tail_bytes"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_read_limits_must_be_positive_byte_counts(name, value):
    """ReadLimits(tail_bytes=0) used to make the search for EOI loop forever on a file with
    none (a zero window never grows): sizes under one byte, and non-integers, are refused."""
    with pytest.raises(ValueError, match=name):
        ReadLimits(**{name: value})
    assert getattr(ReadLimits(**{name: 1}), name) == 1
