"""The package version, in a module of its own so that any layer can name it without importing
the package root (whose lazy API names would tie every layer to `jpegaudit.api`)."""

__version__ = "0.1.0"
