"""LMDB databases (a directory holding `data.mdb`), as many ImageNet training repositories pack
the dataset: one key per image, the value the encoded image.

The database is opened read-only without its lock file (nothing is written, `lock.mdb` is not
created), and walked in key order with zero-copy values: a value is a view of the memory-mapped
file, so an audit touches only its head's and tail's pages. Needs the `lmdb` package and a
local directory.

Rows: one per key, path `dir::<key>` (the key as UTF-8, undecodable bytes as \\xNN). A value
that is not an image file is a row error saying what it looks like: a pickle (never unpickled)
or other serialized record."""

from __future__ import annotations

from collections.abc import Iterator

from jpegaudit.audit import Origin
from jpegaudit.sources.container import (
    ContainerDirectory,
    ContainerFormat,
    ContainerOptions,
    ReadFile,
    audit_slice,
    entry_row,
    member_path,
    shard_row,
)

DATA_FILE = "data.mdb"
LOCK_FILE = "lock.mdb"


def claims_lmdb(names: frozenset[str], read_file: ReadFile) -> bool:
    return DATA_FILE in names


def audit_lmdb(
    directory: ContainerDirectory, dir_path: str, origin: Origin, options: ContainerOptions
) -> Iterator[dict]:
    if not directory.local:
        yield shard_row(dir_path, origin, "shard", "lmdb: read from local directories only")
        return
    try:
        import lmdb
    except ImportError:
        error = "lmdb: needs the lmdb package (pip install 'jpegaudit[lmdb]')"
        yield shard_row(dir_path, origin, "shard", error)
        return
    try:
        env = lmdb.open(
            directory.path, readonly=True, lock=False, readahead=False, subdir=True, max_dbs=0
        )
    except lmdb.Error as exc:
        yield shard_row(dir_path, origin, "shard", f"not a readable LMDB: {exc}"[:300])
        return
    try:
        with env.begin(buffers=True) as txn:
            cursor = txn.cursor()
            try:
                for key, value in cursor:
                    name = bytes(key).decode("utf-8", "surrogateescape")
                    row = entry_row(origin, member_path(dir_path, name))
                    yield _value_row(value, row, options)
            except lmdb.Error as exc:
                error = f"lmdb: cannot read on: {exc}"[:300]
                yield shard_row(dir_path, origin, "shard", error)
    finally:
        env.close()


def _value_row(value: memoryview, row: dict, options: ContainerOptions) -> dict:
    head = bytes(value[:2])
    if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
        row["bytes"] = len(value)
        row["format"] = "unknown"
        row["error"] = (
            "lmdb: the value is a pickle (a serialized Python object), not image bytes: "
            "not read (jpegaudit never unpickles data)"
        )
        return row
    row = audit_slice(value, row, options.limits)
    if row["format"] == "unknown":
        start = bytes(value[:8]).hex(" ")
        row["error"] = (
            f"lmdb: the value is not an image file (starts {start}): a serialized record? "
            "jpegaudit reads values that are encoded images"
        )
    return row


FORMAT = ContainerFormat(
    kind="lmdb",
    audit=audit_lmdb,
    claims_directory=claims_lmdb,
    claim_names=frozenset({DATA_FILE}),
    volatile_files=frozenset({LOCK_FILE}),
    remote=False,
)
