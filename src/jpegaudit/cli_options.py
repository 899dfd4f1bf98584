"""The scan options as click options, shared by `scan`, `check` and `check --init`. Defaults and
choices come from `ScanOptions` and the registries; nothing is declared twice."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import click

from jpegaudit.deep.backend import BACKENDS, READERS
from jpegaudit.scanner.options import DEFAULT_OPTIONS as D
from jpegaudit.scanner.options import ENGINES, ScanOptions

# The click parameters these decorators add, popped from a command's keyword arguments.
SCAN_PARAMS = (
    "split",
    "jobs",
    "batch_size",
    "progress",
    "from_list",
    "engine",
    "scheduler",
    "storage_option",
    "shards",
    "label_from",
    "column",
    "label_column",
    "backend",
    "deep",
    "deep_reader",
    "tail",
)

_OPTIONS: tuple[Callable[[Callable], Callable], ...] = (
    click.option("--split", default=D.split, help="Split name (default: each scanned folder's name)."),
    click.option("--jobs", "-j", type=int, default=D.jobs,
                 help="Worker processes (default: all cores)."),
    click.option("--batch-size", type=int, default=D.batch_size,
                 show_default=True, help="Files per unit of work (and per Parquet part)."),
    click.option("--progress/--no-progress", default=None,
                 help="Progress bar (default: when stderr is a terminal)."),
    click.option("--from-list", "from_list", multiple=True, type=click.Path(dir_okay=False),
                 help="File naming one path or URL per line (optionally TAB size TAB "
                 "mtime_ns); repeatable."),
    click.option("--engine", type=click.Choice(ENGINES), default=D.engine, show_default=True,
                 help="process: a local pool of --jobs processes; dask: a Dask cluster."),
    click.option("--scheduler", default=D.scheduler, metavar="ADDRESS",
                 help="With --engine dask: scheduler address (default: a local cluster of "
                 "--jobs workers)."),
    click.option("--storage-option", "storage_option", multiple=True, metavar="KEY=VALUE",
                 help="fsspec option for URLs (endpoint_url=..., anon=true); repeatable."),
    click.option("--shards/--no-shards", default=D.shards, show_default=True,
                 help="Open .tar and .zip files and audit their members."),
    click.option("--label-from", default=D.label_from, metavar="REGEX|FILE",
                 help="The label column's rule: a regular expression on the path (its group "
                 "'label', else its first group), or a mapping file (.csv/.tsv with a header, "
                 ".json object, .txt 'KEY LABEL' lines). Default: the container's label, else "
                 "the class folder below the scanned folder."),
    click.option("--column", default=D.column, metavar="NAME",
                 help="Parquet/MDS column or TFRecord feature holding the image (default: "
                 "found: an image struct, image/encoded, an image encoding)."),
    click.option("--label-column", default=D.label_column, metavar="NAME",
                 help="Parquet/MDS column or TFRecord feature holding the label (default: a "
                 "ClassLabel, image/class/synset, a column named label)."),
    click.option("--backend", type=click.Choice(BACKENDS), default=D.backend, show_default=True,
                 help="torchjpeg: tables and sizes read through libjpeg by torchjpeg (own "
                 "environment)."),
    click.option("--deep", is_flag=True, default=D.deep,
                 help="Add DCT-coefficient statistics and the double-compression estimate "
                 "(local files)."),
    click.option("--deep-reader", type=click.Choice(tuple(READERS)), default=D.deep_reader,
                 help="Coefficient reader for --deep (default: libjpeg-turbo when installed)."),
    click.option("--tail/--no-tail", default=D.limits.read_tail, show_default=True,
                 help="--no-tail: skip reading each file's last bytes (one request per "
                 "object-store object instead of two); truncated and trailing_bytes are then "
                 "null (unknown)."),
)  # fmt: skip


def scan_options(command: Callable) -> Callable:
    """Add every scan option to a click command (see `options_from`)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def options_from(params: dict[str, Any]) -> ScanOptions:
    """The ScanOptions of a command's parsed parameters; pops the scan options from `params`,
    leaving the command's own."""
    values = {name: params.pop(name) for name in SCAN_PARAMS}
    progress = values["progress"]
    return ScanOptions(
        split=values["split"],
        jobs=values["jobs"],
        batch_size=values["batch_size"],
        progress=sys.stderr.isatty() if progress is None else progress,
        from_list=tuple(values["from_list"]),
        engine=values["engine"],
        scheduler=values["scheduler"],
        storage_options=storage_options(values["storage_option"]),
        shards=values["shards"],
        label_from=values["label_from"],
        column=values["column"],
        label_column=values["label_column"],
        backend=values["backend"],
        deep=values["deep"],
        deep_reader=values["deep_reader"],
        limits=replace(D.limits, read_tail=values["tail"]),
    )


def storage_options(pairs) -> dict:
    """KEY=VALUE pairs; a VALUE that parses as JSON (true, 3, {"a": 1}) is taken as such;
    a dotted KEY (client_kwargs.endpoint_url) sets a nested option."""
    options: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--storage-option")
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value
        *parents, leaf = key.split(".")
        target = options
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = parsed
    return options
