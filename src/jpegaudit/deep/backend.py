"""Per-file entry points for the scan engine: `torchjpeg_row(path)` (the study's method as a
backend, same store contract) and `deep_columns(path)` (coefficient statistics, libjpeg's
warnings and double-compression estimate as extra columns). Both read the whole file through
libjpeg; the header scan reads only its first bytes. torch is imported only by the torchjpeg
reader, only when torchjpeg is the reader used."""

from __future__ import annotations

import os

from jpegaudit.audit import quality_columns
from jpegaudit.deep import libjpeg_reader, torchjpeg_reader
from jpegaudit.deep.coefficients import (
    CoefficientReadError,
    CoefficientReadRefused,
    DctCoefficients,
)
from jpegaudit.deep.columns import empty_deep_columns
from jpegaudit.deep.double import estimate_double_compression
from jpegaudit.deep.sizes import format_sizes, subsampling_from_sizes
from jpegaudit.deep.stats import file_stats
from jpegaudit.sources.local import audit_path

# Columns whose value a torchjpeg row takes from libjpeg rather than from the header parser.
LIBJPEG_COLUMNS = (
    "width",
    "height",
    "components",
    "component_sizes",
    "qtables",
    "qtables_hash",
    "quality_luma",
    "quality_chroma",
    "quality_chroma_range",
    "quality_exact",
    "quality_fit_error",
    "quality_closeness",
)


class DeepModeUnavailable(Exception):
    """No coefficient reader can be loaded here (a setup problem, not a file's)."""


# Coefficient readers by name. libjpeg-turbo (system library, by ctypes) works in the main
# environment; torchjpeg only in its own (see docs/deep.md).
READERS = {"libjpeg-turbo": libjpeg_reader, "torchjpeg": torchjpeg_reader}

# How a scan reads tables and sizes: "header" (the header parser, every source) or "torchjpeg"
# (through libjpeg by torchjpeg, local files; the study's method).
BACKENDS = ("header", "torchjpeg")


def choose_reader(backend: str, deep: bool, deep_reader: str | None) -> str | None:
    """The coefficient reader a scan with these settings uses (None when it reads none).
    Raises DeepModeUnavailable when the backend or deep mode cannot run here, a setup problem
    to report before scanning rather than on every row."""
    if backend not in BACKENDS:
        raise DeepModeUnavailable(f"unknown backend {backend!r}: choose header or torchjpeg")
    if backend == "torchjpeg":
        if not torchjpeg_reader.installed():
            raise DeepModeUnavailable(
                "--backend torchjpeg needs torchjpeg, which belongs in its own environment "
                "(it pins torch 2.4.1): see docs/deep.md"
            )
        return "torchjpeg" if deep else None
    if not deep:
        return None
    if deep_reader is not None:
        if deep_reader not in READERS:
            raise DeepModeUnavailable(
                f"unknown deep reader {deep_reader!r}: choose {', '.join(READERS)}"
            )
        if not READERS[deep_reader].available():
            raise DeepModeUnavailable(
                f"deep reader {deep_reader} cannot be loaded here: see docs/deep.md"
            )
        return deep_reader
    return default_reader()


def default_reader() -> str:
    """The reader `deep_columns` uses when none is named: libjpeg-turbo when the system has
    libturbojpeg, else torchjpeg. Raises DeepModeUnavailable when neither loads; call it once
    before a scan so that a missing library stops the scan rather than filling every row."""
    for name, module in READERS.items():
        if module.available():
            return name
    raise DeepModeUnavailable(
        "deep mode needs libjpeg-turbo's libturbojpeg (Debian: apt-get install libturbojpeg0) "
        "or torchjpeg in its own environment (docs/deep.md)"
    )


def _header_row(path: str, split: str | None) -> dict:
    return audit_path(path, split=split)


def read_for_row(
    path: str, row: dict, reader: str = "torchjpeg"
) -> tuple[DctCoefficients | None, str | None]:
    """(coefficients, None), or (None, why not) — refused before the call or libjpeg's error."""
    module = READERS[reader]
    refused = module.check_readable(row)
    if refused is not None:
        return None, f"not read: {refused}"
    try:
        return module.read_coefficients(path), None
    except CoefficientReadRefused as exc:
        return None, f"not read: {exc}"
    except CoefficientReadError as exc:
        return None, str(exc)


def deep_columns(
    path: str | os.PathLike, row: dict | None = None, reader: str | None = None
) -> dict:
    """The deep columns (columns.DEEP_COLUMNS) for one file, all null for entries that are not
    JPEG files. `row`: the file's header-scan row if the caller has it (saves a header read).
    `reader`: a name in READERS; default_reader() when None."""
    path = os.fspath(path)
    if row is None:
        row = _header_row(path, None)
    columns = empty_deep_columns()
    if row.get("entry_type") != "file" or row.get("format") != "jpeg":
        return columns
    reader = reader or default_reader()
    columns["deep_reader"] = READERS[reader].reader_name()
    coefficients, problem = read_for_row(path, row, reader)
    if coefficients is None:
        columns["deep_error"] = problem
        return columns
    columns.update(coefficient_columns(coefficients))
    return columns


def coefficient_columns(coefficients: DctCoefficients) -> dict:
    """Deep columns computed from coefficients already read (any reader)."""
    stats = file_stats(coefficients)
    columns = {
        "deep_reader": coefficients.reader,
        "deep_warning": coefficients.warning,
        "deep_blocks": stats.blocks,
        "deep_zero_ac": ",".join(f"{c.zero_ac_share:.4f}" for c in stats.components),
        "deep_zero_ac_luma": stats.zero_ac_luma,
        "deep_zero_ac_chroma": stats.zero_ac_chroma,
        "deep_hf_energy_luma": stats.high_frequency_luma,
        "deep_hf_energy_chroma": stats.high_frequency_chroma,
    }
    if coefficients.components:
        luma = coefficients.components[0]
        estimate = estimate_double_compression(luma.blocks, luma.qtable)
        columns["double_compressed"] = estimate.detected
        columns["double_first_quality"] = estimate.first_quality
        columns["double_gap_ratio"] = estimate.gap_ratio
        columns["double_evidence"] = estimate.evidence
    return columns


def torchjpeg_row(path: str | os.PathLike, *, split: str | None = None, deep: bool = False) -> dict:
    """One file's store row with frame size, component count, per-component sizes and tables
    (hence quality) read through libjpeg by torchjpeg; every other column from the header scan.
    When torchjpeg cannot or must not read the file, the libjpeg columns are null and `error`
    says why (the header's own error first). `deep`: add the deep columns computed from the
    same torchjpeg read (not from default_reader())."""
    path = os.fspath(path)
    return apply_torchjpeg(_header_row(path, split), path, deep=deep)


def apply_torchjpeg(row: dict, fs_path: str, *, deep: bool = False) -> dict:
    """Turn a header-scan row (as the scan engine builds it, with its own `path`, `split` and
    `root`) into a torchjpeg-backend row, reading the file at `fs_path`. Mutates and returns
    `row`. What `torchjpeg_row` does after its header scan."""
    row["backend"] = "torchjpeg"
    row["component_sizes"] = None
    if deep:
        row.update(empty_deep_columns())
    if row.get("entry_type") != "file" or row.get("format") != "jpeg":
        return row
    coefficients, problem = read_for_row(fs_path, row, "torchjpeg")
    if deep:
        row["deep_reader"] = torchjpeg_reader.reader_name()
    if coefficients is None:
        for column in LIBJPEG_COLUMNS:
            row[column] = None
        row["subsampling"] = None
        row["error"] = row["error"] or f"torchjpeg: {problem}"
        if deep:
            row["deep_error"] = problem
        return row
    row.update(libjpeg_columns(coefficients, row))
    if deep:
        row.update(coefficient_columns(coefficients))
    return row


def libjpeg_columns(coefficients: DctCoefficients, header_row: dict) -> dict:
    """The LIBJPEG_COLUMNS (and subsampling) from what libjpeg returned."""
    columns: dict = {
        "width": coefficients.width,
        "height": coefficients.height,
        "components": len(coefficients.sizes),
        "component_sizes": format_sizes(coefficients.sizes),
    }
    named = subsampling_from_sizes(coefficients.sizes)
    # Sizes name only the common schemes; anything else keeps the header's raw factor string.
    columns["subsampling"] = named if named is not None else header_row.get("subsampling")
    slots = header_row.get("qtable_ids")
    distinct = distinct_tables(
        [c.qtable for c in coefficients.components],
        [int(s) for s in slots.split(",")] if slots else None,
    )
    columns.update(quality_columns(distinct))
    # The provenance columns stay the header's: they come from the same DQT segments (libjpeg
    # reads the tables the header parser read) and from markers libjpeg does not report.
    return columns


def distinct_tables(
    tables: list[tuple[int, ...]], slots: list[int] | None
) -> list[tuple[int, ...]]:
    """The store's table list (as audit.py builds it): the first component's table, then each
    other component's table unless it uses the luma slot or equals a chroma table already
    listed. libjpeg gives values only; the slots come from the frame header when known (a
    chroma slot holding the luma table's values still counts), else equal values are merged."""
    distinct = [tables[0]]
    for i, table in enumerate(tables[1:], start=1):
        same_slot = slots[i] == slots[0] if slots and i < len(slots) else table == tables[0]
        if not same_slot and table not in distinct[1:]:
            distinct.append(table)
    return distinct
