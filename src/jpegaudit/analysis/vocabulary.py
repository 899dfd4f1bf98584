"""Closed vocabularies of the analyses, importable without numpy or pandas (policy rules check
their keys against them when a policy is loaded)."""

from __future__ import annotations

# The compression features label leakage judges (analysis/leakage.py computes each).
LEAKAGE_FEATURES = (
    "format",
    "encoder",
    "header_signature",
    "quality_band",
    "subsampling",
    "size_band",
    "progressive",
)
