"""The report's "Sources, pipelines and label leakage" section: its summary.json data, its HTML
and its Markdown. Kept apart from build.py so that the section is added (and moved) in one
place: `summary_section(df, splits)`, `html_section(summary)`, `markdown_section(summary)`."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import pandas as pd

from jpegaudit.analysis import leakage
from jpegaudit.analysis.sources import pipeline_look, sources
from jpegaudit.report.values import jsonable

__all__ = ["SECTION_COLUMNS", "html_section", "markdown_section", "summary_section"]

# Store columns the section reads (build.REPORT_COLUMNS includes them).
SECTION_COLUMNS = ("encoder_detail", "header_signature", "label", "width", "height")


def summary_section(df: pd.DataFrame, splits: Sequence[str]) -> dict:
    """{"provenance": ..., "label_leakage": ...} for summary.json."""
    labelled, label_source = leakage.with_labels(df)
    leak = leakage.label_leakage(labelled)
    leak["label_source"] = label_source
    return jsonable(
        {
            "provenance": {"sources": sources(labelled, splits), "pipelines": pipeline_look(df)},
            "label_leakage": leak,
        }
    )


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f} %"


def html_section(summary: dict) -> tuple[str, str, str]:
    """(anchor, title, body) for render_html's sections."""
    prov = summary.get("provenance") or {}
    leak = summary.get("label_leakage") or {}
    parts = []
    pipes = prov.get("pipelines") or {}
    if pipes:
        parts.append(f"<p><b>Pipeline:</b> {escape(pipes['verdict'])}.</p>")
    for split, entry in (prov.get("sources") or {}).get("per_split", {}).items():
        writers = ", ".join(f"{escape(k)} {v:,}" for k, v in entry["writers"].items())
        parts.append(f"<h3>{escape(split)}: {entry['jpegs']:,} JPEGs, {entry['signatures']:,} "
                     f"header signatures</h3><p>writers: {writers or '-'}</p>")  # fmt: skip
        rows = "".join(
            f"<tr><td class='path'>{escape(s['header_signature'])}</td>"
            f"<td class='num'>{s['count']:,}</td><td class='num'>{_pct(s['share'])}</td>"
            f"<td>{escape(str(s['encoder']))}</td><td>{escape(str(s['encoder_detail']))}</td>"
            f"<td class='path'>{escape(s['example'])}</td></tr>"
            for s in entry["top_signatures"]
        )
        parts.append("<table><tr><th>signature</th><th>files</th><th>share</th><th>encoder</th>"
                     f"<th>detail</th><th>example</th></tr>{rows}</table>")  # fmt: skip
    if leak:
        verdict = "FLAGGED" if leak.get("flagged") else "not flagged"
        named = ", ".join(leak.get("flagged_labels") or []) or "none"
        parts.append(
            f"<h3>Does compression predict the label? {verdict}</h3><p>{leak.get('files', 0):,} "
            f"files, {leak.get('labels', 0):,} labels ({escape(str(leak.get('label_source')))}); "
            f"labels flagged: {escape(named)}. Thresholds: {escape(str(leak.get('thresholds')))}."
            "</p>"
        )
        if leak.get("note"):
            parts.append(f'<p class="note">{escape(leak["note"])}</p>')
        rows = "".join(
            f"<tr><td>{escape(f['feature'])}</td><td class='num'>{f['cramers_v']:.3f}</td>"
            f"<td class='num'>{f['nmi']:.3f}</td><td class='num'>{f['p_value']:.3f}</td>"
            f"<td>{'yes' if f['flagged'] else ''}</td></tr>"
            for f in leak.get("features", [])
        )
        if rows:
            parts.append("<table><tr><th>feature</th><th>Cramér's V (corrected)</th><th>NMI</th>"
                         f"<th>permutation p</th><th>flagged</th></tr>{rows}</table>")  # fmt: skip
        p = leak.get("prediction")
        if p:
            parts.append(
                f"<p>Predicting the label from compression alone ({p['folds']}-fold): accuracy "
                f"{_pct(p['accuracy'])} (chance {_pct(p['chance_accuracy'])}), balanced "
                f"{_pct(p['balanced_accuracy'])} (chance {_pct(p['chance_balanced_accuracy'])}, "
                f"shuffled labels up to {_pct(p['shuffled_balanced_accuracy_max'])}).</p>"
            )
        rows = "".join(
            f"<tr><td>{escape(d['label'])}</td><td class='num'>{d['files']:,}</td>"
            f"<td>{escape(d['feature'])}</td><td class='num'>{d['distance']:.2f}</td>"
            f"<td>{escape(d['label_value'])} ({_pct(d['label_value_share'])})</td>"
            f"<td>{escape(str(d['rest_value']))} ({_pct(d['rest_value_share'])})</td>"
            f"<td>{'yes' if d['flagged'] else ''}</td>"
            f"<td class='path'>{escape(', '.join(d['examples']))}</td></tr>"
            for d in leak.get("labels_differing", [])
        )
        if rows:
            parts.append("<table><tr><th>label</th><th>files</th><th>feature</th><th>distance"
                         "</th><th>its value</th><th>the rest's</th><th>flagged</th><th>examples"
                         f"</th></tr>{rows}</table>")  # fmt: skip
    body = "".join(parts) or '<p class="note">no provenance data</p>'
    return "provenance", "Sources, pipelines and label leakage", body


def markdown_section(summary: dict) -> list[str]:
    prov = summary.get("provenance") or {}
    leak = summary.get("label_leakage") or {}
    lines = ["## Sources and label leakage", ""]
    pipes = prov.get("pipelines")
    if pipes:
        lines += [f"- Pipeline: {pipes['verdict']}."]
    if leak:
        named = ", ".join(f"`{x}`" for x in leak.get("flagged_labels") or []) or "none"
        lines += [f"- Label leakage: {'**flagged**' if leak.get('flagged') else 'not flagged'}"
                  f" (labels: {named})."]  # fmt: skip
    return [*lines, ""]
