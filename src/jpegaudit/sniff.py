"""Format by content (magic bytes), and whether a file's extension agrees. Pure."""

from __future__ import annotations

import codecs

# Brands in an ISO-BMFF `ftyp` box that identify AVIF and HEIF images.
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}  # fmt: skip

EXTENSION_FORMATS = {
    "jpg": "jpeg", "jpeg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "jif": "jpeg", "mpo": "jpeg",
    "png": "png", "apng": "png",
    "gif": "gif",
    "webp": "webp",
    "bmp": "bmp", "dib": "bmp",
    "tif": "tiff", "tiff": "tiff",
    "jp2": "jpeg2000", "j2k": "jpeg2000", "jpf": "jpeg2000", "jpx": "jpeg2000", "j2c": "jpeg2000", "jpc": "jpeg2000",  # noqa: E501
    "jxl": "jpegxl",
    "heic": "heif", "heif": "heif", "hif": "heif",
    "avif": "avif",
    "pdf": "pdf",
    "html": "html", "htm": "html",
    "txt": "text",
}  # fmt: skip

SNIFF_BYTES = 64  # sniff_format needs no more than this

# Every value sniff_format returns (the store's `format` column).
FORMATS = (
    "jpeg", "png", "gif", "webp", "bmp", "tiff", "jpeg2000", "jpegxl", "heif", "avif", "pdf",
    "html", "text", "empty", "unknown",
)  # fmt: skip


def sniff_format(head: bytes) -> str:
    """Name the format of a file from its first bytes (at least SNIFF_BYTES when the file has
    them): jpeg, png, gif, webp, bmp, tiff, jpeg2000, jpegxl, heif, avif, pdf, html, text, empty
    or unknown."""
    if not head:
        return "empty"
    if head.startswith(b"\xff\xd8"):
        return "jpeg"  # libjpeg's own test (first_marker): SOI, whatever follows
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:2] == b"BM" and len(head) >= 18 and head[6:10] == b"\0\0\0\0":
        # reserved fields are zero and the DIB header has one of its known sizes
        if int.from_bytes(head[14:18], "little") in (12, 16, 40, 52, 56, 64, 108, 124):
            return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"\x00\x00\x00\x0cjP  \r\n\x87\n") or head.startswith(b"\xff\x4f\xff\x51"):
        return "jpeg2000"
    if head.startswith(b"\xff\x0a") or head.startswith(b"\x00\x00\x00\x0cJXL \r\n\x87\n"):
        return "jpegxl"
    if head[4:8] == b"ftyp":
        brands = {head[i : i + 4] for i in range(8, min(len(head), 32) - 3, 4)}
        if brands & _AVIF_BRANDS:
            return "avif"
        if brands & _HEIF_BRANDS:
            return "heif"
        return "unknown"
    if head.startswith(b"%PDF-"):
        return "pdf"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<body")):
        return "html"
    if _looks_like_text(head):
        return "text"
    return "unknown"


def _looks_like_text(head: bytes) -> bool:
    # Only a window of SNIFF_BYTES may have cut a multi-byte character in two; a shorter head
    # is the whole file and must decode completely.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoded = decoder.decode(head, final=len(head) < SNIFF_BYTES)
    except UnicodeDecodeError:
        return False
    decoded = decoded.removeprefix("\ufeff")  # a byte-order mark starts many text files
    return bool(decoded) and all(c.isprintable() or c in "\t\r\n\f" for c in decoded)


def extension_of(path: str) -> str:
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def is_ext_mismatch(ext: str, fmt: str | None) -> bool:
    """True when the extension names a known format and the content is a different one. An
    empty file is not a mismatch: it has its own error."""
    expected = EXTENSION_FORMATS.get(ext)
    return expected is not None and fmt is not None and fmt not in (expected, "empty")
