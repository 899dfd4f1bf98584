"""A file batch's labels, worked out once per folder, are the rule's label of every path."""

from __future__ import annotations

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jpegaudit.scanner.units import _with_labels
from jpegaudit.sources.labels import DEFAULT_LABELS
from jpegaudit.store.arrow import ARROW_SCHEMA

PATHS = [
    "a/b/c.jpg", "a/b/d.jpg", "c.jpg", "/c.jpg", "a/x.jpg", "root/n01/x.jpg", "root/n01/y.jpg",
    "root/z.jpg", "root/n02/deep/q.jpg", "other/n9/w.jpg", "/abs/root/k/v.jpg", "root/n01/",
    "rooty/n03/p.jpg",
]  # fmt: skip


def table_of(paths: list[str]) -> pa.Table:
    columns = {n: pa.nulls(len(paths), ARROW_SCHEMA.field(n).type) for n in ARROW_SCHEMA.names}
    columns["path"] = pa.array(paths, pa.string())
    return pa.Table.from_pydict(columns, schema=ARROW_SCHEMA)


@pytest.mark.parametrize("root", ["a", "root", "c.jpg", "/", "/abs/root", "list.txt", "root/"])
def test_labels_per_folder_equal_the_rule_per_path(root):
    got = _with_labels(table_of(PATHS), root, DEFAULT_LABELS).column("label").to_pylist()
    assert got == [DEFAULT_LABELS.path_label(p, root) for p in PATHS]


def test_member_paths_take_the_per_path_rule():
    paths = ["s.tar::n01/x.jpg", "s.tar::y.jpg", "root/n01/z.jpg"]
    got = _with_labels(table_of(paths), "root", DEFAULT_LABELS).column("label").to_pylist()
    assert got == [DEFAULT_LABELS.path_label(p, "root") for p in paths] == ["n01", None, "n01"]


_PIECES = st.sampled_from(["a", "root", "n01", "/", "//", "x.jpg", "\n", "\u2028", ":", " ", ""])


@settings(max_examples=300, deadline=None)
@given(
    paths=st.lists(st.lists(_PIECES, max_size=6).map("".join), min_size=1, max_size=30),
    root=st.sampled_from(["a", "root", "/", "root/", "", "x.jpg"]),
)
def test_labels_per_folder_equal_the_rule_per_path_on_any_paths(paths, root):
    """Bare names, empty paths, paths ending in "/", doubled slashes, newlines: each path's
    label is the rule's, however the batch's paths share folders."""
    got = _with_labels(table_of(paths), root, DEFAULT_LABELS).column("label").to_pylist()
    assert got == [DEFAULT_LABELS.path_label(p, root) for p in paths]
