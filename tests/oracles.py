"""External oracles the tests compare jpegaudit with: libjpeg (`djpeg -verbose -verbose`), Pillow,
ImageMagick `identify` and exiftool. Each helper runs one tool and parses what it says into a
small typed value; it returns None when the tool is not installed (or, for Pillow and identify,
when the tool cannot open the file). Nothing here imports jpegaudit: the oracles must stay
independent of the code they judge.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPORA_DIR = REPO_ROOT.parent / "shared" / "corpora"
REQUIRE_ORACLES_ENV = "JPEGAUDIT_REQUIRE_ORACLES"
TOOL_TIMEOUT_S = 120


def oracles_required() -> bool:
    """CI sets JPEGAUDIT_REQUIRE_ORACLES=1 so that a missing oracle fails instead of skipping."""
    return os.environ.get(REQUIRE_ORACLES_ENV) == "1"


def tool_path(name: str) -> str | None:
    return shutil.which(name)


def corpus_files(root: Path = CORPORA_DIR) -> list[Path]:
    """Every data file of the shared corpora (MANIFEST.tsv and README.md excluded), sorted."""
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not (p.parent == root and p.name in ("MANIFEST.tsv", "README.md"))
    )


# --- libjpeg: djpeg -verbose -verbose ---------------------------------------------------------


@dataclass(frozen=True)
class DjpegComponent:
    id: int
    h: int
    v: int
    tq: int


@dataclass(frozen=True)
class DjpegQuantTable:
    slot: int
    precision: int  # DQT Pq as libjpeg prints it: 0 for 8-bit entries, 1 for 16-bit
    values: tuple[int, ...]  # 64 entries in natural (row-major) order, as djpeg prints them

    @property
    def bits(self) -> int:
        return 16 if self.precision else 8


@dataclass(frozen=True)
class DjpegHuffmanTable:
    table_class: int  # 0 DC, 1 AC
    slot: int
    counts: tuple[int, ...]  # the 16 code-length counts


@dataclass(frozen=True)
class DjpegHeader:
    """What libjpeg traced before the first SOS (plus everything else it traced in order).

    `qtables`, `huffman_tables` and `restart_interval` are the state at the first SOS: a
    redefinition later in the file (between scans, or in a second image of an MPO) is kept in
    `qtable_definitions` only. `header_read` is True when libjpeg reached the first SOS.
    """

    exit_status: int
    sof: int | None = None
    width: int | None = None
    height: int | None = None
    components: tuple[DjpegComponent, ...] = ()
    qtable_definitions: tuple[DjpegQuantTable, ...] = ()
    qtables: dict[int, DjpegQuantTable] = field(default_factory=dict)
    huffman_tables: tuple[DjpegHuffmanTable, ...] = ()
    arithmetic_tables: tuple[tuple[int, int], ...] = ()
    restart_interval: int = 0
    adobe_version: int | None = None
    adobe_flags: tuple[int, int] | None = None
    adobe_transform: int | None = None
    jfif_version: str | None = None
    jfif_density: tuple[int, int, int] | None = None  # x, y, unit
    sos_count: int = 0
    header_read: bool = False
    unsupported: str | None = None  # e.g. "Unsupported JPEG data precision 12" after the SOS
    fatal: str | None = None  # libjpeg's fatal error message, if it gave up
    warnings: tuple[str, ...] = ()
    header_warnings: tuple[str, ...] = ()  # the ones traced before the first SOS
    trace: str = ""

    @property
    def sampling_factors(self) -> str:
        return ",".join(f"{c.h}x{c.v}" for c in self.components)

    @property
    def qtable_ids(self) -> tuple[int, ...]:
        return tuple(c.tq for c in self.components)

    @property
    def precision(self) -> int | None:
        """Sample precision as libjpeg sees it: an 8-bit build traces no precision but refuses
        any other after reading the header ("Unsupported JPEG data precision 12")."""
        if self.unsupported and (m := re.search(r"precision (\d+)", self.unsupported)):
            return int(m.group(1))
        return 8 if self.header_read else None


_RE_SOF = re.compile(
    r"^Start Of Frame 0x([0-9a-f]{2}): width=(\d+), height=(\d+), components=(\d+)$"
)
_RE_SOF_COMPONENT = re.compile(r"^    Component (\d+): (\d+)hx(\d+)v q=(\d+)$")
_RE_DQT = re.compile(r"^Define Quantization Table (\d+)  precision (\d+)$")
_RE_EIGHT = re.compile(r"^ +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)$")
_RE_DHT = re.compile(r"^Define Huffman Table 0x([0-9a-f]{2})$")
_RE_DAC = re.compile(r"^Define Arithmetic Table 0x([0-9a-f]{2}): 0x([0-9a-f]{2})$")
_RE_DRI = re.compile(r"^Define Restart Interval (\d+)$")
_RE_ADOBE = re.compile(
    r"^Adobe APP14 marker: version (\d+), flags 0x([0-9a-f]{4}) 0x([0-9a-f]{4}), transform (\d+)$"
)
_RE_JFIF = re.compile(r"^JFIF APP0 marker: version (\d+)\.(\d+), density (\d+)x(\d+)  (\d+)$")
_RE_SOS = re.compile(r"^Start Of Scan: (\d+) components$")
_RE_TEXT_MARKER = re.compile(r"^(?:Comment|APP\d+), length (\d+):$")
_RE_OCTAL = re.compile(r"\\[0-7]{3}")
# libjpeg warnings (JWRN_*) that djpeg prints; it prints only the first one at trace level 2.
_WARNING_PREFIXES = (
    "Corrupt JPEG data",
    "Premature end of JPEG file",
    "Warning:",
    "Invalid SOS parameters",
    "Inconsistent progression sequence",
    "Unknown Adobe color transform code",
    "Invalid progressive",
)
_TRACE_LINE = re.compile(
    r"^(Start Of |Start of Image|End Of Image|Define |JFIF |Adobe APP14|Miscellaneous marker|"
    r"Unknown APP|Comment, length|APP\d+, length|RST\d|Unexpected marker)"
)
_BANNER_PREFIXES = ("libjpeg-turbo version", "Copyright (C)", "Emulating The Independent")


def _text_bytes(line: str) -> int:
    """Source bytes behind one line of a COM/APP12 dump (djpeg escapes `\\` and non-printables)."""
    unescaped = _RE_OCTAL.sub("o", line.replace("\\\\", "b"))
    return len(unescaped) + 1  # + the newline it printed for a CR or LF byte


def _skip_text_dump(lines: list[str], start: int, length: int) -> int:
    """Index of the first line after the text dump djpeg prints for a COM or APP12 segment of
    `length` payload bytes. A CR LF pair prints as one line break, so the count can fall short by
    one byte per line; a strict trace line then ends the dump early."""
    remaining = length
    i = start
    skipped = 0
    while i < len(lines) and remaining > 0:
        if skipped and remaining <= skipped and _TRACE_LINE.match(lines[i]):
            break
        remaining -= _text_bytes(lines[i])
        skipped += 1
        i += 1
    return i


def parse_djpeg_trace(stderr: str, exit_status: int) -> DjpegHeader:
    """Parse the stderr of `djpeg -verbose -verbose` (libjpeg-turbo's trace, natural order)."""
    lines = stderr.splitlines()
    sof: int | None = None
    width = height = None
    components: list[DjpegComponent] = []
    expected_components = 0
    definitions: list[DjpegQuantTable] = []
    tables_now: dict[int, DjpegQuantTable] = {}
    tables_at_sos: dict[int, DjpegQuantTable] | None = None
    huffman: list[DjpegHuffmanTable] = []
    arithmetic: list[tuple[int, int]] = []
    restart = 0
    restart_at_sos: int | None = None
    adobe_version = adobe_transform = None
    adobe_flags = None
    jfif_version = None
    jfif_density = None
    sos_count = 0
    warnings: list[str] = []
    header_warnings: list[str] = []
    other: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.strip() or line.startswith(_BANNER_PREFIXES):
            continue
        if m := _RE_TEXT_MARKER.match(line):
            i = _skip_text_dump(lines, i, int(m.group(1)))
            continue
        if m := _RE_DQT.match(line):
            values: list[int] = []
            while len(values) < 64 and i < len(lines) and (row := _RE_EIGHT.match(lines[i])):
                values.extend(int(v) for v in row.groups())
                i += 1
            table = DjpegQuantTable(int(m.group(1)), int(m.group(2)), tuple(values))
            definitions.append(table)
            tables_now[table.slot] = table
            continue
        if m := _RE_DHT.match(line):
            counts: list[int] = []
            while len(counts) < 16 and i < len(lines) and (row := _RE_EIGHT.match(lines[i])):
                counts.extend(int(v) for v in row.groups())
                i += 1
            index = int(m.group(1), 16)
            if sos_count == 0:
                huffman.append(DjpegHuffmanTable(index >> 4, index & 0x0F, tuple(counts)))
            continue
        if m := _RE_SOF.match(line):
            if sof is None:  # an MPO's later images are not decoded; keep the first frame
                sof = int(m.group(1), 16)
                width, height = int(m.group(2)), int(m.group(3))
                expected_components = int(m.group(4))
                while i < len(lines) and (c := _RE_SOF_COMPONENT.match(lines[i])):
                    components.append(DjpegComponent(*(int(g) for g in c.groups())))
                    i += 1
            continue
        if m := _RE_DAC.match(line):
            if sos_count == 0:
                arithmetic.append((int(m.group(1), 16), int(m.group(2), 16)))
            continue
        if m := _RE_DRI.match(line):
            restart = int(m.group(1))
            continue
        if m := _RE_ADOBE.match(line):
            if adobe_transform is None:
                adobe_version = int(m.group(1))
                adobe_flags = (int(m.group(2), 16), int(m.group(3), 16))
                adobe_transform = int(m.group(4))
            continue
        if m := _RE_JFIF.match(line):
            if jfif_version is None:
                jfif_version = f"{int(m.group(1))}.{int(m.group(2)):02d}"
                jfif_density = (int(m.group(3)), int(m.group(4)), int(m.group(5)))
            continue
        if _RE_SOS.match(line):
            sos_count += 1
            if sos_count == 1:
                tables_at_sos = dict(tables_now)
                restart_at_sos = restart
            continue
        if line.startswith(_WARNING_PREFIXES):
            warnings.append(line)
            if sos_count == 0:
                header_warnings.append(line)
            continue
        other.append(line)

    # libjpeg prints its fatal message last and exits with status 1; a message that comes after
    # the first SOS with the header complete (12-bit data in an 8-bit build) is "unsupported",
    # not a refusal of the header.
    fatal = None
    unsupported = None
    if exit_status == 1:
        message = other[-1] if other else (lines[-1] if lines else "djpeg failed")
        if sos_count and message.startswith("Unsupported JPEG data precision"):
            unsupported = message
        else:
            fatal = message
    header_read = sos_count > 0 and sof is not None and len(components) == expected_components
    return DjpegHeader(
        exit_status=exit_status,
        sof=sof,
        width=width,
        height=height,
        components=tuple(components),
        qtable_definitions=tuple(definitions),
        qtables=tables_at_sos if tables_at_sos is not None else dict(tables_now),
        huffman_tables=tuple(huffman),
        arithmetic_tables=tuple(arithmetic),
        restart_interval=restart_at_sos if restart_at_sos is not None else restart,
        adobe_version=adobe_version,
        adobe_flags=adobe_flags,
        adobe_transform=adobe_transform,
        jfif_version=jfif_version,
        jfif_density=jfif_density,
        sos_count=sos_count,
        header_read=header_read,
        unsupported=unsupported,
        fatal=fatal,
        warnings=tuple(warnings),
        header_warnings=tuple(header_warnings),
        trace=stderr,
    )


@lru_cache(maxsize=4096)
def _djpeg_cached(path: str, mtime_ns: int, size: int) -> DjpegHeader | None:
    djpeg = tool_path("djpeg")
    if djpeg is None:
        return None
    proc = subprocess.run(
        [djpeg, "-verbose", "-verbose", "-outfile", os.devnull, path],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=TOOL_TIMEOUT_S,
    )
    return parse_djpeg_trace(proc.stderr.decode("latin-1"), proc.returncode)


def djpeg_header(path: str | os.PathLike) -> DjpegHeader | None:
    """libjpeg's view of a file's header, or None when djpeg is not installed. A header libjpeg
    refuses comes back with `fatal` set (and `header_read` False)."""
    p = os.fspath(path)
    st = os.stat(p)
    return _djpeg_cached(p, st.st_mtime_ns, st.st_size)


# --- Pillow -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PillowInfo:
    format: str | None
    size: tuple[int, int]
    mode: str
    layer: tuple[tuple[int, int, int, int], ...]  # (component id, h, v, table slot)
    quantization: dict[int, tuple[int, ...]]  # natural order (Pillow >= 8.3)
    progressive: bool
    adobe_transform: int | None
    orientation: int | None  # getexif()[0x0112]: EXIF IFD0, else Pillow's XMP fallback
    exif_orientation: int | None  # 0x0112 of the first APP1 Exif's IFD0 only


def pillow_info(path: str | os.PathLike) -> PillowInfo | None:
    """Pillow's lazy `Image.open` view, or None when Pillow is missing or cannot open the file."""
    try:
        from PIL import Image
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Corrupt EXIF data", "malformed MPO": expected here
        try:
            with Image.open(path) as im:
                return _pillow_info(Image, im)
        except Exception:
            return None


def _pillow_info(image_module, im) -> PillowInfo:
    layer = tuple(
        (ord(cid) if isinstance(cid, (str, bytes)) else int(cid), h, v, tq)
        for cid, h, v, tq in getattr(im, "layer", [])
    )
    quantization = {
        int(slot): tuple(int(x) for x in table)
        for slot, table in (getattr(im, "quantization", None) or {}).items()
    }
    try:
        orientation = im.getexif().get(0x0112)
    except Exception:  # Pillow raises on some broken EXIF; the oracle then has no answer
        orientation = None
    exif_orientation = None
    raw_exif = im.info.get("exif")
    if raw_exif:
        # getexif() falls back to XMP's tiff:Orientation; Exif.load reads the APP1 Exif IFD0
        # only, which is what the store's `orientation` column means.
        try:
            exif = image_module.Exif()
            exif.load(raw_exif)
            exif_orientation = exif.get(0x0112)
        except Exception:
            exif_orientation = None
    return PillowInfo(
        format=im.format,
        size=im.size,
        mode=im.mode,
        layer=layer,
        quantization=quantization,
        progressive=bool(im.info.get("progressive") or im.info.get("progression")),
        adobe_transform=im.info.get("adobe_transform"),
        orientation=orientation,
        exif_orientation=exif_orientation,
    )


# --- ImageMagick identify ---------------------------------------------------------------------


@dataclass(frozen=True)
class IdentifyInfo:
    width: int
    height: int
    colorspace: str
    sampling_factor: str  # "2x2,1x1,1x1"; "" when ImageMagick does not say
    quality: int  # %Q: ImageMagick prints 92 when it does not know


_IDENTIFY_FORMAT = "%w|%h|%[colorspace]|%[jpeg:sampling-factor]|%Q\\n"


def identify_info(path: str | os.PathLike) -> IdentifyInfo | None:
    """ImageMagick's `identify -ping` for the first frame, or None when identify is missing or
    fails on the file (it then prints a 0x0 size and an error)."""
    identify = tool_path("identify")
    if identify is None:
        return None
    proc = subprocess.run(
        [identify, "-ping", "-format", _IDENTIFY_FORMAT, f"{os.fspath(path)}[0]"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TOOL_TIMEOUT_S,
    )
    first = proc.stdout.decode("latin-1").splitlines()[:1]
    if proc.returncode != 0 or not first:
        return None
    parts = first[0].split("|")
    if len(parts) != 5:
        return None
    try:
        width, height, quality = int(parts[0]), int(parts[1]), int(parts[4])
    except ValueError:
        return None
    if width == 0 or height == 0:
        return None
    return IdentifyInfo(width, height, parts[2], parts[3], quality)


# --- exiftool ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExiftoolInfo:
    file_type: str | None
    width: int | None
    height: int | None
    encoding_process: int | None  # SOF marker - 0xC0 (0 baseline, 1 extended, 2 progressive, ...)
    ycbcr_subsampling: str | None  # e.g. "2 2"
    color_components: int | None
    bits_per_sample: int | None
    orientation: int | None  # EXIF:Orientation (IFD0), not XMP-tiff:Orientation
    error: str | None


_EXIFTOOL_TAGS = (
    "-FileType",
    "-ImageWidth",
    "-ImageHeight",
    "-EncodingProcess",
    "-YCbCrSubSampling",
    "-ColorComponents",
    "-BitsPerSample",
    "-EXIF:Orientation",
    "-Error",
)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def exiftool_infos(paths: Sequence[str | os.PathLike]) -> dict[str, ExiftoolInfo] | None:
    """exiftool's `-j -n` fields for many files in one process (exiftool starts slowly), keyed by
    the path as given; None when exiftool is missing."""
    exiftool = tool_path("exiftool")
    if exiftool is None:
        return None
    names = [os.fspath(p) for p in paths]
    if not names:
        return {}
    proc = subprocess.run(
        [exiftool, "-j", "-n", "-q", "-q", *_EXIFTOOL_TAGS, "-@", "-"],
        input="\n".join(names).encode(),
        capture_output=True,
        timeout=TOOL_TIMEOUT_S * 4,
    )
    records = json.loads(proc.stdout.decode() or "[]")
    out: dict[str, ExiftoolInfo] = {}
    for rec in records:
        subsampling = rec.get("YCbCrSubSampling")
        out[rec["SourceFile"]] = ExiftoolInfo(
            file_type=rec.get("FileType"),
            width=_as_int(rec.get("ImageWidth")),
            height=_as_int(rec.get("ImageHeight")),
            encoding_process=_as_int(rec.get("EncodingProcess")),
            ycbcr_subsampling=str(subsampling) if subsampling is not None else None,
            color_components=_as_int(rec.get("ColorComponents")),
            bits_per_sample=_as_int(rec.get("BitsPerSample")),
            orientation=_as_int(rec.get("Orientation")),
            error=rec.get("Error"),
        )
    return out


def exiftool_info(path: str | os.PathLike) -> ExiftoolInfo | None:
    """exiftool's view of one file; None when exiftool is missing or says nothing about it."""
    infos = exiftool_infos([path])
    if infos is None:
        return None
    return infos.get(os.fspath(path))


# Oracles and encoders that are Python modules rather than executables.
_PYTHON_TOOLS = {"pillow": "PIL", "opencv": "cv2"}


def tool_available(name: str) -> bool:
    module = _PYTHON_TOOLS.get(name)
    if module is not None:
        return importlib.util.find_spec(module) is not None
    return tool_path(name) is not None


def missing_tools(names: Iterable[str]) -> list[str]:
    return [n for n in names if not tool_available(n)]


def require_tool(name: str) -> None:
    """Skip the running test when `name` is missing; fail it instead when
    JPEGAUDIT_REQUIRE_ORACLES=1, so CI can never pass by skipping every oracle test."""
    import pytest

    if tool_available(name):
        return
    message = f"oracle {name!r} is not installed"
    if oracles_required():
        pytest.fail(f"{message} and {REQUIRE_ORACLES_ENV}=1")
    pytest.skip(message)
