"""The compiled core's audit_files over the first N files of a set (sorted walk), in batches
of 4,096 as a scan's units, in one process (docs/performance.md, "Cheaper provenance per row").

usage: JPEGAUDIT_CORE=compiled PYTHONPATH=TREE/src python provcost-audit-files.py SET_DIR N PASSES [time]
  PASSES: how many times the list is audited in this process (the caches kept between passes)
  time: print the CPU us/file of each pass (the first is a fresh worker's, the rest warm)
Under callgrind: --collect-atstart=no --toggle-collect='__pyx_pw_9jpegaudit_6_ccore_*audit_files'."""
import os, sys, time
from datetime import datetime, timezone
from jpegaudit.sources.compiled import compiled as core
from jpegaudit.scanner.process_pool import _prepare_to_fork
from jpegaudit.audit.limits import DEFAULT_LIMITS as L
_prepare_to_fork()
root, n, passes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
timing = len(sys.argv) > 4
paths = []
for dirpath, dirs, files in os.walk(root):
    dirs.sort()
    for f in sorted(files):
        paths.append(os.path.join(dirpath, f))
    if len(paths) >= n:
        break
paths = paths[:n]
batches = [tuple(paths[i:i + 4096]) for i in range(0, n, 4096)]
lim = (L.head_bytes, L.max_header_bytes, L.tail_bytes, L.max_tail_bytes, L.read_tail)
when = datetime.now(timezone.utc)
def fb(k):
    raise SystemExit(f"fallback {k}")
out = []
for p in range(passes):
    t0 = time.process_time()
    for b in batches:
        cs = core.audit_files(b, b, b"\x01" * len(b), "x", root, when, lim, fb)
        del cs
    out.append((time.process_time() - t0) / n * 1e6)
if timing:
    print(" ".join(f"{x:.3f}" for x in out))
