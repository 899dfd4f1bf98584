"""The torchjpeg backend against the header scan on files written by real encoders, and the
deep columns' integrity reports (libjpeg's warnings and errors)."""

from __future__ import annotations

import pytest
from deep_support import cjpeg, natural_image, pillow_jpeg, requires_torchjpeg
from oracles import REPO_ROOT

from jpegaudit.api import audit_file
from jpegaudit.deep.sizes import component_sizes_from_factors

pytestmark = requires_torchjpeg

COMPARED = (
    "width",
    "height",
    "components",
    "qtables",
    "qtables_hash",
    "quality_luma",
    "quality_chroma",
    "quality_exact",
    "subsampling",
    "encoder",
)


def write(tmp_path, data: bytes, name: str = "x.jpg"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["-quality", "75"],
        ["-quality", "90", "-sample", "1x1"],
        ["-quality", "80", "-sample", "2x1"],
        ["-quality", "80", "-sample", "4x1"],
        ["-quality", "80", "-sample", "1x2"],
        ["-quality", "90,40"],
        ["-quality", "10"],
        ["-quality", "85", "-progressive"],
        ["-quality", "85", "-arithmetic"],
        ["-quality", "85", "-restart", "1"],
        ["-quality", "70", "-grayscale"],
    ],
    ids=lambda a: " ".join(a),
)
def test_torchjpeg_row_agrees_with_the_header_scan(tmp_path, args):
    from jpegaudit.deep.backend import torchjpeg_row

    path = write(tmp_path, cjpeg(natural_image(size=100), *args))
    header = audit_file(path)
    row = torchjpeg_row(path)
    assert row["backend"] == "torchjpeg" and row["error"] is None
    assert {c: row[c] for c in COMPARED} == {c: header[c] for c in COMPARED}
    assert row["component_sizes"] == component_sizes_from_factors(
        header["width"], header["height"], header["sampling_factors"]
    )


def test_cmyk_reports_four_sizes_but_three_components_of_coefficients(tmp_path):
    # torchjpeg drops CMYK's K: its sizes are known, its coefficients are not returned.
    from jpegaudit.deep import torchjpeg_reader

    path = write(tmp_path, pillow_jpeg(natural_image(size=64).convert("CMYK"), 90))
    coefficients = torchjpeg_reader.read_coefficients(str(path))
    assert len(coefficients.sizes) == 4
    assert len(coefficients.components) == 3


def test_truncated_file_gives_libjpeg_premature_end_warning(tmp_path):
    from jpegaudit.deep.backend import deep_columns

    data = pillow_jpeg(natural_image(size=128), 90)
    columns = deep_columns(write(tmp_path, data[: len(data) // 2]), reader="torchjpeg")
    assert columns["deep_error"] is None
    assert columns["deep_warning"] == "Premature end of JPEG file"


def test_corrupt_entropy_data_gives_libjpeg_corrupt_data_warning(tmp_path):
    from jpegaudit.deep.backend import deep_columns

    data = bytearray(pillow_jpeg(natural_image(size=128), 90))
    middle = len(data) // 2
    data[middle : middle + 2] = b"\xff\xd3"  # an RST marker where none belongs
    columns = deep_columns(write(tmp_path, bytes(data)), reader="torchjpeg")
    assert columns["deep_warning"].startswith("Corrupt JPEG data")


def test_clean_file_has_no_warning_and_counts_blocks(tmp_path):
    from jpegaudit.deep.backend import deep_columns

    columns = deep_columns(
        write(tmp_path, pillow_jpeg(natural_image(size=64), 90)), reader="torchjpeg"
    )
    assert columns["deep_warning"] is None and columns["deep_error"] is None
    # 64x64 4:2:0: 64 luma blocks + 16 + 16 chroma blocks.
    assert columns["deep_blocks"] == 96
    assert columns["deep_reader"].startswith("torchjpeg ")


def test_undefined_table_is_a_libjpeg_error_and_nulls_libjpeg_columns(tmp_path):
    from jpegaudit.deep.backend import deep_columns, torchjpeg_row

    data = bytearray(pillow_jpeg(natural_image(size=32), 90))
    sof = data.index(b"\xff\xc0")
    data[sof + 10 + 3 * 2 + 2] = 3  # component 3 uses table slot 3, never defined
    path = write(tmp_path, bytes(data))
    row = torchjpeg_row(path)
    assert row["error"] is not None and row["qtables"] is None and row["width"] is None
    assert "table" in deep_columns(path, reader="torchjpeg")["deep_error"].lower()


def test_deep_row_columns_match_deep_columns(tmp_path):
    from jpegaudit.deep.backend import deep_columns, torchjpeg_row
    from jpegaudit.deep.columns import DEEP_COLUMN_NAMES

    path = write(tmp_path, pillow_jpeg(natural_image(size=96), 80))
    row = torchjpeg_row(path, deep=True)
    assert {c: row[c] for c in DEEP_COLUMN_NAMES} == deep_columns(path, reader="torchjpeg")


def test_quality_96_once_q30_has_less_high_frequency_energy(tmp_path):
    # What deep mode finds that headers cannot: both files claim q96.
    from deep_support import decode

    from jpegaudit.deep.backend import deep_columns

    image = natural_image(seed=2, size=128)
    honest = deep_columns(write(tmp_path, pillow_jpeg(image, 96), "a.jpg"), reader="torchjpeg")
    laundered = deep_columns(
        write(tmp_path, pillow_jpeg(decode(pillow_jpeg(image, 30)), 96)), reader="torchjpeg"
    )
    assert laundered["deep_hf_energy_luma"] < honest["deep_hf_energy_luma"] / 4
    assert laundered["deep_zero_ac_luma"] > honest["deep_zero_ac_luma"]


def test_apply_torchjpeg_keeps_the_engine_s_identity_columns(tmp_path):
    from jpegaudit.audit import Origin
    from jpegaudit.deep.backend import apply_torchjpeg
    from jpegaudit.sources.local import audit_local_file

    path = write(tmp_path, pillow_jpeg(natural_image(size=64), 85))
    row = audit_local_file(str(path), "data/x.jpg", Origin("train", "data", None))
    out = apply_torchjpeg(row, str(path), deep=True)
    assert (out["path"], out["split"], out["root"]) == ("data/x.jpg", "train", "data")
    assert out["backend"] == "torchjpeg" and out["component_sizes"] == "64x64,32x32,32x32"
    assert out["deep_blocks"] == 96


def test_cb_and_cr_with_different_factors_are_not_given_to_torchjpeg(tmp_path):
    from jpegaudit.deep.backend import torchjpeg_row

    path = write(tmp_path, cjpeg(natural_image(size=64), "-sample", "2x2,1x1,1x2"))
    row = torchjpeg_row(path, deep=True)
    assert row["error"].startswith("torchjpeg: not read: components 1 and 2")
    assert row["qtables"] is None and row["deep_blocks"] is None


def test_crosscheck_script_on_generated_files(tmp_path):
    import subprocess
    import sys

    from PIL import Image

    image = natural_image(size=80)
    for i, args in enumerate(
        [
            ["-quality", "90"],
            ["-sample", "1x1", "-quality", "60"],
            ["-progressive"],
            ["-quality", "12"],
        ]
    ):
        write(tmp_path, cjpeg(image, *args), f"{i}.jpg")
    write(tmp_path, cjpeg(image, "-sample", "2x2,1x1,1x2"), "odd.jpg")
    whole = pillow_jpeg(image, 80)
    write(tmp_path, whole[: len(whole) // 2], "cut.jpg")
    image.save(tmp_path / "png.jpg", "PNG")
    Image.new("L", (3, 2)).save(tmp_path / "tiny.jpg", quality=90)
    script = REPO_ROOT / "scripts" / "crosscheck_torchjpeg.py"
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "disagreements on files libjpeg reads: 0" in done.stdout
    assert "odd.jpg: not read: components 1 and 2" in done.stdout
    assert "8 files: 6 read by libjpeg" in done.stdout
