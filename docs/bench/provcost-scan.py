"""One whole scan (jpegaudit.api.scan) of a folder into a fresh store, and the CPU it took: the
main process and its pool workers (getrusage), per file (docs/performance.md, "Cheaper
provenance per row").

usage: JPEGAUDIT_CORE=compiled PYTHONPATH=TREE/src python provcost-scan.py SET_DIR STORE FILES JOBS"""
import resource, shutil, sys, time
from jpegaudit.api import scan

root, store, n, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
shutil.rmtree(store, ignore_errors=True)
def cpu(who):
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime, r.ru_minflt
(a, fa), (b, fb) = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
t = time.perf_counter()
scan([root], store, jobs=jobs)
wall = time.perf_counter() - t
(m, fm), (ch, fc) = cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
m, ch = m - a, ch - b
print(f"wall {wall * 1e3:.0f} ms main {m * 1e3:.0f} children {ch * 1e3:.0f}; "
      f"total {(m + ch) / n * 1e6:.2f} us/file main {m / n * 1e6:.2f}; "
      f"faults main {fm - fa} children {fc - fb}")
