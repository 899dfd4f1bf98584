"""What a scan's processes cost besides the files: the pool starts only for units to run, with
no more workers than units; a plan of few files runs in the main process (in one worker when the
reference core reads it); neither the main process of a scan nor a pool worker makes pyarrow
import pandas; Ctrl-C in a plan run in the main process keeps the units done; units that
replace nothing send no paths back; workers run without transparent huge pages."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

import jpegaudit.scanner.process_pool as process_pool
import jpegaudit.scanner.units as units
from jpegaudit.api import read_store, scan
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.result import ScanInterrupted
from jpegaudit.scanner.units import FileBatch, Work, run_unit
from jpegaudit.sources.compiled import compiled


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), 80).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "data" / "train"
    root.mkdir(parents=True)
    for i in range(30):
        (root / f"{i:02d}.jpg").write_bytes(jpeg_bytes())
    return root


@pytest.fixture
def pools(monkeypatch):
    """The max_workers of every pool the process engine starts."""
    started: list[int] = []
    real = process_pool.ProcessPoolExecutor

    def recording(max_workers, **kwargs):
        started.append(max_workers)
        return real(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(process_pool, "ProcessPoolExecutor", recording)
    return started


@pytest.fixture
def no_small_plans(monkeypatch):
    """Every plan counts as large: one worker per unit, up to jobs."""
    monkeypatch.setattr(process_pool, "SMALL_PLAN_FILES", 0)


def test_a_rescan_with_nothing_to_read_starts_no_pool(folder, tmp_path, pools, no_small_plans):
    scan(folder, tmp_path / "store", jobs=2, batch_size=10)
    assert pools == [2]
    again = scan(folder, tmp_path / "store", jobs=2, batch_size=10)
    assert (again.scanned, again.unchanged) == (0, 30) and pools == [2]


def test_a_plan_of_one_unit_forks_one_worker(folder, tmp_path, pools, no_small_plans):
    result = scan(folder, tmp_path / "store", jobs=4)
    assert (result.scanned, result.units, pools) == (30, 1, [1])
    scan(folder, tmp_path / "store2", jobs=4, batch_size=7)  # 5 units
    assert pools == [1, 4]


@pytest.mark.skipif(
    compiled is None, reason="only a plan the compiled core reads all of runs in the main process"
)
def test_a_plan_of_few_files_runs_in_this_process(folder, tmp_path, pools, monkeypatch):
    result = scan(folder, tmp_path / "store", jobs=4, batch_size=7)  # 5 units, 30 files
    assert (result.scanned, result.units, pools) == (30, 5, [])
    monkeypatch.setattr(process_pool, "SMALL_PLAN_FILES", 30)  # 30 files is no longer few
    scan(folder, tmp_path / "store2", jobs=4, batch_size=7)
    assert pools == [4]
    monkeypatch.setattr(process_pool, "SMALL_PLAN_FILES", 31)
    scan(folder, tmp_path / "store3", jobs=4, batch_size=7)
    assert pools == [4]


def test_a_plan_of_few_files_the_reference_core_reads_runs_in_one_worker(
    folder, tmp_path, pools, monkeypatch
):
    monkeypatch.setattr(units, "compiled", None)  # as with JPEGAUDIT_CORE=python
    result = scan(folder, tmp_path / "store", jobs=4, batch_size=7)
    assert (result.scanned, result.units, pools) == (30, 5, [1])


@pytest.mark.skipif(
    compiled is None, reason="only a plan the compiled core reads all of runs in the main process"
)
def test_ctrl_c_in_a_plan_run_here_keeps_the_units_done(folder, tmp_path, monkeypatch):
    real, calls = process_pool.audit_unit, []

    def interrupted_at_the_third(work):
        calls.append(work)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(work)

    monkeypatch.setattr(process_pool, "audit_unit", interrupted_at_the_third)
    store = tmp_path / "store"
    with pytest.raises(ScanInterrupted) as info:
        scan(folder, store, jobs=2, batch_size=7)
    assert (info.value.result.scanned, info.value.result.units) == (14, 2)
    assert len(read_store(store)) == 14
    monkeypatch.setattr(process_pool, "audit_unit", real)
    again = scan(folder, store, jobs=2, batch_size=7)
    final = read_store(store)
    assert (again.scanned, again.unchanged) == (16, 14)
    assert len(final) == 30 and final["path"].is_unique


def test_the_plan_is_read_only_as_far_as_the_worker_count_needs(tmp_path, monkeypatch):
    monkeypatch.setattr(process_pool, "SMALL_PLAN_FILES", 20)
    batch = FileBatch("r", "train", tuple(f"r/{i}.jpg" for i in range(7)), None, b"\1" * 7)
    works = iter([Work(batch, str(tmp_path), False, ScanOptions())] * 10)
    head, whole = process_pool._head_of_plan(works, jobs=2)
    assert (len(head), whole) == (3, False)  # 21 files reach the threshold with the third
    assert len(list(works)) == 7  # the rest is still to come
    head, whole = process_pool._head_of_plan(iter(head[:2]), jobs=2)
    assert (len(head), whole) == (2, True)


def test_units_that_are_not_local_files_count_as_large(tmp_path, monkeypatch):
    from jpegaudit.scanner.units import Shard

    shard = Shard("tar", "a.tar", "a.tar", "r", "train", 10, "1")
    works = [Work(shard, str(tmp_path), False, ScanOptions())] * 2
    head, whole = process_pool._head_of_plan(iter(works), jobs=2)
    assert process_pool._local_files(head) == float("inf") and not whole


def test_units_that_replace_no_row_send_no_paths_back(folder, tmp_path):
    fs_paths = tuple(str(p) for p in sorted(folder.iterdir()))
    batch = FileBatch(str(folder), "train", fs_paths, None, b"\1" * len(fs_paths))
    for pending in (False, True):
        rows, done = run_unit(Work(batch, str(tmp_path), pending, ScanOptions()))
        assert done.rows == len(rows) == 30
        assert done.paths == (fs_paths if pending else ())


@pytest.mark.parametrize("small_plans", [2000, 0], ids=["in-this-process", "in-workers"])
def test_neither_a_scan_nor_the_workers_make_pyarrow_import_pandas(folder, tmp_path, small_plans):
    """In fresh processes (this one has pandas already): a fresh scan (in the main process, or
    in workers), a rescan with nothing to read, and a rescan that rewrites a part (a file
    deleted, one changed)."""
    code = textwrap.dedent(
        f"""
        import os, sys
        import jpegaudit.scanner.process_pool as pool
        from jpegaudit.api import scan

        pool.SMALL_PLAN_FILES = {small_plans}
        real = pool.audit_unit
        def audit_unit(work):
            done = real(work)
            with open({str(tmp_path / "units.txt")!r}, "a") as f:
                f.write(str("pandas" in sys.modules) + "\\n")
            return done
        pool.audit_unit = audit_unit

        root, store = {str(folder)!r}, {str(tmp_path / "store")!r}
        fresh = scan(root, store, jobs=2, batch_size=10)
        unchanged = scan(root, store, jobs=2)
        os.unlink(os.path.join(root, "00.jpg"))
        with open(os.path.join(root, "01.jpg"), "ab") as f:
            f.write(b"more")
        changed = scan(root, store, jobs=2)
        print(fresh.scanned, unchanged.unchanged, changed.removed, changed.scanned)
        print("pandas" in sys.modules)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["30", "30", "1", "1", "False"]
    assert (tmp_path / "units.txt").read_text().split() == ["False"] * 4


def test_ctrl_c_at_any_line_of_recording_a_unit_leaves_one_row_a_path(folder, tmp_path):
    """A rescan whose units replace rows stored in other parts (batches of 5 where the store
    was written in batches of 7), interrupted at each line of the engine's `record` in turn
    (as a signal lands between two statements): every path keeps exactly one row, old or new,
    and the next scan completes the store."""
    from jpegaudit.scanner import engine

    store = tmp_path / "store"
    scan(folder, store, jobs=1, batch_size=7)
    stop = {"at": -1, "seen": 0}

    def in_record(frame, event, arg):
        if event == "line":
            stop["seen"] += 1
            if stop["seen"] == stop["at"]:
                raise KeyboardInterrupt
        return in_record

    def tracer(frame, event, arg):
        named = event == "call" and frame.f_code.co_name == "record"
        return in_record if named and frame.f_globals is vars(engine) else None

    def traced_scan() -> None:
        sys.settrace(tracer)
        try:
            scan(folder, store, jobs=1, batch_size=5)
        finally:
            sys.settrace(None)

    touch(folder)
    traced_scan()  # counts the line events of the 6 units' `record` (each takes one path)
    per_call = stop["seen"] // 6
    assert per_call >= 5
    for at in range(1, per_call + 1):
        touch(folder)
        scan(folder, store, jobs=1, batch_size=7)  # the rows back in parts of 7
        touch(folder)
        stop.update(at=per_call + at, seen=0)  # inside the second unit's `record`
        with pytest.raises(ScanInterrupted):
            traced_scan()
        rows = read_store(store)
        assert rows["path"].is_unique, f"interrupted at line event {at}: two rows for a path"
        assert len(rows) == 30, f"interrupted at line event {at}: rows lost"
    scan(folder, store, jobs=1, batch_size=7)
    assert len(read_store(store)) == 30


def touch(folder) -> None:
    """Every file changed on disk (a new mtime): a rescan replaces every row."""
    import os
    import time

    now = time.time_ns()
    for k, path in enumerate(sorted(folder.iterdir())):
        os.utime(path, ns=(now, now + k))


def _huge_pages_of_this_process() -> str | None:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("THP_enabled:"):
                return line.split()[1]
    return None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_pool_worker_runs_without_transparent_huge_pages():
    if _huge_pages_of_this_process() != "1":
        pytest.skip("this kernel does not report THP_enabled, or it is off here already")
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, initializer=process_pool._init_worker) as pool:
        in_worker = pool.submit(_huge_pages_of_this_process).result()
    assert in_worker == "0"
    assert _huge_pages_of_this_process() == "1"  # the main process is the user's: left alone
