"""A small ImageNet-like dataset written with real encoders at known settings, and its ground truth.

`build_demo_dataset(root)` writes about 275 files under `root/train/<wnid>/<wnid>_<n>.JPEG` and
`root/val/<wnid>/ILSVRC2012_val_<n>.JPEG` and returns one `DemoFile` per written file saying what
a correct audit must report for it. The mix follows what is known about ILSVRC2012 (see
`../shared/reference/imagenet.md`): mostly colour 4:4:4 at IJG quality 96 around 500x375, about
10 % 4:2:0 at assorted qualities, a few 4:1:1 (proportionally ten times more in val), a few with
quality below 10, some grayscale, CMYK files written with an Adobe marker, a PNG named `.JPEG`
at the path ImageNet's own one has, a truncated file, one with bytes after EOI, a progressive
one, one with EXIF orientation 6, a 500x32 strip and a 2592x1944 photo-sized one. Val is smaller
and mixed differently from train on purpose, so that split drift shows.

Pillow writes everything it can. It cannot write 4:1:1 (asked for it, it silently writes 4:2:0)
nor 16-bit quantization tables, so those files come from OpenCV or libjpeg's `cjpeg`; when
neither is available they are skipped, and the returned `DemoDataset.missing` says so.

The ground truth is also written to `root/MANIFEST.csv`, beside the split folders and never
inside them, so that scanning `root/train` and `root/val` does not pick it up.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

__all__ = [
    "DEMO_SPLITS",
    "MANIFEST_NAME",
    "DemoDataset",
    "DemoFile",
    "build_demo_dataset",
    "read_manifest",
]

DEMO_SPLITS = ("train", "val")
MANIFEST_NAME = "MANIFEST.csv"

# Real ILSVRC2012 synsets: the ones holding ImageNet's PNG and two of its CMYK files, and others.
_WNIDS = (
    "n01440764",
    "n01739381",
    "n02077923",
    "n02105855",
    "n02447366",
    "n03018349",
    "n03062245",
    "n04033995",
    "n04596742",
    "n07583066",
)
# ImageNet's own oddities, by name (imagenet.md): the PNG and two of the 22 CMYK files.
_PNG_NAME = ("n02105855", "n02105855_2933")
_CMYK_NAMES = (("n01739381", "n01739381_1309"), ("n02077923", "n02077923_14822"))

# (width, height) -> weight. ImageNet's typical frames: 500 on the long side, aspect 4:3, 3:2, 1:1
# (also what scripts/make_imagenet_like.py draws its benchmark data from).
TRAIN_FRAME_SIZES = {
    (500, 375): 45,
    (375, 500): 20,
    (500, 333): 20,
    (500, 500): 10,
    (500, 400): 2,
    (333, 500): 2,
    (500, 281): 1,
}
# Val: fewer files, more square and portrait frames, so the size distribution drifts.
_VAL_SIZES = {
    (500, 375): 30,
    (500, 500): 30,
    (375, 500): 15,
    (500, 333): 10,
    (400, 500): 8,
    (500, 450): 7,
}

_FACTORS = {
    "4:4:4": "1x1,1x1,1x1",
    "4:2:2": "2x1,1x1,1x1",
    "4:2:0": "2x2,1x1,1x1",
    "4:1:1": "4x1,1x1,1x1",
    "gray": "1x1",
    "cmyk": "1x1,1x1,1x1,1x1",
}
_PILLOW_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
_CJPEG_SAMPLE = {"4:4:4": "1x1,1x1,1x1", "4:2:0": "2x2,1x1,1x1", "4:1:1": "4x1,1x1,1x1"}

# Appended after EOI to the file with trailing data: text, so it holds no 0xFF (no fake markers).
_TRAILER = b"jpegaudit demo: these bytes follow the EOI marker.\n" * 6


@dataclass(frozen=True)
class DemoFile:
    """What a correct audit reports for one demo file.

    Fields named like store columns hold the value the store must have. For a file that is not a
    JPEG (`format` != "jpeg"), `width`/`height` are the image's pixel size and the JPEG-only
    fields are None.
    """

    relpath: str  # posix path relative to the dataset root: train/n01440764/n01440764_42.JPEG
    split: str  # "train" or "val"
    encoder: str  # what wrote it: "pillow", "opencv", "cjpeg"
    format: str  # content format as the store names it: "jpeg", "png"
    width: int
    height: int
    color: str | None  # "ycbcr", "gray", "cmyk"
    subsampling: str | None  # "4:4:4", "4:2:0", "4:1:1", "gray", ...
    sampling_factors: str | None  # "2x2,1x1,1x1"
    quality_luma: int | None  # IJG quality the encoder was asked for
    quality_chroma: int | None  # None when the chroma components share the luma table, or gray
    progressive: bool | None
    truncated: bool | None
    trailing_bytes: int | None  # None when truncated (the store leaves it null then)
    orientation: int | None  # EXIF orientation, None when there is no EXIF orientation
    note: str  # why this file is in the set

    @property
    def quality(self) -> tuple[int | None, int | None]:
        return (self.quality_luma, self.quality_chroma)


class DemoDataset(list):
    """The `DemoFile`s written (a list), plus what could not be written on this machine."""

    def __init__(
        self,
        files: Iterable[DemoFile],
        *,
        root: Path,
        missing: Iterable[str] = (),
        skipped: Iterable[str] = (),
    ) -> None:
        super().__init__(files)
        self.root = root
        self.missing: list[str] = list(missing)  # one human-readable line per missing encoder
        self.skipped: list[str] = list(skipped)  # relpaths of the files not written

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST_NAME


@dataclass(frozen=True)
class _Spec:
    """One file to write: where, what content, how to encode it."""

    split: str
    wnid: str
    stem: str
    width: int
    height: int
    kind: str = "jpeg"  # "jpeg", "png", "cmyk", "gray"
    quality: int = 96
    subsampling: str = "4:4:4"
    encoders: tuple[str, ...] = ("pillow",)  # preference order
    progressive: bool = False
    truncate: bool = False
    trailer: bool = False
    orientation: int | None = None
    flat: bool = False  # smooth content only: cheap to encode at any size
    note: str = "typical ImageNet file"
    label: str = ""  # what to call the file when its encoders are missing ("4:1:1")

    @property
    def relpath(self) -> str:
        return f"{self.split}/{self.wnid}/{self.stem}.JPEG"


# --- content -----------------------------------------------------------------------------------


def synthetic_photo(rng: np.random.Generator, width: int, height: int, detail: float = 1.0):
    """An RGB Pillow image that compresses roughly like a photo: smooth colour fields, shapes with
    sharp edges, mid-frequency texture and sensor-like noise (`detail` scales the last two; 0
    gives smooth content that encodes fast at any size)."""
    cells = (max(2, height // 64), max(2, width // 64), 3)
    field = Image.fromarray((rng.random(cells) * 255).astype(np.uint8))
    img = np.asarray(field.resize((width, height), Image.Resampling.BICUBIC), dtype=np.float32)
    draw_on = Image.fromarray(img.astype(np.uint8))
    draw = ImageDraw.Draw(draw_on)
    for _ in range(int(rng.integers(3, 9))):
        x0, y0 = int(rng.integers(0, width)), int(rng.integers(0, height))
        x1 = x0 + int(rng.integers(8, width // 2 + 9))
        y1 = y0 + int(rng.integers(8, height // 2 + 9))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
    if detail <= 0:
        return draw_on
    img = np.asarray(draw_on, dtype=np.float32)
    texture_cells = (max(2, height // 6), max(2, width // 6))
    texture = Image.fromarray(
        np.clip(rng.standard_normal(texture_cells) * 40 + 128, 0, 255).astype(np.uint8)
    )
    texture_up = np.asarray(
        texture.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32
    )
    img += (texture_up[..., None] - 128.0) * detail
    img += rng.standard_normal((height, width, 1), dtype=np.float32) * (6.0 * detail)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))


# --- encoders ----------------------------------------------------------------------------------


def _opencv():
    try:
        import cv2
    except ImportError:
        return None
    return cv2 if hasattr(cv2, "IMWRITE_JPEG_SAMPLING_FACTOR_411") else None


def _cjpeg_path() -> str | None:
    return shutil.which("cjpeg")


def encode_pillow(image, spec: _Spec) -> bytes:
    out = io.BytesIO()
    options: dict = {"quality": spec.quality, "progressive": spec.progressive}
    if spec.kind == "jpeg":
        options["subsampling"] = _PILLOW_SUBSAMPLING[spec.subsampling]
    if spec.orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = spec.orientation
        options["exif"] = exif
    image.save(out, "JPEG", **options)
    return out.getvalue()


def encode_opencv(image, spec: _Spec) -> bytes:
    cv2 = _opencv()
    assert cv2 is not None
    factor = {
        "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
        "4:2:2": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
        "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
        "4:1:1": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_411,
    }[spec.subsampling]
    bgr = np.ascontiguousarray(np.asarray(image)[..., ::-1])
    params = [
        cv2.IMWRITE_JPEG_QUALITY,
        spec.quality,
        cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
        factor,
        cv2.IMWRITE_JPEG_PROGRESSIVE,
        int(spec.progressive),
    ]
    ok, buf = cv2.imencode(".jpg", bgr, params)
    if not ok:
        raise RuntimeError(f"OpenCV could not encode {spec.relpath}")
    return buf.tobytes()


def encode_cjpeg(image, spec: _Spec) -> bytes:
    cjpeg = _cjpeg_path()
    assert cjpeg is not None
    ppm = io.BytesIO()
    image.save(ppm, "PPM")
    # No -baseline: below quality ~24 cjpeg then writes 16-bit tables, as libjpeg allows.
    cmd = [cjpeg, "-quality", str(spec.quality), "-sample", _CJPEG_SAMPLE[spec.subsampling]]
    if spec.progressive:
        cmd.append("-progressive")
    done = subprocess.run(cmd, input=ppm.getvalue(), capture_output=True, check=True)
    return done.stdout


_ENCODERS: dict[str, tuple[Callable[[], object], Callable]] = {
    "pillow": (lambda: True, encode_pillow),
    "opencv": (_opencv, encode_opencv),
    "cjpeg": (_cjpeg_path, encode_cjpeg),
}
_INSTALL_HINT = {
    "opencv": "install opencv-python-headless",
    "cjpeg": "install cjpeg (libjpeg-turbo-progs)",
}


def available_encoders() -> dict[str, bool]:
    """Which of the demo's encoders can run here."""
    return {name: bool(probe()) for name, (probe, _) in _ENCODERS.items()}


# --- the plan ----------------------------------------------------------------------------------


def _pick_size(rng: np.random.Generator, sizes: dict[tuple[int, int], int]) -> tuple[int, int]:
    keys = list(sizes)
    weights = np.array([sizes[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=weights / weights.sum()))]


def _plan(seed: int) -> list[_Spec]:
    rng = np.random.default_rng([seed, 2012])
    train: list[dict] = []
    val: list[dict] = []

    def add(rows: list[dict], count: int, **fields) -> None:
        rows.extend(dict(fields) for _ in range(count))

    # Train: ~215 files. Shares follow imagenet.md.
    add(train, 170, note="colour 4:4:4 q96: ImageNet's majority")
    for q in (75, 80, 85, 90, 92, 95, 75, 85, 90, 95, 70, 88, 93, 80, 85, 90, 95, 92):
        add(train, 1, quality=q, subsampling="4:2:0", note="4:2:0 at an assorted quality")
    add(train, 2, quality=95, subsampling="4:2:0", encoders=("opencv", "pillow"),
        note="4:2:0 q95 (OpenCV's default quality)")  # fmt: skip
    add(train, 2, quality=90, subsampling="4:2:2", note="4:2:2")
    for q in (90, 95):
        add(train, 1, quality=q, subsampling="4:1:1", encoders=("opencv", "cjpeg"),
            label="4:1:1", note="4:1:1: Pillow cannot write it")  # fmt: skip
    for q in (5, 8, 9):
        add(train, 1, quality=q, subsampling="4:2:0", note="quality below 10")
    add(train, 1, quality=7, subsampling="4:2:0", encoders=("cjpeg",),
        label="16-bit table", note="quality below 10 with 16-bit tables (cjpeg without -baseline)")  # fmt: skip
    for q in (96, 96, 96, 96, 90, 90, 75, 60):
        add(train, 1, kind="gray", quality=q, subsampling="gray", note="grayscale")
    for wnid, stem in _CMYK_NAMES:
        add(train, 1, kind="cmyk", subsampling="cmyk", wnid=wnid, stem=stem,
            note="CMYK with an Adobe marker, named like one of ImageNet's 22")  # fmt: skip
    add(train, 1, kind="png", wnid=_PNG_NAME[0], stem=_PNG_NAME[1],
        note="a PNG named .JPEG, at the path of ImageNet's own")  # fmt: skip
    add(train, 1, truncate=True, note="truncated: cut in the middle of the scan data")
    add(train, 1, trailer=True, note=f"{len(_TRAILER)} bytes after EOI")
    add(train, 1, progressive=True, note="progressive")
    add(train, 1, orientation=6, note="EXIF orientation 6 (displayed rotated 90 degrees)")
    add(train, 1, size=(500, 32), note="thin outlier frame (500x32)")
    add(train, 1, size=(2592, 1944), flat=True, note="large outlier frame, smooth content")

    # Val: ~60 files, sparser and mixed differently: more 4:2:0, 10x the 4:1:1 share, more squares.
    add(val, 36, note="colour 4:4:4 q96: ImageNet's majority")
    for q in (75, 75, 75, 80, 85, 85, 85, 90, 70, 65):
        add(val, 1, quality=q, subsampling="4:2:0", note="4:2:0 at an assorted quality")
    add(val, 2, quality=95, subsampling="4:2:0", encoders=("opencv", "pillow"),
        note="4:2:0 q95 (OpenCV's default quality)")  # fmt: skip
    for i, q in enumerate((90, 85, 95, 75, 90)):
        # Alternate which of the two 4:1:1-capable encoders is preferred, so both get exercised.
        encoders = ("opencv", "cjpeg") if i % 2 == 0 else ("cjpeg", "opencv")
        add(val, 1, quality=q, subsampling="4:1:1", encoders=encoders,
            label="4:1:1", note="4:1:1: proportionally more frequent in val")  # fmt: skip
    for q in (6, 9):
        add(val, 1, quality=q, subsampling="4:2:0", note="quality below 10")
    for q in (96, 90, 80):
        add(val, 1, kind="gray", quality=q, subsampling="gray", note="grayscale")
    add(val, 1, progressive=True, quality=90, subsampling="4:2:0", note="progressive")

    specs: list[_Spec] = []
    for split, rows, sizes in (("train", train, TRAIN_FRAME_SIZES), ("val", val, _VAL_SIZES)):
        order = rng.permutation(len(rows))
        rows = [rows[i] for i in order]
        used_numbers: set[int] = set()
        for i, row in enumerate(rows):
            wnid = row.pop("wnid", _WNIDS[i % len(_WNIDS)])
            stem = row.pop("stem", None)
            if stem is None:
                while True:
                    number = int(rng.integers(1, 50001 if split == "val" else 30001))
                    if number not in used_numbers:
                        break
                used_numbers.add(number)
                stem = f"{wnid}_{number}" if split == "train" else f"ILSVRC2012_val_{number:08d}"
            width, height = row.pop("size", None) or _pick_size(rng, sizes)
            specs.append(
                _Spec(split=split, wnid=wnid, stem=stem, width=width, height=height, **row)
            )
    return specs


# --- building ----------------------------------------------------------------------------------


def _ground_truth(spec: _Spec, encoder: str, data: bytes) -> DemoFile:
    common: dict[str, Any] = {
        "relpath": spec.relpath,
        "split": spec.split,
        "encoder": encoder,
        "width": spec.width,
        "height": spec.height,
        "note": spec.note,
    }
    if spec.kind == "png":
        return DemoFile(
            **common,
            format="png",
            color=None,
            subsampling=None,
            sampling_factors=None,
            quality_luma=None,
            quality_chroma=None,
            progressive=None,
            truncated=None,
            trailing_bytes=None,
            orientation=None,
        )
    color = {"jpeg": "ycbcr", "gray": "gray", "cmyk": "cmyk"}[spec.kind]
    # libjpeg gives CMYK's four components and gray's one component quant table 0 only.
    chroma = spec.quality if spec.kind == "jpeg" else None
    return DemoFile(
        **common,
        format="jpeg",
        color=color,
        subsampling="4:4:4" if spec.kind == "cmyk" else spec.subsampling,
        sampling_factors=_FACTORS[spec.subsampling],
        quality_luma=spec.quality,
        quality_chroma=chroma,
        progressive=spec.progressive,
        truncated=spec.truncate,
        trailing_bytes=None if spec.truncate else (len(_TRAILER) if spec.trailer else 0),
        orientation=spec.orientation,
    )


def _render(spec: _Spec, seed: int, index: int):
    rng = np.random.default_rng([seed, index])
    # Vary detail so that file sizes spread like a photo collection's (tens to ~200 KB).
    detail = 0.0 if spec.flat else float(rng.uniform(0.5, 1.3))
    image = synthetic_photo(rng, spec.width, spec.height, detail)
    if spec.kind == "gray":
        return image.convert("L")
    if spec.kind == "cmyk":
        return image.convert("CMYK")
    return image


def _encode(spec: _Spec, image) -> tuple[str, bytes]:
    if spec.kind == "png":
        out = io.BytesIO()
        image.save(out, "PNG", compress_level=1)
        return "pillow", out.getvalue()
    for name in spec.encoders:
        probe, encode = _ENCODERS[name]
        if probe():
            data = encode(image, spec)
            if spec.truncate:
                data = data[: len(data) * 11 // 20]
            if spec.trailer:
                data += _TRAILER
            return name, data
    raise LookupError(spec.encoders)


def _clear_previous_build(root: Path) -> None:
    """Remove the files an earlier demo build listed, so a rebuild leaves no stale file; refuse to
    write split folders into a folder that holds other data."""
    manifest = root / MANIFEST_NAME
    if manifest.is_file():
        for demo_file in read_manifest(manifest):
            (root / demo_file.relpath).unlink(missing_ok=True)
        return
    for split in DEMO_SPLITS:
        folder = root / split
        if folder.exists() and any(folder.iterdir()):
            raise FileExistsError(
                f"{folder} exists and was not written by the demo; choose an empty folder"
            )


def build_demo_dataset(
    root: Path, *, seed: int = 0, progress: Callable[[int, int], None] | None = None
) -> DemoDataset:
    """Write the demo dataset under `root` and return its ground truth, one `DemoFile` per file
    written. Files that need an encoder missing here are skipped and listed in `.missing`.
    `progress(done, total)` is called after each planned file."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _clear_previous_build(root)
    files: list[DemoFile] = []
    skipped: list[str] = []
    wanted_encoders: dict[tuple[str, ...], list[str]] = {}
    plan = _plan(seed)
    for index, spec in enumerate(plan):
        if progress is not None and index:
            progress(index, len(plan))
        if spec.kind != "png" and not any(_ENCODERS[e][0]() for e in spec.encoders):
            skipped.append(spec.relpath)
            wanted_encoders.setdefault(spec.encoders, []).append(spec.label or spec.note)
            continue
        image = _render(spec, seed, index)
        encoder, data = _encode(spec, image)
        path = root / spec.relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files.append(_ground_truth(spec, encoder, data))
    if progress is not None:
        progress(len(plan), len(plan))
    missing = [
        f"{len(what)} {' and '.join(sorted(set(what)))} file(s) skipped: "
        + " or ".join(_INSTALL_HINT.get(e, e) for e in encoders)
        for encoders, what in wanted_encoders.items()
    ]
    dataset = DemoDataset(files, root=root, missing=missing, skipped=skipped)
    write_manifest(dataset.manifest_path, files)
    return dataset


# --- the manifest ------------------------------------------------------------------------------

_FIELDS = [f.name for f in dataclasses.fields(DemoFile)]


def write_manifest(path: Path, files: Iterable[DemoFile]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=_FIELDS)
        writer.writeheader()
        for demo_file in files:
            row = dataclasses.asdict(demo_file)
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def read_manifest(path: Path) -> list[DemoFile]:
    """The ground truth a build wrote to MANIFEST.csv."""
    types = {f.name: f.type for f in dataclasses.fields(DemoFile)}
    files = []
    with open(path, newline="", encoding="utf-8") as source:
        for row in csv.DictReader(source):
            values: dict = {}
            for name, text in row.items():
                kind = str(types[name])
                if text == "" and "None" in kind:
                    values[name] = None
                elif kind.startswith("int"):
                    values[name] = int(text)
                elif kind.startswith("bool"):
                    values[name] = text == "True"
                else:
                    values[name] = text
            files.append(DemoFile(**values))
    return files
