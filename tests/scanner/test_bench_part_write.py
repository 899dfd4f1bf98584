"""scripts/bench_part_write.py still writes every contender's part and checks that it reads
back as today's schema and values (dictionary-input hands the writer dictionary arrays)."""

from __future__ import annotations

import jpegaudit


def test_every_contender_writes_a_part_that_reads_back_the_same(tmp_path, tiny_dataset, run_script):
    store = tmp_path / "store"
    jpegaudit.scan([tiny_dataset], store, jobs=1)
    run = run_script("bench_part_write.py", str(store), "--rounds", "1", "--parts", "1",
                     "--writes", "1")  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = [line for line in run.stdout.splitlines() if "us/row" in line]
    names = [line.split()[0] for line in lines]
    assert names == ["before", "snappy-tables", "now", "dictionary-input"]
    assert all(line.endswith("reads back the same") for line in lines), run.stdout


def test_part_rows_times_every_size_on_the_same_rows(tmp_path, tiny_dataset, run_script):
    store = tmp_path / "store"
    jpegaudit.scan([tiny_dataset], store, jobs=1)
    rows = 12  # tiny_dataset's files, one part
    run = run_script("bench_part_write.py", str(store), "--rounds", "1", "--part-rows", "1,2",
                     "--total-rows", str(rows))  # fmt: skip
    assert run.returncode == 0, run.stderr
    sizes = [int(line.split()[0]) for line in run.stdout.splitlines() if "rows a part" in line]
    assert sizes == [1, 2]
    # More rows than the store holds is refused, not timed on fewer.
    short = run_script("bench_part_write.py", str(store), "--part-rows", "1",
                       "--total-rows", str(rows + 1))  # fmt: skip
    assert short.returncode != 0 and "needs" in short.stderr
