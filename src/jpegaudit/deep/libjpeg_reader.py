"""Coefficients through the system's libjpeg-turbo (TurboJPEG API, by ctypes): deep mode in the
main environment, with no compiler, no torch and no extra package.

`tjTransform` with no transform, no output (TJXOPT_NOOUTPUT) and a custom filter is libjpeg-
turbo's documented way to hand a caller the DCT coefficients that `jpeg_read_coefficients`
decoded, one row of blocks at a time. TurboJPEG catches libjpeg's fatal errors itself (setjmp
in C), so a broken file returns an error code instead of unwinding through Python; its warnings
(corrupt or missing data) come back as a warning code with libjpeg's message. Unlike torchjpeg
it returns every component (CMYK's K too). Like TurboJPEG itself, it refuses frames whose
sampling factors name no TurboJPEG subsampling (odd factors, Cb != Cr) and, in libjpeg-turbo 2,
12-bit data. Quantization tables and component sizes come from the header parser, which the
cross-check (scripts/crosscheck_torchjpeg.py) holds equal to libjpeg's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from functools import lru_cache

import numpy as np

from jpegaudit.deep.coefficients import (
    CoefficientReadError,
    CoefficientReadRefused,
    ComponentCoefficients,
    DctCoefficients,
)
from jpegaudit.deep.sizes import component_sizes_from_factors
from jpegaudit.jpeg import parse_jpeg

DEFAULT_MAX_PIXELS = 120_000_000
MAX_FILE_BYTES = 1 << 30
_TJXOPT_NOOUTPUT = 1 << 4  # turbojpeg.h, unchanged since 1.2
_TJERR_WARNING = 0


class _Region(ctypes.Structure):
    _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_int), ("w", ctypes.c_int), ("h", ctypes.c_int)]


class _Transform(ctypes.Structure):
    pass


_FILTER = ctypes.CFUNCTYPE(
    ctypes.c_int,
    ctypes.POINTER(ctypes.c_short),  # coefficients of one row of blocks, natural order
    _Region,  # arrayRegion: this row, in coefficient units (y advances by 8)
    _Region,  # planeRegion: the whole component, width/height_in_blocks x 8
    ctypes.c_int,  # component index
    ctypes.c_int,  # transform index
    ctypes.POINTER(_Transform),
)
_Transform._fields_ = [
    ("r", _Region),
    ("op", ctypes.c_int),
    ("options", ctypes.c_int),
    ("data", ctypes.c_void_p),
    ("customFilter", _FILTER),
]


@lru_cache(maxsize=1)
def _library():
    name = ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0"
    lib = ctypes.CDLL(name)
    lib.tjInitTransform.restype = ctypes.c_void_p
    lib.tjTransform.argtypes = [
        ctypes.c_void_p,
        ctypes.c_char_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)),
        ctypes.POINTER(ctypes.c_ulong),
        ctypes.POINTER(_Transform),
        ctypes.c_int,
    ]
    lib.tjGetErrorStr2.argtypes = [ctypes.c_void_p]
    lib.tjGetErrorStr2.restype = ctypes.c_char_p
    lib.tjGetErrorCode.argtypes = [ctypes.c_void_p]
    lib.tjDestroy.argtypes = [ctypes.c_void_p]
    return lib


@lru_cache(maxsize=1)
def _handle() -> int:
    # One TurboJPEG instance per process (instances are not thread-safe; scans use processes).
    handle = _library().tjInitTransform()
    if not handle:
        raise OSError("tjInitTransform failed")
    return handle


def available() -> bool:
    try:
        _library()
    except OSError:
        return False
    return True


def reader_name() -> str:
    return "libjpeg-turbo (TurboJPEG)"


def check_readable(row: dict, max_pixels: int = DEFAULT_MAX_PIXELS) -> str | None:
    """Why this file (from its header-scan row) is not read, or None."""
    if row.get("entry_type") != "file":
        return "not a regular file"
    if row.get("format") != "jpeg":
        return f"not a JPEG: {row.get('format')}"
    if row.get("components") is None or row.get("width") is None:
        return "no frame header read"
    if (row["width"] or 0) * (row["height"] or 0) > max_pixels:
        return f"{row['width']}x{row['height']} is over the {max_pixels}-pixel deep-read cap"
    if (row.get("bytes") or 0) > MAX_FILE_BYTES:
        return f"file over {MAX_FILE_BYTES} bytes"
    return None


def read_coefficients(path: str) -> DctCoefficients:
    """Read every component's coefficients. Raises CoefficientReadError with libjpeg's (or
    TurboJPEG's) message when the file cannot be read; warnings are returned, not raised."""
    with open(os.fspath(path), "rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise CoefficientReadRefused(f"file over {MAX_FILE_BYTES} bytes")
    header = parse_jpeg(data, len(data))
    frame = header.frame
    if frame is None or header.error is not None:
        # Tables and sizes come from the header parser: without them there is nothing to pair
        # the coefficients with (libjpeg stops on the same problems).
        raise CoefficientReadRefused(f"header: {header.error or 'no frame header'}")

    planes: dict[int, np.ndarray] = {}
    failure: list[BaseException] = []

    def take_row(coefficients, array_region, plane_region, component, _index, _transform):
        try:
            plane = planes.get(component)
            if plane is None:
                rows, columns = plane_region.h // 8, plane_region.w // 8
                plane = planes[component] = np.zeros((rows, columns, 64), np.int16)
            index = array_region.y // 8
            # TurboJPEG walks whole iMCU rows, so the last call can be a padding row past
            # height_in_blocks (libjpeg's dummy blocks): not part of the image.
            if index < plane.shape[0]:
                row_bytes = plane.shape[1] * 64 * 2
                if array_region.w * array_region.h * 2 != row_bytes:
                    raise ValueError(f"row of {array_region.w}x{array_region.h} coefficients")
                # A plain copy: this runs once per row of blocks, thousands of times a file.
                ctypes.memmove(plane.ctypes.data + index * row_bytes, coefficients, row_bytes)
            return 0
        except BaseException as exc:  # never let an exception cross into C
            failure.append(exc)
            return -1

    callback = _FILTER(take_row)
    transform = _Transform()
    transform.options = _TJXOPT_NOOUTPUT
    transform.customFilter = callback
    output = ctypes.POINTER(ctypes.c_ubyte)()
    output_size = ctypes.c_ulong(0)
    lib, handle = _library(), _handle()
    status = lib.tjTransform(
        handle, data, len(data), 1, ctypes.byref(output), ctypes.byref(output_size),
        ctypes.byref(transform), 0,
    )  # fmt: skip
    warning = None
    if status != 0:
        message = (lib.tjGetErrorStr2(handle) or b"").decode("utf-8", "replace").strip()
        if failure:
            raise CoefficientReadError(f"reading coefficients: {failure[0]!r}")
        if lib.tjGetErrorCode(handle) != _TJERR_WARNING or not planes:
            # TurboJPEG's own refusals carry its function's name; the rest are libjpeg's.
            if message.startswith("tjTransform(): "):
                raise CoefficientReadRefused(
                    f"TurboJPEG: {message.removeprefix('tjTransform(): ')}"
                )
            raise CoefficientReadError(f"libjpeg: {message}")
        warning = message[:200]
    if len(planes) != len(frame.components):
        raise CoefficientReadError(
            f"libjpeg returned {len(planes)} of {len(frame.components)} components"
        )
    sizes_text = component_sizes_from_factors(
        frame.width, frame.height, ",".join(f"{c.h}x{c.v}" for c in frame.components)
    )
    sizes = tuple(tuple(int(v) for v in s.split("x")) for s in sizes_text.split(","))
    components = []
    for i, c in enumerate(frame.components):
        table = header.qtables.get(c.tq)
        if table is None:  # libjpeg stops on this too; unreachable unless it changes its mind
            raise CoefficientReadError(f"quantization table {c.tq} used but never defined")
        components.append(ComponentCoefficients(index=i, qtable=table.values, blocks=planes[i]))
    return DctCoefficients(
        reader=reader_name(),
        sizes=sizes,  # type: ignore[arg-type]
        components=tuple(components),
        warning=warning,
    )
