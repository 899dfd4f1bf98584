"""Images handed over in Python (`jpegaudit.scan_images`): for datasets that are objects in a
notebook (a torch `Dataset`, a Hugging Face `Dataset`) rather than files the scanner can list.

Each item is `(key, data)` or `(key, data, label)`: `key` becomes the row's `path`, `data` is
the encoded image (bytes, or the `{"bytes", "path"}` dict a Hugging Face `Image(decode=False)`
column yields, whose `path` becomes `entry_name`). Items are audited in this process, in
batches of `batch_size` rows, each written as one part: an interrupted call keeps its finished
batches. A key the store already holds is replaced (its new row written pending and published
at the end, as a rescan does); a key given twice gets one row (the first)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from jpegaudit.audit import Origin, internal_error_row
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.result import ScanInterrupted, ScanResult
from jpegaudit.scanner.units import unit_digest
from jpegaudit.sources.container import audit_slice, entry_row
from jpegaudit.sources.labels import label_text
from jpegaudit.store.arrow import rows_to_table, write_part_atomically
from jpegaudit.store.files import PENDING_PREFIX
from jpegaudit.store.scan_store import ScanStore

DEFAULT_SPLIT = "images"
ROOT = "scan_images"


def scan_image_items(items: Iterable, store: str | os.PathLike, options: ScanOptions) -> ScanResult:
    started = time.perf_counter()
    split = options.split or DEFAULT_SPLIT
    scan_store = ScanStore(store)
    scan_store.open_for_writing()
    try:
        index = scan_store.load_index()
        origin = Origin(split, ROOT, datetime.now(timezone.utc))
        labels = options.labels()
        seen: set[str] = set()
        pending: list[Path] = []
        replaced: set[str] = set()
        batch: list[dict] = []
        totals = {"rows": 0, "errors": 0, "units": 0}

        def flush() -> None:
            if not batch:
                return
            paths = [r["path"] for r in batch]
            replaces = any(index.row_of(p) >= 0 for p in paths)
            name = f"part-i{unit_digest([split, *paths])}.parquet"
            if replaces:
                name = PENDING_PREFIX + name
                pending.append(scan_store.root / name)
                replaced.update(paths)
            write_part_atomically(rows_to_table(batch), scan_store.root / name)
            totals["rows"] += len(batch)
            totals["errors"] += sum(r["error"] is not None for r in batch)
            totals["units"] += 1
            batch.clear()

        interrupted = False
        try:
            for item in items:
                row = _item_row(item, origin, options)
                if row["path"] in seen:
                    continue
                seen.add(row["path"])
                batch.append(labels.apply(row))
                if len(batch) >= options.batch_size:
                    flush()
            flush()
        except KeyboardInterrupt:
            interrupted = True
        if not interrupted:
            scan_store.finalize(replaced, index, pending)
        result = ScanResult(
            store=scan_store.root,
            scanned=totals["rows"],
            unchanged=0,
            removed=0,
            errors=totals["errors"],
            elapsed_s=time.perf_counter() - started,
            interrupted=interrupted,
            units=totals["units"],
        )
    finally:
        scan_store.close()
    if interrupted:
        raise ScanInterrupted(result)
    return result


def _item_row(item, origin: Origin, options: ScanOptions) -> dict:
    """Never raises for what an item holds: a value that is not image bytes is a row error."""
    try:
        key, data, *rest = item
    except (TypeError, ValueError):
        row = origin.new_row(f"item-{id(item):x}")
        row["entry_type"] = "file"
        row["error"] = "scan_images: an item must be (key, data) or (key, data, label)"
        return row
    path = key if isinstance(key, str) else str(key)
    name = None
    if isinstance(data, dict):
        name = data.get("path") if isinstance(data.get("path"), str) else None
        data = data.get("bytes")
    row = entry_row(origin, path, name)
    if rest:
        row["label"] = label_text(rest[0])
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            return audit_slice(memoryview(data).cast("B"), row, options.limits)
        except Exception as exc:  # a parser bug must cost one row's detail, not the scan
            return internal_error_row(path, origin, exc)
    kind = "None" if data is None else f"of type {type(data).__name__}"
    row["error"] = (
        f"scan_images: the value is {kind}, not encoded image bytes (give the file's bytes, "
        "e.g. a Hugging Face column cast to Image(decode=False))"
    )
    return row
