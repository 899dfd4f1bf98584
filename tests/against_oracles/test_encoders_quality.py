"""Files written by real encoders at known settings, and what jpegaudit reports about them.

The encoders are the oracles here: Pillow at every quality 1..100 with 4:4:4, 4:2:2, 4:2:0 and
grayscale; libjpeg-turbo's cjpeg (16-bit tables below quality 24 without -baseline, every
sampling scheme, split luma/chroma quality, progressive, arithmetic, restart intervals,
grayscale, RGB, optimized Huffman tables); ImageMagick `convert` and OpenCV `cv2.imwrite`.
Every encode goes to one session folder and is written once (the file name is the settings).

IJG quality facts used below (libjpeg jcparam.c): a baseline-forced chroma table is all 255 for
qualities 1, 2 and 3, so the store gives the range "1-3" there; cjpeg without -baseline writes
16-bit tables exactly when an entry exceeds 255, which for the Annex K luma table (largest base
entry 121) is quality <= 23.
"""

from __future__ import annotations

import re
import subprocess
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from oracles import tool_path

from jpegaudit import audit_file

WIDTH, HEIGHT = 64, 48
QUALITIES = range(1, 101)
PILLOW_SUBSAMPLING = {"4:4:4": "1x1,1x1,1x1", "4:2:2": "2x1,1x1,1x1", "4:2:0": "2x2,1x1,1x1"}
CHROMA_RANGE_BASELINE = {1: "1-3", 2: "1-3", 3: "1-3"}  # all-255 chroma tables
SIXTEEN_BIT_BELOW = 24  # cjpeg without -baseline: quality <= 23 has luma entries above 255


# --- test images and encodes ------------------------------------------------------------------


def natural_image(seed: int = 1234) -> np.ndarray:
    """A small RGB image with smooth gradients, an edge and noise, so that every encoder has
    real detail to code (uint8, HEIGHT x WIDTH x 3)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float64)
    red = 255 * x / (WIDTH - 1)
    green = 255 * y / (HEIGHT - 1)
    blue = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    blue[(x - WIDTH / 2) ** 2 + (y - HEIGHT / 2) ** 2 < 150] = 30  # a disc with a sharp edge
    image = np.stack([red, green, blue], axis=-1) + rng.normal(0, 12, (HEIGHT, WIDTH, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("encodes")


@pytest.fixture(scope="session")
def rgb_image() -> np.ndarray:
    return natural_image()


@pytest.fixture(scope="session")
def ppm_file(workdir, rgb_image) -> Path:
    """The test image as binary PPM, the input cjpeg and ImageMagick read."""
    path = workdir / "input.ppm"
    if not path.exists():
        path.write_bytes(f"P6\n{WIDTH} {HEIGHT}\n255\n".encode() + rgb_image.tobytes())
    return path


def _slug(args: list[str]) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", "-".join(args)).strip("_") or "default"


def run_encoder(argv: list[str]) -> None:
    proc = subprocess.run(argv, capture_output=True, timeout=60)
    assert proc.returncode == 0, f"{argv} failed: {proc.stderr.decode(errors='replace')}"


@cache
def audit(path: Path) -> dict:
    return audit_file(path)


def pillow_jpeg(workdir: Path, image: np.ndarray, quality: int, subsampling: str) -> Path:
    """Pillow at `quality` with `subsampling` ("4:4:4", "4:2:2", "4:2:0", or "gray")."""
    from PIL import Image

    path = workdir / f"pillow-q{quality}-{subsampling.replace(':', '')}.jpg"
    if not path.exists():
        if subsampling == "gray":
            Image.fromarray(image).convert("L").save(path, quality=quality)
        else:
            Image.fromarray(image).save(path, quality=quality, subsampling=subsampling)
    return path


def cjpeg_jpeg(workdir: Path, ppm: Path, args: list[str]) -> Path:
    path = workdir / f"cjpeg-{_slug(args)}.jpg"
    if not path.exists():
        run_encoder([tool_path("cjpeg"), *args, "-outfile", str(path), str(ppm)])
    return path


def convert_jpeg(workdir: Path, ppm: Path, args: list[str]) -> Path:
    path = workdir / f"magick-{_slug(args)}.jpg"
    if not path.exists():
        run_encoder([tool_path("convert"), str(ppm), *args, str(path)])
    return path


def opencv_jpeg(workdir: Path, image: np.ndarray, params: list[int], gray: bool = False) -> Path:
    import cv2

    path = workdir / f"opencv-{'gray-' if gray else ''}{'_'.join(map(str, params))}.jpg"
    if not path.exists():
        pixels = (
            cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
            if gray
            else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        )
        assert cv2.imwrite(str(path), pixels, params)
    return path


def exact_baseline(quality: int) -> tuple:
    """`quality_columns` of a file with IJG's baseline tables at `quality` for luma and chroma."""
    return (quality, quality, CHROMA_RANGE_BASELINE.get(quality), True, 0.0)


def quality_columns(row: dict) -> tuple:
    return (
        row["quality_luma"],
        row["quality_chroma"],
        row["quality_chroma_range"],
        row["quality_exact"],
        row["quality_fit_error"],
    )


# --- Pillow: every quality, every scheme Pillow can write ------------------------------------


@pytest.mark.needs_tools("pillow")
@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0"])
@pytest.mark.parametrize("quality", QUALITIES)
def test_pillow_colour_quality_is_exact(workdir, rgb_image, quality, subsampling):
    row = audit(pillow_jpeg(workdir, rgb_image, quality, subsampling))
    assert quality_columns(row) == exact_baseline(quality)


@pytest.mark.needs_tools("pillow")
@pytest.mark.parametrize("subsampling", ["4:4:4", "4:2:2", "4:2:0"])
@pytest.mark.parametrize("quality", QUALITIES)
def test_pillow_colour_subsampling_is_reported(workdir, rgb_image, quality, subsampling):
    row = audit(pillow_jpeg(workdir, rgb_image, quality, subsampling))
    assert (row["color"], row["sampling_factors"], row["subsampling"], row["qtable_bits"]) == (
        "ycbcr",
        PILLOW_SUBSAMPLING[subsampling],
        subsampling,
        8,
    )


@pytest.mark.needs_tools("pillow")
@pytest.mark.parametrize("quality", QUALITIES)
def test_pillow_grayscale_quality_is_exact(workdir, rgb_image, quality):
    row = audit(pillow_jpeg(workdir, rgb_image, quality, "gray"))
    assert quality_columns(row) == (quality, None, None, True, 0.0)


@pytest.mark.needs_tools("pillow")
@pytest.mark.parametrize("quality", QUALITIES)
def test_pillow_grayscale_is_reported_gray(workdir, rgb_image, quality):
    row = audit(pillow_jpeg(workdir, rgb_image, quality, "gray"))
    assert (row["color"], row["components"], row["subsampling"]) == ("gray", 1, "gray")


# --- cjpeg (libjpeg-turbo) --------------------------------------------------------------------


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize("quality", QUALITIES)
def test_cjpeg_quality_is_exact_with_16bit_tables_below_24(workdir, ppm_file, quality):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-quality", str(quality)]))
    assert quality_columns(row) == (quality, quality, None, True, 0.0)


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize("quality", QUALITIES)
def test_cjpeg_table_precision_is_16bit_exactly_below_24(workdir, ppm_file, quality):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-quality", str(quality)]))
    sixteen = quality < SIXTEEN_BIT_BELOW
    assert row["qtable_bits"] == (16 if sixteen else 8)
    assert (row["encoder"], row["encoder_quality"]) == ("libjpeg", quality)


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize("quality", [1, 2, 3, 4, 10, 23])
def test_cjpeg_baseline_low_quality_is_exact_8bit(workdir, ppm_file, quality):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-baseline", "-quality", str(quality)]))
    assert (*quality_columns(row), row["qtable_bits"]) == (*exact_baseline(quality), 8)


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize(
    ("sample", "subsampling", "differ"),
    [
        ("1x1,1x1,1x1", "4:4:4", False),
        ("2x1,1x1,1x1", "4:2:2", False),
        ("2x2,1x1,1x1", "4:2:0", False),
        ("1x2,1x1,1x1", "4:4:0", False),
        ("4x1,1x1,1x1", "4:1:1", False),
        ("4x2,1x1,1x1", "4:1:0", False),
        ("1x4,1x1,1x1", "4:4:1", False),
        ("2x2,1x1,1x2", "2x2,1x1,1x2", True),
    ],
)
def test_cjpeg_sampling_is_reported(workdir, ppm_file, sample, subsampling, differ):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-sample", sample]))
    assert (row["sampling_factors"], row["subsampling"], row["chroma_factors_differ"]) == (
        sample,
        subsampling,
        differ,
    )


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize("sample", ["4x1,1x1,1x1", "1x2,1x1,1x1", "4x2,1x1,1x1"])
def test_cjpeg_sampling_keeps_quality_exact(workdir, ppm_file, sample):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-quality", "85", "-sample", sample]))
    assert quality_columns(row) == (85, 85, None, True, 0.0)


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize(("luma", "chroma"), [(90, 40), (40, 90), (75, 20), (15, 60), (100, 1)])
def test_cjpeg_split_quality_is_reported_per_table(workdir, ppm_file, luma, chroma):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-quality", f"{luma},{chroma}"]))
    assert quality_columns(row) == (luma, chroma, None, True, 0.0)


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize(
    ("args", "sof", "process", "progressive", "arithmetic"),
    [
        ([], 0xC0, "baseline", False, False),
        (["-progressive"], 0xC2, "progressive", True, False),
        (["-arithmetic"], 0xC9, "extended", False, True),
        (["-arithmetic", "-progressive"], 0xCA, "progressive", True, True),
        (["-quality", "10"], 0xC1, "extended", False, False),  # 16-bit tables: not baseline
    ],
)
def test_cjpeg_process_is_reported(workdir, ppm_file, args, sof, process, progressive, arithmetic):
    row = audit(cjpeg_jpeg(workdir, ppm_file, args))
    assert (row["sof"], row["process"], row["progressive"], row["arithmetic"]) == (
        sof,
        process,
        progressive,
        arithmetic,
    )


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize(
    "args", [["-progressive"], ["-arithmetic"], ["-arithmetic", "-progressive"], ["-optimize"]]
)
def test_cjpeg_coding_options_keep_quality_exact(workdir, ppm_file, args):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-quality", "62", *args]))
    assert quality_columns(row) == (62, 62, None, True, 0.0)


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize(
    ("args", "interval"),
    [
        # -restart N counts MCU rows: a 64-pixel-wide 4:2:0 image has 4 MCUs (16x16) per row.
        (["-restart", "1"], 4),
        (["-restart", "2"], 8),
        (["-restart", "3B"], 3),
        (["-restart", "1B"], 1),
        # 4:4:4 MCUs are 8x8: 8 per row.
        (["-sample", "1x1,1x1,1x1", "-restart", "1"], 8),
        ([], 0),
    ],
)
def test_cjpeg_restart_interval_is_reported(workdir, ppm_file, args, interval):
    assert audit(cjpeg_jpeg(workdir, ppm_file, args))["restart_interval"] == interval


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize("quality", [5, 50, 95])
def test_cjpeg_grayscale_is_gray_with_luma_quality_only(workdir, ppm_file, quality):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-grayscale", "-quality", str(quality)]))
    assert (row["color"], row["components"], row["subsampling"], *quality_columns(row)) == (
        "gray",
        1,
        "gray",
        quality,
        None,
        None,
        True,
        0.0,
    )


@pytest.mark.needs_tools("cjpeg")
def test_cjpeg_rgb_is_reported_rgb(workdir, ppm_file):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-rgb", "-quality", "80"]))
    assert (row["color"], row["component_ids"], row["subsampling"]) == ("rgb", "82,71,66", "4:4:4")


@pytest.mark.needs_tools("cjpeg")
def test_cjpeg_rgb_has_luma_quality_only(workdir, ppm_file):
    """All three RGB components use table 0, so there is no chroma table to rate."""
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-rgb", "-quality", "80"]))
    assert quality_columns(row) == (80, None, None, True, 0.0)


@pytest.mark.needs_tools("cjpeg")
@pytest.mark.parametrize(("args", "standard"), [([], True), (["-optimize"], False)])
def test_cjpeg_huffman_standard_flag(workdir, ppm_file, args, standard):
    row = audit(cjpeg_jpeg(workdir, ppm_file, ["-quality", "70", *args]))
    assert row["huffman_standard"] is standard


# --- ImageMagick convert ----------------------------------------------------------------------

MAGICK_SAMPLING = {
    "1x1": ("1x1,1x1,1x1", "4:4:4"),
    "2x1": ("2x1,1x1,1x1", "4:2:2"),
    "2x2": ("2x2,1x1,1x1", "4:2:0"),
    "1x2": ("1x2,1x1,1x1", "4:4:0"),
    "4x1": ("4x1,1x1,1x1", "4:1:1"),
}


@pytest.mark.needs_tools("convert")
@pytest.mark.parametrize("factor", list(MAGICK_SAMPLING))
@pytest.mark.parametrize("quality", [1, 3, 10, 35, 50, 75, 92, 100])
def test_imagemagick_quality_is_exact(workdir, ppm_file, quality, factor):
    row = audit(
        convert_jpeg(workdir, ppm_file, ["-quality", str(quality), "-sampling-factor", factor])
    )
    assert quality_columns(row) == exact_baseline(quality)


@pytest.mark.needs_tools("convert")
@pytest.mark.parametrize("factor", list(MAGICK_SAMPLING))
def test_imagemagick_sampling_is_reported(workdir, ppm_file, factor):
    row = audit(convert_jpeg(workdir, ppm_file, ["-quality", "80", "-sampling-factor", factor]))
    assert (row["sampling_factors"], row["subsampling"]) == MAGICK_SAMPLING[factor]


@pytest.mark.needs_tools("convert")
def test_imagemagick_grayscale_is_gray(workdir, ppm_file):
    row = audit(convert_jpeg(workdir, ppm_file, ["-type", "Grayscale", "-quality", "60"]))
    assert (row["color"], row["components"], *quality_columns(row)) == (
        "gray",
        1,
        60,
        None,
        None,
        True,
        0.0,
    )


# --- OpenCV -----------------------------------------------------------------------------------


def _opencv_sampling() -> dict[str, tuple[int, str, str]]:
    import cv2

    return {
        "444": (cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444, "1x1,1x1,1x1", "4:4:4"),
        "422": (cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422, "2x1,1x1,1x1", "4:2:2"),
        "420": (cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420, "2x2,1x1,1x1", "4:2:0"),
        "440": (cv2.IMWRITE_JPEG_SAMPLING_FACTOR_440, "1x2,1x1,1x1", "4:4:0"),
        "411": (cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411, "4x1,1x1,1x1", "4:1:1"),
    }


OPENCV_SCHEMES = ["444", "422", "420", "440", "411"]


def _opencv_params(quality: int, scheme: str) -> list[int]:
    import cv2

    code = _opencv_sampling()[scheme][0]
    return [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR, code]


@pytest.mark.needs_tools("opencv")
@pytest.mark.parametrize("scheme", OPENCV_SCHEMES)
@pytest.mark.parametrize("quality", [1, 2, 5, 25, 50, 75, 95, 100])
def test_opencv_quality_is_exact(workdir, rgb_image, quality, scheme):
    row = audit(opencv_jpeg(workdir, rgb_image, _opencv_params(quality, scheme)))
    assert quality_columns(row) == exact_baseline(quality)


@pytest.mark.needs_tools("opencv")
@pytest.mark.parametrize("scheme", OPENCV_SCHEMES)
def test_opencv_sampling_is_reported(workdir, rgb_image, scheme):
    row = audit(opencv_jpeg(workdir, rgb_image, _opencv_params(80, scheme)))
    _, factors, name = _opencv_sampling()[scheme]
    assert (row["sampling_factors"], row["subsampling"]) == (factors, name)


@pytest.mark.needs_tools("opencv")
def test_opencv_split_luma_chroma_quality_is_reported(workdir, rgb_image):
    import cv2

    params = [cv2.IMWRITE_JPEG_LUMA_QUALITY, 90, cv2.IMWRITE_JPEG_CHROMA_QUALITY, 40]
    row = audit(opencv_jpeg(workdir, rgb_image, params))
    assert quality_columns(row) == (90, 40, None, True, 0.0)


@pytest.mark.needs_tools("opencv")
def test_opencv_progressive_with_restart_interval(workdir, rgb_image):
    import cv2

    params = [
        cv2.IMWRITE_JPEG_QUALITY,
        70,
        cv2.IMWRITE_JPEG_PROGRESSIVE,
        1,
        cv2.IMWRITE_JPEG_RST_INTERVAL,
        2,
    ]
    row = audit(opencv_jpeg(workdir, rgb_image, params))
    assert (row["process"], row["restart_interval"], row["quality_luma"]) == ("progressive", 2, 70)


@pytest.mark.needs_tools("opencv")
@pytest.mark.parametrize("quality", [1, 30, 90])
def test_opencv_grayscale_is_gray(workdir, rgb_image, quality):
    import cv2

    row = audit(opencv_jpeg(workdir, rgb_image, [cv2.IMWRITE_JPEG_QUALITY, quality], gray=True))
    assert (row["color"], row["components"], *quality_columns(row)) == (
        "gray",
        1,
        quality,
        None,
        None,
        True,
        0.0,
    )
