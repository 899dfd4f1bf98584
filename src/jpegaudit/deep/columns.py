"""Store columns added by the deep modules, as (name, Arrow type name) like `schema.COLUMNS`.
docs/deep.md documents each one. Pure: no pyarrow import."""

from __future__ import annotations

# Filled by `--backend torchjpeg` rows (and, for `component_sizes`, computable for any row from
# its frame header with `sizes.component_sizes_from_factors`).
BACKEND_COLUMNS: tuple[tuple[str, str], ...] = (
    ("backend", "string"),
    ("component_sizes", "string"),
)

# Filled by `--deep` (null otherwise).
DEEP_COLUMNS: tuple[tuple[str, str], ...] = (
    ("deep_reader", "string"),
    ("deep_error", "string"),
    ("deep_warning", "string"),
    ("deep_blocks", "int64"),
    ("deep_zero_ac", "string"),
    ("deep_zero_ac_luma", "float64"),
    ("deep_zero_ac_chroma", "float64"),
    ("deep_hf_energy_luma", "float64"),
    ("deep_hf_energy_chroma", "float64"),
    ("double_compressed", "bool"),
    ("double_first_quality", "int16"),
    ("double_gap_ratio", "float64"),
    ("double_evidence", "float64"),
)

DEEP_COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in DEEP_COLUMNS)


def empty_deep_columns() -> dict:
    return dict.fromkeys(DEEP_COLUMN_NAMES)
