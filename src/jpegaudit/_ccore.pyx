# cython: language_level=3
"""The compiled scan core (placeholder while it is written)."""

CORE = "compiled"
