"""The compiled core (src/jpegaudit/_ccore.pyx) against the pure-Python core, the reference:

- on every file it accepts, its row equals the reference's row in every column (real files from
  ../shared/corpora, files written by real encoders at many settings, hand-built edge cases,
  hypothesis mutations of real headers, several read limits);
- it accepts every file whose reference row is clean (a JPEG with no error and no warning), so
  that the fast path is the one real data takes; everything else is the reference's to answer;
- a scan gives the same store with either core, hostile entries included;
- it mirrors the Python core: `MIRRORS` holds the hash of every module it follows, and every
  function of those modules is mirrored by name or listed below with the reason it is not.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import io
import os
import random
import re
import subprocess
import sys
from dataclasses import astuple
from datetime import datetime, timezone
from pathlib import Path

import jpegbuild as jb
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import CORPORA_DIR, REPO_ROOT
from PIL import Image

from jpegaudit.audit import DEFAULT_LIMITS, ReadLimits, audit_bytes, new_row
from jpegaudit.sources import compiled as compiled_module
from jpegaudit.store.arrow import rows_to_table, table_from_columns

core = compiled_module.compiled
needs_core = pytest.mark.skipif(core is None, reason="the compiled core is not built here")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)
PYX = REPO_ROOT / "src" / "jpegaudit" / "_ccore.pyx"


def test_the_compiled_core_runs_where_ci_requires_it():
    if os.environ.get(compiled_module.CORE_ENV) == "compiled":
        assert compiled_module.CORE_NAME == "compiled"
    else:
        assert compiled_module.CORE_NAME in ("compiled", "python")


# -- one file, both cores ------------------------------------------------------------------------
def reference_row(data: bytes, path: str, limits: ReadLimits = DEFAULT_LIMITS) -> dict:
    row = new_row(path, "train", "data", NOW)
    row["entry_type"], row["bytes"] = "file", len(data)
    row = audit_bytes(lambda offset, n: data[offset : offset + n], len(data), row, limits)
    return rows_to_table([row]).to_pylist()[0]


def compiled_row(data: bytes, path: str, limits: ReadLimits = DEFAULT_LIMITS) -> dict | None:
    columns = core.audit_buffer(data, path, "train", "data", NOW, astuple(limits))
    return None if columns is None else table_from_columns(columns.finish()).to_pylist()[0]


def is_clean(row: dict) -> bool:
    return row["format"] == "jpeg" and row["error"] is None and row["warnings"] is None


def assert_same(data: bytes, path: str = "x.jpg", limits: ReadLimits = DEFAULT_LIMITS) -> bool:
    """Equal rows where the compiled core answers; it must answer for every clean file.
    Returns whether it answered."""
    reference = reference_row(data, path, limits)
    ours = compiled_row(data, path, limits)
    if ours is None:
        assert not is_clean(reference), f"{path}: clean, but the compiled core handed it back"
        return False
    differ = {k: (reference[k], ours[k]) for k in reference if reference[k] != ours[k]}
    assert not differ, f"{path}: reference vs compiled: {differ}"
    return True


def corpus_files() -> list[Path]:
    if not CORPORA_DIR.is_dir():
        return []
    return sorted(p for p in CORPORA_DIR.rglob("*") if p.is_file() and p.suffix != ".tsv")


@needs_core
@pytest.mark.skipif(not CORPORA_DIR.is_dir(), reason="corpora not present")
def test_every_corpus_file_gives_the_reference_row():
    answered = sum(assert_same(p.read_bytes(), str(p)) for p in corpus_files())
    assert answered >= 140  # 147 of the 161 files are clean JPEGs today


@needs_core
@pytest.mark.skipif(not CORPORA_DIR.is_dir(), reason="corpora not present")
@pytest.mark.parametrize(
    "limits",
    [
        ReadLimits(head_bytes=64),  # every header grows its head
        ReadLimits(head_bytes=700, tail_bytes=2),  # growth and the tail window growing
        ReadLimits(read_tail=False),
        ReadLimits(max_header_bytes=1024),  # larger headers are the reference's error
        ReadLimits(tail_bytes=8, max_tail_bytes=100),  # EOI further back than the cap
    ],
    ids=["tiny-head", "grow-both", "no-tail", "small-cap", "short-tail"],
)
def test_read_limits_give_the_reference_row(limits):
    for p in corpus_files():
        assert_same(p.read_bytes(), str(p), limits)


def image(size=(80, 60), mode="RGB", seed=0) -> Image.Image:
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size[1] // 4 + 1, size[0] // 4 + 1, 3), dtype=np.uint8)
    big = np.kron(base, np.ones((4, 4, 1), dtype=np.uint8))[: size[1], : size[0]]
    return Image.fromarray(big, "RGB").convert(mode)


def pillow(**options) -> bytes:
    mode = options.pop("mode", "RGB")
    buf = io.BytesIO()
    image(mode=mode, seed=options.pop("seed", 0)).save(buf, "JPEG", **options)
    return buf.getvalue()


PILLOW_SETTINGS = [
    *({"quality": q} for q in (1, 2, 3, 5, 10, 24, 25, 50, 75, 90, 95, 96, 100)),
    *({"quality": 85, "subsampling": s} for s in (0, 1, 2)),
    {"quality": 80, "optimize": True},
    {"quality": 80, "progressive": True},
    {"quality": 80, "progressive": True, "optimize": True},
    {"quality": 70, "mode": "L"},
    {"quality": 70, "mode": "CMYK"},
    {"quality": "web_high"},
    {"quality": "web_low"},
    {"quality": "maximum"},
    {"quality": 90, "dpi": (300, 300)},
    {"quality": 90, "comment": b"made \xe9 here\x00\x00"},
    {"quality": 90, "icc_profile": jb.icc_profile_header(b"GRAY") + b"\x00" * 200},
    {"quality": 90, "icc_profile": b"\x00" * 70000},  # split over two APP2 segments
    {"quality": 90, "qtables": [[7] * 64, [200] * 64]},
    {"quality": 90, "qtables": [[1, 2, 3, 4] * 16]},
    {"quality": 90, "restart_marker_blocks": 3},
]


@needs_core
@pytest.mark.parametrize("options", PILLOW_SETTINGS, ids=repr)
def test_pillow_files_give_the_reference_row(options):
    assert assert_same(pillow(**options))


def exif_block(make: bytes, orientation_type: int = 3, orientation: int = 6) -> bytes:
    """What Pillow's `exif=` option takes: Exif\\0\\0 and a TIFF structure."""
    entries = [(0x010F, 2, len(make), make)]
    if orientation_type:
        size = {3: 2, 4: 4, 8: 2, 9: 4, 1: 1, 6: 1}[orientation_type]
        entries.append((0x0112, orientation_type, 1, orientation.to_bytes(size, "little")))
    return b"Exif\x00\x00" + jb.tiff("II", entries)


@needs_core
@pytest.mark.parametrize(
    "payload",
    [
        exif_block(b"Canon\x00"),
        exif_block(b"  spaced make \x00 and after"),
        exif_block(b"Nik\xc3\xb8n\x00"),  # UTF-8: the reference decodes it
        exif_block(b"bad \xff utf-8\x00"),  # replaced characters
        exif_block(b"\x00"),  # empty after the NUL: no make
        exif_block(b"M" * 500),  # longer than the 100 characters kept
        exif_block(b"Sony\x00", orientation_type=9, orientation=3),  # SLONG orientation
        exif_block(b"Sony\x00", orientation_type=8, orientation=8),  # SSHORT
        exif_block(b"Sony\x00", orientation_type=0),
        exif_block(b"Sony\x00", orientation=9),  # out of range: a warning, handed back
    ],
)
def test_exif_segments_give_the_reference_row(payload):
    data = pillow(quality=90, exif=payload)
    assert_same(data)


@needs_core
def test_an_empty_repeated_text_tag_keeps_the_earlier_value():
    # Found while writing scripts/fuzz_parser.py --differential: exif.parse_exif keeps a text
    # tag's value only when it is not empty, so a second, empty Make leaves "Canon" (and the
    # encoder it names); the compiled core took the last entry's offset and wrote no make.
    tiff = jb.tiff("II", [(0x010F, 2, 6, b"Canon\x00"), (0x010F, 2, 2, b" \x00"),
                          (0x0110, 2, 3, b"X1\x00"), (0x0110, 2, 1, b"\x00")])  # fmt: skip
    data = hand_built(jb.exif(tiff))
    reference = reference_row(data, "x.jpg")
    assert (reference["exif_make"], reference["exif_model"]) == ("Canon", "X1")
    assert assert_same(data)


@pytest.mark.parametrize(
    "per_segment", [[3800] * 10, [15] * 64 + [3800] * 9], ids=["10 DHT", "64 small + 9 DHT"]
)
def test_more_huffman_tables_than_the_column_holds_are_clamped_with_a_warning(
    tmp_path, per_segment
):
    # Found by scripts/fuzz_parser.py: libjpeg accepts any number of table (re)definitions, and
    # 38,001 of them (empty ones, 17 bytes each) overflowed the int16 column: the Python core's
    # part failed to convert (no store), the compiled core wrapped the count to -27,535.
    from jpegaudit import scan
    from jpegaudit.store.reader import read_store

    # (The second: past the 64 DHT segments whose tables the compiled core records, where
    # only its count of tables sees them.)
    empty_table = bytes(17)  # class 0, slot 0, no codes
    data = hand_built(*(jb.segment(0xC4, empty_table * n) for n in per_segment))
    reference = reference_row(data, "x.jpg")
    total = sum(per_segment) + 1  # and hand_built's own table
    assert reference["huffman_tables"] == 32767
    assert reference["warnings"] == f"{total} Huffman tables (stored as 32767)"
    assert reference["width"] == 16 and reference["error"] is None
    if core is not None:  # handed back to the reference, which clamps
        assert compiled_row(data, "x.jpg") is None
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "many.jpg").write_bytes(data)
    scan([tmp_path / "data"], tmp_path / "store", jobs=1)
    stored = read_store(tmp_path / "store")
    assert stored["huffman_tables"].tolist() == [32767]


def hand_built(*segments: bytes, frame: bytes | None = None) -> bytes:
    luma = jb.flat(8)
    frame = (
        frame
        if frame is not None
        else jb.sof(0xC0, 16, 16, [(1, 2, 2, 0), (2, 1, 1, 1), (3, 1, 1, 1)])
    )
    body = jb.dqt((0, luma), (1, jb.flat(9))) + frame + jb.std_dht()
    return jb.SOI + b"".join(segments) + body + jb.sos() + b"\x12\x34" * 20 + jb.EOI


HAND_BUILT = {
    "no APPn": hand_built(),
    "70 APPn segments": hand_built(*(jb.app(k % 16, b"X%d\x00" % k) for k in range(70))),
    "JFIF 1.02 dpcm": hand_built(jb.jfif((1, 2), 2, 72, 96)),
    "JFIF version 2.255": hand_built(jb.jfif((2, 255))),
    "short JFIF": hand_built(jb.app(0, b"JFIF\x00\x01")),
    "Adobe transform 0": hand_built(jb.adobe(0)),
    "Adobe transform 1": hand_built(jb.adobe(1)),
    "Photoshop + Adobe": hand_built(jb.app(13, b"Photoshop 3.0\x00"), jb.adobe(1)),
    "XMP": hand_built(jb.app(1, b"http://ns.adobe.com/xap/1.0/\x00<x/>")),
    "MPF": hand_built(jb.app(2, b"MPF\x00" + b"\x00" * 20)),
    "ICC latin-1 colorspace": hand_built(jb.icc(1, 1, jb.icc_profile_header(b"\xa0RG\xe9"))),
    "ICC blank colorspace": hand_built(jb.icc(1, 1, jb.icc_profile_header(b"    "))),
    "ICC chunk 2 first": hand_built(
        jb.icc(2, 2, b"\x00" * 40), jb.icc(1, 2, jb.icc_profile_header())
    ),
    "short ICC": hand_built(jb.app(2, b"ICC_PROFILE\x00\x01")),
    "comment with NULs": hand_built(jb.com(b"hello\x00\x00")),
    "long comment": hand_built(jb.com(bytes(range(1, 256)) * 2)),
    "two comments": hand_built(jb.com(b"first"), jb.com(b"second")),
    "restart interval": hand_built(jb.dri(7)),
    "RGB ids": hand_built(frame=jb.sof(0xC0, 8, 8, [(82, 1, 1, 0), (71, 1, 1, 1), (66, 1, 1, 1)])),
    "4:1:1": hand_built(frame=jb.sof(0xC0, 8, 8, [(1, 4, 1, 0), (2, 1, 1, 1), (3, 1, 1, 1)])),
    "Cb/Cr differ": hand_built(
        frame=jb.sof(0xC0, 8, 8, [(1, 2, 2, 0), (2, 1, 1, 1), (3, 2, 1, 1)])
    ),
    "3x1 odd factors": hand_built(
        frame=jb.sof(0xC0, 8, 8, [(1, 3, 1, 0), (2, 2, 1, 1), (3, 2, 1, 1)])
    ),
    "CMYK, K subsampled": hand_built(
        frame=jb.sof(0xC0, 8, 8, [(1, 2, 2, 0), (2, 1, 1, 1), (3, 1, 1, 1), (4, 1, 1, 0)])
    ),
    "5 components": hand_built(frame=jb.sof(0xC0, 8, 8, [(k, 1, 1, k % 2) for k in range(1, 6)])),
    "2 components": hand_built(frame=jb.sof(0xC0, 8, 8, [(1, 2, 2, 0), (2, 1, 1, 1)])),
    "lossless SOF3": hand_built(frame=jb.sof(0xC3, 8, 8, [(1, 1, 1, 0)])),
    "arithmetic SOF9": hand_built(frame=jb.sof(0xC9, 8, 8, [(1, 1, 1, 0)])),
    "12-bit SOF1": hand_built(frame=jb.sof(0xC1, 8, 8, [(1, 1, 1, 0)], precision=12)),
    "chroma shares the luma slot": hand_built(
        frame=jb.sof(0xC0, 8, 8, [(1, 2, 2, 0), (2, 1, 1, 0), (3, 1, 1, 1)])
    ),
    "undefined table (an error)": hand_built(frame=jb.sof(0xC0, 8, 8, [(1, 1, 1, 3)])),
    "zero DQT entry (a warning)": jb.SOI
    + jb.dqt((0, [0] + [1] * 63))
    + jb.sof(0xC0, 8, 8, [(1, 1, 1, 0)])
    + jb.std_dht()
    + jb.sos((1,))
    + b"\x00" * 4
    + jb.EOI,
    "fill bytes before a marker": hand_built(b"\xff\xff\xff" + jb.com(b"after fill")),
    "junk before a marker (a warning)": hand_built(b"\x00\x01" + jb.com(b"x")),
    "trailing data": hand_built() + b"trailing bytes",
    "no EOI": hand_built()[:-2],
    "EOI inside the last 64 bytes then data": hand_built() + b"\x00" * 30,
}


@needs_core
@pytest.mark.parametrize("name", sorted(HAND_BUILT))
def test_hand_built_headers_give_the_reference_row(name):
    assert_same(HAND_BUILT[name], f"{name}.jpg")


@needs_core
@pytest.mark.parametrize(
    "path",
    ["a.JPEG", "b.jpg", "c.png", "d", ".hidden", "e.tar.gz", "f.JpG", "dir.v2/g", "h.\u00e9",
     "i." + "x" * 40, "back\\slash.PNG", "j.jfif"],
)  # fmt: skip
def test_extension_columns_give_the_reference_row(path):
    assert assert_same(pillow(quality=80), path)


@needs_core
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_headers_give_the_reference_row(data):
    base = data.draw(st.sampled_from(_MUTATION_BASES))
    buf = bytearray(base)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, min(len(buf) - 1, 700)))
        buf[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        buf = buf[: data.draw(st.integers(2, len(buf)))]
    assert_same(bytes(buf))


def quantization_tables(kind: str) -> st.SearchStrategy[tuple[list[int], int]]:
    """(natural-order values, bits): IJG's table at a quality (either variant), the same
    nudged, 8-bit noise, 16-bit noise up to 65535 (five digits in the text), and a flat table."""
    ijg = st.builds(
        lambda q, baseline: list(jb.ijg_reference_table(q, kind, baseline)),
        st.integers(1, 100),
        st.booleans(),
    )

    def nudged(values: list[int], nudges: list[tuple[int, int]]) -> list[int]:
        for at, by in nudges:
            values[at] = min(max(values[at] + by, 1), 255)
        return values

    eight_bit = st.one_of(
        ijg.filter(lambda v: max(v) <= 255),
        st.builds(nudged, ijg.filter(lambda v: max(v) <= 255),
                  st.lists(st.tuples(st.integers(0, 63), st.integers(-3, 3)), min_size=1,
                           max_size=6)),
        st.lists(st.integers(1, 255), min_size=64, max_size=64),
        st.integers(1, 255).map(jb.flat),
    )  # fmt: skip
    sixteen_bit = st.one_of(ijg, st.lists(st.integers(1, 65535), min_size=64, max_size=64))
    return st.one_of(eight_bit.map(lambda v: (v, 8)), sixteen_bit.map(lambda v: (v, 16)))


@needs_core
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    luma=quantization_tables("luma"),
    chroma=st.lists(quantization_tables("chroma"), min_size=0, max_size=2),
    shared_chroma=st.booleans(),
)
def test_quantization_tables_give_the_reference_quality_columns(luma, chroma, shared_chroma):
    """The quality fit (exact candidates, the nearest quality, its error and closeness), the
    qtables text and its hash, for one to three distinct tables; each header three times, as
    the compiled core stores a table set on its second miss and answers from it on the third."""
    tables = [(0, *luma)] + [(k + 1, *t) for k, t in enumerate(chroma)]
    bits = max(b for _, _, b in tables)
    if not chroma:
        components = [(1, 1, 1, 0)]
    else:
        last = 1 if shared_chroma or len(chroma) == 1 else 2
        components = [(1, 2, 2, 0), (2, 1, 1, 1), (3, 1, 1, last)]
    data = (
        jb.SOI
        + jb.dqt(*tables)
        + jb.sof(0xC1 if bits == 16 else 0xC0, 16, 16, components)
        + jb.std_dht()
        + jb.sos(tuple(c[0] for c in components))
        + b"\x12\x34" * 20
        + jb.EOI
    )
    answered = [assert_same(data, "tables.jpg") for _ in range(3)]
    assert answered == [True] * 3, "a clean header the compiled core handed back"


_MUTATION_BASES = [pillow(quality=q, optimize=o) for q, o in ((75, False), (95, True))] + [
    HAND_BUILT["70 APPn segments"],
    pillow(quality=90, exif=exif_block(b"Canon\x00")),
]


# -- a whole scan, both cores ------------------------------------------------------------------------
def hostile_folder(root: Path) -> Path:
    root.mkdir()
    for k, options in enumerate(PILLOW_SETTINGS[:12]):
        (root / f"img{k}.jpg").write_bytes(pillow(**options))
    for name, data in list(HAND_BUILT.items())[:12]:
        (root / f"{name}.jpeg").write_bytes(data)
    (root / "empty.jpg").write_bytes(b"")
    (root / "really.png.jpg").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    (root / "cut.jpg").write_bytes(pillow(quality=90)[:300])
    (root / "link.jpg").symlink_to(root / "img0.jpg")
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    os.mkfifo(root / "fifo.jpg")
    sub = root / "sub"
    sub.mkdir()
    (sub / "deep.jpg").write_bytes(pillow(quality=60, seed=3))
    locked = root / "locked"
    locked.mkdir()
    (locked / "x.jpg").write_bytes(pillow(quality=60))
    return root


def scan_rows(folder: Path, store: Path, core_name: str) -> list[dict]:
    code = (
        "import sys, pyarrow.parquet as pq; import jpegaudit;"
        "from jpegaudit.sources.compiled import CORE_NAME; assert CORE_NAME == sys.argv[3];"
        "jpegaudit.scan(sys.argv[1], sys.argv[2], jobs=1, batch_size=7)"
    )
    env = {**os.environ, "JPEGAUDIT_CORE": core_name}
    subprocess.run([sys.executable, "-c", code, str(folder), str(store), core_name],
                   env=env, check=True, timeout=300)  # fmt: skip
    import pyarrow.parquet as pq

    rows = pq.read_table(store).to_pylist()
    for row in rows:
        row.pop("scanned_at")
    return sorted(rows, key=lambda r: r["path"])


@needs_core
def test_a_scan_gives_the_same_store_with_either_core(tmp_path):
    folder = hostile_folder(tmp_path / "data")
    os.chmod(folder / "locked", 0)
    try:
        reference = scan_rows(folder, tmp_path / "python", "python")
        ours = scan_rows(folder, tmp_path / "compiled", "compiled")
    finally:
        os.chmod(folder / "locked", 0o755)
    assert len(reference) == len(ours) == 32
    for a, b in zip(reference, ours, strict=True):
        assert a == b, {k: (a[k], b[k]) for k in a if a[k] != b[k]}


# -- the compiled core's own pieces -------------------------------------------------------------------
@needs_core
@pytest.mark.parametrize("rows", [0, 1, 63, 64, 65, 200, 1000])
def test_its_column_buffers_give_the_arrays_pyarrow_builds(rows):
    """ColumnSet (room for 64 rows, doubled as it fills) against pa.array on the same values:
    every column kind, nulls anywhere, strings empty and long, past every growth."""
    from jpegaudit.store.arrow import ARROW_SCHEMA

    rng = random.Random(rows)

    def value(field):
        if rng.random() < 0.3:
            return None
        kind = str(field.type)
        if kind == "string":
            return "".join(rng.choice("aé/\x00z") for _ in range(rng.choice([0, 1, 7, 300])))
        if kind == "bool":
            return rng.random() < 0.5
        if kind == "double":
            return rng.uniform(-1e9, 1e9)
        if kind.startswith("timestamp"):
            return datetime.fromtimestamp(rng.uniform(0, 2e9), timezone.utc).replace(microsecond=0)
        bits = {"int16": 15, "int32": 31, "int64": 63}[kind]
        return rng.randrange(-(2**bits), 2**bits)

    table_rows = [{f.name: value(f) for f in ARROW_SCHEMA} for _ in range(rows)]
    columns = core.ColumnSet()
    for row in table_rows:
        columns.add_row(row)
    assert len(columns) == rows
    ours = table_from_columns(columns.finish())
    ours.validate(full=True)
    assert ours.equals(rows_to_table(table_rows))


@needs_core
@pytest.mark.parametrize("how", ["configured", "one-call", "plain"])
def test_its_sha1_is_hashlibs(how):
    """Each SHA-1 the core can use: libcrypto's in steps (what a machine with OpenSSL gets),
    its one-call SHA1 (an OpenSSL without the deprecated step functions), the built-in one."""
    if os.environ.get("JPEGAUDIT_PLAIN_SHA1") == "1":
        assert core.sha1_implementation() == "plain"
        if how == "one-call":
            pytest.skip("JPEGAUDIT_PLAIN_SHA1=1: no library SHA1 configured")
    else:
        assert core.sha1_implementation() == "steps"
    rng = random.Random(5)
    for n in [*range(0, 130), 447, 1000, 4096]:
        message = bytes(rng.randrange(256) for _ in range(n))
        assert core.sha1_prefix(message, how) == hashlib.sha1(message).hexdigest()[:16]


# -- the compiled core mirrors the Python core ---------------------------------------------------------
def test_mirrors_record_the_python_core_as_it_is():
    """Fails when a mirrored module changed since the compiled core was checked against it:
    change _ccore.pyx to match (or confirm nothing is needed), rebuild, run this file, then
    `python scripts/mirror_hashes.py --update`."""
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import mirror_hashes
    finally:
        sys.path.pop(0)
    assert mirror_hashes.changed() == []


# Functions of the mirrored modules the compiled core does not define under the same name, and
# why. Anything not here must have a namesake in _ccore.pyx.
NOT_MIRRORED = {
    "jpeg/parser.py": {
        "__init__": "_Walker/_State/NeedMoreData: the Walker and Header structs",
        "warn": "the clean path has no warnings: any warning is a fallback",
        "warnings": "as warn",
        "freeze": "the Header struct is filled in place",
        "run": "the marker loop of parse_jpeg",
        "stray_marker": "a warning: fallback",
        "duplicate_soi": "an error: fallback",
        "early_eoi": "an error: fallback",
        "unknown_marker": "an error: fallback",
        "read_sos_marker": "dispatch's SOS branch",
        "_read_entries": "the entry loop of decode_dqt",
        "_dqt_result": "decode_dqt records the slots as it goes",
        "_dht_result": "decode_dht records the slots as it goes",
    },
    "jpeg/exif.py": {},
    "jpeg/describe.py": {},
    "jpeg/markers.py": {"marker_name": "names markers in error texts: errors are fallbacks"},
    "quality.py": {
        "_exact_index": "match_table's scan of REFERENCE",
        "load_reference_tables": "a warm-up of the Python tables before a fork: configure() fills the C ones",
        "_log2_of": "log2() per entry in match_table, the same libm function",
        "_reference_tables": "REFERENCE, filled by configure()",
        "_log_tables": "LOG_REFERENCE_T, filled by configure()",
    },
    "sniff.py": {
        "sniff_format": "content not starting with SOI is the reference's to name",
        "_looks_like_text": "as sniff_format",
    },
    "audit/read.py": {},
    "audit/columns.py": {
        "new_row": "identity_of + emit_row",
        "internal_error": "internal errors are the reference's rows",
        "internal_error_row": "as internal_error",
        "_fill_quality_columns": "frame_quality_columns",
        "clear_quality_cache": "the compiled cache is emptied by configure()",
        "table_evidence": "provenance_of hands the same evidence to the provenance module",
    },
    "audit/limits.py": {"__post_init__": "limits_from refuses the same sizes"},
    "sources/local.py": {
        "stat_entry": "entries the listing did not call regular are the reference's",
        "audit_path": "one file without a batch: the reference",
        "audit_local_batch": "calls the compiled core",
        "audit_local_file": "audit_files' loop body",
        "__init__": "LocalShardFile: shards are read by the reference",
        "read_at": "as __init__",
        "close": "as __init__",
        "__enter__": "as __init__",
        "__exit__": "as __init__",
    },
}


def test_every_function_of_the_python_core_is_mirrored_or_explained():
    text = PYX.read_text()
    defined = set(re.findall(r"^\s*(?:cdef|cpdef|def)\s+(?:[\w*\[\]]+\s+)*?(\w+)\(", text, re.M))
    mirrored = set(re.findall(r'^\s+"([^"]+)": "[0-9a-f]{64}",$', text, re.M))
    assert mirrored == set(NOT_MIRRORED)
    missing = {}
    for module, reasons in NOT_MIRRORED.items():
        tree = ast.parse((REPO_ROOT / "src" / "jpegaudit" / module).read_text())
        names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        unexplained = sorted(n for n in names if n.lstrip("_") not in defined and n not in reasons)
        stale = sorted(set(reasons) - names)
        if unexplained or stale:
            missing[module] = {"neither mirrored nor explained": unexplained, "stale": stale}
    assert not missing, missing


def test_the_marker_tables_are_mirrored_handler_by_handler():
    from jpegaudit.jpeg.parser import APP_HANDLERS, MARKER_HANDLERS

    text = PYX.read_text()
    for handler in {*MARKER_HANDLERS.values(), *(h for hs in APP_HANDLERS.values() for _, h in hs)}:
        name = handler.__name__
        assert name in NOT_MIRRORED["jpeg/parser.py"] or re.search(rf"\b{name}\(", text), name
    for prefixes in APP_HANDLERS.values():
        for prefix, _ in prefixes:
            literal = 'b"' + repr(prefix)[2:-1] + '"'  # b'JFIF\x00' -> b"JFIF\x00"
            assert literal in text, f"APP prefix {prefix!r} not in _ccore.pyx"


def test_it_builds_without_the_pure_python_core_noticing(monkeypatch):
    """`JPEGAUDIT_CORE=python` gives the reference even where the extension is built."""
    monkeypatch.setenv("JPEGAUDIT_CORE", "python")
    assert compiled_module._load() is None
    monkeypatch.setenv("JPEGAUDIT_CORE", "compiled")
    if importlib.util.find_spec("jpegaudit._ccore") is None:
        with pytest.raises(compiled_module.CompiledCoreMissing):
            compiled_module._load()
    else:
        assert compiled_module._load() is not None
