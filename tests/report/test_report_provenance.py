"""The report's "Sources, pipelines and label leakage" section (report/provenance.py)."""

from __future__ import annotations

import json

import pandas as pd
from measure_label_leakage import dataset

from jpegaudit.analysis.sources import pipeline_look, sources
from jpegaudit.report import build_report
from jpegaudit.schema import COLUMN_NAMES


def store_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The rows as the store holds them (its `label` column: the class folder)."""
    return df.reindex(columns=list(COLUMN_NAMES))


def test_report_flags_the_leaking_class_and_names_it(tmp_path):
    result = build_report(store_frame(dataset("png")), tmp_path, umap=False, thumbnails=False)
    summary = json.loads(result.summary_json.read_text())
    leak = summary["label_leakage"]
    assert leak["flagged"] and leak["flagged_labels"] == ["n00000003"]
    assert leak["label_source"] == "label column"
    html = result.index_html.read_text()
    assert 'id="provenance"' in html and "FLAGGED" in html and "n00000003" in html
    assert "Label leakage: **flagged** (labels: `n00000003`)" in result.summary_md.read_text()


def test_report_of_shuffled_labels_is_not_flagged(tmp_path):
    df = dataset("q50")
    df["path"] = [f"train/n{i % 20:08d}/x{i}.JPEG" for i in range(len(df))]  # labels unrelated
    df["label"] = [f"n{i % 20:08d}" for i in range(len(df))]
    result = build_report(store_frame(df), tmp_path, umap=False, thumbnails=False)
    assert not result.summary["label_leakage"]["flagged"]


def test_a_store_without_labels_gets_the_class_folder(tmp_path):
    df = store_frame(dataset("png")).assign(label=None)
    result = build_report(df, tmp_path, umap=False, thumbnails=False)
    leak = result.summary["label_leakage"]
    assert leak["label_source"] == "derived from the path (class folder)"
    assert leak["flagged_labels"] == ["n00000003"]


def test_files_with_one_pipelines_settings_look_like_its_output():
    detail = ("libjpeg layout shared by OpenCV, Pillow — not separable from the header; IJG q95 "
              "4:2:0, standard Huffman; consistent with: img2dataset default, OpenCV default")  # fmt: skip
    df = pd.DataFrame({"format": ["jpeg"] * 10, "encoder_detail": [detail] * 9 + ["other"],
                       "header_signature": ["a"] * 9 + ["b"]})  # fmt: skip
    look = pipeline_look(df)
    assert look["looks_like_pipeline"] == "img2dataset default"
    assert "look like that pipeline's output" in look["verdict"]


def test_files_from_many_sources_look_like_their_sources():
    df = pd.DataFrame({"format": ["jpeg"] * 4, "encoder_detail": ["camera tables"] * 4,
                       "header_signature": ["a", "b", "c", "d"]})  # fmt: skip
    look = pipeline_look(df)
    assert look["looks_like_pipeline"] is None and "original sources" in look["verdict"]


def test_sources_count_writers_and_signatures_per_split_and_label():
    df = dataset("q50").assign(encoder_detail="x")
    out = sources(df, ["train"])
    train = out["per_split"]["train"]
    assert train["jpegs"] == len(df) and train["signatures"] == 3
    assert out["per_label"]["labels"] == 20
