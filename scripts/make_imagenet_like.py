"""Generate a large ImageNet-like folder of JPEG files, fast, for the scan benchmark.

    python scripts/make_imagenet_like.py OUT --files 50000 [--seed 0] [--jobs 2]

(`--count` is an alias of `--files`.) Writes OUT/<wnid>/<wnid>_<n>.JPEG in `--classes` (1000)
class folders, like ImageNet's train/.

How: a pool of `--pool` (300) distinct files is encoded with real encoders at known settings,
in ImageNet's proportions (imagenet.md): mostly colour 4:4:4 IJG q96 around 500x375, about 10 %
4:2:0 at assorted qualities (Pillow, and OpenCV at its default q95), about 1 % 4:1:1 (OpenCV,
else cjpeg), 4:2:2, grayscale, progressive, a few below quality 10, larger camera-like frames,
one CMYK. About a quarter carry an EXIF block (make, model, software, date), some an ICC profile
(one of them 40 KB, so its header outgrows a 16 KiB first read) or a comment, so header sizes
vary. Each of the N output names gets the bytes of a pool file chosen at random, written as a
separate real file (no links, so page-cache and inode behaviour are those of N files). Files
with EXIF get a distinct DateTime per copy, so their headers are byte-distinct as camera files'
are; the others are byte-identical to their pool file, as ImageNet's many same-source files
with the same frame size are in their headers.

Writing is spread over `--jobs` processes by class folder. Re-running into the same OUT with the
same arguments rewrites the same names with the same bytes; other files in OUT are left alone.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np
from PIL import Image

from jpegaudit.demo import TRAIN_FRAME_SIZES, synthetic_photo

CAMERA_SIZES = ((1024, 768), (800, 600), (1600, 1200), (640, 480))
DATE_PLACEHOLDER = "2008:05:17 12:34:56"  # EXIF DateTime, rewritten per copy
CAMERAS = (
    ("Canon", "Canon EOS 400D DIGITAL"),
    ("NIKON CORPORATION", "NIKON D70"),
    ("SONY", "DSC-W55"),
    ("Apple", "iPhone 3G"),
    ("OLYMPUS IMAGING CORP.", "E-510"),
)
SOFTWARE = ("Adobe Photoshop CS2 Windows", "GIMP 2.4.5", "Picasa 3.0", "")


@dataclass(frozen=True)
class PoolRecipe:
    category: str  # what the benchmark's printout counts by
    width: int
    height: int
    mode: str  # "RGB", "L", "CMYK"
    quality: int
    subsampling: str  # "4:4:4", "4:2:2", "4:2:0", "4:1:1"
    encoders: tuple[str, ...] = ("pillow",)
    progressive: bool = False
    exif: bool = False
    icc_bytes: int = 0  # 0: none
    comment: bool = False
    detail_low: float = 0.3
    detail_high: float = 1.4


# --- the pool ----------------------------------------------------------------------------------


def pool_recipes(pool_size: int, seed: int) -> list[PoolRecipe]:
    rng = np.random.default_rng([seed, 1000])
    sizes = list(TRAIN_FRAME_SIZES)  # (width, height) -> weight, as in ImageNet's train set
    weights = np.array([TRAIN_FRAME_SIZES[s] for s in sizes], dtype=float)
    weights /= weights.sum()

    def frame() -> tuple[int, int]:
        return sizes[int(rng.choice(len(sizes), p=weights))]

    # Shares of the pool (so of the output, since copies pick pool files uniformly).
    shares = [
        ("4:2:0 assorted quality", 0.08),
        ("4:2:0 q95 opencv", 0.02),
        ("4:1:1", 0.01),
        ("4:2:2", 0.01),
        ("gray", 0.04),
        ("quality < 10", 0.01),
        ("progressive", 0.02),
        ("camera frame 4:2:0", 0.02),
    ]
    recipes: list[PoolRecipe] = []
    for category, share in shares:
        for _ in range(max(1, round(share * pool_size))):
            w, h = frame()
            q, sub, mode = 96, "4:4:4", "RGB"
            enc: tuple[str, ...] = ("pillow",)
            progressive = False
            if category == "4:2:0 assorted quality":
                q, sub = int(rng.choice([70, 75, 80, 85, 88, 90, 92, 95])), "4:2:0"
            elif category == "4:2:0 q95 opencv":
                q, sub, enc = 95, "4:2:0", ("opencv", "pillow")
            elif category == "4:1:1":
                q, sub, enc = int(rng.choice([85, 90, 95])), "4:1:1", ("opencv", "cjpeg")
            elif category == "4:2:2":
                q, sub = 90, "4:2:2"
            elif category == "gray":
                q, sub, mode = int(rng.choice([96, 96, 90, 75])), "4:4:4", "L"
            elif category == "quality < 10":
                q, sub = int(rng.choice([5, 6, 8, 9])), "4:2:0"
            elif category == "progressive":
                progressive = True
            elif category == "camera frame 4:2:0":
                w, h = CAMERA_SIZES[int(rng.integers(len(CAMERA_SIZES)))]
                q, sub = int(rng.choice([85, 90, 92])), "4:2:0"
            recipes.append(
                PoolRecipe(
                    category,
                    w,
                    h,
                    mode,
                    q,
                    sub,
                    enc,
                    progressive,
                    exif=category.startswith("camera"),
                )
            )
    recipes.append(PoolRecipe("cmyk", 500, 375, "CMYK", 96, "4:4:4"))
    while len(recipes) < pool_size:
        w, h = frame()
        recipes.append(PoolRecipe("4:4:4 q96", w, h, "RGB", 96, "4:4:4"))
    recipes = recipes[:pool_size]
    # Metadata on a random share of the pool, whatever the coding: EXIF ~25 %, ICC ~5 %, COM ~5 %.
    out = []
    for i, r in enumerate(recipes):
        exif = r.exif or rng.random() < 0.25
        icc = 40_000 if i == 0 else (588 if rng.random() < 0.05 else 0)
        comment = rng.random() < 0.05
        out.append(PoolRecipe(**{**r.__dict__, "exif": exif, "icc_bytes": icc, "comment": comment}))
    return out


def srgb_profile(size: int) -> bytes:
    """An sRGB ICC profile (Pillow's littlecms), padded to `size` bytes with its size field set,
    or a header-only stand-in where littlecms is missing."""
    try:
        from PIL import ImageCms

        profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    except (ImportError, OSError):
        profile = bytes(36) + b"acsp" + bytes(88)
        profile = profile[:12] + b"mntrRGB XYZ " + profile[24:]
    profile = profile.ljust(size, b"\x00")
    return len(profile).to_bytes(4, "big") + profile[4:]


def encode_pool_file(args: tuple[int, PoolRecipe, int]) -> tuple[str, bytes, str]:
    index, recipe, seed = args
    rng = np.random.default_rng([seed, index])
    image = synthetic_photo(
        rng,
        recipe.width,
        recipe.height,
        float(rng.uniform(recipe.detail_low, recipe.detail_high)),
    )
    if recipe.mode != "RGB":
        image = image.convert(recipe.mode)
    for encoder in recipe.encoders:
        data = ENCODERS[encoder](image, recipe, rng)
        if data is not None:
            return recipe.category, data, encoder
    # No 4:1:1-capable encoder: keep the slot filled with Pillow 4:2:0 and say so.
    return (
        recipe.category + " (as 4:2:0: no OpenCV/cjpeg)",
        pillow_jpeg(image, PoolRecipe(**{**recipe.__dict__, "subsampling": "4:2:0"}), rng),
        "pillow",
    )


def pillow_jpeg(image, recipe: PoolRecipe, rng) -> bytes:
    options: dict = {"quality": recipe.quality, "progressive": recipe.progressive}
    if recipe.mode == "RGB":
        options["subsampling"] = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}[recipe.subsampling]
    if recipe.exif:
        make, model = CAMERAS[int(rng.integers(len(CAMERAS)))]
        exif = Image.Exif()
        exif[0x010F] = make
        exif[0x0110] = model
        exif[0x0132] = DATE_PLACEHOLDER
        exif[0x0112] = 1
        software = SOFTWARE[int(rng.integers(len(SOFTWARE)))]
        if software:
            exif[0x0131] = software
        options["exif"] = exif
    if recipe.icc_bytes:
        options["icc_profile"] = srgb_profile(recipe.icc_bytes)
    if recipe.comment:
        options["comment"] = "File written by Adobe Photoshop\xae 4.0"
    out = io.BytesIO()
    image.save(out, "JPEG", **options)
    return out.getvalue()


def opencv_jpeg(image, recipe: PoolRecipe, rng) -> bytes | None:
    try:
        import cv2
    except ImportError:
        return None
    factor = {
        "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
        "4:2:2": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
        "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
        "4:1:1": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411,
    }[recipe.subsampling]
    bgr = np.ascontiguousarray(np.asarray(image)[..., ::-1])
    params = [cv2.IMWRITE_JPEG_QUALITY, recipe.quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor]
    ok, buf = cv2.imencode(".jpg", bgr, params)
    return buf.tobytes() if ok else None


def cjpeg_jpeg(image, recipe: PoolRecipe, rng) -> bytes | None:
    cjpeg = shutil.which("cjpeg")
    if cjpeg is None:
        return None
    ppm = io.BytesIO()
    image.save(ppm, "PPM")
    sample = {"4:4:4": "1x1", "4:2:2": "2x1", "4:2:0": "2x2", "4:1:1": "4x1"}[recipe.subsampling]
    cmd = [cjpeg, "-quality", str(recipe.quality), "-sample", f"{sample},1x1,1x1"]
    return subprocess.run(cmd, input=ppm.getvalue(), capture_output=True, check=True).stdout


ENCODERS = {"pillow": pillow_jpeg, "opencv": opencv_jpeg, "cjpeg": cjpeg_jpeg}


# --- writing the copies ------------------------------------------------------------------------

# Set in the parent before the worker processes fork, so the pool is shared, not pickled.
_POOL: list[bytes] = []
_DATE_OFFSETS: list[int] = []  # where DATE_PLACEHOLDER sits in each pool file, -1 if nowhere
_EPOCH_2005 = 1104537600


def write_classes(task: tuple[str, list[tuple[str, int]], int, int]) -> tuple[int, int]:
    """Write one class folder's files; returns (files, bytes)."""
    out, entries, first_serial, seed = task
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    total = 0
    for serial, (path, pool_index) in enumerate(entries, start=first_serial):
        data = _POOL[pool_index]
        offset = _DATE_OFFSETS[pool_index]
        if offset >= 0:
            # A distinct, valid EXIF date per copy (one per 97 s from 2005 on).
            stamp = time.strftime("%Y:%m:%d %H:%M:%S", time.gmtime(_EPOCH_2005 + serial * 97))
            data = b"".join((data[:offset], stamp.encode("ascii"), data[offset + 19 :]))
        fd = os.open(os.path.join(out, path), flags, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        total += len(data)
    return len(entries), total


def class_names(count: int, rng: np.random.Generator) -> list[str]:
    numbers = rng.choice(np.arange(1_440_000, 15_000_000), size=count, replace=False)
    return [f"n{int(n):08d}" for n in sorted(numbers)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="output folder (like imagenet/train)")
    parser.add_argument("--files", "--count", dest="files", type=int, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--classes", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=300, help="distinct encoded files")
    args = parser.parse_args(argv)
    if args.files < 1 or args.classes < 1 or args.pool < 20:
        parser.error("--files and --classes must be >= 1, --pool >= 20")

    started = time.perf_counter()
    recipes = pool_recipes(args.pool, args.seed)
    context = get_context("fork")
    with context.Pool(args.jobs) as workers:
        encoded = workers.map(
            encode_pool_file, [(i, r, args.seed) for i, r in enumerate(recipes)], chunksize=8
        )
    pool_seconds = time.perf_counter() - started
    _POOL[:] = [data for _, data, _ in encoded]
    _DATE_OFFSETS[:] = [data.find(DATE_PLACEHOLDER.encode("ascii")) for data in _POOL]

    rng = np.random.default_rng([args.seed, 2000])
    wnids = class_names(args.classes, rng)
    picks = rng.integers(0, len(_POOL), size=args.files)
    per_class = np.full(args.classes, args.files // args.classes)
    per_class[: args.files % args.classes] += 1
    tasks = []
    start = 0
    for wnid, count in zip(wnids, per_class, strict=True):
        if count == 0:
            continue
        os.makedirs(os.path.join(args.out, wnid), exist_ok=True)
        numbers = np.cumsum(rng.integers(1, 25, size=int(count)))
        entries = [
            (f"{wnid}/{wnid}_{int(n)}.JPEG", int(picks[start + j])) for j, n in enumerate(numbers)
        ]
        tasks.append((args.out, entries, start, args.seed))
        start += int(count)

    with context.Pool(args.jobs) as workers:
        written = workers.map(write_classes, tasks, chunksize=4)
    elapsed = time.perf_counter() - started
    n_files = sum(n for n, _ in written)
    n_bytes = sum(b for _, b in written)

    by_category: Counter[str] = Counter()
    for pool_index in picks:
        by_category[encoded[int(pool_index)][0]] += 1
    encoders = Counter(e for _, _, e in encoded)
    sizes = np.array([len(d) for d in _POOL])
    print(f"wrote {n_files} files in {len(tasks)} class folders under {args.out}")
    print(
        f"total {n_bytes:,} bytes ({n_bytes / 2**30:.2f} GiB), mean {n_bytes / n_files / 1024:.1f} KiB"
    )
    print(
        f"pool: {len(_POOL)} distinct files ({dict(encoders)}), sizes {sizes.min() // 1024}"
        f"..{sizes.max() // 1024} KiB, median {int(np.median(sizes)) // 1024} KiB;"
        f" {sum(o >= 0 for o in _DATE_OFFSETS)} with per-copy EXIF dates"
    )
    for category, count in by_category.most_common():
        print(f"  {count:8d}  {100 * count / n_files:5.1f} %  {category}")
    print(
        f"time {elapsed:.1f} s (pool {pool_seconds:.1f} s), {n_files / elapsed:,.0f} files/s,"
        f" jobs {args.jobs}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
