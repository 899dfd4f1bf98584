"""Every real writer that installs here, run again on an image the signature database was not
built from, at its default and other settings: `encoder` and `encoder_detail` name it, or the
group the header cannot tell it from (scripts/writers.py runs them).

Light writers skip when missing, and fail under JPEGAUDIT_REQUIRE_ORACLES=1 (CI installs them).
Heavy writers (TensorFlow, GIMP, torchvision) run only under JPEGAUDIT_HEAVY_WRITERS=1 (set by
`.ci/writers.sh`, so README's test command never starts them), skip when missing, and fail
under JPEGAUDIT_REQUIRE_HEAVY_WRITERS=1; torchvision is required only where
JPEGAUDIT_REQUIRE_TORCHVISION=1 (its CUDA wheel is 5.5 GB: docs/provenance.md).
"""

from __future__ import annotations

import os

import pytest
import writers as w
from build_signatures import audit

from jpegaudit.provenance.catalog import WRITERS

IMAGE = w.source_image(88, 56, seed=7)  # not the database's image (64x48, seed 0)

# What each writer is identified as: (encoder, text encoder_detail contains). Writers of the
# libjpeg-layout group share it with others and are named among them.
EXPECTED = {
    "pillow": ("libjpeg", "Pillow"),
    "opencv": ("libjpeg", "OpenCV"),
    "cjpeg": ("libjpeg", "cjpeg"),
    "jpegtran": ("libjpeg", "jpegtran"),
    "netpbm": ("libjpeg", "netpbm"),
    "simplejpeg": ("libjpeg", "simplejpeg"),
    "pyturbojpeg": ("libjpeg", "PyTurboJPEG"),
    "datasets": ("libjpeg", "Hugging Face datasets"),
    "imagemagick": ("libjpeg", "ImageMagick"),
    "torchvision": ("libjpeg", "torchvision"),
    "exiftool-edit": ("libjpeg", "edited by exiftool"),
    "pillow-presets": ("libjpeg", "Photoshop's tables"),
    "graphicsmagick": ("graphicsmagick", "GraphicsMagick"),
    "libvips": ("libvips", "libvips"),
    "ffmpeg": ("ffmpeg", "ffmpeg"),
    "guetzli": ("guetzli", "guetzli"),
    "php-gd": ("gd", "PHP GD"),
    "jpegli": ("jpegli", "jpegli"),
    "mozjpeg": ("mozjpeg", "mozjpeg"),
    "tensorflow": ("tensorflow", "TensorFlow"),
    "gimp": ("gimp", "GIMP"),
}
# The writer's own quality setting is encoder_quality (None: not invertible).
QUALITY_FROM_SETTING = {"guetzli": False, "pillow-presets": False, "exiftool-edit": False,
                        "jpegtran": False, "mozjpeg": False, "datasets": False}  # fmt: skip


def _require(writer: w.Writer) -> None:
    heavy_run = os.environ.get("JPEGAUDIT_HEAVY_WRITERS") == "1" or (
        os.environ.get("JPEGAUDIT_REQUIRE_HEAVY_WRITERS") == "1"
    )
    if writer.heavy and not heavy_run:
        pytest.skip(
            f"heavy writer {writer.name}: run by .ci/writers.sh (JPEGAUDIT_HEAVY_WRITERS=1)"
        )
    if writer.available():
        return
    if writer.name == "torchvision":
        flag = "JPEGAUDIT_REQUIRE_TORCHVISION"
    elif writer.heavy:
        flag = "JPEGAUDIT_REQUIRE_HEAVY_WRITERS"
    else:
        flag = "JPEGAUDIT_REQUIRE_ORACLES"
    if os.environ.get(flag) == "1":
        pytest.fail(f"writer {writer.name} is not installed here and {flag}=1")
    pytest.skip(f"writer {writer.name} is not installed here")


def _settings(writer: w.Writer) -> list[dict]:
    grid = writer.settings()
    step = max(1, len(grid) // 8)
    chosen = grid[::step]
    return chosen if {} in chosen or {} not in grid else [{}, *chosen]


def _rows(name: str):
    writer = w.writer(name)
    _require(writer)
    settings = _settings(writer)
    return [(s, audit(data)) for s, data in zip(settings, writer.run(IMAGE, settings), strict=True)]


def _marks(name: str):
    marks = []
    if w.writer(name).heavy:
        marks.append(pytest.mark.heavy_writer)
    return marks


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=_marks(n), id=n) for n in EXPECTED]
)  # fmt: skip
def test_every_file_of_a_writer_names_it_or_its_group(name):
    encoder, named = EXPECTED[name]
    for setting, row in _rows(name):
        what = f"{name} {setting}: {row['encoder_detail']}"
        assert row["error"] is None, what
        assert row["encoder"] == encoder, what
        assert named in row["encoder_detail"], what
        assert row["encoder_confidence"] == "exact", what
        assert len(row["header_signature"]) == 16, what


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=_marks(n), id=n) for n in EXPECTED if QUALITY_FROM_SETTING.get(n, True)],
)
def test_encoder_quality_is_the_writers_own_setting(name):
    writer = w.writer(name)
    for setting, row in _rows(name):
        asked = setting.get("quality", writer.defaults.get("quality"))
        if asked is None:  # a default we do not know (ffmpeg picks its own qscale)
            continue
        assert row["encoder_quality"] == asked, f"{name} {setting}: {row['encoder_detail']}"


GROUP_AT_DEFAULTS = ("pillow", "cjpeg", "netpbm", "datasets")  # all: IJG q75 4:2:0, standard


def test_writers_the_header_cannot_separate_are_one_group():
    rows = {}
    for name in GROUP_AT_DEFAULTS:
        writer = w.writer(name)
        _require(writer)
        rows[name] = audit(writer.run(IMAGE, [{}])[0])
    details = {r["encoder_detail"] for r in rows.values()}
    signatures = {r["header_signature"] for r in rows.values()}
    assert len(details) == 1 and len(signatures) == 1, details
    detail = details.pop()
    assert "not separable from the header" in detail
    for name in GROUP_AT_DEFAULTS:
        assert WRITERS[name].label in detail


def test_opencv_default_is_consistent_with_img2dataset():
    writer = w.writer("opencv")
    _require(writer)
    row = audit(writer.run(IMAGE, [{}])[0])
    assert "consistent with: img2dataset default, OpenCV default" in row["encoder_detail"]


def test_distinct_writers_have_distinct_signatures_at_their_defaults():
    seen = {}
    for name in ("graphicsmagick", "libvips", "ffmpeg", "php-gd", "jpegli", "guetzli", "pillow"):
        writer = w.writer(name)
        if not writer.available():
            continue
        seen[name] = audit(writer.run(IMAGE, [{}])[0])["header_signature"]
    assert len(set(seen.values())) == len(seen), seen
