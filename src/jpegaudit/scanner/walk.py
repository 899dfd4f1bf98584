"""Turn the paths a user gives into entries to audit. Directories are walked (each real directory
once, so symlink loops end); everything else, including FIFOs, sockets, devices and broken
symlinks, is an entry that gets a row. Nothing is opened here."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from jpegaudit.sources.paths import display_path, normalize_root
from jpegaudit.store.files import METADATA_FILE

# A folder holding this file is a scan store, not data.
STORE_MARKER = METADATA_FILE


@dataclass(frozen=True)
class Entry:
    fs_path: str  # what to open (may carry surrogate escapes from undecodable names)
    path: str  # what the store shows: valid UTF-8, undecodable bytes as \\xNN
    error: str | None = None  # set for a directory that could not be listed
    regular: bool = False  # the listing (d_type) says regular file: no stat needed before open
    container: str | None = None  # a directory that is a container of this kind (MDS, LMDB)


# (directory path, its entries' names) -> the kind of container it is, or None.
ClaimsDirectory = Callable[[str, frozenset[str]], "str | None"]


def walk(root: str, claims: ClaimsDirectory | None = None) -> Iterator[Entry]:
    """Entries under `root` in a stable order (names sorted within each directory). A
    directory that `claims` names a container is one entry (`container` set), not walked."""
    root = normalize_root(os.fspath(root))
    try:
        is_dir = os.path.isdir(root)
    except OSError:
        is_dir = False
    if not is_dir:
        yield Entry(root, display_path(root))
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
            yield Entry(
                directory, display_path(directory), f"cannot list directory: {exc.strerror}"
            )
            continue
        if claims is not None:
            kind = claims(directory, frozenset(c.name for c in children))
            if kind is not None:
                yield Entry(directory, display_path(directory), container=kind)
                continue
        subdirs = []
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
                yield Entry(child.path, display_path(child.path), regular=regular)
        stack.extend(reversed(subdirs))
