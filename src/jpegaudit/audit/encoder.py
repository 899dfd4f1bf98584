"""The `encoder` column: which family of software the tables point to."""

from __future__ import annotations

from jpegaudit.jpeg.header import JpegHeader

# Every value the `encoder` column takes.
ENCODER_FAMILIES = ("ijg", "ijg-16bit", "photoshop", "camera", "unknown")


def encoder_family(
    exact: bool | None, qtable_bits: int | None, photoshop_adobe: bool, make: str | None
) -> str:
    """`ijg` (or `ijg-16bit`) for tables libjpeg's formula writes, else `photoshop` for a
    Photoshop APP13 with an Adobe APP14, else `camera` when EXIF names a maker."""
    if exact:
        return "ijg-16bit" if qtable_bits == 16 else "ijg"
    if photoshop_adobe:
        return "photoshop"
    if make:
        return "camera"
    return "unknown"


def header_encoder_family(header: JpegHeader, exact: bool | None, qtable_bits: int | None) -> str:
    make = header.exif.make if header.exif is not None else None
    return encoder_family(exact, qtable_bits, is_photoshop_adobe(header), make)


def is_photoshop_adobe(header: JpegHeader) -> bool:
    return header.photoshop and header.adobe is not None
