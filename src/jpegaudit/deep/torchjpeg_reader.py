"""Coefficients through torchjpeg's `read_coefficients` (the study's method). torch is imported
here, on first use, and nowhere else in jpegaudit.

torchjpeg 0.9.33 links IJG libjpeg 9 statically. Its `read_coefficients` trusts the file in ways
that matter on a real dataset, so `check_readable` refuses the shapes it mishandles before it is
called (see docs/deep.md): it copies components 1 and 2 into one tensor sized for component 1
(different Cb/Cr factors overflow it; a 2-component frame reads a third that does not exist),
returns only 3 components (CMYK's K is dropped) and leaves the 4th quantization row
uninitialised. libjpeg's warnings go to stderr through its default error manager; we capture
file descriptor 2 around the call to keep the first one.
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from functools import lru_cache

import numpy as np

from jpegaudit.deep.coefficients import (
    CoefficientReadError,
    ComponentCoefficients,
    DctCoefficients,
)

# libjpeg allocates every coefficient of the image at once (2 bytes each, about 2 x pixels for
# 4:4:4); a lying SOF (65535 x 65535) must not take the machine's memory.
DEFAULT_MAX_PIXELS = 120_000_000


@lru_cache(maxsize=1)
def _codec():
    from torchjpeg import codec  # noqa: PLC0415 - heavy (imports torch): only when asked

    return codec


@lru_cache(maxsize=1)
def reader_name() -> str:
    from importlib.metadata import version

    return f"torchjpeg {version('torchjpeg')}"


def installed() -> bool:
    """torchjpeg is installed here (without importing it, or torch)."""
    from importlib.util import find_spec

    return find_spec("torchjpeg") is not None


def available() -> bool:
    """torchjpeg imports here (imports torch: about 1-2 s, once per process)."""
    try:
        _codec()
    except ImportError:
        return False
    return True


def check_readable(row: dict, max_pixels: int = DEFAULT_MAX_PIXELS) -> str | None:
    """Why torchjpeg must not be given this file (from its header-scan row), or None.

    Refusing here is what keeps a bad file from corrupting memory inside torchjpeg's C++."""
    if row.get("entry_type") != "file":
        return "not a regular file"
    if row.get("format") != "jpeg":
        return f"not a JPEG: {row.get('format')}"
    components = row.get("components")
    if components is None or row.get("width") is None:
        return "no frame header read"
    if components == 2 or components > 4:
        return f"{components} components (torchjpeg reads components 0-2 only as Y + CbCr)"
    if components >= 3 and row.get("chroma_factors_differ"):
        return "components 1 and 2 have different sampling factors (torchjpeg would overflow)"
    if (row["width"] or 0) * (row["height"] or 0) > max_pixels:
        return f"{row['width']}x{row['height']} is over the {max_pixels}-pixel deep-read cap"
    return None


@contextmanager
def _stderr_captured():
    """Redirect the process's file descriptor 2 (where libjpeg's C code writes) to a temporary
    file; yields a list that holds the captured text once the block ends."""
    captured: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read(4096).decode("utf-8", "replace"))


def read_coefficients(path: str) -> DctCoefficients:
    """Read `path` with torchjpeg. Call `check_readable` on its header row first.

    Raises CoefficientReadError with libjpeg's message when libjpeg cannot read the file."""
    codec = _codec()
    try:
        with _stderr_captured() as captured:
            dims, quant, y, cbcr = codec.read_coefficients(os.fspath(path))
    except codec.LibjpegError as exc:
        raise CoefficientReadError(f"libjpeg: {exc}") from None
    except RuntimeError as exc:  # torchjpeg's own "Unable to open file"
        raise CoefficientReadError(f"torchjpeg: {exc}") from None
    warning = _first_line(captured[0]) if captured else None
    # dims rows are (downsampled_height, downsampled_width) for every frame component.
    sizes = tuple((int(w), int(h)) for h, w in dims.tolist())
    tables = quant.numpy().astype(np.int32)
    arrays = [y.numpy()[0]]
    if cbcr is not None:
        both = cbcr.numpy()
        arrays += [both[0], both[1]]
    components = tuple(
        ComponentCoefficients(
            index=i,
            qtable=tuple(int(v) for v in tables[i].reshape(64)),
            blocks=a.reshape(a.shape[0], a.shape[1], 64),
        )
        for i, a in enumerate(arrays)
    )
    return DctCoefficients(
        reader=reader_name(), sizes=sizes, components=components, warning=warning
    )


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:200]
    return None
