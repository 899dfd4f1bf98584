"""A scan killed mid-way (SIGINT or SIGKILL) leaves a readable store; the rerun completes it with
no lost and no duplicated rows. Real subprocesses, real signals."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from PIL import Image

from jpegaudit.sources.compiled import compiled

N_FILES = 6000
# Fewer than process_pool.SMALL_PLAN_FILES: the scan runs in its main process, not in workers.
N_SMALL = 1500


def folder_of(root, n_files):
    out = io.BytesIO()
    Image.new("RGB", (24, 24), 70).save(out, "JPEG", quality=85)
    data = out.getvalue()
    for d in range(20):
        (root / f"c{d:02d}").mkdir(parents=True)
        for i in range(n_files // 20):
            (root / f"c{d:02d}" / f"{i:05d}.jpg").write_bytes(data)
    return root


@pytest.fixture(scope="module")
def many_files(tmp_path_factory):
    return folder_of(tmp_path_factory.mktemp("interrupt") / "train", N_FILES)


@pytest.fixture(scope="module")
def few_files(tmp_path_factory):
    return folder_of(tmp_path_factory.mktemp("interrupt-small") / "train", N_SMALL)


def start_scan(root, store, slow_units=False):
    # A process started in the background by a non-interactive shell (`cmd &`, as a CI runner
    # may start the suite) inherits SIGINT ignored, and Python then installs no handler: the
    # scan would never see the signal. The child restores Python's own, as a terminal gives it.
    # slow_units: each unit starts 20 ms late (slow storage), so that a plan run in the main
    # process is still running when the signal lands; and no pool may start.
    code = (
        "import signal, sys, jpegaudit; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "if sys.argv[3] == '1':\n"
        "    import time, jpegaudit.scanner.process_pool as pool\n"
        "    real = pool.audit_unit\n"
        "    pool.audit_unit = lambda work: (time.sleep(0.02), real(work))[1]\n"
        "    pool.ProcessPoolExecutor = None\n"
        "jpegaudit.scan(sys.argv[1], sys.argv[2], jobs=2, batch_size=50)"
    )
    return subprocess.Popen(
        [sys.executable, "-c", code, str(root), str(store), str(int(slow_units))],
        start_new_session=True,
    )


def wait_for_parts(store, minimum=3, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if store.is_dir() and len(list(store.glob("part-*.parquet"))) >= minimum:
            return
        time.sleep(0.01)
    raise AssertionError("scan wrote no parts")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["sigint", "sigkill"])
def test_killed_scan_resumes_without_loss_or_duplicates(many_files, tmp_path, sig):
    store = tmp_path / "store"
    proc = start_scan(many_files, store)
    wait_for_parts(store)
    os.killpg(proc.pid, sig) if sig == signal.SIGKILL else proc.send_signal(sig)
    proc.wait(timeout=60)
    partial = pd.read_parquet(store)  # readable right after the kill
    assert partial["path"].is_unique
    assert 0 < len(partial) < N_FILES, "the scan finished before it could be interrupted"
    rerun = start_scan(many_files, store)
    assert rerun.wait(timeout=120) == 0
    final = pd.read_parquet(store)
    assert len(final) == N_FILES and final["path"].is_unique


@pytest.mark.skipif(
    compiled is None, reason="only a plan the compiled core reads all of runs in the main process"
)
def test_ctrl_c_in_a_scan_run_in_its_main_process_keeps_the_finished_units(few_files, tmp_path):
    from jpegaudit.scanner.process_pool import SMALL_PLAN_FILES

    assert N_SMALL < SMALL_PLAN_FILES
    store = tmp_path / "store"
    proc = start_scan(few_files, store, slow_units=True)
    wait_for_parts(store)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) != 0
    partial = pd.read_parquet(store)
    assert partial["path"].is_unique
    assert 0 < len(partial) < N_SMALL, "the scan finished before it could be interrupted"
    assert len(partial) % 50 == 0  # whole units only
    rerun = start_scan(few_files, store)
    assert rerun.wait(timeout=120) == 0
    final = pd.read_parquet(store)
    assert len(final) == N_SMALL and final["path"].is_unique
