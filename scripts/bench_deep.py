"""What deep mode costs per file, against the header scan. Run it in the torchjpeg environment.

    python scripts/bench_deep.py                 # 200 generated ImageNet-like files (500x375)
    python scripts/bench_deep.py --files 1000
    python scripts/bench_deep.py PATH            # every JPEG under PATH instead

One process, warm cache (each stage runs once over all files before it is timed). Stages:
  header      jpegaudit.audit_file: the header scan's per-file work
  read        torchjpeg read_coefficients: libjpeg entropy-decodes the whole file
  stats       coefficient statistics on coefficients already read
  double      the double-compression estimator on coefficients already read
  deep        deep_columns(path): header + read + stats + double, what `--deep` adds per file
  torchjpeg   torchjpeg_row(path): the backend's row (header + read + tables)
Prints milliseconds per file, files per second and each stage's ratio to the header scan.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def imagenet_like(folder: Path, count: int) -> list[str]:
    """500x375 photos-like images at the study's common settings (q96 4:4:4, q75 4:2:0, ...)."""
    rng = np.random.default_rng(0)
    settings = [(96, 0), (96, 0), (96, 0), (75, 2), (90, 2), (85, 1)]  # (quality, subsampling)
    size = 512
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    falloff = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / size) ** 1.8
    paths = []
    for i in range(count):
        if i % 10 == 0:  # a new picture every 10 files keeps generation cheap
            base = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * falloff))
            img = np.stack([base + rng.normal(0, 0.3 * base.std(), base.shape)] * 3, -1)
            img = (img - img.mean()) / img.std() * 45 + 128
            picture = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)[:375, :500], "RGB")
        quality, subsampling = settings[i % len(settings)]
        path = folder / f"n{i:06d}.JPEG"
        picture.save(path, quality=quality, subsampling=subsampling)
        paths.append(str(path))
    return paths


def timed(label: str, function, items) -> float:
    for item in items:  # warm up: page cache, imports, memoised tables
        function(item)
    started = time.perf_counter()
    for item in items:
        function(item)
    return (time.perf_counter() - started) / len(items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", help="scan JPEGs under PATH instead of generated ones")
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()

    from jpegaudit.api import audit_file
    from jpegaudit.deep import torchjpeg_reader
    from jpegaudit.deep.backend import deep_columns, torchjpeg_row
    from jpegaudit.deep.double import estimate_double_compression
    from jpegaudit.deep.stats import file_stats

    started = time.perf_counter()
    if not torchjpeg_reader.available():  # imports torch: once per process, not per file
        print("torchjpeg is not installed here: run this in its environment", file=sys.stderr)
        return 2
    import_s = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        if args.path:
            paths = [
                os.path.join(d, n)
                for d, _, names in os.walk(args.path)
                for n in sorted(names)
                if n.lower().endswith((".jpg", ".jpeg"))
            ]
            paths = [p for p in paths if torchjpeg_reader.check_readable(audit_file(p)) is None]
        else:
            paths = imagenet_like(Path(tmp), args.files)
        if not paths:
            print("no readable JPEG files", file=sys.stderr)
            return 2
        coefficients = [torchjpeg_reader.read_coefficients(p) for p in paths]
        results = {
            "header": timed("header", audit_file, paths),
            "read": timed("read", torchjpeg_reader.read_coefficients, paths),
            "stats": timed("stats", file_stats, coefficients),
            "double": timed(
                "double",
                lambda c: estimate_double_compression(
                    c.components[0].blocks, c.components[0].qtable
                ),
                coefficients,
            ),
            "deep": timed("deep", deep_columns, paths),
            "torchjpeg": timed("torchjpeg", torchjpeg_row, paths),
        }
    megapixels = np.mean([c.width * c.height for c in coefficients]) / 1e6
    print(f"{len(paths)} files, mean {megapixels:.2f} megapixels; one process, warm cache; "
          f"import torchjpeg (torch) once per process: {import_s:.2f} s")  # fmt: skip
    print("\n| stage | ms per file | files/s | x header scan |")
    print("|---|---|---|---|")
    header = results["header"]
    for stage, seconds in results.items():
        print(f"| {stage} | {1000 * seconds:.3f} | {1 / seconds:,.0f} | {seconds / header:,.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
