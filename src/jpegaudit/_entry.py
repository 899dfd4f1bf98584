"""The `jpegaudit` command's entry point: the process's settings that must come before the
command's imports, then `jpegaudit.cli.main`. The library API sets nothing: a user's process
is theirs."""

from __future__ import annotations

import os
import sys

# OpenBLAS (numpy's BLAS) starts a thread per core when numpy is imported, and each spins for
# the default timeout waiting for work before it sleeps: 0.1-0.3 s of CPU that no command uses
# (docs/performance.md, "The command's own start"). A short timeout puts them to sleep at once
# and keeps them for the BLAS calls a report makes. A value the user set is kept.
_BLAS_SETTINGS = {"OPENBLAS_THREAD_TIMEOUT": "4"}


def main() -> None:
    if "numpy" not in sys.modules:  # too late once numpy (and its BLAS) is loaded
        for name, value in _BLAS_SETTINGS.items():
            os.environ.setdefault(name, value)
    from jpegaudit.cli import main as command

    command()
