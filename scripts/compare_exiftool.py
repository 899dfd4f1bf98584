"""Compare `encoder`/`encoder_quality` with exiftool's JPEGDigest, file by file.

    python scripts/compare_exiftool.py                       # corpora + every writer's default
    python scripts/compare_exiftool.py --markdown docs/provenance-exiftool.md

exiftool's JPEGDigest is an MD5 of the DQT segments looked up in exiftool's own table; it is an
oracle here, never a source of our database. For every file where it names a software or camera
and a quality, the verdicts must agree (same family, same quality) or differ for one of the
documented reasons below; files it calls "Unknown" are counted, not compared.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import writers as w
from build_signatures import CORPORA, audit

from jpegaudit.jpeg import parse_jpeg
from jpegaudit.provenance.catalog import CAMERA_FAMILIES, WRITERS

# Families whose files carry IJG tables when they use libjpeg's quality scaling.
IJG_FAMILIES = {info.family for info in WRITERS.values() if info.tables == "ijg"}
IJG = re.compile(r"Independent JPEG Group library \(used by many applications\), Quality (\d+)")
PHOTOSHOP = re.compile(r"Adobe Photoshop, Quality (\d+)")
SAVE_FOR_WEB = re.compile(r"Adobe Photoshop, Save for web, Quality (\d+)")


@dataclass(frozen=True)
class Comparison:
    file: str
    digest: str
    ours: str  # encoder, quality, confidence
    verdict: str  # "agree", "differ", "not compared"
    reason: str


def exiftool(paths: list[Path]) -> dict[str, str]:
    done = subprocess.run(
        ["exiftool", "-json", "-q", "-q", "-JPEGDigest", *map(str, paths)],
        capture_output=True,
        check=False,
    )
    return {
        Path(r["SourceFile"]).as_posix(): r.get("JPEGDigest", "")
        for r in json.loads(done.stdout or b"[]")
    }


def compare(name: str, digest: str, row: dict) -> Comparison:
    row = {**row, "dqt_split": _dqt_split(row)}
    enc, q, conf = row["encoder"], row["encoder_quality"], row["encoder_confidence"]
    ours = f"{enc}, {q if q is not None else '-'}, {conf}"
    ijg_q = row["quality_luma"] if row["quality_exact"] else None

    def result(ok: bool, reason: str = "") -> Comparison:
        return Comparison(name, digest, ours, "agree" if ok else "differ", reason)

    if not digest or digest.startswith("Unknown"):
        named = enc not in ("unknown",)
        return Comparison(name, digest or "-", ours, "not compared",
                          "exiftool names none; we name " + enc if named else "neither names it")  # fmt: skip
    if m := SAVE_FOR_WEB.fullmatch(digest):
        return result(enc == "photoshop" and q == int(m.group(1)))
    if m := PHOTOSHOP.fullmatch(digest):
        if enc == "photoshop" and q == int(m.group(1)):
            return result(True)
        if enc == "photoshop" and q is None:
            return result(False, "Photoshop named; its level is not stated in this file and "
                          "these tables are not among the levels we recorded")  # fmt: skip
        return result(False, f"tables are Photoshop's; we read {enc}")
    if m := IJG.match(digest):
        quality = int(m.group(1))
        if ijg_q != quality:
            return result(False, f"IJG quality {ijg_q} from the tables, exiftool {quality}")
        if enc in IJG_FAMILIES or enc in ("gimp", "microsoft", "lightroom", "photoshop"):
            same_q = q == quality or q is None
            return result(same_q, "" if same_q else f"writer's setting {q} on another scale")
        if enc in CAMERA_FAMILIES or enc == "camera":
            return result(False, "same IJG tables and quality; EXIF names the camera maker, "
                          "exiftool names the table family (libjpeg's)")  # fmt: skip
        return result(False, f"IJG tables q{quality}; we read {enc}")
    if ijg_q is not None:
        return result(enc in IJG_FAMILIES or enc in CAMERA_FAMILIES,
                      f"tables are exactly IJG q{ijg_q} (DQT split {row['dqt_split']}); "
                      "exiftool's digest hashes the DQT segments as split and lists this "
                      "split under another name")  # fmt: skip
    # A camera (or another program) named by exiftool's table.
    maker = digest.split(",")[0].split()[0].lower()
    if enc in CAMERA_FAMILIES or enc == "camera":
        if maker.startswith(enc) or enc.startswith(maker):
            return result(True)
        return result(False, f"exiftool's digest names a {maker} table set; the EXIF Make "
                      f"of this file is {row['exif_make']!r} (makers share table sets)")  # fmt: skip
    return result(False, f"exiftool names '{digest}'; we read {enc} ({row['encoder_detail']})")


def _dqt_split(row: dict) -> str:
    segments = row.get("_dqt_segments")
    if not segments:
        return "?"
    return " ".join("DQT(" + ",".join(map(str, slots)) + ")" for slots in segments)


def _audit(data: bytes) -> dict:
    return {**audit(data), "_dqt_segments": parse_jpeg(data).dqt_segments}


def corpus_files(corpora: Path) -> list[Path]:
    return sorted(p for p in corpora.rglob("*")
                  if p.is_file() and p.suffix.lower() in (".jpg", ".jpeg", ".mpo"))  # fmt: skip


def run(corpora: Path, with_writers: bool = True) -> list[Comparison]:
    out: list[Comparison] = []
    files = corpus_files(corpora) if corpora.is_dir() else []
    digests = exiftool(files)
    for path in files:
        row = _audit(path.read_bytes())
        if row["error"] is not None or row["qtables_hash"] is None:
            continue
        out.append(compare(path.relative_to(corpora).as_posix(),
                           digests.get(path.as_posix(), ""), row))  # fmt: skip
    if with_writers:
        image = w.source_image(88, 56, seed=7)
        with tempfile.TemporaryDirectory() as tmp:
            made = {}
            for writer in w.writers():
                if not writer.available() or writer.heavy:
                    continue
                settings = [{}] if {} in writer.settings() else writer.settings()[:1]
                path = Path(tmp) / f"{writer.name}.jpg"
                path.write_bytes(writer.run(image, settings)[0])
                made[writer.name] = (path, settings[0])
            digests = exiftool([p for p, _ in made.values()])
            for name, (path, setting) in made.items():
                out.append(compare(f"writer: {name} {json.dumps(setting) if setting else 'defaults'}",
                                   digests.get(path.as_posix(), ""), _audit(path.read_bytes())))  # fmt: skip
    return out


def markdown(rows: list[Comparison]) -> str:
    counts = {k: sum(r.verdict == k for r in rows) for k in ("agree", "differ", "not compared")}
    named_by_us = sum(r.verdict == "not compared" and r.reason.startswith("exiftool names none;")
                      for r in rows)  # fmt: skip
    lines = [
        "# Provenance against exiftool's JPEGDigest",
        "",
        "Written by `python scripts/compare_exiftool.py --markdown docs/provenance-exiftool.md` "
        "(corpora in `../shared/corpora` and each light writer's default output; exiftool "
        f"{_exiftool_version()}). Checked by `tests/against_oracles/test_provenance_exiftool.py`.",
        "",
        f"- {len(rows)} files: **{counts['agree']} agree**, {counts['differ']} differ for the "
        f"reason given, {counts['not compared']} not compared (exiftool's digest is "
        f'"Unknown"; of those, we name the writer of {named_by_us}).',
        '- Agreement: the same family (exiftool\'s "Independent JPEG Group library" is any '
        "libjpeg-based writer) and the same quality (IJG quality, Photoshop's level, Save for "
        "Web quality).",
        "",
        "| file | exiftool JPEGDigest | ours (encoder, quality, confidence) | verdict | why |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [r.file, r.digest, r.ours, r.verdict, r.reason]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def _exiftool_version() -> str:
    done = subprocess.run(["exiftool", "-ver"], capture_output=True, check=False)
    return done.stdout.decode().strip() or "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=Path, default=CORPORA)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    rows = run(args.corpora)
    text = markdown(rows)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
