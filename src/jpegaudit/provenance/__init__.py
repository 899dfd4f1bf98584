"""Provenance: which software wrote a file, from its header alone (docs/provenance.md).

Pure core, shared by every scan core: a parsed `JpegHeader` (and what `quality` says of its
tables) in; the `encoder`, `encoder_detail`, `encoder_quality`, `encoder_confidence` and
`header_signature` columns out. The signature database is data in `provenance/data/`, written
by `scripts/build_signatures.py` and loaded once, at first use.
"""

from jpegaudit.provenance.catalog import (
    CONFIDENCE_LEVELS,
    ENCODER_FAMILIES,
    PIPELINES,
    WRITERS,
)
from jpegaudit.provenance.identify import (
    NO_FRAME,
    Structure,
    TableEvidence,
    Verdict,
    identify,
    judge,
)

PROVENANCE_COLUMNS = (
    "encoder",
    "encoder_detail",
    "encoder_quality",
    "encoder_confidence",
    "header_signature",
)

__all__ = [
    "CONFIDENCE_LEVELS",
    "ENCODER_FAMILIES",
    "NO_FRAME",
    "PIPELINES",
    "PROVENANCE_COLUMNS",
    "WRITERS",
    "Structure",
    "TableEvidence",
    "Verdict",
    "identify",
    "judge",
]
