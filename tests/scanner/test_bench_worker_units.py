"""scripts/bench_worker_units.py still measures what it says: its patches take (the unit, its
audit and part write, the calls into the Python verdict code), on a scan small enough to run
in the main process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from jpegaudit.sources.compiled import compiled

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_worker_units.py"
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.mark.skipif(compiled is None, reason="the script measures the compiled core")
def test_the_script_reports_every_unit_and_the_verdict_calls(tmp_path):
    data = tmp_path / "data" / "n01"
    data.mkdir(parents=True)
    for i in range(12):
        out = io.BytesIO()
        Image.new("RGB", (16, 16), 10 * i).save(out, "JPEG", quality=50 + 3 * i)
        (data / f"{i:02d}.jpg").write_bytes(out.getvalue())
    report = tmp_path / "units.json"
    run = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "data"), f"here={SRC}", "--repeat", "1",
         "--json", str(report)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    (scan,) = json.loads(report.read_text())["runs"]["here"]
    assert scan["files"] == 12
    assert scan["judged_calls"] >= 1  # the first structure is judged in Python
    assert 0 < scan["audit"] <= scan["units"]
    assert 0 < scan["write"] <= scan["units"]
    assert scan["first_faults"] == scan["faults"]  # one unit: the first is every unit
