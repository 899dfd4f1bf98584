"""The compiled scan core (`jpegaudit._ccore`, built from src/jpegaudit/_ccore.pyx by Cython when
a compiler is there): the header walk, EXIF, names, quality and read strategy of the Python core
in C, for local files. It handles the clean path (a regular file whose header the reference
parses without an error or a warning) and hands every other entry back to the Python core, so
the rows are the same whichever runs (tests/audit/test_compiled_core.py).

`JPEGAUDIT_CORE=python` runs the pure-Python core even where the compiled one is built;
`JPEGAUDIT_CORE=compiled` makes its absence an error (CI)."""

from __future__ import annotations

import importlib
import os

from jpegaudit._version import __version__
from jpegaudit.jpeg.markers import STANDARD_HUFFMAN, ZIGZAG
from jpegaudit.provenance.catalog import camera_family, software_family
from jpegaudit.provenance.database import database
from jpegaudit.provenance.identify import structure_from_features, template_row
from jpegaudit.quality import CHROMA_BASE, LUMA_BASE
from jpegaudit.schema import COLUMNS
from jpegaudit.sniff import EXTENSION_FORMATS

CORE_ENV = "JPEGAUDIT_CORE"


class CompiledCoreMissing(ImportError):
    """JPEGAUDIT_CORE=compiled, but the extension was not built (or does not load)."""


def _load():
    wanted = os.environ.get(CORE_ENV, "").strip().lower()
    if wanted == "python":
        return None
    try:
        # By name: an extension module has no source for the layer check to read, and
        # `from jpegaudit import _ccore` would read as an import of the package root.
        _ccore = importlib.import_module("jpegaudit._ccore")
    except ImportError as exc:
        if wanted == "compiled":
            raise CompiledCoreMissing(
                f"{CORE_ENV}=compiled, but jpegaudit._ccore does not load: {exc} "
                "(pip install . with a C compiler builds it)"
            ) from exc
        return None
    not_jpeg = sorted(ext for ext, fmt in EXTENSION_FORMATS.items() if fmt != "jpeg")
    _ccore.configure(
        COLUMNS,
        __version__,
        not_jpeg,
        STANDARD_HUFFMAN,
        ZIGZAG,
        LUMA_BASE,
        CHROMA_BASE,
        _library_sha1_address(),
        sha1_steps=_library_sha1_steps(),
        provenance=(
            structure_from_features,
            template_row,
            camera_family,
            software_family,
            database().known_tables,
        ),
    )
    return _ccore


def _library_sha1_steps() -> tuple[int, int, int]:
    """Addresses of libcrypto's SHA1_Init, SHA1_Update and SHA1_Final, or zeros (an OpenSSL
    built without its deprecated interfaces, or JPEGAUDIT_PLAIN_SHA1=1)."""
    if os.environ.get("JPEGAUDIT_PLAIN_SHA1") == "1":
        return (0, 0, 0)
    import ctypes

    for name in _LIBCRYPTO_SONAMES:
        try:
            library = ctypes.CDLL(name)
            steps = (library.SHA1_Init, library.SHA1_Update, library.SHA1_Final)
        except (OSError, AttributeError):
            continue
        return tuple(ctypes.cast(f, ctypes.c_void_p).value or 0 for f in steps)  # type: ignore[return-value]
    return (0, 0, 0)


def _library_sha1_address() -> int:
    """Where OpenSSL's SHA1 is (libcrypto, which hashlib uses too), or 0 for the compiled
    core's own implementation: the same digests, several times faster on CPUs with SHA
    instructions."""
    if os.environ.get("JPEGAUDIT_PLAIN_SHA1") == "1":
        return 0
    try:
        import ctypes

        # The sonames first: dlopen of one is a lookup of the library hashlib has already
        # loaded, where find_library runs ldconfig (tens of milliseconds on every command).
        for name in _LIBCRYPTO_SONAMES:
            try:
                sha1 = ctypes.CDLL(name).SHA1
            except (OSError, AttributeError):
                continue
            return ctypes.cast(sha1, ctypes.c_void_p).value or 0
        import ctypes.util

        name = ctypes.util.find_library("crypto")
        if name is None:
            return 0
        sha1 = ctypes.CDLL(name).SHA1
        return ctypes.cast(sha1, ctypes.c_void_p).value or 0
    except (OSError, AttributeError):
        return 0


# OpenSSL 3 and 1.1 (SHA1 has kept its signature in both), newest first.
_LIBCRYPTO_SONAMES = ("libcrypto.so.3", "libcrypto.so.1.1", "libcrypto.dylib")


compiled = _load()

# Which core audits local files: "compiled" or "python" (jpegaudit --version, inspect --json).
CORE_NAME = "compiled" if compiled is not None else "python"
