"""Names for what a frame says (jpeg/describe.py): process, subsampling and colour model, checked
through the store row so that the names are the ones docs/store-schema.md promises."""

from __future__ import annotations

import shutil
import subprocess

import jpegbuild as jb
import pytest

from jpegaudit.audit import audit_bytes, new_row
from jpegaudit.jpeg import parse_jpeg
from jpegaudit.jpeg.describe import color_model, sampling_factors, subsampling

HAVE_CJPEG = shutil.which("cjpeg") is not None


def audit(data: bytes) -> dict:
    row = new_row("x.jpg", "test", "root", None)
    return audit_bytes(lambda offset, length: data[offset : offset + length], len(data), row)


# docs/store-schema.md, `process`, `progressive` and `arithmetic` columns, written out again.
SOF_TABLE = {
    0xC0: ("baseline", False, False),
    0xC1: ("extended", False, False),
    0xC2: ("progressive", True, False),
    0xC3: ("lossless", False, False),
    0xC5: ("differential-sequential", False, False),
    0xC6: ("differential-progressive", True, False),
    0xC7: ("differential-lossless", False, False),
    0xC9: ("extended", False, True),
    0xCA: ("progressive", True, True),
    0xCB: ("lossless", False, True),
    0xCD: ("differential-sequential", False, True),
    0xCE: ("differential-progressive", True, True),
    0xCF: ("differential-lossless", False, True),
}
LOSSLESS = {0xC3, 0xC7, 0xCB, 0xCF}


@pytest.mark.parametrize("code", sorted(SOF_TABLE), ids=lambda c: f"SOF{c - 0xC0}")
def test_sof_type_gives_process_progressive_and_arithmetic(code):
    row = audit(jb.baseline(code=code))
    assert (row["process"], row["progressive"], row["arithmetic"]) == SOF_TABLE[code]
    assert row["sof"] == code


@pytest.mark.parametrize("code", sorted(LOSSLESS), ids=lambda c: f"SOF{c - 0xC0}")
def test_lossless_processes_have_no_quality(code):
    row = audit(jb.baseline(code=code, precision=16))
    assert row["precision"] == 16
    assert row["quality_luma"] is None and row["qtables"] is None


@pytest.mark.parametrize("code", sorted(set(SOF_TABLE) - LOSSLESS), ids=lambda c: f"{c:#x}")
def test_dct_processes_have_a_quality(code):
    assert audit(jb.baseline(code=code))["quality_luma"] is not None


@pytest.mark.parametrize("precision", [8, 12])
def test_precision_column_is_the_sof_precision(precision):
    assert audit(jb.baseline(code=0xC1, precision=precision))["precision"] == precision


def test_jpeg_ls_process_name():
    row = audit(jb.jpeg(jb.sof(0xF7, components=((1, 1, 1, 0),)), jb.sos([1])))
    assert row["process"] == "jpeg-ls" and row["arithmetic"] is False
    assert row["error"] is not None


# ---------------------------------------------------------------------------------------------
# Subsampling


def frame_of(*factors: tuple[int, int]):
    comps = [(k + 1, h, v, min(k, 1)) for k, (h, v) in enumerate(factors)]
    data = jb.jpeg(jb.dqt((0, [2] * 64), (1, [3] * 64)), jb.sof(components=comps), jb.sos())
    return parse_jpeg(data).frame


@pytest.mark.parametrize(
    "luma, chroma, name",
    [
        ((1, 1), (1, 1), "4:4:4"),
        ((2, 1), (1, 1), "4:2:2"),
        ((2, 2), (1, 1), "4:2:0"),
        ((1, 2), (1, 1), "4:4:0"),
        ((4, 1), (1, 1), "4:1:1"),
        ((4, 2), (1, 1), "4:1:0"),
        ((1, 4), (1, 1), "4:4:1"),
        ((2, 2), (2, 2), "4:4:4"),  # equal factors, whatever their value
        ((4, 4), (2, 2), "4:2:0"),  # only the ratio counts
        ((4, 2), (2, 2), "4:2:2"),
    ],
)
def test_named_subsampling_schemes(luma, chroma, name):
    frame = frame_of(luma, chroma, chroma)
    assert subsampling(frame) == (name, False)


@pytest.mark.parametrize(
    "factors",
    [
        ((2, 4), (1, 1), (1, 1)),  # ratio (2, 4) has no common name
        ((3, 1), (1, 1), (1, 1)),  # ratio (3, 1)
        ((4, 3), (2, 2), (2, 2)),  # not a whole ratio
    ],
)
def test_unnamed_ratios_give_the_raw_factor_string(factors):
    frame = frame_of(*factors)
    expected = ",".join(f"{h}x{v}" for h, v in factors)
    assert subsampling(frame) == (expected, False)


def test_cb_and_cr_differing_gives_raw_string_and_flag():
    frame = frame_of((2, 2), (1, 1), (1, 2))
    assert subsampling(frame) == ("2x2,1x1,1x2", True)


def test_luma_smaller_than_chroma_gives_raw_string():
    frame = frame_of((1, 1), (2, 2), (2, 2))
    assert subsampling(frame) == ("1x1,2x2,2x2", False)


@pytest.mark.parametrize("h, v", [(1, 1), (2, 2), (4, 1)])
def test_one_component_is_gray_whatever_its_factors(h, v):
    assert subsampling(frame_of((h, v))) == ("gray", False)


def test_four_components_with_k_sampled_like_luma_are_named():
    assert subsampling(frame_of((2, 2), (1, 1), (1, 1), (2, 2))) == ("4:2:0", False)


def test_four_components_with_k_subsampled_give_raw_string():
    assert subsampling(frame_of((2, 2), (1, 1), (1, 1), (1, 1)))[0] == "2x2,1x1,1x1,1x1"


def test_four_equal_components_are_444():
    assert subsampling(frame_of((1, 1), (1, 1), (1, 1), (1, 1))) == ("4:4:4", False)


@pytest.mark.parametrize("h, v", [(0, 1), (1, 0)])
def test_zero_chroma_factor_of_a_refused_frame_gives_the_raw_string(h, v):
    # The parser refuses the frame but keeps it on the header; naming it must not divide by 0.
    frame = frame_of((2, 2), (h, v), (h, v))
    assert subsampling(frame) == (f"2x2,{h}x{v},{h}x{v}", False)


def test_frame_without_components_does_not_raise():
    data = jb.SOI + jb.sof(components=())
    frame = parse_jpeg(data).frame
    assert frame is not None and frame.components == ()
    assert subsampling(frame) == ("", False)


def test_sampling_factors_string_is_hxv_in_frame_order():
    assert sampling_factors(frame_of((2, 1), (1, 1), (1, 2))) == "2x1,1x1,1x2"


def test_chroma_factors_differ_reaches_the_row():
    comps = ((1, 2, 2, 0), (2, 1, 1, 1), (3, 1, 2, 1))
    row = audit(jb.baseline(components=comps))
    assert row["subsampling"] == "2x2,1x1,1x2" and row["chroma_factors_differ"] is True


@pytest.mark.parametrize(
    "pillow_name, expected", [("4:4:4", "4:4:4"), ("4:2:2", "4:2:2"), ("4:2:0", "4:2:0")]
)
def test_pillow_subsampling_settings_are_named(pillow_name, expected):
    row = audit(jb.pillow_jpeg(subsampling=pillow_name))
    assert row["subsampling"] == expected


def test_pillow_grayscale_is_gray():
    row = audit(jb.pillow_jpeg(mode="L"))
    assert (row["subsampling"], row["color"], row["components"]) == ("gray", "gray", 1)


@pytest.mark.skipif(not HAVE_CJPEG, reason="cjpeg not installed")
@pytest.mark.parametrize(
    "sample, expected",
    [("4x1", "4:1:1"), ("1x2", "4:4:0"), ("4x2", "4:1:0"), ("1x4", "4:4:1"), ("2x1", "4:2:2")],
)
def test_cjpeg_sampling_options_are_named(tmp_path, sample, expected):
    ppm = tmp_path / "in.ppm"
    from PIL import Image

    Image.linear_gradient("L").resize((64, 64)).convert("RGB").save(ppm)
    done = subprocess.run(["cjpeg", "-sample", sample, str(ppm)], capture_output=True, check=True)
    assert audit(done.stdout)["subsampling"] == expected


# ---------------------------------------------------------------------------------------------
# Colour model (libjpeg-turbo jdapimin.c default_decompression_parms)


def color_of(*segments: bytes, ids=(1, 2, 3)) -> str:
    comps = [(cid, 1, 1, 0) for cid in ids]
    data = jb.jpeg(*segments, jb.dqt((0, [2] * 64)), jb.sof(components=comps), jb.sos(ids))
    return color_model(parse_jpeg(data))


def test_one_component_is_gray():
    assert color_of(ids=(1,)) == "gray"


def test_three_components_with_ids_123_are_ycbcr():
    assert color_of() == "ycbcr"


def test_three_components_with_ids_rgb_are_rgb():
    assert color_of(ids=(82, 71, 66)) == "rgb"


def test_jfif_means_ycbcr_even_with_rgb_ids():
    assert color_of(jb.jfif(), ids=(82, 71, 66)) == "ycbcr"


def test_jfif_wins_over_adobe_transform_0():
    assert color_of(jb.jfif(), jb.adobe(0)) == "ycbcr"


@pytest.mark.parametrize("transform, expected", [(0, "rgb"), (1, "ycbcr"), (2, "ycbcr")])
def test_adobe_transform_decides_three_components(transform, expected):
    assert color_of(jb.adobe(transform)) == expected


def test_adobe_transform_wins_over_rgb_ids():
    assert color_of(jb.adobe(1), ids=(82, 71, 66)) == "ycbcr"


def test_unknown_ids_without_markers_are_ycbcr():
    assert color_of(ids=(7, 8, 9)) == "ycbcr"


def test_four_components_without_adobe_are_cmyk():
    assert color_of(ids=(1, 2, 3, 4)) == "cmyk"


@pytest.mark.parametrize("transform, expected", [(0, "cmyk"), (1, "ycck"), (2, "ycck")])
def test_adobe_transform_decides_four_components(transform, expected):
    assert color_of(jb.adobe(transform), ids=(1, 2, 3, 4)) == expected


@pytest.mark.parametrize("ids", [(1, 2), (1, 2, 3, 4, 5)])
def test_two_or_five_components_are_unknown(ids):
    assert color_of(ids=ids) == "unknown"


def test_short_adobe_segment_does_not_decide_colour():
    short_adobe = jb.app(14, b"Adobe\x00\x64\x00")
    assert color_of(short_adobe, ids=(1, 2, 3, 4)) == "cmyk"
    assert color_of(short_adobe, ids=(82, 71, 66)) == "rgb"


def test_pillow_cmyk_is_cmyk_with_adobe_transform_0():
    row = audit(jb.pillow_jpeg(mode="CMYK"))
    assert (row["color"], row["adobe_transform"], row["components"]) == ("cmyk", 0, 4)


def test_pillow_rgb_is_ycbcr_with_jfif():
    row = audit(jb.pillow_jpeg())
    assert (row["color"], row["jfif"]) == ("ycbcr", True)


@pytest.mark.skipif(not HAVE_CJPEG, reason="cjpeg not installed")
def test_cjpeg_rgb_colour_space_is_rgb(tmp_path):
    from PIL import Image

    ppm = tmp_path / "in.ppm"
    Image.linear_gradient("L").resize((16, 16)).convert("RGB").save(ppm)
    done = subprocess.run(["cjpeg", "-rgb", str(ppm)], capture_output=True, check=True)
    assert audit(done.stdout)["color"] == "rgb"
