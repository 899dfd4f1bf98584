"""scripts/bench_core_batch.py still measures what it says: the compiled core's batch over the
files, pass after pass, and the same reads alone from C where a compiler is found."""

from __future__ import annotations

import json

import pytest

from jpegaudit.sources.compiled import compiled


@pytest.mark.skipif(compiled is None, reason="the script measures the compiled core")
def test_the_script_times_every_pass_of_the_core_and_the_reads(
    tmp_path, tiny_dataset, run_script, src_tree, c_compiler
):
    report = tmp_path / "core.json"
    run = run_script("bench_core_batch.py", str(tiny_dataset), f"here={src_tree}", "--files", "8",
                     "--passes", "3", "--repeat", "2", "--json", str(report))  # fmt: skip
    assert run.returncode == 0, run.stderr
    got = json.loads(report.read_text())
    assert got["files"] == 8
    here = got["contenders"]["here"]
    assert len(here["runs"]) == 2 and all(len(r) == 3 for r in here["runs"])
    assert all(x > 0 for r in here["runs"] for x in r)
    assert here["first"]["min"] <= here["first"]["median"] <= here["first"]["max"]
    if c_compiler is not None:
        reads = got["contenders"]["reads-in-c"]
        assert all(x > 0 for r in reads["runs"] for x in r)
        assert "warm_beyond_reads" in here
