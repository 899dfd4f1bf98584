"""Each closed vocabulary (the values a column can take) is the producer's own: whatever the
producing function returns is in it, and the policy rules and analysis use the same tuple."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jpegaudit.analysis import stats
from jpegaudit.api import audit_file
from jpegaudit.jpeg import describe
from jpegaudit.jpeg.markers import PROCESS_BY_SOF
from jpegaudit.policy import rules
from jpegaudit.provenance import ENCODER_FAMILIES
from jpegaudit.sniff import FORMATS, sniff_format


@given(st.binary(max_size=80))
def test_sniff_format_returns_only_formats_in_its_vocabulary(data):
    assert sniff_format(data) in FORMATS


def test_every_process_name_is_in_the_vocabulary():
    assert set(PROCESS_BY_SOF.values()) == set(describe.PROCESSES)


def test_consumers_use_the_producers_vocabularies():
    assert rules.FORMATS is FORMATS
    assert rules.COLORS is describe.COLOR_MODELS
    assert rules.SUBSAMPLINGS is describe.SUBSAMPLING_NAMES
    assert rules.PROCESSES is describe.PROCESSES
    assert stats.COLOR_ORDER[:-1] == describe.COLOR_MODELS
    assert set(stats.KNOWN_SUBSAMPLING) == set(describe.SUBSAMPLING_NAMES)
    assert stats.PROCESS_ORDER[:-1] == describe.PROCESSES


def test_real_files_give_values_inside_the_vocabularies(corpora_dir):
    seen = {"format": set(), "color": set(), "process": set(), "encoder": set(), "sub": set()}
    for path in sorted(
        p for p in corpora_dir.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv"
    ):
        row = audit_file(path)
        seen["format"].add(row["format"])
        for column, key in (("color", "color"), ("process", "process"), ("encoder", "encoder")):
            if row[column] is not None:
                seen[key].add(row[column])
        if row["subsampling"] and "x" not in row["subsampling"]:
            seen["sub"].add(row["subsampling"])
    assert seen["format"] <= set(FORMATS) and "jpeg" in seen["format"]
    assert (
        seen["color"] <= set(describe.COLOR_MODELS) and {"gray", "ycbcr", "ycck"} <= seen["color"]
    )
    assert seen["process"] <= set(describe.PROCESSES)
    assert seen["encoder"] <= set(ENCODER_FAMILIES)
    assert seen["sub"] <= set(describe.SUBSAMPLING_NAMES)


@pytest.mark.parametrize("vocabulary", [FORMATS, describe.COLOR_MODELS, describe.PROCESSES])
def test_vocabularies_have_no_repeats(vocabulary):
    assert len(set(vocabulary)) == len(vocabulary)
