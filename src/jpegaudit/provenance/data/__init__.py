"""The signature database (TSV), written by scripts/build_signatures.py; see docs/provenance.md."""
