"""Marker codes and the constant tables of ITU-T T.81 that the parser compares against."""

from __future__ import annotations

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
TEM = 0x01
SOF55 = 0xF7  # JPEG-LS (ITU-T T.87), which T.81 decoders such as libjpeg refuse

SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {DHT, JPG, DAC}
APP_MARKERS = frozenset(range(0xE0, 0xF0))
RST_MARKERS = frozenset(range(0xD0, 0xD8))
# Processes without quantization: lossless (SOF3, SOF7, SOF11, SOF15) and JPEG-LS.
LOSSLESS_SOF_MARKERS = frozenset({0xC3, 0xC7, 0xCB, 0xCF, SOF55})

# Process of each SOF marker. SOF9..SOF15 are the arithmetic-coded twins of SOF1..SOF7.
PROCESS_BY_SOF = {
    0xC0: "baseline",
    0xC1: "extended",
    0xC2: "progressive",
    0xC3: "lossless",
    0xC5: "differential-sequential",
    0xC6: "differential-progressive",
    0xC7: "differential-lossless",
    0xC9: "extended",
    0xCA: "progressive",
    0xCB: "lossless",
    0xCD: "differential-sequential",
    0xCE: "differential-progressive",
    0xCF: "differential-lossless",
    SOF55: "jpeg-ls",
}


def marker_name(code: int) -> str:
    if code in SOF_MARKERS:
        return f"SOF{code - 0xC0}"
    if code in APP_MARKERS:
        return f"APP{code - 0xE0}"
    if code in RST_MARKERS:
        return f"RST{code - 0xD0}"
    names = {
        SOI: "SOI",
        EOI: "EOI",
        SOS: "SOS",
        DQT: "DQT",
        DNL: "DNL",
        DRI: "DRI",
        DHP: "DHP",
        EXP: "EXP",
        DHT: "DHT",
        JPG: "JPG",
        DAC: "DAC",
        COM: "COM",
        TEM: "TEM",
        SOF55: "SOF55",
    }
    return names.get(code, f"0x{code:02x}")


# jpeg_natural_order: ZIGZAG[k] is the natural (row-major) index of the k-th coefficient in
# zig-zag order. DQT stores tables in zig-zag order; everything in this project is natural order.
ZIGZAG = (
    0, 1, 8, 16, 9, 2, 3, 10,
    17, 24, 32, 25, 18, 11, 4, 5,
    12, 19, 26, 33, 40, 48, 41, 34,
    27, 20, 13, 6, 7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36,
    29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46,
    53, 60, 61, 54, 47, 55, 62, 63,
)  # fmt: skip

# Annex K.3 example Huffman tables (libjpeg jstdhuff.c), as the DHT payload bytes after Tc/Th:
# 16 counts then the symbols. Keyed by (class, is_chroma). Encoders that do not optimize their
# coding write exactly these.
_STD_DC_LUMA = bytes([0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]) + bytes(range(12))
_STD_DC_CHROMA = bytes([0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0]) + bytes(range(12))
_STD_AC_LUMA = bytes([0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7D]) + bytes.fromhex(
    "01020300041105122131410613516107227114328191a1082342b1c11552d1f0"
    "2433627282090a161718191a25262728292a3435363738393a43444546474849"
    "4a535455565758595a636465666768696a737475767778797a83848586878889"
    "8a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3c4c5"
    "c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8"
    "f9fa"
)
_STD_AC_CHROMA = bytes([0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77]) + bytes.fromhex(
    "000102031104052131061241510761711322328108144291a1b1c109233352f0"
    "156272d10a162434e125f11718191a262728292a35363738393a434445464748"
    "494a535455565758595a636465666768696a737475767778797a828384858687"
    "88898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6b7b8b9bac2c3"
    "c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae2e3e4e5e6e7e8e9eaf2f3f4f5f6f7f8"
    "f9fa"
)
STANDARD_HUFFMAN = frozenset({_STD_DC_LUMA, _STD_DC_CHROMA, _STD_AC_LUMA, _STD_AC_CHROMA})
