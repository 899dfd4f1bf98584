"""Double-compression detection on files compressed twice with real encoders (Pillow, cjpeg),
read through libjpeg by each coefficient reader available here (libjpeg-turbo; torchjpeg in
its environment). scripts/measure_double_compression.py measures the whole
(q1, q2) grid; these pin single points of it, including where the method does not work."""

from __future__ import annotations

import pytest
from deep_support import cjpeg, decode, each_reader, natural_image, pillow_jpeg

from jpegaudit.deep.backend import deep_columns


def estimate_of(tmp_path, data: bytes, reader: str):
    path = tmp_path / "x.jpg"
    path.write_bytes(data)
    columns = deep_columns(path, reader=reader)
    assert columns["deep_error"] is None
    return columns


@each_reader
@pytest.mark.parametrize(("q1", "q2"), [(30, 95), (50, 90), (20, 75), (70, 100)])
def test_pillow_twice_is_detected_with_first_quality(reader, tmp_path, q1, q2):
    image = natural_image(seed=q1)
    twice = pillow_jpeg(decode(pillow_jpeg(image, q1)), q2)
    columns = estimate_of(tmp_path, twice, reader)
    assert columns["double_compressed"] is True
    assert abs(columns["double_first_quality"] - q1) <= 3


@each_reader
def test_cjpeg_twice_is_detected_with_first_quality(reader, tmp_path):
    image = natural_image(seed=7)
    first = cjpeg(image, "-quality", "40", "-dct", "float")
    columns = estimate_of(tmp_path, cjpeg(decode(first), "-quality", "92"), reader)
    assert columns["double_compressed"] is True
    assert abs(columns["double_first_quality"] - 40) <= 3


@each_reader
def test_cjpeg_16_bit_first_tables_are_detected(reader, tmp_path):
    # cjpeg -quality 15 writes 16-bit tables (entries above 255).
    image = natural_image(seed=8)
    columns = estimate_of(
        tmp_path, cjpeg(decode(cjpeg(image, "-quality", "15")), "-quality", "90"), reader
    )
    assert columns["double_compressed"] is True
    assert abs(columns["double_first_quality"] - 15) <= 3


@each_reader
@pytest.mark.parametrize("quality", [60, 75, 90, 96, 100])
def test_single_pillow_compression_is_not_flagged(reader, tmp_path, quality):
    columns = estimate_of(tmp_path, pillow_jpeg(natural_image(seed=quality), quality), reader)
    assert columns["double_compressed"] is False
    assert columns["double_first_quality"] is None


@each_reader
def test_single_cjpeg_compression_is_not_flagged(reader, tmp_path):
    columns = estimate_of(tmp_path, cjpeg(natural_image(seed=3), "-quality", "85"), reader)
    assert columns["double_compressed"] is False


@each_reader
def test_same_quality_twice_is_not_detected(reader, tmp_path):
    # Limitation: requantizing with the same table changes (almost) nothing.
    image = natural_image(seed=4)
    columns = estimate_of(tmp_path, pillow_jpeg(decode(pillow_jpeg(image, 90)), 90), reader)
    assert columns["double_compressed"] is False


@each_reader
def test_grid_shifted_between_compressions_is_not_detected(reader, tmp_path):
    # Limitation: cropping 4 pixels moves the 8x8 grid; the first quantization's lattice is
    # no longer visible in the second one's coefficients.
    decoded = decode(pillow_jpeg(natural_image(seed=5), 30))
    shifted = decoded.crop((4, 4, decoded.width, decoded.height))
    columns = estimate_of(tmp_path, pillow_jpeg(shifted, 95), reader)
    assert columns["double_compressed"] is False
