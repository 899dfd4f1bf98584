"""The libjpeg-turbo coefficient reader (TurboJPEG by ctypes, main environment): what it reads,
what it refuses, libjpeg's warnings, and agreement with torchjpeg's libjpeg where both load."""

from __future__ import annotations

import numpy as np
import pytest
from deep_support import (
    TORCHJPEG,
    cjpeg,
    natural_image,
    pillow_jpeg,
    requires_libjpeg_turbo,
)
from oracles import CORPORA_DIR
from PIL import Image

from jpegaudit.deep import libjpeg_reader
from jpegaudit.deep.backend import deep_columns
from jpegaudit.deep.coefficients import CoefficientReadError

pytestmark = requires_libjpeg_turbo
CORPORA = CORPORA_DIR


def write(tmp_path, data: bytes, name: str = "x.jpg"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_block_counts_follow_the_sampling_factors(tmp_path):
    # 100x60 at 4:2:0: luma 13x8 blocks, chroma ceil(50/8) x ceil(30/8) = 7x4.
    path = write(tmp_path, pillow_jpeg(natural_image(size=128).crop((0, 0, 100, 60)), 85))
    coefficients = libjpeg_reader.read_coefficients(str(path))
    assert [c.blocks.shape[:2] for c in coefficients.components] == [(8, 13), (4, 7), (4, 7)]
    assert coefficients.sizes == ((100, 60), (50, 30), (50, 30))


def test_tables_are_the_ones_pillow_wrote(tmp_path):
    image = natural_image(size=64)
    path = write(tmp_path, pillow_jpeg(image, 77))
    with Image.open(path) as im:
        expected = [tuple(im.quantization[i]) for i in (0, 1, 1)]
    coefficients = libjpeg_reader.read_coefficients(str(path))
    assert [c.qtable for c in coefficients.components] == expected


def test_dc_of_a_flat_grey_image_is_zero_after_level_shift(tmp_path):
    # 128 grey: after the level shift every DC is 0, every AC 0.
    path = write(tmp_path, pillow_jpeg(Image.new("L", (32, 32), 128), 90))
    (luma,) = libjpeg_reader.read_coefficients(str(path)).components
    assert not luma.blocks.any()


def test_cmyk_k_channel_is_read(tmp_path):
    path = write(tmp_path, pillow_jpeg(natural_image(size=64).convert("CMYK"), 90))
    coefficients = libjpeg_reader.read_coefficients(str(path))
    assert len(coefficients.components) == 4


def test_4_1_1_is_read(tmp_path):
    path = write(tmp_path, cjpeg(natural_image(size=64), "-sample", "4x1"))
    coefficients = libjpeg_reader.read_coefficients(str(path))
    assert [c.blocks.shape[:2] for c in coefficients.components] == [(8, 8), (8, 2), (8, 2)]


@pytest.mark.skipif(not (CORPORA / "mozjpeg").is_dir(), reason="../shared/corpora absent")
def test_12_bit_is_refused_by_libjpeg_turbo_2():
    # libjpeg-turbo 2.x is built for 8-bit samples; torchjpeg's libjpeg 9 reads these.
    with pytest.raises(CoefficientReadError, match="precision 12"):
        libjpeg_reader.read_coefficients(str(CORPORA / "mozjpeg" / "testorig12.jpg"))


def test_truncated_file_gives_premature_end_warning(tmp_path):
    data = pillow_jpeg(natural_image(size=128), 90)
    columns = deep_columns(write(tmp_path, data[: len(data) // 2]), reader="libjpeg-turbo")
    assert columns["deep_error"] is None
    assert columns["deep_warning"] == "Premature end of JPEG file"


def test_corrupt_entropy_data_gives_corrupt_data_warning(tmp_path):
    data = bytearray(pillow_jpeg(natural_image(size=128), 90))
    middle = len(data) // 2
    data[middle : middle + 2] = b"\xff\xd3"
    columns = deep_columns(write(tmp_path, bytes(data)), reader="libjpeg-turbo")
    assert columns["deep_warning"].startswith("Corrupt JPEG data")


def test_undefined_table_is_an_error_not_a_crash(tmp_path):
    data = bytearray(pillow_jpeg(natural_image(size=32), 90))
    sof = data.index(b"\xff\xc0")
    data[sof + 18] = 3  # component 3 uses table slot 3, never defined
    with pytest.raises(CoefficientReadError):
        libjpeg_reader.read_coefficients(str(write(tmp_path, bytes(data))))


def test_garbage_after_the_header_is_an_error_or_warning_never_a_crash(tmp_path):
    data = pillow_jpeg(natural_image(size=64), 90)
    sos = data.index(b"\xff\xda")
    rng = np.random.default_rng(1)
    broken = data[: sos + 14] + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    columns = deep_columns(write(tmp_path, broken), reader="libjpeg-turbo")
    assert columns["deep_error"] is not None or columns["deep_warning"] is not None


def test_clean_file_has_no_warning(tmp_path):
    columns = deep_columns(
        write(tmp_path, pillow_jpeg(natural_image(size=64), 90)), reader="libjpeg-turbo"
    )
    assert columns["deep_warning"] is None and columns["deep_error"] is None
    assert columns["deep_blocks"] == 96


@pytest.mark.skipif(not TORCHJPEG, reason="needs torchjpeg too (its environment)")
@pytest.mark.parametrize(
    "args", [["-quality", "75"], ["-progressive"], ["-arithmetic"], ["-sample", "1x2"]]
)
def test_coefficients_equal_torchjpeg_s(tmp_path, args):
    # Two libjpegs (libjpeg-turbo here, IJG libjpeg 9 inside torchjpeg) decode the same
    # entropy-coded data to the same coefficients.
    from jpegaudit.deep import torchjpeg_reader

    path = str(write(tmp_path, cjpeg(natural_image(size=90), *args)))
    ours = libjpeg_reader.read_coefficients(path)
    theirs = torchjpeg_reader.read_coefficients(path)
    assert ours.sizes == theirs.sizes
    for a, b in zip(ours.components, theirs.components, strict=False):
        assert a.qtable == b.qtable
        assert np.array_equal(a.blocks, b.blocks)


def test_factors_turbojpeg_cannot_name_are_refused_not_crashed(tmp_path):
    path = write(tmp_path, cjpeg(natural_image(size=64), "-sample", "2x2,1x1,1x2"))
    columns = deep_columns(path, reader="libjpeg-turbo")
    assert columns["deep_error"] == (
        "not read: TurboJPEG: Could not determine subsampling type for JPEG image"
    )
