"""The compiled core gives the provenance columns the reference gives (it hands the same
header features to jpegaudit.provenance): files of every light writer, and headers that state
a Photoshop level or a Save for Web quality."""

from __future__ import annotations

from dataclasses import astuple
from datetime import datetime, timezone

import jpegbuild as jb
import pytest
import writers as w

from jpegaudit.audit import DEFAULT_LIMITS, audit_bytes, new_row
from jpegaudit.audit.columns import table_evidence
from jpegaudit.jpeg.parser import parse_jpeg
from jpegaudit.provenance import PROVENANCE_COLUMNS, catalog
from jpegaudit.provenance.database import database
from jpegaudit.provenance.identify import as_judged, identify, template_row
from jpegaudit.sources import compiled as compiled_module
from jpegaudit.store.arrow import rows_to_table, table_from_columns

core = compiled_module.compiled
pytestmark = pytest.mark.skipif(core is None, reason="the compiled core is not built here")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=timezone.utc)


def rows(data: bytes) -> tuple[dict, dict | None]:
    row = new_row("x.jpg", "train", "data", NOW)
    row["entry_type"], row["bytes"] = "file", len(data)
    reference = rows_to_table(
        [audit_bytes(lambda o, n: data[o : o + n], len(data), row)]
    ).to_pylist()[0]
    columns = core.audit_buffer(data, "x.jpg", "train", "data", NOW, astuple(DEFAULT_LIMITS))
    ours = None if columns is None else table_from_columns(columns.finish()).to_pylist()[0]
    return reference, ours


LIGHT = [x.name for x in w.writers() if not x.heavy]


@pytest.mark.parametrize("name", LIGHT)
def test_every_light_writers_files_give_the_reference_provenance(name):
    writer = w.writer(name)
    if not writer.available():
        pytest.skip(f"{name} not installed")
    settings = writer.settings()[:: max(1, len(writer.settings()) // 6)]
    for setting, data in zip(settings, writer.run(w.source_image(40, 32, 5), settings),
                             strict=True):  # fmt: skip
        reference, ours = rows(data)
        if ours is None:
            assert reference["warnings"] or reference["error"], (name, setting)
            continue
        assert ours == reference, (name, setting)
        assert ours["encoder"] is not None and ours["header_signature"] is not None


def _app13(level: int) -> bytes:
    data = (level - 4).to_bytes(2, "big", signed=True) + b"\x00\x01\x01\x00"
    body = b"Photoshop 3.0\x00" + b"8BIM\x04\x06\x00\x00" + len(data).to_bytes(4, "big") + data
    return jb.app(13, body)


@pytest.mark.parametrize(
    "segment",
    [
        _app13(8),
        _app13(12),
        jb.app(12, b"Ducky\x00\x01\x00\x04\x00\x00\x00\x46\x00\x00"),
        jb.com(b"CREATOR: gd-jpeg v1.0 (using IJG JPEG v62), quality = 80\n"),
        jb.com(b"Lavc59.37.100"),
        jb.adobe(1, flags0=0x8000),
        jb.dri(4),
    ],
    ids=["app13-8", "app13-12", "ducky-70", "gd-comment", "lavc-comment", "adobe", "dri"],
)
def test_writer_statements_give_the_reference_provenance(segment):
    data = jb.pillow_jpeg(quality=80)
    data = data[:2] + segment + data[2:]
    reference, ours = rows(data)
    assert ours is not None, reference["warnings"] or reference["error"]
    assert {c: ours[c] for c in PROVENANCE_COLUMNS} == {c: reference[c] for c in PROVENANCE_COLUMNS}
    assert ours == reference


def test_verdicts_stay_the_references_when_more_headers_than_cache_slots_meet():
    """3,000 headers that differ only in their restart interval: 3,000 verdict keys, so slots of
    the compiled core's verdict cache are taken over (the old template freed) and its signature
    cache stores an input on its second pass and reads it on the third. Rows are the
    reference's (every 50th file, checked on each pass)."""
    base = jb.pillow_jpeg(quality=80)
    files = [base[:2] + jb.dri(k) + base[2:] for k in range(1, 3001)]
    expected = {k: rows(files[k])[0] for k in range(0, len(files), 50)}
    for _ in range(3):
        for k, data in enumerate(files):
            columns = core.audit_buffer(data, "x.jpg", "train", "data", NOW,
                                        astuple(DEFAULT_LIMITS))  # fmt: skip
            assert columns is not None
            if k in expected:
                assert table_from_columns(columns.finish()).to_pylist()[0] == expected[k]


@pytest.mark.parametrize(
    "segment",
    [b"", _app13(8) + jb.adobe(1), jb.adobe(1), jb.com(b"Lavc59.37.100"), jb.dri(4)],
    ids=["plain", "app13-adobe", "adobe", "lavc", "dri"],
)
def test_a_template_that_reads_no_maker_is_every_makers(segment):
    """template_row's reads_maker=False lets the compiled core keep one template for every maker
    family of a structure, software family and Make presence: it must be what each of them
    gives."""
    data = jb.pillow_jpeg(quality=80)
    data = data[:2] + segment + data[2:]
    row = new_row("x.jpg", "train", "data", NOW)
    row["entry_type"], row["bytes"] = "file", len(data)
    row = audit_bytes(lambda o, n: data[o : o + n], len(data), row)
    header = parse_jpeg(data, len(data))
    structure, _ = identify(
        header, table_evidence(row), row["subsampling"], row["huffman_standard"]
    )
    s = as_judged(structure, database())
    makers = (None, "camera", *catalog.CAMERA_FAMILIES)
    softs = (None, *sorted({family for _, family in catalog.SOFTWARE_PATTERNS}))
    for soft in softs:
        for has_make in (False, True):
            templates = {m: template_row(s, m, soft, has_make) for m in makers}
            for maker, template in templates.items():
                if not template[6]:
                    assert all(t[:6] == template[:6] for t in templates.values()), (soft, maker)
