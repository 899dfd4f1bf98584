"""What we know about each writer the signature database names, and the dataset pipelines that
re-encode with one of them. Pure data: docs/provenance.md cites where each fact comes from."""

from __future__ import annotations

from dataclasses import dataclass

# How a writer's quantization tables relate to its quality setting:
#   ijg       libjpeg's jpeg_set_quality: the IJG quality read from the tables is the setting
#   recorded  its own tables, one set per setting: the database holds each set it was run at
#   adaptive  tables chosen per image (guetzli): the layout names the writer, not the setting
TABLE_MODELS = ("ijg", "recorded", "adaptive")


@dataclass(frozen=True)
class WriterInfo:
    label: str  # how encoder_detail names it
    family: str  # the `encoder` value when the evidence points at this writer alone
    tables: str  # one of TABLE_MODELS
    quality_name: str = "quality"  # what its own setting is called ("-q:v", "level")


WRITERS: dict[str, WriterInfo] = {
    "pillow": WriterInfo("Pillow", "libjpeg", "ijg"),
    "pillow-presets": WriterInfo("Pillow preset (Photoshop's tables)", "libjpeg", "recorded",
                                 "preset"),
    "opencv": WriterInfo("OpenCV", "libjpeg", "ijg"),
    "cjpeg": WriterInfo("cjpeg (libjpeg-turbo)", "libjpeg", "ijg"),
    "jpegtran": WriterInfo("jpegtran (libjpeg-turbo)", "libjpeg", "ijg"),
    "exiftool-edit": WriterInfo("libjpeg file edited by exiftool", "libjpeg", "ijg"),
    "netpbm": WriterInfo("netpbm pnmtojpeg", "libjpeg", "ijg"),
    "simplejpeg": WriterInfo("simplejpeg", "libjpeg", "ijg"),
    "pyturbojpeg": WriterInfo("PyTurboJPEG", "libjpeg", "ijg"),
    "datasets": WriterInfo("Hugging Face datasets (Pillow re-encode)", "libjpeg", "ijg"),
    "torchvision": WriterInfo("torchvision encode_jpeg", "libjpeg", "ijg"),
    "imagemagick": WriterInfo("ImageMagick", "imagemagick", "ijg"),
    "graphicsmagick": WriterInfo("GraphicsMagick", "graphicsmagick", "ijg"),
    "libvips": WriterInfo("libvips", "libvips", "ijg"),
    "tensorflow": WriterInfo("TensorFlow tf.io.encode_jpeg", "tensorflow", "ijg"),
    "gimp": WriterInfo("GIMP", "gimp", "ijg"),
    "php-gd": WriterInfo("PHP GD", "gd", "ijg"),
    "ffmpeg": WriterInfo("ffmpeg (mjpeg)", "ffmpeg", "recorded", "-q:v"),
    "guetzli": WriterInfo("guetzli", "guetzli", "adaptive"),
    "jpegli": WriterInfo("jpegli", "jpegli", "recorded"),
    "mozjpeg": WriterInfo("mozjpeg", "mozjpeg", "ijg"),
    "photoshop": WriterInfo("Photoshop", "photoshop", "recorded", "level"),
}  # fmt: skip

# The writers of the default-settings group, in the order encoder_detail lists them.
GROUP_ORDER = tuple(WRITERS)

# Software families the `encoder` column takes, besides camera makers, `camera` and `unknown`.
SOFTWARE_FAMILIES = (
    "libjpeg", "mozjpeg", "jpegli", "guetzli", "photoshop", "ffmpeg", "gd", "gimp", "libvips",
    "imagemagick", "graphicsmagick", "tensorflow", "microsoft", "apple-photos", "lightroom",
    "picasa", "acdsee", "paint.net", "irfanview", "xv", "lead", "intel", "jpegmini",
    "handmade",
)  # fmt: skip

# EXIF Software text -> family, for programs that re-encode (first match, case-insensitive
# prefix or substring as written). Camera firmware versions ("Ver.1.00") match none.
SOFTWARE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("adobe photoshop lightroom", "lightroom"),
    ("lightroom", "lightroom"),
    ("adobe photoshop", "photoshop"),
    ("gimp", "gimp"),
    ("microsoft windows photo", "microsoft"),
    ("windows photo editor", "microsoft"),
    ("picasa", "picasa"),
    ("acdsee", "acdsee"),
    ("paint.net", "paint.net"),
    ("irfanview", "irfanview"),
    ("imagemagick", "imagemagick"),
    ("graphicsmagick", "graphicsmagick"),
)

# COM classes (features.COMMENT_CLASSES) that name their writer.
COMMENT_FAMILIES = {
    "gd": "gd",
    "lavc": "ffmpeg",
    "gimp": "gimp",
    "photoshop": "photoshop",
    "xv": "xv",
    "lead": "lead",
    "intel": "intel",
    "jpegmini": "jpegmini",
    "handmade": "handmade",
    "imagemagick": "imagemagick",
}

# EXIF Make (lower case, as written or its first word) -> the maker's family name.
CAMERA_MAKERS: dict[str, str] = {
    "canon": "canon", "nikon": "nikon", "nikon corporation": "nikon", "sony": "sony",
    "fujifilm": "fujifilm", "olympus": "olympus", "olympus imaging corp.": "olympus",
    "olympus optical co.,ltd": "olympus", "olympus corporation": "olympus",
    "panasonic": "panasonic", "pentax": "pentax", "pentax corporation": "pentax",
    "samsung": "samsung", "samsung techwin": "samsung", "apple": "apple", "kodak": "kodak",
    "eastman kodak company": "kodak", "konica minolta": "konica-minolta", "minolta": "konica-minolta",
    "ricoh": "ricoh", "caplio": "ricoh", "casio": "casio", "casio computer co.,ltd.": "casio",
    "casio computer co.,ltd": "casio", "sanyo": "sanyo", "sanyo electric co.,ltd.": "sanyo",
    "hmd global": "nokia", "nokia": "nokia", "xiaomi": "xiaomi", "huawei": "huawei",
    "google": "google", "htc": "htc", "lg electronics": "lg", "motorola": "motorola",
    "oneplus": "oneplus", "jolla": "jolla", "wwl": "polaroid", "polaroid": "polaroid",
    "leica": "leica", "sigma": "sigma", "hasselblad": "hasselblad", "gopro": "gopro",
    "dji": "dji", "reconyx": "reconyx", "polyphony digital inc.": "polyphony",
    "nintendo": "nintendo",
}  # fmt: skip
CAMERA_FAMILIES = tuple(sorted(set(CAMERA_MAKERS.values())))

# Every value of the `encoder` column.
ENCODER_FAMILIES = (*SOFTWARE_FAMILIES, *CAMERA_FAMILIES, "camera", "unknown")
# Every value of `encoder_confidence`, strongest first.
CONFIDENCE_LEVELS = ("exact", "family", "settings", "none")


def camera_family(make: str | None) -> str | None:
    """The maker family of an EXIF Make, `camera` for a maker not listed, None for none."""
    if not make:
        return None
    text = make.strip().lower()
    if text in CAMERA_MAKERS:
        return CAMERA_MAKERS[text]
    first = text.split()[0] if text.split() else ""
    return CAMERA_MAKERS.get(first, "camera")


def software_family(software: str | None) -> str | None:
    if not software:
        return None
    text = software.strip().lower()
    for needle, family in SOFTWARE_PATTERNS:
        if needle in text:
            return family
    return None


@dataclass(frozen=True)
class Pipeline:
    """A dataset tool that re-encodes silently, and the writer settings it uses (verified in
    its code: docs/provenance.md cites file and line)."""

    name: str
    writer: str  # a WRITERS key
    quality: int
    subsampling: str
    note: str


PIPELINES: tuple[Pipeline, ...] = (
    Pipeline("img2dataset default", "opencv", 95, "4:2:0",
             "Resizer(encode_quality=95) re-encodes with cv2.imencode"),
    Pipeline("OpenCV default", "opencv", 95, "4:2:0", "cv2.imencode without parameters"),
    Pipeline("TensorFlow default", "tensorflow", 95, "4:2:0", "tf.io.encode_jpeg defaults"),
    Pipeline("FFCV RGBImageField", "opencv", 90, "4:2:0",
             "jpeg_quality=90 through cv2.imencode"),
    Pipeline("Hugging Face datasets re-encode", "pillow", 75, "4:2:0",
             "image_to_bytes saves an in-memory JPEG PIL image with Pillow's defaults"),
    Pipeline("MosaicML streaming 'jpeg'", "pillow", 75, "4:2:0",
             "JPEG.encode saves PIL images without a file with Pillow's defaults"),
    Pipeline("Pillow default", "pillow", 75, "4:2:0", "Image.save(format='JPEG')"),
    Pipeline("cjpeg default", "cjpeg", 75, "4:2:0", "cjpeg without -quality"),
    Pipeline("simplejpeg default", "simplejpeg", 85, "4:4:4", "encode_jpeg defaults"),
    Pipeline("PyTurboJPEG default", "pyturbojpeg", 85, "4:2:2", "TurboJPEG.encode defaults"),
)  # fmt: skip


def settings_signature(quality: int | None, subsampling: str | None, huffman: str,
                       progressive: bool) -> str:  # fmt: skip
    """The settings a libjpeg-based pipeline chooses, as one string: `q95 4:2:0 standard`."""
    coding = "progressive" if progressive else huffman
    return f"q{quality} {subsampling} {coding}"


def pipelines_consistent_with(
    quality: int | None, subsampling: str | None, huffman: str, progressive: bool
) -> tuple[str, ...]:
    """Pipelines whose defaults write these IJG settings (standard Huffman, baseline)."""
    if quality is None or progressive or huffman != "standard":
        return ()
    return tuple(p.name for p in PIPELINES if p.quality == quality and p.subsampling == subsampling)
