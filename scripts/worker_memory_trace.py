"""Resident memory of one process running a scan's units one after another, as a worker does
(docs/performance.md, "Now": is the worker's memory bounded?). Prints RSS every 5 units.

    JPEGAUDIT_CORE=compiled python scripts/worker_memory_trace.py /work/bench-data/imagenet-like-200k

Arrow's allocator can be swapped for a comparison: ARROW_DEFAULT_MEMORY_POOL=system (or
jemalloc) before the same command.
"""

import resource
import sys
import tempfile

from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.plan import Planner, batched_works
from jpegaudit.scanner.roots import Root
from jpegaudit.scanner.units import audit_unit
from jpegaudit.store.index import StoreIndex

root = sys.argv[1] if len(sys.argv) > 1 else "/work/bench-data/imagenet-like-200k"
options = ScanOptions()
wd = tempfile.mkdtemp(dir="/tmp")
planner = Planner(StoreIndex.empty(), set(), options)
works = list(batched_works(planner.planned([Root(root, "local", "x")]), options, wd, {}))
print(len(works), "units")


def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20


def anonymous_and_file() -> str:
    """RssAnon / RssFile: the heap and the allocators' pages apart from mapped code and data."""
    status = dict(line.split(":", 1) for line in open("/proc/self/status"))
    kib = {k: int(status[k].split()[0]) for k in ("RssAnon", "RssFile")}
    return f"anon {kib['RssAnon'] / 1024:.1f} file {kib['RssFile'] / 1024:.1f}"


for k, w in enumerate(works):
    audit_unit(w)
    if k % 5 == 0 or k == len(works) - 1:
        print(
            k,
            f"rss {rss():.1f} MiB ({anonymous_and_file()}) maxrss "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}",
            flush=True,
        )
