"""Parquet files with an image column: Hugging Face datasets (ImageNet-1k on the Hub
included) store images as a struct `{bytes, path}`; other writers as a plain binary column.

Only the image column (and the label column) is read, one row group at a time, through
pyarrow's column projection: memory is bounded by a row group's image column (a row group
whose chosen columns are over `MAX_ROW_GROUP_BYTES` uncompressed, by the file's own metadata,
is not read: one row error for it), and each cell is audited by slicing its head and tail out
of the column's buffer, so nothing is copied but those bytes.

Rows: one per cell, path `file.parquet::<row index in the file>`; `entry_name` is the struct's
`path` (or a string column named `path`, `filename`, `file_name`, `image_path`). The image
column is `scan --column`'s, else the one the Hugging Face metadata calls `Image`, else the
first struct with a binary `bytes` field, else the first binary column whose first value is an
image. The label is `--label-column`'s, else the Hugging Face `ClassLabel` column (its class
names when the metadata lists them), else a column named `label`, `labels`, `class`, `cls` or
`target`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from jpegaudit.audit import Origin
from jpegaudit.sniff import sniff_format
from jpegaudit.sources.container import (
    MEMBER_SEPARATOR,
    ContainerBytes,
    ContainerFormat,
    ContainerOptions,
    audit_slice,
    entry_row,
    shard_row,
)
from jpegaudit.sources.labels import label_text
from jpegaudit.sources.retry import ReadFailed

MAX_ROW_GROUP_BYTES = 512 * 1024 * 1024
LABEL_COLUMNS = ("label", "labels", "class", "cls", "target")
NAME_COLUMNS = ("path", "filename", "file_name", "image_path")
_IMAGE_FORMATS = frozenset({"jpeg", "png", "gif", "webp", "bmp", "tiff", "jpeg2000", "jpegxl"})


class _Layout:
    """Which columns hold what, decided once per file."""

    def __init__(self) -> None:
        self.image: str | None = None
        self.image_is_struct = False
        self.name: str | None = None  # a top-level string column, when not the struct's path
        self.label: str | None = None
        self.label_names: list[str] | None = None

    def columns(self) -> list[str]:
        wanted = [self.image, self.name, self.label]
        return list(dict.fromkeys(c for c in wanted if c is not None))


def audit_parquet(
    container: ContainerBytes, shard_path: str, origin: Origin, options: ContainerOptions
) -> Iterator[dict]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(container.fileobj)
    except ReadFailed:
        raise
    except Exception as exc:
        _reraise_read_failure(exc)
        yield shard_row(shard_path, origin, "shard", f"not a readable Parquet file: {_text(exc)}")
        return
    try:
        layout = _layout(pf, options)
    except _NoImageColumn as exc:
        yield shard_row(shard_path, origin, "shard", f"parquet: {exc}")
        return
    first_row = 0
    metadata = pf.metadata
    for group in range(metadata.num_row_groups):
        group_md = metadata.row_group(group)
        n_rows = group_md.num_rows
        problem = _group_too_big(group_md, layout)
        table = None
        if problem is None:
            try:
                table = pf.read_row_group(group, columns=layout.columns())
            except ReadFailed:
                raise
            except Exception as exc:
                _reraise_read_failure(exc)
                problem = f"cannot read it: {_text(exc)}"
        if table is None:
            path = f"{shard_path}{MEMBER_SEPARATOR}row-group-{group}"
            error = f"parquet: row group {group} (rows {first_row}-{first_row + n_rows - 1}): "
            yield shard_row(path, origin, "shard", error + str(problem))
            first_row += n_rows
            continue
        yield from _group_rows(table, layout, shard_path, first_row, origin, options)
        first_row += table.num_rows


def _group_rows(table, layout: _Layout, shard_path: str, first_row: int, origin, options):
    import pyarrow as pa

    images = table.column(layout.image).combine_chunks()
    if isinstance(images, pa.ChunkedArray):  # pyarrow < 15 for nested types
        images = pa.concat_arrays(images.chunks)
    names = None
    if layout.image_is_struct:
        children = {f.name: a for f, a in zip(images.type, images.flatten(), strict=True)}
        cells = _cells(children["bytes"])
        if "path" in children and pa.types.is_string(children["path"].type):
            names = children["path"].to_pylist()
    else:
        cells = _cells(images)
    if names is None and layout.name is not None:
        names = table.column(layout.name).to_pylist()
    labels = table.column(layout.label).to_pylist() if layout.label is not None else None
    for i, cell in enumerate(cells):
        name = names[i] if names is not None else None
        row = entry_row(origin, f"{shard_path}{MEMBER_SEPARATOR}{first_row + i}", name)
        if labels is not None:
            row["label"] = _label(labels[i], layout.label_names)
        if cell is None:
            row["error"] = f"parquet: the {layout.image} cell is null" + (
                f" (path only: {name!r})" if name else ""
            )
            yield row
            continue
        yield audit_slice(cell, row, options.limits)


def _cells(array) -> list:
    """memoryviews of a binary array's values (None where null), without copying them."""
    import numpy as np
    import pyarrow as pa

    n = len(array)
    valid = (
        np.ones(n, dtype=bool)
        if array.null_count == 0
        else array.is_valid().to_numpy(zero_copy_only=False)
    )
    kind = array.type
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        _, offsets_buf, data_buf = array.buffers()
        dtype = np.int64 if pa.types.is_large_binary(kind) else np.int32
        offsets = np.frombuffer(offsets_buf, dtype=dtype)[array.offset : array.offset + n + 1]
        data = memoryview(data_buf) if data_buf is not None else memoryview(b"")
        bounds = offsets.tolist()
        return [data[bounds[i] : bounds[i + 1]] if valid[i] else None for i in range(n)]
    return [memoryview(array[i].as_buffer()) if valid[i] else None for i in range(n)]


def _label(value, names: list[str] | None) -> str | None:
    if value is None:
        return None
    if names is not None and isinstance(value, int) and not isinstance(value, bool):
        if value < 0:  # ClassLabel's "no label" (test splits)
            return None
        if value < len(names):
            return label_text(names[value])
    return label_text(value)


class _NoImageColumn(Exception):
    pass


def _hf_features(schema) -> dict:
    try:
        doc = json.loads((schema.metadata or {}).get(b"huggingface", b"{}"))
        features = doc.get("info", {}).get("features", {})
        return features if isinstance(features, dict) else {}
    except (ValueError, AttributeError):
        return {}


def _layout(pf, options: ContainerOptions) -> _Layout:
    import pyarrow as pa

    schema = pf.schema_arrow
    fields = {f.name: f for f in schema}
    features = _hf_features(schema)
    layout = _Layout()

    def image_kind(name: str) -> str | None:
        t = fields[name].type
        if pa.types.is_struct(t):
            idx = t.get_field_index("bytes")
            if idx >= 0 and _is_binary(t.field(idx).type):
                return "struct"
            return None
        return "binary" if _is_binary(t) else None

    if options.column is not None:
        if options.column not in fields or image_kind(options.column) is None:
            raise _NoImageColumn(
                f"no binary or image-struct column {options.column!r} "
                f"(columns: {', '.join(fields)})"
            )
        layout.image = options.column
    else:
        by_feature = [
            n for n, f in features.items() if isinstance(f, dict) and f.get("_type") == "Image"
        ]
        structs = [n for n in fields if image_kind(n) == "struct"]
        candidates = [n for n in by_feature if n in fields and image_kind(n)] or structs
        if candidates:
            layout.image = candidates[0]
        else:
            layout.image = _sniffed_binary_column(pf, [n for n in fields if image_kind(n)])
    if layout.image is None:
        raise _NoImageColumn(
            "no image column (a struct with binary `bytes`, or a binary column of images; "
            f"columns: {', '.join(fields) or 'none'}): give scan --column"
        )
    layout.image_is_struct = image_kind(layout.image) == "struct"
    if not layout.image_is_struct:
        layout.name = next(
            (n for n in NAME_COLUMNS if n in fields and pa.types.is_string(fields[n].type)),
            None,
        )
    if options.label_column is not None:
        layout.label = options.label_column if options.label_column in fields else None
        if layout.label is None:
            raise _NoImageColumn(
                f"no label column {options.label_column!r} (columns: {', '.join(fields)})"
            )
    else:
        class_labels = [
            n
            for n, f in features.items()
            if isinstance(f, dict) and f.get("_type") == "ClassLabel" and n in fields
        ]
        named = [
            n
            for n in LABEL_COLUMNS
            if n in fields and (_is_integer(fields[n].type) or pa.types.is_string(fields[n].type))
        ]
        layout.label = (class_labels or named or [None])[0]
    feature = features.get(layout.label) if layout.label is not None else None
    if isinstance(feature, dict) and isinstance(feature.get("names"), list):
        layout.label_names = [str(n) for n in feature["names"]]
    return layout


def _sniffed_binary_column(pf, binary_columns: list[str]) -> str | None:
    """The first binary column whose first non-empty value is an image, looking at the first
    row groups that can be read (a corrupt one is reported when the cells are read)."""
    for name in binary_columns:
        for group in range(min(pf.metadata.num_row_groups, 3)):
            try:
                column = pf.read_row_group(group, columns=[name]).column(name)
            except ReadFailed:
                raise
            except Exception as exc:
                _reraise_read_failure(exc)
                continue
            first = next((c for chunk in column.chunks for c in _cells(chunk) if c), None)
            if first is not None:
                if sniff_format(bytes(first[:64])) in _IMAGE_FORMATS:
                    return name
                break
    return None


def _is_binary(t) -> bool:
    import pyarrow as pa

    return pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_binary_view(t)


def _is_integer(t) -> bool:
    import pyarrow as pa

    return pa.types.is_integer(t)


def _group_too_big(group_md, layout: _Layout) -> str | None:
    wanted = layout.columns()
    total = 0
    for j in range(group_md.num_columns):
        column = group_md.column(j)
        top = column.path_in_schema.split(".", 1)[0]
        if top in wanted:
            total += max(column.total_uncompressed_size, 0)
    if total > MAX_ROW_GROUP_BYTES:
        return (
            f"{total} bytes uncompressed in the columns read, above the "
            f"{MAX_ROW_GROUP_BYTES >> 20} MiB row-group cap: not read"
        )
    return None


def _reraise_read_failure(exc: BaseException) -> None:
    """pyarrow wraps an exception raised by a Python file object; a read failure (the network)
    must still end the unit as one, not be recorded as a corrupt file."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ReadFailed):
            raise seen
        seen = seen.__cause__ or seen.__context__


def _text(exc: BaseException) -> str:
    return f"{exc}".strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__


FORMAT = ContainerFormat(
    kind="parquet",
    audit=audit_parquet,
    suffixes=(".parquet", ".parq"),
    remote_access="ranges",
)
