"""Names for what a frame says: colour model, subsampling, process. Pure."""

from __future__ import annotations

from jpegaudit.jpeg import markers as m
from jpegaudit.jpeg.header import Frame, JpegHeader

# Ratio of the largest factors to a chroma component's factors -> scheme name (also the
# ratio of the full size to a chroma component's size: deep/sizes.py).
SUBSAMPLING_SCHEMES = {
    (1, 1): "4:4:4",
    (2, 1): "4:2:2",
    (2, 2): "4:2:0",
    (1, 2): "4:4:0",
    (4, 1): "4:1:1",
    (4, 2): "4:1:0",
    (1, 4): "4:4:1",
}
# Named values of the `subsampling` column (anything else is a raw factor string "2x1,1x1,...").
SUBSAMPLING_NAMES = ("gray", *SUBSAMPLING_SCHEMES.values())
# Every value color_model returns (the `color` column).
COLOR_MODELS = ("gray", "ycbcr", "rgb", "cmyk", "ycck", "unknown")
# Every value process returns (the `process` column), in SOF order.
PROCESSES = tuple(dict.fromkeys(m.PROCESS_BY_SOF.values()))


def sampling_factors(frame: Frame) -> str:
    return ",".join(f"{c.h}x{c.v}" for c in frame.components)


def subsampling(frame: Frame) -> tuple[str, bool]:
    """(scheme, chroma factors differ). Named only when every chroma component has the same,
    whole ratio to the largest factors; otherwise the raw factor string."""
    comps = frame.components
    if not comps:
        return "", False
    if len(comps) == 1:
        return "gray", False
    if any(c.h == 0 or c.v == 0 for c in comps):  # a refused frame: name nothing
        chroma = comps[1:3]
        return sampling_factors(frame), len({(c.h, c.v) for c in chroma}) > 1
    chroma = comps[1:3] if len(comps) in (3, 4) else comps[1:]
    differ = len({(c.h, c.v) for c in chroma}) > 1
    if len({(c.h, c.v) for c in comps}) == 1:
        return "4:4:4", False
    hmax = max(c.h for c in comps)
    vmax = max(c.v for c in comps)
    luma = comps[0]
    if differ or (luma.h, luma.v) != (hmax, vmax) or len(comps) > 4:
        return sampling_factors(frame), differ
    # CMYK/YCCK: the 4th component (K) must be sampled like luma for a scheme name to fit.
    if len(comps) == 4 and (comps[3].h, comps[3].v) != (hmax, vmax):
        return sampling_factors(frame), differ
    c = chroma[0]
    if hmax % c.h or vmax % c.v:
        return sampling_factors(frame), differ
    return SUBSAMPLING_SCHEMES.get((hmax // c.h, vmax // c.v), sampling_factors(frame)), differ


def color_model(header: JpegHeader) -> str:
    """The colour space libjpeg assumes (jdapimin.c default_decompression_parms)."""
    frame = header.frame
    assert frame is not None
    n = len(frame.components)
    if n == 1:
        return "gray"
    if n == 3:
        if header.jfif is not None:
            return "ycbcr"
        if header.adobe is not None:
            return "rgb" if header.adobe.transform == 0 else "ycbcr"
        ids = tuple(c.id for c in frame.components)
        return "rgb" if ids == (82, 71, 66) else "ycbcr"
    if n == 4:
        if header.adobe is not None:
            return "cmyk" if header.adobe.transform == 0 else "ycck"
        return "cmyk"
    return "unknown"


def process(frame: Frame) -> str:
    return m.PROCESS_BY_SOF.get(frame.sof, "unknown")


def is_arithmetic(frame: Frame) -> bool:
    return frame.sof >= 0xC9 and frame.sof != m.SOF55


def is_progressive(frame: Frame) -> bool:
    return frame.sof in (0xC2, 0xC6, 0xCA, 0xCE)
