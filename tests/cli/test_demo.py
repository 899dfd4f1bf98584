"""The demo dataset's ground truth, checked against decoders nobody here wrote (Pillow, libjpeg's
djpeg), and the scanner checked against that ground truth."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import jpegbuild as jb
import pytest
from PIL import Image

from jpegaudit import demo
from jpegaudit.demo import (
    DEMO_SPLITS,
    MANIFEST_NAME,
    DemoFile,
    build_demo_dataset,
    read_manifest,
)

EOI = b"\xff\xd9"
PILLOW_MODE = {"ycbcr": "RGB", "gray": "L", "cmyk": "CMYK"}


# --- helpers -----------------------------------------------------------------------------------


def require_tool(name: str) -> str:
    """The tool's path; skip when it is not installed, fail instead under CI's
    JPEGAUDIT_REQUIRE_ORACLES=1."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} not installed"
        if os.environ.get("JPEGAUDIT_REQUIRE_ORACLES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def djpeg_trace(path: Path) -> str:
    """libjpeg's marker trace (stderr of djpeg -verbose -verbose); decoding at 1/8 scale keeps it
    cheap, and the header trace does not depend on the scale."""
    djpeg = require_tool("djpeg")
    done = subprocess.run(
        [djpeg, "-verbose", "-verbose", "-scale", "1/8", "-outfile", os.devnull, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stderr


def djpeg_header(path: Path) -> dict:
    text = djpeg_trace(path)
    sof = re.search(r"Start Of Frame 0x(\w\w): width=(\d+), height=(\d+), components=(\d+)", text)
    assert sof is not None, text
    factors = re.findall(r"Component \d+: (\d+)hx(\d+)v q=\d+", text)
    tables = {}
    for match in re.finditer(r"Define Quantization Table (\d+)  precision (\d+)\n", text):
        rows = text[match.end() :].splitlines()[:8]
        values = [int(v) for row in rows for v in row.split()]
        tables[int(match.group(1))] = (int(match.group(2)), values)
    return {
        "width": int(sof.group(2)),
        "height": int(sof.group(3)),
        "components": int(sof.group(4)),
        "sampling_factors": ",".join(f"{h}x{v}" for h, v in factors),
        "tables": tables,
        "text": text,
    }


def pillow_tables(quality: int) -> dict[int, list[int]]:
    """The quantization tables Pillow writes at `quality`, read back by Pillow."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16)).save(out, "JPEG", quality=quality)
    return {slot: list(t) for slot, t in Image.open(out).quantization.items()}


def files_where(files, **conditions) -> list[DemoFile]:
    return [f for f in files if all(getattr(f, k) == v for k, v in conditions.items())]


def file_digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo") / "data"
    return root, build_demo_dataset(root, seed=0)


@pytest.fixture
def small_plan(monkeypatch):
    """Restrict the plan to a handful of files (the special ones), for tests that build often."""
    full_plan = demo._plan

    def plan(seed):
        specs = full_plan(seed)
        special = [s for s in specs if s.note != "colour 4:4:4 q96: ImageNet's majority"]
        return [s for s in special if s.width * s.height < 1_000_000][:12] + [
            s for s in specs if s.subsampling == "4:1:1"
        ]

    monkeypatch.setattr(demo, "_plan", plan)


# --- the build ---------------------------------------------------------------------------------


def test_build_writes_exactly_the_files_it_lists(built):
    root, files = built
    on_disk = {
        p.relative_to(root).as_posix()
        for split in DEMO_SPLITS
        for p in (root / split).rglob("*")
        if p.is_file()
    }
    assert on_disk == {f.relpath for f in files}


def test_manifest_lies_beside_the_splits_and_holds_the_ground_truth(built):
    root, files = built
    assert files.manifest_path == root / MANIFEST_NAME
    assert sorted(p.name for p in root.iterdir()) == sorted([MANIFEST_NAME, *DEMO_SPLITS])
    assert read_manifest(root / MANIFEST_NAME) == list(files)


def test_paths_follow_imagenet_naming(built):
    _, files = built
    train_name = re.compile(r"train/(n\d{8})/\1_\d+\.JPEG")
    val_name = re.compile(r"val/n\d{8}/ILSVRC2012_val_\d{8}\.JPEG")
    for f in files:
        pattern = train_name if f.split == "train" else val_name
        assert pattern.fullmatch(f.relpath), f.relpath


def test_train_mix_follows_imagenet_compression_facts(built):
    _, files = built
    train = files_where(files, split="train", format="jpeg")
    majority = files_where(train, color="ycbcr", subsampling="4:4:4", quality_luma=96)
    share_420 = len(files_where(train, subsampling="4:2:0")) / len(train)
    assert len(majority) / len(train) > 0.7
    assert 0.05 < share_420 < 0.15
    assert any(f.quality_luma < 10 for f in train)
    assert files_where(train, color="gray")
    assert len(files_where(train, color="cmyk")) == 2


def test_val_is_sparser_and_richer_in_411_than_train(built):
    _, files = built
    train = files_where(files, split="train")
    val = files_where(files, split="val")
    assert len(val) < len(train) / 2
    if not files_where(files, subsampling="4:1:1"):
        pytest.skip("no 4:1:1 encoder here")
    share_train = len(files_where(train, subsampling="4:1:1")) / len(train)
    share_val = len(files_where(val, subsampling="4:1:1")) / len(val)
    assert share_val > 5 * share_train


def test_411_files_are_written_when_opencv_or_cjpeg_is_available(built):
    _, files = built
    encoders = demo.available_encoders()
    if not (encoders["opencv"] or encoders["cjpeg"]):
        pytest.skip("neither OpenCV nor cjpeg here")
    assert len(files_where(files, subsampling="4:1:1")) == 7
    assert files.missing == [] or all("4:1:1" not in m for m in files.missing)


def test_same_seed_writes_identical_bytes(built, tmp_path):
    root, _ = built
    build_demo_dataset(tmp_path / "again", seed=0)
    assert file_digests(tmp_path / "again") == file_digests(root)


# --- ground truth against Pillow ---------------------------------------------------------------


def test_pillow_reads_each_jpeg_with_the_stated_size_mode_and_factors(built):
    root, files = built
    for f in files_where(files, format="jpeg"):
        with Image.open(root / f.relpath) as im:
            assert im.format == "JPEG", f.relpath
            assert im.size == (f.width, f.height), f.relpath
            assert im.mode == PILLOW_MODE[f.color], f.relpath
            factors = ",".join(f"{h}x{v}" for _, h, v, _ in im.layer)
            assert factors == f.sampling_factors, f.relpath


def test_pillow_sees_progressive_only_where_stated(built):
    root, files = built
    for f in files_where(files, format="jpeg"):
        with Image.open(root / f.relpath) as im:
            assert bool(im.info.get("progressive")) == f.progressive, f.relpath


def test_pillow_reads_exif_orientation_only_where_stated(built):
    root, files = built
    for f in files_where(files, format="jpeg"):
        with Image.open(root / f.relpath) as im:
            assert im.getexif().get(0x0112) == f.orientation, f.relpath


def test_baseline_tables_are_pillows_at_the_stated_quality(built):
    root, files = built
    checked = 0
    for f in files_where(files, format="jpeg"):
        if f.encoder == "cjpeg" and f.quality_luma < 24:
            continue  # 16-bit tables: see the djpeg test below
        reference = pillow_tables(f.quality_luma)
        with Image.open(root / f.relpath) as im:
            tables = {slot: list(t) for slot, t in im.quantization.items()}
        assert tables[0] == reference[0], f.relpath
        if f.quality_chroma is not None:
            assert tables[1] == pillow_tables(f.quality_chroma)[1], f.relpath
        checked += 1
    assert checked > 200


def test_gray_and_cmyk_files_use_a_single_table(built):
    root, files = built
    for f in [*files_where(files, color="gray"), *files_where(files, color="cmyk")]:
        assert f.quality_chroma is None
        with Image.open(root / f.relpath) as im:
            assert list(im.quantization) == [0], f.relpath


def test_cmyk_files_have_four_components_and_an_adobe_marker(built):
    root, files = built
    cmyk = files_where(files, color="cmyk")
    assert cmyk
    for f in cmyk:
        with Image.open(root / f.relpath) as im:
            assert len(im.layer) == 4
            assert im.info.get("adobe_transform") == 0


def test_the_png_named_jpeg_is_a_png_at_imagenets_path(built):
    root, files = built
    (png,) = files_where(files, format="png")
    assert png.relpath == "train/n02105855/n02105855_2933.JPEG"
    assert (root / png.relpath).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(root / png.relpath) as im:
        assert im.format == "PNG"
        assert im.size == (png.width, png.height)


def test_the_truncated_file_does_not_decode_in_pillow(built):
    root, files = built
    (truncated,) = files_where(files, truncated=True)
    assert truncated.trailing_bytes is None
    with Image.open(root / truncated.relpath) as im:
        with pytest.raises(OSError, match="truncated"):
            im.load()


def test_files_not_truncated_decode_in_pillow(built):
    root, files = built
    for f in files_where(files, truncated=False):
        with Image.open(root / f.relpath) as im:
            im.load()


def test_trailing_bytes_are_what_follows_the_last_eoi(built):
    root, files = built
    for f in files_where(files, truncated=False):
        data = (root / f.relpath).read_bytes()
        assert len(data) - (data.rfind(EOI) + 2) == f.trailing_bytes, f.relpath
    assert any(f.trailing_bytes for f in files)


# --- ground truth against libjpeg (djpeg) ------------------------------------------------------


@pytest.mark.oracle
def test_every_jpeg_header_agrees_with_djpeg(built):
    root, files = built
    for f in files_where(files, format="jpeg"):
        header = djpeg_header(root / f.relpath)
        assert (header["width"], header["height"]) == (f.width, f.height), f.relpath
        assert header["components"] == len(f.sampling_factors.split(","))
        assert header["sampling_factors"] == f.sampling_factors, f.relpath


@pytest.mark.oracle
def test_411_files_have_factors_4x1_1x1_1x1_in_djpeg(built):
    root, files = built
    four_one_one = files_where(files, subsampling="4:1:1")
    if not four_one_one:
        pytest.skip("no 4:1:1 encoder here")
    for f in four_one_one:
        assert djpeg_header(root / f.relpath)["sampling_factors"] == "4x1,1x1,1x1"


@pytest.mark.oracle
def test_cmyk_files_carry_adobe_transform_0_in_djpeg(built):
    root, files = built
    for f in files_where(files, color="cmyk"):
        header = djpeg_header(root / f.relpath)
        assert header["components"] == 4
        assert re.search(r"Adobe APP14 marker: .* transform 0", header["text"])


@pytest.mark.oracle
def test_truncated_file_makes_libjpeg_warn(built):
    root, files = built
    (truncated,) = files_where(files, truncated=True)
    assert "Premature end of JPEG file" in djpeg_trace(root / truncated.relpath)


@pytest.mark.oracle
def test_cjpeg_low_quality_file_has_16bit_ijg_tables_in_djpeg(built):
    root, files = built
    sixteen_bit = [f for f in files_where(files, encoder="cjpeg") if f.quality_luma < 24]
    if not sixteen_bit:
        pytest.skip("cjpeg not installed")
    for f in sixteen_bit:
        precision, luma = djpeg_header(root / f.relpath)["tables"][0]
        assert precision == 1
        assert tuple(luma) == jb.ijg_reference_table(f.quality_luma, "luma", baseline=False)


# --- builds that change the machine's state ----------------------------------------------------


def test_rebuild_removes_the_previous_builds_files(tmp_path, small_plan):
    build_demo_dataset(tmp_path, seed=0)
    rebuilt = build_demo_dataset(tmp_path, seed=1)
    on_disk = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.JPEG")}
    assert on_disk == {f.relpath for f in rebuilt}


def test_refuses_to_write_into_a_folder_it_did_not_build(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "mine.jpg").write_bytes(b"not the demo's")
    with pytest.raises(FileExistsError):
        build_demo_dataset(tmp_path)
    assert (tmp_path / "train" / "mine.jpg").read_bytes() == b"not the demo's"


def test_missing_411_encoders_are_reported_and_their_files_skipped(
    tmp_path, small_plan, monkeypatch
):
    monkeypatch.setitem(demo._ENCODERS, "opencv", (lambda: None, demo.encode_opencv))
    monkeypatch.setitem(demo._ENCODERS, "cjpeg", (lambda: None, demo.encode_cjpeg))
    files = build_demo_dataset(tmp_path)
    assert not files_where(files, subsampling="4:1:1")
    assert not files_where(files, encoder="cjpeg")
    assert any("4:1:1" in m and "opencv-python-headless" in m for m in files.missing)
    assert files.skipped
    assert not any((tmp_path / relpath).exists() for relpath in files.skipped)
    assert {f.relpath for f in read_manifest(tmp_path / MANIFEST_NAME)} == {
        f.relpath for f in files
    }


# --- the scanner against the ground truth ------------------------------------------------------


def expected_row(f: DemoFile) -> dict:
    expected = {"format": f.format, "ext_mismatch": f.format != "jpeg", "split": f.split}
    if f.format == "jpeg":
        expected.update(
            error=None,
            width=f.width,
            height=f.height,
            color=f.color,
            subsampling=f.subsampling,
            sampling_factors=f.sampling_factors,
            quality_luma=f.quality_luma,
            quality_chroma=f.quality_chroma,
            # Every demo encoder uses IJG's tables at a plain quality setting.
            quality_exact=True,
            progressive=f.progressive,
            truncated=f.truncated,
            trailing_bytes=f.trailing_bytes,
            orientation=f.orientation,
        )
    return expected


def plain(value):
    """A store value as a plain Python value (pandas gives NA and numpy scalars)."""
    import pandas as pd

    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value.item() if hasattr(value, "item") else value


def mismatches(f: DemoFile, row: dict) -> dict:
    return {
        column: (want, plain(row.get(column)))
        for column, want in expected_row(f).items()
        if plain(row.get(column)) != want
    }


def test_audit_file_reports_the_ground_truth(built):
    api = pytest.importorskip("jpegaudit.api")
    if not hasattr(api, "audit_file"):
        pytest.skip("jpegaudit.api.audit_file not written yet")
    root, files = built
    wrong = {}
    for f in files:
        found = mismatches(f, api.audit_file(root / f.relpath, split=f.split))
        if found:
            wrong[f.relpath] = found
    assert wrong == {}


def test_scan_of_both_splits_reports_the_ground_truth_and_skips_the_manifest(built, tmp_path):
    api = pytest.importorskip("jpegaudit.api")
    if not hasattr(api, "scan"):
        pytest.skip("jpegaudit.api.scan not written yet")
    root, files = built
    api.scan([root / split for split in DEMO_SPLITS], tmp_path / "store", jobs=1)
    rows = {
        Path(row["path"]).resolve().relative_to(root.resolve()).as_posix(): row
        for row in api.read_store(tmp_path / "store").to_dict("records")
    }
    assert set(rows) == {f.relpath for f in files}
    wrong = {f.relpath: mismatches(f, rows[f.relpath]) for f in files}
    assert {k: v for k, v in wrong.items() if v} == {}
