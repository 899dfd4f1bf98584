"""The pure JPEG header core: bytes in, frozen dataclasses out, no I/O."""

from jpegaudit.jpeg.header import JpegHeader
from jpegaudit.jpeg.parser import NeedMoreData, parse_jpeg

__all__ = ["JpegHeader", "NeedMoreData", "parse_jpeg"]
