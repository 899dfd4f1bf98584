"""Backend logic that needs no reader: which files torchjpeg must not be given, how tables are
listed, and deep columns for entries that are not JPEG files."""

from __future__ import annotations

import os

import pytest

from jpegaudit.deep.backend import deep_columns, distinct_tables
from jpegaudit.deep.columns import DEEP_COLUMN_NAMES
from jpegaudit.deep.torchjpeg_reader import check_readable

GOOD = {
    "entry_type": "file",
    "format": "jpeg",
    "components": 3,
    "width": 500,
    "height": 375,
    "chroma_factors_differ": False,
}


def test_ordinary_jpeg_is_readable():
    assert check_readable(GOOD) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"components": 2}, "2 components"),
        ({"components": 5}, "5 components"),
        ({"chroma_factors_differ": True}, "different sampling factors"),
        ({"width": 60000, "height": 60000}, "deep-read cap"),
        ({"format": "png"}, "not a JPEG"),
        ({"entry_type": "fifo"}, "not a regular file"),
        ({"components": None, "width": None}, "no frame header"),
    ],
)
def test_files_torchjpeg_would_mishandle_are_refused(change, reason):
    assert reason in check_readable({**GOOD, **change})


def test_cmyk_is_readable_though_k_is_dropped():
    assert check_readable({**GOOD, "components": 4}) is None


LUMA, CHROMA = (2,) * 64, (3,) * 64


def test_cb_and_cr_with_equal_tables_in_two_slots_are_one_table():
    assert distinct_tables([LUMA, CHROMA, CHROMA], [0, 1, 2]) == [LUMA, CHROMA]


def test_chroma_slot_holding_the_luma_values_still_counts():
    assert distinct_tables([LUMA, LUMA, LUMA], [0, 1, 1]) == [LUMA, LUMA]


def test_components_sharing_the_luma_slot_add_nothing():
    assert distinct_tables([LUMA, LUMA, LUMA], [0, 0, 0]) == [LUMA]


def test_without_slots_equal_values_merge():
    assert distinct_tables([LUMA, LUMA, CHROMA], None) == [LUMA, CHROMA]


def test_deep_columns_of_a_png_are_null(tmp_path):
    from PIL import Image

    path = tmp_path / "x.jpg"
    Image.new("RGB", (8, 8)).save(path, "PNG")
    columns = deep_columns(path)
    assert set(columns) == set(DEEP_COLUMN_NAMES)
    assert all(v is None for v in columns.values())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_deep_columns_never_open_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert all(v is None for v in deep_columns(fifo).values())


def test_installed_check_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys; from jpegaudit.deep import torchjpeg_reader; torchjpeg_reader.installed(); "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
