"""MosaicML streaming's MDS datasets: a directory with `index.json` and the shard files it
lists (`shard.00000.mds`, or compressed as a whole: `shard.00000.mds.zstd`, `.gz`, `.bz2`).

A raw shard is `uint32 samples`, `uint32 offsets[samples + 1]` (where each sample starts in
the shard), the writer's JSON config, then the samples. A sample is a `uint32` size for each
variable-size column, then the columns' bytes in `column_names` order. So a raw shard is read
like a tar: the offsets, each sample's few size bytes, and each image's head and tail. A
compressed shard can only be decompressed front to back: every byte of it is decompressed
once, forward, holding one sample at a time, under the cap of sources/streams.py.

Rows: one per sample, path `dir::<sample index>` (the dataset's global index, as
`StreamingDataset[i]` counts: shards in index order). The image is `scan --column`'s column,
else the first with an image encoding (`jpeg`, `png`, `jpeg_array`), else the first `bytes`
column; `pil` (raw pixels) and `pkl` (pickle) columns are row errors, not read. The label is
`--label-column`'s, else a column named `label`, `labels`, `class`, `cls` or `target`;
`entry_name` a `str` column named `path`, `filename`, `file_name` or `image_path`.

Problems are rows: an index that is not MDS (one row for the directory), a shard that is
missing, escapes the directory or disagrees with the index (one row `dir::<shard file>`), a
sample whose offsets or sizes point past its shard (the sample's row)."""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterator

from jpegaudit.audit import Origin
from jpegaudit.sources.container import (
    MEMBER_SEPARATOR,
    ContainerDirectory,
    ContainerFormat,
    ContainerOptions,
    ReadFile,
    audit_guarded,
    entry_row,
    shard_row,
)
from jpegaudit.sources.labels import label_text
from jpegaudit.sources.parquet import LABEL_COLUMNS, NAME_COLUMNS
from jpegaudit.sources.streams import (
    ContainerReader,
    ForwardWindow,
    PositionalWindow,
    StreamError,
    decompressed_cap,
    open_decompressed,
)

INDEX_FILE = "index.json"
MAX_INDEX_BYTES = 64 * 1024 * 1024
IMAGE_ENCODINGS = ("jpeg", "png", "jpeg_array", "jpegarray")
_NOT_FILES = {
    "pil": "raw pixels with a small header, not an image file",
    "pkl": "a pickle (jpegaudit never unpickles data)",
    "list[pil]": "a list of raw-pixel images",
    "list[jpeg]": "a list of images (one row per sample is not defined for it)",
    "list[png]": "a list of images (one row per sample is not defined for it)",
}
_SCALARS = {
    "int": "<q", "int8": "<b", "int16": "<h", "int32": "<i", "int64": "<q",
    "uint8": "<B", "uint16": "<H", "uint32": "<I", "uint64": "<Q",
}  # fmt: skip
_TEXT = ("str", "str_int", "str_float", "str_decimal")
_MAX_LABEL_CELL = 4096
_U32 = struct.Struct("<I")


def claims_mds(names: frozenset[str], read_file: ReadFile) -> bool:
    """A directory is an MDS dataset when its index.json is one (`shards` of format mds)."""
    if INDEX_FILE not in names:
        return False
    try:
        index = json.loads(read_file(INDEX_FILE, MAX_INDEX_BYTES))
    except (OSError, ValueError):
        return False
    shards = index.get("shards") if isinstance(index, dict) else None
    return isinstance(shards, list) and any(
        isinstance(s, dict) and s.get("format") == "mds" for s in shards
    )


class _Layout:
    def __init__(self, shard: dict, options: ContainerOptions) -> None:
        self.names: list = shard["column_names"]
        self.encodings: list = shard["column_encodings"]
        self.sizes: list = shard["column_sizes"]
        if not (
            isinstance(self.names, list)
            and isinstance(self.encodings, list)
            and isinstance(self.sizes, list)
            and len(self.names) == len(self.encodings) == len(self.sizes)
            and all(s is None or (isinstance(s, int) and s >= 0) for s in self.sizes)
        ):
            raise ValueError("column_names, column_encodings and column_sizes disagree")
        encoding = dict(zip(self.names, self.encodings, strict=True))
        self.variable = sum(s is None for s in self.sizes)
        if options.column is not None:
            if options.column not in encoding:
                raise ValueError(
                    f"no column {options.column!r} (columns: {', '.join(map(str, self.names))})"
                )
            self.image = options.column
        else:
            by_encoding = [n for n in self.names if encoding[n] in IMAGE_ENCODINGS]
            raw = [n for n in self.names if encoding[n] == "bytes"]
            not_files = [n for n in self.names if encoding[n] in _NOT_FILES]
            found = by_encoding or raw or not_files
            if not found:
                raise ValueError(f"no image column (columns: {', '.join(map(str, self.names))})")
            self.image = found[0]
        self.image_encoding = encoding[self.image]
        if options.label_column is not None:
            self.label = options.label_column if options.label_column in encoding else None
        else:
            self.label = next((n for n in LABEL_COLUMNS if n in encoding), None)
        self.label_encoding = encoding.get(self.label) if self.label else None
        self.name = next((n for n in NAME_COLUMNS if encoding.get(n) == "str"), None)


def audit_mds(
    directory: ContainerDirectory, dir_path: str, origin: Origin, options: ContainerOptions
) -> Iterator[dict]:
    try:
        with directory.open(INDEX_FILE) as index_file:
            index = json.loads(index_file.read_at(0, min(index_file.size, MAX_INDEX_BYTES)))
        shards = index["shards"]
        if not isinstance(shards, list):
            raise ValueError("`shards` is not a list")
    except FileNotFoundError:
        yield shard_row(dir_path, origin, "shard", "mds: index.json is missing")
        return
    except (ValueError, KeyError, TypeError) as exc:
        yield shard_row(dir_path, origin, "shard", f"mds: index.json is not an MDS index: {exc}")
        return
    first = 0
    for number, shard in enumerate(shards):
        claimed = shard.get("samples") if isinstance(shard, dict) else None
        claimed = claimed if isinstance(claimed, int) and claimed >= 0 else 0
        yield from _shard(directory, dir_path, number, shard, first, origin, options)
        first += claimed


def _shard(directory, dir_path, number, shard, first, origin, options) -> Iterator[dict]:
    def problem(name: str, text: str) -> dict:
        return shard_row(f"{dir_path}{MEMBER_SEPARATOR}{name}", origin, "shard", f"mds: {text}")

    label = f"shard-{number}"
    try:
        if not isinstance(shard, dict) or shard.get("format") != "mds":
            raise ValueError("not an mds shard entry")
        zip_data = shard.get("zip_data")
        stored = zip_data if zip_data else shard["raw_data"]
        name = stored["basename"]
        label = name if isinstance(name, str) and name else label
        if not _safe_name(name):
            raise ValueError(f"shard file name {name!r} leaves the dataset's directory")
        samples = shard["samples"]
        if not isinstance(samples, int) or samples < 0:
            raise ValueError(f"bad sample count {samples!r}")
        layout = _Layout(shard, options)
        method = None
        if zip_data:
            method = str(shard.get("compression") or "").split(":", 1)[0]
    except (ValueError, KeyError, TypeError) as exc:
        yield problem(label, f"index.json entry for shard {number}: {exc}")
        return
    try:
        with directory.open(name) as shard_file:
            window: ForwardWindow | PositionalWindow
            if method:
                stream = open_decompressed(
                    ContainerReader(shard_file.read_at, shard_file.size), method
                )
                window = ForwardWindow(stream, decompressed_cap(shard_file.size))
            else:
                window = PositionalWindow(shard_file.read_at, shard_file.size)
            yield from _samples(window, layout, name, samples, first, dir_path, origin, options)
    except FileNotFoundError:
        yield problem(name, f"shard file {name} listed in index.json is missing")
    except StreamError as exc:
        yield problem(name, f"{name}: {exc}")


def _safe_name(name) -> bool:
    if not isinstance(name, str) or not name or "\0" in name or os.path.isabs(name):
        return False
    return ".." not in name.replace("\\", "/").split("/")


def _samples(window, layout: _Layout, name, claimed, first, dir_path, origin, options):
    head = window.read_at(0, 4)
    if len(head) < 4:
        yield shard_row(
            f"{dir_path}{MEMBER_SEPARATOR}{name}", origin, "shard", f"mds: {name} is empty"
        )
        return
    held = _U32.unpack(head)[0]
    offsets_bytes = window.read_at(4, 4 * (held + 1))
    if len(offsets_bytes) < 4 * (held + 1):
        error = f"mds: {name}: its offsets table ({held + 1} entries) runs past its end"
        yield shard_row(f"{dir_path}{MEMBER_SEPARATOR}{name}", origin, "shard", error)
        return
    offsets = struct.unpack(f"<{held + 1}I", offsets_bytes)
    if held != claimed:
        error = f"mds: index.json says {claimed} samples in {name}, the shard holds {held}"
        yield shard_row(f"{dir_path}{MEMBER_SEPARATOR}{name}", origin, "shard", error)
    done = 4 * (held + 2)
    for i in range(min(held, claimed)):
        path = f"{dir_path}{MEMBER_SEPARATOR}{first + i}"
        start, end = offsets[i], offsets[i + 1]
        try:
            if start < done or end < start:
                raise _SampleError(f"offsets {start}-{end} are out of order")
            yield _sample_row(window, layout, name, start, end, path, origin, options)
        except _SampleError as exc:
            row = entry_row(origin, path)
            row["error"] = f"mds: sample {first + i} in {name}: {exc}"
            yield row
        done = max(done, end)
        window.release(done)


class _SampleError(Exception):
    pass


def _sample_row(window, layout: _Layout, shard_name, start, end, path, origin, options) -> dict:
    size_head = window.read_at(start, 4 * layout.variable)
    if end - start < 4 * layout.variable or len(size_head) < 4 * layout.variable:
        raise _SampleError(_past_end(window, shard_name, start, end))
    variable = iter(struct.unpack(f"<{layout.variable}I", size_head))
    cells: dict[str, tuple[int, int]] = {}
    pos = start + 4 * layout.variable
    for column, fixed in zip(layout.names, layout.sizes, strict=True):
        size = fixed if fixed is not None else next(variable)
        cells[column] = (pos, size)
        pos += size
    if pos > end:
        raise _SampleError(f"its column sizes add up past its end ({pos - start} > {end - start})")
    name = _text_cell(window, cells, layout.name, "str") if layout.name else None
    row = entry_row(origin, path, name)
    if layout.label is not None:
        row["label"] = _label(window, cells[layout.label], layout.label_encoding)
    offset, size = cells[layout.image]
    if layout.image_encoding in _NOT_FILES:
        row["error"] = (
            f"mds: column {layout.image!r} is encoded {layout.image_encoding!r}: "
            f"{_NOT_FILES[layout.image_encoding]}; not read"
        )
        return row
    if window.size is not None and offset + size > window.size:
        raise _SampleError(_past_end(window, shard_name, start, end))

    def read_at(o: int, n: int) -> bytes:
        n = min(n, size - o)
        data = window.read_at(offset + o, n) if n > 0 else b""
        if len(data) < n:
            raise _SampleError(_past_end(window, shard_name, start, end))
        return data

    return audit_guarded(read_at, size, row, options.limits)


def _past_end(window, shard_name, start, end) -> str:
    size = "?" if window.size is None else str(window.size)
    return f"its offsets point past the end of {shard_name} (bytes {start}-{end} of {size})"


def _text_cell(window, cells, column, encoding) -> str | None:
    offset, size = cells[column]
    if size > _MAX_LABEL_CELL:
        return None
    return label_text(window.read_at(offset, size))


def _label(window, cell: tuple[int, int], encoding: str | None) -> str | None:
    offset, size = cell
    if encoding is None or size > _MAX_LABEL_CELL:
        return None
    data = window.read_at(offset, size)
    if encoding in _TEXT:
        return label_text(data)
    if encoding in _SCALARS:
        fmt = _SCALARS[encoding]
        if len(data) != struct.calcsize(fmt):
            return None
        return label_text(struct.unpack(fmt, data)[0])
    if encoding == "json":
        try:
            value = json.loads(data)
        except ValueError:
            return None
        return label_text(value) if isinstance(value, (str, int, float)) else None
    return None


FORMAT = ContainerFormat(
    kind="mds",
    audit=audit_mds,
    claims_directory=claims_mds,
    claim_names=frozenset({INDEX_FILE}),
)
