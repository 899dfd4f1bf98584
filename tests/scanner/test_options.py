"""`ScanOptions` declares every scan setting once: the closed sets agree with the registries
that implement them, the CLI's defaults are its defaults, and `api.scan`'s keyword arguments
are the same settings."""

from __future__ import annotations

from dataclasses import fields
from typing import get_args

import pytest
from sourcedata import noise_jpeg

from jpegaudit.api import read_store, scan
from jpegaudit.cli import main
from jpegaudit.cli_options import SCAN_PARAMS, options_from
from jpegaudit.deep.backend import BACKENDS, READERS
from jpegaudit.scanner.distributors import DISTRIBUTORS
from jpegaudit.scanner.options import (
    DEFAULT_OPTIONS,
    ENGINES,
    BackendName,
    DeepReaderName,
    ScanOptions,
)
from jpegaudit.scanner.result import ScanError


def test_closed_sets_name_exactly_what_the_registries_implement():
    assert ENGINES == tuple(DISTRIBUTORS)
    assert get_args(BackendName) == BACKENDS
    assert get_args(DeepReaderName) == tuple(READERS)


@pytest.mark.parametrize("command", ["scan", "check"])
def test_the_cli_defaults_are_the_options_defaults(command):
    ctx = main.commands[command].make_context(command, [])
    params = dict(ctx.params)
    params["progress"] = False  # None on the command line: "when stderr is a terminal"
    assert options_from(params) == ScanOptions(progress=False)
    assert not set(SCAN_PARAMS) & set(params)  # options_from took them all


def test_every_option_field_is_reachable_from_the_cli():
    # limits and remote are structured: the CLI exposes limits.read_tail (--tail/--no-tail);
    # the rest of both are Python-only tuning.
    cli_fields = {
        "split", "jobs", "progress", "batch_size", "from_list", "engine", "scheduler",
        "storage_options", "shards", "label_from", "column", "label_column", "backend", "deep", "deep_reader", "limits",
    }  # fmt: skip
    assert {f.name for f in fields(ScanOptions)} - cli_fields == {"remote"}


def test_keyword_arguments_and_options_give_the_same_scan(tmp_path):
    data = tmp_path / "train"
    data.mkdir()
    for i in range(5):
        (data / f"{i}.jpg").write_bytes(noise_jpeg((32, 32), 80, seed=i))
    by_kwargs = scan(data, tmp_path / "a", jobs=1, batch_size=2)
    by_options = scan(data, tmp_path / "b", ScanOptions(jobs=1, batch_size=2))
    assert by_kwargs.units == by_options.units == 3
    a = read_store(tmp_path / "a").drop(columns="scanned_at").sort_values("path")
    b = read_store(tmp_path / "b").drop(columns="scanned_at").sort_values("path")
    assert a.reset_index(drop=True).equals(b.reset_index(drop=True))


def test_keyword_arguments_change_the_given_options():
    base = ScanOptions(jobs=3, shards=False)
    changed = ScanOptions.build(base, batch_size=7)
    assert (changed.jobs, changed.shards, changed.batch_size) == (3, False, 7)
    assert ScanOptions.build() is not None and ScanOptions.build(base) is base


def test_an_unknown_setting_is_a_type_error():
    with pytest.raises(TypeError, match="unknown scan option 'job'"):
        ScanOptions.build(job=2)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"engine": "spark"}, "unknown engine 'spark'"),
        ({"backend": "pixels"}, "unknown backend 'pixels'"),
        ({"deep_reader": "pil"}, "unknown deep reader 'pil'"),
        ({"batch_size": 0}, "batch size must be at least 1"),
    ],
)
def test_bad_settings_fail_when_the_options_are_made(changes, message):
    with pytest.raises(ScanError, match=message):
        ScanOptions(**changes)


def test_one_list_file_may_be_given_as_a_bare_path(tmp_path):
    assert ScanOptions(from_list=str(tmp_path / "a.txt")).from_list == (str(tmp_path / "a.txt"),)
    assert ScanOptions(from_list=[tmp_path / "b.txt"]).from_list == (str(tmp_path / "b.txt"),)


def test_options_do_not_share_their_storage_options():
    given = {"anon": True}
    options = ScanOptions(storage_options=given)
    given["anon"] = False
    assert options.storage_options == {"anon": True}
    assert DEFAULT_OPTIONS.storage_options == {}
