"""Which writers and header signatures make up a dataset, per split and per label, and whether
its files look like one pipeline's output (re-encoded) rather than like their original sources.
DataFrame in (store columns, `label` optional), plain dict out."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from jpegaudit.analysis.stats import column, is_jpeg
from jpegaudit.provenance import PIPELINES

__all__ = ["PIPELINE_SHARE", "pipeline_look", "sources"]

# A dataset "looks like one pipeline's output" when at least this share of its JPEGs carries
# that pipeline's settings signature (docs/provenance.md).
PIPELINE_SHARE = 0.8
_CONSISTENT = "consistent with: "


def _signature_table(frame: pd.DataFrame, top: int) -> list[dict]:
    if frame.empty:
        return []
    grouped = (
        frame.groupby("header_signature", dropna=True, observed=True)
        .agg(
            count=("path", "size"),
            encoder=("encoder", "first"),
            detail=("encoder_detail", "first"),
            example=("path", "min"),
        )  # fmt: skip
        .reset_index()
        .sort_values(["count", "header_signature"], ascending=[False, True], kind="stable")
    )
    total = len(frame)
    return [
        {
            "header_signature": str(r.header_signature),
            "count": int(r.count),
            "share": float(r.count / total),
            "encoder": None if pd.isna(r.encoder) else str(r.encoder),
            "encoder_detail": None if pd.isna(r.detail) else str(r.detail),
            "example": str(r.example),
        }
        for r in grouped.head(top).itertuples()
    ]


def sources(df: pd.DataFrame, splits: Sequence[str], top: int = 10, top_labels: int = 20) -> dict:
    """Per split: writers (encoder counts), distinct header signatures and the most common
    ones; per label (when the frame has one): how many signatures and writers each label's
    files come from, the labels drawn from the most."""
    jpeg = is_jpeg(df)
    frame = pd.DataFrame(
        {
            "split": column(df, "split"),
            "path": column(df, "path"),
            "encoder": column(df, "encoder"),
            "encoder_detail": column(df, "encoder_detail"),
            "header_signature": column(df, "header_signature"),
            "label": column(df, "label"),
        }
    )[jpeg]
    out: dict = {"per_split": {}, "per_label": None}
    for s in splits:
        part = frame[frame["split"] == s]
        writers = part["encoder"].value_counts()
        out["per_split"][s] = {
            "jpegs": int(len(part)),
            "writers": {str(k): int(v) for k, v in writers.items()},
            "signatures": int(part["header_signature"].nunique()),
            "top_signatures": _signature_table(part, top),
        }
    labelled = frame[frame["label"].notna() & (frame["label"].astype(str) != "")]
    if not labelled.empty:
        per = labelled.groupby("label", observed=True).agg(
            files=("path", "size"),
            signatures=("header_signature", "nunique"),
            writers=("encoder", "nunique"),
            top_writer=("encoder", lambda v: v.mode().iloc[0] if v.notna().any() else None),
        )
        per = per.sort_values(["signatures", "files"], ascending=[False, False], kind="stable")
        out["per_label"] = {
            "labels": int(len(per)),
            "median_signatures": float(per["signatures"].median()),
            "most_sources": [
                {
                    "label": str(k),
                    "files": int(r.files),
                    "signatures": int(r.signatures),
                    "writers": int(r.writers),
                    "top_writer": r.top_writer,
                }  # fmt: skip
                for k, r in per.head(top_labels).iterrows()
            ],
        }
    return out


def pipeline_look(df: pd.DataFrame) -> dict:
    """Share of the JPEGs whose settings signature each pipeline's defaults write (from
    `encoder_detail`'s "consistent with"), and the verdict: one pipeline's output, or their
    original sources."""
    jpeg = is_jpeg(df)
    details = column(df, "encoder_detail")[jpeg].astype("string")
    total = int(jpeg.sum())
    counts = {p.name: 0 for p in PIPELINES}
    for detail, n in details.value_counts().items():
        text = str(detail)
        if _CONSISTENT not in text:
            continue
        names = text.split(_CONSISTENT, 1)[1].split(";")[0].split(", ")
        for name in names:
            if name in counts:
                counts[name] += int(n)
    shares = {k: (v / total if total else 0.0) for k, v in counts.items() if v}
    best = max(shares.items(), key=lambda kv: kv[1], default=(None, 0.0))
    signatures = int(column(df, "header_signature")[jpeg].nunique())
    if best[0] is not None and best[1] >= PIPELINE_SHARE:
        same = [k for k, v in shares.items() if v == best[1]]
        verdict = (f"{best[1]:.0%} of the JPEGs carry the settings signature of "
                   f"{', '.join(same)}: the files look like that pipeline's output (re-encoded), "
                   "not like their original sources")  # fmt: skip
    else:
        verdict = (f"the JPEGs come from {signatures} header signatures; no pipeline's settings "
                   f"cover {PIPELINE_SHARE:.0%} of them (largest: "
                   f"{best[0] or 'none'} {best[1]:.0%}): they look like their original sources")  # fmt: skip
    return {
        "jpegs": total,
        "pipeline_share": shares,
        "threshold": PIPELINE_SHARE,
        "looks_like_pipeline": best[0] if best[1] >= PIPELINE_SHARE else None,
        "verdict": verdict,
    }
