"""Property tests on mutated and truncated real files: the parser, the sniffer and the row builder
only ever return their own results, in bounded time, and agree with themselves however the bytes
are delivered. Seeds are files Pillow writes here (so the test runs anywhere) plus the real files
under ../shared/corpora when present. Hypothesis is derandomized: CI replays the same examples.

The longer campaign is scripts/fuzz_parser.py (docs/fuzzing.md)."""

from __future__ import annotations

import struct
from datetime import timedelta
from functools import lru_cache

import jpegbuild as jb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import CORPORA_DIR

from jpegaudit.audit import ReadLimits, audit_bytes, new_row
from jpegaudit.jpeg import JpegHeader, NeedMoreData, parse_jpeg
from jpegaudit.schema import COLUMN_NAMES
from jpegaudit.sniff import SNIFF_BYTES, sniff_format

CORPORA = CORPORA_DIR
KNOWN_FORMATS = {
    "jpeg", "png", "gif", "webp", "bmp", "tiff", "jpeg2000", "jpegxl", "heif", "avif", "pdf",
    "html", "text", "empty", "unknown",
}  # fmt: skip
SEED_WHOLE_FILE_MAX = 256 * 1024
FUZZ = settings(
    max_examples=800,
    deadline=timedelta(seconds=2),
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
pytestmark = pytest.mark.timeout(120)


def _pillow_seeds() -> list[bytes]:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "fuzz-camera"
    icc = jb.icc_profile_header(b"RGB ", size=600) + bytes(472)
    return [
        jb.pillow_jpeg(quality=75),
        jb.pillow_jpeg(mode="L", quality=20),
        jb.pillow_jpeg(mode="CMYK", quality=90),
        jb.pillow_jpeg(quality=95, subsampling="4:4:4", progressive=True),
        jb.pillow_jpeg(quality=60, optimize=True, restart_marker_blocks=2),
        jb.pillow_jpeg(quality=85, exif=exif.tobytes(), icc_profile=icc, comment=b"fuzz seed"),
        jb.pillow_jpeg(qtables=[[300 + k for k in range(64)], [2] * 64]),
    ]


def _synthetic_seeds() -> list[bytes]:
    return [
        jb.baseline(jb.jfif(), jb.dri(4), jb.com(b"c"), jb.adobe(1)),
        jb.baseline(code=0xCA, tables=((0, [400] * 64, 16), (1, [3] * 64))),
        jb.baseline(jb.app(2, b"MPF\x00"), jb.app(13, b"Photoshop 3.0\x00"), code=0xC3),
    ]


def _corpus_seed(data: bytes) -> bytes:
    """Big camera files keep their header, 4 KiB of scan data and an EOI: the parser never
    looks further, and small seeds keep the mutations near the bytes that matter."""
    if len(data) <= SEED_WHOLE_FILE_MAX:
        return data
    sos = data.find(b"\xff\xda")
    cut = (sos if sos > 0 else 0) + 4096
    return data[:cut] + b"\xff\xd9"


@lru_cache(maxsize=1)
def seeds() -> tuple[bytes, ...]:
    found = _pillow_seeds() + _synthetic_seeds()
    if CORPORA.is_dir():
        for path in sorted(CORPORA.rglob("*")):
            if path.is_file() and path.suffix.lower() in (".jpg", ".jpeg", ".mpo"):
                found.append(_corpus_seed(path.read_bytes()))
    return tuple(found)


def marker_offsets(data: bytes, limit: int = 65536) -> list[int]:
    """Offsets of FF xx pairs that look like markers with a length, in the first `limit` bytes."""
    offsets = []
    at = data.find(b"\xff", 2, limit)
    while 0 <= at < len(data) - 3:
        if 0xC0 <= data[at + 1] <= 0xFE and data[at + 1] not in (0xD8, 0xD9):
            offsets.append(at)
        at = data.find(b"\xff", at + 1, limit)
    return offsets


def apply(data: bytes, op: tuple) -> bytes:
    kind = op[0]
    header_span = min(len(data), 16384) + 1
    if kind == "flip":
        if not data:
            return data
        pos = op[1] % min(len(data), 16384)
        return data[:pos] + bytes([data[pos] ^ (1 << op[2])]) + data[pos + 1 :]
    if kind == "insert":
        pos = op[1] % header_span
        return data[:pos] + op[2] + data[pos:]
    if kind == "delete":
        pos = op[1] % header_span
        return data[:pos] + data[pos + op[2] :]
    if kind == "truncate":
        return data[: op[1] % (len(data) + 1)]
    if kind == "length":
        # Overwrite a segment's length field: the lie every header parser must survive.
        offsets = marker_offsets(data)
        if not offsets:
            return data
        at = offsets[op[1] % len(offsets)] + 2
        return data[:at] + struct.pack(">H", op[2]) + data[at + 2 :]
    if kind == "duplicate":
        offsets = marker_offsets(data)
        if not offsets:
            return data
        src = offsets[op[1] % len(offsets)]
        length = (data[src + 2] << 8) | data[src + 3]
        chunk = data[src : src + 2 + length]
        dst = offsets[op[2] % len(offsets)]
        return data[:dst] + chunk * op[3] + data[dst:]
    if kind == "drop_segment":
        offsets = marker_offsets(data)
        if not offsets:
            return data
        src = offsets[op[1] % len(offsets)]
        length = (data[src + 2] << 8) | data[src + 3]
        return data[:src] + data[src + 2 + length :]
    if kind == "sof_factors":
        # Give every component after the first the same sampling byte (Cb = Cr, like encoders).
        sof = next((o for o in marker_offsets(data) if data[o + 1] in SOF_CODES), None)
        if sof is None or sof + 10 > len(data):
            return data
        out = bytearray(data)
        for k in range(1, min(out[sof + 9], 4)):
            if sof + 11 + 3 * k < len(out):
                out[sof + 11 + 3 * k] = op[1] & 0xFF
        return bytes(out)
    if kind == "splice":
        other = seeds()[op[1] % len(seeds())]
        return data[: op[2] % header_span] + other[op[3] % (len(other) + 1) :]
    raise AssertionError(kind)


SOF_CODES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
positions = st.integers(0, 1 << 20)
interesting_bytes = st.one_of(
    st.binary(min_size=1, max_size=8),
    st.sampled_from([b"\xff", b"\xff\x00", b"\xff\xff", b"\xff\xd8", b"\xff\xd9", b"\xff\xda"]),
    st.builds(lambda c: bytes([0xFF, c]), st.integers(0xC0, 0xFE)),
)
operations = st.one_of(
    st.tuples(st.just("flip"), positions, st.integers(0, 7)),
    st.tuples(st.just("insert"), positions, interesting_bytes),
    st.tuples(st.just("delete"), positions, st.integers(1, 64)),
    st.tuples(st.just("truncate"), positions),
    st.tuples(
        st.just("length"), positions, st.sampled_from([0, 1, 2, 4, 0xFFFF]) | st.integers(0, 0xFFFF)
    ),
    st.tuples(st.just("duplicate"), positions, positions, st.integers(1, 3)),
    st.tuples(st.just("drop_segment"), positions),
    st.tuples(st.just("sof_factors"), st.integers(0, 255)),
    st.tuples(st.just("splice"), positions, positions, positions),
)


@st.composite
def mutants(draw) -> bytes:
    data = draw(st.sampled_from(seeds()))
    for op in draw(st.lists(operations, min_size=1, max_size=4)):
        data = apply(data, op)
    return data


def audit(data: bytes, limits: ReadLimits | None = None) -> dict:
    row = new_row("fuzz.jpg", "fuzz", "root", None)
    read_at = lambda offset, length: data[offset : offset + length]  # noqa: E731
    if limits is None:
        return audit_bytes(read_at, len(data), row)
    return audit_bytes(read_at, len(data), row, limits)


@FUZZ
@given(mutants())
def test_parse_jpeg_only_ever_returns_a_header(data):
    assert isinstance(parse_jpeg(data), JpegHeader)


@FUZZ
@given(mutants(), st.integers(0, 1 << 20))
def test_growing_the_read_on_need_more_data_converges_on_the_whole_file_parse(data, first):
    have = first % (len(data) + 1)
    while True:
        try:
            header = parse_jpeg(data[:have], file_size=len(data))
            break
        except NeedMoreData as more:
            assert more.upto > have
            # Grow as audit_bytes does (at least double): asking for one more byte at a time is
            # within the protocol, and quadratic for a caller that reads exactly what was asked.
            have = min(max(more.upto, 2 * have), len(data))
    assert header == parse_jpeg(data)


@FUZZ
@given(mutants())
def test_sniff_format_names_a_known_format(data):
    assert sniff_format(data[:SNIFF_BYTES]) in KNOWN_FORMATS


@FUZZ
@given(mutants())
def test_audit_bytes_always_returns_a_whole_row(data):
    row = audit(data)
    assert set(row) == set(COLUMN_NAMES)
    assert row["format"] in KNOWN_FORMATS
    if row["format"] == "jpeg":
        assert isinstance(row["truncated"], bool)
        if row["error"] is None and not row["truncated"]:
            assert row["width"] is not None and row["header_bytes"] is not None
    else:
        assert row["error"] is not None


@FUZZ
@given(mutants())
def test_row_does_not_depend_on_read_sizes_or_the_header_cache(data):
    # A first read of only the sniff window never hits the header cache and grows through
    # NeedMoreData; the default read takes the whole header at once and may be answered from the
    # cache. Same row either way.
    audit(jb.pillow_jpeg(quality=75))  # make sure the cache holds something
    small = audit(data, ReadLimits(head_bytes=SNIFF_BYTES, tail_bytes=3))
    default = audit(data)
    small.pop("read_bytes")
    default.pop("read_bytes")
    assert small == default


# ---------------------------------------------------------------------------------------------
# Truncation at every byte offset


def truncation_seed() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = 3
    icc = jb.icc_profile_header(b"RGB ", size=300) + bytes(172)
    return jb.pillow_jpeg(
        size=(40, 24), quality=80, exif=exif.tobytes(), icc_profile=icc, comment=b"every cut"
    )


def check_every_cut(data: bytes) -> None:
    assert data.endswith(b"\xff\xd9")
    whole = audit(data)
    assert whole["error"] is None and whole["truncated"] is False
    sos = parse_jpeg(data).sos_offset
    header_end = sos + 2 + ((data[sos + 2] << 8) | data[sos + 3])  # end of the SOS segment
    for cut in range(len(data)):
        part = data[:cut]
        row = audit(part)
        if cut == 0:
            assert row["error"] == "empty file", cut
        elif cut < 3:
            assert row["error"] is not None, cut  # too short to be named a JPEG
        else:
            assert row["format"] == "jpeg", cut
            assert row["truncated"] is True, cut  # every cut removes at least the EOI's last byte
            assert row["trailing_bytes"] is None, cut
        header = parse_jpeg(part)
        if cut < header_end:
            assert header.error is not None and header.truncated, cut
            with pytest.raises(NeedMoreData):
                parse_jpeg(part, file_size=len(data))
        else:
            assert header.error is None and not header.truncated, cut
            assert parse_jpeg(part, file_size=len(data)) == header, cut


def test_pillow_jpeg_truncated_at_every_offset_is_reported_truncated():
    check_every_cut(truncation_seed())


CORPUS_FILE = CORPORA / "libjpeg-turbo" / "testorig.jpg"


@pytest.mark.skipif(not CORPUS_FILE.is_file(), reason="../shared/corpora not present")
def test_libjpeg_reference_image_truncated_at_every_offset_is_reported_truncated():
    check_every_cut(CORPUS_FILE.read_bytes())


# ---------------------------------------------------------------------------------------------
# Regressions: minimal inputs for bugs found by fuzzing and by review (docs/fuzzing.md)


@pytest.mark.parametrize("odd_marker", [b"\xff\xff", b"\xff\xd0"], ids=["fill", "rst0"])
def test_header_cache_does_not_confuse_files_whose_headers_differ_after_odd_markers(odd_marker):
    # Found reading audit.py: the cache key hops segment lengths and takes fill bytes FF FF, or
    # a stray RSTn, for a marker with a length, so it ends at an "SOS" that the parser reads as
    # part of a COM. Two files equal up to there but with different tables after it shared one
    # cache entry: the second file was reported with the first file's tables.
    gray = ((1, 1, 1, 0),)
    prefix = jb.SOI + jb.dqt((0, [16] * 64)) + jb.sof(components=gray) + jb.std_dht()
    fake_sos = jb.sos([1])
    com_length = 2 + len(fake_sos) + 20
    # Parser: the odd marker, extraneous bytes, then a COM hiding fake_sos. Length hopping: a
    # 6-byte segment, then fake_sos.
    trick = odd_marker + b"\x00\x06\xff\xfe" + bytes([0, com_length]) + fake_sos + b"c" * 20
    first = prefix + trick + jb.sos([1]) + b"\x12\x34" + jb.EOI
    second = prefix + trick + jb.dqt((0, [99] * 64)) + jb.sos([1]) + b"\x12\x34" + jb.EOI
    assert parse_jpeg(second).qtables[0].values == (99,) * 64
    audit(first)
    assert audit(second)["qtables"] == ",".join(["99"] * 64)


ZERO_CHROMA_FACTORS = bytes.fromhex(
    "ffd8ffdb004300"
    + "10" * 64
    + "ffdb004301"
    + "11" * 64  # DQT 0 and 1
    + "ffc000110800100010030122000201000301 00".replace(" ", "")  # Y 2x2, Cb 0x1, Cr 0x1
    + "ffda000c03010002000300003f00"
    + "1234"
    + "ffd9"
)


def test_audit_of_a_frame_with_zero_chroma_sampling_factors_returns_a_row():
    # Found by review of describe.subsampling: the frame is kept when SOF is refused, and
    # `hmax % c.h` divided by the 0 factor (ZeroDivisionError escaped audit_bytes; `jpegaudit
    # inspect` printed a traceback; the scan recorded "internal error").
    assert parse_jpeg(ZERO_CHROMA_FACTORS).error == (
        "SOF0: bogus sampling factors 0x1 for component 2"
    )
    row = audit(ZERO_CHROMA_FACTORS)
    assert row["error"] == "SOF0: bogus sampling factors 0x1 for component 2"


SOF_WITHOUT_COMPONENTS = bytes.fromhex("ffd8" + "ffc0" + "0008" + "08" + "0010" + "0010" + "00")


def test_audit_of_a_frame_without_components_returns_a_row():
    # Found by review after the zero-factor crash: SOF with Nf = 0 is refused ("empty image")
    # but kept on the header, and describe.subsampling took max() of no components (ValueError
    # escaped audit_bytes).
    assert parse_jpeg(SOF_WITHOUT_COMPONENTS).error == "SOF0: empty image (16x16, 0 components)"
    row = audit(SOF_WITHOUT_COMPONENTS)
    assert row["error"] == "SOF0: empty image (16x16, 0 components)"
    assert row["components"] == 0


# -- scripts/fuzz_parser.py --differential: the target itself can fail ---------------------------
def test_the_differential_target_reports_a_row_the_cores_disagree_on(monkeypatch):
    """The campaign's target compares every answered row column by column: a reference row
    with one column changed is reported, with that column; the true one passes."""
    from oracles import REPO_ROOT

    from jpegaudit.sources.compiled import compiled

    if compiled is None:
        pytest.skip("the compiled core is not built")
    monkeypatch.syspath_prepend(str(REPO_ROOT / "scripts"))
    fuzz_parser = __import__("fuzz_parser")
    data = jb.baseline()
    case = {"limits": {}, "extra_size": 0, "path": "f.jpg"}
    check = fuzz_parser.make_differential_target()
    assert check.compare(data, case) == {}
    assert check.counters["answered"] == check.counters["arrow"] == 1

    import jpegaudit.audit as audit_module

    real = audit_module.audit_bytes

    def off_by_one(*args, **kwargs):
        row = real(*args, **kwargs)
        row["quality_luma"] += 1
        return row

    monkeypatch.setattr(audit_module, "audit_bytes", off_by_one)
    broken = fuzz_parser.make_differential_target()
    differ = broken.compare(data, case)
    assert set(differ) == {"quality_luma"}
    assert differ["quality_luma"][0] == differ["quality_luma"][1] + 1
