"""The interface of where units of work run. A distributor takes the units one at a time (so
that the plan is never held whole) and reports each finished unit; every distributor leaves
the same parts in the store. Implementations: scanner/process_pool.py (`process`) and
scanner/dask_engine.py (`dask`), listed in scanner/distributors.py."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path

from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.units import UnitDone, Work

Record = Callable[[UnitDone], None]


class Distributor(ABC):
    """Runs every unit of `works` and calls `record` with each one's summary once its part is
    in the store. On KeyboardInterrupt: keep what can be kept, then re-raise."""

    @abstractmethod
    def __init__(self, options: ScanOptions, store_root: Path) -> None: ...

    @abstractmethod
    def run(self, works: Iterator[Work], record: Record) -> None: ...
