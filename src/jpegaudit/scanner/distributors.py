"""Every engine a scan can run on, in one table: `ScanOptions.engine` names one. A new engine is
a module with a `scanner.distributor.Distributor` and one line here."""

from __future__ import annotations

from jpegaudit.scanner.dask_engine import DaskDistributor
from jpegaudit.scanner.distributor import Distributor
from jpegaudit.scanner.process_pool import ProcessPoolDistributor

# The keys are `scanner.options.ENGINES` (tests/scanner/test_options.py checks they agree).
DISTRIBUTORS: dict[str, type[Distributor]] = {
    "process": ProcessPoolDistributor,
    "dask": DaskDistributor,
}
