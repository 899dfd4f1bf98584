"""Quantized DCT coefficients of a whole file, as libjpeg's `jpeg_read_coefficients` returns
them, in plain numpy arrays. Readers live in their own modules and import their heavy library
lazily; nothing here imports torch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class CoefficientReadError(Exception):
    """The file's coefficients could not be read. The message names who said so:
    `libjpeg: <its fatal error>`, `TurboJPEG: ...`, or (CoefficientReadRefused) the reader's
    own reason for not trying."""


class CoefficientReadRefused(CoefficientReadError):
    """The reader did not try: reading would be unsafe or is unsupported by it."""


@dataclass(frozen=True)
class ComponentCoefficients:
    """One component's coefficient blocks.

    `blocks` has shape (height_in_blocks, width_in_blocks, 64), entries in natural (row-major)
    order as libjpeg keeps them in a JBLOCK, quantized (multiply by `qtable` to dequantize)."""

    index: int  # position in the frame, 0-based
    qtable: tuple[int, ...]  # 64 entries, natural order: the table libjpeg used for it
    blocks: np.ndarray

    @property
    def block_count(self) -> int:
        return int(self.blocks.shape[0] * self.blocks.shape[1])


@dataclass(frozen=True)
class DctCoefficients:
    """What a coefficient reader returns for one file."""

    reader: str  # e.g. "torchjpeg 0.9.33"
    sizes: tuple[tuple[int, int], ...]  # (width, height) of every frame component, libjpeg's
    # downsampled_width/height, also for components the reader does not return
    components: tuple[ComponentCoefficients, ...]  # the components read (torchjpeg: first 3)
    warning: str | None  # libjpeg's first warning while reading (corrupt or missing data)

    @property
    def width(self) -> int:
        # The component with the largest sampling factors has the image's full width.
        return max(w for w, _ in self.sizes)

    @property
    def height(self) -> int:
        return max(h for _, h in self.sizes)
