"""The heavy-oracle marker (tests/conftest.py): a test marked
@pytest.mark.heavy(STEP, modules=..., tools=...) skips outside its CI step, is the only kind
collected inside it (JPEGAUDIT_HEAVY_STEP=STEP, set by .ci/step.sh), and fails there when what
it needs is missing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

HEAVY_TESTS = """
import pytest

@pytest.mark.heavy("bigstep", modules=["no_such_module_for_jpegaudit"])
def test_needs_a_missing_module():
    import no_such_module_for_jpegaudit  # noqa: F401

@pytest.mark.heavy("bigstep", modules=["json"], tools=["sh"])
def test_needs_what_is_here():
    import json  # noqa: F401

@pytest.mark.heavy("otherstep", modules=["json"])
def test_of_another_step():
    pass

def test_ordinary():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.delenv("JPEGAUDIT_HEAVY_STEP", raising=False)
    pytester.makeconftest((HERE / "conftest.py").read_text())
    pytester.makepyfile(oracles=(HERE / "oracles.py").read_text(), test_heavy=HEAVY_TESTS)
    return pytester


def test_heavy_tests_skip_outside_their_step_and_name_it(suite):
    result = suite.runpytest("-rs")
    result.assert_outcomes(passed=3, skipped=1)
    result.stdout.fnmatch_lines(["*runs in CI's bigstep step (bash .ci/step.sh bigstep)*"])


def test_inside_a_step_only_its_tests_run_and_a_missing_module_fails(suite, monkeypatch):
    monkeypatch.setenv("JPEGAUDIT_HEAVY_STEP", "bigstep")
    result = suite.runpytest()
    result.assert_outcomes(passed=1, errors=1, deselected=2)  # the marker's check errors
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*no_such_module_for_jpegaudit missing in the bigstep step*"])


def test_the_step_runner_and_every_step_definition_parse():
    for definition in sorted((ROOT / ".ci" / "steps").glob("*.sh")):
        done = subprocess.run(["bash", "-n", str(definition)], capture_output=True, text=True)
        assert done.returncode == 0, (definition.name, done.stderr)
    done = subprocess.run(["bash", "-n", str(ROOT / ".ci" / "step.sh")], capture_output=True)
    assert done.returncode == 0
