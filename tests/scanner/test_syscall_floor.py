"""scripts/syscall_floor.c, the program (not the library bench_scan builds): its whole-list line,
and with BATCH (and PAUSE_MS) one line per run of BATCH files (docs/performance.md, "Reads
right after a pause"). Skipped where there is no C compiler."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[2] / "scripts" / "syscall_floor.c"


@pytest.fixture
def program(tmp_path, c_compiler) -> Path:
    if c_compiler is None:
        pytest.skip("no C compiler (cc, gcc)")
    out = tmp_path / "syscall_floor"
    subprocess.run([c_compiler, "-O2", "-Wall", "-Werror", "-o", str(out), str(SOURCE)], check=True)
    return out


@pytest.fixture
def file_list(tmp_path) -> Path:
    names = []
    for i in range(5):
        path = tmp_path / f"f{i}.bin"
        path.write_bytes(bytes(100 + 5000 * i))  # both sides of the 4 KiB head
        names.append(str(path))
    names.append(str(tmp_path / "missing.bin"))
    listing = tmp_path / "files.txt"
    listing.write_text("\n".join(names) + "\n")
    return listing


def run(program: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(program), *map(str, args)], capture_output=True, text=True)


def test_the_whole_list_in_one_line(program, file_list):
    done = run(program, file_list)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("6 files (1 failed)")
    # 100 bytes, then 4 KiB heads of four larger files and their 64-byte tails
    assert f"{100 + 4 * (4096 + 64)} bytes read" in done.stdout


def test_batches_after_a_pause_one_line_each(program, file_list):
    done = run(program, file_list, 4, 10)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [re.match(r"files (\d+-\d+) \((\d) failed\): [\d.]+ us/file$", line).groups()
            for line in lines] == [("0-3", "0"), ("4-5", "1")]  # fmt: skip


def test_a_busy_pause_lasts_as_long(program, file_list):
    started = time.monotonic()
    done = run(program, file_list, 4, 200, "spin")
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 0.2
    assert len(done.stdout.splitlines()) == 2


@pytest.mark.parametrize("args", [("0",), ("2", "-1"), ("1", "2", "3"), ("1", "2", "busy")])
def test_refuses_a_bad_batch_or_pause(program, file_list, args):
    done = run(program, file_list, *args)
    assert done.returncode == 2 and done.stderr
