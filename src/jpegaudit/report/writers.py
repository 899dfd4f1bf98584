"""Report output formats: summary.json and summary.md. (index.html: `jpegaudit.report.html`.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

from jpegaudit.report.values import jsonable

__all__ = ["jsonable", "markdown_code", "render_markdown", "write_json"]


def write_json(summary: dict, path: Path) -> None:
    text = json.dumps(jsonable(summary), indent=1, allow_nan=False, ensure_ascii=False)
    path.write_text(text + "\n", encoding="utf-8")


# -- Markdown -------------------------------------------------------------------------------
def markdown_code(text: object) -> str:
    """`text` as an inline code span that is safe in a GitHub table cell: literal (no HTML, no
    Markdown), pipes escaped, newlines flattened, fenced with enough backticks."""
    s = str(text).replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if s.startswith("`") or s.endswith("`") or not s.strip() else ""
    return f"{fence}{pad}{s}{pad}{fence}"


def _md_text(text: object) -> str:
    """Plain text for a Markdown table cell: HTML-escaped, pipes and Markdown marks escaped."""
    # & and < are enough to stop HTML (GitHub renders it in Markdown); a lone > is harmless.
    s = str(text).replace("\n", " ").replace("&", "&amp;").replace("<", "&lt;")
    return re.sub(r"([\\`*_\[\]|#])", r"\\\1", s)


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.2f} %" if total else "-"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def render_markdown(summary: dict, max_paths: int = 5) -> str:
    """A short Markdown summary for a CI step summary: headline counts per split, the largest
    drifts, the most common settings, the top clusters and the first problem files."""
    splits = summary["splits"]
    ov = summary["overview"]
    data = summary["data"]
    lines = [
        "# jpegaudit report",
        "",
        f"{summary['rows']:,} rows in {len(splits)} split(s): "
        + ", ".join(f"{_md_text(s)} ({ov[s]['rows']:,})" for s in splits)
        + ".",
        "",
    ]
    measures = [
        ("JPEG", "jpeg"),
        ("not JPEG", "not_jpeg"),
        ("errors", "errors"),
        ("extension mismatch", "ext_mismatch"),
        ("truncated", "truncated"),
        ("trailing data", "trailing_data"),
        ("CMYK/YCCK", "cmyk_or_ycck"),
        ("4:1:1", "subsampling_4_1_1"),
        ("quality < 10", "quality_below_10"),
        ("approximate quality", "quality_approximate"),
        ("progressive", "progressive"),
    ]
    rows = []
    for label, key in measures:
        cells = [label]
        for s in splits:
            n, total = ov[s][key], ov[s]["rows"]
            cells.append(f"{n:,} ({_pct(n, total)})")
        rows.append(cells)
    lines += _table(["", *[_md_text(s) for s in splits]], rows) + [""]

    lines += ["## Most common settings", ""]
    rows = []
    for s in splits:
        sub = data["subsampling"].get(s, {})
        common = sorted(sub.items(), key=lambda kv: -kv[1])[:3]
        top_sub = ", ".join(f"{_md_text(k)} {_pct(v, sum(sub.values()))}" for k, v in common)
        q = data["quality"][s]["luma_exact"]
        qa = data["quality"][s]["luma_approx"]
        totals = [a + b for a, b in zip(q, qa, strict=True)]
        order = sorted(range(100), key=lambda i: -totals[i])[:3]
        n_q = sum(totals)
        top_q = ", ".join(f"q{i + 1} {_pct(totals[i], n_q)}" for i in order if totals[i])
        sizes = data["sizes"].get(s, {"width": [], "height": [], "count": []})
        n_s = sum(sizes["count"])
        top_s = ", ".join(
            f"{w}x{h} {_pct(c, n_s)}"
            for w, h, c in list(zip(sizes["width"], sizes["height"], sizes["count"], strict=True))[
                :3
            ]
        )
        rows.append([_md_text(s), top_sub or "-", top_q or "-", top_s or "-"])
    lines += _table(["split", "subsampling", "luma quality", "size"], rows) + [""]

    drift = summary.get("drift", {})
    for comp in drift.get("comparisons", []):
        ranked = sorted((r for r in comp["table"] if r["ratio"] is not None),
                        key=lambda r: -r["ratio"])[:5]  # fmt: skip
        if not ranked:
            continue
        lines += [f"## Drift {_md_text(comp['split_a'])} vs {_md_text(comp['split_b'])} "
                  "(largest first)", ""]  # fmt: skip
        rows = [
            [
                ("**" + r["setting"] + "**") if r["ratio"] > 1 else r["setting"],
                r["metric"],
                f"{r['distance']:.4g} {r['unit']}",
                f"{r['limit']:g}",
                _md_text(r["detail"]),
            ]
            for r in ranked
        ]
        lines += _table(["setting", "metric", "distance", "suggested limit", "what moved"], rows)
        lines += [""]

    projection = summary.get("projection", {})
    clusters = [c for c in projection.get("clusters", []) if c["label"] >= 0][:5]
    if clusters:
        lines += ["## Largest clusters (compression sources)", ""]
        rows = [
            [str(c["label"]), f"{c['count']:,} ({100 * c['share']:.1f} %)", c["size"],
             f"q{c['quality']}", _md_text(c["subsampling"])]
            for c in clusters
        ]  # fmt: skip
        lines += _table(["cluster", "files in sample", "size", "quality", "subsampling"], rows)
        lines += [""]

    if "label_leakage" in summary or "provenance" in summary:
        from jpegaudit.report.provenance import markdown_section

        lines += markdown_section(summary)

    problems = []
    for kind in ("not_jpeg", "truncated", "errors", "cmyk_ycck", "subsampling_4_1_1"):
        entry = summary.get("outliers", {}).get(kind)
        if not entry or not entry["total"]:
            continue
        for f in entry["files"][:max_paths]:
            problems.append([_md_text(entry["title"]), markdown_code(f["path"]),
                             _md_text(f["value"])])  # fmt: skip
    if problems:
        lines += ["## Files to look at", ""]
        lines += _table(["kind", "path", "why"], problems) + [""]
    lines += ["Figures, tables and thumbnails: `index.html`; every number: `summary.json`.", ""]
    return "\n".join(lines)
