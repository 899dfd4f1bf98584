"""What the tests of the measuring scripts (scripts/bench_*.py, scripts/syscall_floor.c) share."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """A class folder of 12 small JPEGs, each at its own quality (its own header)."""
    data = tmp_path / "data" / "n01"
    data.mkdir(parents=True)
    for i in range(12):
        out = io.BytesIO()
        Image.new("RGB", (16, 16), 10 * i).save(out, "JPEG", quality=50 + 3 * i)
        (data / f"{i:02d}.jpg").write_bytes(out.getvalue())
    return data.parent


@pytest.fixture
def run_script(tmp_path):
    """run_script(name, *args): scripts/<name> run by this interpreter in tmp_path (the script
    puts the trees it compares on PYTHONPATH itself); the finished run."""

    def run(name: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, str(REPO / "scripts" / name), *args],
            capture_output=True, text=True, check=False, cwd=tmp_path,
        )  # fmt: skip

    return run


@pytest.fixture
def src_tree() -> Path:
    """This tree's src, as the scripts take it in NAME=SRC."""
    return REPO / "src"


@pytest.fixture
def c_compiler() -> str | None:
    """The C compiler the scripts build with, found as bench_scan.build_c_floor finds it ($CC,
    else cc, else gcc), or None."""
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
