"""Local paths as the store shows them, and the split a path gives by default."""

from __future__ import annotations

import os


def display_path(fs_path: str) -> str:
    """The path as the store shows it: valid UTF-8, undecodable bytes as \\xNN."""
    try:
        fs_path.encode("utf-8")
        return fs_path
    except UnicodeEncodeError:
        raw = os.fsencode(fs_path)
        return raw.decode("utf-8", "backslashreplace")


def normalize_root(root: str) -> str:
    stripped = root.rstrip("/")
    return stripped or "/"


def default_split(root: str) -> str:
    """`scan imagenet/train` gives split `train`; a file argument gives its folder's name."""
    root = normalize_root(root)
    if not os.path.isdir(root):
        root = os.path.dirname(root) or "."
    name = os.path.basename(os.path.abspath(root))
    return name or "root"
