"""`jpegaudit check` through click's CliRunner on real files encoded in tmp_path with Pillow and
cjpeg: every rule broken by a file made for it, exit codes (0 pass, 1 broken, 2 cannot run),
counts and the example paths listed, every output format, `--init`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from jpegaudit.cli import main

CLEAN_PER_SPLIT = 5


# -- files, made with real encoders ---------------------------------------------------------------
def noise(size=(64, 48), mode="RGB", seed=0) -> Image.Image:
    """A noisy image, so the entropy-coded data is long (a cut lands inside it)."""
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "CMYK": 4, "L": 1}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels, mode)


def save_jpeg(path: Path, *, size=(64, 48), mode="RGB", quality=90, subsampling=2, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    options = {"quality": quality, **kw}
    if mode != "L":
        options["subsampling"] = subsampling
    noise(size, mode, seed=len(path.name)).save(path, "JPEG", **options)
    return path


def cjpeg(path: Path, *args: str) -> Path:
    """Encode with libjpeg's cjpeg (from a PPM written by Pillow)."""
    if shutil.which("cjpeg") is None:
        pytest.skip("cjpeg (libjpeg-turbo-progs) not installed")
    path.parent.mkdir(parents=True, exist_ok=True)
    ppm = path.with_suffix(".ppm")
    noise().save(ppm)
    subprocess.run(["cjpeg", *args, "-outfile", str(path), str(ppm)], check=True)
    ppm.unlink()
    return path


def clean_dataset(root: Path) -> Path:
    """train/ and val/ of plain 4:2:0 q90 JPEGs: passes every rule of CLEAN_POLICY."""
    for split in ("train", "val"):
        for i in range(CLEAN_PER_SPLIT):
            save_jpeg(root / split / f"img{i}.jpg")
    return root


# Each rule with a file that breaks it (made by the given function in the folder given).
def png_named_jpeg(folder: Path) -> list[Path]:
    path = folder / "really.png.jpg"
    noise().save(path, "PNG")
    return [path]


def low_quality(folder: Path) -> list[Path]:
    return [save_jpeg(folder / "q40.jpg", quality=40), save_jpeg(folder / "q55.jpg", quality=55)]


def low_chroma_quality(folder: Path) -> list[Path]:
    return [cjpeg(folder / "split-q.jpg", "-quality", "90,40")]


def subsampled_444_and_411(folder: Path) -> list[Path]:
    return [
        save_jpeg(folder / "s444.jpg", subsampling=0),
        cjpeg(folder / "s411.jpg", "-sample", "4x1,1x1,1x1"),
    ]


def cmyk(folder: Path) -> list[Path]:
    return [save_jpeg(folder / "cmyk.jpg", mode="CMYK")]


def tiny(folder: Path) -> list[Path]:
    return [save_jpeg(folder / "tiny.jpg", size=(8, 8))]


def extreme_aspect(folder: Path) -> list[Path]:
    return [
        save_jpeg(folder / "wide.jpg", size=(400, 20)),
        save_jpeg(folder / "tall.jpg", size=(16, 200)),
    ]


def truncated(folder: Path) -> list[Path]:
    whole = save_jpeg(folder / "whole.jpg", size=(128, 128))
    data = whole.read_bytes()
    whole.unlink()
    path = folder / "cut.jpg"
    path.write_bytes(data[: len(data) * 2 // 3])  # inside the entropy-coded data: no EOI
    return [path]


def trailing(folder: Path) -> list[Path]:
    path = save_jpeg(folder / "trail.jpg")
    path.write_bytes(path.read_bytes() + b"PK\x03\x04 appended zip")
    return [path]


def progressive(folder: Path) -> list[Path]:
    return [save_jpeg(folder / "prog.jpg", progressive=True)]


def header_cut(folder: Path) -> list[Path]:
    path = save_jpeg(folder / "stub.jpg")
    path.write_bytes(path.read_bytes()[:60])
    return [path]


RULE_CASES = [
    # (id, policy rule TOML, maker of breaking files, expected phrase)
    ("formats", 'kind = "formats"\nallowed = ["jpeg"]', png_named_jpeg, "format png"),
    ("extension", 'kind = "extension-matches"', png_named_jpeg, "png content named .jpg"),
    ("luma", 'kind = "min-quality"\nluma = 75', low_quality, "quality_luma 40 < 75"),
    ("chroma", 'kind = "min-quality"\nchroma = 75', low_chroma_quality, "quality_chroma 40 < 75"),
    (
        "subsampling-allowed",
        'kind = "subsampling"\nallowed = ["4:2:0"]',
        subsampled_444_and_411,
        "subsampling 4:1:1",
    ),
    (
        "subsampling-forbidden",
        'kind = "subsampling"\nforbidden = ["4:4:4", "4:1:1"]',
        subsampled_444_and_411,
        "subsampling 4:4:4",
    ),
    ("colors", 'kind = "colors"\nforbidden = ["cmyk"]', cmyk, "colour model cmyk"),
    ("min-size", 'kind = "min-size"\nwidth = 32\nheight = 32', tiny, "8x8 (64 pixels)"),
    ("min-pixels", 'kind = "min-size"\npixels = 1000', tiny, "8x8 (64 pixels)"),
    ("aspect", 'kind = "max-aspect-ratio"\nmax = 3', extreme_aspect, "400x20 (ratio 20.00)"),
    ("truncated", 'kind = "no-truncated"', truncated, "truncated (no EOI after the scan)"),
    ("trailing", 'kind = "no-trailing-data"', trailing, "17 bytes after EOI"),
    ("processes", 'kind = "processes"\nallowed = ["baseline"]', progressive, "coding process progressive"),
    ("errors", 'kind = "no-errors"', header_cut, "runs past end of file"),
]  # fmt: skip


def write_policy(path: Path, *rules: str, top: str = "") -> Path:
    body = top + "".join(f"\n[[rule]]\n{r}\n" for r in rules)
    path.write_text(body)
    return path


def check(tmp_path: Path, *args: str, env: dict | None = None):
    """`jpegaudit check ARGS` with a store in tmp_path, one process, no progress bar."""
    store = ["--store", str(tmp_path / "store")] if "--store" not in args else []
    return CliRunner().invoke(main, ["check", *args, *store, "-j", "1", "--no-progress"], env=env)


def split_args(root: Path) -> list[str]:
    return [str(root / "train"), str(root / "val")]


# -- every rule, broken by real files --------------------------------------------------------------
@pytest.mark.parametrize("case", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_each_rule_fails_on_the_files_that_break_it_and_lists_them(tmp_path, case):
    _, rule, make_bad, detail = case
    root = clean_dataset(tmp_path / "data")
    bad = make_bad(root / "val")
    policy = write_policy(tmp_path / "p.toml", rule)
    result = check(tmp_path, *split_args(root), "--policy", str(policy), "--format", "json")
    assert result.exit_code == 1, result.output
    (outcome,) = json.loads(result.stdout)["rules"]
    assert outcome["status"] == "fail"
    assert outcome["violations"] == len(bad)
    assert sorted(e["path"] for e in outcome["examples"]) == sorted(str(p) for p in bad)
    assert any(detail in e["detail"] for e in outcome["examples"]), outcome["examples"]


@pytest.mark.parametrize("case", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_each_rule_passes_on_the_clean_dataset(tmp_path, case):
    root = clean_dataset(tmp_path / "data")
    policy = write_policy(tmp_path / "p.toml", case[1])
    result = check(tmp_path, *split_args(root), "--policy", str(policy))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("jpegaudit check passed: 1 rules hold")


CLEAN_POLICY = [c[1] for c in RULE_CASES if c[0] not in ("subsampling-forbidden", "min-pixels")]


def test_clean_dataset_passes_the_whole_policy(tmp_path):
    root = clean_dataset(tmp_path / "data")
    names = [f'name = "rule {i}"\n{r}' for i, r in enumerate(CLEAN_POLICY)]
    policy = write_policy(tmp_path / "p.toml", *names)
    result = check(tmp_path, *split_args(root), "--policy", str(policy))
    assert result.exit_code == 0, result.output
    assert f"{len(CLEAN_POLICY)} rules hold; 10 files (train 5, val 5)" in result.stdout
    assert "FAIL" not in result.stdout


def test_text_output_names_the_rule_the_count_and_examples(tmp_path):
    root = clean_dataset(tmp_path / "data")
    low_quality(root / "train")
    policy = write_policy(tmp_path / "p.toml", 'kind = "min-quality"\nluma = 75')
    result = check(tmp_path, *split_args(root), "--policy", str(policy))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == "jpegaudit check FAILED: 1 of 1 rules broken; 12 files (train 7, val 5)"
    assert re.search(
        r"^FAIL  min-quality  2 of 12 files \(16\.67%\) have luma quality below 75",
        result.stdout,
        re.M,
    )
    assert f"      {root / 'train' / 'q40.jpg'}: quality_luma 40 < 75" in lines
    assert f"      {root / 'train' / 'q55.jpg'}: quality_luma 55 < 75" in lines


def test_examples_option_caps_the_listed_paths_and_says_how_many_more(tmp_path):
    root = clean_dataset(tmp_path / "data")
    for i in range(4):
        save_jpeg(root / "val" / f"low{i}.jpg", quality=30)
    policy = write_policy(tmp_path / "p.toml", 'kind = "min-quality"\nluma = 75')
    result = check(tmp_path, *split_args(root), "--policy", str(policy), "--examples", "1")
    assert result.exit_code == 1
    assert f"{root / 'val' / 'low0.jpg'}: quality_luma 30 < 75" in result.stdout
    assert "low1.jpg" not in result.stdout
    assert "... and 3 more" in result.stdout


# -- tolerance, scope, severity ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("tolerance", "exit_code"),
    [("tolerate = 2", 0), ("tolerate = 1", 1), ("tolerate_fraction = 0.2", 0),
     ("tolerate_fraction = 0.1", 1), ("tolerate = 2\ntolerate_fraction = 0.1", 1)],
)  # fmt: skip
def test_tolerated_count_or_fraction_decides_pass_or_fail(tmp_path, tolerance, exit_code):
    root = clean_dataset(tmp_path / "data")
    low_quality(root / "val")  # 2 of 12 files: 16.7 %
    policy = write_policy(tmp_path / "p.toml", f'kind = "min-quality"\nluma = 75\n{tolerance}')
    result = check(tmp_path, *split_args(root), "--policy", str(policy))
    assert result.exit_code == exit_code, result.output


def test_rule_scoped_to_a_split_ignores_files_in_other_splits(tmp_path):
    root = clean_dataset(tmp_path / "data")
    low_quality(root / "train")
    rule = 'kind = "min-quality"\nluma = 75\nsplits = ["val"]'
    result = check(
        tmp_path, *split_args(root), "--policy", str(write_policy(tmp_path / "p.toml", rule))
    )
    assert result.exit_code == 0, result.output
    assert "0 of 5 files" in result.stdout


def test_rule_scoped_to_a_glob_judges_only_matching_paths(tmp_path):
    root = clean_dataset(tmp_path / "data")
    low_quality(root / "train")
    rule = 'kind = "min-quality"\nluma = 75\npaths = ["train/q4*.jpg"]'
    result = check(
        tmp_path, *split_args(root), "--policy", str(write_policy(tmp_path / "p.toml", rule)),
        "--format", "json",
    )  # fmt: skip
    (outcome,) = json.loads(result.stdout)["rules"]
    assert (outcome["checked"], outcome["violations"]) == (1, 1)
    assert outcome["examples"][0]["path"].endswith("train/q40.jpg")


def test_excluded_glob_is_not_judged(tmp_path):
    root = clean_dataset(tmp_path / "data")
    low_quality(root / "train")
    rule = 'kind = "min-quality"\nluma = 75\nexclude = ["**/q*.jpg"]'
    result = check(
        tmp_path, *split_args(root), "--policy", str(write_policy(tmp_path / "p.toml", rule))
    )
    assert result.exit_code == 0, result.output


def test_warning_severity_reports_but_exits_zero(tmp_path):
    root = clean_dataset(tmp_path / "data")
    cmyk(root / "val")
    rule = 'kind = "colors"\nforbidden = ["cmyk"]\nseverity = "warning"\ndescription = "decoders differ"'
    result = check(
        tmp_path, *split_args(root), "--policy", str(write_policy(tmp_path / "p.toml", rule))
    )
    assert result.exit_code == 0, result.output
    assert "WARN  colors  1 of 11 files" in result.stdout
    assert "why: decoders differ" in result.stdout


# -- drift between splits -------------------------------------------------------------------------------
def _drift_available() -> bool:
    try:
        from jpegaudit.analysis import drift  # noqa: F401
    except ImportError:
        return False
    return True


needs_drift = pytest.mark.skipif(not _drift_available(), reason="jpegaudit.analysis.drift missing")


def drift_dataset(root: Path, val_quality: int) -> Path:
    for i in range(8):
        save_jpeg(root / "train" / f"t{i}.jpg", quality=90)
        save_jpeg(root / "val" / f"v{i}.jpg", quality=val_quality)
    return root


@needs_drift
def test_drift_rule_fails_when_splits_differ_beyond_the_limit(tmp_path):
    root = drift_dataset(tmp_path / "data", val_quality=60)
    rule = 'kind = "drift"\nbetween = ["train", "val"]\nmax = { quality_luma = 5.0 }'
    result = check(
        tmp_path, *split_args(root), "--policy", str(write_policy(tmp_path / "p.toml", rule)),
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    (outcome,) = json.loads(result.stdout)["rules"]
    (measured,) = outcome["measurements"]
    assert measured["setting"] == "quality_luma" and measured["exceeded"]
    assert measured["distance"] == pytest.approx(30.0)


@needs_drift
def test_drift_rule_passes_when_splits_match(tmp_path):
    root = drift_dataset(tmp_path / "data", val_quality=90)
    rule = 'kind = "drift"\nbetween = ["train", "val"]\nmax = { quality_luma = 1.0, subsampling = 0.01 }'
    result = check(
        tmp_path, *split_args(root), "--policy", str(write_policy(tmp_path / "p.toml", rule))
    )
    assert result.exit_code == 0, result.output


@needs_drift
def test_drift_rule_naming_a_split_without_files_cannot_run(tmp_path):
    root = drift_dataset(tmp_path / "data", val_quality=90)
    rule = 'kind = "drift"\nbetween = ["train", "test"]\nmax = { quality_luma = 1.0 }'
    result = check(
        tmp_path, *split_args(root), "--policy", str(write_policy(tmp_path / "p.toml", rule))
    )
    assert result.exit_code == 2
    assert "split 'test' has no files to compare (splits checked: train, val)" in result.output


# -- malformed policies: exit 2, naming the file and the key --------------------------------------------
MALFORMED = [
    # (id, policy text, expected message fragment)
    ("not-toml", "[[rule]\nkind = 'formats'", "not valid TOML"),
    ("unknown-top-key", 'rules = 1\n[[rule]]\nkind = "no-errors"', "unknown top-level key 'rules'"),
    ("version-type", 'version = "1"\n[[rule]]\nkind = "no-errors"', "key 'version' must be an integer equal to 1, got '1' (a string)"),
    ("version-future", 'version = 2\n[[rule]]\nkind = "no-errors"', "key 'version' must be equal to 1, got 2"),
    ("no-rules", "version = 1", "defines no rules"),
    ("rule-not-array", '[rule]\nkind = "no-errors"', "write [[rule]], not [rule]"),
    ("paths-type", 'paths = "data"\n[[rule]]\nkind = "no-errors"', "key 'paths' must be an array of strings, got 'data' (a string)"),
    ("missing-kind", "[[rule]]\nluma = 3", "[[rule]] #1: missing required key 'kind'"),
    ("unknown-kind", '[[rule]]\nkind = "min-qualty"', "key 'kind' has unknown value 'min-qualty'"),
    ("kind-type", "[[rule]]\nkind = 3", "key 'kind' must be a string, got 3"),
    ("unknown-key", '[[rule]]\nkind = "min-quality"\nlumma = 75', "[[rule]] #1 (min-quality): unknown key 'lumma'"),
    ("int-as-string", '[[rule]]\nkind = "min-quality"\nluma = "75"', "key 'luma' must be an integer from 1 to 100, got '75' (a string)"),
    ("int-as-float", '[[rule]]\nkind = "min-quality"\nluma = 75.5', "key 'luma' must be an integer from 1 to 100, got 75.5 (a float)"),
    ("quality-range", '[[rule]]\nkind = "min-quality"\nluma = 101', "key 'luma' must be from 1 to 100, got 101"),
    ("bool-as-int", '[[rule]]\nkind = "no-errors"\ntolerate = true', "key 'tolerate' must be an integer >= 0, got True (a boolean)"),
    ("negative-tolerate", '[[rule]]\nkind = "no-errors"\ntolerate = -1', "key 'tolerate' must be >= 0, got -1"),
    ("fraction-range", '[[rule]]\nkind = "no-errors"\ntolerate_fraction = 1.5', "key 'tolerate_fraction' must be from 0 to 1, got 1.5"),
    ("min-quality-empty", '[[rule]]\nkind = "min-quality"', "give at least one of 'luma', 'chroma'"),
    ("min-size-empty", '[[rule]]\nkind = "min-size"', "give at least one of 'width', 'height', 'pixels'"),
    ("both-lists", '[[rule]]\nkind = "colors"\nallowed = ["gray"]\nforbidden = ["cmyk"]', "give exactly one of 'allowed' or 'forbidden'"),
    ("neither-list", '[[rule]]\nkind = "colors"', "give exactly one of 'allowed' or 'forbidden'"),
    ("unknown-format", '[[rule]]\nkind = "formats"\nallowed = ["jpg"]', "key 'allowed' has unknown value 'jpg'"),
    ("unknown-subsampling", '[[rule]]\nkind = "subsampling"\nforbidden = ["420"]', "key 'forbidden' has unknown value '420'"),
    ("list-item-type", '[[rule]]\nkind = "colors"\nallowed = [1]', "key 'allowed' item 1 must be a string, got 1 (an integer)"),
    ("empty-list", '[[rule]]\nkind = "colors"\nallowed = []', "key 'allowed' must not be an empty array"),
    ("repeated-value", '[[rule]]\nkind = "colors"\nallowed = ["gray", "gray"]', "key 'allowed' lists the same value twice"),
    ("splits-type", '[[rule]]\nkind = "no-errors"\nsplits = "val"', "key 'splits' must be an array of strings"),
    ("severity-value", '[[rule]]\nkind = "no-errors"\nseverity = "fatal"', "key 'severity' has unknown value 'fatal'"),
    ("aspect-missing", '[[rule]]\nkind = "max-aspect-ratio"', "missing required key 'max'"),
    ("aspect-range", '[[rule]]\nkind = "max-aspect-ratio"\nmax = 0.5', "key 'max' must be >= 1, got 0.5"),
    ("duplicate-name", '[[rule]]\nkind = "no-errors"\nname = "x"\n[[rule]]\nkind = "no-truncated"\nname = "x"', "[[rule]] #2 (no-truncated): key 'name' repeats 'x' of rule #1"),
    ("drift-between-length", '[[rule]]\nkind = "drift"\nbetween = ["train"]\nmax = { quality_luma = 1 }', "key 'between' must have exactly 2 items, got 1"),
    ("drift-tolerate", '[[rule]]\nkind = "drift"\nbetween = ["a", "b"]\nmax = { quality_luma = 1 }\ntolerate = 1', "[[rule]] #1 (drift): unknown key 'tolerate'"),
    ("drift-max-type", '[[rule]]\nkind = "drift"\nbetween = ["a", "b"]\nmax = 0.1', "key 'max' must be a table of numbers >= 0, got 0.1 (a float)"),
]  # fmt: skip

DRIFT_MALFORMED = [
    ("drift-unknown-setting", '[[rule]]\nkind = "drift"\nbetween = ["a", "b"]\nmax = { qualty = 1 }', "key 'max' names unknown setting 'qualty'"),
    ("drift-same-split", '[[rule]]\nkind = "drift"\nbetween = ["a", "a"]\nmax = { quality_luma = 1 }', "key 'between' lists the same value twice"),
    ("drift-negative", '[[rule]]\nkind = "drift"\nbetween = ["a", "b"]\nmax = { quality_luma = -1 }', "key 'max.quality_luma' must be >= 0, got -1"),
]  # fmt: skip


def _assert_cannot_run(result, *fragments: str) -> None:
    assert result.exit_code == 2, result.output
    for fragment in fragments:
        assert fragment in result.output, result.output


@pytest.mark.parametrize("case", MALFORMED, ids=[c[0] for c in MALFORMED])
def test_malformed_policy_exits_2_naming_file_and_key(tmp_path, case):
    _, text, fragment = case
    root = clean_dataset(tmp_path / "data")
    policy = tmp_path / "bad-policy.toml"
    policy.write_text(text)
    result = check(tmp_path, *split_args(root), "--policy", str(policy))
    _assert_cannot_run(result, f"error: {policy}", fragment)
    assert not (tmp_path / "store").exists(), "a wrong policy must fail before scanning"


@needs_drift
@pytest.mark.parametrize("case", DRIFT_MALFORMED, ids=[c[0] for c in DRIFT_MALFORMED])
def test_malformed_drift_rule_exits_2_naming_file_and_key(tmp_path, case):
    _, text, fragment = case
    policy = tmp_path / "bad-policy.toml"
    policy.write_text(text)
    result = check(tmp_path, str(clean_dataset(tmp_path / "data")), "--policy", str(policy))
    _assert_cannot_run(result, f"error: {policy}", fragment)


def test_policy_that_is_not_utf8_exits_2(tmp_path):
    policy = tmp_path / "latin1.toml"
    policy.write_bytes(b'# caf\xe9\n[[rule]]\nkind = "no-errors"\n')
    result = check(tmp_path, str(clean_dataset(tmp_path / "data")), "--policy", str(policy))
    _assert_cannot_run(result, f"{policy}: not valid TOML")


def test_missing_policy_file_exits_2(tmp_path):
    result = check(
        tmp_path, str(clean_dataset(tmp_path / "data")), "--policy", str(tmp_path / "nope.toml")
    )
    _assert_cannot_run(result, f"policy file {tmp_path / 'nope.toml'} not found")


def test_pyproject_unknown_key_names_the_tool_table(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.jpegaudit]\nversion = 1\n[[tool.jpegaudit.rule]]\nkind = "formats"\nallow = ["jpeg"]\n'
    )
    result = check(tmp_path, str(clean_dataset(tmp_path / "data")), "--policy", str(pyproject))
    _assert_cannot_run(
        result, f"{pyproject} [tool.jpegaudit]: [[rule]] #1 (formats): unknown key 'allow'"
    )


def test_pyproject_without_tool_table_exits_2(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    result = check(tmp_path, str(clean_dataset(tmp_path / "data")), "--policy", str(pyproject))
    _assert_cannot_run(result, f"{pyproject}: has no [tool.jpegaudit] table")


# -- the command itself wrong, or the store/scan failing: 2, never 1 -------------------------------------
def test_missing_path_exits_2(tmp_path):
    policy = write_policy(tmp_path / "p.toml", 'kind = "no-errors"')
    result = check(tmp_path, str(tmp_path / "absent"), "--policy", str(policy))
    _assert_cannot_run(result, f"path {tmp_path / 'absent'} does not exist")


def test_store_that_cannot_be_created_exits_2(tmp_path):
    root = clean_dataset(tmp_path / "data")
    (tmp_path / "store-file").write_text("not a directory")
    policy = write_policy(tmp_path / "p.toml", 'kind = "no-errors"')
    result = check(
        tmp_path, str(root), "--policy", str(policy), "--store", str(tmp_path / "store-file")
    )
    _assert_cannot_run(result, "scan failed: cannot create store")


def test_damaged_store_exits_2(tmp_path):
    root = clean_dataset(tmp_path / "data")
    policy = write_policy(tmp_path / "p.toml", 'kind = "no-errors"')
    assert check(tmp_path, str(root), "--policy", str(policy)).exit_code == 0
    for part in (tmp_path / "store").glob("part-*.parquet"):
        part.write_bytes(b"PAR1 garbage")
    result = check(tmp_path, str(root), "--policy", str(policy), "--no-scan")
    _assert_cannot_run(result, f"cannot read store {tmp_path / 'store'}")


def test_unknown_format_option_exits_2(tmp_path):
    policy = write_policy(tmp_path / "p.toml", 'kind = "no-errors"')
    result = check(
        tmp_path, str(clean_dataset(tmp_path / "data")), "--policy", str(policy), "--format", "xml"
    )
    assert result.exit_code == 2


def test_no_policy_anywhere_exits_2(tmp_path, monkeypatch):
    root = clean_dataset(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    result = check(tmp_path, str(root))
    _assert_cannot_run(result, "no policy: give --policy FILE")


def test_no_paths_and_none_in_policy_exits_2(tmp_path):
    policy = write_policy(tmp_path / "p.toml", 'kind = "no-errors"')
    result = check(tmp_path, "--policy", str(policy))
    _assert_cannot_run(result, f"nothing to check: give PATH arguments, or 'paths' in {policy}")


def test_cannot_run_in_github_format_also_annotates(tmp_path):
    policy = write_policy(tmp_path / "p.toml", 'kind = "no-errors"')
    result = check(
        tmp_path, str(tmp_path / "absent"), "--policy", str(policy), "--format", "github"
    )
    assert result.exit_code == 2
    assert "::error title=jpegaudit check could not run::path " in result.stdout


# -- policy discovery, store, incremental ----------------------------------------------------------------
def test_policy_found_in_working_directory_and_paths_taken_from_it(tmp_path, monkeypatch):
    clean_dataset(tmp_path / "data")
    low_quality(tmp_path / "data" / "val")
    write_policy(tmp_path / "jpegaudit.toml", 'kind = "min-quality"\nluma = 75',
                 top='paths = ["data/train", "data/val"]\n')  # fmt: skip
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "-j", "1", "--format", "json"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.stdout)
    assert doc["policy"] == "jpegaudit.toml"
    assert doc["store"] == os.path.join(".jpegaudit", "store")
    assert doc["files_by_split"] == {"train": 5, "val": 7}
    assert [e["path"] for e in doc["rules"][0]["examples"]] == [
        "data/val/q40.jpg",
        "data/val/q55.jpg",
    ]


def test_pyproject_tool_table_is_used_when_there_is_no_jpegaudit_toml(tmp_path, monkeypatch):
    clean_dataset(tmp_path / "data")
    cmyk(tmp_path / "data" / "train")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.jpegaudit]\npaths = ["data/train"]\n'
        '[[tool.jpegaudit.rule]]\nkind = "colors"\nallowed = ["ycbcr"]\n'
    )
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["check", "-j", "1"])
    assert result.exit_code == 1, result.output
    assert "policy pyproject.toml [tool.jpegaudit]" in result.stdout
    assert "data/train/cmyk.jpg: colour model cmyk" in result.stdout


def test_store_inside_the_checked_folder_is_not_judged(tmp_path, monkeypatch):
    data = clean_dataset(tmp_path / "data")
    policy = write_policy(tmp_path / "p.toml", 'kind = "formats"\nallowed = ["jpeg"]')
    monkeypatch.chdir(data)
    for _ in range(2):  # the second run sees the first run's store files on disk
        result = CliRunner().invoke(main, ["check", ".", "--policy", str(policy), "-j", "1"])
        assert result.exit_code == 0, result.output
        assert "10 files" in result.stdout.splitlines()[0]


def test_second_check_reads_only_changed_files(tmp_path):
    root = clean_dataset(tmp_path / "data")
    policy = write_policy(tmp_path / "p.toml", 'kind = "min-quality"\nluma = 75')
    first = check(tmp_path, *split_args(root), "--policy", str(policy), "--format", "json")
    assert json.loads(first.stdout)["scan"]["scanned"] == 10
    save_jpeg(root / "val" / "new.jpg", quality=20)
    second = check(tmp_path, *split_args(root), "--policy", str(policy), "--format", "json")
    doc = json.loads(second.stdout)
    assert (doc["scan"]["scanned"], doc["scan"]["unchanged"]) == (1, 10)
    assert second.exit_code == 1 and doc["rules"][0]["violations"] == 1


def test_rows_of_other_folders_in_a_shared_store_are_not_judged(tmp_path):
    root = clean_dataset(tmp_path / "data")
    other = tmp_path / "other"
    low_quality(other)
    policy = write_policy(tmp_path / "p.toml", 'kind = "min-quality"\nluma = 75')
    assert check(tmp_path, str(other), "--policy", str(policy)).exit_code == 1
    result = check(tmp_path, *split_args(root), "--policy", str(policy))
    assert result.exit_code == 0, result.output


def test_file_arguments_are_judged_after_their_folder_was_checked(tmp_path):
    root = clean_dataset(tmp_path / "data")
    (low,) = low_quality(root / "val")[:1]
    policy = write_policy(tmp_path / "p.toml", 'kind = "min-quality"\nluma = 75')
    assert check(tmp_path, *split_args(root), "--policy", str(policy)).exit_code == 1
    result = check(tmp_path, str(low), str(root / "val" / "img0.jpg"), "--policy", str(policy))
    assert result.exit_code == 1, result.output
    assert "1 of 2 files" in result.stdout  # rows scanned from the folder, unchanged since


def test_folder_check_after_a_file_check_judges_every_file_once(tmp_path):
    root = clean_dataset(tmp_path / "data")
    (low,) = low_quality(root / "val")[:1]
    policy = write_policy(tmp_path / "p.toml", 'kind = "min-quality"\nluma = 75')
    assert check(tmp_path, str(low), "--policy", str(policy)).exit_code == 1
    result = check(tmp_path, *split_args(root), "--policy", str(policy))
    assert "2 of 12 files" in result.stdout, result.output


def test_row_of_a_deleted_file_scanned_by_itself_is_not_judged_in_its_folder(tmp_path):
    root = clean_dataset(tmp_path / "data")
    (low,) = low_quality(root / "val")[:1]
    policy = write_policy(tmp_path / "p.toml", 'kind = "min-quality"\nluma = 75')
    assert check(tmp_path, str(low), "--policy", str(policy)).exit_code == 1
    low.unlink()
    result = check(tmp_path, *split_args(root), "--policy", str(policy))
    assert "1 of 11 files" in result.stdout, result.output


def test_output_option_writes_the_report_to_a_file(tmp_path):
    root = clean_dataset(tmp_path / "data")
    policy = write_policy(tmp_path / "p.toml", 'kind = "no-errors"')
    out = tmp_path / "report.json"
    result = check(tmp_path, str(root), "--policy", str(policy), "--format", "json", "-o", str(out))
    assert result.exit_code == 0
    assert json.loads(out.read_text())["passed"] is True
    assert result.stdout.startswith("jpegaudit check passed")


# -- JUnit ---------------------------------------------------------------------------------------------
# The content model of Jenkins' junit-10.xsd (jenkinsci/xunit-plugin), which GitLab, Jenkins,
# Azure Pipelines and the GitHub JUnit report actions accept: element -> (required attributes,
# allowed attributes, allowed children).
JUNIT_MODEL = {
    "testsuites": (set(), {"name", "time", "tests", "failures", "errors"}, {"testsuite"}),
    "testsuite": (
        {"name", "tests", "failures", "errors"},
        {"name", "tests", "failures", "errors", "group", "time", "skipped", "timestamp",
         "hostname", "id", "package", "file", "log", "url"},
        {"testsuite", "properties", "testcase", "system-out", "system-err"},
    ),
    "properties": (set(), set(), {"property"}),
    "property": ({"name", "value"}, {"name", "value"}, set()),
    "testcase": (
        {"name"},
        {"name", "time", "classname", "group"},
        {"skipped", "error", "failure", "system-out", "system-err"},
    ),
    "failure": (set(), {"type", "message"}, set()),
    "error": (set(), {"type", "message"}, set()),
    "skipped": (set(), {"type", "message"}, set()),
    "system-out": (set(), set(), set()),
    "system-err": (set(), set(), set()),
}  # fmt: skip
SUREFIRE_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")


def assert_valid_junit(element: ET.Element) -> None:
    required, allowed, children = JUNIT_MODEL[element.tag]
    assert required <= set(element.attrib), (element.tag, element.attrib)
    assert set(element.attrib) <= allowed, (element.tag, element.attrib)
    if "time" in element.attrib and element.tag in ("testsuites", "testsuite"):
        assert SUREFIRE_TIME.fullmatch(element.attrib["time"])
    for child in element:
        assert child.tag in children, (element.tag, child.tag)
        assert_valid_junit(child)


def test_junit_output_parses_and_follows_the_junit_schema(tmp_path):
    root = clean_dataset(tmp_path / "data")
    low_quality(root / "val")
    cmyk(root / "val")
    rules = ['kind = "min-quality"\nluma = 75', 'kind = "colors"\nforbidden = ["cmyk"]\nseverity = "warning"',
             'kind = "no-truncated"']  # fmt: skip
    policy = write_policy(tmp_path / "p.toml", *rules)
    result = check(tmp_path, *split_args(root), "--policy", str(policy), "--format", "junit")
    assert result.exit_code == 1
    document = ET.fromstring(result.stdout.encode())
    assert document.tag == "testsuites"
    assert_valid_junit(document)
    (suite,) = document.findall("testsuite")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["min-quality", "colors", "no-truncated"]
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "0")
    assert document.get("tests") == "3" and document.get("failures") == "1"
    failure = cases[0].find("failure")
    assert failure.get("message").startswith("2 of 13 files")
    assert str(root / "val" / "q40.jpg") in failure.text
    assert cases[1].find("failure") is None and "warning:" in cases[1].find("system-out").text
    assert cases[2].find("failure") is None


def test_junit_carries_file_names_with_markup_and_control_characters(tmp_path):
    root = tmp_path / "val"
    save_jpeg(root / "a<b>&c\x01.jpg", quality=30)
    policy = write_policy(tmp_path / "p.toml", 'kind = "min-quality"\nluma = 75')
    result = check(tmp_path, str(root), "--policy", str(policy), "--format", "junit")
    document = ET.fromstring(result.stdout.encode())
    assert_valid_junit(document)
    assert "a<b>&c\\x01.jpg" in document.find("testsuite/testcase/failure").text


# -- GitHub -------------------------------------------------------------------------------------------
WORKFLOW_COMMAND = re.compile(
    r"::(?P<command>error|warning|notice)"
    r"(?: (?P<props>[a-zA-Z]+=[^,:\r\n]*(?:,[a-zA-Z]+=[^,:\r\n]*)*))?"
    r"::(?P<message>[^\r\n]*)"
)


def unescape(text: str) -> str:
    for code, char in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(code, char)
    return text


def test_github_format_is_workflow_commands_with_escaped_values(tmp_path):
    root = tmp_path / "val"
    clean_dataset(tmp_path)
    odd = save_jpeg(root / "100%\nsure, really: yes.jpg", quality=30)
    rules = ['name = "quality: luma, please"\nkind = "min-quality"\nluma = 75',
             'kind = "colors"\nforbidden = ["ycbcr"]\nseverity = "warning"\nsplits = ["train"]',
             'kind = "no-errors"']  # fmt: skip
    policy = write_policy(tmp_path / "p.toml", *rules)
    result = check(
        tmp_path, str(tmp_path / "train"), str(root), "--policy", str(policy), "--format", "github"
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    commands = [WORKFLOW_COMMAND.fullmatch(line) for line in lines[:-1]]
    assert all(commands), lines
    assert [c["command"] for c in commands] == ["error", "warning"]
    error = commands[0]
    assert error["props"] == "title=jpegaudit%3A quality%3A luma%2C please"
    message = unescape(error["message"])
    assert message.startswith("1 of 11 files (9.09%) have luma quality below 75")
    assert f"{root}/100%\\nsure, really: yes.jpg: quality_luma 30 < 75" in message.splitlines()
    assert odd.exists()
    assert lines[-1].startswith("jpegaudit check FAILED: 1 of 3 rules broken; 1 warning")


def test_github_format_appends_a_markdown_step_summary(tmp_path):
    root = clean_dataset(tmp_path / "data")
    low_quality(root / "val")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    policy = write_policy(
        tmp_path / "p.toml", 'kind = "min-quality"\nluma = 75', 'kind = "no-errors"'
    )
    result = check(tmp_path, *split_args(root), "--policy", str(policy), "--format", "github",
                   env={"GITHUB_STEP_SUMMARY": str(summary)})  # fmt: skip
    assert result.exit_code == 1
    text = summary.read_text()
    assert text.startswith("earlier step\n### jpegaudit check FAILED")
    assert "| min-quality | ❌ fail | 2 of 12 files (16.67%) have luma quality below 75" in text
    assert "| no-errors | ✅ pass |" in text
    assert f"- `{root / 'val' / 'q40.jpg'}`: quality_luma 40 < 75" in text


# -- --init ----------------------------------------------------------------------------------------------
def test_init_writes_a_policy_the_dataset_passes_today(tmp_path):
    root = clean_dataset(tmp_path / "data")
    for make in (png_named_jpeg, low_quality, cmyk, tiny, extreme_aspect, truncated, trailing):
        make(root / "val")
    policy = tmp_path / "jpegaudit.toml"
    init = check(tmp_path, *split_args(root), "--init", "--policy", str(policy))
    assert init.exit_code == 0, init.output
    assert f"wrote {policy}" in init.stdout
    text = policy.read_text()
    assert 'paths = ["data/train", "data/val"]' in text
    assert 'kind = "min-quality"\nluma = 40\n' in text
    assert 'kind = "formats"\nallowed = ["jpeg"]\ntolerate = 1\n' in text
    result = check(tmp_path, "--policy", str(policy))
    assert result.exit_code == 0, result.output


def test_init_policy_catches_a_regression(tmp_path):
    root = clean_dataset(tmp_path / "data")
    policy = tmp_path / "jpegaudit.toml"
    assert check(tmp_path, *split_args(root), "--init", "--policy", str(policy)).exit_code == 0
    save_jpeg(root / "train" / "worse.jpg", quality=50, subsampling=0)
    result = check(tmp_path, "--policy", str(policy))
    assert result.exit_code == 1
    failed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("FAIL")}
    # and, with the drift module, the train split's drift away from val
    assert failed - {"drift"} == {"min-quality", "subsampling"}


def test_init_refuses_to_overwrite_without_force(tmp_path):
    root = clean_dataset(tmp_path / "data")
    policy = tmp_path / "jpegaudit.toml"
    policy.write_text("# mine\n")
    result = check(tmp_path, str(root), "--init", "--policy", str(policy))
    _assert_cannot_run(result, f"{policy} exists; pass --force to overwrite it")
    assert policy.read_text() == "# mine\n"
    forced = check(tmp_path, str(root), "--init", "--policy", str(policy), "--force")
    assert forced.exit_code == 0 and policy.read_text().startswith("# jpegaudit policy")


def test_init_refuses_to_write_into_pyproject(tmp_path):
    root = clean_dataset(tmp_path / "data")
    result = check(tmp_path, str(root), "--init", "--policy", str(tmp_path / "pyproject.toml"))
    _assert_cannot_run(result, "--init writes a policy file of its own")


@needs_drift
def test_init_writes_drift_limits_above_todays_distances(tmp_path):
    root = drift_dataset(tmp_path / "data", val_quality=80)
    policy = tmp_path / "jpegaudit.toml"
    assert check(tmp_path, *split_args(root), "--init", "--policy", str(policy)).exit_code == 0
    assert 'kind = "drift"' in policy.read_text()
    assert 'between = ["train", "val"]' in policy.read_text()
    assert check(tmp_path, "--policy", str(policy)).exit_code == 0
