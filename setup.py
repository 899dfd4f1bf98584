"""Builds the compiled scan core (src/jpegaudit/_ccore.pyx) and the compiled walk and index
lookup (src/jpegaudit/_cwalk.pyx), Cython, when it can; everything else is declared in
pyproject.toml. Without a C compiler (or with JPEGAUDIT_PURE_PYTHON=1) the install still
succeeds and the pure-Python core runs (`jpegaudit --version` says which)."""

from __future__ import annotations

import os
import sys

from setuptools import setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """A failed compile is a warning, not a failed install: the pure-Python core is complete."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # no compiler, no Python headers
            _skip(exc)

    def build_extension(self, ext) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            _skip(exc)


def _skip(exc: Exception) -> None:
    print(f"jpegaudit: compiled core not built ({exc}); the pure-Python core will run",
          file=sys.stderr)  # fmt: skip


def extensions() -> list:
    if os.environ.get("JPEGAUDIT_PURE_PYTHON") == "1":
        return []
    try:
        from Cython.Build import cythonize
    except ImportError as exc:
        _skip(exc)
        return []
    from setuptools import Extension

    # -O3 vectorises the quality fit across reference rows; -ffp-contract=off forbids fused
    # multiply-adds, so that every float is the Python core's to the last bit.
    flags = ["-O3", "-ffp-contract=off"]
    flags += os.environ.get("JPEGAUDIT_CORE_CFLAGS", "").split()  # e.g. -fsanitize=address
    modules = [
        Extension(
            f"jpegaudit.{name}",
            [f"src/jpegaudit/{name}.pyx"],
            extra_compile_args=flags,
            extra_link_args=os.environ.get("JPEGAUDIT_CORE_LDFLAGS", "").split(),
        )
        for name in ("_ccore", "_cwalk")
    ]
    return cythonize(
        modules,
        compiler_directives={"language_level": "3", "boundscheck": False, "wraparound": False,
                             "cdivision": True, "initializedcheck": False},
        quiet=True,
    )  # fmt: skip


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
