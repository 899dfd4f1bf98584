# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False, nonecheck=False
"""The compiled scan core: the pure-Python core's header walk, EXIF reader, names, quality
estimate, columns and read strategy for local files, in C.

It mirrors the Python core section by section and name by name (each section below names the
module it follows, and `MIRRORS` records the exact text of those modules, so that a change to
one shows where the other must change: tests/audit/test_compiled_core.py fails until MIRRORS is
brought up to date). Its scope is the clean path: a regular file whose header the reference
core parses with no error and no warning. For anything else (a file that is not a JPEG, any
warning or error, a special file, a read that comes back short, a file that changed under the
reads) it hands the entry to the reference core (`fallback`), so every error text and every
rare rule has one source, and the rows of both cores are equal by construction there. On the
clean path the rows are equal because the code below computes the same values in the same
order (tests/audit/test_compiled_core.py, scripts/fuzz_parser.py --differential).

Every read of the header bytes is bounds-checked against the bytes read; nothing a file says
is trusted as a length or an offset before it is checked.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from cpython.unicode cimport PyUnicode_AsUTF8AndSize

cdef extern from "Python.h":
    bint PyUnicode_IS_ASCII(object o)
    bytes PyUnicode_EncodeFSDefault(object o)
from libc.math cimport INFINITY, fabs, log2, nearbyint, sqrt
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memchr, memcmp, memcpy, memset
from posix.fcntl cimport O_NONBLOCK, O_RDONLY
from posix.fcntl cimport open as c_open
from posix.stat cimport S_ISREG, fstat, struct_stat
from posix.unistd cimport close, pread

import gc
import os

CORE = "compiled"

# The Python core's modules this file mirrors, and the SHA-256 of the text it was last checked
# against (tests/audit/test_compiled_core.py recomputes them).
MIRRORS = {
    "jpeg/parser.py": "3d971837a1d665911670ab852fcc34218afad4c2f85f1b724f0921b00e58a2a5",
    "jpeg/exif.py": "39f2e60849915f31ce1a555cbd7b31ddf1f87dc309058f453fb68b7dc71716ff",
    "jpeg/describe.py": "4489230f438c9fc8b208196752092e26b8bee170a0391daa0fc6c3dffbc42489",
    "jpeg/markers.py": "9a065c54b29d0e5d58690f5aa50f133683c39a4129f697e4fab05a0fbb01b12a",
    "quality.py": "c84dde2658cf9edbbf4b8090d9ebdc2fefe7dbd56983623e971685a319da4ec3",
    "sniff.py": "e6b62ed7e2c8744304f53f6a93c3c3812a444217b5fe8fe7f8ecefcde9f8b259",
    "audit/read.py": "655a0c48c7f5f8213de120e2de4250d58a54c0f468daa945df5a07695bb3bb71",
    "audit/columns.py": "f027fec5863a8fa3ad445deba768add74de28b2acabb1b2b667f8211c7e8a802",
    "audit/limits.py": "2b4df117ab0fc96673ccc68352c89cbee112d28b00bd61df89d795f892f325ea",
    "sources/local.py": "6ab91e558bec35cb96579b2f8e1a8fea7a357319f1c4961d3097d7a679508bb5",
}

ctypedef unsigned char uchar

cdef extern from "<fcntl.h>":
    const int O_CLOEXEC
    const int O_NOFOLLOW

# Outcomes of the walk and of a file's audit.
cdef enum:
    CLEAN = 0
    NEED_MORE = 1
    FALLBACK = 2

# ---------------------------------------------------------------------------------------------
# Growable byte buffers
# ---------------------------------------------------------------------------------------------
cdef struct Buf:
    char* data
    Py_ssize_t len
    Py_ssize_t cap

cdef int buf_reserve(Buf* b, Py_ssize_t extra) except -1:
    cdef Py_ssize_t want = b.len + extra
    cdef Py_ssize_t cap
    cdef char* grown
    if want <= b.cap:
        return 0
    cap = b.cap * 2 if b.cap else 256
    while cap < want:
        cap *= 2
    grown = <char*>realloc(b.data, cap)
    if grown == NULL:
        raise MemoryError()
    b.data = grown
    b.cap = cap
    return 0

cdef inline int buf_put(Buf* b, const char* src, Py_ssize_t n) except -1:
    if n <= 0:  # nothing to copy (b.data and src may be NULL: memcpy must not see them)
        return 0
    buf_reserve(b, n)
    memcpy(b.data + b.len, src, n)
    b.len += n
    return 0

cdef inline int buf_byte(Buf* b, char c) except -1:
    if b.len + 1 > b.cap:
        buf_reserve(b, 1)
    b.data[b.len] = c
    b.len += 1
    return 0

cdef char DIGITS3[1000][4]  # "0".."999": length, then the digits
cdef bint _digits_ready = False

cdef void make_digits():
    cdef int v, n
    cdef char tmp[8]
    for v in range(1000):
        n = 0
        if v >= 100:
            tmp[n] = <char>(48 + v // 100)
            n += 1
        if v >= 10:
            tmp[n] = <char>(48 + (v // 10) % 10)
            n += 1
        tmp[n] = <char>(48 + v % 10)
        n += 1
        DIGITS3[v][0] = <char>n
        memcpy(&DIGITS3[v][1], tmp, n)

cdef inline int buf_small_uint(Buf* b, uint64_t v) except -1:
    """buf_uint, from a table for v < 1000 (table entries mostly are)."""
    if v >= 1000:
        return buf_digits(b, v)
    if b.len + 3 > b.cap:
        buf_reserve(b, 3)
    # Three bytes whatever the length (one store, not a call): those past it are overwritten.
    memcpy(b.data + b.len, &DIGITS3[v][1], 3)
    b.len += DIGITS3[v][0]
    return 0

cdef inline int buf_uint(Buf* b, uint64_t v) except -1:
    """Decimal digits of v, as str(v)."""
    return buf_small_uint(b, v)

cdef int buf_digits(Buf* b, uint64_t v) except -1:
    """Decimal digits of v, as str(v)."""
    cdef char tmp[24]
    cdef int n = 0
    if v == 0:
        return buf_byte(b, b'0')
    while v:
        tmp[n] = <char>(48 + v % 10)
        v //= 10
        n += 1
    buf_reserve(b, n)
    while n:
        n -= 1
        b.data[b.len] = tmp[n]
        b.len += 1
    return 0

cdef void* zeroed(void* table, size_t count, size_t size) except NULL:
    """A cache's `count` slots of `size` bytes, all zero: allocated by the first configure(),
    cleared by a later one (whatever the slots held is the caller's to release first)."""
    if table == NULL:
        table = calloc(count, size)
        if table == NULL:
            raise MemoryError()
    else:
        memset(table, 0, count * size)
    return table

cdef inline void buf_free(Buf* b):
    free(b.data)
    b.data = NULL
    b.len = b.cap = 0

cdef int buf_latin1_as_utf8(Buf* b, const uchar* s, Py_ssize_t n) except -1:
    """bytes.decode("latin-1") as UTF-8."""
    cdef Py_ssize_t i
    buf_reserve(b, 2 * n)
    for i in range(n):
        if s[i] < 0x80:
            b.data[b.len] = <char>s[i]
            b.len += 1
        else:
            b.data[b.len] = <char>(0xC0 | (s[i] >> 6))
            b.data[b.len + 1] = <char>(0x80 | (s[i] & 0x3F))
            b.len += 2
    return 0


# ---------------------------------------------------------------------------------------------
# mirrors sniff.py: extension_of, is_ext_mismatch (content already known to be JPEG)
# ---------------------------------------------------------------------------------------------
# Extensions that name another format than JPEG (sniff.EXTENSION_FORMATS), set by configure().
cdef set _NOT_JPEG_EXTENSIONS = set()

cdef inline bint is_ascii_upper(uchar c):
    return 65 <= c <= 90

DEF EXT_MAX = 64

cdef bint is_ext_mismatch(const char* ext, Py_ssize_t n) except -1:
    """is_ext_mismatch(ext, "jpeg"): the extension names another known format."""
    return n > 0 and ext[:n] in _NOT_JPEG_EXTENSIONS

cdef object extension_of(str path, const char* s, Py_ssize_t n, char* out, Py_ssize_t* out_len):
    """The lower-cased extension of `path` (sniff.extension_of; `s`: its n bytes of UTF-8)
    into `out` (at most EXT_MAX bytes of ASCII); returns None when it fits, else the Python
    core's answer as a str (for a non-ASCII or long extension)."""
    cdef Py_ssize_t name_start, dot = -1, i = n - 1
    cdef uchar c
    # From the end: the last dot of the name, which starts after the last "/" or "\\".
    while i >= 0:
        c = <uchar>s[i]
        if c == 47 or c == 92:
            break
        if c == 46 and dot < 0:
            dot = i
        i -= 1
    name_start = i + 1
    if dot < 0 or dot == name_start:  # no dot, or no stem before it
        out_len[0] = 0
        return None
    if n - dot - 1 > EXT_MAX:
        from jpegaudit.sniff import extension_of as py_extension_of
        return py_extension_of(path)
    for i in range(dot + 1, n):
        c = <uchar>s[i]
        if c >= 0x80:  # str.lower() of non-ASCII: the reference decides
            from jpegaudit.sniff import extension_of as py_extension_of
            return py_extension_of(path)
        out[i - dot - 1] = <char>(c + 32 if is_ascii_upper(c) else c)
    out_len[0] = n - dot - 1
    return None


# ---------------------------------------------------------------------------------------------
# mirrors jpeg/markers.py
# ---------------------------------------------------------------------------------------------
cdef enum:
    SOI = 0xD8
    EOI = 0xD9
    SOS = 0xDA
    DQT = 0xDB
    DNL = 0xDC
    DRI = 0xDD
    DHP = 0xDE
    EXP = 0xDF
    DHT = 0xC4
    JPG = 0xC8
    DAC = 0xCC
    COM = 0xFE
    SOF55 = 0xF7

cdef uint8_t ZIGZAG[64]
cdef uint8_t NATURAL_TO_ZIGZAG[64]
_zigzag = (
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34,
    27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
)
# The Annex K.3 Huffman tables as DHT payloads after Tc/Th (markers.STANDARD_HUFFMAN).
cdef bytes _STANDARD_HUFFMAN_BLOB = b""
cdef Py_ssize_t _STANDARD_HUFFMAN_LEN[4]
cdef const uchar* _STANDARD_HUFFMAN_AT[4]

cdef inline bint is_sof(int code):
    return 0xC0 <= code <= 0xCF and code != DHT and code != JPG and code != DAC

cdef inline bint is_lossless(int sof):
    return sof == 0xC3 or sof == 0xC7 or sof == 0xCB or sof == 0xCF or sof == SOF55

cdef const char* process(int sof):
    """markers.PROCESS_BY_SOF"""
    if sof == 0xC0:
        return "baseline"
    if sof == 0xC1 or sof == 0xC9:
        return "extended"
    if sof == 0xC2 or sof == 0xCA:
        return "progressive"
    if sof == 0xC3 or sof == 0xCB:
        return "lossless"
    if sof == 0xC5 or sof == 0xCD:
        return "differential-sequential"
    if sof == 0xC6 or sof == 0xCE:
        return "differential-progressive"
    if sof == 0xC7 or sof == 0xCF:
        return "differential-lossless"
    if sof == SOF55:
        return "jpeg-ls"
    return "unknown"


# ---------------------------------------------------------------------------------------------
# mirrors jpeg/header.py (the fields the columns use)
# ---------------------------------------------------------------------------------------------
DEF MAX_COMPONENTS = 255
DEF MAX_RECORDED_APP_SEGMENTS = 64
DEF MAX_RECORDED_MARKERS = 64
DEF HUFFMAN_TABLES_MAX = 32767  # audit/columns.py HUFFMAN_TABLES_MAX (the int16 column)
DEF MAX_SEGMENT_ITEMS = 1024  # table slots over the recorded DQT (DHT) segments; more: FALLBACK
DEF MAX_IMAGE_RESOURCES = 1024
DEF APP_PEEK_BYTES = 160
DEF COMMENT_MAX_CHARS = 200
DEF MAX_SEGMENTS = 262144
DEF IDENT_MAX = 40
DEF MAX_IFD_ENTRIES = 512
DEF STRING_MAX_CHARS = 100

cdef struct Component:
    int id
    int h
    int v
    int tq

cdef struct QuantTable:
    bint defined
    int bits
    uint16_t values[64]

cdef struct AppSegment:
    int marker
    Py_ssize_t ident_at  # offset of the identifier in the header bytes
    int ident_len

cdef struct ExifText:
    Py_ssize_t at  # the raw value's offset in the header bytes, -1: none (never empty)
    Py_ssize_t n
    bint ascii  # up to its first NUL: then start..stop is exif_string's answer, else Python's
    Py_ssize_t start, stop

cdef struct Exif:
    bint present
    int orientation  # 0: none
    ExifText make, model, software

cdef struct Header:
    # Scalars first, zeroed for every parse; the arrays after `comps` are written before they
    # are read (up to their counts), so they are never cleared (8 KB a file).
    # frame
    bint has_frame
    int sof
    int precision
    int height
    int width
    int ncomp
    QuantTable qtables[4]
    int huffman_tables
    bint huffman_all_standard
    int restart_interval
    # JFIF
    bint jfif
    int jfif_major, jfif_minor, density_unit, x_density, y_density
    # Adobe APP14
    bint adobe
    int adobe_transform
    Exif exif
    bint xmp
    int icc_chunks
    int64_t icc_bytes
    bint icc_colorspace_known  # a chunk with seq 1 was seen (first one decides)
    Py_ssize_t icc_colorspace_at  # -1: that chunk had no colorspace
    bint mpf
    bint photoshop
    bint has_comment
    Py_ssize_t comment_at
    Py_ssize_t comment_len
    int app_count
    int app_recorded
    Py_ssize_t sos_offset
    Py_ssize_t need_upto
    # the layout provenance reads (JpegHeader.marker_order, dqt_segments, dht_segments, ...)
    int marker_count
    int dqt_segments  # recorded (the first MAX_RECORDED_MARKERS)
    int dqt_items
    int dht_segments
    int dht_items
    int comment_count
    int adobe_version, adobe_flags0, adobe_flags1
    bint has_scan
    int scan_count, scan_ss, scan_se, scan_ah, scan_al
    int photoshop_quality  # -1: none
    int ducky_quality  # -1: none
    # arrays (not cleared)
    Component comps[MAX_COMPONENTS]
    AppSegment apps[MAX_RECORDED_APP_SEGMENTS]
    uint8_t marker_codes[MAX_RECORDED_MARKERS]
    uint8_t dqt_segment_len[MAX_RECORDED_MARKERS]
    uint8_t dqt_item[MAX_SEGMENT_ITEMS]
    uint8_t dht_segment_len[MAX_RECORDED_MARKERS]
    uint8_t dht_item[MAX_SEGMENT_ITEMS]


# ---------------------------------------------------------------------------------------------
# mirrors jpeg/exif.py: parse_exif (the clean path; any warning is a FALLBACK)
# ---------------------------------------------------------------------------------------------
cdef inline uint32_t uint(const uchar* t, Py_ssize_t pos, int size, bint little):
    cdef uint32_t v = 0
    cdef int k
    if little:
        for k in range(size - 1, -1, -1):
            v = (v << 8) | t[pos + k]
    else:
        for k in range(size):
            v = (v << 8) | t[pos + k]
    return v

cdef inline int type_size(uint32_t typ):
    """exif._TYPE_SIZES"""
    if typ == 1 or typ == 2 or typ == 6 or typ == 7:
        return 1
    if typ == 3 or typ == 8:
        return 2
    if typ == 4 or typ == 9:
        return 4
    return 0

cdef int parse_exif(const uchar* data, Py_ssize_t tiff_at, Py_ssize_t tiff_end, Exif* e):
    """The TIFF structure after `Exif\\0\\0` at data[tiff_at:tiff_end]: IFD0's orientation,
    make, model and software. CLEAN, or FALLBACK where the reference would warn."""
    cdef const uchar* t = data + tiff_at
    cdef Py_ssize_t n = tiff_end - tiff_at
    cdef bint little
    cdef uint32_t ifd, count, k, tag, typ, cnt, offset
    cdef Py_ssize_t entry, value_at
    cdef int64_t size, value
    cdef ExifText text
    e.present = True
    e.orientation = 0
    e.make.at = e.model.at = e.software.at = -1
    if n < 8 or not ((t[0] == 73 and t[1] == 73) or (t[0] == 77 and t[1] == 77)):
        return FALLBACK  # "Exif: bad TIFF header"
    little = t[0] == 73
    ifd = uint(t, 4, 4, little)
    if <int64_t>ifd + 2 > n:
        return FALLBACK  # "Exif: IFD0 offset out of range"
    count = uint(t, ifd, 2, little)
    if count > MAX_IFD_ENTRIES:
        return FALLBACK  # "Exif: IFD0 claims ... entries"
    for k in range(count):
        entry = ifd + 2 + 12 * k
        if entry + 12 > n:
            return FALLBACK  # "Exif: IFD0 runs past the segment"
        tag = uint(t, entry, 2, little)
        if tag != 0x0112 and tag != 0x010F and tag != 0x0110 and tag != 0x0131:
            continue
        typ = uint(t, entry + 2, 2, little)
        cnt = uint(t, entry + 4, 4, little)
        offset = uint(t, entry + 8, 4, little)
        size = <int64_t>type_size(typ) * cnt
        value_at = entry + 8 if size <= 4 else offset
        if size == 0 or value_at + size > n:
            return FALLBACK  # "Exif: tag ... value out of range"
        if tag == 0x0112 and (typ == 1 or typ == 3 or typ == 4 or typ == 6 or typ == 8
                              or typ == 9):
            value = uint(t, value_at, type_size(typ), little)
            if typ == 6 and value >= 0x80:
                value -= 0x100
            elif typ == 8 and value >= 0x8000:
                value -= 0x10000
            elif typ == 9 and value >= 0x80000000:
                value -= 0x100000000
            if 1 <= value <= 8:
                e.orientation = <int>value
            else:
                return FALLBACK  # "Exif: orientation ... outside 1..8"
        elif tag != 0x0112 and (typ == 1 or typ == 2 or typ == 7):
            if size > 4 * STRING_MAX_CHARS:
                size = 4 * STRING_MAX_CHARS
            if not exif_text(data, tiff_at + value_at, size, &text):
                continue  # `if text:` an empty value keeps an earlier entry's
            if tag == 0x010F:
                e.make = text
            elif tag == 0x0110:
                e.model = text
            else:
                e.software = text
    return CLEAN


cdef inline bint is_py_space(uchar c):
    """str.isspace() for a latin-1 or ASCII character."""
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31 or c == 0x85 or c == 0xA0

cdef bint ascii_exif_span(const uchar* data, Py_ssize_t at, Py_ssize_t n, Py_ssize_t* start,
                          Py_ssize_t* stop):
    """exif_string's answer as a span of the header bytes when the value is ASCII (the usual
    case: then no Python string is needed); False when it is not (the reference decides)."""
    cdef Py_ssize_t end = 0
    cdef uchar c, high = 0
    while end < n:
        c = data[at + end]
        if c == 0:
            break
        high |= c
        end += 1
    if high >= 0x80:
        return False
    start[0], stop[0] = at, at + end
    while start[0] < stop[0] and is_py_space(data[start[0]]):
        start[0] += 1
    while stop[0] > start[0] and is_py_space(data[stop[0] - 1]):
        stop[0] -= 1
    if stop[0] - start[0] > STRING_MAX_CHARS:
        stop[0] = start[0] + STRING_MAX_CHARS
    return True

cdef bint exif_text(const uchar* data, Py_ssize_t at, Py_ssize_t n, ExifText* t) except -1:
    """An IFD0 string value as the walker records it (its span, once: every column and key
    reads that); False when exif_string gives None (an empty value)."""
    t.at, t.n = at, n
    t.ascii = ascii_exif_span(data, at, n, &t.start, &t.stop)
    if t.ascii:
        return t.stop > t.start
    return exif_string(data, at, n) is not None

cdef object exif_string(const uchar* data, Py_ssize_t at, Py_ssize_t n):
    """exif.exif_string: the value up to its first NUL, decoded as UTF-8 (errors replaced),
    stripped, at most STRING_MAX_CHARS characters; None when empty."""
    cdef Py_ssize_t start, stop
    if not ascii_exif_span(data, at, n, &start, &stop):
        from jpegaudit.jpeg import exif as py_exif
        text = py_exif.exif_string(PyBytes_FromStringAndSize(<const char*>data + at, n))
        return text or None
    if stop == start:
        return None
    return (<const char*>data + start)[: stop - start].decode("ascii")


# ---------------------------------------------------------------------------------------------
# mirrors jpeg/parser.py: the walker, on the clean path
# ---------------------------------------------------------------------------------------------
cdef struct Walker:
    const uchar* data
    Py_ssize_t len
    bint complete
    Header* h

cdef inline int need(Walker* w, Py_ssize_t upto):
    """_Walker.need: CLEAN when data[:upto] is there; NEED_MORE (recording upto) when the file
    is longer; FALLBACK (the reference's truncated-header error) otherwise."""
    if upto <= w.len:
        return CLEAN
    if not w.complete:
        w.h.need_upto = upto
        return NEED_MORE
    return FALLBACK

cdef inline int u16(Walker* w, Py_ssize_t pos):
    return (w.data[pos] << 8) | w.data[pos + 1]

cdef int next_marker(Walker* w, Py_ssize_t* pos, int* code):
    """_Walker.next_marker: fill bytes are free; any discarded byte is a warning (FALLBACK)."""
    cdef int r
    r = need(w, pos[0] + 1)
    if r != CLEAN:
        return r
    if w.data[pos[0]] != 0xFF:
        return FALLBACK  # "N extraneous bytes before marker"
    pos[0] += 1
    r = need(w, pos[0] + 1)
    if r != CLEAN:
        return r
    while w.data[pos[0]] == 0xFF:
        pos[0] += 1
        r = need(w, pos[0] + 1)
        if r != CLEAN:
            return r
    code[0] = w.data[pos[0]]
    if code[0] == 0:
        return FALLBACK  # FF00 outside entropy-coded data: extraneous bytes
    return CLEAN

cdef int segment(Walker* w, Py_ssize_t pos, Py_ssize_t* start, Py_ssize_t* end):
    cdef int r = need(w, pos + 2)
    cdef int length
    if r != CLEAN:
        return r
    length = u16(w, pos)
    if length < 2:
        return FALLBACK  # "length N is shorter than its own length field"
    start[0] = pos + 2
    end[0] = pos + length
    return CLEAN

cdef int read_sof(Walker* w, int code, Py_ssize_t at, Py_ssize_t pos, Py_ssize_t* nxt):
    cdef Py_ssize_t start, end, i
    cdef int r, count, k
    cdef Header* h = w.h
    r = segment(w, pos, &start, &end)
    if r != CLEAN:
        return r
    r = need(w, end)
    if r != CLEAN:
        return r
    if h.has_frame or end - start < 6:
        return FALLBACK
    count = w.data[start + 5]
    if end - start != 6 + 3 * count:
        return FALLBACK
    if code == SOF55 or count == 0:
        return FALLBACK
    h.has_frame = True
    h.sof = code
    h.precision = w.data[start]
    h.height = u16(w, start + 1)
    h.width = u16(w, start + 3)
    if h.width == 0 or h.height == 0:
        return FALLBACK
    h.ncomp = count
    for k in range(count):
        i = start + 6 + 3 * k
        h.comps[k].id = w.data[i]
        h.comps[k].h = w.data[i + 1] >> 4
        h.comps[k].v = w.data[i + 1] & 0x0F
        h.comps[k].tq = w.data[i + 2]
        if not (1 <= h.comps[k].h <= 4 and 1 <= h.comps[k].v <= 4) or h.comps[k].tq > 3:
            return FALLBACK
    nxt[0] = end
    return CLEAN

cdef int read_dqt(Walker* w, int code, Py_ssize_t at, Py_ssize_t pos, Py_ssize_t* nxt):
    cdef Py_ssize_t start, end
    cdef int r
    r = segment(w, pos, &start, &end)
    if r != CLEAN:
        return r
    r = need(w, end)
    if r != CLEAN:
        return r
    r = decode_dqt(w.data, start, end, w.h)
    if r != CLEAN:
        return r
    nxt[0] = end
    return CLEAN

cdef int decode_dqt(const uchar* data, Py_ssize_t i, Py_ssize_t end, Header* h):
    """_decode_dqt on the clean path: whole tables, slots 0..3, no zero entry; records the
    slots of the segment (_dqt_result) while the first MAX_RECORDED_MARKERS are recorded."""
    cdef int precision, slot, width, k, value, tables = 0
    cdef bint zero
    cdef QuantTable* t
    cdef QuantTable* qtables = h.qtables
    cdef bint record = h.dqt_segments < MAX_RECORDED_MARKERS
    while i < end:
        precision = data[i] >> 4
        slot = data[i] & 0x0F
        if slot > 3:
            return FALLBACK
        width = 2 if precision else 1
        i += 1
        if (end - i) // width < 64:
            return FALLBACK  # "table N has only K of 64 entries"
        if record:
            if h.dqt_items >= MAX_SEGMENT_ITEMS or tables >= 255:
                return FALLBACK
            h.dqt_item[h.dqt_items] = slot
            h.dqt_items += 1
            tables += 1
        t = &qtables[slot]
        t.defined = True
        t.bits = 16 if precision else 8
        zero = False
        if width == 1:  # _read_entries, zig-zag to natural order
            for k in range(64):
                t.values[ZIGZAG[k]] = data[i + k]
            zero = memchr(data + i, 0, 64) != NULL
        else:
            for k in range(64):
                value = (data[i + 2 * k] << 8) | data[i + 2 * k + 1]
                zero |= value == 0
                t.values[ZIGZAG[k]] = <uint16_t>value
        if zero:
            return FALLBACK  # "table N has a zero entry" (a warning)
        i += 64 * width
    if i != end:
        return FALLBACK
    if record:
        h.dqt_segment_len[h.dqt_segments] = tables
        h.dqt_segments += 1
    return CLEAN

cdef bint is_standard_huffman(const uchar* table, Py_ssize_t n):
    """audit.columns.is_standard_huffman: counts + values equal to one of Annex K's tables."""
    cdef int k
    for k in range(4):
        if n == _STANDARD_HUFFMAN_LEN[k] and memcmp(table, _STANDARD_HUFFMAN_AT[k], n) == 0:
            return True
    return False

cdef int read_dht(Walker* w, int code, Py_ssize_t at, Py_ssize_t pos, Py_ssize_t* nxt):
    cdef Py_ssize_t start, end
    cdef int r
    r = segment(w, pos, &start, &end)
    if r != CLEAN:
        return r
    r = need(w, end)
    if r != CLEAN:
        return r
    r = decode_dht(w.data, start, end, w.h)
    if r != CLEAN:
        return r
    nxt[0] = end
    return CLEAN

cdef int decode_dht(const uchar* data, Py_ssize_t i, Py_ssize_t end, Header* h):
    """_decode_dht on the clean path; counts the tables and whether all are Annex K's, and
    records Tc << 4 | Th of each (_dht_result) while segments are recorded."""
    cdef int k, total, tables = 0
    cdef bint record = h.dht_segments < MAX_RECORDED_MARKERS
    while i < end:
        if i + 17 > end:
            return FALLBACK
        if (data[i] & ~0x10) > 3:
            return FALLBACK
        total = 0
        for k in range(1, 17):
            total += data[i + k]
        if total > 256 or i + 17 + total > end:
            return FALLBACK
        h.huffman_tables += 1
        if h.huffman_tables > HUFFMAN_TABLES_MAX:
            return FALLBACK  # more than the int16 column holds: the reference clamps and warns
        if record:
            if h.dht_items >= MAX_SEGMENT_ITEMS or tables >= 255:
                return FALLBACK
            h.dht_item[h.dht_items] = data[i]  # Tc << 4 | Th, Th <= 3 checked above
            h.dht_items += 1
            tables += 1
        if h.huffman_all_standard and not is_standard_huffman(data + i + 1, 16 + total):
            h.huffman_all_standard = False
        i += 17 + total
    if record:
        h.dht_segment_len[h.dht_segments] = tables
        h.dht_segments += 1
    return CLEAN

cdef inline int identifier(const uchar* peek, Py_ssize_t n):
    """_identifier: the length of the printable ASCII run the payload starts with."""
    cdef int k = 0
    while k < n and k < IDENT_MAX and 0x20 <= peek[k] < 0x7F:
        k += 1
    return k

cdef inline bint starts(const uchar* peek, Py_ssize_t n, const char* prefix, Py_ssize_t k):
    return n >= k and memcmp(peek, prefix, k) == 0

cdef int read_app(Walker* w, int code, Py_ssize_t at, Py_ssize_t pos, Py_ssize_t* nxt):
    cdef Py_ssize_t start, end, peek_end, n, ident
    cdef const uchar* peek
    cdef int r
    cdef Header* h = w.h
    r = segment(w, pos, &start, &end)
    if r != CLEAN:
        return r
    peek_end = end if end < start + APP_PEEK_BYTES else start + APP_PEEK_BYTES
    r = need(w, peek_end)
    if r != CLEAN:
        return r
    peek = w.data + start
    n = peek_end - start
    h.app_count += 1
    if h.app_recorded < MAX_RECORDED_APP_SEGMENTS:
        h.apps[h.app_recorded].marker = code
        h.apps[h.app_recorded].ident_at = start
        h.apps[h.app_recorded].ident_len = identifier(peek, n)
        h.app_recorded += 1
    # APP_HANDLERS: the first prefix that matches is read.
    if code == 0xE0:
        if starts(peek, n, b"JFIF\x00", 5):
            read_jfif(w, peek, n)
    elif code == 0xE1:
        if starts(peek, n, b"Exif\x00", 5):
            r = read_exif(w, start, end)
            if r != CLEAN:
                return r
        elif starts(peek, n, b"http://ns.adobe.com/x", 21):
            mark_xmp(h)
    elif code == 0xE2:
        if starts(peek, n, b"ICC_PROFILE\x00", 12):
            read_icc(w, peek, n, start, end)
        elif starts(peek, n, b"MPF\x00", 4):
            mark_mpf(h)
    elif code == 0xEC:
        if starts(peek, n, b"Ducky", 5):
            read_ducky(h, peek, n)
    elif code == 0xED:
        if starts(peek, n, b"Photoshop 3.0\x00", 14):
            r = mark_photoshop(w, start, end)
            if r != CLEAN:
                return r
    elif code == 0xEE:
        if starts(peek, n, b"Adobe", 5):
            read_adobe(w, peek, n)
    nxt[0] = end
    return CLEAN

cdef inline void mark_xmp(Header* h):
    h.xmp = True

cdef inline void mark_mpf(Header* h):
    h.mpf = True

cdef int mark_photoshop(Walker* w, Py_ssize_t start, Py_ssize_t end):
    cdef int r
    w.h.photoshop = True
    if w.h.photoshop_quality < 0:
        r = need(w, end)
        if r != CLEAN:
            return r
        w.h.photoshop_quality = photoshop_jpeg_quality(w.data, start + 14, end)
    return CLEAN

cdef int photoshop_jpeg_quality(const uchar* d, Py_ssize_t pos, Py_ssize_t end):
    """_photoshop_jpeg_quality: image resource 0x0406's first int16 + 4 (0..12), or -1."""
    cdef int k, ident, name_len, level
    cdef int64_t size
    for k in range(MAX_IMAGE_RESOURCES):
        if pos + 8 > end or memcmp(d + pos, b"8BIM", 4) != 0:
            return -1
        ident = (d[pos + 4] << 8) | d[pos + 5]
        name_len = d[pos + 6]
        pos += 6 + ((name_len + 2) & ~1)
        if pos + 4 > end:
            return -1
        size = (<int64_t>d[pos] << 24) | (d[pos + 1] << 16) | (d[pos + 2] << 8) | d[pos + 3]
        pos += 4
        if ident == 0x0406:
            if size < 2 or pos + 2 > end:
                return -1
            level = <int16_t>((d[pos] << 8) | d[pos + 1]) + 4
            return level if 0 <= level <= 12 else -1
        pos += size + (size & 1)
    return -1

cdef void read_ducky(Header* h, const uchar* peek, Py_ssize_t n):
    """_Walker.read_ducky: tag 1 (length 4) of the fields after "Ducky", up to a tag 0."""
    cdef Py_ssize_t pos = 5
    cdef int tag, size
    cdef uint32_t value
    while pos + 4 <= n and h.ducky_quality < 0:
        tag = (peek[pos] << 8) | peek[pos + 1]
        size = (peek[pos + 2] << 8) | peek[pos + 3]
        if tag == 0:
            break
        if tag == 1 and size == 4 and pos + 8 <= n:
            value = ((<uint32_t>peek[pos + 4] << 24) | (peek[pos + 5] << 16)
                     | (peek[pos + 6] << 8) | peek[pos + 7])
            if value <= 100:
                h.ducky_quality = value
        pos += 4 + size

cdef void read_jfif(Walker* w, const uchar* peek, Py_ssize_t n):
    cdef Header* h = w.h
    if n >= 14 and not h.jfif:
        h.jfif = True
        h.jfif_major = peek[5]
        h.jfif_minor = peek[6]
        h.density_unit = peek[7]
        h.x_density = (peek[8] << 8) | peek[9]
        h.y_density = (peek[10] << 8) | peek[11]

cdef int read_exif(Walker* w, Py_ssize_t start, Py_ssize_t end):
    cdef int r
    if w.h.exif.present:
        return CLEAN
    r = need(w, end)
    if r != CLEAN:
        return r
    return parse_exif(w.data, start + 6, end, &w.h.exif)

cdef void read_icc(Walker* w, const uchar* peek, Py_ssize_t n, Py_ssize_t start, Py_ssize_t end):
    cdef Header* h = w.h
    if n < 14:
        return
    h.icc_chunks += 1
    h.icc_bytes += end - start - 14
    if peek[12] == 1 and not h.icc_colorspace_known:
        h.icc_colorspace_known = True
        h.icc_colorspace_at = start + 30 if n - 14 >= 20 else -1

cdef void read_adobe(Walker* w, const uchar* peek, Py_ssize_t n):
    # libjpeg examine_app14 needs the whole 12-byte body; a shorter one is ignored.
    if n >= 12 and not w.h.adobe:
        w.h.adobe = True
        w.h.adobe_transform = peek[11]
        w.h.adobe_version = (peek[5] << 8) | peek[6]
        w.h.adobe_flags0 = (peek[7] << 8) | peek[8]
        w.h.adobe_flags1 = (peek[9] << 8) | peek[10]

cdef int read_sos(Walker* w, Py_ssize_t at, Py_ssize_t pos):
    cdef Py_ssize_t start, end
    cdef int r, count
    r = segment(w, pos, &start, &end)
    if r != CLEAN:
        return r
    r = need(w, end)
    if r != CLEAN:
        return r
    w.h.sos_offset = at
    if not w.h.has_frame or end - start < 1:
        return FALLBACK
    count = w.data[start]
    if end - start != 4 + 2 * count or count == 0:
        return FALLBACK
    start += 1 + 2 * count
    w.h.has_scan = True
    w.h.scan_count = count
    w.h.scan_ss = w.data[start]
    w.h.scan_se = w.data[start + 1]
    w.h.scan_ah = w.data[start + 2] >> 4
    w.h.scan_al = w.data[start + 2] & 0x0F
    return CLEAN

cdef int read_dri(Walker* w, Py_ssize_t pos, Py_ssize_t* nxt):
    cdef Py_ssize_t start, end
    cdef int r = segment(w, pos, &start, &end)
    if r != CLEAN:
        return r
    if end - start != 2:
        return FALLBACK
    r = need(w, end)
    if r != CLEAN:
        return r
    w.h.restart_interval = u16(w, start)
    nxt[0] = end
    return CLEAN

cdef int read_com(Walker* w, Py_ssize_t pos, Py_ssize_t* nxt):
    cdef Py_ssize_t start, end, stop
    cdef int r = segment(w, pos, &start, &end)
    if r != CLEAN:
        return r
    stop = end if end < start + COMMENT_MAX_CHARS else start + COMMENT_MAX_CHARS
    r = need(w, stop)
    if r != CLEAN:
        return r
    w.h.comment_count += 1
    if not w.h.has_comment:
        w.h.has_comment = True
        while stop > start and w.data[stop - 1] == 0:  # rstrip("\x00")
            stop -= 1
        w.h.comment_at = start
        w.h.comment_len = stop - start
    nxt[0] = end
    return CLEAN

cdef int skip_segment(Walker* w, Py_ssize_t pos, Py_ssize_t* nxt):
    cdef Py_ssize_t start, end
    cdef int r = segment(w, pos, &start, &end)
    if r != CLEAN:
        return r
    nxt[0] = end
    return CLEAN

cdef int dispatch(Walker* w, int code, Py_ssize_t at, Py_ssize_t pos, Py_ssize_t* nxt):
    """MARKER_HANDLERS; -1 in nxt once the first SOS has been read. RSTn/TEM outside scans (a
    warning), SOI, EOI and unknown markers (errors) are FALLBACK."""
    cdef int r
    cdef Header* h = w.h
    if h.marker_count < MAX_RECORDED_MARKERS:
        h.marker_codes[h.marker_count] = code
    h.marker_count += 1
    if is_sof(code) or code == SOF55:
        return read_sof(w, code, at, pos, nxt)
    if code == DQT:
        return read_dqt(w, code, at, pos, nxt)
    if code == DHT:
        return read_dht(w, code, at, pos, nxt)
    if 0xE0 <= code <= 0xEF:
        return read_app(w, code, at, pos, nxt)
    if code == SOS:
        r = read_sos(w, at, pos)
        nxt[0] = -1
        return r
    if code == DRI:
        return read_dri(w, pos, nxt)
    if code == COM:
        return read_com(w, pos, nxt)
    if code == DAC or code == DNL or code == DHP or code == EXP:
        return skip_segment(w, pos, nxt)
    return FALLBACK

cdef int parse_jpeg(const uchar* data, Py_ssize_t n, Py_ssize_t file_size, Header* h):
    """parse_jpeg on the clean path: CLEAN (h filled), NEED_MORE (h.need_upto) or FALLBACK."""
    cdef Walker w
    cdef Py_ssize_t pos = 2, nxt
    cdef int code = 0, r, k
    memset(h, 0, <size_t>(<char*>&h.comps[0] - <char*>h))  # the scalars
    h.huffman_all_standard = True
    h.icc_colorspace_at = -1
    h.photoshop_quality = -1
    h.ducky_quality = -1
    w.data = data
    w.len = n
    w.complete = file_size <= n
    w.h = h
    r = need(&w, 2)
    if r != CLEAN:
        return r
    if data[0] != 0xFF or data[1] != SOI:
        return FALLBACK
    for k in range(MAX_SEGMENTS):
        r = next_marker(&w, &pos, &code)
        if r != CLEAN:
            return r
        nxt = 0
        r = dispatch(&w, code, pos - 1, pos + 1, &nxt)
        if r != CLEAN:
            return r
        if nxt < 0:
            return CLEAN
        pos = nxt
    return FALLBACK  # "more than N markers before the first SOS"


# ---------------------------------------------------------------------------------------------
# mirrors quality.py
# ---------------------------------------------------------------------------------------------
cdef uint16_t LUMA_BASE[64]
cdef uint16_t CHROMA_BASE[64]
# Rows as quality._reference_tables: the 16-bit variant for q 1..100, then the baseline.
cdef uint16_t REFERENCE[2][200][64]
# The distinct rows (a row equal to an earlier one has the same error and can never be the
# first argmin), in row order: their index, their entries' log2, and the mean of those.
DEF LOG2_SMALL_MAX = 4096
cdef double LOG2_SMALL[LOG2_SMALL_MAX]  # log2(max(v, 1)), by the same log2(), for v < 4096
cdef uint64_t REFERENCE_HASH[2][200]  # key_hash of each row: equal tables, equal hashes
cdef int UNIQUE_ROWS[2][200]
cdef int UNIQUE_COUNT[2]
cdef double LOG_REFERENCE[2][200][64]
cdef double MEAN_LOG[2][200]
DEF CLOSE_RELATIVE = 0.05
# The distinct rows ordered by their mean log (ties by row order): the nearest search starts at
# the mean nearest the table's and walks outward, stopping on each side at the first row the
# mean bound rules out (every row beyond it is further still).
cdef int BY_MEAN[2][200]  # distinct-row indices (into LOG_REFERENCE, MEAN_LOG), means ascending
cdef double SORTED_MEAN[2][200]
# max(1, round(CLOSE_RELATIVE * entry)) of each reference entry, as match_table counts "close"
cdef int TOLERANCE[2][200][64]
# Exact matches by hash: every distinct reference table once, with the qualities whose 16-bit or
# baseline table it is (lo, hi and how many), in an open-addressed table of its key_hash.
DEF EXACT_SLOTS = 512  # a power of two, over twice the 200 rows
cdef struct ExactMatch:
    int row  # a reference row with these values; -1: an empty slot
    uint64_t hash
    int lo, hi, ncandidates
cdef ExactMatch EXACT[2][EXACT_SLOTS]

cdef int ijg_scale(int quality):
    if quality < 1:
        quality = 1
    if quality > 100:
        quality = 100
    return 5000 // quality if quality < 50 else 200 - 2 * quality

cdef void ijg_table(int quality, int kind, bint force_baseline, uint16_t* out):
    cdef int scale = ijg_scale(quality)
    cdef int top = 255 if force_baseline else 32767
    cdef int k, v
    cdef uint16_t* base = &LUMA_BASE[0]
    if kind != 0:
        base = &CHROMA_BASE[0]
    for k in range(64):
        v = (base[k] * scale + 50) // 100
        if v < 1:
            v = 1
        if v > top:
            v = top
        out[k] = <uint16_t>v

cdef struct TableQuality:
    int quality
    bint exact
    int ncandidates
    int lo, hi  # smallest and largest candidate (exact only)
    bint has_quality  # `quality` is among the candidates (always, when exact)
    double sq_log_error
    int close_entries

cdef inline double row_error(const double* reference, const double* observed, double stop_above):
    """The sum of (reference - observed)^2 over the 64 entries in order, as the reference core
    sums it; a partial sum above `stop_above` is returned as soon as it is reached (that row
    cannot be the least)."""
    cdef double e = 0.0, d
    cdef int k
    for k in range(64):
        d = reference[k] - observed[k]
        e = e + d * d
        if e > stop_above:
            return e
    return e

cdef void order_by_mean(int kind):
    """BY_MEAN and SORTED_MEAN of the distinct rows (an insertion sort, once, of 200 rows)."""
    cdef int i, j, u
    for i in range(UNIQUE_COUNT[kind]):
        j = i
        while j > 0 and MEAN_LOG[kind][BY_MEAN[kind][j - 1]] > MEAN_LOG[kind][i]:
            BY_MEAN[kind][j] = BY_MEAN[kind][j - 1]
            j -= 1
        BY_MEAN[kind][j] = i
    for i in range(UNIQUE_COUNT[kind]):
        u = BY_MEAN[kind][i]
        SORTED_MEAN[kind][i] = MEAN_LOG[kind][u]

cdef void index_exact_matches(int kind):
    """EXACT: each distinct reference table once, with its candidate qualities: q is one when
    the table is q's 16-bit or baseline table (so q counts once when it is both)."""
    cdef int r, q, slot, other
    cdef uint64_t hv
    for slot in range(EXACT_SLOTS):
        EXACT[kind][slot].row = -1
    for r in range(200):
        hv = REFERENCE_HASH[kind][r]
        slot = <int>(hv & (EXACT_SLOTS - 1))
        while EXACT[kind][slot].row >= 0 and not (
                EXACT[kind][slot].hash == hv
                and memcmp(REFERENCE[kind][EXACT[kind][slot].row], REFERENCE[kind][r], 128) == 0):
            slot = (slot + 1) & (EXACT_SLOTS - 1)
        if EXACT[kind][slot].row >= 0:
            continue  # an earlier row has these values: its entry already counts every q
        EXACT[kind][slot].row = r
        EXACT[kind][slot].hash = hv
        EXACT[kind][slot].ncandidates = 0
        for q in range(100):
            other = -1
            if memcmp(REFERENCE[kind][q], REFERENCE[kind][r], 128) == 0:
                other = q
            elif memcmp(REFERENCE[kind][100 + q], REFERENCE[kind][r], 128) == 0:
                other = 100 + q
            if other < 0:
                continue
            if EXACT[kind][slot].ncandidates == 0:
                EXACT[kind][slot].lo = q + 1
            EXACT[kind][slot].hi = q + 1
            EXACT[kind][slot].ncandidates += 1

cdef inline bint try_row(int kind, int at, double mean, const double* observed,
                         double* best_e, int* best_u) noexcept:
    """The row at position `at` of the rows ordered by mean: False when the mean bound rules
    it out (and every row beyond it on that side); else its error taken if it is the least so
    far (or as least, and earlier in row order)."""
    cdef double distance = SORTED_MEAN[kind][at] - mean, e
    cdef int u
    if 64 * distance * distance > best_e[0] * (1 + 1e-6) + 1e-9:
        return False
    u = BY_MEAN[kind][at]
    e = row_error(LOG_REFERENCE[kind][u], observed, best_e[0])
    if e < best_e[0] or (e == best_e[0] and u < best_u[0]):
        best_e[0] = e
        best_u[0] = u
    return True

cdef void match_table(const uint16_t* values, int kind, TableQuality* out):
    """match_table: exact IJG match (every candidate quality), else the least-squares nearest
    quality in the log domain, summed entry by entry as the reference does."""
    cdef int k, best
    cdef double observed[64]
    cdef int diff
    cdef uint64_t hv = key_hash(<const uchar*>values, 128)
    cdef int slot = <int>(hv & (EXACT_SLOTS - 1))
    cdef ExactMatch* match
    out.ncandidates = 0
    while EXACT[kind][slot].row >= 0:  # every candidate quality at once (see configure)
        match = &EXACT[kind][slot]
        if match.hash == hv and memcmp(values, REFERENCE[kind][match.row], 128) == 0:
            out.lo = match.lo
            out.hi = match.hi
            out.ncandidates = match.ncandidates
            out.quality = out.lo
            out.exact = True
            out.sq_log_error = 0.0
            out.close_entries = 64
            return
        slot = (slot + 1) & (EXACT_SLOTS - 1)
    cdef int count = UNIQUE_COUNT[kind], best_u, lo_at, hi_at, mid
    cdef double mean = 0.0, best_e
    cdef bint left_open, right_open
    cdef const int* tolerance
    cdef const uint16_t* reference
    for k in range(64):
        if values[k] < LOG2_SMALL_MAX:
            observed[k] = LOG2_SMALL[values[k]]
        else:
            observed[k] = log2(<double>values[k])
        mean = mean + observed[k]
    mean = mean / 64
    # The reference sums every row in full and takes the first least. Here: start from a row
    # whose mean log is nearest, then walk outward through the rows ordered by mean, skipping
    # every row whose error cannot be below the best found (Cauchy-Schwarz: sum of d^2 >=
    # (sum of d)^2 / 64 = 64 (mean difference)^2, with a margin far above rounding): on each
    # side the first such row ends the walk, as the rows beyond it are further from the mean. A
    # row's sum also stops once it exceeds the best. No row that could be least is skipped and
    # each one's error is its full sum, so the least error and its row (the first in row order
    # among equal errors) come out exactly as the full search gives them, whatever the start.
    lo_at = 0
    hi_at = count - 1
    while hi_at - lo_at > 1:  # the last position whose mean is <= the table's, or 0
        mid = (lo_at + hi_at) // 2
        if SORTED_MEAN[kind][mid] <= mean:
            lo_at = mid
        else:
            hi_at = mid
    if hi_at > lo_at and fabs(SORTED_MEAN[kind][hi_at] - mean) < fabs(
            SORTED_MEAN[kind][lo_at] - mean):
        lo_at = hi_at
    best_u = BY_MEAN[kind][lo_at]
    best_e = row_error(LOG_REFERENCE[kind][best_u], observed, INFINITY)
    hi_at = lo_at + 1
    lo_at = lo_at - 1
    left_open = lo_at >= 0
    right_open = hi_at < count
    while left_open or right_open:
        if left_open:
            left_open = try_row(kind, lo_at, mean, observed, &best_e, &best_u) and lo_at > 0
            lo_at -= 1
        if right_open:
            right_open = (try_row(kind, hi_at, mean, observed, &best_e, &best_u)
                          and hi_at < count - 1)
            hi_at += 1
    best = UNIQUE_ROWS[kind][best_u]
    out.quality = best % 100 + 1
    out.exact = False
    out.sq_log_error = best_e
    out.close_entries = 0
    tolerance = TOLERANCE[kind][best]
    reference = REFERENCE[kind][best]
    for k in range(64):
        diff = <int>values[k] - <int>reference[k]
        if diff < 0:
            diff = -diff
        if diff <= tolerance[k]:
            out.close_entries += 1


# ---------------------------------------------------------------------------------------------
# SHA-1 (quality.fingerprint hashes the qtables text with hashlib.sha1)
# ---------------------------------------------------------------------------------------------
cdef inline uint32_t rol(uint32_t x, int n):
    return (x << n) | (x >> (32 - n))

cdef void sha1_block(uint32_t* hh, const uchar* block):
    cdef uint32_t wv[80]
    cdef uint32_t a, b, c, d, e, f, k, temp
    cdef int i
    for i in range(16):
        wv[i] = ((<uint32_t>block[4 * i] << 24) | (<uint32_t>block[4 * i + 1] << 16)
                 | (<uint32_t>block[4 * i + 2] << 8) | <uint32_t>block[4 * i + 3])
    for i in range(16, 80):
        wv[i] = rol(wv[i - 3] ^ wv[i - 8] ^ wv[i - 14] ^ wv[i - 16], 1)
    a, b, c, d, e = hh[0], hh[1], hh[2], hh[3], hh[4]
    for i in range(80):
        if i < 20:
            f = (b & c) | ((~b) & d)
            k = 0x5A827999
        elif i < 40:
            f = b ^ c ^ d
            k = 0x6ED9EBA1
        elif i < 60:
            f = (b & c) | (b & d) | (c & d)
            k = 0x8F1BBCDC
        else:
            f = b ^ c ^ d
            k = 0xCA62C1D6
        temp = rol(a, 5) + f + e + k + wv[i]
        e = d
        d = c
        c = rol(b, 30)
        b = a
        a = temp
    hh[0] += a
    hh[1] += b
    hh[2] += c
    hh[3] += d
    hh[4] += e

ctypedef uchar* (*sha1_function)(const uchar* d, size_t n, uchar* md) noexcept nogil
ctypedef int (*sha1_init_function)(void* ctx) noexcept nogil
ctypedef int (*sha1_update_function)(void* ctx, const void* d, size_t n) noexcept nogil
ctypedef int (*sha1_final_function)(uchar* md, void* ctx) noexcept nogil
# The C library's SHA1 (OpenSSL's libcrypto, which hashlib also uses), when configure() was
# given it: it uses the CPU's SHA instructions. Else the plain implementation below. Its
# SHA1_Init/Update/Final when given them: OpenSSL 3's one-call SHA1() goes through EVP (an
# algorithm fetch under a lock, a context allocated and cleansed), 230 ns of a 370 ns digest
# of a 200-byte text; the three steps on a context here skip it.
cdef sha1_function _library_sha1 = NULL
cdef sha1_init_function _sha1_init = NULL
cdef sha1_update_function _sha1_update = NULL
cdef sha1_final_function _sha1_final = NULL
# OpenSSL's SHA_CTX is 96 bytes (five state words, two length words, 16 data words, a count):
# room for it, aligned for its words.
ctypedef struct Sha1Context:
    uint64_t words[32]

cdef void fingerprint(const char* msg, Py_ssize_t n, char* out):
    """quality.fingerprint: the first 16 hex digits of SHA-1(msg)."""
    cdef uchar digest[20]
    cdef Sha1Context context
    cdef int k
    if _sha1_init != NULL:
        _sha1_init(&context)
        _sha1_update(&context, msg, n)
        _sha1_final(digest, &context)
    elif _library_sha1 != NULL:
        _library_sha1(<const uchar*>msg, n, digest)
    if _sha1_init != NULL or _library_sha1 != NULL:
        for k in range(8):
            out[2 * k] = b"0123456789abcdef"[digest[k] >> 4]
            out[2 * k + 1] = b"0123456789abcdef"[digest[k] & 0xF]
        return
    sha1_plain(msg, n, out)

cdef void sha1_plain(const char* msg, Py_ssize_t n, char* out):
    """SHA-1 by the book (FIPS 180-4), for where no library SHA1 was found."""
    cdef uint32_t hh[5]
    cdef uchar block[64]
    cdef Py_ssize_t i = 0, rest
    cdef uint64_t bits = <uint64_t>n * 8
    cdef int k
    hh[0], hh[1], hh[2], hh[3], hh[4] = 0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0
    while n - i >= 64:
        sha1_block(hh, <const uchar*>msg + i)
        i += 64
    rest = n - i
    memset(block, 0, 64)
    memcpy(block, msg + i, rest)
    block[rest] = 0x80
    if rest >= 56:
        sha1_block(hh, block)
        memset(block, 0, 64)
    for k in range(8):
        block[63 - k] = <uchar>(bits >> (8 * k))
    sha1_block(hh, block)
    for k in range(8):
        out[2 * k] = b"0123456789abcdef"[(hh[k // 4] >> (28 - 8 * (k % 4))) & 0xF]
        out[2 * k + 1] = b"0123456789abcdef"[(hh[k // 4] >> (24 - 8 * (k % 4))) & 0xF]


def sha1_prefix(bytes message, str how="configured"):
    """The compiled SHA-1's first 16 hex digits, as configured, or by the "one-call" library
    SHA1 or the "plain" built-in one (tests compare each with hashlib)."""
    global _sha1_init
    cdef char out[16]
    cdef sha1_init_function init = _sha1_init
    if how == "plain":
        sha1_plain(PyBytes_AS_STRING(message), PyBytes_GET_SIZE(message), out)
    elif how == "one-call":
        if _library_sha1 == NULL:
            raise ValueError("no library SHA1 configured")
        _sha1_init = NULL
        fingerprint(PyBytes_AS_STRING(message), PyBytes_GET_SIZE(message), out)
        _sha1_init = init
    else:
        fingerprint(PyBytes_AS_STRING(message), PyBytes_GET_SIZE(message), out)
    return out[:16].decode("ascii")


def sha1_implementation():
    """Which SHA-1 fingerprint uses: "steps" (libcrypto's SHA1_Init/Update/Final),
    "one-call" (its SHA1) or "plain" (the built-in one)."""
    if _sha1_init != NULL:
        return "steps"
    return "one-call" if _library_sha1 != NULL else "plain"


# ---------------------------------------------------------------------------------------------
# mirrors audit/columns.py (quality columns) and quality.estimate_quality, format_tables
# ---------------------------------------------------------------------------------------------
cdef struct FrameQuality:
    bint set  # a frame with quantization: every field below is meaningful
    int qtable_bits
    int quality_luma
    bint has_chroma
    int quality_chroma
    bint has_range
    int range_lo, range_hi
    bint exact
    double fit_error
    double closeness
    Py_ssize_t text_at, text_len  # the qtables text, in the row's text buffer
    char hash16[16]

# _frame_quality_columns is memoised per distinct table set: so is this (direct-mapped).
DEF QCACHE_SLOTS = 1024
DEF QKEY_MAX = 4 * 129  # at most 4 distinct tables (slots 0..3): bits + 64 values each
DEF QTEXT_MAX = 4 * 64 * 6

cdef struct QEntry:
    bint used
    uint64_t hash
    int key_len
    uchar key[QKEY_MAX]
    FrameQuality fq  # text_at is 0: the text is `text`
    int text_len
    char text[QTEXT_MAX]

cdef QEntry* _qcache = NULL
# Beside the entries (2 KiB each), their keys' hashes, and the hash last seen missing per slot:
# a lookup that misses reads only these (16 KiB in all, where the entries are 2 MiB), and a
# table set is stored on its second miss in a slot, so files whose tables no other file has
# (most of a real dataset's nudged or non-IJG tables) do not each copy 2 KiB into the cache.
cdef uint64_t _qcache_hash[QCACHE_SLOTS]  # of the entry in the slot (meaningful when used)
cdef uint64_t _qcache_missed[QCACHE_SLOTS]

cdef inline uint64_t key_hash(const uchar* s, Py_ssize_t n):
    """A 64-bit hash of a cache key, eight bytes at a time (only picks a slot: hits are
    confirmed by comparing the whole key)."""
    cdef uint64_t hv = 14695981039346656037ULL, word
    cdef Py_ssize_t i = 0
    while i + 8 <= n:
        memcpy(&word, s + i, 8)
        hv = (hv ^ word) * 1099511628211ULL
        hv ^= hv >> 29
        i += 8
    while i < n:
        hv = (hv ^ s[i]) * 1099511628211ULL
        i += 1
    return hv

cdef inline uint64_t wide_hash(const uchar* s, Py_ssize_t n) noexcept:
    """key_hash's kind of hash on four lanes, 32 bytes a round: a provenance key (about 150
    bytes) is a chain of five multiplies a lane instead of one of twenty. Only picks a slot."""
    cdef uint64_t h0 = 14695981039346656037ULL, h1 = 0x9E3779B97F4A7C15ULL
    cdef uint64_t h2 = 0xC2B2AE3D27D4EB4FULL, h3 = 0x165667B19E3779F9ULL, word
    cdef Py_ssize_t i = 0
    while i + 32 <= n:
        memcpy(&word, s + i, 8)
        h0 = (h0 ^ word) * 1099511628211ULL
        memcpy(&word, s + i + 8, 8)
        h1 = (h1 ^ word) * 1099511628211ULL
        memcpy(&word, s + i + 16, 8)
        h2 = (h2 ^ word) * 1099511628211ULL
        memcpy(&word, s + i + 24, 8)
        h3 = (h3 ^ word) * 1099511628211ULL
        h0 ^= h0 >> 29
        h1 ^= h1 >> 29
        h2 ^= h2 >> 29
        h3 ^= h3 >> 29
        i += 32
    h0 ^= (h1 << 16 | h1 >> 48) ^ (h2 << 32 | h2 >> 32) ^ (h3 << 48 | h3 >> 16)
    h0 ^= key_hash(s + i, n - i)
    h0 ^= h0 >> 32
    h0 *= 0x9E3779B97F4A7C15ULL
    return h0 ^ (h0 >> 29)


cdef int frame_quality_columns(Header* h, Buf* text, FrameQuality* fq) except -1:
    """_fill_quality_columns + _frame_quality_columns + quality_columns for a clean frame with
    quantization (the caller checked that every slot used is defined)."""
    cdef int luma_slot = h.comps[0].tq
    cdef int slots[4]
    cdef int ntables = 1, i, j, slot
    cdef bint distinct
    cdef uchar key[QKEY_MAX]
    cdef int key_len = 0
    cdef uint64_t hv
    cdef QEntry* entry
    slots[0] = luma_slot
    for i in range(1, h.ncomp):
        slot = h.comps[i].tq
        if slot == luma_slot:
            continue
        distinct = True
        for j in range(1, ntables):
            if memcmp(h.qtables[slots[j]].values, h.qtables[slot].values, 128) == 0:
                distinct = False
                break
        if distinct:
            slots[ntables] = slot
            ntables += 1
    for i in range(ntables):
        key[key_len] = <uchar>h.qtables[slots[i]].bits
        memcpy(key + key_len + 1, h.qtables[slots[i]].values, 128)
        key_len += 129
    hv = key_hash(key, key_len)
    slot = <int>(hv % QCACHE_SLOTS)
    entry = &_qcache[slot]
    if _qcache_hash[slot] == hv and entry.used and entry.key_len == key_len and memcmp(
        entry.key, key, key_len
    ) == 0:
        fq[0] = entry.fq
        fq.text_at = text.len
        buf_put(text, entry.text, entry.text_len)
        return 0
    quality_columns(h, slots, ntables, text, fq)
    if _qcache_missed[slot] != hv:
        _qcache_missed[slot] = hv  # stored if it misses here again
    elif fq.text_len <= QTEXT_MAX:
        _qcache_hash[slot] = hv
        entry.used = True
        entry.hash = hv
        entry.key_len = key_len
        memcpy(entry.key, key, key_len)
        entry.fq = fq[0]
        entry.fq.text_at = 0
        entry.text_len = <int>fq.text_len
        memcpy(entry.text, text.data + fq.text_at, fq.text_len)
    return 0

cdef int quality_columns(Header* h, int* slots, int ntables, Buf* text,
                         FrameQuality* fq) except -1:
    """quality_columns: the estimate, the qtables text and its fingerprint."""
    estimate_quality(h, slots, ntables, fq)
    fq.text_at = text.len
    format_tables(h, slots, ntables, text)
    fq.text_len = text.len - fq.text_at
    fingerprint(text.data + fq.text_at, fq.text_len, fq.hash16)
    return 0

cdef void estimate_quality(Header* h, int* slots, int ntables, FrameQuality* fq):
    cdef int i
    cdef TableQuality fits[4]
    cdef double sq_sum = 0.0
    cdef int close_sum = 0
    fq.set = True
    fq.qtable_bits = 8
    for i in range(ntables):
        if h.qtables[slots[i]].bits > fq.qtable_bits:
            fq.qtable_bits = h.qtables[slots[i]].bits
        match_table(h.qtables[slots[i]].values, 0 if i == 0 else 1, &fits[i])
    fq.quality_luma = fits[0].quality
    fq.has_chroma = ntables > 1
    fq.has_range = False
    if ntables > 1:
        fq.quality_chroma = fits[1].quality
        if fits[1].exact and fits[1].ncandidates > 1:
            fq.has_range = True
            fq.range_lo = fits[1].lo
            fq.range_hi = fits[1].hi
            # luma's quality if it is one of the chroma table's candidates, else the highest
            fq.quality_chroma = (fits[0].quality if is_candidate(h.qtables[slots[1]].values, 1,
                                                                 fits[0].quality)
                                 else fits[1].hi)
    fq.exact = True
    for i in range(ntables):
        if not fits[i].exact:
            fq.exact = False
        sq_sum = sq_sum + fits[i].sq_log_error
        close_sum += fits[i].close_entries
    fq.fit_error = sqrt(sq_sum / (64 * ntables))
    fq.closeness = <double>close_sum / (64 * ntables)

cdef int format_tables(Header* h, int* slots, int ntables, Buf* text) except -1:
    """64 comma-separated values per table, tables joined by "/"."""
    cdef int i, j
    cdef unsigned int v
    cdef char* at
    cdef const uint16_t* values
    # Room for the longest text first (five digits and a separator per value), then written
    # through a local pointer without a bounds check per value (buf_small_uint and buf_byte
    # per value cost no-repeat 0.3-0.5 us a file): three digits from DIGITS3 always copied
    # (its entries are four bytes), the pointer moved by the value's own length.
    if ntables == 0:
        return 0
    buf_reserve(text, ntables * 64 * 6)
    at = text.data + text.len
    for i in range(ntables):
        values = h.qtables[slots[i]].values
        for j in range(64):
            v = values[j]
            if v < 1000:
                memcpy(at, &DIGITS3[v][1], 3)
                at += DIGITS3[v][0]
            else:  # a 16-bit table's: in the room reserved, by buf_digits
                text.len = at - text.data
                buf_digits(text, v)
                at = text.data + text.len
            at[0] = b','
            at += 1
        (at - 1)[0] = b'/'  # the last value's separator: "/" between tables, dropped after
    text.len = (at - 1) - text.data
    return 0

cdef bint is_candidate(const uint16_t* values, int kind, int quality):
    if quality < 1 or quality > 100:
        return False
    return (memcmp(values, REFERENCE[kind][quality - 1], 128) == 0
            or memcmp(values, REFERENCE[kind][100 + quality - 1], 128) == 0)


# ---------------------------------------------------------------------------------------------
# mirrors jpeg/describe.py
# ---------------------------------------------------------------------------------------------
cdef const char* color_model(Header* h):
    cdef int n = h.ncomp
    if n == 1:
        return "gray"
    if n == 3:
        if h.jfif:
            return "ycbcr"
        if h.adobe:
            return "rgb" if h.adobe_transform == 0 else "ycbcr"
        if h.comps[0].id == 82 and h.comps[1].id == 71 and h.comps[2].id == 66:
            return "rgb"
        return "ycbcr"
    if n == 4:
        if h.adobe:
            return "cmyk" if h.adobe_transform == 0 else "ycck"
        return "cmyk"
    return "unknown"

cdef int sampling_factors(Header* h, Buf* text) except -1:
    cdef int i
    for i in range(h.ncomp):
        if i:
            buf_byte(text, b',')
        buf_uint(text, h.comps[i].h)
        buf_byte(text, b'x')
        buf_uint(text, h.comps[i].v)
    return 0

cdef inline bint is_arithmetic(int sof):
    return sof >= 0xC9 and sof != SOF55

cdef inline bint is_progressive(int sof):
    return sof == 0xC2 or sof == 0xC6 or sof == 0xCA or sof == 0xCE

cdef const char* scheme_name(int rh, int rv):
    """describe.SUBSAMPLING_SCHEMES"""
    if rh == 1 and rv == 1:
        return "4:4:4"
    if rh == 2 and rv == 1:
        return "4:2:2"
    if rh == 2 and rv == 2:
        return "4:2:0"
    if rh == 1 and rv == 2:
        return "4:4:0"
    if rh == 4 and rv == 1:
        return "4:1:1"
    if rh == 4 and rv == 2:
        return "4:1:0"
    if rh == 1 and rv == 4:
        return "4:4:1"
    return NULL

cdef const char* subsampling(Header* h, bint* differ):
    """describe.subsampling for a clean frame (factors 1..4): the scheme name, or NULL for the
    raw factor string (the caller writes sampling_factors)."""
    cdef int n = h.ncomp, i, hmax = 0, vmax = 0
    cdef int chroma_first = 1, chroma_end
    cdef bint all_same = True
    cdef Component* c
    differ[0] = False
    if n == 1:
        return "gray"
    chroma_end = 3 if (n == 3 or n == 4) else n
    for i in range(chroma_first + 1, chroma_end):
        if h.comps[i].h != h.comps[chroma_first].h or h.comps[i].v != h.comps[chroma_first].v:
            differ[0] = True
    for i in range(1, n):
        if h.comps[i].h != h.comps[0].h or h.comps[i].v != h.comps[0].v:
            all_same = False
    if all_same:
        return "4:4:4"
    for i in range(n):
        if h.comps[i].h > hmax:
            hmax = h.comps[i].h
        if h.comps[i].v > vmax:
            vmax = h.comps[i].v
    if differ[0] or h.comps[0].h != hmax or h.comps[0].v != vmax or n > 4:
        return NULL
    if n == 4 and (h.comps[3].h != hmax or h.comps[3].v != vmax):
        return NULL
    c = &h.comps[1]
    if hmax % c.h or vmax % c.v:
        return NULL
    return scheme_name(hmax // c.h, vmax // c.v)


# ---------------------------------------------------------------------------------------------
# A row of the store (audit/columns.py fill_header_columns, audit/read.py, sources/local.py)
# ---------------------------------------------------------------------------------------------
cdef struct Row:
    int64_t bytes
    bint has_mtime  # False for an in-memory file (audit_buffer)
    int64_t mtime_ns
    int64_t read_bytes
    bint truncated
    bint has_trailing
    int64_t trailing_bytes
    bint tail_checked
    Header* h
    FrameQuality fq
    const char* color
    const char* subsampling  # NULL: the raw factor string (sampling_factors)
    bint chroma_differ
    # text buffer offsets of the strings built for this row
    Py_ssize_t factors_at, factors_len
    Py_ssize_t ids_at, ids_len
    Py_ssize_t slots_at, slots_len
    Py_ssize_t apps_at, apps_len
    Py_ssize_t comment_at, comment_len
    Py_ssize_t colorspace_at, colorspace_len
    Py_ssize_t version_at, version_len
    bint has_colorspace

cdef int fill_header_columns(Row* row, const uchar* data, Buf* text) except -1:
    """Everything fill_header_columns sets, as values and text spans (data: the header bytes)."""
    cdef Header* h = row.h
    cdef int i, k, more
    cdef Py_ssize_t a, b
    cdef const char* name
    # app_markers
    row.apps_at = text.len
    for i in range(h.app_recorded):
        if i:
            buf_byte(text, b',')
        buf_put(text, b"APP", 3)
        buf_uint(text, h.apps[i].marker - 0xE0)
        if h.apps[i].ident_len:
            buf_byte(text, b':')
            buf_put(text, <const char*>data + h.apps[i].ident_at, h.apps[i].ident_len)
    if h.app_count > h.app_recorded:
        buf_put(text, b",... (", 6)
        buf_uint(text, h.app_count - h.app_recorded)
        buf_put(text, b" more)", 6)
    row.apps_len = text.len - row.apps_at
    if h.jfif:
        row.version_at = text.len
        buf_uint(text, h.jfif_major)
        buf_byte(text, b'.')
        if h.jfif_minor < 10:
            buf_byte(text, b'0')
        buf_uint(text, h.jfif_minor)
        row.version_len = text.len - row.version_at
    row.has_colorspace = False
    if h.icc_colorspace_known and h.icc_colorspace_at >= 0:
        # header[16:20].decode("latin-1").strip() or None
        a = h.icc_colorspace_at
        b = a + 4
        while a < b and is_py_space(data[a]):
            a += 1
        while b > a and is_py_space(data[b - 1]):
            b -= 1
        if b > a:
            row.has_colorspace = True
            row.colorspace_at = text.len
            buf_latin1_as_utf8(text, data + a, b - a)
            row.colorspace_len = text.len - row.colorspace_at
    if h.has_comment:
        row.comment_at = text.len
        buf_latin1_as_utf8(text, data + h.comment_at, h.comment_len)
        row.comment_len = text.len - row.comment_at
    # frame
    row.ids_at = text.len
    for i in range(h.ncomp):
        if i:
            buf_byte(text, b',')
        buf_uint(text, h.comps[i].id)
    row.ids_len = text.len - row.ids_at
    row.color = color_model(h)
    row.factors_at = text.len
    sampling_factors(h, text)
    row.factors_len = text.len - row.factors_at
    row.subsampling = subsampling(h, &row.chroma_differ)
    row.slots_at = text.len
    for i in range(h.ncomp):
        if i:
            buf_byte(text, b',')
        buf_uint(text, h.comps[i].tq)
    row.slots_len = text.len - row.slots_at
    row.fq.set = False
    if not is_lossless(h.sof):
        frame_quality_columns(h, text, &row.fq)
    return 0


# ---------------------------------------------------------------------------------------------
# The provenance columns: not mirrored but called. jpegaudit.provenance is the one source (the
# Python core calls it too, audit/columns.py identify); this core hands it the same features
# and remembers its answer per distinct feature bytes, so that a file costs a key and a dict
# lookup.
# ---------------------------------------------------------------------------------------------
# provenance.identify's structure_from_features and verdict_for, and the tables hashes its
# database holds (configure): a verdict reads a tables hash only to look it up, so any other
# hash is judged as UNRECORDED (identify.judged_tables_hash) and files whose tables are each
# their own still share one verdict; each file's header_signature is its own (signature_of).
cdef object _provenance_structure = None
cdef object _provenance_template = None  # identify.template_row
cdef object _camera_family = None  # catalog.camera_family
cdef object _software_family = None  # catalog.software_family
cdef dict _maker_cache = {}  # a Make value's raw bytes -> its maker family (or None)
cdef dict _soft_cache = {}  # a Software value's raw bytes -> its software family (or None)
cdef str _UNRECORDED = "-"
cdef dict _structure_cache = {}  # feature bytes without the EXIF strings -> the Structure

# The verdicts, per feature bytes with the EXIF families (direct-mapped; a slot holds its key's
# hash and a VTemplate: one malloc'd block with the key and the template's values as C data,
# which emit_row writes without reading a Python object). A key is the features, the software
# family, whether a Make is there and a tag: 0 for a verdict that reads no maker family (kept
# once for every maker: identify.Template.reads_maker), 1 followed by the maker family for one
# that does (and then its tag-0 key holds a VTemplate that says so, to look further).
DEF VCACHE_SLOTS = 32768

cdef struct DetailPart:
    int code  # -1: text; else identify's NAMED, SOFTWARE, NOTE or NOTE_IF_MAKE
    const char* text  # a str's UTF-8 (the template tuple holds the str)
    Py_ssize_t len

cdef struct VTemplate:
    Py_ssize_t key_len
    char* key  # in the block, after the parts
    PyObject* template  # identify.template_row's tuple: a reference, which keeps the texts alive
    const char* encoder  # NULL: null
    Py_ssize_t encoder_len
    bint has_quality
    int64_t quality
    const char* confidence  # NULL: "exact" or "family" by the Model (confidence_of)
    Py_ssize_t confidence_len
    const char* layout_hash
    Py_ssize_t layout_hash_len
    Py_ssize_t nparts
    DetailPart* parts  # in the block, after this struct
    bint reads_maker  # a tag-0 key's: look again with the maker family

cdef struct VEntry:
    uint64_t hash
    VTemplate* template

cdef VEntry* _vcache = NULL

# header_signature per distinct SHA-1 input (direct-mapped; key_len 0: an empty slot, as no
# input is empty: it holds three separators).
DEF SCACHE_SLOTS = 4096
DEF SKEY_MAX = 240

cdef struct SEntry:
    uint64_t hash
    int key_len
    char key[SKEY_MAX]
    char signature[16]

cdef SEntry* _scache = NULL
# As _qcache: beside the entries (272 bytes each, 1.1 MB), their keys' hashes and the hash last
# seen missing per slot (64 KiB in all). A lookup that misses reads only these, and an input is
# stored on its second miss in a slot: files whose tables no other file has (no-repeat: every
# file) give inputs that never come back, and each of them cost a cache miss on its slot and a
# 272-byte store.
cdef uint64_t _scache_hash[SCACHE_SLOTS]  # of the entry in the slot (meaningful when key_len)
cdef uint64_t _scache_missed[SCACHE_SLOTS]

# The maker and software family of an EXIF value's raw bytes up to FKEY_MAX of them, in C
# (direct-mapped, one table per kind; longer values go to the dicts): family_of.
DEF FCACHE_SLOTS = 1024
DEF FKEY_MAX = 64

cdef struct FEntry:
    uint64_t hash
    Py_ssize_t key_len
    char key[FKEY_MAX]
    PyObject* family  # a reference (None included); NULL: an empty slot
    const char* name  # the family's UTF-8 (NULL: None), which `family` keeps alive
    Py_ssize_t name_len

cdef FEntry* _fcache = NULL  # 2 * FCACHE_SLOTS: makers, then software

cdef void clear_family_cache():
    cdef int k
    for k in range(2 * FCACHE_SLOTS):
        Py_XDECREF(_fcache[k].family)
        _fcache[k].family = NULL

# The database's tables hashes, 16 hex digits each, as an open-addressing set of
# _known_tables_slots (a power of two, at least twice the count; an empty slot is zeros, which
# no hex digit is): is_known_tables.
cdef char* _known_tables = NULL
cdef Py_ssize_t _known_tables_slots = 0

cdef inline Py_ssize_t known_tables_slot(const char* hash16):
    cdef uint64_t word
    memcpy(&word, hash16, 8)
    return <Py_ssize_t>((word * 0x9E3779B97F4A7C15ULL) >> 40) & (_known_tables_slots - 1)

cdef bint is_known_tables(const char* hash16):
    cdef Py_ssize_t k = known_tables_slot(hash16)
    while _known_tables[16 * k] != 0:
        if memcmp(_known_tables + 16 * k, hash16, 16) == 0:
            return True
        k = (k + 1) & (_known_tables_slots - 1)
    return False
cdef Buf _provenance_key  # the key of the row being emitted (reused: one buffer per process)
DEF PROVENANCE_CACHE_MAX = 8192

cdef inline int buf_u16(Buf* b, int v) except -1:
    cdef char two[2]
    two[0] = <char>((v >> 8) & 0xFF)
    two[1] = <char>(v & 0xFF)
    return buf_put(b, two, 2)

cdef str huffman_kind(Header* h):
    if not h.huffman_tables:
        return "none"
    return "standard" if h.huffman_all_standard else "optimized"

cdef inline void key_u16(Buf* b, int v) noexcept:
    """Two bytes into a key with room for them (provenance_of reserves its bound)."""
    b.data[b.len] = <char>((v >> 8) & 0xFF)
    b.data[b.len + 1] = <char>(v & 0xFF)
    b.len += 2

cdef inline void key_byte(Buf* b, int v) noexcept:
    b.data[b.len] = <char>v
    b.len += 1

cdef inline void key_put(Buf* b, const char* s, Py_ssize_t n) noexcept:
    if n > 0:
        memcpy(b.data + b.len, s, n)
        b.len += n

cdef inline void key_span(Buf* b, const uchar* data, Py_ssize_t at, Py_ssize_t n,
                          bint present) noexcept:
    """A length-prefixed span (0xFFFF: absent) of the header bytes into a key with room."""
    if not present or at < 0:
        key_u16(b, 0xFFFF)
    else:
        key_u16(b, <int>n)
        key_put(b, <const char*>data + at, n)

# What identify.judged_tables makes of a frame's tables (provenance_of, judge_header).
cdef enum:
    TABLES_NONE = 0  # no frame quality
    TABLES_KNOWN = 1  # a tables hash the database holds
    TABLES_EXACT = 2  # an exact IJG set the database does not hold: UNRECORDED, exact
    TABLES_CUSTOM = 3  # neither: UNRECORDED_CUSTOM

cdef VTemplate* provenance_of(Row* row, const uchar* data, Buf* text, Buf* key) except NULL:
    """The template of a clean row's provenance columns, as identify.template_row gives it
    (encoder, detail parts, quality, confidence, exact models or None, layout_hash), as C
    values; emit_row fills the detail (fill_detail), the confidence and the signature
    (signature_of) per file: what audit/columns.py gets from provenance.identify for the same
    header."""
    cdef Header* h = row.h
    cdef FrameQuality* fq = &row.fq
    cdef int i, k, tables = TABLES_NONE
    cdef const char* sub
    cdef Py_ssize_t sub_len, bound
    if row.subsampling != NULL:
        sub = row.subsampling
        sub_len = c_strlen(row.subsampling)
    else:
        sub = text.data + row.factors_at
        sub_len = row.factors_len
    k = h.marker_count if h.marker_count < MAX_RECORDED_MARKERS else MAX_RECORDED_MARKERS
    # Room for the whole key but the families (put in by buf_span_str): its fixed part is
    # under 128 bytes.
    bound = 128 + 3 * h.ncomp + k + 2 * h.app_recorded + h.dqt_segments + h.dqt_items
    bound += h.dht_segments + h.dht_items + sub_len
    for i in range(h.app_recorded):
        bound += h.apps[i].ident_len
    if h.has_comment:
        bound += h.comment_len
    key.len = 0
    buf_reserve(key, bound)
    key_u16(key, h.sof)
    key_u16(key, h.precision)
    key_u16(key, h.ncomp)
    for i in range(h.ncomp):
        key_byte(key, h.comps[i].id)
        key_byte(key, h.comps[i].h << 4 | h.comps[i].v)
        key_byte(key, h.comps[i].tq)
    key_u16(key, h.marker_count if h.marker_count < 0xFFFF else 0xFFFF)
    key_put(key, <const char*>h.marker_codes, k)
    key_u16(key, h.app_recorded)
    for i in range(h.app_recorded):
        key_span(key, data, h.apps[i].ident_at, h.apps[i].ident_len, True)
    key_u16(key, h.dqt_segments)
    key_put(key, <const char*>h.dqt_segment_len, h.dqt_segments)
    key_put(key, <const char*>h.dqt_item, h.dqt_items)
    key_u16(key, h.dht_segments)
    key_put(key, <const char*>h.dht_segment_len, h.dht_segments)
    key_put(key, <const char*>h.dht_item, h.dht_items)
    key_span(key, data, h.comment_at, h.comment_len, h.has_comment)
    key_u16(key, h.restart_interval)
    key_byte(key, h.jfif)
    if h.jfif:
        key_u16(key, h.jfif_major)
        key_u16(key, h.jfif_minor)
        key_u16(key, h.density_unit)
        key_u16(key, h.x_density)
        key_u16(key, h.y_density)
    key_byte(key, h.adobe)
    if h.adobe:
        key_u16(key, h.adobe_version)
        key_u16(key, h.adobe_flags0)
        key_u16(key, h.adobe_flags1)
        key_u16(key, h.adobe_transform)
    key_byte(key, 0 if not h.huffman_tables else (1 if h.huffman_all_standard else 2))
    key_u16(key, h.scan_count)
    key_byte(key, h.scan_ss)
    key_byte(key, h.scan_se)
    key_byte(key, h.scan_ah << 4 | h.scan_al)
    key_u16(key, h.photoshop_quality + 1)
    key_u16(key, h.ducky_quality + 1)
    key_byte(key, h.photoshop)
    key_byte(key, fq.set)
    # The tables as identify.judged_tables gives them to the verdict (judge_header).
    if fq.set:
        tables = TABLES_KNOWN if is_known_tables(fq.hash16) else (
            TABLES_EXACT if fq.exact else TABLES_CUSTOM)
        if tables != TABLES_CUSTOM:
            key_byte(key, fq.exact)
            key_u16(key, fq.quality_luma)
            key_u16(key, fq.quality_chroma if fq.has_chroma else 0xFFFF)
            key_u16(key, fq.qtable_bits)
            if tables == TABLES_KNOWN:
                key_put(key, fq.hash16, 16)
            else:
                key_byte(key, 45)  # "-": UNRECORDED
        else:
            key_byte(key, 63)  # "?": UNRECORDED_CUSTOM
    key_u16(key, <int>sub_len)
    key_put(key, sub, sub_len)
    cdef Py_ssize_t structure_len = key.len
    # What the template reads of the EXIF strings: the maker and software families, and
    # whether a Make is there (the strings themselves are put in per file: fill_detail).
    cdef const char* name
    cdef Py_ssize_t name_len
    soft = family_of(data, h, &h.exif.software, 1, _soft_cache, _software_family, &name,
                     &name_len)
    key_family(key, name, name_len)
    has_make = exif_value_present(h, &h.exif.make)
    buf_byte(key, <char>has_make)
    buf_byte(key, 0)
    cdef Py_ssize_t prefix_len = key.len
    cdef uint64_t hv, full_hv
    cdef VEntry* entry = vcache_slot(key.data, prefix_len, &hv)
    cdef VTemplate* found = entry.template
    cdef bint prefix_known = template_is(found, entry, hv, key.data, prefix_len)
    if prefix_known and not found.reads_maker:
        return found
    maker = family_of(data, h, &h.exif.make, 0, _maker_cache, _camera_family, &name, &name_len)
    key.data[prefix_len - 1] = 1
    key_family(key, name, name_len)
    cdef VEntry* full_entry = vcache_slot(key.data, key.len, &full_hv)
    if prefix_known:
        found = full_entry.template
        if template_is(found, full_entry, full_hv, key.data, key.len):
            return found
    verdict = judge_header(row, data, sub, sub_len, tables, key.data, structure_len, maker,
                           soft, has_make)
    # The tag-0 key keeps the template, or (reads_maker) that the whole key is to be looked up;
    # the whole key keeps a template that reads the maker family.
    key.data[prefix_len - 1] = 0
    found = new_template(key.data, prefix_len, verdict)
    key.data[prefix_len - 1] = 1
    if not (prefix_known and found.reads_maker):
        keep_template(entry, hv, found)
        if not found.reads_maker:
            return found
    else:
        free_template(found)
    found = new_template(key.data, key.len, verdict)
    keep_template(full_entry, full_hv, found)
    return found


cdef inline VEntry* vcache_slot(const char* key, Py_ssize_t n, uint64_t* hv) noexcept:
    hv[0] = wide_hash(<const uchar*>key, n)
    return &_vcache[hv[0] % VCACHE_SLOTS]

cdef inline bint template_is(VTemplate* t, VEntry* entry, uint64_t hv, const char* key,
                             Py_ssize_t n) noexcept:
    """The slot holds the template of this key."""
    return (t != NULL and entry.hash == hv and t.key_len == n
            and memcmp(t.key, key, n) == 0)

cdef inline void keep_template(VEntry* entry, uint64_t hv, VTemplate* t) noexcept:
    """A slot takes a template (the one it held freed: one slot, one template)."""
    free_template(entry.template)
    entry.template = t
    entry.hash = hv


cdef object judged_tables(FrameQuality* fq, int tables):
    """identify.judged_tables of the frame's tables, for structure_of_header."""
    if tables == TABLES_KNOWN:
        return (fq.hash16[:16].decode("ascii"), bool(fq.exact), fq.quality_luma,
                fq.quality_chroma if fq.has_chroma else None, fq.qtable_bits)
    if tables == TABLES_EXACT:
        return (_UNRECORDED, True, fq.quality_luma,
                fq.quality_chroma if fq.has_chroma else None, fq.qtable_bits)
    if tables == TABLES_CUSTOM:
        return (_UNRECORDED, False, None, None, None)
    return None


cdef object judge_header(Row* row, const uchar* data, const char* sub, Py_ssize_t sub_len,
                         int tables, const char* key, Py_ssize_t structure_len,
                         object maker, object soft, bint has_make):
    """A structure, families and Make presence not seen yet: the Python core's template
    (identify.template_row), the structure built once per distinct features."""
    structure_key = PyBytes_FromStringAndSize(key, structure_len)
    structure = _structure_cache.get(structure_key)
    if structure is None:
        structure = structure_of_header(row, data, sub, sub_len,
                                        judged_tables(&row.fq, tables))
        if len(_structure_cache) < PROVENANCE_CACHE_MAX:
            _structure_cache[structure_key] = structure
    return _provenance_template(structure, maker, soft, has_make)


cdef object family_of(const uchar* data, Header* h, const ExifText* t, int kind, dict cache,
                      object family, const char** name, Py_ssize_t* name_len):
    """catalog.camera_family / software_family of an EXIF value, per distinct raw bytes; its
    UTF-8 into `name` and `name_len` (NULL: None), valid while the family is."""
    cdef uint64_t hv = 0
    cdef FEntry* entry = NULL
    cdef const char* raw_at
    name[0] = NULL
    name_len[0] = 0
    if not exif_value_present(h, t):
        return None
    raw_at = <const char*>data + t.at
    if t.n <= FKEY_MAX:
        hv = key_hash(<const uchar*>raw_at, t.n)
        entry = &_fcache[kind * FCACHE_SLOTS + <Py_ssize_t>(hv % FCACHE_SLOTS)]
        if (entry.family != NULL and entry.hash == hv and entry.key_len == t.n
                and memcmp(entry.key, raw_at, t.n) == 0):
            name[0] = entry.name
            name_len[0] = entry.name_len
            return <object>entry.family
    raw = PyBytes_FromStringAndSize(raw_at, t.n)
    found = cache.get(raw, cache)  # the dict itself: not there
    if found is cache:
        found = family(exif_string(data, t.at, t.n))
        if len(cache) < PROVENANCE_CACHE_MAX:
            cache[raw] = found
    if found is not None:
        name[0] = utf8_of(found, name_len)
    if entry != NULL:
        Py_XDECREF(entry.family)
        Py_INCREF(found)
        entry.family = <PyObject*>found
        entry.name = name[0]
        entry.name_len = name_len[0]
        entry.hash = hv
        entry.key_len = t.n
        memcpy(entry.key, raw_at, t.n)
    return found


cdef const char* utf8_of(object text, Py_ssize_t* n) except NULL:
    """A str's UTF-8, kept by the str (a template's values are str, or None where noted)."""
    if not isinstance(text, str):
        raise TypeError(f"provenance: expected a str, got {type(text).__name__}")
    return PyUnicode_AsUTF8AndSize(text, n)


cdef inline bint exif_value_present(Header* h, const ExifText* t):
    """bool(make): the value is there (parse_exif records only values that are not empty once
    read as exif_string reads them)."""
    return h.exif.present and t.at >= 0


cdef int key_family(Buf* b, const char* name, Py_ssize_t n) except -1:
    """A family name into a key (0xFFFF: none; names are short, catalog's own)."""
    if name == NULL:
        return buf_u16(b, 0xFFFF)
    if n >= 0xFFFF:
        raise ValueError("provenance: a family name of 64 KiB")
    buf_u16(b, <int>n)
    return buf_put(b, name, n)


cdef int fill_detail(VTemplate* t, Row* row, const uchar* data, Buf* out) except -1:
    """identify.fill: the template's detail with this file's EXIF strings put in."""
    cdef Header* h = row.h
    cdef Py_ssize_t i
    cdef int code
    cdef DetailPart* part
    for i in range(t.nparts):
        part = &t.parts[i]
        code = part.code
        if code < 0:
            buf_put(out, part.text, part.len)
        elif code == 0:  # NAMED
            add_named(out, row, data)
        elif code == 1:  # SOFTWARE
            add_exif_utf8(out, h, data, &h.exif.software)
        elif code == 2 or (code == 3 and exif_value_present(h, &h.exif.make)):  # NOTE(_IF_MAKE)
            add_note(out, row, data)
    return 0


cdef int add_named(Buf* out, Row* row, const uchar* data) except -1:
    """identify.exif_named: Make and Model, those present, joined by a space."""
    cdef Header* h = row.h
    cdef Py_ssize_t before = out.len
    if exif_value_present(h, &h.exif.make):
        add_exif_utf8(out, h, data, &h.exif.make)
    if exif_value_present(h, &h.exif.model):
        if out.len > before:
            buf_byte(out, b" ")
        add_exif_utf8(out, h, data, &h.exif.model)
    return 0


cdef int add_note(Buf* out, Row* row, const uchar* data) except -1:
    """identify.exif_note: "; EXIF names Make Model, software 'Software'"."""
    cdef Header* h = row.h
    cdef bint named = (exif_value_present(h, &h.exif.make)
                       or exif_value_present(h, &h.exif.model))
    cdef bint software = exif_value_present(h, &h.exif.software)
    if not (named or software):
        return 0
    buf_put(out, b"; EXIF names ", 13)
    if named:
        add_named(out, row, data)
    if software:
        if named:
            buf_put(out, b", ", 2)
        buf_put(out, b"software '", 10)
        add_exif_utf8(out, h, data, &h.exif.software)
        buf_byte(out, b"'")
    return 0


cdef VTemplate* new_template(const char* key, Py_ssize_t n, object verdict) except NULL:
    """identify.template_row's tuple as a VTemplate block (its key copied in): every value
    checked and converted first, so that nothing can fail once the block is allocated."""
    cdef tuple template = verdict
    if len(template) != 7:
        raise ValueError("provenance: template_row gives seven values")
    encoder, parts, quality, confidence, exact_models, layout_hash, reads_maker = template
    cdef tuple detail = parts
    cdef Py_ssize_t i, nparts = len(detail), encoder_len = 0, confidence_len = 0, hash_len
    cdef const char* encoder_p = NULL
    cdef const char* confidence_p = NULL
    cdef const char* hash_p = utf8_of(layout_hash, &hash_len)
    cdef int64_t quality_value = 0
    if encoder is not None:
        encoder_p = utf8_of(encoder, &encoder_len)
    if quality is not None:
        quality_value = quality
    if exact_models is None:
        confidence_p = utf8_of(confidence, &confidence_len)
    elif len(exact_models) == 0:
        confidence_p = b"family"  # confidence_of: no Model is one of none
        confidence_len = 6
    for part in detail:
        if isinstance(part, str):
            utf8_of(part, &i)  # converted once here: the loop below cannot fail
        elif not isinstance(part, int):
            raise TypeError("provenance: a detail part is a str or an int")
    cdef VTemplate* t = <VTemplate*>calloc(
        1, sizeof(VTemplate) + <size_t>nparts * sizeof(DetailPart) + <size_t>(n if n > 0 else 1))
    if t == NULL:
        raise MemoryError()
    t.parts = <DetailPart*>(t + 1)
    t.key = <char*>(t.parts + nparts)
    t.key_len = n
    memcpy(t.key, key, n)
    t.encoder = encoder_p
    t.encoder_len = encoder_len
    t.has_quality = quality is not None
    t.quality = quality_value
    t.confidence = confidence_p
    t.confidence_len = confidence_len
    t.layout_hash = hash_p
    t.layout_hash_len = hash_len
    t.nparts = nparts
    t.reads_maker = reads_maker is True
    for i in range(nparts):
        part = detail[i]
        if isinstance(part, str):
            t.parts[i].code = -1
            t.parts[i].text = PyUnicode_AsUTF8AndSize(part, &t.parts[i].len)
        else:
            t.parts[i].code = 4 if part < 0 or part > 3 else <int>part  # 4: puts in nothing
    Py_INCREF(template)
    t.template = <PyObject*>template
    return t


cdef void free_template(VTemplate* t) noexcept:
    if t != NULL:
        Py_XDECREF(t.template)
        free(t)


cdef object confidence_of(tuple template, Row* row, const uchar* data):
    """The template's confidence; a camera's is "exact" when EXIF's Model is one recorded
    (new_template keeps the others as text)."""
    exact_models = template[4]
    if exact_models is None:
        return template[3]
    h = row.h
    model = None
    if exif_value_present(h, &h.exif.model):
        model = exif_string(data, h.exif.model.at, h.exif.model.n)
    return "exact" if (model or "") in exact_models else "family"


cdef int signature_of(Row* row, const uchar* data, const char* layout_hash,
                      Py_ssize_t layout_hash_len, Buf* text, char* out) except -1:
    """identify.signature_of for this row: SHA-1 of its layout hash, its tables hash, EXIF
    Make and Model, joined by 0x1F, as UTF-8; first 16 hex digits into `out`."""
    cdef Header* h = row.h
    cdef Py_ssize_t n, at0 = text.len
    buf_put(text, layout_hash, layout_hash_len)
    buf_byte(text, b"\x1f")
    if row.fq.set:
        buf_put(text, row.fq.hash16, 16)
    buf_byte(text, b"\x1f")
    add_exif_utf8(text, h, data, &h.exif.make)
    buf_byte(text, b"\x1f")
    add_exif_utf8(text, h, data, &h.exif.model)
    cdef const char* message = text.data + at0
    n = text.len - at0
    cdef uint64_t hv
    cdef Py_ssize_t slot
    cdef SEntry* entry
    if n > SKEY_MAX:
        fingerprint(message, n, out)
    else:
        # The same text has the same SHA-1: kept per distinct text (files of one writer,
        # quality and camera share it).
        hv = wide_hash(<const uchar*>message, n)
        slot = <Py_ssize_t>(hv % SCACHE_SLOTS)
        entry = &_scache[slot]
        if (_scache_hash[slot] == hv and entry.key_len == n and entry.hash == hv
                and memcmp(entry.key, message, n) == 0):
            memcpy(out, entry.signature, 16)
        else:
            fingerprint(message, n, out)
            if _scache_missed[slot] != hv:
                _scache_missed[slot] = hv  # stored if it misses here again
            else:
                _scache_hash[slot] = hv
                entry.hash = hv
                entry.key_len = <int>n
                memcpy(entry.key, message, n)
                memcpy(entry.signature, out, 16)
    text.len = at0
    return 0


cdef int add_exif_utf8(Buf* text, Header* h, const uchar* data, const ExifText* t) except -1:
    """`make or ""` as UTF-8: the span of an ASCII value, else the reference's string."""
    cdef Py_ssize_t length
    cdef const char* p
    if not exif_value_present(h, t):
        return 0
    if t.ascii:
        return buf_put(text, <const char*>data + t.start, t.stop - t.start)
    value = exif_string(data, t.at, t.n)
    if value is None:
        return 0
    p = PyUnicode_AsUTF8AndSize(value, &length)
    return buf_put(text, p, length)

cdef object structure_of_header(Row* row, const uchar* data, const char* sub, Py_ssize_t sub_len,
                                object judged_tables):
    """A header not seen yet: the features as the Python core's structure_of builds them, its
    tables as judged (identify.judged_tables)."""
    cdef Header* h = row.h
    cdef FrameQuality* fq = &row.fq
    cdef int i, k
    k = h.marker_count if h.marker_count < MAX_RECORDED_MARKERS else MAX_RECORDED_MARKERS
    dqt = segments_of(h.dqt_segment_len, h.dqt_item, h.dqt_segments)
    dht = segments_of(h.dht_segment_len, h.dht_item, h.dht_segments)
    comps = []
    for i in range(h.ncomp):
        comps.append((h.comps[i].id, h.comps[i].h, h.comps[i].v, h.comps[i].tq))
    codes = []
    for i in range(k):
        codes.append(h.marker_codes[i])
    idents = []
    for i in range(h.app_recorded):
        idents.append((<const char*>data + h.apps[i].ident_at)[: h.apps[i].ident_len]
                      .decode("ascii"))
    layout_key = (
        h.sof,
        h.precision,
        tuple(comps),
        tuple(codes),
        tuple(idents),
        dqt,
        dht,
        (<const char*>data + h.comment_at)[: h.comment_len].decode("latin-1")
        if h.has_comment else None,
        h.restart_interval,
        h.marker_count > MAX_RECORDED_MARKERS,
        (f"{h.jfif_major}.{h.jfif_minor:02d}", h.density_unit, h.x_density, h.y_density)
        if h.jfif else None,
        (h.adobe_version, h.adobe_flags0, h.adobe_flags1, h.adobe_transform)
        if h.adobe else None,
        huffman_kind(h),
        (h.scan_count, h.scan_ss, h.scan_se, h.scan_ah, h.scan_al) if h.has_scan else None,
    )
    tables = judged_tables if fq.set else (None, None, None, None, None)
    return _provenance_structure(
        layout_key, tables, sub[:sub_len].decode("ascii"),
        h.photoshop_quality if h.photoshop_quality >= 0 else None,
        h.ducky_quality if h.ducky_quality >= 0 else None,
        bool(h.photoshop),
    )

cdef tuple segments_of(const uint8_t* lengths, const uint8_t* items, int segments):
    """The recorded slots as JpegHeader.dqt_segments / dht_segments hold them."""
    cdef int i, j, at = 0
    out = []
    for i in range(segments):
        one = []
        for j in range(lengths[i]):
            one.append(items[at + j])
        out.append(tuple(one))
        at += lengths[i]
    return tuple(out)

cdef int add_value(ColumnSet cs, int c, object value) except -1:
    if value is None:
        return 0  # null
    if isinstance(value, str):
        return cs.add_str(c, value)
    cs.add_int(c, value)
    return 0

cdef bint frame_tables_defined(Header* h):
    """No "quantization table N used but never defined" error (lossless frames need none)."""
    cdef int i
    if is_lossless(h.sof):
        return True
    for i in range(h.ncomp):
        if not h.qtables[h.comps[i].tq].defined:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# mirrors audit/read.py: head, header growth, tail
# ---------------------------------------------------------------------------------------------
cdef struct Limits:
    Py_ssize_t head_bytes
    Py_ssize_t max_header_bytes
    Py_ssize_t tail_bytes
    Py_ssize_t max_tail_bytes
    bint read_tail

cdef struct Source:
    int fd  # >= 0: pread on it; else the bytes below
    const uchar* mem
    Py_ssize_t mem_len

DEF SHORT_READ = 1

cdef int read_into(Source* src, Buf* b, Py_ssize_t offset, Py_ssize_t n) except -1:
    """Append n bytes at offset: 0, or SHORT_READ when fewer came back (the file shrank or a
    read failed: the reference core handles both)."""
    cdef Py_ssize_t got = 0
    cdef ssize_t r
    buf_reserve(b, n)
    if src.fd < 0:
        if offset + n > src.mem_len:
            return SHORT_READ
        memcpy(b.data + b.len, src.mem + offset, n)
        b.len += n
        return 0
    while got < n:
        # The GIL stays held: a scan worker has no other thread to give it to, and taking it
        # back after every read would cost more than the read of a cached header.
        r = pread(src.fd, b.data + b.len + got, n - got, offset + got)
        if r <= 0:
            return SHORT_READ
        got += r
    b.len += n
    return 0

DEF HEAD_GROWTH_HEADS = 4  # limits.HEAD_GROWTH_HEADS

cdef int audit_bytes(Source* src, Py_ssize_t size, Limits* lim, Row* row, Header* h,
                       Buf* head, Buf* tail, Buf* text) except -1:
    """audit_bytes on the clean path: CLEAN with `row` filled, or FALLBACK."""
    cdef Py_ssize_t first = size if size < lim.head_bytes else lim.head_bytes
    cdef Py_ssize_t want, upto, read_total
    cdef int r
    head.len = 0
    if size == 0:
        return FALLBACK  # "empty file"
    if read_into(src, head, 0, first) != 0:
        return FALLBACK
    read_total = first
    if head.len < 2 or <uchar>head.data[0] != 0xFF or <uchar>head.data[1] != 0xD8:
        return FALLBACK  # not a JPEG: the reference names the format
    while True:
        r = parse_jpeg(<const uchar*>head.data, head.len, size, h)
        if r != NEED_MORE:
            break
        upto = h.need_upto
        if upto > lim.max_header_bytes:
            return FALLBACK  # "header larger than the N-byte read cap"
        want = upto if upto > 2 * head.len else 2 * head.len
        if want < HEAD_GROWTH_HEADS * lim.head_bytes:
            want = HEAD_GROWTH_HEADS * lim.head_bytes
        if want > size:
            want = size
        if want > lim.max_header_bytes:
            want = lim.max_header_bytes
        if read_into(src, head, head.len, want - head.len) != 0:
            return FALLBACK
        read_total = head.len  # the head is read contiguously from 0
    if r != CLEAN or not frame_tables_defined(h):
        return FALLBACK
    row.h = h
    fill_header_columns(row, <const uchar*>head.data, text)
    r = check_tail(src, size, head, h.sos_offset, lim, row, tail)
    if r != CLEAN:
        return FALLBACK
    row.read_bytes = read_total + row.read_bytes
    return CLEAN

cdef int check_tail(Source* src, Py_ssize_t size, Buf* head, Py_ssize_t sos_offset, Limits* lim,
                    Row* row, Buf* tail) except -1:
    """_check_tail: truncated, trailing_bytes and tail_checked; row.read_bytes is set to the
    bytes read for the tail."""
    cdef Py_ssize_t eoi_end
    row.read_bytes = 0
    if not lim.read_tail and size > head.len:
        row.tail_checked = False
        return CLEAN
    if find_eoi(src, size, head, sos_offset, lim, tail, &row.read_bytes, &eoi_end) != CLEAN:
        return FALLBACK
    row.tail_checked = True
    row.truncated = eoi_end < 0
    row.has_trailing = eoi_end >= 0
    if eoi_end >= 0:
        row.trailing_bytes = size - eoi_end
    return CLEAN

cdef int find_eoi(Source* src, Py_ssize_t size, Buf* head, Py_ssize_t sos_offset, Limits* lim,
                  Buf* tail, int64_t* read_out, Py_ssize_t* eoi_end) except -1:
    """_find_eoi: the end offset of the last EOI after the first SOS (-1: none), looking back
    from the end in windows growing 16x up to max_tail_bytes."""
    cdef Py_ssize_t window = lim.tail_bytes, start, n, i
    cdef int64_t read = 0
    cdef const uchar* t
    while True:
        start = size - window
        if start < sos_offset + 2:
            start = sos_offset + 2
        if size <= head.len:
            t = <const uchar*>head.data + start
            n = size - start
        else:
            tail.len = 0
            if read_into(src, tail, start, size - start) != 0:
                return FALLBACK
            read += size - start
            t = <const uchar*>tail.data
            n = size - start
        i = n - 2
        while i >= 0:
            if t[i] == 0xFF and t[i + 1] == 0xD9:
                read_out[0] = read
                eoi_end[0] = start + i + 2
                return CLEAN
            i -= 1
        if start <= sos_offset + 2 or window >= lim.max_tail_bytes:
            read_out[0] = read
            eoi_end[0] = -1
            return CLEAN
        window = window * 16
        if window > lim.max_tail_bytes:
            window = lim.max_tail_bytes


# ---------------------------------------------------------------------------------------------
# Columns: the store's columns, in schema order, as Arrow buffers
# ---------------------------------------------------------------------------------------------
cdef enum Kind:
    K_STRING
    K_INT16
    K_INT32
    K_INT64
    K_FLOAT64
    K_BOOL
    K_TIMESTAMP

_KINDS = {"string": K_STRING, "int16": K_INT16, "int32": K_INT32, "int64": K_INT64,
          "float64": K_FLOAT64, "bool": K_BOOL, "timestamp": K_TIMESTAMP}

# What a clean row puts in each column (by the column's name in schema.COLUMNS); a column not
# listed here is null in a clean row.
cdef enum:  # the fields of a clean row
    F_PATH
    F_SPLIT
    F_ROOT
    F_ENTRY_TYPE
    F_BYTES
    F_MTIME_NS
    F_READ_BYTES
    F_SCANNED_AT
    F_SCANNER_VERSION
    F_FORMAT
    F_EXT
    F_EXT_MISMATCH
    F_WIDTH
    F_HEIGHT
    F_COMPONENTS
    F_COMPONENT_IDS
    F_COLOR
    F_SAMPLING_FACTORS
    F_SUBSAMPLING
    F_CHROMA_FACTORS_DIFFER
    F_PROCESS
    F_SOF
    F_PROGRESSIVE
    F_ARITHMETIC
    F_PRECISION
    F_RESTART_INTERVAL
    F_HEADER_BYTES
    F_QTABLE_IDS
    F_QTABLES
    F_QTABLE_BITS
    F_QTABLES_HASH
    F_QUALITY_LUMA
    F_QUALITY_CHROMA
    F_QUALITY_CHROMA_RANGE
    F_QUALITY_EXACT
    F_QUALITY_FIT_ERROR
    F_QUALITY_CLOSENESS
    F_ENCODER
    F_ENCODER_DETAIL
    F_ENCODER_QUALITY
    F_ENCODER_CONFIDENCE
    F_HEADER_SIGNATURE
    F_HUFFMAN_TABLES
    F_HUFFMAN_STANDARD
    F_APP_MARKERS
    F_JFIF
    F_JFIF_VERSION
    F_DENSITY_UNIT
    F_X_DENSITY
    F_Y_DENSITY
    F_ADOBE_TRANSFORM
    F_EXIF
    F_ORIENTATION
    F_EXIF_MAKE
    F_EXIF_MODEL
    F_EXIF_SOFTWARE
    F_XMP
    F_ICC
    F_ICC_BYTES
    F_ICC_COLORSPACE
    F_MPF
    F_PHOTOSHOP
    F_COMMENT
    F_TRUNCATED
    F_TRAILING_BYTES
    F_TAIL_CHECKED
    F_BACKEND
    F_LABEL
    F_COUNT

_FIELDS = {
    "path": F_PATH, "split": F_SPLIT, "root": F_ROOT, "entry_type": F_ENTRY_TYPE,
    "bytes": F_BYTES, "mtime_ns": F_MTIME_NS, "read_bytes": F_READ_BYTES,
    "scanned_at": F_SCANNED_AT, "scanner_version": F_SCANNER_VERSION, "format": F_FORMAT,
    "ext": F_EXT, "ext_mismatch": F_EXT_MISMATCH, "width": F_WIDTH, "height": F_HEIGHT,
    "components": F_COMPONENTS, "component_ids": F_COMPONENT_IDS, "color": F_COLOR,
    "sampling_factors": F_SAMPLING_FACTORS, "subsampling": F_SUBSAMPLING,
    "chroma_factors_differ": F_CHROMA_FACTORS_DIFFER, "process": F_PROCESS, "sof": F_SOF,
    "progressive": F_PROGRESSIVE, "arithmetic": F_ARITHMETIC, "precision": F_PRECISION,
    "restart_interval": F_RESTART_INTERVAL, "header_bytes": F_HEADER_BYTES,
    "qtable_ids": F_QTABLE_IDS, "qtables": F_QTABLES, "qtable_bits": F_QTABLE_BITS,
    "qtables_hash": F_QTABLES_HASH, "quality_luma": F_QUALITY_LUMA,
    "quality_chroma": F_QUALITY_CHROMA, "quality_chroma_range": F_QUALITY_CHROMA_RANGE,
    "quality_exact": F_QUALITY_EXACT, "quality_fit_error": F_QUALITY_FIT_ERROR,
    "quality_closeness": F_QUALITY_CLOSENESS, "encoder": F_ENCODER,
    "encoder_detail": F_ENCODER_DETAIL, "encoder_quality": F_ENCODER_QUALITY,
    "encoder_confidence": F_ENCODER_CONFIDENCE, "header_signature": F_HEADER_SIGNATURE,
    "huffman_tables": F_HUFFMAN_TABLES, "huffman_standard": F_HUFFMAN_STANDARD,
    "app_markers": F_APP_MARKERS, "jfif": F_JFIF, "jfif_version": F_JFIF_VERSION,
    "density_unit": F_DENSITY_UNIT, "x_density": F_X_DENSITY, "y_density": F_Y_DENSITY,
    "adobe_transform": F_ADOBE_TRANSFORM, "exif": F_EXIF, "orientation": F_ORIENTATION,
    "exif_make": F_EXIF_MAKE, "exif_model": F_EXIF_MODEL, "exif_software": F_EXIF_SOFTWARE,
    "xmp": F_XMP, "icc": F_ICC, "icc_bytes": F_ICC_BYTES, "icc_colorspace": F_ICC_COLORSPACE,
    "mpf": F_MPF, "photoshop": F_PHOTOSHOP, "comment": F_COMMENT, "truncated": F_TRUNCATED,
    "trailing_bytes": F_TRAILING_BYTES, "tail_checked": F_TAIL_CHECKED, "backend": F_BACKEND,
    "label": F_LABEL,
}

# The kind of value emit_row writes in each field's column (integers: any integer kind).
_TEXT_FIELDS = {"path", "split", "root", "label", "entry_type", "scanner_version", "format", "ext",
                "component_ids", "color", "sampling_factors", "subsampling", "process",
                "qtable_ids", "qtables", "qtables_hash", "quality_chroma_range", "encoder",
                "encoder_detail", "encoder_confidence", "header_signature", "app_markers",
                "jfif_version", "exif_make", "exif_model", "exif_software", "icc_colorspace",
                "comment", "backend"}
_BOOL_FIELDS = {"ext_mismatch", "chroma_factors_differ", "progressive", "arithmetic",
                "quality_exact", "huffman_standard", "jfif", "exif", "xmp", "icc", "mpf",
                "photoshop", "truncated", "tail_checked"}
_FLOAT_FIELDS = {"quality_fit_error", "quality_closeness"}

DEF MAX_COLUMNS = 256
cdef int _ncols = 0
cdef int _kind[MAX_COLUMNS]
cdef int _col[F_COUNT]  # the column of each field (configure: every one is in the schema)
cdef list _column_names = []
cdef bytes _SCANNER_VERSION = b""
cdef bint _configured = False


cdef class OwnedBuffer:
    """Memory malloc'd by a ColumnSet, handed to Arrow as it is (pa.py_buffer keeps this
    object, which frees the memory with the last Arrow array using it): no copy into bytes."""

    cdef char* data
    cdef Py_ssize_t size
    cdef Py_ssize_t shape[1]

    def __dealloc__(self):
        free(self.data)

    def __getbuffer__(self, Py_buffer* view, int flags):
        self.shape[0] = self.size
        view.buf = self.data if self.data != NULL else <char*>b""
        view.obj = self
        view.len = self.size
        view.readonly = 1
        view.itemsize = 1
        view.format = NULL
        view.ndim = 1
        view.shape = self.shape
        view.strides = NULL
        view.suboffsets = NULL
        view.internal = NULL

    def __releasebuffer__(self, Py_buffer* view):
        pass

    def __len__(self):
        return self.size

    def __bytes__(self):
        return PyBytes_FromStringAndSize(self.data, self.size)


cdef OwnedBuffer owned(char** data, Py_ssize_t size):
    """An OwnedBuffer taking *data (left NULL: the ColumnSet no longer frees it)."""
    cdef OwnedBuffer out = OwnedBuffer.__new__(OwnedBuffer)
    out.data = data[0]
    out.size = size
    data[0] = NULL
    return out


@cython.final
cdef class ColumnSet:
    """One Arrow array per store column, built row by row: validity bits, values (bit-packed
    for booleans) and, for strings, int32 offsets.

    Validity bitmaps, fixed-width values and string offsets have room for `capacity` rows,
    zero-filled, so that adding a value is a store and a null costs nothing at all: a column's
    null count is its rows less its values (finish), and a string column's offsets are written
    when a value comes (the nulls since the last value repeat its end offset) and to the last
    row by finish. The row count is checked once per row (end_row grows every such buffer),
    not once per value. String bytes grow as they come, to what the rows so far say the
    capacity needs (one reallocation in a batch, not one per doubling)."""

    cdef char* validity[MAX_COLUMNS]
    cdef char* values[MAX_COLUMNS]  # fixed-width values or packed booleans
    cdef int32_t* offsets[MAX_COLUMNS]  # strings: capacity + 1 of them
    cdef Buf text[MAX_COLUMNS]  # strings: their bytes
    cdef Py_ssize_t valid[MAX_COLUMNS]  # values added: the other rows are nulls
    cdef Py_ssize_t filled[MAX_COLUMNS]  # strings: offsets[0..filled] are written
    cdef Py_ssize_t length
    cdef Py_ssize_t capacity

    def __cinit__(self, Py_ssize_t rows=0):
        memset(self.validity, 0, sizeof(self.validity))
        memset(self.values, 0, sizeof(self.values))
        memset(self.offsets, 0, sizeof(self.offsets))
        memset(self.text, 0, sizeof(self.text))
        memset(self.valid, 0, sizeof(self.valid))
        memset(self.filled, 0, sizeof(self.filled))
        self.length = 0
        self.capacity = 0
        self.grow(rows if rows > 64 else 64)

    def __dealloc__(self):
        cdef int c
        for c in range(MAX_COLUMNS):
            free(self.validity[c])
            free(self.values[c])
            free(self.offsets[c])
            buf_free(&self.text[c])

    cdef int grow(self, Py_ssize_t rows) except -1:
        """Room for `rows` rows in every fixed-size buffer, the new part zero-filled."""
        cdef int c, kind
        cdef Py_ssize_t old = self.capacity
        for c in range(_ncols):
            kind = _kind[c]
            grow_zeroed(&self.validity[c], (old + 7) // 8, (rows + 7) // 8)
            if kind == K_STRING:
                grow_zeroed(<char**>&self.offsets[c], 4 * (old + 1) if old else 0, 4 * (rows + 1))
            elif kind == K_BOOL:
                grow_zeroed(&self.values[c], (old + 7) // 8, (rows + 7) // 8)
            else:
                grow_zeroed(&self.values[c], old * width_of(kind), rows * width_of(kind))
        self.capacity = rows
        return 0

    cdef inline void set_valid(self, int c) noexcept:
        cdef Py_ssize_t bit = self.length
        self.validity[c][bit >> 3] |= <char>(1 << (bit & 7))
        self.valid[c] += 1

    cdef inline void add_null(self, int c) noexcept:
        pass  # the value is already zero, the validity bit clear; finish counts the nulls

    cdef inline void add_int(self, int c, int64_t v) noexcept:
        cdef int kind = _kind[c]
        self.set_valid(c)
        if kind == K_INT16:
            (<int16_t*>self.values[c])[self.length] = <int16_t>v
        elif kind == K_INT32:
            (<int32_t*>self.values[c])[self.length] = <int32_t>v
        else:
            (<int64_t*>self.values[c])[self.length] = v

    cdef inline void add_float(self, int c, double v) noexcept:
        self.set_valid(c)
        (<double*>self.values[c])[self.length] = v

    cdef inline void add_bool(self, int c, bint v) noexcept:
        cdef Py_ssize_t bit = self.length
        self.set_valid(c)
        if v:
            self.values[c][bit >> 3] |= <char>(1 << (bit & 7))

    cdef inline int add_text(self, int c, const char* s, Py_ssize_t n) except -1:
        cdef Buf* b = &self.text[c]
        cdef int32_t* offsets = self.offsets[c]
        cdef Py_ssize_t at = self.filled[c]
        while at < self.length:  # the nulls since the last value: empty
            offsets[at + 1] = offsets[at]
            at += 1
        if n > 0:
            if b.len + n > b.cap:
                self.reserve_text(b, n)
            memcpy(b.data + b.len, s, n)
            b.len += n
        offsets[at + 1] = <int32_t>b.len
        self.filled[c] = at + 1
        self.set_valid(c)
        return 0

    cdef int reserve_text(self, Buf* b, Py_ssize_t n) except -1:
        """Room for n more bytes: twice the room, or once there are rows to go by, the bytes
        a row so far for every row of the capacity (and an eighth more)."""
        cdef Py_ssize_t want = b.len + n, cap = 2 * b.cap
        cdef Py_ssize_t rows = self.length + 1, estimate
        cdef char* grown
        if rows >= 16:
            estimate = want // rows * self.capacity
            estimate += estimate // 8
            if estimate > cap:
                cap = estimate
        if cap < 256:
            cap = 256
        if cap < want:
            cap = want
        grown = <char*>realloc(b.data, cap)
        if grown == NULL:
            raise MemoryError()
        b.data = grown
        b.cap = cap
        return 0

    cdef int add_str(self, int c, str s) except -1:
        cdef Py_ssize_t n
        cdef const char* p = PyUnicode_AsUTF8AndSize(s, &n)
        return self.add_text(c, p, n)

    cdef int add_object(self, int c, object value) except -1:
        """A value of a row dict (the reference core's row), as rows_to_table converts it."""
        cdef int kind = _kind[c]
        if value is None:
            self.add_null(c)
        elif kind == K_STRING:
            self.add_str(c, value)
        elif kind == K_BOOL:
            self.add_bool(c, bool(value))
        elif kind == K_FLOAT64:
            self.add_float(c, float(value))
        elif kind == K_TIMESTAMP:
            self.add_int(c, timestamp_us(value))
        else:
            self.add_int(c, int(value))
        return 0

    cdef inline int end_row(self) except -1:
        self.length += 1
        if self.length == self.capacity:
            self.grow(2 * self.capacity)
        return 0

    def add_row(self, dict row):
        """Append a row dict (every column of the schema)."""
        cdef int c
        for c in range(_ncols):
            self.add_object(c, row[_column_names[c]])
        self.end_row()

    def finish(self):
        """[(name, length, null count, validity, values, offsets)] per column, as buffers
        that own the memory (None where a buffer is not needed). The ColumnSet is empty
        afterwards: call it once."""
        cdef int c, kind
        cdef Py_ssize_t n = self.length, bits = (self.length + 7) // 8, nulls, at
        cdef int32_t* ends
        out = []
        for c in range(_ncols):
            kind = _kind[c]
            nulls = n - self.valid[c]
            validity = owned(&self.validity[c], bits) if nulls else None
            offsets = None
            if kind == K_STRING:
                ends = self.offsets[c]
                at = self.filled[c]
                while at < n:  # the nulls after the last value
                    ends[at + 1] = ends[at]
                    at += 1
                values = owned(&self.text[c].data, self.text[c].len)
                offsets = owned(<char**>&self.offsets[c], 4 * (n + 1))
            elif kind == K_BOOL:
                values = owned(&self.values[c], bits)
            else:
                values = owned(&self.values[c], n * width_of(kind))
            out.append((_column_names[c], n, nulls, validity, values, offsets))
        self.length = 0
        return out

    def __len__(self):
        return self.length


cdef int grow_zeroed(char** data, Py_ssize_t old, Py_ssize_t new) except -1:
    """realloc *data from `old` to `new` bytes, the added bytes zero (a first allocation by
    calloc: memory fresh from the kernel is not cleared twice)."""
    cdef char* grown
    if data[0] == NULL:
        grown = <char*>calloc(new if new > 0 else 1, 1)
        if grown == NULL:
            raise MemoryError()
        data[0] = grown
        return 0
    grown = <char*>realloc(data[0], new if new > 0 else 1)
    if grown == NULL:
        raise MemoryError()
    memset(grown + old, 0, new - old)
    data[0] = grown
    return 0


cdef inline int width_of(int kind):
    if kind == K_INT16:
        return 2
    if kind == K_INT32:
        return 4
    return 8

cdef int64_t timestamp_us(object when) except? -1:
    """A timezone-aware datetime as microseconds since the epoch (Arrow's timestamp("us"))."""
    import datetime as _dt
    delta = when - _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    return (delta.days * 86400 + delta.seconds) * 1000000 + delta.microseconds


cdef struct Identity:
    const char* path
    Py_ssize_t path_len
    const char* split
    Py_ssize_t split_len
    const char* root
    Py_ssize_t root_len
    int64_t scanned_at
    char ext[EXT_MAX]
    Py_ssize_t ext_len
    bint ext_mismatch  # of seen_ext, which is ext
    char seen_ext[EXT_MAX]  # the last extension judged (-1: none yet)
    Py_ssize_t seen_ext_len
    bint has_label  # the row's label, as UTF-8 (audit_files' folder_label; else null)
    const char* label
    Py_ssize_t label_len


cdef int emit_row(ColumnSet cs, Identity* ident, Row* row, const uchar* data,
                  Buf* text) except -1:
    """A clean row into the columns (by their index, _col: a column not written is null)."""
    cdef Header* h = row.h
    cdef FrameQuality* fq = &row.fq
    cdef const char* s
    cdef char rng[16]
    cdef Buf tmp
    cdef char signature[16]
    cdef Py_ssize_t at
    cdef VTemplate* prov = provenance_of(row, data, text, &_provenance_key)
    cs.add_text(_col[F_PATH], ident.path, ident.path_len)
    cs.add_text(_col[F_SPLIT], ident.split, ident.split_len)
    cs.add_text(_col[F_ROOT], ident.root, ident.root_len)
    if ident.has_label:
        cs.add_text(_col[F_LABEL], ident.label, ident.label_len)
    cs.add_text(_col[F_ENTRY_TYPE], b"file", 4)
    cs.add_int(_col[F_BYTES], row.bytes)
    if row.has_mtime:
        cs.add_int(_col[F_MTIME_NS], row.mtime_ns)
    cs.add_int(_col[F_READ_BYTES], row.read_bytes)
    cs.add_int(_col[F_SCANNED_AT], ident.scanned_at)
    cs.add_text(_col[F_SCANNER_VERSION], PyBytes_AS_STRING(_SCANNER_VERSION),
                PyBytes_GET_SIZE(_SCANNER_VERSION))
    cs.add_text(_col[F_FORMAT], b"jpeg", 4)
    cs.add_text(_col[F_EXT], ident.ext, ident.ext_len)
    cs.add_bool(_col[F_EXT_MISMATCH], ident.ext_mismatch)
    cs.add_int(_col[F_WIDTH], h.width)
    cs.add_int(_col[F_HEIGHT], h.height)
    cs.add_int(_col[F_COMPONENTS], h.ncomp)
    cs.add_text(_col[F_COMPONENT_IDS], text.data + row.ids_at, row.ids_len)
    cs.add_text(_col[F_COLOR], row.color, c_strlen(row.color))
    cs.add_text(_col[F_SAMPLING_FACTORS], text.data + row.factors_at, row.factors_len)
    if row.subsampling != NULL:
        cs.add_text(_col[F_SUBSAMPLING], row.subsampling, c_strlen(row.subsampling))
    else:
        cs.add_text(_col[F_SUBSAMPLING], text.data + row.factors_at, row.factors_len)
    cs.add_bool(_col[F_CHROMA_FACTORS_DIFFER], row.chroma_differ)
    s = process(h.sof)
    cs.add_text(_col[F_PROCESS], s, c_strlen(s))
    cs.add_int(_col[F_SOF], h.sof)
    cs.add_bool(_col[F_PROGRESSIVE], is_progressive(h.sof))
    cs.add_bool(_col[F_ARITHMETIC], is_arithmetic(h.sof))
    cs.add_int(_col[F_PRECISION], h.precision)
    cs.add_int(_col[F_RESTART_INTERVAL], h.restart_interval)
    cs.add_int(_col[F_HEADER_BYTES], h.sos_offset)
    cs.add_text(_col[F_QTABLE_IDS], text.data + row.slots_at, row.slots_len)
    if fq.set:
        cs.add_text(_col[F_QTABLES], text.data + fq.text_at, fq.text_len)
        cs.add_int(_col[F_QTABLE_BITS], fq.qtable_bits)
        cs.add_text(_col[F_QTABLES_HASH], fq.hash16, 16)
        cs.add_int(_col[F_QUALITY_LUMA], fq.quality_luma)
        if fq.has_chroma:
            cs.add_int(_col[F_QUALITY_CHROMA], fq.quality_chroma)
        if fq.has_range:
            tmp.data = rng
            tmp.len = 0
            tmp.cap = 16
            buf_uint(&tmp, fq.range_lo)
            buf_byte(&tmp, b'-')
            buf_uint(&tmp, fq.range_hi)
            cs.add_text(_col[F_QUALITY_CHROMA_RANGE], rng, tmp.len)
        cs.add_bool(_col[F_QUALITY_EXACT], fq.exact)
        cs.add_float(_col[F_QUALITY_FIT_ERROR], fq.fit_error)
        cs.add_float(_col[F_QUALITY_CLOSENESS], fq.closeness)
    if prov.encoder != NULL:
        cs.add_text(_col[F_ENCODER], prov.encoder, prov.encoder_len)
    at = text.len
    fill_detail(prov, row, data, text)
    cs.add_text(_col[F_ENCODER_DETAIL], text.data + at, text.len - at)
    text.len = at
    if prov.has_quality:
        cs.add_int(_col[F_ENCODER_QUALITY], prov.quality)
    if prov.confidence != NULL:
        cs.add_text(_col[F_ENCODER_CONFIDENCE], prov.confidence, prov.confidence_len)
    else:
        add_value(cs, _col[F_ENCODER_CONFIDENCE],
                  confidence_of(<tuple>prov.template, row, data))
    signature_of(row, data, prov.layout_hash, prov.layout_hash_len, text, signature)
    cs.add_text(_col[F_HEADER_SIGNATURE], signature, 16)
    cs.add_int(_col[F_HUFFMAN_TABLES], h.huffman_tables)
    if h.huffman_tables:
        cs.add_bool(_col[F_HUFFMAN_STANDARD], h.huffman_all_standard)
    cs.add_text(_col[F_APP_MARKERS], text.data + row.apps_at, row.apps_len)
    cs.add_bool(_col[F_JFIF], h.jfif)
    if h.jfif:
        cs.add_text(_col[F_JFIF_VERSION], text.data + row.version_at, row.version_len)
        cs.add_int(_col[F_DENSITY_UNIT], h.density_unit)
        cs.add_int(_col[F_X_DENSITY], h.x_density)
        cs.add_int(_col[F_Y_DENSITY], h.y_density)
    if h.adobe:
        cs.add_int(_col[F_ADOBE_TRANSFORM], h.adobe_transform)
    cs.add_bool(_col[F_EXIF], h.exif.present)
    if h.exif.present:
        if h.exif.orientation:
            cs.add_int(_col[F_ORIENTATION], h.exif.orientation)
        add_exif_string(cs, _col[F_EXIF_MAKE], h, data, &h.exif.make)
        add_exif_string(cs, _col[F_EXIF_MODEL], h, data, &h.exif.model)
        add_exif_string(cs, _col[F_EXIF_SOFTWARE], h, data, &h.exif.software)
    cs.add_bool(_col[F_XMP], h.xmp)
    cs.add_bool(_col[F_ICC], h.icc_chunks > 0)
    if h.icc_chunks:
        cs.add_int(_col[F_ICC_BYTES], h.icc_bytes)
        if row.has_colorspace:
            cs.add_text(_col[F_ICC_COLORSPACE], text.data + row.colorspace_at,
                        row.colorspace_len)
    cs.add_bool(_col[F_MPF], h.mpf)
    cs.add_bool(_col[F_PHOTOSHOP], h.photoshop)
    if h.has_comment:
        cs.add_text(_col[F_COMMENT], text.data + row.comment_at, row.comment_len)
    if row.tail_checked:
        cs.add_bool(_col[F_TRUNCATED], row.truncated)
        if row.has_trailing:
            cs.add_int(_col[F_TRAILING_BYTES], row.trailing_bytes)
    cs.add_bool(_col[F_TAIL_CHECKED], row.tail_checked)
    cs.add_text(_col[F_BACKEND], b"header", 6)
    cs.end_row()
    return 0

cdef int add_exif_string(ColumnSet cs, int c, Header* h, const uchar* data,
                         const ExifText* t) except -1:
    if not exif_value_present(h, t):
        return 0  # null
    if t.ascii:
        return cs.add_text(c, <const char*>data + t.start, t.stop - t.start)
    text = exif_string(data, t.at, t.n)
    if text is None:
        return 0  # null
    return cs.add_str(c, text)

cdef inline Py_ssize_t c_strlen(const char* s):
    cdef Py_ssize_t n = 0
    while s[n]:
        n += 1
    return n


# ---------------------------------------------------------------------------------------------
# mirrors sources/local.py (audit_local_file for an entry the listing called regular)
# ---------------------------------------------------------------------------------------------
cdef int identity_of(Identity* ident, str split, str root, int64_t scanned_at) except -1:
    """What the rows of a batch share (set once), and no file's extension seen yet."""
    ident.split = PyUnicode_AsUTF8AndSize(split, &ident.split_len)
    ident.root = PyUnicode_AsUTF8AndSize(root, &ident.root_len)
    ident.scanned_at = scanned_at
    ident.seen_ext_len = -1
    ident.has_label = False
    return 0

cdef inline Py_ssize_t folder_key_len(const char* path, Py_ssize_t n) noexcept:
    """The length of a path's folder, its last '/' included (0: none), for audit_files to ask
    folder_label once per folder; -1 where the default label may depend on more than the
    folder: a path that ends in '/' or names a container member ('::', labels.class_folder).
    For any other path class_folder reads the folder alone: the root's prefix, which ends in
    '/', lies within it whenever the path starts with it (tests/audit/test_compiled_labels.py)."""
    cdef Py_ssize_t i, last = 0
    if n == 0 or path[n - 1] == c'/':
        return -1
    for i in range(n):
        if path[i] == c'/':
            last = i + 1
        elif path[i] == c':' and i + 1 < n and path[i + 1] == c':':
            return -1
    return last

cdef int path_identity(Identity* ident, str path) except -1:
    """A file's path, extension and whether it names another format; -2 when the reference
    must make the row."""
    cdef object ext_text
    ident.path = PyUnicode_AsUTF8AndSize(path, &ident.path_len)
    ext_text = extension_of(path, ident.path, ident.path_len, ident.ext, &ident.ext_len)
    if ext_text is not None:  # the reference's answer, as UTF-8
        encoded = ext_text.encode("utf-8")
        if len(encoded) > EXT_MAX:
            return -2  # an extension this long: the reference makes the whole row
        memcpy(ident.ext, PyBytes_AS_STRING(encoded), len(encoded))
        ident.ext_len = len(encoded)
    # The files of a batch mostly share one extension: its verdict is kept.
    if ident.ext_len != ident.seen_ext_len or memcmp(ident.ext, ident.seen_ext, ident.ext_len):
        ident.ext_mismatch = is_ext_mismatch(ident.ext, ident.ext_len)
        memcpy(ident.seen_ext, ident.ext, ident.ext_len)
        ident.seen_ext_len = ident.ext_len
    return 0

cdef int audit_open_file(int fd, Py_ssize_t* size_out, int64_t* mtime_out) except -1:
    cdef struct_stat st
    if fstat(fd, &st) != 0 or not S_ISREG(st.st_mode):
        return FALLBACK
    size_out[0] = st.st_size
    mtime_out[0] = <int64_t>st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec
    return CLEAN

def audit_files(tuple fs_paths, tuple paths, bytes regular, str split, str root,
                object scanned_at, tuple limits, object fallback, object folder_label=None):
    """The rows of a FileBatch, as a ColumnSet: clean files audited here, every other entry by
    `fallback(k)` (the reference core's row dict for entry k, in order).

    `folder_label(path)`: the label of a path whose label its folder alone decides (the
    default rule, labels.class_folder), or None to leave `label` null. It is asked once per
    run of paths in one folder (folder_key_len), so a batch of one class folder's files costs
    one Python call, not one a file."""
    cdef Py_ssize_t k, n = len(fs_paths), size
    cdef ColumnSet cs = ColumnSet(n + 1)  # end_row grows it when full: n rows fit
    cdef int64_t mtime, when = timestamp_us(scanned_at)
    cdef Limits lim
    cdef Identity ident
    cdef Row row
    cdef Header* h = NULL
    cdef Buf head, tail, text
    cdef Source src
    cdef int fd, r
    cdef bytes encoded
    cdef const char* c_path
    cdef const uchar* flags = <const uchar*>PyBytes_AS_STRING(regular)
    cdef const char* folder = NULL  # the folder whose label is kept (UTF-8 of a path in paths)
    cdef Py_ssize_t folder_len = -1, key_len, utf8_len
    cdef const char* utf8
    cdef object label = None, folder_label_kept = None
    if not _configured:
        raise RuntimeError("jpegaudit._ccore: configure() was not called")
    limits_from(limits, &lim)  # before anything is allocated: it may raise
    h = <Header*>malloc(sizeof(Header))
    if h == NULL:
        raise MemoryError()
    memset(&head, 0, sizeof(Buf))
    memset(&tail, 0, sizeof(Buf))
    memset(&text, 0, sizeof(Buf))
    identity_of(&ident, split, root, when)
    # The cyclic collector off while the batch runs: this loop makes no cycles, and the small
    # tuples and strings of each row would otherwise start a collection every few hundred files.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for k in range(n):
            r = FALLBACK
            if folder_label is not None:
                path = paths[k]
                try:
                    utf8 = PyUnicode_AsUTF8AndSize(path, &utf8_len)
                    key_len = folder_key_len(utf8, utf8_len)
                except UnicodeEncodeError:  # a lone surrogate: asked for this path alone
                    key_len = -1
                if key_len >= 0 and key_len == folder_len and memcmp(utf8, folder, key_len) == 0:
                    label = folder_label_kept
                else:
                    label = folder_label(path)
                    if key_len >= 0:  # the path stays alive in `paths`: so does its UTF-8
                        folder, folder_len, folder_label_kept = utf8, key_len, label
                ident.has_label = label is not None
                if ident.has_label:
                    ident.label = PyUnicode_AsUTF8AndSize(label, &ident.label_len)
            if k < PyBytes_GET_SIZE(regular) and flags[k]:
                path = paths[k]
                if path_identity(&ident, path) == 0:
                    fs_path = fs_paths[k]
                    if fs_path is path and PyUnicode_IS_ASCII(fs_path):
                        c_path = ident.path
                    elif PyUnicode_IS_ASCII(fs_path):  # its own bytes are the name
                        c_path = PyUnicode_AsUTF8AndSize(fs_path, NULL)
                    else:
                        encoded = PyUnicode_EncodeFSDefault(fs_path)
                        c_path = PyBytes_AS_STRING(encoded)
                    fd = c_open(c_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW)
                    if fd >= 0:
                        try:
                            memset(&row, 0, sizeof(Row))
                            r = audit_open_file(fd, &size, &mtime)
                            if r == CLEAN:
                                row.bytes = size
                                row.has_mtime = True
                                row.mtime_ns = mtime
                                src.fd = fd
                                text.len = 0
                                r = audit_bytes(&src, size, &lim, &row, h, &head, &tail, &text)
                        finally:
                            close(fd)
            if r == CLEAN:
                emit_row(cs, &ident, &row, <const uchar*>head.data, &text)
            elif folder_label is None:
                cs.add_row(fallback(k))
            else:
                reference = fallback(k)
                reference["label"] = label
                cs.add_row(reference)
    finally:
        if collecting:
            gc.enable()
        free(h)
        buf_free(&head)
        buf_free(&tail)
        buf_free(&text)
    return cs

cdef int limits_from(tuple limits, Limits* lim) except -1:
    """ReadLimits as a tuple; each size at least 1, as ReadLimits checks (a zero tail window
    never grows: the search for EOI would not end)."""
    lim.head_bytes, lim.max_header_bytes, lim.tail_bytes, lim.max_tail_bytes, lim.read_tail = limits
    if (lim.head_bytes < 1 or lim.max_header_bytes < 1 or lim.tail_bytes < 1
            or lim.max_tail_bytes < 1):
        raise ValueError(f"read limits must be positive numbers of bytes: {limits!r}")
    return 0


def audit_buffer(bytes data, str path, str split, str root, object scanned_at, tuple limits,
                 object size=None):
    """One in-memory file's clean row (a one-row ColumnSet), or None where the reference core
    must decide: what the differential tests and the fuzzer compare with `audit_bytes`.
    `size`: the size a stat would have given, when larger than `data` (a file that shrank
    before it was read: every read past `data` comes back short)."""
    cdef ColumnSet cs = ColumnSet()
    cdef Limits lim
    cdef Identity ident
    cdef Row row
    cdef Header* h = NULL
    cdef Buf head, tail, text
    cdef Source src
    cdef int r
    if not _configured:
        raise RuntimeError("jpegaudit._ccore: configure() was not called")
    limits_from(limits, &lim)  # before anything is allocated: it may raise
    h = <Header*>malloc(sizeof(Header))
    if h == NULL:
        raise MemoryError()
    memset(&head, 0, sizeof(Buf))
    memset(&tail, 0, sizeof(Buf))
    memset(&text, 0, sizeof(Buf))
    memset(&row, 0, sizeof(Row))
    try:
        identity_of(&ident, split, root, timestamp_us(scanned_at))
        if path_identity(&ident, path) != 0:
            return None
        src.fd = -1
        src.mem = <const uchar*>PyBytes_AS_STRING(data)
        src.mem_len = PyBytes_GET_SIZE(data)
        row.bytes = src.mem_len if size is None else max(size, src.mem_len)
        r = audit_bytes(&src, row.bytes, &lim, &row, h, &head, &tail, &text)
        if r != CLEAN:
            return None
        emit_row(cs, &ident, &row, <const uchar*>head.data, &text)
        return cs
    finally:
        free(h)
        buf_free(&head)
        buf_free(&tail)
        buf_free(&text)


# ---------------------------------------------------------------------------------------------
# Configuration: the schema's columns and the Python core's constants, taken once from it
# ---------------------------------------------------------------------------------------------
def configure(columns, str scanner_version, not_jpeg_extensions, standard_huffman, zigzag,
              luma_base, chroma_base, size_t sha1_address=0, provenance=None,
              sha1_steps=(0, 0, 0)):
    """Take the schema (name, Arrow type name), the scanner version and the constant tables
    from the Python core, so that both cores read them from one place; `sha1_address`: the
    address of a C `SHA1(data, n, digest)` (0: the built-in one); `sha1_steps`: the addresses
    of OpenSSL's SHA1_Init, SHA1_Update, SHA1_Final (used before `sha1_address` when all three
    are given); `provenance`: the Python
    core's (`provenance.identify.structure_from_features`, `template_row`,
    `catalog.camera_family`, `software_family`) and the tables hashes its database holds,
    which this core calls per distinct header features, families and EXIF values."""
    global _ncols, _configured, _SCANNER_VERSION, _NOT_JPEG_EXTENSIONS, _STANDARD_HUFFMAN_BLOB
    global _column_names, _library_sha1, _provenance_structure, _provenance_template
    global _sha1_init, _sha1_update, _sha1_final
    global _camera_family, _software_family
    global _known_tables, _known_tables_slots, _scache, _fcache
    global _vcache
    cdef int c, k, q, r, kind, other, u
    cdef double total, closeness
    cdef bint duplicate
    cdef Py_ssize_t at
    cdef size_t init, update, final
    cdef Py_ssize_t slot
    _library_sha1 = <sha1_function>sha1_address
    init, update, final = <size_t>sha1_steps[0], <size_t>sha1_steps[1], <size_t>sha1_steps[2]
    if init and update and final:
        _sha1_init = <sha1_init_function>init
        _sha1_update = <sha1_update_function>update
        _sha1_final = <sha1_final_function>final
    else:
        _sha1_init, _sha1_update, _sha1_final = NULL, NULL, NULL
    if provenance is None:
        raise ValueError("configure() needs the provenance functions")
    (_provenance_structure, _provenance_template, _camera_family, _software_family,
     known) = provenance
    _maker_cache.clear()
    _soft_cache.clear()
    hashes = sorted({h.encode("ascii") for h in known if len(h) == 16})
    free(_known_tables)
    _known_tables_slots = 16
    while _known_tables_slots < 2 * len(hashes):
        _known_tables_slots *= 2
    _known_tables = <char*>calloc(_known_tables_slots, 16)
    if _known_tables == NULL:
        raise MemoryError()
    for known_hash in hashes:
        slot = known_tables_slot(known_hash)
        while _known_tables[16 * slot] != 0:
            slot = (slot + 1) & (_known_tables_slots - 1)
        memcpy(_known_tables + 16 * slot, <const char*>known_hash, 16)
    _scache = <SEntry*>zeroed(_scache, SCACHE_SLOTS, sizeof(SEntry))
    memset(_scache_hash, 0, sizeof(_scache_hash))
    memset(_scache_missed, 0, sizeof(_scache_missed))
    if _fcache != NULL:
        clear_family_cache()
    _fcache = <FEntry*>zeroed(_fcache, 2 * FCACHE_SLOTS, sizeof(FEntry))
    if _vcache != NULL:
        for k in range(VCACHE_SLOTS):
            free_template(_vcache[k].template)
    _vcache = <VEntry*>zeroed(_vcache, VCACHE_SLOTS, sizeof(VEntry))
    _structure_cache.clear()
    columns = list(columns)
    if len(columns) > MAX_COLUMNS:
        raise ValueError("too many columns")
    _column_names = [name for name, _ in columns]
    for c, (name, kind_name) in enumerate(columns):
        _kind[c] = _KINDS[kind_name]
    _ncols = len(columns)
    names = {name: c for c, name in enumerate(_column_names)}
    for name, f in _FIELDS.items():
        if name not in names:
            raise ValueError(f"the compiled core writes a column {name!r} the schema lacks")
        c = names[name]
        kind = _kind[c]
        expected = ("string" if name in _TEXT_FIELDS else "bool" if name in _BOOL_FIELDS
                    else "float64" if name in _FLOAT_FIELDS else "integer")
        found = ("string" if kind == K_STRING else "bool" if kind == K_BOOL
                 else "float64" if kind == K_FLOAT64 else "integer")
        if found != expected:
            raise ValueError(f"column {name!r}: the compiled core writes {expected}, the "
                             f"schema says {columns[c][1]}")
        _col[f] = c
    _SCANNER_VERSION = scanner_version.encode("utf-8")
    _NOT_JPEG_EXTENSIONS = {e.encode("ascii") for e in not_jpeg_extensions}
    tables = sorted(standard_huffman)
    if len(tables) != 4:
        raise ValueError("expected the four Annex K Huffman tables")
    _STANDARD_HUFFMAN_BLOB = b"".join(tables)
    at = 0
    for k in range(4):
        _STANDARD_HUFFMAN_AT[k] = <const uchar*>PyBytes_AS_STRING(_STANDARD_HUFFMAN_BLOB) + at
        _STANDARD_HUFFMAN_LEN[k] = len(tables[k])
        at += len(tables[k])
    make_digits()
    for k in range(LOG2_SMALL_MAX):
        LOG2_SMALL[k] = log2(<double>(k if k > 0 else 1))
    for k in range(64):
        ZIGZAG[k] = zigzag[k]
        LUMA_BASE[k] = luma_base[k]
        CHROMA_BASE[k] = chroma_base[k]
    for kind in range(2):
        for q in range(100):
            ijg_table(q + 1, kind, False, REFERENCE[kind][q])
            ijg_table(q + 1, kind, True, REFERENCE[kind][100 + q])
        for r in range(200):
            REFERENCE_HASH[kind][r] = key_hash(<const uchar*>REFERENCE[kind][r], 128)
        UNIQUE_COUNT[kind] = 0
        for r in range(200):
            duplicate = False
            for other in range(r):
                if memcmp(REFERENCE[kind][other], REFERENCE[kind][r], 128) == 0:
                    duplicate = True
                    break
            if duplicate:
                continue
            u = UNIQUE_COUNT[kind]
            total = 0.0
            for k in range(64):
                LOG_REFERENCE[kind][u][k] = log2(<double>REFERENCE[kind][r][k])
                total = total + LOG_REFERENCE[kind][u][k]
            MEAN_LOG[kind][u] = total / 64
            UNIQUE_ROWS[kind][u] = r
            UNIQUE_COUNT[kind] += 1
        order_by_mean(kind)
        for r in range(200):
            for k in range(64):
                closeness = nearbyint(CLOSE_RELATIVE * REFERENCE[kind][r][k])
                TOLERANCE[kind][r][k] = 1 if closeness < 1 else <int>closeness
        index_exact_matches(kind)
    global _qcache
    _qcache = <QEntry*>zeroed(_qcache, QCACHE_SLOTS, sizeof(QEntry))
    memset(_qcache_hash, 0, sizeof(_qcache_hash))
    memset(_qcache_missed, 0, sizeof(_qcache_missed))
    _configured = True
