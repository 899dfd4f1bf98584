"""What the first read's size costs on files whose headers outgrow it: fresh scans of one
folder (jobs=1, 10 scans a timing, 3 timings) with ReadLimits(head_bytes=4096), the default,
and 16384, the default before; CPU per scan and per file, and the bytes each read
(docs/performance.md, "Now").

    JPEGAUDIT_CORE=compiled python scripts/bench_head_size.py ../shared/corpora/exif-samples
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from jpegaudit.api import scan
from jpegaudit.audit import ReadLimits

HEADS = (4096, 16384)


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main(root: str) -> None:
    work = Path(tempfile.mkdtemp(prefix="jpegaudit-head-"))
    timings: dict[int, list[float]] = {h: [] for h in HEADS}
    for _ in range(3):
        for head in HEADS:
            start = cpu_seconds()
            for k in range(10):
                store = work / f"{head}-{k}"
                shutil.rmtree(store, ignore_errors=True)
                scan([root], store, jobs=1, limits=ReadLimits(head_bytes=head))
            timings[head].append((cpu_seconds() - start) / 10)
    tables = {
        h: pq.read_table(work / f"{h}-0", columns=["header_bytes", "read_bytes"]) for h in HEADS
    }
    headers = tables[HEADS[0]].column("header_bytes").to_pylist()
    files = len(headers)
    print(f"{root}: {files} files; headers over 4 KiB: {sum((h or 0) > 4096 for h in headers)}, "
          f"over 16 KiB: {sum((h or 0) > 16384 for h in headers)}")  # fmt: skip
    for head in HEADS:
        read = sum(v or 0 for v in tables[head].column("read_bytes").to_pylist())
        best = min(timings[head])
        print(f"head {head:>5}: CPU ms a scan {[round(t * 1e3, 1) for t in timings[head]]}, "
              f"{best / files * 1e6:.1f} us a file (best), {read:,} bytes read")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpora/exif-samples")
