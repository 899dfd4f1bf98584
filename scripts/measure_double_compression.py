"""Measure jpegaudit's double-compression detector on files compressed twice with real encoders.

For every source image (photos from ../shared/corpora reduced 4x with a box filter, which wipes
out their own JPEG traces; or synthetic images with --sources synthetic), every first quality q1
and second quality q2, it writes:
  single-X encode at q2 once with encoder X: false positives
  X        encode at q1, decode, encode at q2, all with X: pillow (Pillow's defaults),
           cjpeg-float (cjpeg -dct float, djpeg -dct float -nosmooth), magick (ImageMagick
           convert); mixed: Pillow first, ImageMagick decodes and encodes the second time
  shifted  as aligned (pillow) but cropped by 4 pixels left and top between the two: the 8x8
           grids no longer line up
  resized  as aligned (pillow) but scaled by 0.9 between the two
reads the coefficients through libjpeg (--reader: libjpeg-turbo, the default where the system
has libturbojpeg, or torchjpeg in its environment), runs
`estimate_double_compression` on the luma component and prints Markdown tables: detection rate
per (q1, q2), false positives per q2, mean absolute error of the estimated q1.

    python scripts/measure_double_compression.py                       # the full grid
    python scripts/measure_double_compression.py --q1 30,70 --q2 90 --limit 4   # a quick look
"""

from __future__ import annotations

import argparse
import glob
import io
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
CORPORA = REPO.parent / "shared" / "corpora"
DEFAULT_Q1 = "10,20,30,40,50,60,70,75,80,85,90,95"
DEFAULT_Q2 = "50,60,70,75,80,85,90,95,98,100"


def corpus_sources(limit: int | None) -> list[Image.Image]:
    images = []
    for f in sorted(glob.glob(str(CORPORA / "*" / "*.jp*g"))):
        try:
            with Image.open(f) as im:
                im.load()
                if im.mode != "RGB" or min(im.size) < 800:
                    continue
                small = im.reduce(4)
        except Exception:  # broken corpus files are not sources
            continue
        small = small.crop((0, 0, min(small.width, 512), min(small.height, 512)))
        if np.asarray(small.convert("L"), dtype=np.float64).std() < 2.0:
            continue  # flat images have no AC coefficients to measure anything on
        images.append(small)
    return images[:limit] if limit else images


def synthetic_sources(count: int) -> list[Image.Image]:
    rng = np.random.default_rng(0)
    images = []
    for _ in range(count):
        size = 384
        fy = np.fft.fftfreq(size)[:, None]
        fx = np.fft.fftfreq(size)[None, :]
        falloff = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / size) ** 1.8
        channels = []
        base = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * falloff))
        for _c in range(3):
            own = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * falloff))
            channels.append(base + 0.4 * own)
        img = np.stack(channels, axis=-1)
        img = (img - img.mean()) / img.std() * 45 + 128 + rng.normal(0, 1.5, img.shape)
        images.append(Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB"))
    return images


# Pillow and cjpeg at their defaults are the same libjpeg-turbo code path (this script's first
# runs found byte-identical entropy-coded data), so the encoders measured differ in what
# matters for the noise between the two quantizations: the DCT and upsampling (cjpeg/djpeg
# with -dct float, -nosmooth) and a different pipeline altogether (ImageMagick, 16-bit quanta).
ENCODERS = ("pillow", "cjpeg-float", "magick")


def encode(image: Image.Image, quality: int, encoder: str) -> bytes:
    if encoder == "pillow":
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=quality)
        return buf.getvalue()
    ppm = io.BytesIO()
    image.save(ppm, "PPM")
    if encoder == "magick":
        command = ["convert", "ppm:-", "-quality", str(quality), "jpg:-"]
    else:
        command = ["cjpeg", "-dct", "float", "-quality", str(quality)]
    return subprocess.run(command, input=ppm.getvalue(), capture_output=True, check=True).stdout


def decode(data: bytes, encoder: str) -> Image.Image:
    if encoder == "pillow":
        return Image.open(io.BytesIO(data)).convert("RGB")
    if encoder == "magick":
        command = ["convert", "jpg:-", "ppm:-"]
    else:
        command = ["djpeg", "-dct", "float", "-nosmooth", "-pnm"]
    ppm = subprocess.run(command, input=data, capture_output=True, check=True).stdout
    return Image.open(io.BytesIO(ppm)).convert("RGB")


# case -> (first encoder, decoder and second encoder)
PIPELINES = {
    "pillow": ("pillow", "pillow"),
    "cjpeg-float": ("cjpeg-float", "cjpeg-float"),
    "magick": ("magick", "magick"),
    "mixed": ("pillow", "magick"),
    "shifted": ("pillow", "pillow"),
    "resized": ("pillow", "pillow"),
}


def make(image: Image.Image, case: str, q1: int | None, q2: int) -> bytes:
    if case.startswith("single-"):
        return encode(image, q2, case.removeprefix("single-"))
    first, second = PIPELINES[case]
    decoded = decode(encode(image, q1, first), second)
    if case == "shifted":
        decoded = decoded.crop((4, 4, decoded.width, decoded.height))
    elif case == "resized":
        decoded = decoded.resize((int(decoded.width * 0.9), int(decoded.height * 0.9)))
    return encode(decoded, q2, second)


def run_source(job) -> list[tuple]:
    from jpegaudit.deep.backend import READERS
    from jpegaudit.deep.double import estimate_double_compression

    index, image, cases, q1s, q2s, reader = job
    read_coefficients = READERS[reader].read_coefficients
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.jpg")
        for case in cases:
            for q2 in q2s:
                for q1 in [None] if case.startswith("single") else q1s:
                    Path(path).write_bytes(make(image, case, q1, q2))
                    coefficients = read_coefficients(path)
                    luma = coefficients.components[0]
                    started = time.perf_counter()
                    estimate = estimate_double_compression(luma.blocks, luma.qtable)
                    elapsed = time.perf_counter() - started
                    results.append((case, q1, q2, index, estimate.detected,
                                    estimate.first_quality, elapsed, estimate.gap_ratio,
                                    estimate.evidence))  # fmt: skip
    return results


def table(title, rows, cols, cell) -> str:
    lines = [f"\n**{title}**\n", "| q1 \\ q2 | " + " | ".join(str(c) for c in cols) + " |"]
    lines.append("|---" * (len(cols) + 1) + "|")
    for r in rows:
        lines.append(f"| {r} | " + " | ".join(cell(r, c) for c in cols) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--q1", default=DEFAULT_Q1)
    parser.add_argument("--q2", default=DEFAULT_Q2)
    parser.add_argument(
        "--cases",
        default="single-pillow,single-cjpeg-float,single-magick,"
        "pillow,cjpeg-float,magick,mixed,shifted,resized",
    )
    parser.add_argument("--sources", choices=["corpora", "synthetic"], default="corpora")
    parser.add_argument("--limit", type=int, default=None, help="at most this many sources")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--reader", default=None, help="libjpeg-turbo or torchjpeg (default: first that loads)"
    )
    args = parser.parse_args()
    from jpegaudit.deep.backend import default_reader

    reader = args.reader or default_reader()
    q1s = [int(q) for q in args.q1.split(",")]
    q2s = [int(q) for q in args.q2.split(",")]
    cases = args.cases.split(",")
    if args.sources == "corpora" and CORPORA.is_dir():
        sources = corpus_sources(args.limit)
    else:
        sources = synthetic_sources(args.limit or 12)
    if not sources:
        print("no source images", file=sys.stderr)
        return 2
    started = time.perf_counter()
    jobs = [(i, im, cases, q1s, q2s, reader) for i, im in enumerate(sources)]
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        results = [r for chunk in pool.map(run_source, jobs) for r in chunk]
    wall = time.perf_counter() - started

    hits: dict[tuple, list[bool]] = defaultdict(list)
    errors: dict[tuple, list[int]] = defaultdict(list)
    for case, q1, q2, _index, detected, first, *_ in results:
        hits[(case, q1, q2)].append(detected)
        if detected and q1 is not None:
            errors[(case, q1, q2)].append(abs(first - q1))
    n = len(sources)
    print(f"# Double-compression detection: {n} {args.sources} sources, {len(results)} files, "
          f"{wall:.0f} s on {args.jobs} processes, coefficients read by {reader}")  # fmt: skip
    estimator_ms = 1000 * np.mean([r[6] for r in results])  # r: case, q1, q2, source, detected,
    # first quality, seconds, gap ratio, evidence
    print(f"\nestimator time: {estimator_ms:.1f} ms per file (coefficients already read)")
    singles = [c for c in cases if c.startswith("single")]
    if singles:
        print("\n**False positives: single compression at q2 flagged as double**\n")
        print("| encoder \\ q2 | " + " | ".join(map(str, q2s)) + " |")
        print("|---" * (len(q2s) + 1) + "|")
        for case in singles:
            fp = " | ".join(f"{100 * np.mean(hits[(case, None, q2)]):.0f}%" for q2 in q2s)
            print(f"| {case.removeprefix('single-')} | {fp} |")
    single_ratios = [r[7] for r in results if r[0].startswith("single") and r[7] is not None]
    if single_ratios:
        print(f"\ngap ratio of single-compressed files (flagged below 0.35): "
              f"{len(single_ratios)} judged, minimum {min(single_ratios):.2f}, "
              f"1st percentile {np.percentile(single_ratios, 1):.2f}, "
              f"median {np.median(single_ratios):.2f}")  # fmt: skip
    evidence = [r[8] for r in results if r[1] is not None and r[4]]
    if evidence:
        print(f"evidence of detected double compressions: {len(evidence)} detected, "
              f"{sum(e < 100 for e in evidence)} under 100, "
              f"median {np.median(evidence):,.0f}")  # fmt: skip
    for case in cases:
        if case.startswith("single"):
            continue

        def cell(q1, q2, case=case):
            rate = f"{100 * np.mean(hits[(case, q1, q2)]):.0f}%"
            e = errors[(case, q1, q2)]
            return f"{rate} ({np.mean(e):.1f})" if e else rate

        print(table(f"{case}: detection rate (mean |estimated q1 - q1| over detected)",
                    q1s, q2s, cell))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
