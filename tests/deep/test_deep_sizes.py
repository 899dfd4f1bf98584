"""Per-component sizes from sampling factors, and the scheme sizes imply (pure)."""

from __future__ import annotations

import pytest

from jpegaudit.deep.sizes import component_sizes_from_factors, subsampling_from_sizes


def test_sizes_round_up_like_libjpeg():
    # libjpeg-turbo's testorig.jpg: 227x149, 4:2:0; torchjpeg reports 114x75 for chroma.
    assert component_sizes_from_factors(227, 149, "2x2,1x1,1x1") == "227x149,114x75,114x75"


def test_sizes_when_luma_is_not_the_largest():
    assert component_sizes_from_factors(100, 100, "1x1,2x2,2x2") == "50x50,100x100,100x100"


@pytest.mark.parametrize(
    ("chroma", "scheme"),
    [
        ((500, 375), "4:4:4"),
        ((250, 375), "4:2:2"),
        ((250, 188), "4:2:0"),
        ((500, 188), "4:4:0"),
        ((125, 375), "4:1:1"),
        ((125, 188), "4:1:0"),
        ((500, 94), "4:4:1"),
    ],
)
def test_scheme_from_sizes(chroma, scheme):
    assert subsampling_from_sizes([(500, 375), chroma, chroma]) == scheme


def test_grayscale_from_one_component():
    assert subsampling_from_sizes([(64, 64)]) == "gray"


def test_tiny_image_is_ambiguous():
    # 1x1 pixel: every scheme gives 1x1 chroma.
    assert subsampling_from_sizes([(1, 1), (1, 1), (1, 1)]) is None


def test_different_chroma_sizes_are_not_named():
    assert subsampling_from_sizes([(500, 375), (250, 188), (250, 375)]) is None


def test_luma_smaller_than_chroma_is_not_named():
    assert subsampling_from_sizes([(50, 50), (100, 100), (100, 100)]) is None


def test_cmyk_with_full_size_k_is_named():
    assert subsampling_from_sizes([(100, 100)] * 4) == "4:4:4"
