"""Per-file statistics of quantized DCT coefficients. Pure numpy; no I/O.

Definitions (docs/deep.md):
- zero-AC share: of a component's AC coefficients (63 per block), the share that are 0. It grows
  with coarser quantization and with smooth content (upscaled, blurred or synthetic images).
- high-frequency energy share: of the dequantized AC energy (sum of (coefficient x step)^2), the
  share at positions with u + v >= 8 (the second half of the zig-zag scan). Near 0 for images
  whose fine detail was removed before this encoding: a low-quality earlier compression, an
  upscale, heavy smoothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jpegaudit.deep.coefficients import ComponentCoefficients, DctCoefficients

_U, _V = np.divmod(np.arange(64), 8)
HIGH_FREQUENCY = (_U + _V) >= 8  # natural-order mask; 28 of the 63 AC positions
AC = np.arange(64) != 0


@dataclass(frozen=True)
class ComponentStats:
    blocks: int
    zero_ac_share: float
    ac_energy: float  # sum of dequantized AC coefficients squared
    high_frequency_energy: float  # the part of ac_energy at u + v >= 8


def component_stats(component: ComponentCoefficients) -> ComponentStats:
    blocks = component.blocks.reshape(-1, 64)
    count = blocks.shape[0]
    if count == 0:
        return ComponentStats(0, float("nan"), 0.0, 0.0)
    ac = blocks[:, 1:]
    zero_share = float(ac.size - np.count_nonzero(ac)) / ac.size
    # Squares fit int32 (|coefficient| <= 32767); their sum over many blocks needs int64.
    wide = blocks.astype(np.int32)
    per_position = (wide * wide).sum(axis=0, dtype=np.int64).astype(np.float64)
    steps = np.asarray(component.qtable, dtype=np.float64)
    energy = per_position * steps * steps
    return ComponentStats(
        blocks=count,
        zero_ac_share=zero_share,
        ac_energy=float(energy[AC].sum()),
        high_frequency_energy=float(energy[HIGH_FREQUENCY].sum()),
    )


@dataclass(frozen=True)
class FileStats:
    components: tuple[ComponentStats, ...]

    @property
    def blocks(self) -> int:
        return sum(c.blocks for c in self.components)

    @property
    def zero_ac_luma(self) -> float | None:
        return self.components[0].zero_ac_share if self.components else None

    @property
    def zero_ac_chroma(self) -> float | None:
        """Pooled over the chroma components (1 and 2), weighted by their coefficient counts."""
        chroma = self.components[1:3]
        total = sum(c.blocks for c in chroma)
        if not total:
            return None
        return sum(c.zero_ac_share * c.blocks for c in chroma) / total

    @property
    def high_frequency_luma(self) -> float | None:
        return _share(self.components[:1])

    @property
    def high_frequency_chroma(self) -> float | None:
        return _share(self.components[1:3])


def _share(components: tuple[ComponentStats, ...]) -> float | None:
    if not components:
        return None
    total = sum(c.ac_energy for c in components)
    if total == 0:
        return 0.0  # no AC energy at all (a flat image): none of it is high-frequency
    return sum(c.high_frequency_energy for c in components) / total


def file_stats(coefficients: DctCoefficients) -> FileStats:
    return FileStats(tuple(component_stats(c) for c in coefficients.components))
