"""The policy layer's errors. Both mean "the check could not run as asked" (exit 2), never "the
dataset broke a rule" (exit 1)."""

from __future__ import annotations


class PolicyError(Exception):
    """The policy file is missing, not TOML, or says something this version does not accept.
    The message names the file and, where there is one, the key."""


class CheckError(Exception):
    """The check cannot run: a path does not exist, the store or the scan failed, a drift rule
    names a split with no files."""
