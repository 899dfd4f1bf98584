"""Every real JPEG writer the signature database is built from, behind one interface.

Each `Writer` says whether it runs here, its version, the grid of settings it is run at, and how
to encode one RGB image at one setting. `scripts/build_signatures.py` runs them all to build
`src/jpegaudit/provenance/data/`; `tests/provenance/test_writers.py` runs them again and checks
that every file they write is identified as its writer (or as the group it cannot be told apart
from). Nothing here is imported by the package: it is I/O (subprocesses, temporary files).

Heavy writers (TensorFlow, GIMP, torchvision) run only where they are installed: TensorFlow in its
own virtual environment (`JPEGAUDIT_TF_PYTHON`, default
/opt/jpegaudit-tensorflow-venv/bin/python, the environment `.ci/writers.sh` and
`.ci/tensorflow.sh` share).
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Setting = dict  # {"quality": 90, "subsampling": "4:2:0", "progressive": True, "optimize": True}
HEAVY = ("tensorflow", "gimp", "torchvision")
TF_PYTHON = os.environ.get("JPEGAUDIT_TF_PYTHON", "/opt/jpegaudit-tensorflow-venv/bin/python")


def source_image(width: int = 64, height: int = 48, seed: int = 0) -> np.ndarray:
    """A deterministic RGB image with edges, gradients and noise (uint8, height x width x 3)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack(
        [(x * 255 // max(width - 1, 1)), (y * 255 // max(height - 1, 1)), ((x ^ y) * 8) % 256],
        axis=-1,
    ).astype(np.int16)
    img += rng.integers(-12, 13, size=img.shape, dtype=np.int16)
    return np.clip(img, 0, 255).astype(np.uint8)


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def _ppm(image: np.ndarray) -> bytes:
    h, w, _ = image.shape
    return b"P6\n%d %d\n255\n" % (w, h) + image.tobytes()


def _run(args: list[str], stdin: bytes | None = None) -> bytes:
    done = subprocess.run(args, input=stdin, capture_output=True, check=False, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr[-400:]!r}")
    return done.stdout


def _with_files(image: np.ndarray, suffix_in: str, make_args: Callable[[str, str], list[str]]):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in" + suffix_in)
        out = os.path.join(tmp, "out.jpg")
        Path(src).write_bytes(_ppm(image) if suffix_in == ".ppm" else _png(image))
        _run(make_args(src, out))
        return Path(out).read_bytes()


def _version_of(args: list[str], line: int = 0) -> str:
    try:
        done = subprocess.run(args, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    text = (done.stdout or done.stderr).decode("utf-8", "replace").strip().splitlines()
    return text[line].strip() if len(text) > line else "?"


def _module_version(name: str) -> str:
    import importlib.metadata as md

    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "?"


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def grid(
    qualities: Iterable[int | None],
    subsampling: Iterable[str | None] = (None,),
    progressive: Iterable[bool] = (False,),
    optimize: Iterable[bool] = (False,),
) -> list[Setting]:
    """Every combination; None and False are left out of the setting (the writer's default)."""
    out = []
    for q in qualities:
        for s in subsampling:
            for p in progressive:
                for o in optimize:
                    setting: Setting = {}
                    if q is not None:
                        setting["quality"] = q
                    if s is not None:
                        setting["subsampling"] = s
                    if p:
                        setting["progressive"] = True
                    if o:
                        setting["optimize"] = True
                    out.append(setting)
    return out


@dataclass(frozen=True)
class Writer:
    name: str  # the writer as the database names it: "pillow", "cjpeg", "php-gd"
    available: Callable[[], bool]
    version: Callable[[], str]
    settings: Callable[[], list[Setting]]
    encode: Callable[[np.ndarray, Setting], bytes]
    # Writers that need a batch call (one interpreter start for many files) override this.
    encode_many: Callable[[np.ndarray, list[Setting]], list[bytes]] | None = None
    heavy: bool = False
    note: str = ""
    defaults: Setting = field(default_factory=dict)  # what `{}` means for this writer

    def run(self, image: np.ndarray, settings: list[Setting]) -> list[bytes]:
        if self.encode_many is not None:
            return self.encode_many(image, settings)
        return [self.encode(image, s) for s in settings]


QUALITIES = (None, 50, 75, 90, 95, 100)
SUB3 = (None, "4:4:4", "4:2:2", "4:2:0")


# -- Pillow -------------------------------------------------------------------------------------
_PIL_SUB = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


def _pillow(image: np.ndarray, s: Setting) -> bytes:
    from PIL import Image

    kw: dict = {}
    if "quality" in s:
        kw["quality"] = s["quality"]
    if "subsampling" in s:
        kw["subsampling"] = _PIL_SUB[s["subsampling"]]
    if s.get("progressive"):
        kw["progressive"] = True
    if s.get("optimize"):
        kw["optimize"] = True
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def _pillow_presets() -> list[Setting]:
    from PIL import JpegPresets

    return [{"quality": name} for name in JpegPresets.presets]


# -- OpenCV -------------------------------------------------------------------------------------
def _opencv(image: np.ndarray, s: Setting) -> bytes:
    import cv2

    params: list[int] = []
    if "quality" in s:
        params += [cv2.IMWRITE_JPEG_QUALITY, s["quality"]]
    if "subsampling" in s:
        factor = {
            "4:4:4": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444,
            "4:2:2": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
            "4:2:0": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
        }[s["subsampling"]]
        params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, factor]
    if s.get("progressive"):
        params += [cv2.IMWRITE_JPEG_PROGRESSIVE, 1]
    if s.get("optimize"):
        params += [cv2.IMWRITE_JPEG_OPTIMIZE, 1]
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(image[:, :, ::-1]), params)
    assert ok
    return buf.tobytes()


# -- libjpeg-turbo command line ----------------------------------------------------------------
_SAMPLE = {"4:4:4": "1x1", "4:2:2": "2x1", "4:2:0": "2x2"}


def _cjpeg(image: np.ndarray, s: Setting) -> bytes:
    args = ["cjpeg"]
    if "quality" in s:
        args += ["-quality", str(s["quality"])]
    if "subsampling" in s:
        args += ["-sample", _SAMPLE[s["subsampling"]]]
    if s.get("progressive"):
        args.append("-progressive")
    if s.get("optimize"):
        args.append("-optimize")
    return _run(args, _ppm(image))


def _jpegtran(image: np.ndarray, s: Setting) -> bytes:
    source = _cjpeg(image, {"quality": s.get("source_quality", 90)})
    args = ["jpegtran", "-copy", s.get("copy", "comments")]
    if s.get("progressive"):
        args.append("-progressive")
    if s.get("optimize"):
        args.append("-optimize")
    return _run(args, source)


def _exiftool_edit(image: np.ndarray, s: Setting) -> bytes:
    """A cjpeg file whose metadata exiftool then edited (tables and coding untouched)."""
    source = _cjpeg(image, {"quality": s.get("source_quality", 90)})
    edits = {
        "artist": ["-Artist=jpegaudit"],
        "make": ["-Make=Canon", "-Model=Canon EOS 40D"],
        "comment": ["-Comment=edited"],
    }[s["edit"]]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.jpg")
        Path(path).write_bytes(source)
        _run(["exiftool", "-q", "-overwrite_original", *edits, path])
        return Path(path).read_bytes()


# -- ImageMagick, GraphicsMagick, libvips, netpbm, ffmpeg, guetzli, PHP GD ---------------------
def _magick(program: list[str], interlace: str) -> Callable[[np.ndarray, Setting], bytes]:
    def encode(image: np.ndarray, s: Setting) -> bytes:
        opts: list[str] = []
        if "quality" in s:
            opts += ["-quality", str(s["quality"])]
        if "subsampling" in s:
            opts += ["-sampling-factor", s["subsampling"]]
        if s.get("progressive"):
            opts += ["-interlace", interlace]
        return _with_files(image, ".png", lambda i, o: [*program, i, *opts, o])

    return encode


def _vips(image: np.ndarray, s: Setting) -> bytes:
    opts = []
    if "quality" in s:
        opts.append(f"Q={s['quality']}")
    if s.get("subsampling") == "4:4:4":
        opts.append("subsample_mode=off")
    if s.get("progressive"):
        opts.append("interlace")
    if s.get("optimize"):
        opts.append("optimize_coding")
    suffix = "[" + ",".join(opts) + "]" if opts else ""
    return _with_files(image, ".png", lambda i, o: ["vips", "copy", i, o + suffix])


def _netpbm(image: np.ndarray, s: Setting) -> bytes:
    args = ["pnmtojpeg"]
    if "quality" in s:
        args.append(f"--quality={s['quality']}")
    if s.get("progressive"):
        args.append("--progressive")
    if s.get("optimize"):
        args.append("--optimize")
    if "subsampling" in s:
        args.append(
            "--sample=" + {"4:4:4": "1x1,1x1,1x1", "4:2:0": "2x2,1x1,1x1"}[s["subsampling"]]
        )
    return _run(args, _ppm(image))


def _ffmpeg(image: np.ndarray, s: Setting) -> bytes:
    def args(i: str, o: str) -> list[str]:
        a = ["ffmpeg", "-v", "error", "-y", "-i", i, "-frames:v", "1"]
        if "quality" in s:
            a += ["-q:v", str(s["quality"])]
        if "subsampling" in s:
            a += ["-pix_fmt", {"4:4:4": "yuvj444p", "4:2:2": "yuvj422p", "4:2:0": "yuvj420p"}[
                s["subsampling"]
            ]]  # fmt: skip
        return [*a, o]

    return _with_files(image, ".png", args)


def _guetzli(image: np.ndarray, s: Setting) -> bytes:
    q = ["--quality", str(s["quality"])] if "quality" in s else []
    return _with_files(image, ".png", lambda i, o: ["guetzli", *q, i, o])


_PHP = """$im = imagecreatefrompng($argv[1]); imagejpeg($im, $argv[2], (int)$argv[3]);"""


def _php_gd(image: np.ndarray, s: Setting) -> bytes:
    q = str(s.get("quality", -1))
    return _with_files(image, ".png", lambda i, o: ["php", "-r", _PHP, i, o, q])


# -- Python libraries on libjpeg-turbo, jpegli ---------------------------------------------------
def _simplejpeg(image: np.ndarray, s: Setting) -> bytes:
    import simplejpeg

    kw: dict = {}
    if "quality" in s:
        kw["quality"] = s["quality"]
    if "subsampling" in s:
        kw["colorsubsampling"] = s["subsampling"].replace(":", "")
    return simplejpeg.encode_jpeg(np.ascontiguousarray(image), **kw)


def _pyturbojpeg(image: np.ndarray, s: Setting) -> bytes:
    import turbojpeg

    kw: dict = {}
    if "quality" in s:
        kw["quality"] = s["quality"]
    if "subsampling" in s:
        kw["jpeg_subsample"] = {
            "4:4:4": turbojpeg.TJSAMP_444,
            "4:2:2": turbojpeg.TJSAMP_422,
            "4:2:0": turbojpeg.TJSAMP_420,
        }[s["subsampling"]]
    flags = 0
    if s.get("progressive"):
        flags |= turbojpeg.TJFLAG_PROGRESSIVE
    return turbojpeg.TurboJPEG().encode(np.ascontiguousarray(image[:, :, ::-1]), flags=flags, **kw)


def _mozjpeg(image: np.ndarray, s: Setting) -> bytes:
    """mozjpeg's jpegtran (mozjpeg-lossless-optimization) re-coding a cjpeg file: mozjpeg's
    own header layout and progressive script around libjpeg's tables."""
    import mozjpeg_lossless_optimization as mlo

    return mlo.optimize(_cjpeg(image, {"quality": s.get("source_quality", 90)}))


def _jpegli(image: np.ndarray, s: Setting) -> bytes:
    import pyjpegli

    h, w, _ = image.shape
    kw = {"quality": s["quality"]} if "quality" in s else {}
    return pyjpegli.encode(np.ascontiguousarray(image).tobytes(), w, h, **kw)


def _datasets(image: np.ndarray, s: Setting) -> bytes:
    """Hugging Face `datasets`: an Image feature given a PIL image that was opened from a JPEG
    re-encodes it (`image_to_bytes`), here from a Pillow q95 4:4:4 original."""
    import datasets
    from PIL import Image

    original = _pillow(image, {"quality": 95, "subsampling": "4:4:4"})
    pil = Image.open(io.BytesIO(original))
    encoded = datasets.Image().encode_example(pil)
    return encoded["bytes"] if encoded.get("bytes") else Path(encoded["path"]).read_bytes()


# -- heavy writers -------------------------------------------------------------------------------
_TF_SCRIPT = r"""
import io, json, sys
import numpy as np
import tensorflow as tf
payload = json.loads(sys.stdin.readline())
image = np.frombuffer(bytes.fromhex(payload["image"]), np.uint8).reshape(payload["shape"])
out = []
for s in payload["settings"]:
    kw = {}
    if "quality" in s: kw["quality"] = s["quality"]
    if s.get("progressive"): kw["progressive"] = True
    if s.get("optimize"): kw["optimize_size"] = True
    if s.get("subsampling") == "4:4:4": kw["chroma_downsampling"] = False
    out.append(tf.io.encode_jpeg(image, **kw).numpy().hex())
sys.stdout.write(json.dumps(out))
"""


def _tf_available() -> bool:
    return (
        os.access(TF_PYTHON, os.X_OK)
        and subprocess.run(
            [TF_PYTHON, "-c", "import tensorflow"], capture_output=True, check=False
        ).returncode
        == 0
    )


def _tf_many(image: np.ndarray, settings: list[Setting]) -> list[bytes]:
    import json

    payload = {"image": image.tobytes().hex(), "shape": list(image.shape), "settings": settings}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    done = subprocess.run(
        [TF_PYTHON, "-c", _TF_SCRIPT],
        input=(json.dumps(payload) + "\n").encode(),
        capture_output=True,
        env=env,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"tensorflow writer failed: {done.stderr[-600:]!r}")
    return [bytes.fromhex(h) for h in json.loads(done.stdout)]


def _tf_version() -> str:
    return _version_of([TF_PYTHON, "-c", "import tensorflow as tf; print(tf.__version__)"], -1)


# GIMP 2.10's JPEG export: file-jpeg-save with the export dialog's defaults (quality 90, optimize,
# progressive off, 4:2:0 ("2x2,1x1,1x1" is subsmp 2 in 2.10), "Created with GIMP" comment).
_GIMP_SCHEME = """
(define (export in out quality optimize progressive subsmp)
  (let* ((image (car (gimp-file-load RUN-NONINTERACTIVE in in)))
         (drawable (car (gimp-image-get-active-drawable image))))
    (file-jpeg-save RUN-NONINTERACTIVE image drawable out out
                    quality 0 optimize progressive "Created with GIMP" subsmp 1 0 2)
    (gimp-image-delete image)))
"""
_GIMP_SUBSMP = {"4:2:0": 0, "4:2:2": 1, "4:4:4": 2}  # file-jpeg-save: 0 2x2, 1 2x1, 2 1x1


def _gimp_many(image: np.ndarray, settings: list[Setting]) -> list[bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "in.png")
        Path(src).write_bytes(_png(image))
        calls = []
        outs = []
        for k, s in enumerate(settings):
            out = os.path.join(tmp, f"out{k}.jpg")
            outs.append(out)
            q = s.get("quality", 90) / 100
            calls.append(
                f'(export "{src}" "{out}" {q} {1 if s.get("optimize", True) else 0} '
                f"{1 if s.get('progressive') else 0} {_GIMP_SUBSMP[s.get('subsampling', '4:2:0')]})"
            )
        script = _GIMP_SCHEME + "\n".join(calls) + "\n(gimp-quit 0)"
        _run(["gimp", "-i", "-d", "-f", "--batch-interpreter", "plug-in-script-fu-eval",
              "-b", script])  # fmt: skip
        return [Path(o).read_bytes() for o in outs]


def _torchvision(image: np.ndarray, s: Setting) -> bytes:
    import torch
    from torchvision.io import encode_jpeg

    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)
    kw = {"quality": s["quality"]} if "quality" in s else {}
    return bytes(encode_jpeg(tensor, **kw).numpy())


def _which(name: str) -> Callable[[], bool]:
    return lambda: shutil.which(name) is not None


def _php_has_gd() -> bool:
    if shutil.which("php") is None:
        return False
    done = subprocess.run(
        ["php", "-r", "exit(function_exists('imagejpeg') ? 0 : 1);"], capture_output=True
    )
    return done.returncode == 0


@functools.cache
def writers() -> tuple[Writer, ...]:
    pil_v = lambda: _module_version("pillow")  # noqa: E731
    return (
        Writer("pillow", lambda: _importable("PIL"), pil_v,
               lambda: grid(QUALITIES, SUB3, (False, True), (False, True)), _pillow,
               defaults={"quality": 75, "subsampling": "4:2:0"}),
        Writer("pillow-presets", lambda: _importable("PIL"), pil_v, _pillow_presets, _pillow,
               note="Pillow's JpegPresets: Photoshop's tables"),
        Writer("opencv", lambda: _importable("cv2"), lambda: _module_version("opencv-python-headless"),
               lambda: grid(QUALITIES, SUB3, (False, True), (False, True)), _opencv,
               defaults={"quality": 95, "subsampling": "4:2:0"}),
        Writer("cjpeg", _which("cjpeg"), lambda: _version_of(["cjpeg", "-version"]),
               lambda: grid((*QUALITIES, 10, 20), SUB3, (False, True), (False, True)), _cjpeg,
               defaults={"quality": 75, "subsampling": "4:2:0"}),
        Writer("jpegtran", _which("jpegtran"), lambda: _version_of(["jpegtran", "-version"]),
               lambda: [{}, {"optimize": True}, {"progressive": True}, {"copy": "none"}],
               _jpegtran, note="re-codes a cjpeg q90 file without decoding it"),
        Writer("exiftool-edit", lambda: shutil.which("exiftool") is not None
               and shutil.which("cjpeg") is not None,
               lambda: _version_of(["exiftool", "-ver"]),
               lambda: [{"edit": e} for e in ("artist", "make", "comment")], _exiftool_edit,
               note="a cjpeg q90 file whose metadata exiftool edited"),
        Writer("imagemagick", _which("convert"), lambda: _version_of(["convert", "-version"]),
               lambda: grid(QUALITIES, SUB3, (False, True)), _magick(["convert"], "JPEG"),
               defaults={"quality": 92, "subsampling": "4:2:0"}),
        Writer("graphicsmagick", _which("gm"), lambda: _version_of(["gm", "version"]),
               lambda: grid(QUALITIES, SUB3, (False, True)), _magick(["gm", "convert"], "Line"),
               defaults={"quality": 75, "subsampling": "4:2:0"}),
        Writer("libvips", _which("vips"), lambda: _version_of(["vips", "--version"]),
               lambda: grid(QUALITIES, (None, "4:4:4"), (False, True), (False, True)), _vips,
               defaults={"quality": 75, "subsampling": "4:2:0"}),
        Writer("netpbm", _which("pnmtojpeg"), lambda: _version_of(["pnmtojpeg", "--version"]),
               lambda: grid(QUALITIES, (None, "4:4:4"), (False, True), (False, True)), _netpbm,
               defaults={"quality": 75, "subsampling": "4:2:0"}),
        Writer("ffmpeg", _which("ffmpeg"), lambda: _version_of(["ffmpeg", "-version"]),
               lambda: grid((None, 2, 5, 10, 20, 31), SUB3), _ffmpeg,
               note="quality is ffmpeg's -q:v (qscale 1..31, lower is finer)"),
        Writer("guetzli", _which("guetzli"), lambda: "guetzli " + _deb_version("guetzli"),
               lambda: grid((None, 84, 90)), _guetzli, defaults={"quality": 95}),
        Writer("php-gd", _php_has_gd, lambda: _version_of(
            ["php", "-r", 'echo "PHP ", PHP_VERSION, " GD ", gd_info()["GD Version"];'], -1),
               lambda: grid((None, 50, 75, 90, 95)), _php_gd, defaults={"quality": 75}),
        Writer("simplejpeg", lambda: _importable("simplejpeg"),
               lambda: _module_version("simplejpeg"),
               lambda: grid(QUALITIES, SUB3), _simplejpeg,
               defaults={"quality": 85, "subsampling": "4:4:4"}),
        Writer("pyturbojpeg", lambda: _importable("turbojpeg"),
               lambda: _module_version("PyTurboJPEG"),
               lambda: grid(QUALITIES, SUB3, (False, True)), _pyturbojpeg,
               defaults={"quality": 85, "subsampling": "4:2:2"}),
        Writer("mozjpeg", lambda: _importable("mozjpeg_lossless_optimization"),
               lambda: "mozjpeg-lossless-optimization "
               + _module_version("mozjpeg-lossless-optimization"),
               lambda: [{"source_quality": q} for q in (50, 75, 90, 95)], _mozjpeg,
               note="mozjpeg's jpegtran re-coding cjpeg files (no mozjpeg encoder installs)"),
        Writer("jpegli", lambda: _importable("pyjpegli"), lambda: _module_version("pyjpegli"),
               lambda: grid(QUALITIES), _jpegli, defaults={"quality": 75}),
        Writer("datasets", lambda: _importable("datasets") and _importable("PIL"),
               lambda: _module_version("datasets"), lambda: [{}], _datasets,
               note="Hugging Face datasets' Image feature re-encoding a JPEG-opened PIL image"),
        Writer("tensorflow", _tf_available, _tf_version,
               lambda: grid(QUALITIES, (None, "4:4:4"), (False, True), (False, True)),
               lambda image, s: _tf_many(image, [s])[0], encode_many=_tf_many, heavy=True,
               defaults={"quality": 95, "subsampling": "4:2:0"}),
        Writer("gimp", _which("gimp"), lambda: _version_of(["gimp", "--version"]),
               lambda: grid((None, 50, 75, 95), (None, "4:4:4"), (False, True)),
               lambda image, s: _gimp_many(image, [s])[0], encode_many=_gimp_many, heavy=True,
               defaults={"quality": 90, "subsampling": "4:2:0", "optimize": True}),
        Writer("torchvision", lambda: _importable("torchvision"),
               lambda: _module_version("torchvision"), lambda: grid(QUALITIES), _torchvision,
               heavy=True, defaults={"quality": 75}),
    )  # fmt: skip


def _deb_version(package: str) -> str:
    return _version_of(["dpkg-query", "-W", "-f=${Version}", package])


def writer(name: str) -> Writer:
    return next(w for w in writers() if w.name == name)
