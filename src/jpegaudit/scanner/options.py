"""Every setting of a scan, declared once with its default. The CLI's options
(`jpegaudit.cli_options`), `api.scan`'s keyword arguments, the check's scan and every unit of
work take their settings from here."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal, get_args

from jpegaudit.audit import DEFAULT_LIMITS, ReadLimits
from jpegaudit.deep.backend import BACKENDS, READERS
from jpegaudit.scanner.result import ScanError
from jpegaudit.sources.container import ContainerOptions
from jpegaudit.sources.labels import LabelRule, LabelRuleError
from jpegaudit.sources.remote import DEFAULT_REMOTE, RemoteOptions

# Closed sets; tests/scanner/test_options.py checks each against the registry it names.
EngineName = Literal["process", "dask"]  # scanner.distributors.DISTRIBUTORS
BackendName = Literal["header", "torchjpeg"]  # deep.backend.BACKENDS
DeepReaderName = Literal["libjpeg-turbo", "torchjpeg"]  # deep.backend.READERS
ENGINES: tuple[str, ...] = get_args(EngineName)


@dataclass(frozen=True)
class ScanOptions:
    """How to scan. `paths` and the store are the scan's arguments, not options."""

    # Split of every row; None: each folder's (prefix's, list file's) own name.
    split: str | None = None
    # Worker processes (the process engine) or local Dask workers; None: every core.
    jobs: int | None = None
    # A progress bar on stderr.
    progress: bool = False
    # Files or objects per unit of work, hence per Parquet part: large enough that writing a
    # part (about 2 ms of fixed cost for its 85 column writers and footer) is a small share of
    # the unit; 8192 rather than 4096 costs a scan 2-4 % less CPU (docs/performance.md,
    # "Larger parts"). Larger gains little more and leaves one worker a long last unit.
    batch_size: int = 8192
    # Text files naming one path or URL per line (optionally TAB size TAB mtime_ns).
    from_list: tuple[str, ...] = ()
    # Where units run: "process" (a local pool of `jobs` processes) or "dask".
    engine: EngineName = "process"
    # With engine "dask": the scheduler's address; None: a local cluster of `jobs` workers.
    scheduler: str | None = None
    # fsspec options for URLs (endpoint_url, anon, ...).
    storage_options: Mapping[str, Any] = field(default_factory=dict)
    # Open tar and zip files and give each member a row (False: one row for the file).
    shards: bool = True
    # The `label` column's rule: None (containers' labels, else the class folder below the
    # scanned folder), a regular expression on the path (its group `label`, else its first
    # group, else the match), or a mapping file (.csv, .tsv, .json, .txt; sources/labels.py).
    label_from: str | None = None
    # In containers whose entries have named fields (Parquet columns, MDS columns, TFRecord
    # features): which holds the image, and which the label; None: found by the format.
    column: str | None = None
    label_column: str | None = None
    # "header": tables read by the header parser; "torchjpeg": through libjpeg (docs/deep.md).
    backend: BackendName = "header"
    # Add DCT-coefficient statistics and the double-compression estimate (local files).
    deep: bool = False
    # Coefficient reader for `deep`; None: libjpeg-turbo when installed, else torchjpeg.
    deep_reader: DeepReaderName | None = None
    # How much of each entry may be read (head, header cap, tail; `read_tail=False`: no tail).
    limits: ReadLimits = DEFAULT_LIMITS
    # How remote bytes are fetched (whole small objects, shard ranges, concurrency, retries).
    remote: RemoteOptions = DEFAULT_REMOTE

    def __post_init__(self) -> None:
        lists: object = self.from_list
        if isinstance(lists, (str, os.PathLike)):  # one list file given as a bare path
            lists = (lists,)
        assert isinstance(lists, Sequence)
        object.__setattr__(self, "from_list", tuple(os.fspath(p) for p in lists))
        object.__setattr__(self, "storage_options", dict(self.storage_options or {}))
        if self.engine not in ENGINES:
            raise ScanError(f"unknown engine {self.engine!r}: choose from {', '.join(ENGINES)}")
        if self.backend not in BACKENDS:
            raise ScanError(f"unknown backend {self.backend!r}: choose header or torchjpeg")
        if self.deep_reader is not None and self.deep_reader not in READERS:
            raise ScanError(
                f"unknown deep reader {self.deep_reader!r}: choose {', '.join(READERS)}"
            )
        if self.batch_size < 1:
            raise ScanError("batch size must be at least 1")
        try:
            self.labels()
        except LabelRuleError as exc:
            raise ScanError(str(exc)) from None

    @classmethod
    def build(cls, options: ScanOptions | None = None, **changes: Any) -> ScanOptions:
        """`options` (default: the defaults) with `changes` applied; an unknown name is a
        TypeError, as for any keyword argument."""
        unknown = sorted(set(changes) - OPTION_NAMES)
        if unknown:
            raise TypeError(f"unknown scan option {unknown[0]!r}")
        base = options if options is not None else cls()
        return replace(base, **changes) if changes else base

    def labels(self) -> LabelRule:
        return LabelRule(self.label_from)

    def container_options(self) -> ContainerOptions:
        return ContainerOptions(self.limits, self.column, self.label_column)

    def container_key(self) -> str:
        """What a container unit's rows depend on besides its content: part of its digest, so
        that a container read with another label rule or column choice is read again."""
        key = self.labels().key()
        if self.column is not None:
            key += f"|column:{self.column}"
        if self.label_column is not None:
            key += f"|label-column:{self.label_column}"
        return key

    def worker_count(self) -> int:
        return max(1, self.jobs if self.jobs is not None else (os.cpu_count() or 1))


OPTION_NAMES = frozenset(f.name for f in fields(ScanOptions))
DEFAULT_OPTIONS = ScanOptions()


def as_paths(paths: Sequence[str | os.PathLike] | str | os.PathLike) -> list[str]:
    """One path or many, as a list of strings."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return [os.fspath(p) for p in paths]
