"""The signature database: TSV files under `provenance/data/`, written by
`scripts/build_signatures.py`, read once per process (lazily) into dicts, so that a lookup is
one dict access. The only I/O of the provenance package is reading these package files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import NamedTuple

DATA_PACKAGE = "jpegaudit.provenance.data"
WRITERS_FILE = "writers.tsv"
LAYOUTS_FILE = "layouts.tsv"
CAMERAS_FILE = "cameras.tsv"

WRITER_COLUMNS = (
    "writer", "version", "settings", "layout_hash", "tables_hash", "ijg_quality",
    "subsampling", "huffman", "process", "source",
)  # fmt: skip
LAYOUT_COLUMNS = ("layout_hash", "layout")
CAMERA_COLUMNS = ("family", "make", "model", "layout_hash", "tables_hash", "source")


class Entry(NamedTuple):
    """One file a writer wrote at one setting (or one corpus file), as recorded. NamedTuples
    here: every scan process builds the 724 of them when it first needs the database."""

    writer: str
    version: str
    settings: str  # compact JSON, keys sorted: {"quality":90,"subsampling":"4:2:0"}
    layout_hash: str
    tables_hash: str
    ijg_quality: int | None  # the IJG quality of its tables when they are IJG's
    subsampling: str
    huffman: str
    process: str
    source: str

    def setting(self, key: str):
        return json.loads(self.settings).get(key)


class CameraEntry(NamedTuple):
    family: str
    make: str
    model: str
    layout_hash: str
    tables_hash: str
    source: str


@dataclass(frozen=True)
class SignatureDatabase:
    entries: tuple[Entry, ...]
    layouts: dict[str, str]  # layout_hash -> layout string
    by_layout: dict[str, tuple[Entry, ...]]
    by_tables: dict[str, tuple[Entry, ...]]
    cameras: tuple[CameraEntry, ...]
    camera_tables: dict[tuple[str, str], tuple[CameraEntry, ...]]  # (family, tables_hash)
    # Every tables hash a writer or camera entry holds: any other hash says nothing more.
    known_tables: frozenset[str] = frozenset()


def read_tsv(text: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    if not lines:
        return []
    header = tuple(lines[0].split("\t"))
    if header != columns:
        raise ValueError(f"signature data: columns {header} are not {columns}")
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in lines[1:]]


def _text(name: str) -> str:
    return resources.files(DATA_PACKAGE).joinpath(name).read_text(encoding="utf-8")


def build_database(writers: str, layouts: str, cameras: str) -> SignatureDatabase:
    entries = tuple(
        Entry(
            writer=r["writer"],
            version=r["version"],
            settings=r["settings"],
            layout_hash=r["layout_hash"],
            tables_hash=r["tables_hash"],
            ijg_quality=int(r["ijg_quality"]) if r["ijg_quality"] not in ("", "-") else None,
            subsampling=r["subsampling"],
            huffman=r["huffman"],
            process=r["process"],
            source=r["source"],
        )
        for r in read_tsv(writers, WRITER_COLUMNS)
    )
    by_layout: dict[str, list[Entry]] = {}
    by_tables: dict[str, list[Entry]] = {}
    for e in entries:
        by_layout.setdefault(e.layout_hash, []).append(e)
        by_tables.setdefault(e.tables_hash, []).append(e)
    camera_rows = tuple(CameraEntry(**r) for r in read_tsv(cameras, CAMERA_COLUMNS))
    camera_tables: dict[tuple[str, str], list[CameraEntry]] = {}
    for c in camera_rows:
        camera_tables.setdefault((c.family, c.tables_hash), []).append(c)
    return SignatureDatabase(
        entries=entries,
        layouts={r["layout_hash"]: r["layout"] for r in read_tsv(layouts, LAYOUT_COLUMNS)},
        by_layout={k: tuple(v) for k, v in by_layout.items()},
        by_tables={k: tuple(v) for k, v in by_tables.items()},
        cameras=camera_rows,
        camera_tables={k: tuple(v) for k, v in camera_tables.items()},
        known_tables=frozenset(by_tables) | frozenset(c.tables_hash for c in camera_rows),
    )


@cache
def database() -> SignatureDatabase:
    """The bundled database, loaded at first use."""
    return build_database(_text(WRITERS_FILE), _text(LAYOUTS_FILE), _text(CAMERAS_FILE))
