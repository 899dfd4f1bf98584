"""The `label-leakage` policy rule (policy/rules.py LabelLeakageRule) on datasets built to leak
and on the same data with shuffled labels."""

from __future__ import annotations

import pytest
from measure_label_leakage import dataset, shuffled

from jpegaudit.analysis.leakage import FEATURES
from jpegaudit.policy import evaluate, parse_policy
from jpegaudit.policy.errors import PolicyError
from jpegaudit.policy.rules import LEAKAGE_FEATURES


def policy(**keys):
    return parse_policy({"rule": [{"kind": "label-leakage", **keys}]}, "test.toml")


@pytest.mark.parametrize("kind", ["png", "q50"])
def test_label_leakage_rule_fails_and_names_the_class(kind):
    report = evaluate(policy(), dataset(kind))
    outcome = report.outcomes[0]
    assert not outcome.passed and report.exit_code == 1
    assert "n00000003" in outcome.message
    assert outcome.examples and outcome.examples[0].detail.startswith("label n00000003:")


def test_label_leakage_rule_passes_on_shuffled_labels():
    outcome = evaluate(policy(), shuffled(dataset("png"), 3)).outcomes[0]
    assert outcome.passed, outcome.message


def test_label_leakage_rule_derives_the_label_from_the_path_without_a_label_column():
    outcome = evaluate(policy(), dataset("png").drop(columns="label")).outcomes[0]
    assert not outcome.passed and "class folder" in outcome.message


def test_label_leakage_rule_judges_only_the_features_given():
    outcome = evaluate(policy(features=["progressive"], max_label_distance=1.0),
                       dataset("q50")).outcomes[0]  # fmt: skip
    assert outcome.passed, outcome.message


def test_label_leakage_rule_rejects_an_unknown_feature():
    with pytest.raises(PolicyError, match="features"):
        policy(features=["colour"])


def test_the_rule_and_the_analysis_share_one_feature_vocabulary():
    assert LEAKAGE_FEATURES == FEATURES
