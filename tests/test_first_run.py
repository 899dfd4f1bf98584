"""What a newcomer meets first: bare `jpegaudit`, one example in every command's help, and
`jpegaudit demo` running the main job end to end (build, scan, report, summary)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from jpegaudit.cli import main

COMMANDS = ("scan", "inspect", "demo", "check", "report")


def test_bare_jpegaudit_says_to_run_the_demo_first():
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0
    first_steps = result.output.split("Usage:")[0]
    assert "jpegaudit demo --out jpegaudit-demo" in first_steps
    assert "jpegaudit-demo/report/index.html" in first_steps


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_help_gives_one_example(command):
    args = ["--help"] if command is None else [command, "--help"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0
    example = result.output.split("Example:\n", 1)[1].strip().splitlines()
    assert len(example) == 1 and example[0].startswith(f"jpegaudit {command or 'demo'}")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("first") / "jpegaudit-demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    return out, result


def test_demo_writes_the_report(demo_run):
    out, result = demo_run
    assert result.exit_code == 0, result.output
    assert (out / "report" / "index.html").stat().st_size > 10_000
    assert result.output.rstrip().endswith(f"open the report: {out / 'report' / 'index.html'}")


def test_demo_summary_puts_splits_side_by_side_with_findings(demo_run):
    out, result = demo_run
    summary = json.loads((out / "report" / "summary.json").read_text())
    header = next(line for line in result.output.splitlines() if line.split() == ["train", "val",
                                                                                "all"])  # fmt: skip
    assert header
    cmyk = next(line for line in result.output.splitlines() if line.strip().startswith("CMYK"))
    counts = [summary["overview"][s]["cmyk_or_ycck"] for s in ("train", "val", "all")]
    assert cmyk.split()[-3:] == [str(n) for n in counts]
    assert "NaN" not in result.output and "Name:" not in result.output  # no pandas dumps


def test_demo_names_three_files_worth_opening_first_the_png(demo_run):
    _, result = demo_run
    listed = result.output.split("files most worth opening:\n", 1)[1].split("\n\n")[0]
    paths = [line.strip() for line in listed.splitlines() if line.startswith("  /")
             or line.startswith("  ") and not line.startswith("      ")]  # fmt: skip
    assert len(paths) == 3
    assert paths[0].endswith("n02105855/n02105855_2933.JPEG")  # ImageNet's PNG named .JPEG


def test_demo_without_report_stops_after_the_scan(tmp_path):
    out = tmp_path / "d"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--no-report"])
    assert result.exit_code == 0, result.output
    assert not (out / "report").exists()
    assert f"next: jpegaudit report --store {out / 'store'} --out {out / 'report'}" in result.output
    assert "files most worth opening:" in result.output
