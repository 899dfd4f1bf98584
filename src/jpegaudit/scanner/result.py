"""What a scan returns, and how it fails."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class ScanError(Exception):
    """The scan cannot run as asked (bad arguments, store unusable)."""


@dataclass(frozen=True)
class ScanResult:
    store: Path
    scanned: int  # rows written by this run
    unchanged: int  # entries skipped because size, mtime (or a shard's version) and split held
    removed: int  # rows dropped for files that no longer exist
    errors: int  # rows written by this run whose `error` is set
    elapsed_s: float
    interrupted: bool = False
    units: int = 0  # units of work (batches, shards) completed by this run
    requests: int = 0  # requests to remote stores made by the units (retries included)
    fetched_bytes: int = 0  # bytes received from remote stores by the units


class ScanInterrupted(Exception):
    def __init__(self, result: ScanResult) -> None:
        super().__init__("scan interrupted")
        self.result = result
