"""The scan store's columns: names and Arrow types, in order. docs/store-schema.md documents
each one; tests check that the two agree. Pure (no pyarrow import), so that rows can be built
without the store."""

from __future__ import annotations

SCHEMA_VERSION = 1

COLUMNS: tuple[tuple[str, str], ...] = (
    # identity and provenance
    ("path", "string"),
    ("split", "string"),
    ("label", "string"),
    ("root", "string"),
    ("entry_name", "string"),
    ("entry_type", "string"),
    ("bytes", "int64"),
    ("mtime_ns", "int64"),
    ("read_bytes", "int64"),
    ("scanned_at", "timestamp"),
    ("scanner_version", "string"),
    # format and errors
    ("format", "string"),
    ("ext", "string"),
    ("ext_mismatch", "bool"),
    ("error", "string"),
    ("warnings", "string"),
    # frame
    ("width", "int32"),
    ("height", "int32"),
    ("components", "int16"),
    ("component_ids", "string"),
    ("color", "string"),
    ("sampling_factors", "string"),
    ("subsampling", "string"),
    ("chroma_factors_differ", "bool"),
    ("process", "string"),
    ("sof", "int16"),
    ("progressive", "bool"),
    ("arithmetic", "bool"),
    ("precision", "int16"),
    ("restart_interval", "int32"),
    ("header_bytes", "int64"),
    # quantization and quality
    ("qtable_ids", "string"),
    ("qtables", "string"),
    ("qtable_bits", "int16"),
    ("qtables_hash", "string"),
    ("quality_luma", "int16"),
    ("quality_chroma", "int16"),
    ("quality_chroma_range", "string"),
    ("quality_exact", "bool"),
    ("quality_fit_error", "float64"),
    ("quality_closeness", "float64"),
    ("encoder", "string"),
    ("encoder_detail", "string"),
    ("encoder_quality", "int16"),
    ("encoder_confidence", "string"),
    ("header_signature", "string"),
    # huffman
    ("huffman_tables", "int16"),
    ("huffman_standard", "bool"),
    # markers and metadata
    ("app_markers", "string"),
    ("jfif", "bool"),
    ("jfif_version", "string"),
    ("density_unit", "int16"),
    ("x_density", "int32"),
    ("y_density", "int32"),
    ("adobe_transform", "int16"),
    ("exif", "bool"),
    ("orientation", "int16"),
    ("exif_make", "string"),
    ("exif_model", "string"),
    ("exif_software", "string"),
    ("xmp", "bool"),
    ("icc", "bool"),
    ("icc_bytes", "int64"),
    ("icc_colorspace", "string"),
    ("mpf", "bool"),
    ("photoshop", "bool"),
    ("comment", "string"),
    # integrity
    ("truncated", "bool"),
    ("trailing_bytes", "int64"),
    ("tail_checked", "bool"),
)

# Added by the deep modules (docs/deep.md documents each): `backend` for every row;
# `component_sizes` by `--backend torchjpeg` rows (computable for any row from its frame
# header with `deep.sizes.component_sizes_from_factors`).
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

COLUMNS = COLUMNS + BACKEND_COLUMNS + DEEP_COLUMNS

COLUMN_NAMES: tuple[str, ...] = tuple(name for name, _ in COLUMNS)


_EMPTY_ROW = dict.fromkeys(COLUMN_NAMES)


def empty_row() -> dict:
    return _EMPTY_ROW.copy()  # a copy is 8x faster than dict.fromkeys over 80 names
