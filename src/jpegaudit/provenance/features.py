"""What the bytes before SOS say about the software that wrote them, as one layout string.

The layout is everything structural a writer decides and an image does not: the SOF type and
precision, component ids, sampling factors and table slots; the markers in file order (APPn by
their identifier, DQT and DHT by the tables each segment holds, COM by the pattern of its text,
DRI with its interval); JFIF version, units and density; the Adobe APP14 version, flags and
transform; whether the Huffman tables are the Annex K ones; the first scan's spectral
selection and successive approximation. Left out: frame dimensions, the tables' values (they
are the settings, matched separately), Huffman table contents (optimized tables depend on the
image), EXIF/XMP/ICC contents and free comment text. docs/provenance.md lists each feature.

Pure: a `JpegHeader` in, strings out. A compiled core only has to produce the same header.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from jpegaudit.jpeg import markers as m
from jpegaudit.jpeg.header import HuffmanTable, JpegHeader

# COM text -> a class that is part of the layout (the rest of the text is not): writers that
# sign their files. Order matters: first match wins.
COMMENT_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("gd", re.compile(r"CREATOR: gd-jpeg v\d")),
    ("lavc", re.compile(r"Lav[cf]\d")),
    ("gimp", re.compile(r"Created with (The )?GIMP")),
    ("photoshop", re.compile(r"File written by Adobe Photoshop")),
    ("xv", re.compile(r"CREATOR: XV")),
    ("applemark", re.compile(r"AppleMark")),
    ("lead", re.compile(r"LEAD Technologies")),
    ("intel", re.compile(r"Intel\(R\) JPEG Library")),
    ("jpegmini", re.compile(r"Optimized by JPEGmini")),
    ("handmade", re.compile(r"Handmade Software")),
    ("imagemagick", re.compile(r"(Image|Graphics)Magick")),
)
# gd states its setting: "quality = 75", or "default quality" (75) when given -1.
GD_QUALITY = re.compile(r"quality = (\d{1,3})")
APP_IDENT_CHARS = 24  # an APPn identifier is cut to this in the layout


def comment_class(text: str | None) -> str:
    if text is None:
        return ""
    for name, pattern in COMMENT_CLASSES:
        if pattern.match(text.lstrip()):
            return name
    return "text" if text.strip() else "empty"


@lru_cache(maxsize=1024)
def is_standard(table: HuffmanTable) -> bool:
    return bytes(table.counts) + bytes(table.values) in m.STANDARD_HUFFMAN


def huffman_kind(header: JpegHeader) -> str:
    """`standard` (every table before SOS is Annex K's), `optimized`, or `none`."""
    if not header.huffman_tables:
        return "none"
    return "standard" if all(is_standard(t) for t in header.huffman_tables) else "optimized"


def _marker_tokens(header: JpegHeader) -> list[str]:
    tokens: list[str] = []
    apps = iter(header.app_segments)
    dqts = iter(header.dqt_segments)
    dhts = iter(header.dht_segments)
    comments = 0
    for code in header.marker_order:
        if code in m.APP_MARKERS:
            seg = next(apps, None)
            ident = seg.ident[:APP_IDENT_CHARS] if seg is not None else "?"
            token = f"APP{code - 0xE0}:{ident}"
        elif code == m.DQT:
            slots = next(dqts, ())
            token = "DQT(" + "".join(str(s) for s in slots) + ")"
        elif code == m.DHT:
            tables = next(dhts, ())
            token = "DHT(" + ",".join(f"{t:02x}" for t in tables) + ")"
        elif code == m.COM:
            comments += 1
            token = "COM:" + (comment_class(header.comment) if comments == 1 else "more")
        elif code == m.DRI:
            token = f"DRI:{header.restart_interval}"
        else:
            token = m.marker_name(code)
        if tokens and tokens[-1].rstrip("+") == token:
            tokens[-1] = token + "+"  # a run (ICC chunks, many COMs) is one token
        else:
            tokens.append(token)
    if header.marker_count > len(header.marker_order):
        tokens.append("...")
    return tokens


def layout(header: JpegHeader) -> str:
    """The layout string (see the module docstring); empty without a frame."""
    frame = header.frame
    if frame is None:
        return ""
    parts = [
        m.marker_name(frame.sof),
        f"p{frame.precision}",
        "ids=" + ",".join(str(c.id) for c in frame.components),
        "hv=" + ",".join(f"{c.h}x{c.v}" for c in frame.components),
        "tq=" + ",".join(str(c.tq) for c in frame.components),
        " ".join(_marker_tokens(header)),
    ]
    if header.jfif is not None:
        j = header.jfif
        parts.append(f"jfif={j.version},{j.density_unit},{j.x_density}x{j.y_density}")
    if header.adobe is not None:
        a = header.adobe
        parts.append(f"adobe={a.version},{a.flags0:04x},{a.flags1:04x},{a.transform}")
    parts.append("huffman=" + huffman_kind(header))
    scan = header.first_scan
    if scan is not None:
        n = len(header.sos_components)
        parts.append(f"scan1={n}:{scan.ss}-{scan.se},{scan.ah},{scan.al}")
    return "|".join(parts)


def short_hash(text: str) -> str:
    """16 hex digits (SHA-1): the form of `layout_hash` and `header_signature`."""
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:16]
