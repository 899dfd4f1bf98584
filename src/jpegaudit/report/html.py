"""index.html: one self-contained page (figures and thumbnails embedded as data: URIs, inline
CSS, no scripts, nothing fetched). Every string that comes from the data (paths, errors,
splits, hashes, EXIF text) goes through `esc`, so a file named `<script>x</script>&.jpg` is
shown, never run."""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence

from jpegaudit.analysis.stats import labels_in_order
from jpegaudit.report.labels import OVERVIEW_LABELS
from jpegaudit.report.provenance import html_section as provenance_html

__all__ = ["esc", "render_html"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1300px;padding:0 1.5em 3em;color:#222;line-height:1.4}
h1{margin-top:1em}h2{border-bottom:1px solid #ccc;padding-top:.6em}
nav ul{columns:3;list-style:none;padding-left:0}nav a{text-decoration:none}
table{border-collapse:collapse;margin:.6em 0 1.2em;font-size:.85em}
th,td{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:.5em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption,.note{color:#555;font-size:.9em}
code,.path{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em;word-break:break-all}
tr.over td{background:#fde8e8}tr.top td{font-weight:bold}tr.none td{color:#999}
p.start{margin-bottom:.2em;font-weight:bold}ol.start{margin-top:0}
.thumb{width:96px;height:96px;display:flex;align-items:center;justify-content:center;
background:#fafafa;border:1px solid #eee;font-size:.75em;color:#888;text-align:center}
.thumb img{max-width:96px;max-height:96px}
.links a{margin-right:.8em;font-size:.85em}
"""


def esc(value: object) -> str:
    """HTML-escape anything shown from the data (quotes too: it may land in an attribute)."""
    return html.escape("" if value is None else str(value), quote=True)


def _num(n) -> str:
    if n is None:
        return "-"
    if isinstance(n, float):
        return f"{n:.4g}"
    return f"{n:,}"


def _pct(n: int, total: int) -> str:
    return f"{100 * n / total:.2f} %" if total else "-"


def _counts_table(counts: Mapping[str, Mapping[str, int]], splits: Sequence[str], what: str) -> str:
    categories = labels_in_order(counts, splits)
    if not categories:
        return '<p class="note">no values</p>'
    head = "".join(f"<th>{esc(s)}</th>" for s in splits)
    rows = []
    for c in categories:
        cells = []
        for s in splits:
            per = counts.get(s, {})
            n = per.get(c, 0)
            cells.append(f'<td class="num">{n:,} ({_pct(n, sum(per.values()))})</td>')
        rows.append(f"<tr><td>{esc(c)}</td>{''.join(cells)}</tr>")
    return f"<table><tr><th>{esc(what)}</th>{head}</tr>{''.join(rows)}</table>"


def _figure(name: str, title: str, caption: str, png: bytes | None, files: Mapping) -> str:
    links = " ".join(
        f'<a href="{esc(files[kind])}">{kind.upper()}</a>'
        for kind in ("png", "pdf")
        if kind in files
    )
    if png is None:
        img = '<p class="note">figure not available</p>'
    else:
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        img = f'<img src="{uri}" alt="{esc(title)}" id="img-{esc(name)}">'
    return (
        f'<figure class="report-figure" data-figure="{esc(name)}">{img}'
        f'<figcaption>{esc(caption)} <span class="links">{links}</span></figcaption></figure>'
    )


def _overview(summary: dict) -> str:
    splits = summary["splits"]
    ov = summary["overview"]
    labels = OVERVIEW_LABELS
    cols = [*splits, "all"] if len(splits) > 1 else splits
    head = "".join(f"<th>{esc(s)}</th>" for s in cols)
    rows = []
    for key, label in labels:
        cells = "".join(
            f'<td class="num">{ov[s][key]:,}'
            + (f" ({_pct(ov[s][key], ov[s]['rows'])})" if key != "rows" else "")
            + "</td>"
            for s in cols
        )
        none = key not in ("rows", "jpeg") and cols and not ov[cols[-1]][key]
        attr = ' class="none"' if none else ""  # findings that do not occur, greyed
        rows.append(f"<tr{attr}><td>{esc(label)}</td>{cells}</tr>")
    table = f"<table><tr><th></th>{head}</tr>{''.join(rows)}</table>"
    return table + _worth_opening(summary)


def _worth_opening(summary: dict) -> str:
    from jpegaudit.report.text import files_worth_opening

    picked = files_worth_opening(summary)
    if not picked:
        return ""
    items = "".join(
        f'<li><span class="path">{esc(path)}</span> - {esc(why)} '
        f'(<a href="#outliers-{esc(kind)}">all of this kind</a>)</li>'
        for kind, path, why in picked
    )
    return f'<p class="start">Files most worth opening first:</p><ol class="start">{items}</ol>'


def _fingerprint_table(prints: list[dict], splits: Sequence[str]) -> str:
    if not prints:
        return '<p class="note">no quantization tables in the store</p>'
    head = (
        "<tr><th>#</th><th>qtables_hash</th><th>files</th><th>share</th>"
        + "".join(f"<th>{esc(s)}</th>" for s in splits)
        + "<th>encoder</th><th>quality luma / chroma</th><th>exact</th><th>closeness</th>"
        "<th>subsampling</th><th>example files</th></tr>"
    )
    rows = []
    for i, p in enumerate(prints, start=1):
        per = "".join(f'<td class="num">{p["per_split"].get(s, 0):,}</td>' for s in splits)
        chroma = "-" if p["quality_chroma"] is None else p["quality_chroma"]
        examples = "<br>".join(f'<span class="path">{esc(x)}</span>' for x in p["examples"])
        rows.append(
            f"<tr><td>{i}</td><td><code>{esc(p['qtables_hash'])}</code></td>"
            f'<td class="num">{p["count"]:,}</td><td class="num">{100 * p["share"]:.2f} %</td>'
            f"{per}<td>{esc(p['encoder'])}</td><td>{esc(p['quality_luma'])} / {esc(chroma)}</td>"
            f'<td class="num">{_num(p["exact_share"])}</td>'
            f'<td class="num">{_num(p["mean_closeness"])}</td>'
            f"<td>{esc(p['subsampling'])}</td><td>{examples}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def _outlier_tables(outliers: dict, thumbs: Mapping[str, tuple[str | None, str | None]]) -> str:
    parts = []
    for kind, entry in outliers.items():
        title = f"{entry['title']}: {entry['total']:,}"
        parts.append(f'<h3 id="outliers-{esc(kind)}">{esc(title)}</h3>')
        if not entry["files"]:
            parts.append('<p class="note">none</p>')
            continue
        rows = []
        for f in entry["files"]:
            uri, problem = thumbs.get(f["path"], (None, "no thumbnail"))
            thumb = (
                f'<div class="thumb"><img src="{uri}" alt="thumbnail"></div>'
                if uri
                else f'<div class="thumb">{esc(problem)}</div>'
            )
            size = f"{f['width']}x{f['height']}" if f["width"] is not None else "-"
            rows.append(
                f'<tr><td>{thumb}</td><td class="path">{esc(f["path"])}</td>'
                f"<td>{esc(f['split'])}</td><td>{esc(f['value'])}</td><td>{esc(size)}</td>"
                f"<td>{esc(f['format'])}</td><td>{esc(f['subsampling'])}</td>"
                f'<td class="num">{esc(_num(f["quality_luma"]))}</td>'
                f'<td class="num">{esc(_num(f["bytes"]))}</td></tr>'
            )
        parts.append(
            "<table><tr><th>thumbnail</th><th>path</th><th>split</th><th>why listed</th>"
            "<th>size</th><th>format</th><th>subsampling</th><th>quality</th><th>bytes</th></tr>"
            + "".join(rows)
            + "</table>"
        )
    return "".join(parts)


def _drift_table(comp: dict) -> str:
    rows = sorted(
        comp["table"], key=lambda r: (r["ratio"] is None, -(r["ratio"] or 0), r["setting"])
    )
    top = rows[0]["setting"] if rows and rows[0]["ratio"] is not None else None
    body = []
    for r in rows:
        cls = []
        if r["ratio"] is not None and r["ratio"] > 1:
            cls.append("over")
        if r["setting"] == top:
            cls.append("top")
        attr = f' class="{" ".join(cls)}"' if cls else ""
        body.append(
            f"<tr{attr}><td>{esc(r['setting'])}</td><td>{esc(r['kind'])}</td>"
            f"<td>{esc(r['metric'])}</td><td class='num'>{esc(_num(r['distance']))}</td>"
            f"<td>{esc(r['unit'])}</td><td class='num'>{esc(_num(r['limit']))}</td>"
            f"<td class='num'>{esc(_num(r['ratio']))}</td><td class='num'>{r['n_a']:,}</td>"
            f"<td class='num'>{r['n_b']:,}</td><td>{esc(r['detail'])}</td></tr>"
        )
    return (
        "<table><tr><th>setting</th><th>kind</th><th>metric</th><th>distance</th><th>unit</th>"
        f"<th>suggested limit</th><th>distance / limit</th><th>n {esc(comp['split_a'])}</th>"
        f"<th>n {esc(comp['split_b'])}</th><th>what moved most</th></tr>"
        + "".join(body)
        + "</table>"
    )


def _cluster_table(clusters: list[dict], splits: Sequence[str]) -> str:
    head = (
        "<tr><th>cluster</th><th>files in sample</th><th>share</th><th>dominant size</th>"
        "<th>dominant quality</th><th>median quality</th><th>dominant subsampling</th>"
        + "".join(f"<th>{esc(s)}</th>" for s in splits)
        + "</tr>"
    )
    rows = []
    for c in clusters:
        name = "unclustered" if c["label"] < 0 else str(c["label"])
        per = "".join(f'<td class="num">{c["per_split"].get(s, 0):,}</td>' for s in splits)
        rows.append(
            f"<tr><td>{esc(name)}</td><td class='num'>{c['count']:,}</td>"
            f"<td class='num'>{100 * c['share']:.1f} %</td>"
            f"<td>{esc(c['size'])} ({100 * c['size_share']:.0f} %)</td>"
            f"<td>q{esc(c['quality'])} ({100 * c['quality_share']:.0f} %)</td>"
            f"<td class='num'>{c['median_quality']:g}</td>"
            f"<td>{esc(c['subsampling'])} ({100 * c['subsampling_share']:.0f} %)</td>{per}</tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"


def render_html(
    summary: dict,
    pngs: Mapping[str, bytes],
    thumbs: Mapping[str, tuple[str | None, str | None]],
) -> str:
    """The page. `pngs`: figure name -> PNG bytes; `thumbs`: path -> (data URI, problem)."""
    splits = summary["splits"]
    figures = summary["figures"]
    data = summary["data"]
    sections: list[tuple[str, str, str]] = [("overview", "Overview", _overview(summary))]
    tables = {
        "colour": lambda: _counts_table(data["colour"], splits, "colour"),
        "subsampling": lambda: _counts_table(data["subsampling"], splits, "subsampling"),
        "process": lambda: _counts_table(data["process"], splits, "process"),
        "orientation": lambda: _counts_table(data["orientation"], splits, "orientation"),
        "icc": lambda: _counts_table(data["icc"], splits, "ICC"),
        "encoders": lambda: _fingerprint_table(data["fingerprints"], splits),
    }
    for name, meta in figures.items():
        if meta.get("section") != "main":
            continue
        body = _figure(name, meta["title"], meta["caption"], pngs.get(name), meta["files"])
        if name in tables:
            body += tables[name]()
        sections.append((name, meta["title"], body))
    sections.append(
        ("outliers", "Outliers", '<p class="note">Thumbnails are decoded only for the files '
         "listed here; a file that cannot be decoded says why.</p>"
         + _outlier_tables(summary["outliers"], thumbs))
    )  # fmt: skip
    drift = summary["drift"]
    drift_body = []
    if drift.get("note"):
        drift_body.append(f'<p class="note">{esc(drift["note"])}</p>')
    for comp in drift.get("comparisons", []):
        name = comp["figure"]
        meta = figures.get(name, {})
        drift_body.append(f"<h3>{esc(comp['split_a'])} vs {esc(comp['split_b'])}</h3>")
        drift_body.append(
            _figure(
                name,
                meta.get("title", name),
                meta.get("caption", ""),
                pngs.get(name),
                meta.get("files", {}),
            )  # fmt: skip
        )
        drift_body.append(_drift_table(comp))
    sections.append(("drift", "Drift between splits", "".join(drift_body)))
    projection = summary["projection"]
    if projection.get("skipped"):
        proj_body = f'<p class="note">{esc(projection["skipped"])}</p>'
    else:
        meta = figures.get("projection", {})
        proj_body = _figure(
            "projection", meta.get("title", ""), meta.get("caption", ""), pngs.get("projection"),
            meta.get("files", {})
        ) + _cluster_table(projection["clusters"], splits)  # fmt: skip
    sections.append(("projection", "Compression sources (UMAP and clusters)", proj_body))
    sections.append(provenance_html(summary))

    nav = "".join(f'<li><a href="#{esc(key)}">{esc(title)}</a></li>' for key, title, _ in sections)
    body = "".join(f'<section id="{esc(key)}"><h2>{esc(title)}</h2>{content}</section>'
                   for key, title, content in sections)  # fmt: skip
    split_text = ", ".join(f"{esc(s)} ({summary['overview'][s]['rows']:,})" for s in splits)
    warnings = "".join(f"<li>{esc(w)}</li>" for w in summary.get("warnings", []))
    warn_block = f'<ul class="note">{warnings}</ul>' if warnings else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>jpegaudit report</title>"
        f"<style>{_CSS}</style></head><body>"
        "<h1>jpegaudit report</h1>"
        f'<p class="note">Source: <span class="path">{esc(summary["source"])}</span> - '
        f"{summary['rows']:,} rows; splits: {split_text}. Generated {esc(summary['generated_at'])}"
        f" by jpegaudit {esc(summary['jpegaudit_version'])}. Every number shown is in "
        "summary.json.</p>"
        f"{warn_block}<nav><ul>{nav}</ul></nav>{body}</body></html>\n"
    )
