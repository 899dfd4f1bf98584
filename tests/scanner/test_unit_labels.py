"""A file batch's labels, worked out once per folder by the compiled core, are the rule's label
of every path."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.units import FileBatch, UnitContext
from jpegaudit.sources.labels import DEFAULT_LABELS
from jpegaudit.sources.remote import FetchStats

PATHS = [
    "a/b/c.jpg", "a/b/d.jpg", "c.jpg", "/c.jpg", "a/x.jpg", "root/n01/x.jpg", "root/n01/y.jpg",
    "root/z.jpg", "root/n02/deep/q.jpg", "other/n9/w.jpg", "/abs/root/k/v.jpg", "root/n01/",
    "rooty/n03/p.jpg",
]  # fmt: skip


@pytest.mark.parametrize("root", ["a", "root", "c.jpg", "/", "/abs/root", "list.txt", "root/"])
def test_labels_per_folder_equal_the_rule_per_path(root):
    assert batch_labels(PATHS, root) == [DEFAULT_LABELS.path_label(p, root) for p in PATHS]


def test_member_paths_take_the_per_path_rule():
    paths = ["s.tar::n01/x.jpg", "s.tar::y.jpg", "root/n01/z.jpg"]
    got = batch_labels(paths, "root")
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
    assert batch_labels(paths, root) == [DEFAULT_LABELS.path_label(p, root) for p in paths]


# -- the compiled core asks for the label once per folder (audit_files' folder_label) -------------
def batch_labels(paths: list[str], root: str) -> list[str | None]:
    """A FileBatch's labels as the scan makes them: every path names nothing on disk, so each
    row is the reference core's, labelled by the compiled core when it runs."""
    batch = FileBatch(root=root, split="s", fs_paths=tuple(paths))
    context = UnitContext(ScanOptions(), datetime.now(timezone.utc), FetchStats())
    return batch.rows(context).table.column("label").to_pylist()


@pytest.mark.parametrize("root", ["a", "root", "/", "root/"])
def test_a_batchs_labels_are_the_rule_per_path_with_members_and_folders(root):
    """ "root/n01/a::b" shares its folder with "root/n01/u" but names a member: no label."""
    paths = ["s.tar::n01/x.jpg", "s.tar::y.jpg", "root/n01/z.jpg", "root/n01/", "root/n01/w",
             "root/n01::q/v", "root/n01/u", "root/n01/a::b", "a/b/c", "a/b/d", "c"]  # fmt: skip
    assert batch_labels(paths, root) == [DEFAULT_LABELS.path_label(p, root) for p in paths]


def test_clean_rows_take_their_class_folder(tmp_path):
    """The rows the compiled core writes itself (clean JPEGs) get the label too."""
    sink = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(sink, "JPEG", quality=80)
    jpeg_bytes = sink.getvalue()
    names = ["n01/a.jpg", "n01/b.jpg", "n02/c.jpg", "top.jpg", "n02/deep/d.jpg", "n01/e.jpg"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(jpeg_bytes)
    root = str(tmp_path)
    paths = [f"{root}/{n}" for n in names]
    batch = FileBatch(root=root, split="s", fs_paths=tuple(paths), regular=b"\x01" * len(paths))
    context = UnitContext(ScanOptions(), datetime.now(timezone.utc), FetchStats())
    table = batch.rows(context).table
    assert table.column("error").null_count == len(paths)  # every row clean
    assert table.column("label").to_pylist() == ["n01", "n01", "n02", None, "n02", "n01"]
