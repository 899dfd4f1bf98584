"""The planner's rules, held as columns, decide as the per-entry rules they replaced (kept here
as references): which stored rows an unchanged file may skip, and how planned files are batched
into units."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jpegaudit.audit import ReadLimits
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.plan import PlannedEntry, PlannedFiles, PlannedShard, Planner, batched_works
from jpegaudit.scanner.units import (
    FileBatch,
    LocalItem,
    MultiRootBatch,
    ObjectBatch,
    ObjectItem,
    Shard,
)
from jpegaudit.scanner.walk import Entry
from jpegaudit.sources.remote import FsSpec, RemoteEntry
from jpegaudit.store.arrow import ARROW_SCHEMA
from jpegaudit.store.index import IndexEntry, StoreIndex

VALUES = {
    "bytes": [None, 5],
    "mtime_ns": [None, 7],
    "split": ["train", "val"],
    "backend": [None, "header", "torchjpeg"],
    "deep_reader": [None, "libjpeg-turbo"],
    "format": [None, "jpeg", "png"],
    "tail_checked": [None, True, False],
}


def old_rule(previous: IndexEntry, options: ScanOptions, split: str) -> bool:
    """Planner._same_mode and _unchanged_local's non-stat part, as they were."""
    wants_deep = options.deep and previous.format == "jpeg"
    same_mode = (
        (previous.backend or "header") == options.backend
        and (not wants_deep or previous.deep_reader is not None)
        and not (options.limits.read_tail and previous.tail_checked is False)
    )
    return (
        same_mode
        and previous.bytes is not None
        and previous.mtime_ns is not None
        and previous.split == split
    )


@pytest.fixture
def every_kind_of_row(tmp_path) -> StoreIndex:
    rows = []
    for k, combo in enumerate(itertools.product(*VALUES.values())):
        row = dict.fromkeys(ARROW_SCHEMA.names)
        row.update(zip(VALUES, combo, strict=True), path=f"/d/{k}.jpg", root="/d")
        rows.append(row)
    table = pa.table({n: [r[n] for r in rows] for n in ARROW_SCHEMA.names}, schema=ARROW_SCHEMA)
    pq.write_table(table, tmp_path / "part-x.parquet")
    return StoreIndex.load([tmp_path / "part-x.parquet"])


@pytest.mark.parametrize(
    ("backend", "deep", "read_tail"),
    list(itertools.product(["header", "torchjpeg"], [False, True], [False, True])),
)
def test_skippable_rows_are_those_the_per_entry_rule_skipped(
    every_kind_of_row, backend, deep, read_tail
):
    index = every_kind_of_row
    options = ScanOptions(backend=backend, deep=deep, limits=ReadLimits(read_tail=read_tail))
    planner = Planner(index, set(), options)
    for split in ("train", "val", "other"):
        mask = planner.skippable(split)
        expected = [old_rule(index.entry(r), options, split) for r in range(index.row_count)]
        assert [bool(x) for x in mask] == expected
        assert 0 < sum(expected) < len(expected) or split == "other"


# -- batching ---------------------------------------------------------------------------------


def old_batched_units(planned: list, batch_size: int) -> list:
    """batched_works as it was: one planned item per file, batched per (bucket, replaces); at
    the end, what each root left (fewer than a batch) packed, in order, into units of up to a
    batch, new and replacing apart."""
    buckets: dict[tuple, list] = defaultdict(list)
    specs = {}
    out = []

    def batch(key, items):
        if key[0][0] == "local":
            return FileBatch.of(items)
        return ObjectBatch(specs[key], tuple(items))

    for p in planned:
        if isinstance(p, PlannedShard):
            out.append((p.shard, bool(p.replaces_rows)))
            continue
        key = (p[0], p[2])
        if p[3] is not None:
            specs[key] = p[3]
        bucket = buckets[key]
        bucket.append(p[1])
        if len(bucket) >= batch_size:
            out.append((batch(key, bucket), p[2]))
            bucket.clear()
    leftovers: dict[bool, list[FileBatch]] = {False: [], True: []}
    for key, bucket in buckets.items():
        if bucket and key[0][0] == "local":
            leftovers[key[1]].append(FileBatch.of(bucket))
        elif bucket:
            out.append((batch(key, bucket), key[1]))
    for replaces, batches in leftovers.items():
        group: list[FileBatch] = []
        for b in batches:
            if group and sum(len(g.fs_paths) for g in group) + len(b.fs_paths) > batch_size:
                out.append(
                    (group[0] if len(group) == 1 else MultiRootBatch(tuple(group)), replaces)
                )
                group = []
            group.append(b)
        if group:
            out.append((group[0] if len(group) == 1 else MultiRootBatch(tuple(group)), replaces))
    return out


def random_plan(rng: random.Random) -> tuple[list, list]:
    """The same plan twice: as runs of files (today), and one item per file (before)."""
    runs, items = [], []
    spec = FsSpec("memory", {})
    for k in range(rng.randint(1, 60)):
        kind = rng.random()
        if kind < 0.1:
            shard = Shard("tar", f"/s/{k}.tar", f"/s/{k}.tar", "/s", "s", 10, "1")
            planned = PlannedShard(shard, [f"/s/{k}.tar::a"] if rng.random() < 0.5 else [])
            runs.append(planned)
            items.append(planned)
            continue
        if kind < 0.2:
            entry = RemoteEntry(f"b/{k}", f"memory://b/{k}", 1, None, None)
            planned = PlannedEntry(
                ("object", "memory"), ObjectItem(entry, "memory://b", "b"), rng.random() < 0.3, spec
            )
            runs.append(planned)
            items.append(planned)
            continue
        root, split = rng.choice([("/r1", "train"), ("/r2", "val")])
        replaces = rng.random() < 0.3
        entries = []
        for i in range(rng.randint(1, 9)):
            fs_path = f"{root}/{k}/{i}.jpg"
            odd = rng.random() < 0.1
            error = "cannot list directory: x" if rng.random() < 0.05 else None
            entries.append(
                Entry(
                    fs_path + ("\udce9" if odd else ""),
                    fs_path + ("\\xe9" if odd else ""),
                    error,
                    rng.random() < 0.7,
                )
            )
        paths = [e.path for e in entries]
        fs_paths = [e.fs_path for e in entries]
        runs.append(
            PlannedFiles(
                root,
                split,
                replaces,
                fs_paths,
                None if paths == fs_paths else paths,
                bytes(e.regular for e in entries),
                tuple((i, e.error) for i, e in enumerate(entries) if e.error),
            )
        )
        items.extend(
            (("local", root, split), LocalItem(e, root, split), replaces, None) for e in entries
        )
    return runs, items


@pytest.mark.parametrize("seed", range(40))
def test_runs_are_batched_into_the_units_one_item_per_file_gave(seed):
    rng = random.Random(seed)
    runs, items = random_plan(rng)
    batch_size = rng.choice([1, 2, 3, 7, 1000])
    options = ScanOptions(batch_size=batch_size)
    drops: dict[str, list[str]] = {}
    works = list(batched_works(iter(runs), options, "/store", drops))
    assert [(w.unit, w.pending) for w in works] == old_batched_units(items, batch_size)
    assert all(w.store == "/store" and w.options is options for w in works)


def test_a_very_long_run_is_cut_into_whole_batches(tmp_path: Path):
    fs_paths = [f"/r/{i:07d}.jpg" for i in range(25_000)]
    run = PlannedFiles("/r", "train", False, fs_paths, None, bytes(len(fs_paths)))
    works = list(batched_works(iter([run]), ScanOptions(batch_size=1000), "/s", {}))
    assert [len(w.unit.fs_paths) for w in works] == [1000] * 25
    assert [p for w in works for p in w.unit.fs_paths] == fs_paths


def small_roots(*sizes: int, replaces: bool = False) -> list[PlannedFiles]:
    return [
        PlannedFiles(f"/r{k}", f"s{k}", replaces, [f"/r{k}/{i}.jpg" for i in range(n)], None, b"")
        for k, n in enumerate(sizes)
    ]


def test_what_small_roots_leave_goes_into_units_of_up_to_a_batch():
    works = list(
        batched_works(iter(small_roots(3, 4, 2, 6, 1)), ScanOptions(batch_size=10), "/s", {})
    )
    assert [type(w.unit) for w in works] == [MultiRootBatch, MultiRootBatch]
    assert [[b.root for b in w.unit.batches] for w in works] == [
        ["/r0", "/r1", "/r2"],
        ["/r3", "/r4"],
    ]
    assert [w.local_files() for w in works] == [9, 7]


def test_the_rest_of_a_large_root_joins_the_small_ones():
    works = list(batched_works(iter(small_roots(25, 3)), ScanOptions(batch_size=10), "/s", {}))
    assert [w.local_files() for w in works] == [10, 10, 8]
    assert [b.root for b in works[2].unit.batches] == ["/r0", "/r1"]


def test_a_root_left_alone_is_a_file_batch_named_as_before():
    (work,) = batched_works(iter(small_roots(3)), ScanOptions(batch_size=10), "/s", {})
    assert work.unit == FileBatch("/r0", "s0", ("/r0/0.jpg", "/r0/1.jpg", "/r0/2.jpg"), None, b"")


def test_new_and_replacing_files_of_small_roots_go_in_units_apart():
    planned = small_roots(2, 2) + small_roots(3, 3, replaces=True)
    works = list(batched_works(iter(planned), ScanOptions(batch_size=100), "/s", {}))
    assert [(w.pending, w.local_files()) for w in works] == [(False, 4), (True, 6)]
    assert all(isinstance(w.unit, MultiRootBatch) for w in works)
