"""Every container format the scan opens, in one list. A new format is a module that declares
a `ContainerFormat` (see sources/container.py) and one line here."""

from __future__ import annotations

import os

from jpegaudit.sniff import extension_of
from jpegaudit.sources import lmdb, mds, parquet, tar, tfrecord, zipfile
from jpegaudit.sources.container import ContainerFormat, ReadFile

CONTAINER_FORMATS: tuple[ContainerFormat, ...] = (
    tar.FORMAT,
    zipfile.FORMAT,
    parquet.FORMAT,
    tfrecord.FORMAT,
    mds.FORMAT,
    lmdb.FORMAT,
)

_BY_KIND = {f.kind: f for f in CONTAINER_FORMATS}
# Longest first: `.tfrecord.gz` before `.gz`.
_BY_SUFFIX = sorted(
    ((suffix, f.kind) for f in CONTAINER_FORMATS for suffix in f.suffixes),
    key=lambda pair: -len(pair[0]),
)
_SNIFFERS = tuple(f for f in CONTAINER_FORMATS if f.sniff is not None)
_DIRECTORIES = tuple(f for f in CONTAINER_FORMATS if f.claims_directory is not None)


def container_kind(path: str) -> str | None:
    """The kind of container a file is by its name (`tar`, `zip`), or None for a plain file."""
    lowered = path.lower()
    for suffix, kind in _BY_SUFFIX:
        if lowered.endswith(suffix):
            return kind
    return None


def worth_sniffing(path: str) -> bool:
    """Whether a file whose name names no container might still be one: a name without an
    extension, or in TFRecord's shard naming (`train.tfrecord-00000-of-01024`). Anything else
    (`.jpg`, a WebDataset folder's `.json` sidecars) is never opened by the planner."""
    if not _SNIFFERS:
        return False
    ext = extension_of(path)
    return ext == "" or "-of-" in ext or ext.startswith("tfrec")


def sniffed_kind(head: bytes) -> str | None:
    """The kind of container the first bytes of a file show, or None."""
    for f in _SNIFFERS:
        assert f.sniff is not None
        if f.sniff(head):
            return f.kind
    return None


def directory_kind(path: str, names: frozenset[str]) -> str | None:
    """The kind of container a local directory is (given its entries' names), or None."""

    def read_file(name: str, limit: int) -> bytes:
        with open(os.path.join(path, name), "rb") as f:
            return f.read(limit)

    return claimed_kind(names, read_file)


def claimed_kind(names: frozenset[str], read_file: ReadFile, remote: bool = False) -> str | None:
    """The kind of container a directory with these entries is (local or, with `remote`,
    behind a URL: formats that read only local directories do not claim it)."""
    for f in _DIRECTORIES:
        assert f.claims_directory is not None
        if (f.remote or not remote) and f.claims_directory(names, read_file):
            return f.kind
    return None


def directory_claim_names() -> frozenset[str] | None:
    """The names of which a directory must hold one to be claimed as a container (the union
    of the formats' `claim_names`), or None when some format may claim any directory."""
    names: set[str] = set()
    for f in _DIRECTORIES:
        if f.claim_names is None:
            return None
        names |= f.claim_names
    return frozenset(names)


def container_format(kind: str) -> ContainerFormat:
    return _BY_KIND[kind]
