"""The `jpegaudit` command's entry point (jpegaudit._entry): it settles OpenBLAS's thread
timeout before numpy is imported, keeps a value the user set, and is what pyproject's console
script runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[2]

# Runs the entry point as the console script does (`jpegaudit --version`), then says what the
# process's OpenBLAS timeout was.
PROBE = """
import os, sys
{before}
sys.argv = ["jpegaudit", "--version"]
from jpegaudit._entry import main
try:
    main()
except SystemExit:
    pass
print("timeout=" + str(os.environ.get("OPENBLAS_THREAD_TIMEOUT")))
"""


def probe(before: str = "", **env: str) -> str:
    environment = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(before=before)],
        capture_output=True, text=True, env={**environment, **env}, check=True,
    )  # fmt: skip
    assert done.stdout.startswith("jpegaudit "), done.stdout  # the command ran
    return done.stdout.strip().splitlines()[-1]


def test_the_command_sets_a_short_blas_timeout():
    assert probe() == "timeout=4"


def test_a_timeout_the_user_set_is_kept():
    assert probe(OPENBLAS_THREAD_TIMEOUT="9") == "timeout=9"


def test_nothing_is_set_once_numpy_is_loaded():
    # OpenBLAS read its settings when numpy was imported: setting one now would say what is
    # not so.
    assert probe(before="import numpy") == "timeout=None"


def test_the_console_script_is_the_entry_point():
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"jpegaudit": "jpegaudit._entry:main"}


@pytest.mark.skipif(
    not (Path(sys.executable).parent / "jpegaudit").exists(),
    reason="the console script is not installed beside this interpreter",
)
def test_the_installed_command_runs_it():
    script = (Path(sys.executable).parent / "jpegaudit").read_text()
    assert "from jpegaudit._entry import main" in script
