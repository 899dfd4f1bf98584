"""Shared fixtures: the corpora path and the "needs an oracle" switch.

`@pytest.mark.needs_tools("djpeg", "pillow")` skips a test when one of those oracles is missing,
or fails it when JPEGAUDIT_REQUIRE_ORACLES=1 (CI), so oracle tests never skip silently there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from oracles import CORPORA_DIR, require_tool


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "needs_tools(*names): skip when an oracle or encoder is missing (fail under "
        "JPEGAUDIT_REQUIRE_ORACLES=1); names are executables or 'pillow', 'opencv'",
    )


@pytest.fixture(autouse=True)
def _needs_tools(request: pytest.FixtureRequest) -> None:
    for marker in request.node.iter_markers("needs_tools"):
        for name in marker.args:
            require_tool(name)


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """../shared/corpora (from the repository root); tests using it skip when it is absent."""
    if not CORPORA_DIR.is_dir():
        pytest.skip(f"corpora not present at {CORPORA_DIR}")
    return CORPORA_DIR
