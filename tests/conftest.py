"""Shared fixtures: the corpora path and the "needs an oracle" switches.

`@pytest.mark.needs_tools("djpeg", "pillow")` skips a test when one of those oracles is missing,
or fails it when JPEGAUDIT_REQUIRE_ORACLES=1 (CI), so oracle tests never skip silently there.

`@pytest.mark.heavy("tensorflow", modules=["tensorflow"], tools=["gimp"])` marks a test that
needs a heavy oracle living only in its own CI step's environment (`.ci/step.sh tensorflow`,
defined by `.ci/steps/tensorflow.sh`; docs/testing.md). Elsewhere it skips, naming the step.
Inside that step (`JPEGAUDIT_HEAVY_STEP=tensorflow`, set by .ci/step.sh) only that step's
heavy tests are collected, and a missing module or tool fails them.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest
from oracles import CORPORA_DIR, require_tool

HEAVY_STEP_ENV = "JPEGAUDIT_HEAVY_STEP"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_tools(*names): skip when an oracle or encoder is missing (fail under "
        "JPEGAUDIT_REQUIRE_ORACLES=1); names are executables or 'pillow', 'opencv'",
    )
    config.addinivalue_line(
        "markers",
        "heavy(step, modules=(), tools=()): needs a heavy oracle from CI step STEP's own "
        "environment (.ci/step.sh STEP); skips elsewhere, fails there when one is missing",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    step = os.environ.get(HEAVY_STEP_ENV)
    if not step:
        return
    mine = [
        (m := i.get_closest_marker("heavy")) is not None and m.args[:1] == (step,) for i in items
    ]
    keep = [i for i, ok in zip(items, mine, strict=True) if ok]
    dropped = [i for i, ok in zip(items, mine, strict=True) if not ok]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing
        return False


def require_heavy(step: str, modules=(), tools=()) -> None:
    """Skip unless every module imports and every tool is on PATH; in step STEP's own
    environment, fail instead."""
    missing = [m for m in modules if not _importable(m)]
    missing += [t for t in tools if shutil.which(t) is None]
    if not missing:
        return
    if os.environ.get(HEAVY_STEP_ENV) == step:
        pytest.fail(f"{', '.join(missing)} missing in the {step} step's environment")
    pytest.skip(f"needs {', '.join(missing)}: runs in CI's {step} step (bash .ci/step.sh {step})")


@pytest.fixture(autouse=True)
def _needs_tools(request: pytest.FixtureRequest) -> None:
    for marker in request.node.iter_markers("needs_tools"):
        for name in marker.args:
            require_tool(name)
    for marker in request.node.iter_markers("heavy"):
        require_heavy(
            marker.args[0], marker.kwargs.get("modules", ()), marker.kwargs.get("tools", ())
        )


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """../shared/corpora (from the repository root); tests using it skip when it is absent."""
    if not CORPORA_DIR.is_dir():
        pytest.skip(f"corpora not present at {CORPORA_DIR}")
    return CORPORA_DIR
