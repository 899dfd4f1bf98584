"""The policy engine on DataFrames with the store's columns: validation of keys, globs,
tolerance, each rule's edge cases, the starter policy, the formatters' escaping, and the
reference in docs/policy.md."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest
from oracles import REPO_ROOT

from jpegaudit.policy import (
    FORMATTERS,
    RULE_KINDS,
    PolicyError,
    evaluate,
    find_policy,
    parse_policy,
    starter_policy,
)
from jpegaudit.policy.formatters import escape_data, escape_property, printable, workflow_command
from jpegaudit.policy.keys import Key
from jpegaudit.policy.reference import reference_markdown
from jpegaudit.policy.rules import Tolerance, glob_to_regex

DOCS = REPO_ROOT / "docs"

_DTYPES = {
    "width": "Int32",
    "height": "Int32",
    "quality_luma": "Int16",
    "quality_chroma": "Int16",
    "trailing_bytes": "Int64",
    "ext_mismatch": "boolean",
    "quality_exact": "boolean",
    "truncated": "boolean",
    "arithmetic": "boolean",
}


def frame(*rows: dict) -> pd.DataFrame:
    """Rows as the store gives them: a clean 64x48 q90 4:2:0 JPEG unless a row says otherwise."""
    clean = {
        "split": "train", "root": "data/train", "entry_type": "file", "format": "jpeg",
        "ext": "jpg", "ext_mismatch": False, "error": None, "width": 64, "height": 48,
        "color": "ycbcr", "subsampling": "4:2:0", "process": "baseline", "arithmetic": False,
        "quality_luma": 90, "quality_chroma": 90, "quality_exact": True, "truncated": False,
        "trailing_bytes": 0,
    }  # fmt: skip
    records = [{"path": f"data/train/{i:03d}.jpg", **clean, **row} for i, row in enumerate(rows)]
    return pd.DataFrame(records).astype(_DTYPES)


def policy(*rules: dict, **top):
    return parse_policy({**top, "rule": list(rules)}, "test.toml")


def outcome(rule: dict, df: pd.DataFrame):
    (result,) = evaluate(policy(rule), df).outcomes
    return result


# -- keys ------------------------------------------------------------------------------------------
def test_number_key_accepts_an_integer_as_a_float():
    assert Key("max", "number", "").convert(3, "f") == 3.0


def test_number_key_rejects_a_boolean():
    with pytest.raises(PolicyError, match=r"f: key 'max' must be a number, got True \(a boolean\)"):
        Key("max", "number", "").convert(True, "f")


def test_number_key_rejects_infinity():
    with pytest.raises(PolicyError, match="key 'max' must be a finite number, got inf"):
        Key("max", "number", "").convert(math.inf, "f")


def test_toml_datetime_value_is_named_in_the_error():
    import datetime

    with pytest.raises(PolicyError, match=r"got .*\(a date \(TOML date/time\)\)"):
        Key("luma", "int", "").convert(datetime.date(2024, 1, 1), "f")


# -- globs -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("glob", "path", "matches"),
    [
        ("train/*.jpg", "data/train/a.jpg", True),
        ("train/*.jpg", "data/train/sub/a.jpg", False),
        ("train/**/*.jpg", "data/train/sub/deeper/a.jpg", True),
        ("train/**/*.jpg", "data/train/a.jpg", True),
        ("*.png", "data/val/x/y.png", True),
        ("a?.jpg", "d/ab.jpg", True),
        ("a?.jpg", "d/a/b.jpg", False),
        ("[!x]*.jpg", "d/y.jpg", True),
        ("[!x]*.jpg", "d/x.jpg", False),
        ("/abs/data/*.jpg", "/abs/data/a.jpg", True),
        ("rain/*.jpg", "data/train/a.jpg", False),
        ("a.jpg", "d/a.JPG", False),
    ],
)
def test_glob_matches_whole_path_or_a_tail_after_a_slash(glob, path, matches):
    assert (re.fullmatch(glob_to_regex(glob), path) is not None) is matches


# -- tolerance -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("count", "fraction", "violations", "allowed"),
    [(None, None, 0, True), (None, None, 1, False), (3, None, 3, True), (3, None, 4, False),
     (None, 0.1, 10, True), (None, 0.1, 11, False), (20, 0.1, 11, False), (5, 0.5, 6, False)],
)  # fmt: skip
def test_tolerance_holds_when_every_given_limit_holds(count, fraction, violations, allowed):
    assert Tolerance(count, fraction).allows(violations, checked=100) is allowed


# -- rules on DataFrames ---------------------------------------------------------------------------
def test_formats_allowed_counts_unread_entries_as_violations():
    df = frame({}, {"format": None, "entry_type": "fifo", "error": "fifo: not a regular file"})
    result = outcome({"kind": "formats", "allowed": ["jpeg"]}, df)
    assert (result.checked, result.violations) == (2, 1)
    assert result.examples[0].detail == "not read (fifo: fifo: not a regular file)"


def test_formats_forbidden_does_not_judge_unread_entries():
    df = frame({}, {"format": None, "entry_type": "fifo"}, {"format": "png"})
    result = outcome({"kind": "formats", "forbidden": ["png"]}, df)
    assert (result.checked, result.violations) == (2, 1)


def test_min_quality_does_not_judge_a_missing_chroma_quality():
    df = frame({"quality_chroma": None, "color": "gray"}, {"quality_chroma": 50})
    result = outcome({"kind": "min-quality", "chroma": 75}, df)
    assert (result.checked, result.violations) == (1, 1)


def test_min_quality_marks_approximate_qualities_in_examples():
    df = frame({"quality_luma": 60, "quality_exact": False})
    result = outcome({"kind": "min-quality", "luma": 75}, df)
    assert result.examples[0].detail == "quality_luma 60 < 75 (nearest IJG quality)"


def test_min_quality_with_both_limits_counts_a_file_once():
    df = frame({"quality_luma": 50, "quality_chroma": 50})
    result = outcome({"kind": "min-quality", "luma": 75, "chroma": 75}, df)
    assert result.violations == 1
    assert result.examples[0].detail == "quality_luma 50 < 75, quality_chroma 50 < 75"


def test_aspect_ratio_equal_to_the_limit_passes_both_orientations():
    df = frame(
        {"width": 300, "height": 100}, {"width": 100, "height": 300}, {"width": 301, "height": 100}
    )
    result = outcome({"kind": "max-aspect-ratio", "max": 3}, df)
    assert result.violations == 1 and result.examples[0].detail == "301x100 (ratio 3.01)"


def test_size_rules_do_not_judge_a_height_left_to_dnl():
    df = frame({"height": 0}, {"width": None, "height": None})
    assert outcome({"kind": "min-size", "width": 100}, df).checked == 0
    assert outcome({"kind": "max-aspect-ratio", "max": 2}, df).checked == 0


def test_min_pixels_does_not_overflow_on_huge_frames():
    df = frame({"width": 65535, "height": 65535})
    assert outcome({"kind": "min-size", "pixels": 1_000_000}, df).violations == 0


def test_trailing_data_accepts_up_to_max_bytes():
    df = frame(
        {"trailing_bytes": 2}, {"trailing_bytes": 3}, {"trailing_bytes": None, "truncated": True}
    )
    result = outcome({"kind": "no-trailing-data", "max_bytes": 2}, df)
    assert (result.checked, result.violations) == (2, 1)


def test_subsampling_accepts_raw_factor_strings():
    df = frame({"subsampling": "1x1,2x1,1x1"})
    result = outcome({"kind": "subsampling", "forbidden": ["1x1,2x1,1x1"]}, df)
    assert result.violations == 1


def test_processes_rule_mentions_arithmetic_coding():
    df = frame({"process": "extended", "arithmetic": True})
    result = outcome({"kind": "processes", "allowed": ["baseline", "progressive"]}, df)
    assert result.examples[0].detail == "coding process extended (arithmetic)"


def test_scope_with_no_matching_files_passes_and_says_so():
    result = outcome({"kind": "no-errors", "splits": ["test"]}, frame({}))
    assert result.passed and result.message == "no files to judge in scope (splits test)"


def test_examples_are_the_first_paths_in_order():
    df = frame(*({"quality_luma": 10} for _ in range(8)))
    result = evaluate(policy({"kind": "min-quality", "luma": 50}), df, examples=3).outcomes[0]
    assert [e.path for e in result.examples] == [f"data/train/{i:03d}.jpg" for i in range(3)]


def test_rules_sharing_a_kind_get_numbered_default_names():
    p = policy(
        {"kind": "no-errors"}, {"kind": "formats", "allowed": ["jpeg"]}, {"kind": "no-errors"}
    )
    assert [r.name for r in p.rules] == ["no-errors#1", "formats", "no-errors#3"]


def test_policy_paths_are_relative_to_the_policy_file():
    p = parse_policy(
        {"paths": ["data/train"], "rule": [{"kind": "no-errors"}]}, "repo/j.toml", base_dir="repo"
    )
    assert p.paths == ("repo/data/train",)


def test_report_exit_code_ignores_warnings():
    df = frame({"color": "cmyk"})
    report = evaluate(policy({"kind": "colors", "forbidden": ["cmyk"], "severity": "warning"}), df)
    assert (report.exit_code, [o.status for o in report.outcomes]) == (0, ["warn"])


# -- policy discovery -------------------------------------------------------------------------------
def test_find_policy_prefers_jpegaudit_toml_over_pyproject(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.jpegaudit]\n")
    (tmp_path / "jpegaudit.toml").write_text("")
    assert find_policy(tmp_path) == str(tmp_path / "jpegaudit.toml")


def test_find_policy_ignores_pyproject_without_the_tool_table(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\n")
    with pytest.raises(PolicyError, match="no policy"):
        find_policy(tmp_path)


# -- the starter policy ------------------------------------------------------------------------------
def _starter_df() -> pd.DataFrame:
    return frame(
        {}, {"quality_luma": 70, "quality_chroma": 65}, {"subsampling": "4:4:4"},
        {"format": "png", "ext_mismatch": True, "error": "not a JPEG: png", "width": None,
         "height": None, "color": None, "subsampling": None, "process": None, "quality_luma": None,
         "quality_chroma": None, "quality_exact": None, "truncated": None, "trailing_bytes": None},
        {"width": 500, "height": 100}, {"trailing_bytes": 12},
    )  # fmt: skip


def test_starter_policy_is_valid_toml_that_the_data_passes():
    import tomllib

    df = _starter_df()
    starter = starter_policy(df)
    report = evaluate(parse_policy(tomllib.loads(starter.text), "starter.toml"), df)
    assert report.exit_code == 0
    assert [o.status for o in report.outcomes] == ["pass"] * starter.rules


def test_starter_policy_locks_todays_extremes():
    import tomllib

    rules = {r["kind"]: r for r in tomllib.loads(starter_policy(_starter_df()).text)["rule"]}
    assert (rules["min-quality"]["luma"], rules["min-quality"]["chroma"]) == (70, 65)
    assert rules["max-aspect-ratio"]["max"] == 5.0
    assert rules["formats"] == {"kind": "formats", "allowed": ["jpeg"], "tolerate": 1}
    assert rules["no-trailing-data"]["tolerate"] == 1
    assert set(rules["subsampling"]["allowed"]) == {"4:2:0", "4:4:4"}


def test_starter_policy_fails_a_new_defect():
    import tomllib

    df = _starter_df()
    loaded = parse_policy(tomllib.loads(starter_policy(df).text), "starter.toml")
    worse = pd.concat([df, frame({"trailing_bytes": 5})], ignore_index=True)
    failed = [o.name for o in evaluate(loaded, worse).outcomes if o.status == "fail"]
    assert failed == ["no-trailing-data"]


# -- formatters -------------------------------------------------------------------------------------------
def test_escape_data_escapes_percent_first_then_line_breaks():
    assert escape_data("100%\r\nok %0A") == "100%25%0D%0Aok %250A"


def test_escape_property_also_escapes_colon_and_comma():
    assert escape_property("a:b,c%") == "a%3Ab%2Cc%25"


def test_workflow_command_without_properties_has_no_space():
    assert workflow_command("warning", "x") == "::warning::x"


def test_printable_escapes_control_characters_in_paths():
    assert printable("a\nb\tc\x01") == "a\\nb\\tc\\x01"


def test_every_format_renders_a_report():
    report = evaluate(policy({"kind": "min-quality", "luma": 95}), frame({}))
    for name, formatter in FORMATTERS.items():
        assert formatter().render(report).endswith("\n"), name
    doc = json.loads(FORMATTERS["json"]().render(report))
    assert doc["rules"][0]["violations"] == 1 and doc["exit_code"] == 1


# -- docs ---------------------------------------------------------------------------------------------------
def test_policy_reference_in_docs_is_generated_from_the_rules():
    text = (DOCS / "policy.md").read_text()
    assert reference_markdown() in text, "regenerate: python -m jpegaudit.policy.reference"


def test_every_rule_kind_has_an_example_in_docs():
    text = (DOCS / "policy.md").read_text()
    for kind in RULE_KINDS:
        assert f'kind = "{kind}"' in text, kind


def test_example_policy_in_docs_is_valid():
    import tomllib

    from jpegaudit.policy.rules import drift_setting_names

    text = (DOCS / "policy.md").read_text()
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    document = tomllib.loads(block)
    try:
        drift_setting_names()
    except PolicyError:  # drift module not installed here: judge the other rules
        document["rule"] = [r for r in document["rule"] if r["kind"] != "drift"]
    loaded = parse_policy(document, "docs/policy.md")
    assert {r.kind for r in loaded.rules} >= set(RULE_KINDS) - {"drift"}


def test_starter_policy_quotes_odd_file_names_in_comments_as_valid_toml():
    import tomllib

    df = frame({"path": "data/train/a\nb\x7f.jpg", "trailing_bytes": 3})
    text = starter_policy(df).text
    assert "#   e.g. data/train/a\\nb\\x7f.jpg: 3 bytes after EOI" in text
    tomllib.loads(text)
