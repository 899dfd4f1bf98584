"""The Dask engine: the units of work the process pool runs, run as Dask tasks instead.

Each task audits one unit (a shard, or a batch of files or objects) on a worker and returns
the unit's Parquet part as bytes; the client writes it into the store under the unit's name,
as the process pool's workers do. So the store needs no file system shared with the workers
(a cluster in the cloud reading a bucket works), and a scan on Dask gives the same store as one
on the process pool. Results are small next to what workers read: about 100 bytes of Parquet
per file. Dask is imported here only, and only for `--engine dask`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

from jpegaudit.scanner.distributor import Distributor
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.units import UnitDone, Work, audit_unit_to_parquet
from jpegaudit.store.files import write_part_bytes_atomically

# A task is re-run on another worker when its worker dies (out of memory, preempted); the part
# name is the unit's, so a re-run rewrites it. Per-file problems are rows, never task errors.
TASK_RETRIES = 2


class DaskDistributor(Distributor):
    """Every unit on the cluster at `options.scheduler` (an address such as
    `tcp://host:8786`), or on a LocalCluster of `jobs` single-threaded worker processes when
    None. At most two units per worker thread are in flight, so the client's memory does not
    grow with the dataset."""

    def __init__(self, options: ScanOptions, store_root: Path) -> None:
        self.jobs = options.worker_count()
        self.scheduler = options.scheduler
        self.store_root = store_root

    def run(self, works: Iterator[Work], record: Callable[[UnitDone], None]) -> None:
        try:
            from distributed import Client, LocalCluster, as_completed
        except ImportError as exc:
            raise ImportError(
                "--engine dask needs dask.distributed: pip install 'jpegaudit[dask]'"
            ) from exc

        cluster = None
        if self.scheduler is None:
            cluster = LocalCluster(
                n_workers=self.jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            client = Client(self.scheduler)
        try:
            slots = max(1, sum(client.nthreads().values()))
            in_flight = as_completed()
            pending = iter(works)

            def submit_next() -> bool:
                work = next(pending, None)
                if work is None:
                    return False
                future = client.submit(
                    audit_unit_to_parquet,
                    work,
                    key=f"jpegaudit-{work.unit.digest()}",
                    pure=False,
                    retries=TASK_RETRIES,
                )
                in_flight.add(future)
                return True

            for _ in range(2 * slots):
                if not submit_next():
                    break
            try:
                for future in in_flight:
                    data, done = future.result()
                    future.release()
                    write_part_bytes_atomically(data, self.store_root / done.part)
                    record(done)
                    submit_next()
            except KeyboardInterrupt:
                # Unlike pool workers, tasks cannot finish after the client stops listening:
                # drop what is in flight; finished units are already in the store.
                in_flight.clear()
                raise
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
