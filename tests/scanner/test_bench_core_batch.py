"""scripts/bench_core_batch.py still measures what it says: the compiled core's batch over the
files, pass after pass, and the same reads alone from C where a compiler is found."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from jpegaudit.sources.compiled import compiled

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_core_batch.py"
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.skipif(compiled is None, reason="the script measures the compiled core")
def test_the_script_times_every_pass_of_the_core_and_the_reads(tmp_path):
    data = tmp_path / "data" / "n01"
    data.mkdir(parents=True)
    for i in range(9):
        out = io.BytesIO()
        Image.new("RGB", (16, 16), 10 * i).save(out, "JPEG", quality=50 + 3 * i)
        (data / f"{i:02d}.jpg").write_bytes(out.getvalue())
    report = tmp_path / "core.json"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "data"), f"here={SRC}", "--files", "8",
         "--passes", "3", "--repeat", "2", "--json", str(report)],
        capture_output=True, text=True, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    got = json.loads(report.read_text())
    assert got["files"] == 8
    here = got["contenders"]["here"]
    assert len(here["runs"]) == 2 and all(len(r) == 3 for r in here["runs"])
    assert all(x > 0 for r in here["runs"] for x in r)
    assert here["first"]["min"] <= here["first"]["median"] <= here["first"]["max"]
    if shutil.which("cc") or shutil.which("gcc"):
        reads = got["contenders"]["reads-in-c"]
        assert all(x > 0 for r in reads["runs"] for x in r)
        assert "warm_beyond_reads" in here
