"""What deep mode costs per file, against the header scan. Runs with the libjpeg-turbo reader
anywhere libturbojpeg loads; in the torchjpeg environment it measures torchjpeg too.

    python scripts/bench_deep.py                 # 200 generated ImageNet-like files (500x375)
    python scripts/bench_deep.py --files 1000
    python scripts/bench_deep.py PATH            # every JPEG under PATH instead

One process, warm cache (each stage runs once over all files before it is timed, then the
fastest of 3 passes counts). Stages: the
header scan (audit_file); each reader's read_coefficients (libjpeg entropy-decodes the whole
file); the statistics and the double-compression estimator on coefficients in memory;
deep_columns(path) per reader (header + read + statistics + estimator: what `--deep` costs per
file); torchjpeg_row(path) (the backend's row). Prints milliseconds per file, files per second
and each stage's ratio to the header scan.
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


def _reads(module, row: dict, path: str) -> bool:
    """Only files every reader reads are timed (the same work for each)."""
    from jpegaudit.deep.coefficients import CoefficientReadError

    if module.check_readable(row) is not None:
        return False
    try:
        module.read_coefficients(path)
    except CoefficientReadError:
        return False
    return True


def timed(function, items, repeat: int = 3) -> float:
    """Seconds per item: the fastest of `repeat` passes (the machine may be shared; the
    fastest pass is the one least disturbed), after one warm-up pass."""
    for item in items:  # warm up: page cache, imports, memoised tables
        function(item)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for item in items:
            function(item)
        best = min(best, time.perf_counter() - started)
    return best / len(items)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", help="scan JPEGs under PATH instead of generated ones")
    parser.add_argument("--files", type=int, default=200)
    args = parser.parse_args()

    from jpegaudit.api import audit_file
    from jpegaudit.deep.backend import READERS, deep_columns, torchjpeg_row
    from jpegaudit.deep.double import estimate_double_compression
    from jpegaudit.deep.stats import file_stats

    readers = {}
    import_seconds = {}
    for name, module in READERS.items():
        started = time.perf_counter()
        if module.available():  # torchjpeg: imports torch, once per process
            readers[name] = module
            import_seconds[name] = time.perf_counter() - started
    if not readers:
        print("no coefficient reader here (libturbojpeg or torchjpeg)", file=sys.stderr)
        return 2
    first = next(iter(readers.values()))

    with tempfile.TemporaryDirectory() as tmp:
        if args.path:
            paths = [
                os.path.join(d, n)
                for d, _, names in os.walk(args.path)
                for n in sorted(names)
                if n.lower().endswith((".jpg", ".jpeg"))
            ]
            paths = [p for p in paths if all(_reads(m, audit_file(p), p) for m in readers.values())]
        else:
            paths = imagenet_like(Path(tmp), args.files)
        if not paths:
            print("no readable JPEG files", file=sys.stderr)
            return 2
        coefficients = [first.read_coefficients(p) for p in paths]
        results = {"header scan (audit_file)": timed(audit_file, paths)}
        for name, module in readers.items():
            results[f"read coefficients: {name}"] = timed(module.read_coefficients, paths)
        results["statistics (coefficients in memory)"] = timed(file_stats, coefficients)
        results["double compression (in memory)"] = timed(
            lambda c: estimate_double_compression(c.components[0].blocks, c.components[0].qtable),
            coefficients,
        )
        for name in readers:
            results[f"deep_columns(path, reader={name!r})"] = timed(
                lambda p, name=name: deep_columns(p, reader=name), paths
            )
        if "torchjpeg" in readers:
            results["torchjpeg_row(path)"] = timed(torchjpeg_row, paths)
    megapixels = np.mean([c.width * c.height for c in coefficients]) / 1e6
    imports = ", ".join(f"{n} {s:.2f} s" for n, s in import_seconds.items())
    print(f"{len(paths)} files, mean {megapixels:.2f} megapixels; one process, warm cache; "
          f"one-off import per process: {imports}")  # fmt: skip
    print("\n| stage | ms per file | files/s | x header scan |")
    print("|---|---|---|---|")
    header = results["header scan (audit_file)"]
    for stage, seconds in results.items():
        print(f"| {stage} | {1000 * seconds:.2f} | {1 / seconds:,.0f} | {seconds / header:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
