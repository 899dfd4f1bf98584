"""The check: scan the paths into the store (incrementally), take the store's rows for those
paths, evaluate every rule. `run_check` is what `jpegaudit check` calls; `evaluate` works on any
DataFrame with the store's columns."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jpegaudit.policy.errors import CheckError
from jpegaudit.policy.loader import Policy, load_policy
from jpegaudit.policy.report import CheckReport, ScanSummary
from jpegaudit.scanner.engine import run_scan
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.result import ScanError
from jpegaudit.sources.paths import normalize_root
from jpegaudit.sources.remote import is_url
from jpegaudit.store.files import StoreError

if TYPE_CHECKING:
    import pandas as pd

# In the working directory, like .pytest_cache or .mypy_cache: CI jobs start in the repository
# root, where a cache step can keep it between runs, and paths in the store stay relative.
DEFAULT_STORE = os.path.join(".jpegaudit", "store")
STORE_ENV = "JPEGAUDIT_STORE"
DEFAULT_EXAMPLES = 5


def default_store() -> str:
    """`$JPEGAUDIT_STORE` if set, else `.jpegaudit/store` in the working directory."""
    return os.environ.get(STORE_ENV) or DEFAULT_STORE


def evaluate(policy: Policy, df: pd.DataFrame, *, examples: int = DEFAULT_EXAMPLES) -> CheckReport:
    """Every rule of `policy` on the rows of `df` (the store's columns)."""
    started = time.perf_counter()
    outcomes = tuple(rule.evaluate(df, examples) for rule in policy.rules)
    by_split = {str(k): int(v) for k, v in df["split"].value_counts().sort_index().items()}
    return CheckReport(
        outcomes=outcomes,
        files=len(df),
        files_by_split=by_split,
        policy=policy.source,
        elapsed_s=time.perf_counter() - started,
    )


def resolve_paths(paths: Sequence[str], policy: Policy, from_list: Sequence[str] = ()) -> list[str]:
    """The paths to check: those given, else the policy's `paths` (none when list files name
    what to check); each must exist."""
    chosen = list(paths) or ([] if from_list else list(policy.paths))
    if not chosen and not from_list:
        raise CheckError(
            f"nothing to check: give PATH arguments, or 'paths' in {policy.source} "
            "(or --from-list FILE)"
        )
    check_paths_exist(chosen)
    return chosen


def check_paths_exist(paths: Sequence[str]) -> None:
    for path in paths:
        if not is_url(path) and not os.path.lexists(path):  # URLs: the scan says
            raise CheckError(f"path {path} does not exist")


def scan_paths(paths: Sequence[str], store: str, options: ScanOptions) -> ScanSummary:
    """Bring the store up to date for `paths` (and `options.from_list`): only new and changed
    files are read."""
    try:
        result = run_scan(paths, store, options)
    except (ScanError, StoreError) as exc:
        raise CheckError(f"scan failed: {exc}") from None
    except OSError as exc:
        raise CheckError(f"scan failed: {exc}") from None
    return ScanSummary(
        scanned=result.scanned,
        unchanged=result.unchanged,
        removed=result.removed,
        errors=result.errors,
        elapsed_s=result.elapsed_s,
    )


def store_rows(store: str, paths: Sequence[str] | None = None) -> pd.DataFrame:
    """The store's rows for the files under `paths` (all rows when None), without the store's
    own files when the store lies inside a checked folder (`jpegaudit check .`).

    A row belongs when its path is a given path or lies under one. Rows scanned from these
    paths (`root` is one of them) are current: the scan just dropped those of vanished files.
    Other rows under them were scanned from another argument (a file checked by itself after
    its folder, or the reverse) and kept because the file is unchanged; such a row is judged
    only if its file still exists (the scan does not drop rows of another root)."""
    import numpy as np

    from jpegaudit.store.reader import read_store

    if not os.path.isdir(store):
        raise CheckError(f"no scan store at {store}")
    try:
        df = read_store(store)
    except Exception as exc:  # a damaged store is "could not run" (2), never a finding (1)
        raise CheckError(f"cannot read store {store}: {type(exc).__name__}: {exc}") from None
    if paths is None:
        return df
    roots = [normalize_root(os.fspath(p)) for p in paths]
    same_root = df["root"].isin(roots).to_numpy(dtype=bool, copy=True)
    keep = same_root
    if not same_root.all():
        path = df["path"]
        folders = tuple(r.rstrip("/") + "/" for r in roots)
        under = (path.str.startswith(folders) | path.isin(roots)).to_numpy(dtype=bool)
        for i in np.flatnonzero(under & ~same_root):
            keep[i] = os.path.lexists(path.iat[i])
    prefixes = _store_prefixes(store, roots)
    if prefixes:
        keep &= ~df["path"].str.startswith(prefixes).to_numpy(dtype=bool)
    if keep.all():  # the usual case: no copy of a wide frame
        return df
    return df[keep].reset_index(drop=True)


def _store_prefixes(store: str, roots: Sequence[str]) -> tuple[str, ...]:
    real_store = os.path.realpath(store)
    prefixes = []
    for root in roots:
        real_root = os.path.realpath(root)
        if real_store == real_root or real_store.startswith(real_root.rstrip("/") + "/"):
            inner = os.path.relpath(real_store, real_root)
            prefixes.append(os.path.join(root, inner) + "/")
    return tuple(prefixes)


def run_check(
    paths: Sequence[str],
    policy: Policy | str | os.PathLike,
    *,
    store: str | None = None,
    options: ScanOptions | None = None,
    examples: int = DEFAULT_EXAMPLES,
    scan: bool = True,
    **settings: Any,
) -> CheckReport:
    """Load the policy (before any scanning, so a wrong policy fails fast), scan `paths` (or
    the policy's `paths`, and `options.from_list`) into `store` with `options` (a
    `ScanOptions`; keyword arguments named like its fields change single settings), evaluate.
    Raises PolicyError or CheckError when the check cannot run; returns the report otherwise
    (`report.exit_code` is 0 or 1).

    With `scan=False` the store is evaluated as it is: the rows under `paths`, or every row
    when no path is given (rows of `options.split` only, when it is set)."""
    started = time.perf_counter()
    options = ScanOptions.build(options, **settings)
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    store = store or default_store()
    summary = None
    if scan:
        chosen: list[str] | None = resolve_paths(paths, policy, options.from_list)
        assert chosen is not None
        summary = scan_paths(chosen, store, options)
        chosen = chosen + list(options.from_list) if options.from_list else chosen
    else:
        chosen = list(paths) or list(policy.paths) or None
    df = store_rows(store, chosen)
    if options.split is not None and not scan:
        df = df[(df["split"] == options.split).to_numpy(dtype=bool)]
    report = evaluate(policy, df, examples=examples)
    return CheckReport(
        outcomes=report.outcomes,
        files=report.files,
        files_by_split=report.files_by_split,
        policy=policy.source + (f" [{policy.table}]" if policy.table else ""),
        store=store,
        scan=summary,
        elapsed_s=time.perf_counter() - started,
    )
