"""The scan engine: check the settings, plan what must be read (scanner/plan.py), run the units
on a distributor (scanner/distributors.py), and finalise the store. The main process holds only
the walk, a bounded number of units in flight, and (for rescans) the store's index."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from jpegaudit.deep.backend import DeepModeUnavailable, choose_reader
from jpegaudit.scanner.distributors import DISTRIBUTORS
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.plan import Planner, batched_works
from jpegaudit.scanner.result import ScanError, ScanInterrupted, ScanResult
from jpegaudit.scanner.roots import Root, resolve_roots
from jpegaudit.scanner.units import UnitDone
from jpegaudit.store.scan_store import ScanStore


def run_scan(
    paths: Sequence[str | os.PathLike], store: str | os.PathLike, options: ScanOptions
) -> ScanResult:
    """Scan `paths` (and `options.from_list`) into the store at `store`; see `api.scan`."""
    started = time.perf_counter()
    options = _with_deep_reader(options)
    roots = resolve_roots([os.fspath(p) for p in paths], options.from_list, options.split)
    scan_store = ScanStore(store)
    scan_store.open_for_writing()
    try:
        return _run(scan_store, roots, options, started)
    finally:
        scan_store.close()


def _with_deep_reader(options: ScanOptions) -> ScanOptions:
    """Fail before scanning when the backend or deep mode cannot run here (a setup problem,
    not a file's); the options the units get name the coefficient reader to use."""
    try:
        reader = choose_reader(options.backend, options.deep, options.deep_reader)
    except DeepModeUnavailable as exc:
        raise ScanError(str(exc)) from None
    return replace(options, deep_reader=reader)


def _run(store: ScanStore, roots: list[Root], options: ScanOptions, started: float) -> ScanResult:
    index = store.load_index()
    planner = Planner(index, {p.name for p in store.part_files()}, options)
    # (part, the paths its rows replace, the stored rows it drops) per finished unit, recorded
    # with one append: a Ctrl-C landing inside `record` either records a unit whole or not at
    # all (with its part and the rows it replaces kept apart, a signal between the two could
    # publish the part and keep the rows it replaces: two rows for a path).
    pending: list[tuple[Path, Sequence[str], Sequence[str]]] = []
    drops_when_done: dict[str, list[str]] = {}  # unit digest -> stored rows its part replaces
    totals: dict[str, int] = defaultdict(int)
    bar = _progress_bar(options.progress)

    def record(done: UnitDone) -> None:
        totals["rows"] += done.rows
        totals["errors"] += done.errors
        totals["units"] += 1
        totals["requests"] += done.requests
        totals["fetched_bytes"] += done.fetched_bytes
        if done.pending:
            drops = drops_when_done.pop(done.unit_key, ())
            pending.append((store.root / done.part, done.paths, drops))
        if bar is not None:
            bar.update(done.rows)

    works = batched_works(planner.planned(roots), options, str(store.root), drops_when_done)
    distributor = DISTRIBUTORS[options.engine](options, store.root)
    interrupted = False
    try:
        distributor.run(works, record)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if bar is not None:
            bar.close()
    pending_parts = [part for part, _, _ in pending]
    drop = {p for _, paths, drops in pending for p in (*paths, *drops)}
    removed = 0
    if planner.walk_complete and not interrupted:
        deleted = planner.deleted(roots)
        removed = len(deleted)
        drop |= deleted
    store.finalize(drop, index, pending_parts)
    result = ScanResult(
        store=store.root,
        scanned=totals["rows"],
        unchanged=planner.unchanged,
        removed=removed,
        errors=totals["errors"],
        elapsed_s=time.perf_counter() - started,
        interrupted=interrupted,
        units=totals["units"],
        requests=totals["requests"],
        fetched_bytes=totals["fetched_bytes"],
    )
    if interrupted:
        raise ScanInterrupted(result)
    return result


def _progress_bar(enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(unit=" files", desc="scanning", smoothing=0.1)
