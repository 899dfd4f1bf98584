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


def _marker_tokens(
    marker_order: tuple[int, ...],
    app_idents: tuple[str, ...],
    dqt_segments: tuple[tuple[int, ...], ...],
    dht_segments: tuple[tuple[int, ...], ...],
    first_comment: str,
    restart_interval: int,
    truncated_list: bool,
) -> list[str]:
    tokens: list[str] = []
    apps = iter(app_idents)
    dqts = iter(dqt_segments)
    dhts = iter(dht_segments)
    comments = 0
    for code in marker_order:
        if code in m.APP_MARKERS:
            token = f"APP{code - 0xE0}:{next(apps, '?')[:APP_IDENT_CHARS]}"
        elif code == m.DQT:
            token = "DQT(" + "".join(str(s) for s in next(dqts, ())) + ")"
        elif code == m.DHT:
            token = "DHT(" + ",".join(f"{t:02x}" for t in next(dhts, ())) + ")"
        elif code == m.COM:
            comments += 1
            token = "COM:" + (first_comment if comments == 1 else "more")
        elif code == m.DRI:
            token = f"DRI:{restart_interval}"
        else:
            token = m.marker_name(code)
        if tokens and tokens[-1].rstrip("+") == token:
            tokens[-1] = token + "+"  # a run (ICC chunks, many COMs) is one token
        else:
            tokens.append(token)
    if truncated_list:
        tokens.append("...")
    return tokens


def layout_key(header: JpegHeader, huffman: str | None = None) -> tuple | None:
    """The features a layout is made of, as a tuple (None without a frame): what `layout`
    renders once the first comment's text (slot 7, None without one) is classed, and what
    identify.structure_of memoises on (it reads the text itself, for GD's quality).
    `huffman`: `huffman_kind(header)` when the caller has it already."""
    frame = header.frame
    if frame is None:
        return None
    j, a, scan = header.jfif, header.adobe, header.first_scan
    return (
        frame.sof,
        frame.precision,
        tuple((c.id, c.h, c.v, c.tq) for c in frame.components),
        header.marker_order,
        tuple(seg.ident for seg in header.app_segments),
        header.dqt_segments,
        header.dht_segments,
        header.comment if header.comment_count else None,
        header.restart_interval,
        header.marker_count > len(header.marker_order),
        None if j is None else (j.version, j.density_unit, j.x_density, j.y_density),
        None if a is None else (a.version, a.flags0, a.flags1, a.transform),
        huffman or huffman_kind(header),
        None if scan is None else (len(header.sos_components), *scan),
    )


def layout(header: JpegHeader, huffman: str | None = None) -> str:
    """The layout string (see the module docstring); empty without a frame."""
    key = layout_key(header, huffman)
    return "" if key is None else layout_from_key(with_comment_class(key))


def with_comment_class(key: tuple) -> tuple:
    """A `layout_key` with its first comment's text replaced by its class."""
    return (*key[:7], comment_class(key[7]), *key[8:])


def layout_from_key(key: tuple) -> str:
    """The layout string from a `layout_key` whose comment is classed (`with_comment_class`)."""
    return _layout(*key)


# Datasets repeat a few layouts: build each string once (the key is a few small tuples).
@lru_cache(maxsize=4096)
def _layout(
    sof, precision, components, marker_order, app_idents, dqt_segments, dht_segments,
    first_comment, restart_interval, truncated_list, jfif, adobe, huffman, scan,
) -> str:  # fmt: skip
    tokens = _marker_tokens(marker_order, app_idents, dqt_segments, dht_segments,
                            first_comment, restart_interval, truncated_list)  # fmt: skip
    parts = [
        m.marker_name(sof),
        f"p{precision}",
        "ids=" + ",".join(str(c[0]) for c in components),
        "hv=" + ",".join(f"{c[1]}x{c[2]}" for c in components),
        "tq=" + ",".join(str(c[3]) for c in components),
        " ".join(tokens),
    ]
    if jfif is not None:
        parts.append(f"jfif={jfif[0]},{jfif[1]},{jfif[2]}x{jfif[3]}")
    if adobe is not None:
        parts.append(f"adobe={adobe[0]},{adobe[1]:04x},{adobe[2]:04x},{adobe[3]}")
    parts.append("huffman=" + huffman)
    if scan is not None:
        parts.append(f"scan1={scan[0]}:{scan[1]}-{scan[2]},{scan[3]},{scan[4]}")
    return "|".join(parts)


@lru_cache(maxsize=8192)
def short_hash(text: str) -> str:
    """16 hex digits (SHA-1): the form of `layout_hash` and `header_signature`."""
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:16]
