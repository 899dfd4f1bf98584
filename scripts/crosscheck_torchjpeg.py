"""Compare the header scan with libjpeg read through torchjpeg, file by file, and list every
disagreement. Run it in the torchjpeg environment (see docs/deep.md):

    python scripts/crosscheck_torchjpeg.py [PATH ...]      # default: ../shared/corpora

Compared, for every JPEG that libjpeg reads: frame width and height, component count, each
component's size (libjpeg's downsampled_width/height against what the header's sampling factors
give), each component's quantization table (the first three: torchjpeg returns no more), the
IJG qualities derived from them, the subsampling scheme the sizes imply, and truncation (the
header scan's missing EOI against libjpeg's "Premature end of JPEG file"). Where the system's
libjpeg-turbo loads (TurboJPEG reader), every coefficient torchjpeg's libjpeg 9 decoded is
compared with libjpeg-turbo's too, with their sizes and tables.

Files torchjpeg must not be given (see torchjpeg_reader.check_readable) and files libjpeg cannot
read are listed separately, with the header scan's verdict beside libjpeg's.

Exit status: 0 no disagreement, 1 disagreements, 2 cannot run (torchjpeg missing, no files).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"


def per_component_tables(path: str) -> list[str] | None:
    """Each component's table as the header parser read it (natural order), or None."""
    from jpegaudit.jpeg import parse_jpeg

    data = Path(path).read_bytes()
    header = parse_jpeg(data, len(data))
    if header.frame is None:
        return None
    tables = []
    for component in header.frame.components:
        table = header.qtables.get(component.tq)
        tables.append(None if table is None else ",".join(map(str, table.values)))
    return tables


def compare(
    path: str, header: dict, libjpeg: dict, coefficients
) -> list[tuple[str, object, object]]:
    from jpegaudit.deep.sizes import component_sizes_from_factors, subsampling_from_sizes

    found: list[tuple[str, object, object]] = []

    def check(field: str, ours, theirs) -> None:
        if ours != theirs:
            found.append((field, ours, theirs))

    check("width", header["width"], libjpeg["width"])
    check("height", header["height"], libjpeg["height"])
    check("components", header["components"], libjpeg["components"])
    expected_sizes = component_sizes_from_factors(
        header["width"], header["height"], header["sampling_factors"]
    )
    check("component_sizes", expected_sizes, libjpeg["component_sizes"])
    ours = per_component_tables(path) or []
    for component in coefficients.components:
        theirs = ",".join(map(str, component.qtable))
        mine = ours[component.index] if component.index < len(ours) else None
        check(f"qtable[{component.index}]", mine, theirs)
    if len(coefficients.components) == len(coefficients.sizes):
        # All components read: the derived qualities must agree too.
        for field in ("quality_luma", "quality_chroma", "quality_exact", "qtables_hash"):
            check(field, header[field], libjpeg[field])
    named = subsampling_from_sizes(coefficients.sizes)
    if named is not None:
        check("subsampling", header["subsampling"], named)
    libjpeg_truncated = (coefficients.warning or "").startswith("Premature end of JPEG file")
    check("truncated", bool(header["truncated"]), libjpeg_truncated)
    return found


def compare_readers(path: str, theirs) -> tuple[list[tuple[str, object, object]], str | None]:
    """torchjpeg's coefficients (IJG libjpeg 9) against the libjpeg-turbo reader's: sizes,
    tables and every coefficient. Returns (disagreements, a note when only the warning text
    differs, or when libjpeg-turbo cannot read the file)."""
    import numpy as np

    from jpegaudit.deep import libjpeg_reader
    from jpegaudit.deep.coefficients import CoefficientReadError

    try:
        ours = libjpeg_reader.read_coefficients(path)
    except CoefficientReadError as exc:
        return [], f"libjpeg-turbo cannot read it: {exc}"
    found: list[tuple[str, object, object]] = []
    if ours.sizes != theirs.sizes:
        found.append(("reader sizes", ours.sizes, theirs.sizes))
    for a, b in zip(ours.components, theirs.components, strict=False):
        if a.qtable != b.qtable:
            found.append((f"reader qtable[{a.index}]", a.qtable, b.qtable))
        if a.blocks.shape != b.blocks.shape:
            found.append((f"reader blocks[{a.index}]", a.blocks.shape, b.blocks.shape))
        elif not np.array_equal(a.blocks, b.blocks):
            differing = int(np.count_nonzero(a.blocks != b.blocks))
            found.append((f"reader coefficients[{a.index}]", f"{differing} differ", "-"))
    note = None
    if (ours.warning is None) != (theirs.warning is None):
        found.append(("reader warning", ours.warning, theirs.warning))
    elif ours.warning != theirs.warning:
        note = f"warning text: libjpeg-turbo {ours.warning!r}, libjpeg 9 {theirs.warning!r}"
    return found, note


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", default=[str(DEFAULT_CORPORA)])
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    args = parser.parse_args()

    from jpegaudit.api import audit_file
    from jpegaudit.deep import torchjpeg_reader
    from jpegaudit.deep.backend import libjpeg_columns, read_for_row

    if not torchjpeg_reader.available():
        print("torchjpeg is not installed here: run this in its environment", file=sys.stderr)
        return 2
    files: list[str] = []
    for p in args.paths:
        if os.path.isdir(p):
            for dirpath, dirnames, names in os.walk(p):
                dirnames.sort()
                files += [os.path.join(dirpath, n) for n in sorted(names) if n != "MANIFEST.tsv"]
        elif os.path.exists(p):
            files.append(p)
    files = [f for f in files if not f.endswith((".md", ".tsv"))]
    if not files:
        print(f"no files under {args.paths}", file=sys.stderr)
        return 2

    from jpegaudit.deep import libjpeg_reader

    with_turbo = libjpeg_reader.available()
    started = time.perf_counter()
    compared, disagreements, refused, unreadable, not_jpeg = [], [], [], [], []
    notes: list[tuple[str, str]] = []
    for path in files:
        header = audit_file(path)
        if header["format"] != "jpeg":
            not_jpeg.append((path, header["format"]))
            continue
        coefficients, problem = read_for_row(path, header)
        if coefficients is None:
            entry = (path, problem, header["error"])
            (refused if problem.startswith("not read") else unreadable).append(entry)
            continue
        compared.append(path)
        libjpeg = libjpeg_columns(coefficients, header)
        found = compare(path, header, libjpeg, coefficients)
        if with_turbo:
            between, note = compare_readers(path, coefficients)
            found += between
            if note:
                notes.append((path, note))
        for field, ours, theirs in found:
            disagreements.append((path, field, ours, theirs))
    elapsed = time.perf_counter() - started

    if args.json:
        print(json.dumps({
            "files": len(files), "compared": len(compared), "seconds": round(elapsed, 2),
            "disagreements": [dict(zip(("path", "field", "header", "libjpeg"), d, strict=True))
                              for d in disagreements],
            "refused": [dict(zip(("path", "why", "header_error"), r, strict=True))
                        for r in refused],
            "libjpeg_errors": [dict(zip(("path", "libjpeg", "header_error"), u, strict=True))
                               for u in unreadable],
            "not_jpeg": [dict(zip(("path", "format"), n, strict=True)) for n in not_jpeg],
            "notes": [dict(zip(("path", "note"), n, strict=True)) for n in notes],
        }, indent=2, default=str))  # fmt: skip
        return 1 if disagreements else 0

    print(f"{len(files)} files: {len(compared)} read by libjpeg (torchjpeg) and compared, "
          f"{len(unreadable)} libjpeg cannot read, {len(refused)} not given to torchjpeg, "
          f"{len(not_jpeg)} not JPEG; {elapsed:.1f} s")  # fmt: skip
    if with_turbo:
        print("coefficients also compared with the system's libjpeg-turbo (TurboJPEG reader)")
    print(f"\ndisagreements on files libjpeg reads: {len(disagreements)}")
    for path, field, ours, theirs in disagreements:
        print(f"  {path}: {field}: header {ours!r} != libjpeg {theirs!r}")
    if notes:
        print("\nnotes (not disagreements: the two libjpegs differ, not the scan):")
        for path, note in notes:
            print(f"  {path}: {note}")
    if unreadable:
        print("\nlibjpeg cannot read (header scan's verdict beside it):")
        for path, problem, header_error in unreadable:
            print(f"  {path}: {problem} | header: {header_error or 'no error'}")
    if refused:
        print("\nnot given to torchjpeg (it would misread or overflow):")
        for path, why, header_error in refused:
            print(f"  {path}: {why} | header: {header_error or 'no error'}")
    if not_jpeg:
        formats = sorted({f for _, f in not_jpeg})
        print(f"\nnot JPEG ({len(not_jpeg)}): {', '.join(formats)}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    raise SystemExit(main())
