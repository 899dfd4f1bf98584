"""scripts/bench_worker_units.py still measures what it says: its patches take (the unit, its
audit and part write, the calls into the Python verdict code), on a scan small enough to run
in the main process."""

from __future__ import annotations

import json

import pytest

from jpegaudit.sources.compiled import compiled


@pytest.mark.skipif(compiled is None, reason="the script measures the compiled core")
def test_the_script_reports_every_unit_and_the_verdict_calls(
    tmp_path, tiny_dataset, run_script, src_tree
):
    report = tmp_path / "units.json"
    run = run_script("bench_worker_units.py", str(tiny_dataset), f"here={src_tree}", "--repeat", "1",
                     "--json", str(report))  # fmt: skip
    assert run.returncode == 0, run.stderr
    (scan,) = json.loads(report.read_text())["runs"]["here"]
    assert scan["files"] == 12
    assert scan["judged_calls"] >= 1  # the first structure is judged in Python
    assert 0 < scan["audit"] <= scan["units"]
    assert 0 < scan["write"] <= scan["units"]
    assert scan["first_faults"] == scan["faults"]  # one unit: the first is every unit
