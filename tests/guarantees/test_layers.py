"""The package's layers (pyproject.toml [tool.importlinter], docs/architecture.md) hold, and the
contract is not toothless: the same check fails on a copy of the package with one upward import
added."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from oracles import REPO_ROOT

ROOT = REPO_ROOT
LINT = shutil.which("lint-imports")

pytestmark = pytest.mark.skipif(LINT is None, reason="import-linter is not installed")


def lint(src: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [LINT, "--no-cache", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=src,
        timeout=300,
    )


def test_the_package_keeps_every_import_contract():
    result = lint(ROOT / "src")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "bad_import", "contract"),
    [
        ("jpeg/markers.py", "import jpegaudit.cli", "layers"),
        ("store/files.py", "import jpegaudit.scanner.engine", "layers"),
        ("analysis/stats.py", "import jpegaudit.scanner.walk", "analysis reads the store"),
        ("report/writers.py", "import jpegaudit.api", "api is a facade"),
    ],
)
def test_an_upward_import_breaks_a_contract(tmp_path, module, bad_import, contract):
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "src" / "jpegaudit", copy / "jpegaudit",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))  # fmt: skip
    target = copy / "jpegaudit" / module
    target.write_text(target.read_text() + f"\n{bad_import}  # deliberately wrong\n")
    result = lint(copy)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if line.endswith("BROKEN")]
    assert any(contract in line for line in broken), result.stdout
    # The copy was linted, not the installed package: the report names the bad import.
    assert "jpegaudit." + module.replace("/", ".").removesuffix(".py") in result.stdout
