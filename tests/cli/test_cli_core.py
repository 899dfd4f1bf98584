"""The scan, inspect and demo commands through click's CliRunner, and the schema document."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from click.testing import CliRunner
from oracles import REPO_ROOT
from PIL import Image

from jpegaudit.api import read_store
from jpegaudit.cli import main
from jpegaudit.schema import COLUMNS

DOCS = REPO_ROOT / "docs"


def write_jpeg(path: Path, quality: int = 80) -> None:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), 30).save(out, "JPEG", quality=quality)
    path.write_bytes(out.getvalue())


def test_scan_command_writes_store_and_summarises(tmp_path):
    (tmp_path / "val").mkdir()
    write_jpeg(tmp_path / "val" / "a.jpg")
    store = tmp_path / "store"
    result = CliRunner().invoke(
        main, ["scan", str(tmp_path / "val"), "--store", str(store), "-j", "1"]
    )
    assert result.exit_code == 0, result.output
    assert re.search(r"1 scanned \(0 with errors\), 0 unchanged, 0 removed", result.output)
    assert read_store(store)["split"].tolist() == ["val"]


def test_scan_command_refuses_overlapping_paths_with_usage_error(tmp_path):
    (tmp_path / "d" / "e").mkdir(parents=True)
    args = ["scan", str(tmp_path / "d"), str(tmp_path / "d" / "e"), "--store", str(tmp_path / "s")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "overlap" in result.output


def test_a_store_that_cannot_be_written_is_an_error_without_usage_text(tmp_path):
    (tmp_path / "val").mkdir()
    write_jpeg(tmp_path / "val" / "a.jpg")
    not_a_dir = tmp_path / "store"
    not_a_dir.write_text("a file where the store should be")
    result = CliRunner().invoke(main, ["scan", str(tmp_path / "val"), "--store", str(not_a_dir)])
    assert result.exit_code == 2
    assert result.output.startswith("Error: ") and "Usage:" not in result.output
    assert "store" in result.output and "Traceback" not in result.output


def test_inspect_explains_tables_and_quality(tmp_path):
    write_jpeg(tmp_path / "q.jpg", quality=37)
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "q.jpg")])
    assert result.exit_code == 0, result.output
    assert "exact IJG luma table at q 37" in result.output
    assert "quality: luma 37, chroma 37" in result.output
    assert "subsampling: 4:2:0" in result.output


def test_inspect_json_is_parseable_and_carries_the_row(tmp_path):
    write_jpeg(tmp_path / "q.jpg", quality=61)
    result = CliRunner().invoke(main, ["inspect", "--json", str(tmp_path / "q.jpg")])
    doc = json.loads(result.output)
    assert doc["row"]["quality_luma"] == 61
    assert [t["slot"] for t in doc["tables"]] == [0, 1]


def test_inspect_of_a_missing_file_reports_it(tmp_path):
    result = CliRunner().invoke(main, ["inspect", str(tmp_path / "nope.jpg")])
    assert result.exit_code == 0
    assert "vanished before it was read" in result.output


def test_schema_document_lists_every_column_with_its_type():
    text = (DOCS / "store-schema.md").read_text()
    documented = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1].startswith("`"):
            for name in re.findall(r"`([a-z_0-9]+)`", cells[1]):
                documented[name] = cells[2]
    for name, kind in COLUMNS:
        assert name in documented, f"{name} is not documented"
        expected = "timestamp[us, UTC]" if kind == "timestamp" else kind
        assert documented[name] == expected, name


def test_help_imports_no_heavy_modules():
    import subprocess
    import sys

    code = (
        "import sys; from click.testing import CliRunner; from jpegaudit.cli import main; "
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'matplotlib', 'umap', 'torch', 'dask') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_inspect_imports_no_pandas(tmp_path):
    # pyarrow imports pandas at its first conversion to Python values unless told it is absent:
    # that import was about half of a one-file `inspect` (docs/performance.md).
    import subprocess
    import sys

    path = tmp_path / "x.jpg"
    Image.new("RGB", (16, 16), 40).save(path, "JPEG", quality=80)
    code = (
        "import sys; from click.testing import CliRunner; from jpegaudit.cli import main; "
        f"r = CliRunner().invoke(main, ['inspect', {str(path)!r}, '--json']); "
        "assert r.exit_code == 0, r.output; assert '\"quality_luma\": 80' in r.output; "
        "print(sorted(m for m in ('pandas', 'matplotlib', 'umap', 'torch', 'dask') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version_says_which_core_runs(monkeypatch):
    from jpegaudit.sources.compiled import CORE_NAME

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"jpegaudit {jpegaudit_version()} ({CORE_NAME} core)\n"


def test_inspect_json_says_which_core_made_the_row(tmp_path, monkeypatch):
    import jpegaudit.sources.local as local
    from jpegaudit.sources.compiled import CORE_NAME

    path = tmp_path / "x.jpg"
    Image.new("RGB", (16, 16), 40).save(path, "JPEG", quality=80)
    shown = json.loads(CliRunner().invoke(main, ["inspect", str(path), "--json"]).output)
    assert shown["core"] == CORE_NAME and shown["row"]["quality_luma"] == 80
    monkeypatch.setattr(local, "compiled", None)
    reference = json.loads(CliRunner().invoke(main, ["inspect", str(path), "--json"]).output)
    assert reference["core"] == "python"
    for name in ("scanned_at",):
        shown["row"].pop(name), reference["row"].pop(name)
    assert shown["row"] == reference["row"]
    png = tmp_path / "y.jpg"
    Image.new("RGB", (4, 4)).save(png, "PNG")
    monkeypatch.undo()
    assert (
        json.loads(CliRunner().invoke(main, ["inspect", str(png), "--json"]).output)["core"]
        == "python"
    )


def jpegaudit_version() -> str:
    from jpegaudit._version import __version__

    return __version__
