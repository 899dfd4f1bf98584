"""The `label` column: which class a row belongs to (docs/store-schema.md, `label`).

By default a row's label is what its container records for the entry (a Parquet label column, a
TFRecord's `image/class/*`, a WebDataset sample's `.cls`), else its class folder: the first
folder below the scanned folder (`imagenet/train/n02105855/x.JPEG` under `imagenet/train`
gives `n02105855`), or for a container entry the first folder of its name inside the container.
`--label-from` replaces all of that with a rule of the user's: a regular expression searched in
the path, or a mapping file (CSV, TSV, JSON, or ImageNet's `val.txt` form).

Labels are text: class names, or label ids written as decimal numbers."""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from jpegaudit.sources.container import MEMBER_SEPARATOR

# Mapping files by name ending; anything else given to --label-from is a regular expression.
MAPPING_SUFFIXES = (".csv", ".tsv", ".json", ".txt")
_REGEX_SYNTAX = re.compile(r"[][()*+?^$|\\{}]")
# A label longer than this is cut: the column is for class names, not captions.
MAX_LABEL_CHARS = 200


class LabelRuleError(ValueError):
    """A `--label-from` that cannot be used (a bad regular expression, a missing file)."""


def label_text(value: object) -> str | None:
    """A label value as the column's text: str as is, integers in decimal, bytes decoded."""
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "backslashreplace")
    elif isinstance(value, bool):
        value = str(int(value))
    elif isinstance(value, float) and value.is_integer():
        value = str(int(value))
    text = str(value).strip()
    return text[:MAX_LABEL_CHARS] if text else None


def class_folder(path: str, root: str) -> str | None:
    """The default label from the path alone: the first folder below the scanned folder, or for
    a container entry (`shard.tar::n01/x.jpg`) the first folder of the entry's name. A file
    given on its own (or named in a list) gets its folder's name; a file directly in the
    scanned folder, or an entry at a container's top level, gets none."""
    _, sep, inner = path.partition(MEMBER_SEPARATOR)
    if sep:
        rel = inner
    else:
        prefix = root.rstrip("/") + "/"
        if path.startswith(prefix):
            rel = path[len(prefix) :]
        else:
            # At most MAX_LABEL_CHARS, as every label (docs/store-schema.md).
            return os.path.basename(os.path.dirname(path))[:MAX_LABEL_CHARS] or None
    first, slash, rest = rel.partition("/")
    return first[:MAX_LABEL_CHARS] if slash and first and rest else None


@dataclass(frozen=True)
class LabelRule:
    """`source`: None (containers' labels, then the class folder), a regular expression, or a
    mapping file's path. Picklable; the mapping is loaded once per process."""

    source: str | None = None

    def __post_init__(self) -> None:
        if self.source is None:
            return
        if self.is_mapping:
            if not os.path.isfile(self.source):
                raise LabelRuleError(f"label mapping file {self.source!r} does not exist")
            _load_mapping(*_file_key(self.source))
            return
        try:
            re.compile(self.source)
        except re.error as exc:
            raise LabelRuleError(
                f"--label-from {self.source!r}: bad regular expression: {exc}"
            ) from None

    @property
    def is_mapping(self) -> bool:
        """A file that exists, or a name ending like one and free of regular-expression
        syntax (so that a mistyped file name is an error, not a pattern that never matches)."""
        source = self.source
        if source is None:
            return False
        if os.path.isfile(source):
            return True
        return source.lower().endswith(MAPPING_SUFFIXES) and not _REGEX_SYNTAX.search(source)

    @property
    def explicit(self) -> bool:
        return self.source is not None

    def key(self) -> str:
        """What identifies the rule's results: part of a container unit's digest, so that a
        changed rule (or a changed mapping file) re-reads containers."""
        if self.source is None:
            return "label:default"
        if self.is_mapping:
            path, size, mtime = _file_key(self.source)
            return f"label:map:{path}:{size}:{mtime}"
        return f"label:re:{self.source}"

    def path_label(self, path: str, root: str) -> str | None:
        """The label of a row that has no container label (or any row, for an explicit
        rule)."""
        if self.source is None:
            return class_folder(path, root)
        if self.is_mapping:
            return _mapping_label(_load_mapping(*_file_key(self.source)), path, root)
        match = _compiled(self.source).search(path)
        if match is None:
            return None
        if "label" in match.re.groupindex:
            return label_text(match.group("label"))
        return label_text(match.group(1) if match.re.groups else match.group(0))

    def apply(self, row: dict) -> dict:
        """Set `row["label"]`: the rule's, when one is given; else the container's label if it
        set one, else the class folder."""
        if self.source is not None or row.get("label") is None:
            row["label"] = self.path_label(row["path"], row["root"])
        return row


DEFAULT_LABELS = LabelRule()


@lru_cache(maxsize=16)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern)


def _file_key(path: str) -> tuple[str, int, int]:
    st = os.stat(path)
    return os.path.abspath(path), st.st_size, st.st_mtime_ns


@lru_cache(maxsize=4)
def _load_mapping(path: str, size: int, mtime_ns: int) -> dict[str, str]:
    """key -> label. `.json`: an object; `.csv`/`.tsv`: a header row, then key and label in
    the first two columns; `.txt`: `KEY LABEL` lines (ImageNet's val.txt), no header."""
    lowered = path.lower()
    try:
        with open(path, encoding="utf-8", newline="") as f:
            if lowered.endswith(".json"):
                doc = json.load(f)
                if not isinstance(doc, dict):
                    raise LabelRuleError(f"label mapping {path}: expected a JSON object")
                pairs: Iterable[Sequence] = [list(item) for item in doc.items()]
            elif lowered.endswith(".txt"):
                pairs = (line.split(None, 1) for line in f if line.strip())
            else:
                reader = csv.reader(f, delimiter="\t" if lowered.endswith(".tsv") else ",")
                next(reader, None)  # the header
                pairs = (row for row in reader if row)
            mapping: dict[str, str] = {}
            for pair in pairs:
                key, value = (pair[0], pair[1]) if len(pair) > 1 else (pair[0], None)
                text = label_text(value)
                if text is not None:
                    mapping[str(key).strip()] = text
            return mapping
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        if isinstance(exc, LabelRuleError):
            raise
        raise LabelRuleError(f"label mapping {path}: {exc}") from exc


def _mapping_label(mapping: dict[str, str], path: str, root: str) -> str | None:
    """Keys tried in order: the path, the path below the scanned folder (a container entry's
    name inside the container), the file name, the file name without its extension."""
    _, sep, inner = path.partition(MEMBER_SEPARATOR)
    prefix = root.rstrip("/") + "/"
    relative = inner if sep else (path[len(prefix) :] if path.startswith(prefix) else path)
    name = relative.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0]
    for key in (path, relative, name, stem):
        label = mapping.get(key)
        if label is not None:
            return label
    return None
