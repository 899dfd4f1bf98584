"""Build the signature database (src/jpegaudit/provenance/data/*.tsv) from real writers.

    python scripts/build_signatures.py                 # every writer that runs here + corpora
    python scripts/build_signatures.py --check         # exit 1 if the files would change
    python scripts/build_signatures.py --only pillow --only cjpeg

Runs every writer of `scripts/writers.py` that is installed at its grid of settings on one
deterministic source image, and records what each writes: its layout (provenance.features),
the hash of its tables (the store's `qtables_hash`), their IJG quality, subsampling, Huffman
coding, process, with the writer's name, version and settings. Writers not installed here keep
the rows the files already hold (the script says which). Camera makers and Photoshop files come
from ../shared/corpora: a file whose EXIF Make names a maker and whose tables are not IJG's
gives a camera row; a file that states its Photoshop quality (APP13 resource 0x0406 or APP12
Ducky) gives a Photoshop row. Each row names where it came from. The same writers give the same
files: rows are sorted and nothing depends on time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import writers as w

from jpegaudit.audit import audit_bytes, new_row
from jpegaudit.jpeg import parse_jpeg
from jpegaudit.provenance import features
from jpegaudit.provenance.catalog import camera_family, software_family
from jpegaudit.provenance.database import (
    CAMERA_COLUMNS,
    LAYOUT_COLUMNS,
    WRITER_COLUMNS,
    read_tsv,
)

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "src" / "jpegaudit" / "provenance" / "data"
CORPORA = REPO.parent / "shared" / "corpora"
HEADER = "# written by scripts/build_signatures.py; docs/provenance.md explains every column\n"


def audit(data: bytes) -> dict:
    row = new_row("x.jpg", "build", "build", None)
    return audit_bytes(lambda o, n: data[o : o + n], len(data), row)


def describe(data: bytes) -> tuple[dict, str, dict]:
    """(the audit row, the layout string, the parsed header) of one file."""
    header = parse_jpeg(data)
    return audit(data), features.layout(header), header


def writer_rows(writer: w.Writer, image) -> tuple[list[dict], dict[str, str]]:
    settings = writer.settings()
    outputs = writer.run(image, settings)
    version = writer.version()
    rows, layouts = [], {}
    for setting, data in zip(settings, outputs, strict=True):
        row, layout, _ = describe(data)
        if row["error"] is not None or row["qtables_hash"] is None:
            raise RuntimeError(f"{writer.name} {setting}: {row['error'] or 'no tables'}")
        lh = features.short_hash(layout)
        layouts[lh] = layout
        rows.append(
            {
                "writer": writer.name,
                "version": version,
                "settings": json.dumps(setting, sort_keys=True, separators=(",", ":")),
                "layout_hash": lh,
                "tables_hash": row["qtables_hash"],
                "ijg_quality": str(row["quality_luma"]) if row["quality_exact"] else "-",
                "subsampling": row["subsampling"],
                "huffman": features.huffman_kind(parse_jpeg(data)),
                "process": row["process"],
                "source": "scripts/build_signatures.py",
            }
        )
    return rows, layouts


def corpus_rows(corpora: Path) -> tuple[list[dict], list[dict], dict[str, str]]:
    """Photoshop rows (files stating their level) and camera rows from the corpora."""
    photoshop, cameras, layouts = [], [], {}
    manifest = corpora / "MANIFEST.tsv"
    sha = {}
    if manifest.is_file():
        for line in manifest.read_text().splitlines()[1:]:
            parts = line.split("\t")
            sha[parts[0]] = parts[5][:12]
    for path in sorted(corpora.rglob("*")):
        if not path.is_file() or path.suffix.lower() not in (".jpg", ".jpeg", ".mpo"):
            continue
        rel = path.relative_to(corpora).as_posix()
        data = path.read_bytes()
        row, layout, header = describe(data)
        if row["error"] is not None or row["qtables_hash"] is None:
            continue
        lh = features.short_hash(layout)
        source = f"corpus {rel} sha256:{sha.get(rel, hashlib.sha256(data).hexdigest()[:12])}"
        level, ducky = header.photoshop_quality, header.ducky_quality
        if level is not None or ducky is not None:
            setting = {"level": level} if level is not None else {"save_for_web": ducky}
            layouts[lh] = layout
            photoshop.append(
                {
                    "writer": "photoshop",
                    "version": (row["exif_software"] or "?").replace("\t", " "),
                    "settings": json.dumps(setting, sort_keys=True, separators=(",", ":")),
                    "layout_hash": lh,
                    "tables_hash": row["qtables_hash"],
                    "ijg_quality": str(row["quality_luma"]) if row["quality_exact"] else "-",
                    "subsampling": row["subsampling"],
                    "huffman": features.huffman_kind(header),
                    "process": row["process"],
                    "source": source,
                }
            )
            continue
        family = camera_family(row["exif_make"])
        if family is None or row["quality_exact"] or software_family(row["exif_software"]):
            continue  # not a camera's own tables (IJG tables, or a program re-encoded it)
        layouts[lh] = layout
        cameras.append(
            {
                "family": family,
                "make": row["exif_make"].replace("\t", " "),
                "model": (row["exif_model"] or "").replace("\t", " "),
                "layout_hash": lh,
                "tables_hash": row["qtables_hash"],
                "source": source,
            }
        )
    return photoshop, cameras, layouts


def render(columns: tuple[str, ...], rows: list[dict]) -> str:
    lines = ["\t".join(columns)]
    lines += sorted("\t".join(r[c] for c in columns) for r in rows)
    return HEADER + "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DATA)
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--only", action="append", help="rebuild only these writers")
    parser.add_argument("--check", action="store_true", help="exit 1 if a file would change")
    args = parser.parse_args(argv)

    existing_writers = _read(args.out / "writers.tsv", WRITER_COLUMNS)
    existing_layouts = {
        r["layout_hash"]: r["layout"] for r in _read(args.out / "layouts.tsv", LAYOUT_COLUMNS)
    }
    image = w.source_image()
    rows: list[dict] = []
    layouts: dict[str, str] = {}
    kept = []
    for writer in w.writers():
        wanted = args.only is None or writer.name in args.only
        if wanted and writer.available():
            got, lay = writer_rows(writer, image)
            rows += got
            layouts.update(lay)
            print(f"{writer.name}: {len(got)} files ({writer.version()})", file=sys.stderr)
        else:
            old = [r for r in existing_writers if r["writer"] == writer.name]
            rows += old
            layouts.update({r["layout_hash"]: existing_layouts[r["layout_hash"]] for r in old})
            if wanted:
                kept.append(writer.name)
    cameras = _read(args.out / "cameras.tsv", CAMERA_COLUMNS)
    if args.corpora.is_dir() and args.only is None:
        photoshop, cameras, lay = corpus_rows(args.corpora)
        rows = [r for r in rows if r["writer"] != "photoshop"] + photoshop
        layouts.update(lay)
    else:
        old = [r for r in existing_writers if r["writer"] == "photoshop"]
        rows = [r for r in rows if r["writer"] != "photoshop"] + old
        for r in [*old, *cameras]:
            layouts[r["layout_hash"]] = existing_layouts[r["layout_hash"]]
    if kept:
        print(f"not installed here, rows kept as they were: {', '.join(kept)}", file=sys.stderr)
    outputs = {
        "writers.tsv": render(WRITER_COLUMNS, rows),
        "layouts.tsv": render(
            LAYOUT_COLUMNS, [{"layout_hash": k, "layout": v} for k, v in layouts.items()]
        ),
        "cameras.tsv": render(CAMERA_COLUMNS, cameras),
    }
    changed = [n for n, text in outputs.items() if _old(args.out / n) != text]
    if args.check:
        # A newer release of a writer changes the version column only, unless it writes
        # differently: only the latter fails the check.
        old_rows = {_without_version(r) for r in existing_writers}
        new_rows = {_without_version(r) for r in rows}
        differ = [n for n in changed if n != "writers.tsv"] + (
            ["writers.tsv"] if old_rows != new_rows else []
        )
        versions = sorted({(r["writer"], r["version"]) for r in rows}
                          - {(r["writer"], r["version"]) for r in existing_writers})  # fmt: skip
        for writer, version in versions:
            print(f"note: {writer} is now {version} (it writes the same)", file=sys.stderr)
        print("changed: " + (", ".join(differ) or "nothing"), file=sys.stderr)
        return 1 if differ else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in outputs.items():
        (args.out / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} writer rows, {len(cameras)} camera rows, {len(layouts)} layouts "
          f"to {args.out} (changed: {', '.join(changed) or 'nothing'})", file=sys.stderr)  # fmt: skip
    return 0


def _without_version(row: dict) -> tuple:
    return tuple(row[c] for c in WRITER_COLUMNS if c != "version")


def _old(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _read(path: Path, columns: tuple[str, ...]) -> list[dict]:
    text = _old(path)
    return read_tsv(text, columns) if text else []


if __name__ == "__main__":
    sys.exit(main())
