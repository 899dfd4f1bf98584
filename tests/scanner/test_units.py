"""Units of work (scanner/units.py): what names a unit's part, and what a unit computes once."""

from __future__ import annotations

import io
import pickle

import pytest
from PIL import Image

import jpegaudit.scanner.units as units
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.units import FileBatch, ObjectBatch, Shard, Work, run_unit


def jpeg_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), 80).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def digests(monkeypatch):
    """The arguments of every unit_digest call."""
    calls: list[tuple] = []
    real = units.unit_digest

    def counting(parts):
        parts = tuple(parts)
        calls.append(parts)
        return real(parts)

    monkeypatch.setattr(units, "unit_digest", counting)
    return calls


def test_a_unit_hashes_its_paths_once_however_often_its_digest_is_asked(tmp_path, digests):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes())
    batch = FileBatch(str(tmp_path), "train", (str(tmp_path / "a.jpg"),), None, b"\1")
    _, done = run_unit(Work(batch, str(tmp_path), False, ScanOptions()))
    assert done.unit_key == batch.digest() and done.part == f"part-{batch.digest()}.parquet"
    assert len(digests) == 1


@pytest.mark.parametrize(
    "unit",
    [
        FileBatch("r", "train", ("r/a.jpg", "r/b.jpg"), None, b"\1\1"),
        ObjectBatch(None, ()),  # type: ignore[arg-type]
        Shard("tar", "a.tar", "a.tar", "r", "train", 10, "1"),
    ],
    ids=["files", "objects", "shard"],
)
def test_a_digest_kept_on_a_unit_is_its_digest(unit, digests):
    first = unit.digest()
    assert unit.digest() == first and len(digests) == 1
    copy = pickle.loads(pickle.dumps(unit))  # a worker's copy keeps it, and equals the unit
    assert copy == unit and copy.digest() == first and len(digests) == 1


def test_units_of_other_paths_keep_their_own_digests():
    a = FileBatch("r", "train", ("r/a.jpg",), None, b"\1")
    b = FileBatch("r", "train", ("r/b.jpg",), None, b"\1")
    assert a.digest() != b.digest()
    assert a.digest() == FileBatch("r", "train", ("r/a.jpg",), None, b"\1").digest()
