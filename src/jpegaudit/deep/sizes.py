"""Per-component sizes: what libjpeg computes from the frame header, and the subsampling scheme
they imply (the only view torchjpeg gives of subsampling). Pure."""

from __future__ import annotations

from collections.abc import Sequence

from jpegaudit.jpeg.describe import SUBSAMPLING_SCHEMES


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def component_sizes_from_factors(width: int, height: int, sampling_factors: str) -> str:
    """libjpeg's downsampled_width/height per component (jdinput.c initial_setup:
    ceil(image_width * h / max_h)), as `WxH` comma-separated in frame order."""
    factors = [tuple(int(x) for x in f.split("x")) for f in sampling_factors.split(",")]
    hmax = max(h for h, _ in factors)
    vmax = max(v for _, v in factors)
    return format_sizes(
        [(_ceil_div(width * h, hmax), _ceil_div(height * v, vmax)) for h, v in factors]
    )


def format_sizes(sizes: Sequence[tuple[int, int]]) -> str:
    return ",".join(f"{w}x{h}" for w, h in sizes)


def subsampling_from_sizes(sizes: Sequence[tuple[int, int]]) -> str | None:
    """The scheme name that per-component sizes imply, or None when they do not name one
    (chroma components of different sizes, luma smaller than chroma, ratios that are not
    whole, or an image so small that several schemes give the same sizes)."""
    if len(sizes) == 1:
        return "gray"
    width = max(w for w, _ in sizes)
    height = max(h for _, h in sizes)
    if sizes[0] != (width, height):
        return None
    chroma = list(sizes[1:3])
    if len(set(chroma)) != 1:
        return None
    if len(sizes) == 4 and sizes[3] != (width, height):
        return None
    cw, ch = chroma[0]
    # libjpeg rounds up, so a scheme fits when its ratios reproduce the sizes exactly; on an
    # image only a few pixels wide several do, and the sizes cannot tell them apart.
    fitting = [
        name
        for (rh, rv), name in SUBSAMPLING_SCHEMES.items()
        if (_ceil_div(width, rh), _ceil_div(height, rv)) == (cw, ch)
    ]
    return fitting[0] if len(fitting) == 1 else None
