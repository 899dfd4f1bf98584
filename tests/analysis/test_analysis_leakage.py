"""Label leakage (analysis/leakage.py): a class whose compression differs is flagged and named;
the same data with shuffled labels is not (false-positive rate over repeated shuffles)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from measure_label_leakage import dataset, shuffled

from jpegaudit.analysis.leakage import derive_labels, label_leakage, with_labels


@pytest.mark.parametrize("kind", ["png", "q50"])
def test_a_class_with_other_compression_is_flagged_and_named(kind):
    result = label_leakage(dataset(kind))
    assert result["flagged"]
    assert result["flagged_labels"] == ["n00000003"]
    top = result["labels_differing"][0]
    assert top["label"] == "n00000003" and top["flagged"] and len(top["examples"]) == 3


def test_the_png_class_is_found_through_the_format():
    result = label_leakage(dataset("png"))
    by_feature = {f["feature"]: f for f in result["features"]}
    assert by_feature["format"]["flagged"] and by_feature["format"]["cramers_v"] > 0.9
    assert result["labels_differing"][0]["label_value"] == "png"


def test_the_q50_class_is_found_through_quality_and_subsampling_not_format():
    by_feature = {f["feature"]: f for f in label_leakage(dataset("q50"))["features"]}
    assert by_feature["quality_band"]["flagged"] and by_feature["subsampling"]["flagged"]
    assert not by_feature["format"]["flagged"]


def test_prediction_from_compression_beats_chance_when_a_class_leaks():
    prediction = label_leakage(dataset("q50"))["prediction"]
    assert prediction["balanced_accuracy"] > prediction["shuffled_balanced_accuracy_max"]
    assert prediction["balanced_accuracy"] > prediction["chance_balanced_accuracy"]


@pytest.mark.parametrize("kind", ["png", "q50", "none"])
def test_shuffled_labels_are_not_flagged_false_positive_rate(kind):
    # scripts/measure_label_leakage.py --shuffles 500 measures 0/500 for each dataset.
    df = dataset(kind)
    flagged = sum(label_leakage(shuffled(df, s), seed=s, permutations=19)["flagged"]
                  for s in range(1, 41))  # fmt: skip
    assert flagged <= 2  # at most 5 % of 40 shuffles


def test_a_source_unrelated_to_the_class_is_not_flagged():
    assert not label_leakage(dataset("none"))["flagged"]


def test_default_label_is_the_class_folder():
    paths = pd.Series(["imagenet/train/n02105855/n02105855_2933.JPEG", "s.tar::n01/x.jpg", "x.jpg"])
    assert derive_labels(paths).tolist() == ["n02105855", "n01", ""]


def test_with_labels_keeps_a_label_column_and_derives_one_otherwise():
    df = pd.DataFrame({"path": ["a/b/c.jpg"], "label": ["given"]})
    assert with_labels(df)[0]["label"].tolist() == ["given"]
    assert with_labels(df.drop(columns="label"))[0]["label"].tolist() == ["b"]


def test_one_label_is_not_judged():
    df = dataset("none").assign(label="only")
    result = label_leakage(df)
    assert not result["flagged"] and "fewer than two labels" in result["note"]


def _label_by_rsplit(path) -> str:
    # derive_labels's definition, one path at a time: the folder holding the member.
    member = ("" if path is None else path).rsplit("::", 1)[-1]
    parts = member.rsplit("/", 2)
    return parts[-2] if len(parts) >= 2 else ""


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="ab/:.\n\r\u2028é", max_size=16)),
                max_size=40))  # fmt: skip
def test_derived_labels_follow_the_definition_on_any_path(paths):
    series = pd.Series(paths, dtype=object, index=range(3, 3 + len(paths)))
    derived = derive_labels(series)
    assert derived.tolist() == [_label_by_rsplit(p) for p in paths]
    assert derived.index.equals(series.index)
