"""The process engine: units of work in a local pool of processes."""

from __future__ import annotations

import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from itertools import chain
from pathlib import Path

from jpegaudit.provenance.database import database
from jpegaudit.quality import load_reference_tables
from jpegaudit.scanner.distributor import Distributor, Record
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.units import Work, audit_unit, end_with_parent, without_huge_pages
from jpegaudit.store.arrow import arrow_without_pandas, preload_conversion_modules


class ProcessPoolDistributor(Distributor):
    """A local `ProcessPoolExecutor` of `jobs` workers (inline in this process for one job).
    At most 2 x jobs units are in flight, so memory does not grow with the dataset. Workers
    ignore SIGINT and finish their unit; Ctrl-C stops handing out new ones.

    The pool starts with the first unit, so a rescan with nothing to read starts no process,
    and with no more workers than the plan has units (a plan of one unit forks one worker).
    A plan of fewer than SMALL_PLAN_FILES local files runs here, in this process, when the
    compiled core reads all of it (one worker would run it as serially, after a fork; the
    reference core's rows would make pyarrow import pandas here)."""

    def __init__(self, options: ScanOptions, store_root: Path) -> None:
        self.jobs = options.worker_count()  # workers write parts into work.store themselves

    def run(self, works: Iterator[Work], record: Record) -> None:
        if self.jobs == 1:
            _run_here(works, record)
            return
        works = iter(works)
        first, whole_plan = _head_of_plan(works, self.jobs)
        if not first:
            return
        in_flight: set[Future] = set()
        workers = min(self.jobs, len(first))
        if whole_plan and _local_files(first) < SMALL_PLAN_FILES:
            if all(w.converts_no_python_values() for w in first):
                _run_here(first, record)
                return
            workers = 1
        _prepare_to_fork()
        with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker) as pool:
            try:
                for w in chain(first, works):
                    in_flight.add(pool.submit(audit_unit, w))
                    if len(in_flight) >= 2 * workers:
                        done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                        for f in done:
                            record(f.result())
                for f in list(in_flight):
                    in_flight.discard(f)
                    record(f.result())
            except KeyboardInterrupt:
                # Keep what is running (workers ignore SIGINT and finish their unit), drop the
                # rest.
                for f in in_flight:
                    f.cancel()
                for f in in_flight:
                    if not f.cancelled():
                        try:
                            record(f.result())
                        except Exception:
                            pass
                raise


# A plan of fewer local files than this runs in this process (or in one worker): a second
# worker's start (the fork, its first touches of the parent's memory, its own first-use costs:
# about 10 ms) costs more than it saves on a thousand files' 12 ms of work, and the first
# worker's costs as much and saves nothing (corpora, 159 files: 35 ms of CPU a scan with one
# worker, 15 ms here).
SMALL_PLAN_FILES = 2000


def _run_here(works: Iterable[Work], record: Record) -> None:
    """Each unit in this process, recorded as it ends. Ctrl-C stops the unit running (its part
    is written whole or not at all) and keeps every unit recorded before it."""
    for w in works:
        record(audit_unit(w))


def _head_of_plan(works: Iterator[Work], jobs: int) -> tuple[list[Work], bool]:
    """The first units of the plan: `jobs` of them, or more while they hold fewer than
    SMALL_PLAN_FILES local files (so a small plan is seen whole); and whether that is all."""
    head: list[Work] = []
    for w in works:
        head.append(w)
        if len(head) >= jobs and _local_files(head) >= SMALL_PLAN_FILES:
            return head, False
    return head, True


def _local_files(works: list[Work]) -> float:
    # A unit that is not local files (objects, shards) counts as large: it is worth a worker.
    return sum(float("inf") if (n := w.local_files()) is None else n for w in works)


def _prepare_to_fork() -> None:
    """Workers fork from here: what each would otherwise load at its first file (the
    signature database, the IJG reference tables, pyarrow's conversion modules) is loaded
    once, here, and inherited. A scan of a few hundred files pays these per worker per scan."""
    database()
    load_reference_tables()
    preload_conversion_modules()


def _init_worker() -> None:
    # Workers finish their unit on Ctrl-C; the main process stops handing out new ones.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    end_with_parent()
    without_huge_pages()
    arrow_without_pandas()  # a worker hands pyarrow lists, never pandas objects
