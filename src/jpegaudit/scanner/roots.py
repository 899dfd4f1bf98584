"""The arguments of a scan as roots: local folders and files, URL prefixes and objects, list
files; each with the split its rows get. Checked before anything is read."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

from jpegaudit.scanner.result import ScanError
from jpegaudit.sources.paths import default_split, normalize_root
from jpegaudit.sources.remote import is_url

RootKind = Literal["local", "url", "list"]


@dataclass(frozen=True)
class Root:
    arg: str  # as given, normalised (no trailing slash): the rows' `root`
    kind: RootKind
    split: str | None  # None: decided when the root is listed (URLs)
    location: str = ""  # a URL exactly as given (over HTTP, `dir/` and `dir` differ)


def resolve_roots(paths: Sequence[str], from_list: Sequence[str], split: str | None) -> list[Root]:
    """Roots for the paths and list files of one scan; raises ScanError when there is nothing
    to scan, a list file is missing, or two roots overlap."""
    if not paths and not from_list:
        raise ScanError("nothing to scan: give at least one path or --from-list")
    roots: list[Root] = []
    for arg in paths:
        if is_url(arg):
            roots.append(Root(arg.rstrip("/") or arg, "url", split, arg))
        else:
            local = normalize_root(arg)
            roots.append(Root(local, "local", split or default_split(local)))
    for p in from_list:
        list_path = normalize_root(p)
        if not os.path.isfile(list_path):
            raise ScanError(f"list file {list_path!r} does not exist")
        roots.append(Root(list_path, "list", split or list_split(list_path)))
    check_roots(roots)
    return roots


def check_roots(roots: Sequence[Root]) -> None:
    """Folders and URL prefixes may not overlap: a file would get a row from each."""
    keyed = []
    for root in roots:
        if root.kind == "local":
            keyed.append((root.arg, os.path.realpath(root.arg)))
        elif root.kind == "url":
            keyed.append((root.arg, root.arg))
    for i, (given_a, a) in enumerate(keyed):
        for j, (given_b, b) in enumerate(keyed):
            if i != j and (a == b or b.startswith(a.rstrip("/") + "/")):
                raise ScanError(f"paths overlap: {given_b!r} is inside {given_a!r}")


def url_split(url: str, is_dir: bool) -> str:
    """`s3://bucket/imagenet/train` (a prefix) gives `train`; an object gives its prefix's
    last component, as a local file gives its folder's name."""
    path = url.split("://", 1)[1].rstrip("/")
    parts = [p for p in path.split("/") if p]
    if not is_dir:
        parts = parts[:-1]
    return parts[-1] if parts else "root"


def read_list_file(list_path: str) -> Iterator[tuple[str, int | None, int | None]]:
    """Lines of `--from-list`: `PATH_OR_URL[<TAB>SIZE[<TAB>MTIME_NS]]`; blank lines and lines
    starting with `#` are skipped. A line whose second field is not a number is all path."""
    with open(list_path, encoding="utf-8", errors="surrogateescape") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            size = mtime = None
            if len(fields) > 1:
                try:
                    size = int(fields[1])
                    mtime = int(fields[2]) if len(fields) > 2 and fields[2] else None
                except ValueError:
                    fields, size, mtime = [line], None, None
            yield fields[0], size, mtime


_LIST_SUFFIXES = (".txt", ".tsv", ".lst", ".list", ".csv")


def list_split(list_path: str) -> str:
    """`--from-list train.txt` gives split `train`."""
    name = os.path.basename(list_path)
    for suffix in _LIST_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)] or "root"
    return name or "root"
