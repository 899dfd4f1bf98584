"""Turn the paths a user gives into entries to audit. Directories are walked (each real directory
once, so symlink loops end); everything else, including FIFOs, sockets, devices and broken
symlinks, is an entry that gets a row. Nothing is opened here.

Two ways to walk give the same entries in the same order: `walk` (one `Entry` per entry) and
`listings` (a folder at a time, as columns, compared with the store's index on the way: only the
entries that must be read come out). `listings` runs the compiled walker (`jpegaudit._cwalk`,
readdir and fstatat in C) when it is built, else `PyWalker`, its pure-Python twin."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from jpegaudit.sources.compiled import CORE_ENV
from jpegaudit.sources.paths import display_path, normalize_root
from jpegaudit.store.files import METADATA_FILE

try:
    from jpegaudit._cwalk import Walker as CompiledWalker
except ImportError:  # not built: PyWalker does the same
    CompiledWalker = None  # type: ignore[assignment,misc]

# A folder holding this file is a scan store, not data.
STORE_MARKER = METADATA_FILE

# A listed entry's status.
NEW = 0  # the store has no row for it
REPLACES = 1  # the store has a row for it that must be read again
ASK = 2  # the planner decides: a possible container, a claimed folder, a label to work out

# What a listing's `label_code(directory)` may answer besides a label's code (store.index).
LABEL_PER_ENTRY = -1  # the label rule depends on more than the folder: ask for each entry
LABEL_NOT_STORED = -2  # no stored row has the folder's label: none is unchanged


@dataclass(frozen=True)
class Entry:
    fs_path: str  # what to open (may carry surrogate escapes from undecodable names)
    path: str  # what the store shows: valid UTF-8, undecodable bytes as \\xNN
    error: str | None = None  # set for a directory that could not be listed
    regular: bool = False  # the listing (d_type) says regular file: no stat needed before open
    container: str | None = None  # a directory that is a container of this kind (MDS, LMDB)


# (directory path, its entries' names) -> the kind of container it is, or None.
ClaimsDirectory = Callable[[str, frozenset[str]], "str | None"]


class Listing(NamedTuple):
    """Consecutive entries of one folder (or one unlistable folder, one claimed folder, or a
    root that is not a folder) that must be read, as columns."""

    fs_paths: list[str]
    paths: list[str] | None  # as the store shows them, when any differs from fs_paths
    regular: bytes  # one byte per entry: 1 when the listing said "regular file"
    status: bytes  # one byte per entry: NEW, REPLACES or ASK
    error: str | None  # the one entry is a folder that could not be listed
    container: str | None = None  # the one entry is a folder claimed as a container of this kind


class Probe(NamedTuple):
    """What the walkers compare each entry with, and what they hand to the planner (built by
    the planner from the store index and the scan's options)."""

    table: object | None  # path -> row (store.index PathTable or PathDict); None: empty store
    sizes: object  # int64 per row (numpy)
    mtimes: object  # int64 per row
    eligible: object  # uint8 per row: 1 when an unchanged size and mtime (and label) mean skip
    seen: bytearray  # set to 1 for every stored row the walk meets
    suffixes: tuple[str, ...] = ()  # container suffixes (empty: containers not looked for)
    sniff: bool = False  # names without an extension may be containers (looked at by content)
    labels: object = None  # label code per row (numpy)
    label_code: Callable[[str], int] | None = None  # folder (as shown) -> its entries' label
    claims: ClaimsDirectory | None = None  # which folders are containers
    claim_names: frozenset[str] | None = None  # claims can say yes only with one of these


NO_PROBE = Probe(None, None, None, None, bytearray())


def walk(root: str, claims: ClaimsDirectory | None = None) -> Iterator[Entry]:
    """Entries under `root` in a stable order (names sorted within each directory). A
    directory that `claims` names a container is one entry (`container` set), not walked."""
    for group in _entry_groups(root, claims):
        yield from group


def _entry_groups(root: str, claims: ClaimsDirectory | None = None) -> Iterator[list[Entry]]:
    """walk's entries, a folder's own entries at a time (an unlistable or claimed folder
    alone)."""
    root = normalize_root(os.fspath(root))
    try:
        is_dir = os.path.isdir(root)
    except OSError:
        is_dir = False
    if not is_dir:
        yield [Entry(root, display_path(root))]
        return
    visited: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
            key = (st.st_dev, st.st_ino)
            if key in visited:
                continue  # a symlink back to a directory already walked
            visited.add(key)
            with os.scandir(directory) as it:
                children = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            yield [
                Entry(directory, display_path(directory), f"cannot list directory: {exc.strerror}")
            ]
            continue
        if claims is not None:
            kind = claims(directory, frozenset(c.name for c in children))
            if kind is not None:
                yield [Entry(directory, display_path(directory), container=kind)]
                continue
        subdirs = []
        group = []
        for child in children:
            try:
                child_is_dir = child.is_dir(follow_symlinks=True)
            except OSError:
                child_is_dir = False
            if child_is_dir:
                if not os.path.exists(os.path.join(child.path, STORE_MARKER)):
                    subdirs.append(child.path)  # a scan store inside the data is not data
            else:
                try:
                    regular = child.is_file(follow_symlinks=False)
                except OSError:
                    regular = False
                group.append(Entry(child.path, display_path(child.path), regular=regular))
        if group:
            yield group
        stack.extend(reversed(subdirs))


def asks_planner(fs_path: str, suffixes: tuple[str, ...], sniff: bool) -> bool:
    """The walkers' quick filter for entries the planner must look at itself (the compiled
    walker applies the same rule to the bytes): every name `sources.registry.container_kind`
    or `worth_sniffing` accepts passes, and a name holding `::` (a member path's separator, which
    the label rule reads as one). Non-ASCII characters among the last few (the longest
    suffix's length) pass, since `str.lower` maps two of them to ASCII (U+0130, U+212A), as
    does any name that is not plain ASCII when names are sniffed."""
    name = fs_path.rsplit("/", 1)[-1]
    if "::" in name:
        return True
    if suffixes:
        span = max(len(s) for s in suffixes)
        if not fs_path[-span:].isascii() or fs_path.lower().endswith(suffixes):
            return True
    if sniff:
        if not name.isascii() or "\\" in name:
            return True
        stem, dot, ext = name.rpartition(".")
        ext = ext.lower() if dot and stem else ""
        return ext == "" or "-of-" in ext or ext.startswith("tfrec")
    return False


class Walker(Protocol):
    """What `listings` returns: the compiled walker or PyWalker."""

    unchanged: int  # entries left out because they match their stored row

    def __iter__(self) -> Iterator[Listing]: ...

    def __next__(self) -> Listing: ...


def listings(root: str, probe: Probe = NO_PROBE, compiled: bool | None = None) -> Walker:
    """The entries under `root` that must be read, a folder at a time (see `Listing`), in
    `walk`'s order. `compiled`: None picks the compiled walker when it is built, not switched
    off as the compiled core is (`JPEGAUDIT_CORE=python`), and can take the root (a name
    Python cannot encode, or a NUL byte, goes to PyWalker)."""
    root = normalize_root(os.fspath(root))
    if compiled is None:
        python_only = os.environ.get(CORE_ENV, "").strip().lower() == "python"
        compiled = CompiledWalker is not None and not python_only and _compilable(root)
    if compiled:
        return CompiledWalker(root, probe, STORE_MARKER, display_path, Listing)
    return PyWalker(root, probe)


def _compilable(root: str) -> bool:
    if (sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()) != (
        "utf-8",
        "surrogateescape",
    ):
        return False
    try:
        return b"\0" not in os.fsencode(root)
    except UnicodeEncodeError:
        return False


class PyWalker:
    """The compiled walker's twin (jpegaudit._cwalk.Walker): the same listings, `unchanged`
    count and `seen` marks, from `os.scandir` and `os.stat`."""

    def __init__(self, root: str, probe: Probe = NO_PROBE) -> None:
        self.probe = probe
        self.unchanged = 0
        self._root = normalize_root(os.fspath(root))
        self._groups = _entry_groups(root, _with_hint(probe))

    def __iter__(self) -> PyWalker:
        return self

    def __next__(self) -> Listing:
        for group in self._groups:
            listing = self._listing(group)
            if listing is not None:
                return listing
        raise StopIteration

    def _listing(self, group: list[Entry]) -> Listing | None:
        probe = self.probe
        first = group[0]
        if first.container is not None or (first.error is None and first.fs_path == self._root):
            # A claimed folder, or a root that is not a folder: the planner's alone.
            paths = None if first.path == first.fs_path else [first.path]
            return Listing([first.fs_path], paths, b"\0", bytes([ASK]), None, first.container)
        with_labels = probe.table is not None and probe.label_code is not None
        label = 0
        if with_labels and first.error is None:
            label = probe.label_code(os.path.dirname(first.path))
        fs_paths: list[str] = []
        paths: list[str] = []
        regular = bytearray()
        status = bytearray()
        for entry in group:
            if entry.error is None and asks_planner(entry.fs_path, probe.suffixes, probe.sniff):
                code = ASK
            elif probe.table is None:
                code = NEW
            else:
                row = probe.table.find(entry.path)
                code = NEW
                if row >= 0 and with_labels and label == LABEL_PER_ENTRY:
                    code = ASK
                elif row >= 0:
                    probe.seen[row] = 1
                    if (
                        entry.error is None
                        and (not with_labels or (label >= 0 and probe.labels[row] == label))
                        and probe.eligible[row]
                        and same_file(entry.fs_path, probe.sizes[row], probe.mtimes[row])
                    ):
                        self.unchanged += 1
                        continue
                    code = REPLACES
            fs_paths.append(entry.fs_path)
            paths.append(entry.path)
            regular.append(entry.regular)
            status.append(code)
        if not fs_paths:
            return None
        return Listing(
            fs_paths,
            None if paths == fs_paths else paths,
            bytes(regular),
            bytes(status),
            first.error,
        )


def _with_hint(probe: Probe) -> ClaimsDirectory | None:
    """probe.claims, asked only about folders holding one of probe.claim_names (as the
    compiled walker does; the answers are the same, by claim_names' contract)."""
    claims, names = probe.claims, probe.claim_names
    if claims is None or names is None:
        return claims

    def hinted(directory: str, children: frozenset[str]) -> str | None:
        return claims(directory, children) if not names.isdisjoint(children) else None

    return hinted


def same_file(fs_path: str, size: int, mtime_ns: int) -> bool:
    """os.stat says `fs_path` has this size and mtime (following symlinks, as a read would)."""
    try:
        st = os.stat(fs_path)
    except OSError:
        return False
    return st.st_size == size and st.st_mtime_ns == mtime_ns
