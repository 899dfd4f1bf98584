"""Benchmark data sets whose headers behave like real files', and the header statistics that
say so. Used by `scripts/make_imagenet_like.py` (which writes the sets) and
`scripts/bench_scan.py` (which times scans of them).

Sets (each a folder the user names; docs/performance.md describes them):

  imagenet-like  every file is its own encode (Pillow, OpenCV and libjpeg's cjpeg) in ImageNet's
                 mix (imagenet.md): mostly colour 4:4:4 IJG q96 about 500 on the long side, about
                 10 % 4:2:0, a few 4:1:1, 4:2:2, grayscale, progressive, quality below 10,
                 camera frames and CMYK. About 98 % of the files carry optimized, per-image
                 Huffman tables (`optimize=True`, `IMWRITE_JPEG_OPTIMIZE`, `cjpeg -optimize`),
                 as 979 of 1,000 real ImageNet files do. Width and height are drawn per file.
                 About 22.5 % carry an EXIF block with per-file DateTime, a camera make and model
                 from a list, an orientation, some a thumbnail; about 6 % an ICC profile (a few
                 40 KB, so the header outgrows a 16 KiB first read); some a comment. Pixels are
                 crops at per-file offsets from a few large synthetic photos, so every file's
                 optimized tables are its own.
  no-repeat      small files (16..384 px a side) in which no two headers are alike: every file's
                 quantization tables are IJG's at a random quality with the file's serial
                 number written into the last seven luma entries (base 8), random sizes and
                 subsampling, per-file EXIF on 60 %.
  pool-copy      the old method (make_imagenet_like.py --kind pool-copy): a pool of about 300
                 encodes copied to N names. Headers repeat; it measures the header cache, not
                 real data.

Everything is deterministic given the seed: each file's recipe comes from its own generator
`default_rng([seed, kind, serial])`, whatever the number of worker processes.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import struct
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from jpegaudit.demo import TRAIN_FRAME_SIZES, synthetic_photo

# --- header statistics -------------------------------------------------------------------------

_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # markers without a length field
HEAD_READ = 1 << 14  # first read when measuring headers; grown up to HEAD_READ_MAX
HEAD_READ_MAX = 1 << 22


def read_whole(paths: list[str]) -> int:
    """Read `paths` in full (the page cache then holds them); the bytes read."""
    total = 0
    for path in paths:
        with open(path, "rb", buffering=0) as f:
            while chunk := f.read(1 << 20):
                total += len(chunk)
    return total


def read_everything_once(root: str) -> int:
    """Read every file under `root` in full, untimed, so that timed runs read from the page
    cache (a set can have been pushed out by a larger one: the first run of an A/B batch was
    then 1.5-6x slower than the rest). Returns the bytes read."""
    return sum(
        read_whole([os.path.join(folder, name) for name in names])
        for folder, _, names in os.walk(root)
    )


def header_end(data: bytes) -> int | None:
    """Offset just past the first SOS segment (SOI..end of SOS header), None if `data` is not
    a JPEG header or ends before it."""
    if data[:2] != b"\xff\xd8":
        return None
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        while pos < n and data[pos] == 0xFF:  # fill bytes
            pos += 1
        if pos >= n:
            return None
        marker = data[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        if pos + 2 > n:
            return None
        length = (data[pos] << 8) | data[pos + 1]
        if length < 2:
            return None
        end = pos + length
        if marker == 0xDA:
            return end if end <= n else None
        pos = end
    return None


def huffman_tables(header: bytes) -> list[tuple[int, bytes]]:
    """(table class, 16 counts + symbols) of every table in the DHT segments of `header`."""
    tables = []
    pos = 2
    end = len(header)
    while pos + 4 <= end:
        while pos < end and header[pos] == 0xFF:
            pos += 1
        marker = header[pos]
        pos += 1
        if marker in _STANDALONE:
            continue
        length = (header[pos] << 8) | header[pos + 1]
        body = header[pos + 2 : pos + length]
        pos += length
        if marker == 0xC4:
            i = 0
            while i + 17 <= len(body):
                counts = body[i + 1 : i + 17]
                size = 17 + sum(counts)
                tables.append((body[i] >> 4, bytes(body[i + 1 : i + size])))
                i += size
        if marker == 0xDA:
            break
    return tables


@lru_cache(maxsize=1)
def standard_huffman_tables() -> frozenset[tuple[int, bytes]]:
    """The four Annex K.3 tables, as libjpeg writes them when not asked to optimize: taken from
    a Pillow encode with `optimize=False`, checked against K.3's DC luminance counts."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (90, 120, 200)).save(out, "JPEG", optimize=False, subsampling=2)
    data = out.getvalue()
    tables = frozenset(huffman_tables(data[: header_end(data)]))
    dc_luma = bytes([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]) + bytes(range(12))
    assert (0, dc_luma) in tables and len(tables) == 4, "unexpected standard Huffman tables"
    return tables


def optimized_huffman(header: bytes) -> bool:
    """Does the header carry a Huffman table other than Annex K's (an optimized, per-image one)?"""
    standard = standard_huffman_tables()
    return any(t not in standard for t in huffman_tables(header))


@dataclass(frozen=True)
class HeaderInfo:
    digest: bytes | None  # blake2b of SOI..end of first SOS, None if not a JPEG header
    optimized: bool
    header_len: int


def header_info(data: bytes) -> HeaderInfo:
    end = header_end(data)
    if end is None:
        return HeaderInfo(None, False, 0)
    header = data[:end]
    return HeaderInfo(
        hashlib.blake2b(header, digest_size=16).digest(), optimized_huffman(header), end
    )


def read_header_info(path: str) -> HeaderInfo:
    with open(path, "rb", buffering=0) as f:
        data = f.read(HEAD_READ)
        while header_end(data) is None and len(data) < HEAD_READ_MAX:
            more = f.read(len(data))
            if not more:
                break
            data += more
    return header_info(data)


def summarize_headers(infos: Iterable[HeaderInfo]) -> dict:
    """Shares of files with optimized Huffman tables and with a header no other file shares."""
    infos = list(infos)
    jpeg = [i for i in infos if i.digest is not None]
    counts = Counter(i.digest for i in jpeg)
    unique = sum(1 for i in jpeg if counts[i.digest] == 1)
    optimized = sum(1 for i in jpeg if i.optimized)
    longer = sum(1 for i in jpeg if i.header_len > 16384)

    def share(k: int) -> float | None:
        return round(k / len(jpeg), 4) if jpeg else None

    return {
        "files": len(infos),
        "jpeg_headers": len(jpeg),
        "optimized_huffman": optimized,
        "optimized_huffman_share": share(optimized),
        "unique_headers": unique,
        "unique_header_share": share(unique),
        "distinct_headers": len(counts),
        "headers_over_16KiB": longer,
    }


def describe_headers(summary: dict) -> str:
    n = summary["jpeg_headers"]
    if not n:
        return f"{summary['files']} files, no JPEG header among them"
    return (
        f"{summary['files']} files, {n} JPEG headers: {summary['optimized_huffman']} "
        f"({100 * summary['optimized_huffman_share']:.1f} %) with optimized Huffman tables, "
        f"{summary['unique_headers']} ({100 * summary['unique_header_share']:.1f} %) with a "
        f"header no other file shares ({summary['distinct_headers']} distinct), "
        f"{summary['headers_over_16KiB']} longer than 16 KiB"
    )


# --- metadata segments -------------------------------------------------------------------------

CAMERAS = (
    ("Canon", "Canon EOS 400D DIGITAL"),
    ("Canon", "Canon PowerShot A620"),
    ("Canon", "Canon EOS 5D"),
    ("NIKON CORPORATION", "NIKON D70"),
    ("NIKON CORPORATION", "NIKON D200"),
    ("NIKON", "COOLPIX P5000"),
    ("SONY", "DSC-W55"),
    ("SONY", "DSLR-A100"),
    ("Apple", "iPhone 3G"),
    ("OLYMPUS IMAGING CORP.", "E-510"),
    ("FUJIFILM", "FinePix S5600"),
    ("Panasonic", "DMC-FZ8"),
    ("PENTAX Corporation", "PENTAX K10D"),
    ("EASTMAN KODAK COMPANY", "KODAK EASYSHARE C743 ZOOM DIGITAL CAMERA"),
    ("SAMSUNG TECHWIN", "Pro 815"),
    ("Hewlett-Packard", "HP PhotoSmart R707"),
)
SOFTWARE = ("Adobe Photoshop CS2 Windows", "GIMP 2.4.5", "Picasa 3.0", "Ver.1.01", "")
ORIENTATIONS = ((1, 0.90), (6, 0.05), (8, 0.03), (3, 0.02))
_EPOCH_2003 = 1041379200
_ASCII, _SHORT, _LONG, _RATIONAL = 2, 3, 4, 5


def _ifd(entries: list[tuple[int, int, int, bytes]], start: int, next_ifd: int) -> bytes:
    """A little-endian TIFF IFD at offset `start`: entries (tag, type, count, value bytes),
    values longer than 4 bytes placed after the entry table."""
    entries = sorted(entries)
    data_at = start + 2 + 12 * len(entries) + 4
    table, data = [struct.pack("<H", len(entries))], []
    for tag, typ, count, value in entries:
        if len(value) <= 4:
            table.append(struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\x00"))
        else:
            table.append(struct.pack("<HHII", tag, typ, count, data_at))
            padded = value + b"\x00" * (len(value) % 2)
            data.append(padded)
            data_at += len(padded)
    table.append(struct.pack("<I", next_ifd))
    return b"".join(table + data)


def _ifd_size(entries: list[tuple[int, int, int, bytes]]) -> int:
    extra = sum(len(v) + len(v) % 2 for _, _, _, v in entries if len(v) > 4)
    return 2 + 12 * len(entries) + 4 + extra


def _ascii(tag: int, text: str) -> tuple[int, int, int, bytes]:
    raw = text.encode("ascii") + b"\x00"
    return (tag, _ASCII, len(raw), raw)


def _long(tag: int, value: int) -> tuple[int, int, int, bytes]:
    return (tag, _LONG, 1, struct.pack("<I", value))


def exif_app1(
    *,
    make: str,
    model: str,
    software: str,
    stamp: int,
    orientation: int,
    width: int,
    height: int,
    thumbnail: bytes | None = None,
) -> bytes:
    """The payload of an Exif APP1 segment ("Exif\\0\\0" + TIFF): IFD0 (make, model,
    orientation, resolution, software, DateTime), the Exif IFD (DateTimeOriginal, pixel
    dimensions) and, with `thumbnail`, IFD1 pointing at that JPEG."""
    date = _timestamp(stamp)
    ifd0 = [
        _ascii(0x010F, make),
        _ascii(0x0110, model),
        (0x0112, _SHORT, 1, struct.pack("<H", orientation)),
        (0x011A, _RATIONAL, 1, struct.pack("<II", 72, 1)),
        (0x011B, _RATIONAL, 1, struct.pack("<II", 72, 1)),
        (0x0128, _SHORT, 1, struct.pack("<H", 2)),
        _ascii(0x0132, date),
    ]
    if software:
        ifd0.append(_ascii(0x0131, software))
    exif = [
        _ascii(0x9003, date),
        _ascii(0x9004, date),
        _long(0xA002, width),
        _long(0xA003, height),
    ]
    exif_at = 8 + _ifd_size(ifd0) + 12  # + the Exif IFD pointer's own entry
    ifd0.append(_long(0x8769, exif_at))
    ifd1_at = exif_at + _ifd_size(exif)
    parts = [b"II*\x00" + struct.pack("<I", 8)]
    parts.append(_ifd(ifd0, 8, ifd1_at if thumbnail else 0))
    parts.append(_ifd(exif, exif_at, 0))
    if thumbnail:
        ifd1 = [
            (0x0103, _SHORT, 1, struct.pack("<H", 6)),
            _long(0x0201, 0),
            _long(0x0202, len(thumbnail)),
        ]
        thumb_at = ifd1_at + _ifd_size(ifd1)
        ifd1[1] = _long(0x0201, thumb_at)
        parts.append(_ifd(ifd1, ifd1_at, 0))
        parts.append(thumbnail)
    return b"Exif\x00\x00" + b"".join(parts)


def _timestamp(stamp: int) -> str:
    return time.strftime("%Y:%m:%d %H:%M:%S", time.gmtime(stamp))


ICC_DATE = struct.pack(">6H", 2009, 1, 1, 0, 0, 0)  # the profile header's creation date


@lru_cache(maxsize=8)
def icc_profile(size: int) -> bytes:
    """Pillow's littlecms sRGB profile, padded to `size` bytes with its size field set (a
    header-only stand-in where littlecms is missing). littlecms stamps the profile with the
    time it was made (header bytes 24-35); a fixed date keeps the output a function of the
    seed (the profile ID, bytes 84-99, is left zero, so it needs no update)."""
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    except (ImportError, OSError):
        profile = bytes(36) + b"acsp" + bytes(88)
        profile = profile[:12] + b"mntrRGB XYZ " + profile[24:]
    profile = profile.ljust(size, b"\x00")
    return len(profile).to_bytes(4, "big") + profile[4:24] + ICC_DATE + profile[36:]


def segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("segment payload too long")
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def insert_segments(jpeg: bytes, segments: list[bytes]) -> bytes:
    """Put `segments` right after SOI and a JFIF/Adobe APPn that the encoder wrote first (where
    cameras and Pillow put EXIF and ICC), before the tables."""
    pos = 2
    while jpeg[pos] == 0xFF and jpeg[pos + 1] in (0xE0, 0xEE):
        pos += 2 + int.from_bytes(jpeg[pos + 2 : pos + 4], "big")
    return jpeg[:pos] + b"".join(segments) + jpeg[pos:]


# --- encoders ----------------------------------------------------------------------------------

_PILLOW_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
_CJPEG_SAMPLE = {"4:4:4": "1x1", "4:2:2": "2x1", "4:2:0": "2x2", "4:1:1": "4x1"}


@dataclass(frozen=True)
class Encode:
    encoder: str  # "pillow", "opencv", "cjpeg"
    mode: str  # "RGB", "L", "CMYK"
    quality: int
    subsampling: str  # ignored for "L" and "CMYK"
    optimize: bool
    progressive: bool = False
    qtables: tuple[tuple[int, ...], ...] | None = None  # Pillow only


def encode(image: Image.Image, how: Encode) -> bytes | None:
    """JPEG bytes from the named encoder, None where it is not installed."""
    if image.mode != how.mode:
        image = image.convert(how.mode)
    if how.encoder == "pillow":
        options: dict = {"optimize": how.optimize, "progressive": how.progressive}
        if how.qtables is not None:
            options["qtables"] = [list(t) for t in how.qtables]
        else:
            options["quality"] = how.quality
        if how.mode == "RGB":
            options["subsampling"] = _PILLOW_SUBSAMPLING[how.subsampling]
        out = io.BytesIO()
        image.save(out, "JPEG", **options)
        return out.getvalue()
    if how.encoder == "opencv":
        try:
            import cv2
        except ImportError:
            return None
        params = [
            cv2.IMWRITE_JPEG_QUALITY,
            how.quality,
            cv2.IMWRITE_JPEG_OPTIMIZE,
            int(how.optimize),
            cv2.IMWRITE_JPEG_PROGRESSIVE,
            int(how.progressive),
        ]
        pixels = np.asarray(image)
        if how.mode == "RGB":
            pixels = np.ascontiguousarray(pixels[..., ::-1])
            factor = {
                "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
                "4:2:2": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
                "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
                "4:1:1": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411,
            }[how.subsampling]
            params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor]
        ok, buf = cv2.imencode(".jpg", pixels, params)
        return buf.tobytes() if ok else None
    if how.encoder == "cjpeg":
        cjpeg = shutil.which("cjpeg")
        if cjpeg is None:
            return None
        pnm = io.BytesIO()
        image.save(pnm, "PPM")  # PGM for mode L
        cmd = [cjpeg, "-quality", str(how.quality)]
        if how.mode == "RGB":
            cmd += ["-sample", f"{_CJPEG_SAMPLE[how.subsampling]},1x1,1x1"]
        if how.optimize:
            cmd.append("-optimize")
        if how.progressive:
            cmd.append("-progressive")
        return subprocess.run(cmd, input=pnm.getvalue(), capture_output=True, check=True).stdout
    raise ValueError(f"unknown encoder {how.encoder!r}")


# --- imagenet-like -----------------------------------------------------------------------------

SOURCE_COUNT = 12  # large synthetic photos that every file crops its pixels from
SOURCE_SIZE = (2048, 1536)
CAMERA_SIZES = ((640, 480), (800, 600), (1024, 768), (1280, 960), (1600, 1200), (2048, 1536))
# (category, share of files); what is left over is "4:4:4 q96".
CATEGORIES = (
    ("4:2:0 assorted quality", 0.08),
    ("4:2:0 q95 opencv", 0.02),
    ("gray", 0.04),
    ("camera frame 4:2:0", 0.02),
    ("4:1:1", 0.01),
    ("4:2:2", 0.01),
    ("progressive", 0.01),
    ("quality < 10", 0.005),
    ("cmyk", 0.0005),
)
NOT_OPTIMIZED = 0.021  # share written with Annex K tables (979 of 1,000 real files optimize)
EXIF_SHARE = 0.225
THUMBNAIL_SHARE = 0.05  # of the files with EXIF
ICC_SHARE = 0.063
BIG_ICC_SHARE = 0.003  # of all files: a 40 KB profile, header past a 16 KiB first read
COMMENT_SHARE = 0.05
_IMAGENET, _NO_REPEAT = 1, 2  # the `kind` element of the per-file seeds


@lru_cache(maxsize=SOURCE_COUNT)
def source_photo(seed: int, k: int) -> Image.Image:
    """Large synthetic photo number k, its detail level spread over 0.3..1.4 so that file sizes
    vary as photos' do."""
    rng = np.random.default_rng([seed, 3, k])
    detail = 0.3 + 1.1 * k / (SOURCE_COUNT - 1)
    return synthetic_photo(rng, *SOURCE_SIZE, detail)


def _frame(rng: np.random.Generator) -> tuple[int, int]:
    u = rng.random()
    if u < 0.62:
        sizes = list(TRAIN_FRAME_SIZES)
        weights = np.array([TRAIN_FRAME_SIZES[s] for s in sizes], dtype=float)
        return sizes[int(rng.choice(len(sizes), p=weights / weights.sum()))]
    if u < 0.97:  # 500 on the long side, the other anywhere from 150
        short = int(rng.integers(150, 500))
        return (500, short) if rng.random() < 0.75 else (short, 500)
    w, h = int(rng.integers(60, 500)), int(rng.integers(60, 500))  # small and odd frames
    return w, h


def imagenet_recipe(seed: int, serial: int) -> dict:
    """Everything about file `serial` of the imagenet-like set, from its own generator."""
    rng = np.random.default_rng([seed, _IMAGENET, serial])
    u = rng.random()
    category = "4:4:4 q96"
    for name, share in CATEGORIES:
        if u < share:
            category = name
            break
        u -= share
    width, height = _frame(rng)
    mode, quality, sub, progressive = "RGB", 96, "4:4:4", False
    encoders = ("pillow",) * 17 + ("opencv",) * 2 + ("cjpeg",)  # 85 / 10 / 5 %
    encoder = encoders[int(rng.integers(len(encoders)))]
    exif = rng.random() < EXIF_SHARE
    if category == "4:2:0 assorted quality":
        quality, sub = int(rng.choice([70, 75, 80, 85, 88, 90, 92, 95])), "4:2:0"
    elif category == "4:2:0 q95 opencv":
        quality, sub, encoder = 95, "4:2:0", "opencv"
    elif category == "gray":
        mode, quality = "L", int(rng.choice([96, 96, 90, 75]))
    elif category == "camera frame 4:2:0":
        width, height = CAMERA_SIZES[int(rng.integers(len(CAMERA_SIZES)))]
        if rng.random() < 0.3:
            width, height = height, width
        quality, sub, exif = int(rng.choice([85, 90, 92, 95])), "4:2:0", True
    elif category == "4:1:1":
        quality, sub = int(rng.choice([85, 90, 95])), "4:1:1"
        encoder = "opencv" if rng.random() < 0.7 else "cjpeg"
    elif category == "4:2:2":
        quality, sub = 90, "4:2:2"
    elif category == "progressive":
        progressive = True
    elif category == "quality < 10":
        quality, sub = int(rng.choice([5, 6, 8, 9])), "4:2:0"
    elif category == "cmyk":
        mode, encoder = "CMYK", "pillow"  # Adobe APP14, as ImageNet's 22 CMYK files have
    optimize = progressive or rng.random() >= NOT_OPTIMIZED  # libjpeg optimizes progressive
    make, model = CAMERAS[int(rng.integers(len(CAMERAS)))]
    orientation = int(rng.choice([o for o, _ in ORIENTATIONS], p=[p for _, p in ORIENTATIONS]))
    icc = 0
    if rng.random() < BIG_ICC_SHARE:
        icc = 40_000
    elif rng.random() < ICC_SHARE:
        icc = 588 if rng.random() < 0.7 else 3144
    return {
        "category": category,
        "width": width,
        "height": height,
        "encode": Encode(encoder, mode, quality, sub, optimize, progressive),
        "exif": exif,
        "thumbnail": exif and rng.random() < THUMBNAIL_SHARE,
        "make": make,
        "model": model,
        "software": SOFTWARE[int(rng.integers(len(SOFTWARE)))],
        "orientation": orientation,
        "stamp": _EPOCH_2003 + serial * 613 + int(rng.integers(0, 600)),
        "icc": icc,
        "comment": rng.random() < COMMENT_SHARE,
        "source": int(rng.integers(SOURCE_COUNT)),
        "offset": (float(rng.random()), float(rng.random())),
        "flip": rng.random() < 0.5,
    }


def _crop(seed: int, recipe: dict) -> Image.Image:
    source = source_photo(seed, recipe["source"])
    width, height = recipe["width"], recipe["height"]
    sw, sh = source.size
    if width > sw or height > sh:
        scale = max(width / sw, height / sh)
        source = source.resize((int(sw * scale) + 1, int(sh * scale) + 1))
        sw, sh = source.size
    fx, fy = recipe["offset"]
    x, y = int(fx * (sw - width)), int(fy * (sh - height))
    image = source.crop((x, y, x + width, y + height))
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if recipe["flip"] else image


def _metadata_segments(recipe: dict, image: Image.Image) -> list[bytes]:
    segments = []
    if recipe["exif"]:
        thumbnail = None
        if recipe["thumbnail"]:
            small = image.convert("RGB").copy()
            small.thumbnail((160, 160))
            out = io.BytesIO()
            small.save(out, "JPEG", quality=75)
            thumbnail = out.getvalue()
        payload = exif_app1(
            make=recipe["make"],
            model=recipe["model"],
            software=recipe["software"],
            stamp=recipe["stamp"],
            orientation=recipe["orientation"],
            width=recipe["width"],
            height=recipe["height"],
            thumbnail=thumbnail,
        )
        segments.append(segment(0xE1, payload))
    if recipe["icc"]:
        segments.append(segment(0xE2, b"ICC_PROFILE\x00\x01\x01" + icc_profile(recipe["icc"])))
    if recipe["comment"]:
        segments.append(segment(0xFE, b"File written by Adobe Photoshop\xae 4.0"))
    return segments


def imagenet_file(seed: int, serial: int) -> tuple[bytes, str, str]:
    """(bytes, category, encoder) of file `serial`; falls back to Pillow (4:2:0 for 4:1:1) when
    OpenCV or cjpeg is missing, and says so in the category."""
    recipe = imagenet_recipe(seed, serial)
    image = _crop(seed, recipe)
    how: Encode = recipe["encode"]
    category = recipe["category"]
    data = encode(image, how)
    if data is None:
        fallback = "4:2:0" if how.subsampling == "4:1:1" else how.subsampling
        how = Encode("pillow", how.mode, how.quality, fallback, how.optimize, how.progressive)
        category += f" (Pillow: no {recipe['encode'].encoder})"
        data = encode(image, how)
    assert data is not None
    return insert_segments(data, _metadata_segments(recipe, image)), category, how.encoder


# --- no-repeat ---------------------------------------------------------------------------------

_LUMA_BASE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_CHROMA_BASE = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    *([99] * 32),
)  # fmt: skip
NUDGE_DIGITS = 7  # base-8 digits of the serial, added to the last 7 luma entries: 2,097,152 files


def ijg_table(base: tuple[int, ...], quality: int) -> list[int]:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(max((b * scale + 50) // 100, 1), 255) for b in base]


def nudged_tables(quality: int, serial: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """IJG tables at `quality` with `serial` written (base 8) into the last luma entries, so
    that two files' tables are equal only if their serials and qualities are."""
    if serial >= 8**NUDGE_DIGITS:
        raise ValueError("no-repeat: too many files for the nudge")
    luma = ijg_table(_LUMA_BASE, quality)
    for i in range(NUDGE_DIGITS):
        digit = (serial >> (3 * i)) & 7
        j = 63 - i
        luma[j] = luma[j] + digit if luma[j] + digit <= 255 else luma[j] - digit
    return tuple(luma), tuple(ijg_table(_CHROMA_BASE, quality))


def no_repeat_file(seed: int, serial: int) -> tuple[bytes, str, str]:
    rng = np.random.default_rng([seed, _NO_REPEAT, serial])
    width, height = int(rng.integers(16, 385)), int(rng.integers(16, 385))
    quality = int(rng.integers(30, 99))
    gray = rng.random() < 0.1
    sub = ("4:4:4", "4:2:2", "4:2:0")[int(rng.integers(3))]
    luma, chroma = nudged_tables(quality, serial)
    how = Encode(
        "pillow",
        "L" if gray else "RGB",
        quality,
        sub,
        optimize=rng.random() < 0.5,
        qtables=(luma,) if gray else (luma, chroma),
    )
    recipe = {
        "exif": rng.random() < 0.6,
        "thumbnail": False,
        "make": CAMERAS[int(rng.integers(len(CAMERAS)))][0],
        "model": CAMERAS[int(rng.integers(len(CAMERAS)))][1],
        "software": SOFTWARE[int(rng.integers(len(SOFTWARE)))],
        "orientation": int(rng.integers(1, 9)),
        "stamp": _EPOCH_2003 + serial * 7 + int(rng.integers(0, 7)),
        "width": width,
        "height": height,
        "icc": 588 if rng.random() < 0.05 else 0,
        "comment": False,
    }
    image = synthetic_photo(rng, width, height, float(rng.uniform(0.2, 1.2)))
    data = encode(image, how)
    assert data is not None
    category = f"{'gray' if gray else sub} nudged tables{' + EXIF' if recipe['exif'] else ''}"
    return insert_segments(data, _metadata_segments(recipe, image)), category, "pillow"


# --- writing -----------------------------------------------------------------------------------

KINDS = {"imagenet-like": imagenet_file, "no-repeat": no_repeat_file}
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def write_files(task: tuple[str, int, list[tuple[int, str]]]) -> list[tuple]:
    """Write one folder's files of set `kind`; per file (category, encoder, bytes)."""
    kind, seed, entries = task
    make = KINDS[kind]
    out = []
    for serial, path in entries:
        data, category, encoder = make(seed, serial)
        fd = os.open(path, _FLAGS, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        out.append((category, encoder, len(data)))
    return out
