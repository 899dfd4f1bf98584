"""`jpegaudit check --init`: a starter policy that describes the dataset as it is, so a team can
lock in today's state and catch regressions. Settings that legitimately vary (subsampling,
colour, process) allow exactly the values present; defects (non-JPEG content, mismatched names,
errors, truncation, trailing data) are tolerated up to today's count; thresholds (quality, size,
aspect ratio) sit at today's extremes; drift limits sit a margin above today's distances. The
generated policy passes on the data it was written from, by construction: tolerances are
computed by evaluating the rules themselves."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from jpegaudit.policy.errors import CheckError, PolicyError
from jpegaudit.policy.formatters import printable
from jpegaudit.policy.loader import PYPROJECT, parse_policy
from jpegaudit.policy.rules import drift_setting_names
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.sources.remote import is_url

if TYPE_CHECKING:
    import pandas as pd

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass
class _Draft:
    """A rule being written: its keys in order and comment lines above it."""

    values: dict[str, Any]
    comments: list[str]
    # for a table-valued key, a comment after each of its entries (`quality_luma = 45.0  # ...`)
    entry_comments: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StarterPolicy:
    text: str
    rules: int
    files: int


def _counts(series: pd.Series) -> list[tuple[str, int]]:
    counts = series.dropna().value_counts()
    return [(str(k), int(v)) for k, v in counts.items()]


def _counts_text(counts: list[tuple[str, int]], limit: int = 8) -> str:
    shown = ", ".join(f"{k} {v:,}" for k, v in counts[:limit])
    return shown + (f", ... ({len(counts) - limit} more)" if len(counts) > limit else "")


def _ceil(x: float, digits: int) -> float:
    scale = 10**digits
    return math.ceil(x * scale - 1e-9) / scale


def _drafts(df: pd.DataFrame) -> list[_Draft]:
    drafts: list[_Draft] = []
    formats = _counts(df["format"])
    unread = int(df["format"].isna().sum())
    if formats or unread:
        seen = [k for k, _ in formats]
        allowed = ["jpeg"] if "jpeg" in seen else seen or ["jpeg"]
        note = _counts_text(formats) + (f", not read {unread:,}" if unread else "")
        drafts.append(_Draft({"kind": "formats", "allowed": allowed}, [f"today: {note}"]))
    drafts.append(_Draft({"kind": "extension-matches"}, []))
    drafts.append(_Draft({"kind": "no-errors"}, []))
    drafts.append(_Draft({"kind": "no-truncated"}, []))
    drafts.append(_Draft({"kind": "no-trailing-data"}, []))

    quality: dict[str, Any] = {"kind": "min-quality"}
    notes = []
    for key, column in (("luma", "quality_luma"), ("chroma", "quality_chroma")):
        values = df[column].dropna().astype(int)
        if len(values):
            quality[key] = int(values.min())
            q = values.quantile([0.01, 0.5]).tolist()
            notes.append(
                f"{column} today: min {values.min()}, 1st percentile {q[0]:g}, "
                f"median {q[1]:g}, max {values.max()}"
            )
    if len(quality) > 1:
        drafts.append(_Draft(quality, notes))

    for kind, column in (
        ("subsampling", "subsampling"),
        ("colors", "color"),
        ("processes", "process"),
    ):
        counts = _counts(df[column])
        if counts:
            drafts.append(
                _Draft(
                    {"kind": kind, "allowed": [k for k, _ in counts]},
                    [f"today: {_counts_text(counts)}"],
                )
            )

    known = df[
        (df["width"] > 0).fillna(False).to_numpy(dtype=bool)
        & (df["height"] > 0).fillna(False).to_numpy(dtype=bool)
    ]
    if len(known):
        width = known["width"].astype("int64")
        height = known["height"].astype("int64")
        pixels = width * height
        drafts.append(
            _Draft(
                {
                    "kind": "min-size",
                    "width": int(width.min()),
                    "height": int(height.min()),
                    "pixels": int(pixels.min()),
                },
                [f"today: median {int(width.median())}x{int(height.median())}"],
            )
        )
        ratio = (width.where(width > height, height) / width.where(width < height, height)).astype(
            float
        )
        drafts.append(
            _Draft(
                {"kind": "max-aspect-ratio", "max": max(1.0, _ceil(float(ratio.max()), 2))},
                [f"today: median {ratio.median():.2f}, max {ratio.max():.3f}"],
            )
        )
    drafts.extend(_drift_drafts(df))
    return drafts


def _drift_drafts(df: pd.DataFrame) -> list[_Draft]:
    sizes = df["split"].value_counts()
    if len(sizes) < 2:
        return []
    try:
        settings = drift_setting_names()
        from jpegaudit.analysis.drift import SUGGESTED_LIMITS, drift_table
    except (PolicyError, ImportError):
        return []
    reference = "train" if "train" in sizes.index else str(sizes.index[0])
    drafts = []
    for other in sorted(str(s) for s in sizes.index if s != reference):
        table = drift_table(df, reference, other, settings=list(settings))
        limits: dict[str, float] = {}
        notes: dict[str, str] = {}
        for row in table.to_dict("records"):
            distance = float(row["distance"])
            if not math.isfinite(distance):
                continue
            setting = str(row["setting"])
            # Today's distance with room for sampling noise, never tighter than the threshold
            # the report suggests; shares of files cannot exceed 1.
            limit = max(1.5 * distance, float(SUGGESTED_LIMITS.get(setting, 0.0)))
            if row.get("unit") == "share of files":
                limit = min(limit, 1.0)
            limits[setting] = _ceil(limit, 3)
            notes[setting] = (
                f"today {distance:.3g} ({row.get('unit', '')}; {row.get('detail', '')})"
            )
        if limits:
            drafts.append(
                _Draft(
                    {
                        "kind": "drift",
                        "name": f"drift {reference} vs {other}",
                        "between": [reference, other],
                        "max": limits,
                    },
                    ["limits: 1.5 x today's distance, at least the report's suggested limit"],
                    entry_comments=notes,
                )
            )
    return drafts


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise TypeError(f"no TOML for {type(value).__name__}")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _render(header: list[str], top: dict[str, Any], drafts: list[_Draft]) -> str:
    lines = [f"# {h}" if h else "#" for h in header]
    lines.append("")
    lines += [f"{k} = {_toml_value(v)}" for k, v in top.items()]
    for draft in drafts:
        lines.append("")
        lines.append("[[rule]]")
        # Comments may quote file names; TOML comments cannot hold control characters.
        lines += [f"# {printable(c)}" for c in draft.comments]
        tables = {k: v for k, v in draft.values.items() if isinstance(v, dict)}
        lines += [
            f"{_toml_key(k)} = {_toml_value(v)}" for k, v in draft.values.items() if k not in tables
        ]
        for key, table in tables.items():  # a sub-table of this rule, one entry per line
            lines.append(f"[rule.{_toml_key(key)}]")
            for name, value in table.items():
                note = draft.entry_comments.get(name)
                line = f"{_toml_key(name)} = {_toml_value(value)}"
                lines.append(f"{line:<32}# {printable(note)}" if note else line)
    return "\n".join(lines) + "\n"


def starter_policy(df: pd.DataFrame, *, paths: Sequence[str] = ()) -> StarterPolicy:
    """A policy (TOML text) that the rows of `df` pass, describing them."""
    drafts = _drafts(df)
    policy = parse_policy({"version": 1, "rule": [d.values for d in drafts]}, "<starter policy>")
    for draft, rule in zip(drafts, policy.rules, strict=True):
        outcome = rule.evaluate(df, examples=3)
        if outcome.unit == "files" and outcome.violations:
            draft.values["tolerate"] = outcome.violations
            draft.comments.append(
                f"{outcome.violations:,} file(s) break this today; lower 'tolerate' as you fix them"
            )
            draft.comments += [f"  e.g. {e.path}: {e.detail}" for e in outcome.examples]
    splits = ", ".join(f"{k} {v:,}" for k, v in df["split"].value_counts().sort_index().items())
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"jpegaudit policy written by `jpegaudit check --init` on {stamp}",
        f"from {len(df):,} files (splits: {splits or 'none'}).",
        "Every rule passes on the dataset as it was then: tighten them as you fix things.",
        "Reference of every rule and key: docs/policy.md",
    ]
    top: dict[str, Any] = {"version": 1}
    if paths:
        top["paths"] = list(paths)
    return StarterPolicy(text=_render(header, top, drafts), rules=len(drafts), files=len(df))


def write_starter_policy(
    paths: Sequence[str],
    policy_file: str | os.PathLike,
    *,
    store: str | None = None,
    options: ScanOptions | None = None,
    force: bool = False,
    **settings: Any,
) -> StarterPolicy:
    """Scan `paths` (and `options.from_list`) with `options` (keyword arguments named like its
    fields change single settings), then write a starter policy describing them to
    `policy_file`. Refuses to overwrite an existing file unless `force`."""
    from jpegaudit.policy.check import check_paths_exist, default_store, scan_paths, store_rows

    options = ScanOptions.build(options, **settings)
    target = os.fspath(policy_file)
    if os.path.basename(target) == PYPROJECT:
        raise CheckError(
            f"--init writes a policy file of its own, not {target}; write jpegaudit.toml and "
            "move its keys under [tool.jpegaudit] if you want them there"
        )
    if os.path.lexists(target) and not force:
        raise CheckError(f"{target} exists; pass --force to overwrite it")
    if not paths and not options.from_list:
        raise CheckError("--init needs the PATH arguments (or --from-list) to describe")
    check_paths_exist(paths)
    store = store or default_store()
    scan_paths(paths, store, options)
    described = [*paths, *options.from_list]
    df = store_rows(store, described)
    base = os.path.dirname(os.path.abspath(target))
    relative = [p if is_url(p) else os.path.relpath(os.path.abspath(p), base) for p in paths]
    starter = starter_policy(df, paths=relative)
    try:
        with open(target, "w", encoding="utf-8") as fh:
            fh.write(starter.text)
    except OSError as exc:
        raise CheckError(f"cannot write {target}: {exc.strerror}") from None
    return starter
