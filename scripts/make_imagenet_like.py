"""Generate the scan benchmark's data sets: folders of JPEG files, fast.

    python scripts/make_imagenet_like.py OUT --files 50000 [--kind imagenet-like] [--seed 0]
    python scripts/make_imagenet_like.py OUT --kind no-repeat --files 50000
    python scripts/make_imagenet_like.py OUT --kind pool-copy --files 50000
    python scripts/make_imagenet_like.py OUT --stats-only [--sample 1000]

(`--count` is an alias of `--files`.) Kinds (docs/performance.md, "The benchmark sets"):

  imagenet-like  (default) every file is its own encode, with ImageNet's mix, per-image optimized
                 Huffman tables on about 98 %, per-file EXIF, ICC and frame sizes; written as
                 OUT/<wnid>/<wnid>_<n>.JPEG in `--classes` (1000) class folders, like ImageNet's
                 train/. The recipes are in scripts/bench_sets.py.
  no-repeat      small files in which no two headers are alike (nudged quantization tables,
                 per-file EXIF, random sizes): OUT/dNNNN/nr_<serial>.jpg, 500 a folder.
  pool-copy      the old method, kept for comparison and labelled for what it is: headers
                 repeat, so it measures the header cache, not real data. A pool of `--pool`
                 (300) distinct files is encoded in the same proportions; each of the N names
                 gets the bytes of a pool file chosen at random, written as a separate real file
                 (no links). Files with EXIF get a distinct DateTime per copy; the others are
                 byte-identical to their pool file.

After writing, the script reads every file's header back and prints the share of files with
optimized (non-Annex K) Huffman tables and the share whose header (SOI to the end of the first
SOS segment) no other file shares; `--stats-only` prints just that for any folder (real
datasets too), `--sample N` on a seeded sample of N files.

Writing is spread over `--jobs` processes by folder. Output depends on the seed only (not on
`--jobs`): re-running into the same OUT with the same arguments rewrites the same names with
the same bytes; other files in OUT are left alone.
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

import bench_sets  # scripts/bench_sets.py, beside this file
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
    """An sRGB ICC profile padded to `size` bytes, with a fixed creation date."""
    return bench_sets.icc_profile(size)


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


def write_pool_copy(args) -> int:
    """The old pool-copy set: `--pool` encodes copied to `--files` names."""
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
    print(
        f"pool-copy: wrote {n_files} files in {len(tasks)} class folders under {args.out}"
        " (headers repeat: this set measures the header cache, not real data)"
    )
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
    print_header_stats(args.out, args.jobs)
    return 0


# --- the sets whose headers behave like real files' (scripts/bench_sets.py) -------------------


def write_encoded_set(args) -> int:
    """imagenet-like or no-repeat: every file its own encode, written by `--jobs` processes."""
    started = time.perf_counter()
    rng = np.random.default_rng([args.seed, 2000])
    tasks = []
    serial = 0
    if args.kind == "imagenet-like":
        folders = class_names(args.classes, rng)
    else:
        folders = [f"d{i:04d}" for i in range(max(1, args.files // 500 + (args.files % 500 > 0)))]
    per_folder = np.full(len(folders), args.files // len(folders))
    per_folder[: args.files % len(folders)] += 1
    for folder, count in zip(folders, per_folder, strict=True):
        if count == 0:
            continue
        os.makedirs(os.path.join(args.out, folder), exist_ok=True)
        if args.kind == "imagenet-like":
            numbers = np.cumsum(rng.integers(1, 25, size=int(count)))
            names = [f"{folder}_{int(n)}.JPEG" for n in numbers]
        else:
            names = [f"nr_{serial + j:07d}.jpg" for j in range(int(count))]
        entries = [
            (serial + j, os.path.join(args.out, folder, name)) for j, name in enumerate(names)
        ]
        tasks.append((args.kind, args.seed, entries))
        serial += int(count)
    with get_context("fork").Pool(args.jobs) as workers:
        written = [row for part in workers.imap(bench_sets.write_files, tasks) for row in part]
    elapsed = time.perf_counter() - started
    n_bytes = sum(n for _, _, n in written)
    by_category = Counter(c for c, _, _ in written)
    encoders = Counter(e for _, e, _ in written)
    sizes = np.array([n for _, _, n in written])
    print(f"{args.kind}: wrote {len(written)} files in {len(tasks)} folders under {args.out}")
    print(
        f"total {n_bytes:,} bytes ({n_bytes / 2**30:.2f} GiB), mean {n_bytes / len(written) / 1024:.1f}"
        f" KiB, {sizes.min() // 1024}..{sizes.max() // 1024} KiB; encoders {dict(encoders)}"
    )
    for category, count in by_category.most_common():
        print(f"  {count:8d}  {100 * count / len(written):5.1f} %  {category}")
    print(f"time {elapsed:.1f} s, {len(written) / elapsed:,.0f} files/s, jobs {args.jobs}")
    print_header_stats(args.out, args.jobs)
    return 0


def _header_infos(paths: list[str]) -> list:
    return [bench_sets.read_header_info(p) for p in paths]


def print_header_stats(root: str, jobs: int, sample: int | None = None, seed: int = 0) -> dict:
    """Read back every file's header (or a seeded sample of `sample` files) and print the share
    with optimized Huffman tables and the share whose header no other file (of those read)
    shares."""
    paths = sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files)
    if sample is not None and sample < len(paths):
        picks = np.random.default_rng([seed, 4000]).choice(len(paths), sample, replace=False)
        paths = [paths[int(i)] for i in sorted(picks)]
    chunks = [paths[i : i + 1000] for i in range(0, len(paths), 1000)]
    with get_context("fork").Pool(jobs) as workers:
        infos = [i for part in workers.map(_header_infos, chunks) for i in part]
    summary = bench_sets.summarize_headers(infos)
    what = f"a sample of {len(paths)}" if sample is not None else "all files"
    print(f"headers ({what} under {root}): {bench_sets.describe_headers(summary)}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="output folder (like imagenet/train)")
    parser.add_argument(
        "--kind",
        choices=("imagenet-like", "no-repeat", "pool-copy"),
        default="imagenet-like",
        help="which set to write (default imagenet-like; see scripts/bench_sets.py)",
    )
    parser.add_argument("--files", "--count", dest="files", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--classes", type=int, default=1000, help="imagenet-like, pool-copy")
    parser.add_argument("--pool", type=int, default=300, help="pool-copy: distinct encodes")
    parser.add_argument(
        "--stats-only",
        action="store_true",
        help="write nothing: print the header statistics of the files under OUT",
    )
    parser.add_argument("--sample", type=int, help="--stats-only: a seeded sample of N files")
    args = parser.parse_args(argv)
    if args.stats_only:
        print_header_stats(args.out, args.jobs, args.sample, args.seed)
        return 0
    if args.files is None:
        parser.error("--files is required (except with --stats-only)")
    if args.files < 1 or args.classes < 1 or args.pool < 20:
        parser.error("--files and --classes must be >= 1, --pool >= 20")
    if args.kind == "pool-copy":
        return write_pool_copy(args)
    return write_encoded_set(args)


if __name__ == "__main__":
    sys.exit(main())
