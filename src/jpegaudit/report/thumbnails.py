"""Small thumbnails for the report's outlier table, decoded only for the files listed there.

A thumbnail never fails the report: a missing, unreadable, special (FIFO, device) or
undecodable file gives no image and a short reason instead. Only regular files are opened (a
FIFO would block), JPEGs are decoded at reduced scale (`Image.draft`: libjpeg's DCT scaling),
and Pillow's decompression-bomb limit stays in force.
"""

from __future__ import annotations

import base64
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Thumbnail", "make_thumbnail", "resolve_path"]

THUMBNAIL_PX = 96


@dataclass(frozen=True)
class Thumbnail:
    data_uri: str | None  # data:image/png;base64,... or None
    problem: str | None  # why there is no image


def resolve_path(path: str, files_root: str | os.PathLike | None) -> Path:
    """A store path as a filesystem path: absolute paths as they are, relative ones under
    `files_root` (default: the current directory, as `scan` was usually run from there)."""
    p = Path(path)
    if p.is_absolute() or files_root is None:
        return p
    return Path(files_root) / p


def make_thumbnail(path: Path, size: int = THUMBNAIL_PX) -> Thumbnail:
    from PIL import Image, UnidentifiedImageError

    try:
        info = os.stat(path)
    except OSError as exc:
        return Thumbnail(None, f"not readable: {exc.strerror or exc}")
    if not stat.S_ISREG(info.st_mode):
        return Thumbnail(None, "not a regular file")
    try:
        with Image.open(path) as image:
            if image.format == "JPEG":
                image.draft("RGB", (size * 2, size * 2))
            image.thumbnail((size, size))
            rgb = image.convert("RGB")
        buffer = io.BytesIO()
        rgb.save(buffer, format="PNG", optimize=True)
    except UnidentifiedImageError:
        return Thumbnail(None, "not an image Pillow can decode")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        # Pillow reports truncation and corrupt data as OSError, bad headers as SyntaxError.
        return Thumbnail(None, f"not decodable: {str(exc)[:120]}")
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return Thumbnail("data:image/png;base64," + encoded, None)
