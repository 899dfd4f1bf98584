"""The report's summary as plain text for a terminal: an aligned table with the splits side
by side, the findings that occur with their counts, and the few files most worth opening.
`jpegaudit demo` ends with it; index.html's overview lists the same files."""

from __future__ import annotations

from jpegaudit.report.labels import OVERVIEW_LABELS

__all__ = ["WORTH_OPENING", "files_worth_opening", "render_text"]

# Outlier kinds in the order a newcomer should look at them: files that break loaders first,
# then settings few decoders or pipelines expect. (lowest_quality only below `_LOW_QUALITY`.)
WORTH_OPENING = (
    "not_jpeg",
    "truncated",
    "cmyk_ycck",
    "errors",
    "subsampling_4_1_1",
    "unusual_subsampling",
    "lowest_quality",
    "trailing_data",
    "extreme_aspect",
)
_LOW_QUALITY = 30
_SHAPE = ("rows", "jpeg")  # the table's first rows; every other overview key is a finding


def files_worth_opening(summary: dict, n: int = 3) -> list[tuple[str, str, str]]:
    """Up to `n` distinct files as (outlier kind, path, why), one per outlier kind in
    `WORTH_OPENING` order, first of each kind's list."""
    picked: dict[str, tuple[str, str]] = {}
    for kind in WORTH_OPENING:
        entry = summary.get("outliers", {}).get(kind)
        if not entry or not entry["total"]:
            continue
        for f in entry["files"]:
            if kind == "lowest_quality" and (f["quality_luma"] or 100) >= _LOW_QUALITY:
                break
            if kind == "extreme_aspect" and f["width"] and f["height"]:
                if max(f["width"] / f["height"], f["height"] / f["width"]) < 4:
                    break
            if f["path"] not in picked:
                picked[f["path"]] = (kind, f"{entry['title']}: {f['value']}")
                break
        if len(picked) == n:
            break
    return [(kind, path, why) for path, (kind, why) in picked.items()]


def _table(rows: list[list[str]], numeric_from: int = 1) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for r in rows:
        cells = [c.ljust(w) if i < numeric_from else c.rjust(w)
                 for i, (c, w) in enumerate(zip(r, widths, strict=True))]  # fmt: skip
        lines.append("  ".join(cells).rstrip())
    return lines


def render_text(summary: dict, *, worth_opening: int = 3) -> str:
    """Lines for a terminal: files and JPEGs per split, every finding that occurs (a count per
    split and in all), and the files most worth opening. Paths are the store's."""
    splits = summary["splits"]
    ov = summary["overview"]
    columns = [*splits, "all"] if len(splits) > 1 else list(splits)
    if not columns:
        return "no files in the store\n"
    labels = dict(OVERVIEW_LABELS)
    rows = [["", *columns]]
    rows += [[labels[k] if k != "rows" else "files", *(f"{ov[c][k]:,}" for c in columns)]
             for k in _SHAPE]  # fmt: skip
    findings = [k for k, _ in OVERVIEW_LABELS if k not in _SHAPE and ov[columns[-1]][k]]
    if findings:
        rows.append(["findings", *([""] * len(columns))])
        rows += [[f"  {labels[k]}", *(f"{ov[c][k]:,}" for c in columns)] for k in findings]
    lines = _table(rows)
    if not findings:
        lines.append("no findings: every file is a plain, complete JPEG")
    worth = files_worth_opening(summary, worth_opening)
    if worth:
        lines += ["", "files most worth opening:"]
        lines += [f"  {path}\n      {why}" for _, path, why in worth]
    return "\n".join(lines) + "\n"
