"""Format by content (sniff.py): real files written by Pillow where it can, the published magic
numbers otherwise, and the extension rules."""

from __future__ import annotations

import struct
from io import BytesIO

import jpegbuild as jb
import pytest
from oracles import CORPORA_DIR
from PIL import Image, features

from jpegaudit.audit import audit_bytes, new_row
from jpegaudit.sniff import SNIFF_BYTES, extension_of, is_ext_mismatch, sniff_format

CORPORA = CORPORA_DIR
KNOWN_FORMATS = {
    "jpeg", "png", "gif", "webp", "bmp", "tiff", "jpeg2000", "jpegxl", "heif", "avif", "pdf",
    "html", "text", "empty", "unknown",
}  # fmt: skip


def pillow_bytes(fmt: str, mode: str = "RGB", **options) -> bytes:
    out = BytesIO()
    Image.linear_gradient("L").resize((24, 16)).convert(mode).save(out, fmt, **options)
    return out.getvalue()


def sniff(data: bytes) -> str:
    return sniff_format(data[:SNIFF_BYTES])


def audit(data: bytes, name: str) -> dict:
    row = new_row(name, "test", "root", None)
    return audit_bytes(lambda offset, length: data[offset : offset + length], len(data), row)


@pytest.mark.parametrize(
    "fmt, expected, options",
    [
        ("JPEG", "jpeg", {}),
        ("PNG", "png", {}),
        ("GIF", "gif", {}),
        ("WEBP", "webp", {}),
        ("BMP", "bmp", {}),
        ("TIFF", "tiff", {}),
        ("TIFF", "tiff", {"big_tiff": True}),
        ("PDF", "pdf", {}),
    ],
)
def test_pillow_written_formats_are_named(fmt, expected, options):
    assert sniff(pillow_bytes(fmt, **options)) == expected


def test_big_endian_tiff_is_tiff():
    header = b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00" * 40
    assert sniff(header) == "tiff"


@pytest.mark.skipif(not features.check("jpg_2000"), reason="Pillow without OpenJPEG")
@pytest.mark.parametrize("fmt, no_jp2", [("JPEG2000", False), ("JPEG2000", True)])
def test_pillow_jpeg2000_container_and_codestream(fmt, no_jp2):
    out = BytesIO()
    Image.new("RGB", (16, 16), 40).save(out, fmt, no_jp2=no_jp2)
    assert sniff(out.getvalue()) == "jpeg2000"


@pytest.mark.skipif(not features.check("avif"), reason="Pillow without AVIF")
def test_pillow_avif_is_avif():
    assert sniff(pillow_bytes("AVIF")) == "avif"


def ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = b"ftyp" + major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", len(body) + 4) + body + b"\x00" * 32


@pytest.mark.parametrize(
    "box, expected",
    [
        (ftyp(b"heic", b"mif1", b"heic"), "heif"),
        (ftyp(b"mif1", b"heic"), "heif"),
        (ftyp(b"avif", b"mif1", b"miaf"), "avif"),
        (ftyp(b"mif1", b"avif"), "avif"),  # AVIF named only as a compatible brand
        (ftyp(b"isom", b"mp41"), "unknown"),  # an MP4 video is not an image format we name
    ],
)
def test_iso_bmff_brands_decide_heif_and_avif(box, expected):
    assert sniff(box) == expected


@pytest.mark.parametrize(
    "data",
    [b"\xff\x0a\xfa\x7f" + b"\x00" * 20, b"\x00\x00\x00\x0cJXL \r\n\x87\n" + b"\x00" * 20],
    ids=["codestream", "container"],
)
def test_jpegxl_codestream_and_container(data):
    assert sniff(data) == "jpegxl"


def test_empty_is_empty():
    assert sniff_format(b"") == "empty"


@pytest.mark.parametrize(
    "data",
    [b"hello, world\n", "na\u00efve caf\u00e9\n".encode(), b"a,b,c\r\n1,2,3\r\n", b"\t\x0c"],
)
def test_plain_text_is_text(data):
    assert sniff(data) == "text"


def test_utf8_text_with_a_byte_order_mark_is_text():
    # Windows editors write EF BB BF first; U+FEFF is not "printable" but is not binary either.
    assert sniff_format("\ufeffhello, world\n".encode()) == "text"


def test_text_cut_inside_a_multibyte_character_is_still_text():
    data = ("x" * 62 + "\u20ac").encode()  # the euro sign's 3 bytes straddle byte 64
    assert sniff(data) == "text"


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><body>404</body></html>",
        b"\xef\xbb\xbf  <html lang=en>",
        b"\n\n<HEAD><title>x</title>",
        b"<body>",
    ],
)
def test_html_is_html(data):
    assert sniff(data) == "html"


@pytest.mark.parametrize("data", [b"\x00\x01\x02\x03" * 16, bytes(range(200, 256)), b"\x00"])
def test_binary_garbage_is_unknown(data):
    assert sniff(data) == "unknown"


@pytest.mark.parametrize("data", [b"\x80", b"\xff", b"\xfe\xfd", b"\x80\x81\x82"])
def test_short_non_utf8_bytes_are_not_text(data):
    # Bytes that can never start UTF-8 are not text, however short the file.
    assert sniff_format(data) == "unknown"


def test_invalid_utf8_in_the_last_three_bytes_of_a_short_file_is_not_text():
    assert sniff_format(b"hello\xff\xfe\xfd") == "unknown"


def test_text_starting_with_bm_is_not_bmp():
    # "BM" alone is a weak signature; a BMP header also has a zero reserved field at 6..10 and a
    # pixel-data offset at 10..14 that lies inside the file.
    assert sniff_format(b"BMW 320i, red, 2004 model year, 120000 km\n") == "text"


def test_jpeg_cut_after_soi_is_not_text():
    assert sniff_format(b"\xff\xd8") != "text"


def test_soi_followed_by_junk_that_libjpeg_skips_is_jpeg():
    # libjpeg reads SOI, then skips "2 extraneous bytes" and decodes the file (djpeg exits 2,
    # a warning); the audit should call it a JPEG with a warning, not "not a JPEG: unknown".
    clean = jb.pillow_jpeg(mode="L")
    data = clean[:2] + b"\x00\x00" + clean[2:]
    assert sniff(data) == "jpeg"


@pytest.mark.parametrize("data", [b"\xff\xd8\xff", b"\xff\xd8\xff\xe0"])
def test_jpeg_magic_alone_is_jpeg(data):
    assert sniff_format(data) == "jpeg"


NOT_JPEG = sorted((CORPORA / "not-jpeg").glob("*"))


@pytest.mark.skipif(not NOT_JPEG, reason="../shared/corpora not present")
@pytest.mark.parametrize("path", NOT_JPEG, ids=lambda p: p.name)
def test_corpus_not_jpeg_files_are_named_as_pillow_names_them(path):
    expected = {".png": "png", ".tif": "tiff", ".jp2": "jpeg2000", ".jpf": "jpeg2000"}
    assert sniff(path.read_bytes()) == expected[path.suffix]


def test_every_sniffed_name_is_one_the_schema_lists():
    samples = [b"", b"\xff\xd8\xff", b"abc", b"\x00\x00", pillow_bytes("PNG")]
    assert {sniff_format(s) for s in samples} <= KNOWN_FORMATS


# ---------------------------------------------------------------------------------------------
# Extensions


@pytest.mark.parametrize(
    "path, ext",
    [
        ("a/b/x.JPEG", "jpeg"),
        ("x.tar.gz", "gz"),
        ("noext", ""),
        (".hidden", ""),
        ("dir.jpg/file", ""),
        ("C:\\data\\y.Png", "png"),
        ("trailing.", ""),
    ],
)
def test_extension_of(path, ext):
    assert extension_of(path) == ext


@pytest.mark.parametrize(
    "ext, fmt, mismatch",
    [
        ("jpeg", "jpeg", False),
        ("jpg", "png", True),  # a PNG named .jpg
        ("JPEG".lower(), "png", True),
        ("jpg", "unknown", True),  # garbage named .jpg
        ("jpg", "text", True),
        ("jpg", "empty", False),  # empty files carry an error instead
        ("mpo", "jpeg", False),
        ("jfif", "jpeg", False),
        ("png", "jpeg", True),
        ("tif", "tiff", False),
        ("heic", "heif", False),
        ("avif", "heif", True),
        ("dat", "png", False),  # unknown extension: nothing to contradict
        ("", "jpeg", False),
        ("jpg", None, False),  # content not read
    ],
)
def test_ext_mismatch_rules(ext, fmt, mismatch):
    assert is_ext_mismatch(ext, fmt) is mismatch


def test_png_named_jpeg_is_a_mismatch_in_the_row():
    row = audit(pillow_bytes("PNG"), "n01440764/x.JPEG")
    assert (row["format"], row["ext_mismatch"], row["error"]) == ("png", True, "not a JPEG: png")


def test_empty_jpg_is_an_error_not_a_mismatch_in_the_row():
    row = audit(b"", "x.jpg")
    assert (row["format"], row["ext_mismatch"], row["error"]) == ("empty", False, "empty file")


def test_html_error_page_named_jpg_is_a_mismatch():
    row = audit(b"<!doctype html><title>403 Forbidden</title>", "img.jpg")
    assert (row["format"], row["ext_mismatch"]) == ("html", True)
