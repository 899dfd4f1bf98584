"""Every container format the scan opens, in one list. A new format is a module that declares
a `ContainerFormat` (see sources/container.py) and one line here."""

from __future__ import annotations

from jpegaudit.sources import tar, zipfile
from jpegaudit.sources.container import ContainerFormat

CONTAINER_FORMATS: tuple[ContainerFormat, ...] = (tar.FORMAT, zipfile.FORMAT)

_BY_KIND = {f.kind: f for f in CONTAINER_FORMATS}
_BY_SUFFIX = {suffix: f.kind for f in CONTAINER_FORMATS for suffix in f.suffixes}


def container_kind(path: str) -> str | None:
    """The kind of container a file is by its name (`tar`, `zip`), or None for a plain file."""
    lowered = path.lower()
    for suffix, kind in _BY_SUFFIX.items():
        if lowered.endswith(suffix):
            return kind
    return None


def container_format(kind: str) -> ContainerFormat:
    return _BY_KIND[kind]
