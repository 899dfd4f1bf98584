"""`scan --deep` and `--backend torchjpeg` through the scan engine and the CLI."""

from __future__ import annotations

import io
import os

import pytest
from click.testing import CliRunner
from PIL import Image

from jpegaudit.api import ScanError, read_store, scan
from jpegaudit.cli import main


def _libjpeg_turbo_available() -> bool:
    from jpegaudit.deep import libjpeg_reader

    return libjpeg_reader.available()


needs_turbojpeg = pytest.mark.skipif(
    not _libjpeg_turbo_available() and os.environ.get("JPEGAUDIT_REQUIRE_ORACLES") != "1",
    reason="libturbojpeg is not installed",
)


@pytest.fixture
def photos(tmp_path):
    import numpy as np

    root = tmp_path / "val"
    root.mkdir()
    rng = np.random.default_rng(3)
    pixels = (rng.random((48, 64, 3)) * 255).astype("uint8")
    for q in (40, 90):
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "JPEG", quality=q)
        (root / f"q{q}.jpg").write_bytes(out.getvalue())
    (root / "note.txt").write_text("not an image")
    return root


@needs_turbojpeg
def test_deep_scan_fills_coefficient_columns_for_jpegs_only(photos, tmp_path):
    scan(photos, tmp_path / "store", jobs=1, deep=True)
    df = read_store(tmp_path / "store").set_index("path")
    jpeg = df.loc[str(photos / "q40.jpg")]
    assert jpeg["deep_reader"].startswith("libjpeg-turbo")
    assert jpeg["deep_blocks"] == 6 * 8 + 2 * (3 * 4)  # 4:2:0, 64x48: 48 luma + 2 x 12 chroma
    assert 0.0 <= jpeg["deep_zero_ac_luma"] <= 1.0
    assert bool(jpeg["double_compressed"]) is False
    text = df.loc[str(photos / "note.txt")]
    assert text["backend"] == "header" and text.isna()["deep_reader"]


@needs_turbojpeg
def test_asking_for_deep_rereads_rows_scanned_without_it(photos, tmp_path):
    scan(photos, tmp_path / "store", jobs=1)
    again = scan(photos, tmp_path / "store", jobs=1, deep=True)
    assert (again.scanned, again.unchanged) == (2, 1)  # the text file needs no deep read
    assert scan(photos, tmp_path / "store", jobs=1, deep=True).unchanged == 3


@needs_turbojpeg
def test_cli_deep_option(photos, tmp_path):
    store = tmp_path / "store"
    result = CliRunner().invoke(main, ["scan", str(photos), "--store", str(store), "--deep"])
    assert result.exit_code == 0, result.output
    assert read_store(store)["deep_blocks"].notna().sum() == 2


def test_unknown_deep_reader_is_a_scan_error(photos, tmp_path):
    with pytest.raises(ScanError, match="unknown deep reader"):
        scan(photos, tmp_path / "store", deep=True, deep_reader="nope")


def test_header_rows_say_their_backend(photos, tmp_path):
    scan(photos, tmp_path / "store", jobs=1)
    assert set(read_store(tmp_path / "store")["backend"]) == {"header"}


def test_torchjpeg_backend_scan_matches_the_header_scan(photos, tmp_path):
    from jpegaudit.deep import torchjpeg_reader

    if not torchjpeg_reader.installed():
        if os.environ.get("JPEGAUDIT_REQUIRE_TORCHJPEG") == "1":
            pytest.fail("torchjpeg is required here (JPEGAUDIT_REQUIRE_TORCHJPEG=1)")
        with pytest.raises(ScanError, match="own environment"):
            scan(photos, tmp_path / "store", backend="torchjpeg")
        return
    scan(photos, tmp_path / "header", jobs=1)
    scan(photos, tmp_path / "torch", jobs=1, backend="torchjpeg", deep=True)
    header = read_store(tmp_path / "header").set_index("path")
    torch = read_store(tmp_path / "torch").set_index("path")
    assert set(torch["backend"]) == {"torchjpeg"}
    for name in ("q40.jpg", "q90.jpg"):
        path = str(photos / name)
        for column in ("width", "height", "quality_luma", "quality_chroma", "qtables_hash"):
            assert torch.loc[path, column] == header.loc[path, column], column
        assert torch.loc[path, "component_sizes"] == "64x48,32x24,32x24"
        assert torch.loc[path, "deep_reader"].startswith("torchjpeg")
