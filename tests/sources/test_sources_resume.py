"""A scan of tar shards killed mid-way (a real subprocess, SIGKILL) leaves a readable store, and
the rerun completes it with no lost and no duplicated rows: done shards are skipped by their
part's name, half-done ones are redone. Also when the kill hits a rescan replacing old rows."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tarfile
import time

import pandas as pd
import pytest
from PIL import Image

N_SHARDS = 120
PER_SHARD = 50


def tiny_jpeg(quality: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 24), 70).save(out, "JPEG", quality=quality)
    return out.getvalue()


def write_shards(root, prefix: str, quality: int) -> None:
    data = tiny_jpeg(quality)
    for s in range(N_SHARDS):
        with tarfile.open(root / f"{s:04d}.tar", "w") as tar:
            for i in range(PER_SHARD):
                info = tarfile.TarInfo(f"{prefix}{s:04d}_{i:03d}.jpg")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


@pytest.fixture
def shards(tmp_path):
    root = tmp_path / "shards"
    root.mkdir()
    write_shards(root, "old", 85)
    return root


def start_scan(root, store):
    code = "import sys, jpegaudit; jpegaudit.scan(sys.argv[1], sys.argv[2], jobs=2)"
    return subprocess.Popen(
        [sys.executable, "-c", code, str(root), str(store)], start_new_session=True
    )


def kill_after_parts(proc, store, minimum):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if store.is_dir() and len(list(store.glob("*part-*.parquet"))) >= minimum:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            return
        time.sleep(0.005)
    raise AssertionError("scan wrote no parts")


def test_killed_shard_scan_resumes_without_loss_or_duplicates(shards, tmp_path):
    store = tmp_path / "store"
    kill_after_parts(start_scan(shards, store), store, minimum=3)
    partial = pd.read_parquet(store)  # readable right after the kill
    assert partial["path"].is_unique
    assert 0 < len(partial) < N_SHARDS * PER_SHARD, "finished before it could be killed"
    assert len(partial) % PER_SHARD == 0  # whole shards only
    assert start_scan(shards, store).wait(timeout=120) == 0
    final = pd.read_parquet(store)
    assert len(final) == N_SHARDS * PER_SHARD and final["path"].is_unique


def test_killed_rescan_of_changed_shards_never_mixes_old_and_new_rows(shards, tmp_path):
    store = tmp_path / "store"
    assert start_scan(shards, store).wait(timeout=120) == 0
    write_shards(shards, "new", 40)  # every shard changes: other members, other quality
    kill_after_parts(start_scan(shards, store), store, minimum=3 + N_SHARDS)
    partial = pd.read_parquet(store)
    assert partial["path"].is_unique
    by_shard = partial.groupby(partial["path"].str.split("::").str[0])["quality_luma"]
    assert (by_shard.nunique() == 1).all()  # each shard wholly old or wholly new
    assert len(partial) == N_SHARDS * PER_SHARD
    assert start_scan(shards, store).wait(timeout=120) == 0
    final = pd.read_parquet(store)
    assert len(final) == N_SHARDS * PER_SHARD and final["path"].is_unique
    assert set(final["quality_luma"]) == {40}
