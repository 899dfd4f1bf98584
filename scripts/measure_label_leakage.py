"""Measure the label-leakage check: flagged with the leaking class named on datasets built to
leak, and how often it flags the same datasets with shuffled labels (false-positive rate).

    python scripts/measure_label_leakage.py --shuffles 500

Datasets (ImageNet-like, synthetic store rows): `classes` classes of `per_class` files, q96
4:4:4 libjpeg files with ImageNet's common sizes and, independent of the class, 20 % of q75
4:2:0 files from a second source; then one class made of PNGs named .JPEG ("png"), or of q50
4:2:0 files from a third source ("q50"), or nothing ("none"). docs/provenance.md quotes the
output.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd

from jpegaudit.analysis.leakage import label_leakage

SIZES = ((500, 375), (500, 333), (375, 500), (500, 500), (333, 500))


def dataset(kind: str, classes: int = 20, per_class: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(classes):
        label = f"n{c:08d}"
        for i in range(per_class):
            w, h = SIZES[rng.integers(len(SIZES))]
            row = {"path": f"train/{label}/{label}_{i}.JPEG", "split": "train", "label": label,
                   "format": "jpeg", "encoder": "libjpeg", "header_signature": "a1" * 8,
                   "quality_luma": 96, "subsampling": "4:4:4", "width": w, "height": h,
                   "progressive": False}  # fmt: skip
            if rng.random() < 0.2:  # a second source, unrelated to the class
                row.update(quality_luma=75, subsampling="4:2:0", header_signature="b2" * 8)
            if c == 3 and kind == "png":
                row.update(format="png", encoder=None, header_signature=None, quality_luma=None,
                           subsampling=None, width=None, height=None, progressive=None)  # fmt: skip
            elif c == 3 and kind == "q50":
                row.update(quality_luma=50, subsampling="4:2:0", header_signature="c3" * 8)
            rows.append(row)
    return pd.DataFrame(rows)


def shuffled(df: pd.DataFrame, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return df.assign(label=rng.permutation(df["label"].to_numpy()))


def measure(kind: str, shuffles: int, classes: int, per_class: int) -> dict:
    df = dataset(kind, classes, per_class)
    found = label_leakage(df)
    t = time.perf_counter()
    false_positives = sum(label_leakage(shuffled(df, s), seed=s)["flagged"]
                          for s in range(1, shuffles + 1))  # fmt: skip
    return {
        "dataset": kind,
        "files": len(df),
        "flagged": found["flagged"],
        "flagged_labels": found["flagged_labels"],
        "shuffles": shuffles,
        "false_positives": false_positives,
        "false_positive_rate": false_positives / shuffles,
        "seconds_per_check": (time.perf_counter() - t) / shuffles,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shuffles", type=int, default=200)
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--per-class", type=int, default=30)
    args = parser.parse_args()
    for kind in ("png", "q50", "none"):
        print(json.dumps(measure(kind, args.shuffles, args.classes, args.per_class)))


if __name__ == "__main__":
    main()
