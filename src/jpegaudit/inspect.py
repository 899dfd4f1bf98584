"""One file explained: its markers, tables, factors and how its quality was estimated."""

from __future__ import annotations

import os
import stat
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from jpegaudit.audit import DEFAULT_LIMITS, Origin
from jpegaudit.audit.columns import table_evidence
from jpegaudit.jpeg import parse_jpeg
from jpegaudit.jpeg.header import JpegHeader
from jpegaudit.jpeg.markers import marker_name
from jpegaudit.provenance import Verdict, identify
from jpegaudit.provenance.explain import Explanation, explain
from jpegaudit.quality import match_table
from jpegaudit.sources.local import audit_local_batch, audit_path
from jpegaudit.sources.paths import default_split, display_path


@dataclass(frozen=True)
class TableReport:
    slot: int
    bits: int
    used_by: tuple[int, ...]  # component ids
    kind: str  # "luma" or "chroma": which IJG base table it is compared with
    values: tuple[int, ...]
    quality: int
    exact: bool
    candidates: tuple[int, ...]
    rms_log2_error: float
    close_entries: int


@dataclass(frozen=True)
class Inspection:
    row: dict
    header: JpegHeader | None
    tables: tuple[TableReport, ...]
    core: str = "python"  # which core made `row`: "compiled", or "python" (the reference)
    provenance: Verdict | None = None
    explanation: Explanation | None = None

    def to_json_dict(self) -> dict:
        row = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in self.row.items()}
        header = None
        if self.header is not None:
            header = asdict(self.header)
            header["qtables"] = {str(k): v for k, v in header["qtables"].items()}
        provenance = None
        if self.provenance is not None:
            provenance = self.provenance._asdict()
            if self.explanation is not None:
                provenance["explanation"] = asdict(self.explanation)
        tables = [asdict(t) for t in self.tables]
        return {
            "core": self.core,
            "row": row,
            "header": header,
            "tables": tables,
            "provenance": provenance,
        }


def file_row(path: str) -> tuple[dict, str]:
    """The file's store row, made as a scan makes it: by the compiled core when it is built
    and the file is a regular one with a clean header, else by the reference core. Returns the
    row and which core made it."""
    try:
        regular = stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        regular = False
    handed_back = []

    def reference_row(k: int) -> dict:
        handed_back.append(k)
        return audit_path(path)

    if regular:
        origin = Origin(default_split(path), path, datetime.now(timezone.utc))
        columns = audit_local_batch(
            (path,), (display_path(path),), b"\x01", origin, DEFAULT_LIMITS, reference_row
        )
        if columns is not None:
            from jpegaudit.store.arrow import table_from_columns  # pyarrow: only when needed

            row = table_from_columns(columns.finish()).to_pylist()[0]
            return row, "python" if handed_back else "compiled"
    return audit_path(path), "python"


def inspect_file(path: str | os.PathLike) -> Inspection:
    row, core = file_row(os.fspath(path))
    header = None
    tables: list[TableReport] = []
    if row["format"] == "jpeg":
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            data = f.read(min(size, DEFAULT_LIMITS.max_header_bytes))
        header = parse_jpeg(data, size)
        if header.frame is not None:
            first_slot = header.frame.components[0].tq
            for slot, table in sorted(header.qtables.items()):
                users = tuple(c.id for c in header.frame.components if c.tq == slot)
                kind = "luma" if slot == first_slot else "chroma"
                fit = match_table(table.values, kind)
                tables.append(
                    TableReport(
                        slot=slot,
                        bits=table.bits,
                        used_by=users,
                        kind=kind,
                        values=table.values,
                        quality=fit.quality,
                        exact=fit.exact,
                        candidates=fit.candidates,
                        rms_log2_error=(fit.sq_log_error / 64) ** 0.5,
                        close_entries=fit.close_entries,
                    )
                )
    verdict = explanation = None
    if header is not None and header.frame is not None and row["encoder"] is not None:
        structure, verdict = identify(
            header, table_evidence(row), row["subsampling"], row["huffman_standard"]
        )
        if structure is not None:
            explanation = explain(structure, verdict)
    return Inspection(
        row=row,
        header=header,
        tables=tuple(tables),
        core=core,
        provenance=verdict,
        explanation=explanation,
    )


def describe(ins: Inspection) -> str:
    """Human-readable text for `jpegaudit inspect`."""
    r = ins.row
    out = [f"{r['path']}: {r['format'] or r['entry_type']}, {r['bytes']} bytes"]
    if r["error"]:
        out.append(f"  error: {r['error']}")
    if r["warnings"]:
        out.append(f"  warnings: {r['warnings']}")
    h = ins.header
    if h is None:
        return "\n".join(out)
    out.append("markers before the first SOS:")
    for seg in h.app_segments:
        out.append(
            f"  {marker_name(seg.marker):6} at {seg.offset:>7}  {seg.length:>6} bytes  {seg.ident}"
        )
    if h.frame is not None:
        f = h.frame
        out.append(
            f"frame: {marker_name(f.sof)} ({r['process']}{', arithmetic' if r['arithmetic'] else ''}),"
            f" {f.width}x{f.height}, {f.precision}-bit, {len(f.components)} components"
        )
        for c in f.components:
            out.append(f"  component {c.id}: {c.h}x{c.v} sampling, table {c.tq}")
        out.append(
            f"colour: {r['color']}  subsampling: {r['subsampling']}  factors: {r['sampling_factors']}"
        )
    out.append(
        f"restart interval: {h.restart_interval}  huffman tables: {len(h.huffman_tables)}"
        f" ({'standard' if r['huffman_standard'] else 'optimized/custom'})"
    )
    if r["orientation"] is not None:
        out.append(f"EXIF orientation: {r['orientation']}")
    for t in ins.tables:
        how = (
            f"exact IJG {t.kind} table at q {t.quality}"
            + (
                f" (also q {', '.join(map(str, t.candidates[1:]))})"
                if len(t.candidates) > 1
                else ""
            )
            if t.exact
            else f"not an IJG table; nearest IJG {t.kind} q {t.quality}, RMS log2 error "
            f"{t.rms_log2_error:.3f}, {t.close_entries}/64 entries within 5 %"
        )
        users = ",".join(map(str, t.used_by)) or "no component"
        out.append(f"quantization table {t.slot} ({t.bits}-bit, used by {users}): {how}")
        for row_start in range(0, 64, 8):
            out.append("    " + " ".join(f"{v:5d}" for v in t.values[row_start : row_start + 8]))
    if r["quality_luma"] is not None:
        chroma = r["quality_chroma"]
        out.append(
            f"quality: luma {r['quality_luma']}, chroma {chroma if chroma is not None else '-'}"
            + (
                f" (exact match for {r['quality_chroma_range']})"
                if r["quality_chroma_range"]
                else ""
            )
            + (
                "  [exact IJG]"
                if r["quality_exact"]
                else f"  [approximate: fit error {r['quality_fit_error']:.3f}, closeness {r['quality_closeness']:.2f}]"
            )
        )
    out.append(f"truncated: {r['truncated']}  trailing bytes: {r['trailing_bytes']}")
    out.extend(_describe_provenance(ins))
    return "\n".join(out)


def _describe_provenance(ins: Inspection) -> list[str]:
    v, e = ins.provenance, ins.explanation
    if v is None:
        return [f"encoder: {ins.row['encoder']}"]
    quality = "" if v.quality is None else f", its quality setting {v.quality}"
    out = [
        f"encoder: {v.encoder} ({v.confidence}{quality})",
        f"  {v.detail}",
        f"  header signature: {v.signature}",
        "  why:",
    ]
    out += [f"    - {reason}" for reason in v.reasons]
    if v.pipelines:
        out.append("  settings consistent with: " + ", ".join(v.pipelines))
    if e is None:
        return out
    out.append(f"  layout {e.layout_hash}:")
    out += [f"    {name}: {value}" for name, value in e.features]
    if e.same_layout:
        out.append("  recorded with this layout:")
        out += [f"    {t}" for t in e.same_layout]
    if e.same_tables:
        out.append("  recorded with these tables:")
        out += [f"    {t}" for t in e.same_tables]
    if e.nearest:
        out.append("  nearest recorded layouts (what differs):")
        for near in e.nearest:
            who = ", ".join(near.writers) or "corpus files"
            out.append(f"    {near.layout_hash} ({who}):")
            out += [f"      {d}" for d in near.differences]
    return out
