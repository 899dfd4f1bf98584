"""Write a synthetic ImageNet-like scan store: rows only, no image files.

    python scripts/synth_store.py OUT_STORE [--train 1281167] [--val 50000] [--seed 0]

The rows follow the store schema (docs/store-schema.md) and what is known about ILSVRC2012
(../shared/reference/imagenet.md): mostly colour 4:4:4 at IJG quality 96 around 500x375, about
10 % 4:2:0 at assorted qualities, a few 4:1:1 (ten times more, proportionally, in val), some
quality < 10, about 1.7 % grayscale, 22 CMYK files in train, the PNG named `.JPEG`, a few
truncated files and files with trailing bytes, some non-IJG (approximate) tables from
Photoshop and cameras, sizes with 500 on the long side at aspect 4:3, 3:2 and 1:1 plus a long
tail up to 2592x3888 and strips as thin as 500x32. Val is drawn from slightly different mixes so
that drift shows. Used by scripts/bench_report.py; importable (`synthesise_frame`,
`write_store`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from jpegaudit.store.arrow import ARROW_SCHEMA

_SUBSAMPLING_FACTORS = {
    "4:4:4": "1x1,1x1,1x1",
    "4:2:2": "2x1,1x1,1x1",
    "4:2:0": "2x2,1x1,1x1",
    "4:4:0": "1x2,1x1,1x1",
    "4:1:1": "4x1,1x1,1x1",
    "2x2,1x1,1x2": "2x2,1x1,1x2",
    "gray": "1x1",
}


def _choice(
    rng,
    n,
    table: dict,
):
    keys = list(table)
    weights = np.array([table[k] for k in keys], dtype=float)
    index = rng.choice(len(keys), size=n, p=weights / weights.sum())
    return np.array(keys, dtype=object)[index]


def _sizes(rng, n: int, val: bool) -> tuple[np.ndarray, np.ndarray]:
    common = {
        (500, 375): 40 if not val else 30,
        (375, 500): 12,
        (500, 333): 14,
        (333, 500): 5,
        (500, 500): 5 if not val else 12,
        (500, 334): 3,
        (500, 400): 2,
        (400, 500): 1 if not val else 3,
        (500, 281): 1,
        (640, 480): 1.5,
        (1024, 768): 0.5,
        "other": 15,
    }
    picks = _choice(rng, n, common)
    width = np.zeros(n, dtype=np.int64)
    height = np.zeros(n, dtype=np.int64)
    other = np.array([p == "other" for p in picks])
    fixed = ~other
    width[fixed] = [p[0] for p in picks[fixed]]
    height[fixed] = [p[1] for p in picks[fixed]]
    # The long tail: long side 500 with a random aspect (most of it), else a lognormal size.
    m = int(other.sum())
    long500 = rng.random(m) < 0.6
    aspect = np.exp(rng.normal(0.25, 0.35, m))  # width / height, mostly landscape
    long_side = np.where(long500, 500, np.clip(rng.lognormal(6.3, 0.5, m), 60, 3888)).round()
    w = np.where(aspect >= 1, long_side, long_side * aspect)
    h = np.where(aspect >= 1, long_side / aspect, long_side)
    width[other] = np.clip(w.round(), 16, 3888)
    height[other] = np.clip(h.round(), 16, 3888)
    return width, height


def synthesise_frame(train: int = 1_281_167, val: int = 50_000, seed: int = 0) -> pa.Table:
    """The synthetic store as an Arrow table with the store's schema (every column present)."""
    rng = np.random.default_rng(seed)
    parts = []
    for split, n in (("train", train), ("val", val)):
        if n:
            parts.append(_split_table(rng, split, n))
    return pa.concat_tables(parts)


def _split_table(rng, split: str, n: int) -> pa.Table:
    is_val = split == "val"
    wnids = np.array([f"n{1440764 + 3571 * k:08d}" for k in range(1000)], dtype=object)
    wnid = wnids[rng.integers(0, 1000, n)]
    serial = np.arange(n)
    if is_val:
        path = np.array(
            [f"val/{w}/ILSVRC2012_val_{i + 1:08d}.JPEG" for w, i in zip(wnid, serial, strict=True)]
        )
    else:
        path = np.array([f"train/{w}/{w}_{i}.JPEG" for w, i in zip(wnid, serial, strict=True)])
    width, height = _sizes(rng, n, is_val)
    # thin strips and very large photos, as in the study
    if n > 1000:
        width[:3], height[:3] = 500, np.array([32, 40, 57])
        width[3:5], height[3:5] = 2592, 3888
        width[5], height[5] = 3888, 2592

    gray = rng.random(n) < (0.017 if not is_val else 0.02)
    sub = _choice(
        rng,
        n,
        {"4:4:4": 88.5, "4:2:0": 10.0, "4:2:2": 1.2, "4:4:0": 0.02,
         "4:1:1": 0.005 if not is_val else 0.05, "2x2,1x1,1x2": 0.002},
    )  # fmt: skip
    sub = np.where(gray, "gray", sub).astype(object)
    color = np.where(gray, "gray", "ycbcr").astype(object)
    components = np.where(gray, 1, 3)
    if not is_val and n >= 100:
        cmyk = rng.choice(n, size=22, replace=False)
        color[cmyk] = "cmyk"
        components[cmyk] = 4
        sub[cmyk] = "4:4:4"
    rgb = rng.random(n) < 0.00005
    color[rgb & ~gray] = "rgb"

    # quality: 96 dominates; 4:2:0 files come from a wider mix of encoders
    q_main = _choice(rng, n, {96: 82, 95: 3, 90: 4, 85: 2, 92: 1.5, 75: 3, 80: 1.5, 100: 1,
                              70: 0.8, 50: 0.5, 30: 0.2, 8: 0.05, 5: 0.05})  # fmt: skip
    q_420 = _choice(rng, n, {75: 30, 85: 15, 90: 15, 80: 10, 95: 8, 70: 6, 60: 5, 50: 4,
                             40: 3, 25: 2, 12: 1, 6: 1})  # fmt: skip
    quality = np.where(sub == "4:2:0", q_420, q_main).astype(np.int64)
    if is_val:
        quality = np.where(rng.random(n) < 0.05, 90, quality)
    approx = rng.random(n) < np.where(sub == "4:2:0", 0.25, 0.02)
    encoder = np.where(
        approx, _choice(rng, n, {"photoshop": 5, "canon": 4, "unknown": 1}), "libjpeg"
    )
    encoder = encoder.astype(object)
    quality_chroma = quality.copy()
    split_q = rng.random(n) < 0.003
    quality_chroma[split_q] = np.maximum(1, quality[split_q] - 20)
    chroma_null = gray | (color == "cmyk") | (color == "rgb")
    exact = ~approx
    fit_error = np.where(exact, 0.0, rng.uniform(0.05, 0.6, n))
    closeness = np.where(exact, 1.0, rng.uniform(0.2, 0.95, n))
    hash_key = np.char.add(
        np.char.add(encoder.astype(str), quality.astype(str)),
        np.char.add(np.where(chroma_null, "n", quality_chroma.astype(str)), sub.astype(str)),
    )
    uniq, inverse = np.unique(hash_key, return_inverse=True)
    hashes = np.array([hashlib.sha1(k.encode()).hexdigest()[:16] for k in uniq], dtype=object)
    qtables_hash = hashes[inverse]

    progressive = rng.random(n) < 0.015
    process = np.where(progressive, "progressive", "baseline").astype(object)
    process[rng.random(n) < 0.0005] = "extended"

    # bytes per pixel grows with quality and chroma resolution; lognormal scatter
    bpp = 0.04 * np.exp(
        0.028 * quality
    )  # q96 4:4:4: about 0.6 bytes/pixel, ~110 kB * np.where(sub == "4:2:0", 0.6, 1.0)
    bpp = bpp * np.where(gray, 0.5, 1.0) * rng.lognormal(0, 0.35, n)
    nbytes = np.maximum(200, (bpp * width * height).round()).astype(np.int64)

    exif = rng.random(n) < 0.08
    orientation = np.full(n, -1, dtype=np.int64)
    has_orientation = exif & (rng.random(n) < 0.6)
    orientation[has_orientation] = _choice(rng, int(has_orientation.sum()),
                                           {1: 90, 6: 6, 8: 3, 3: 1})  # fmt: skip
    icc = rng.random(n) < 0.03
    truncated = rng.random(n) < 0.00002
    trailing = np.where(rng.random(n) < 0.0005, rng.integers(1, 5000, n), 0)

    fmt = np.full(n, "jpeg", dtype=object)
    error = np.full(n, None, dtype=object)
    if not is_val and n > 2933:
        k = 2933
        path[k] = "train/n02105855/n02105855_2933.JPEG"
        fmt[k] = "png"
        error[k] = "not a JPEG: png"
    is_jpeg = fmt == "jpeg"
    frame = is_jpeg
    columns = {
        "path": (path, None),
        "split": (np.full(n, split, dtype=object), None),
        "root": (np.full(n, split, dtype=object), None),
        "entry_type": (np.full(n, "file", dtype=object), None),
        "bytes": (nbytes, None),
        "format": (fmt, None),
        "ext": (np.full(n, "jpeg", dtype=object), None),
        "ext_mismatch": (~is_jpeg, None),
        "error": (error, None),
        "width": (width, frame),
        "height": (height, frame),
        "components": (components, frame),
        "color": (color, frame),
        "sampling_factors": (np.array([_SUBSAMPLING_FACTORS[s] for s in sub], dtype=object), frame),
        "subsampling": (sub, frame),
        "chroma_factors_differ": (sub == "2x2,1x1,1x2", frame),
        "process": (process, frame),
        "sof": (np.where(progressive, 194, 192), frame),
        "progressive": (progressive, frame),
        "arithmetic": (np.zeros(n, bool), frame),
        "precision": (np.full(n, 8), frame),
        "restart_interval": (np.zeros(n, np.int64), is_jpeg),
        "qtables_hash": (qtables_hash, is_jpeg),
        "quality_luma": (quality, is_jpeg),
        "quality_chroma": (quality_chroma, is_jpeg & ~chroma_null),
        "quality_exact": (exact, is_jpeg),
        "quality_fit_error": (fit_error, is_jpeg),
        "quality_closeness": (closeness, is_jpeg),
        "encoder": (encoder, is_jpeg),
        "exif": (exif, is_jpeg),
        "orientation": (orientation, is_jpeg & (orientation > 0)),
        "icc": (icc, is_jpeg),
        "icc_colorspace": (np.full(n, "RGB", dtype=object), is_jpeg & icc),
        "truncated": (truncated, is_jpeg),
        "trailing_bytes": (trailing, is_jpeg & ~truncated),
    }
    arrays = []
    for field in ARROW_SCHEMA:
        if field.name in columns:
            values, valid = columns[field.name]
            mask = None if valid is None else ~np.asarray(valid, dtype=bool)
            if values.dtype == object:
                values = list(values)
                if mask is not None:
                    values = [None if m else v for v, m in zip(values, mask, strict=True)]
                    mask = None
            arrays.append(pa.array(values, type=field.type, mask=mask))
        elif field.name == "scanned_at":
            arrays.append(pa.array(np.full(n, 1_700_000_000_000_000, "int64")).cast(field.type))
        elif field.name == "scanner_version":
            arrays.append(pa.array(["synthetic"] * n, type=field.type))
        else:
            arrays.append(pa.nulls(n, type=field.type))
    return pa.Table.from_arrays(arrays, schema=ARROW_SCHEMA)


def write_store(table: pa.Table, store: Path, rows_per_part: int = 250_000) -> list[Path]:
    """Write `table` as a scan store directory (part files plus the metadata file)."""
    store.mkdir(parents=True, exist_ok=True)
    for old in store.glob("part-*.parquet"):
        old.unlink()
    written = []
    for seq, start in enumerate(range(0, table.num_rows, rows_per_part)):
        part = store / f"part-synthetic-{seq:06d}.parquet"
        pq.write_table(table.slice(start, rows_per_part), part, compression="zstd")
        written.append(part)
    (store / "_jpegaudit.json").write_text(
        json.dumps({"schema_version": 1, "created_by": "scripts/synth_store.py"}) + "\n"
    )
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path)
    parser.add_argument("--train", type=int, default=1_281_167)
    parser.add_argument("--val", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = synthesise_frame(args.train, args.val, args.seed)
    parts = write_store(table, args.store)
    print(
        f"{table.num_rows} rows in {len(parts)} parts -> {args.store} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
