"""Provenance against exiftool's JPEGDigest (scripts/compare_exiftool.py; the table of results
is docs/provenance-exiftool.md): on every file where exiftool names a software or camera and a
quality, the same family and quality, or one of the documented reasons for differing."""

from __future__ import annotations

import pytest
from compare_exiftool import run

# Why we may differ (docs/provenance.md, "exiftool's JPEGDigest"): each is a known property
# of exiftool's digest (an MD5 of the DQT segments as split, looked up in a list where makers
# share table sets) or of what the file states.
DOCUMENTED = (
    "EXIF names the camera maker, exiftool names the table family",
    "makers share table sets",
    "exiftool's digest hashes the DQT segments as split",
    "its level is not stated in this file",
)


@pytest.fixture(scope="module")
def comparisons(corpora_dir):
    return run(corpora_dir)


@pytest.mark.needs_tools("exiftool")
def test_every_difference_with_jpegdigest_has_a_documented_reason(comparisons):
    unexplained = [
        r for r in comparisons
        if r.verdict == "differ" and not any(d in r.reason for d in DOCUMENTED)
    ]  # fmt: skip
    assert unexplained == []


@pytest.mark.needs_tools("exiftool")
def test_most_files_jpegdigest_names_agree(comparisons):
    compared = [r for r in comparisons if r.verdict != "not compared"]
    agree = [r for r in compared if r.verdict == "agree"]
    assert len(compared) >= 100 and len(agree) / len(compared) >= 0.85


@pytest.mark.needs_tools("exiftool")
def test_photoshop_and_ijg_names_agree_on_quality(comparisons):
    for r in comparisons:
        if r.digest.startswith(("Adobe Photoshop, Save for web", "Independent JPEG Group")):
            assert r.verdict == "agree" or "EXIF names the camera maker" in r.reason, r
