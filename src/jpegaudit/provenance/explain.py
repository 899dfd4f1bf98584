"""Why a verdict is what it is, for `jpegaudit inspect`: the features, the recorded writers they
match, and the nearest recorded layouts with the features that differ. Slow on purpose (it
compares with every recorded layout); the scan never calls it."""

from __future__ import annotations

import json
from dataclasses import dataclass

from jpegaudit.provenance.catalog import WRITERS
from jpegaudit.provenance.database import SignatureDatabase, database
from jpegaudit.provenance.identify import Structure, Verdict

FEATURE_NAMES = ("SOF", "precision", "component ids", "sampling", "table slots", "markers")


@dataclass(frozen=True)
class NearLayout:
    layout_hash: str
    writers: tuple[str, ...]
    differences: tuple[str, ...]  # "markers: ours ... / theirs ..."


@dataclass(frozen=True)
class Explanation:
    layout: str
    layout_hash: str
    features: tuple[tuple[str, str], ...]  # (name, value) of our layout
    same_layout: tuple[str, ...]  # "writer version settings" recorded with this layout
    same_tables: tuple[str, ...]  # recorded with these tables (any layout)
    nearest: tuple[NearLayout, ...]  # when the layout is not recorded


def _parts(layout: str) -> dict[str, str]:
    parts = layout.split("|")
    named = dict(zip(FEATURE_NAMES, parts[:6], strict=False))
    for extra in parts[6:]:
        key, _, value = extra.partition("=")
        named[key] = value
    return named


def _entry_text(e) -> str:
    settings = json.loads(e.settings)
    shown = ", ".join(f"{k}={v}" for k, v in settings.items()) or "defaults"
    label = WRITERS[e.writer].label if e.writer in WRITERS else e.writer
    return f"{label} ({e.version}): {shown}"


def explain(
    s: Structure, verdict: Verdict, db: SignatureDatabase | None = None, limit: int = 8
) -> Explanation:
    db = db or database()
    same_layout = tuple(_entry_text(e) for e in db.by_layout.get(s.layout_hash, ())[:limit])
    # IJG tables are every libjpeg-based writer's: listing who else wrote them says nothing.
    same_tables = (
        ()
        if s.tables.exact
        else tuple(_entry_text(e) for e in db.by_tables.get(s.tables.tables_hash or "", ())[:limit])
    )
    ours = _parts(s.layout)
    nearest: list[NearLayout] = []
    if s.layout_hash not in db.by_layout:
        scored = []
        for lh, layout in db.layouts.items():
            theirs = _parts(layout)
            keys = dict.fromkeys([*ours, *theirs])
            diffs = tuple(
                f"{k}: ours {ours.get(k, '(none)')} / recorded {theirs.get(k, '(none)')}"
                for k in keys
                if ours.get(k) != theirs.get(k)
            )
            scored.append((len(diffs), lh, diffs))
        for _, lh, diffs in sorted(scored)[:3]:
            writers = tuple(dict.fromkeys(e.writer for e in db.by_layout.get(lh, ())))
            nearest.append(NearLayout(lh, writers, diffs))
    return Explanation(
        layout=s.layout,
        layout_hash=s.layout_hash,
        features=tuple(ours.items()),
        same_layout=same_layout,
        same_tables=same_tables,
        nearest=tuple(nearest),
    )
