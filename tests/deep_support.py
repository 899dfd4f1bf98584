"""Helpers for the deep-mode tests: synthetic photo-like images, real encoders, and the marker
that skips torchjpeg tests outside its environment (and fails them in its CI)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from jpegaudit.deep import libjpeg_reader, torchjpeg_reader

TORCHJPEG = torchjpeg_reader.available()
LIBJPEG_TURBO = libjpeg_reader.available()
# Coefficient readers that load here: libjpeg-turbo in any environment with libturbojpeg,
# torchjpeg in its own environment.
READERS_HERE = [
    name for name, ok in (("libjpeg-turbo", LIBJPEG_TURBO), ("torchjpeg", TORCHJPEG)) if ok
]
REQUIRE_TORCHJPEG = os.environ.get("JPEGAUDIT_REQUIRE_TORCHJPEG") == "1"

if REQUIRE_TORCHJPEG and not TORCHJPEG:
    raise RuntimeError("JPEGAUDIT_REQUIRE_TORCHJPEG=1 but torchjpeg cannot be imported")

requires_torchjpeg = pytest.mark.skipif(
    not TORCHJPEG, reason="torchjpeg not installed: runs in .ci/torchjpeg.sh's environment"
)
requires_libjpeg_turbo = pytest.mark.skipif(
    not LIBJPEG_TURBO, reason="libturbojpeg not found (apt-get install libturbojpeg0)"
)


def each_reader(test):
    """Run `test(reader=...)` once per coefficient reader available here."""
    if not READERS_HERE:
        return pytest.mark.skip(reason="no coefficient reader here")(test)
    return pytest.mark.parametrize("reader", READERS_HERE)(test)


def natural_image(seed: int = 0, size: int = 256) -> Image.Image:
    """An RGB image with a photo-like 1/f spectrum (so AC histograms look like a photo's), no
    JPEG history, correlated channels."""
    rng = np.random.default_rng(seed)
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    falloff = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / size) ** 1.8

    def field() -> np.ndarray:
        return np.real(np.fft.ifft2(np.fft.fft2(rng.normal(size=(size, size))) * falloff))

    base = field()
    img = np.stack([base + 0.4 * field() for _ in range(3)], axis=-1)
    img = (img - img.mean()) / img.std() * 45 + 128 + rng.normal(0, 1.5, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def pillow_jpeg(image: Image.Image, quality: int, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=quality, **options)
    return buf.getvalue()


def cjpeg(image: Image.Image, *args: str) -> bytes:
    if shutil.which("cjpeg") is None:
        if os.environ.get("JPEGAUDIT_REQUIRE_ORACLES") == "1":
            pytest.fail("cjpeg missing but JPEGAUDIT_REQUIRE_ORACLES=1")
        pytest.skip("cjpeg not installed (apt-get install libjpeg-turbo-progs)")
    ppm = io.BytesIO()
    image.convert("RGB").save(ppm, "PPM")
    return subprocess.run(
        ["cjpeg", *args], input=ppm.getvalue(), capture_output=True, check=True
    ).stdout


def decode(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")
