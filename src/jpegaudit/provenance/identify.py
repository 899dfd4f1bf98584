"""Which software wrote a file: the header's features against the signature database.

Two steps, so that a scan pays for the expensive one once per distinct header:
- `structure_of(header, tables)`: everything the header says except its EXIF strings (the
  layout, its hash, the tables' evidence, the writers' own quality statements). Cached by the
  audit with the header's other columns.
- `judge(structure, make, model, software)`: the verdict, memoised on its arguments; EXIF is
  per file, so a cache hit on a header with EXIF costs one call of a memoised function.

Order of evidence (docs/provenance.md): a writer's own statement in the header (Photoshop's
APP13 quality, the Ducky quality, gd's and ffmpeg's comments); an exact layout recorded for a
writer whose tables fit; a layout recorded with other tables; tables recorded for one writer;
EXIF Software naming a program that re-encodes; EXIF Make; IJG tables alone ("settings
only"); nothing.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import NamedTuple

from jpegaudit.jpeg.header import JpegHeader
from jpegaudit.provenance import catalog as c
from jpegaudit.provenance import features as f
from jpegaudit.provenance.database import Entry, SignatureDatabase, database

MAX_LISTED = 12  # writers named in a detail
PROGRESSIVE_SOF = frozenset({0xC2, 0xC6, 0xCA, 0xCE})


class TableEvidence(NamedTuple):
    """What the quality estimate says of the frame's tables (audit.quality_columns)."""

    tables_hash: str | None
    exact: bool | None  # every table is an IJG table
    quality_luma: int | None
    quality_chroma: int | None
    bits: int | None


class Structure(NamedTuple):
    """Everything the header says of its writer but its EXIF strings. NamedTuples here: one is
    built per distinct header, and the memoised `judge` hashes it for every file."""

    layout: str
    layout_hash: str
    tables: TableEvidence
    subsampling: str | None
    progressive: bool
    huffman: str
    comment_class: str
    gd_quality: int | None
    photoshop_quality: int | None
    ducky_quality: int | None
    adobe: bool
    app13: bool


class Verdict(NamedTuple):  # the first five fields are PROVENANCE_COLUMNS, in order
    encoder: str
    detail: str
    quality: int | None
    confidence: str
    signature: str | None
    candidates: tuple[str, ...] = ()  # writers the evidence fits (database names)
    reasons: tuple[str, ...] = ()  # how the verdict was reached, for `inspect`
    pipelines: tuple[str, ...] = ()  # dataset pipelines whose defaults write these settings

    def columns(self) -> dict:
        """The store columns (a new dict: callers may change it)."""
        return {
            "encoder": self.encoder,
            "encoder_detail": self.detail,
            "encoder_quality": self.quality,
            "encoder_confidence": self.confidence,
            "header_signature": self.signature,
        }


NO_FRAME = Verdict("unknown", "no frame header: nothing to match", None, "none", None)


def structure_of(
    header: JpegHeader,
    tables: TableEvidence,
    subsampling: str | None,
    huffman_standard: bool | None = None,
) -> Structure:
    """`huffman_standard` as the audit computed it (None: no Huffman table, or not known:
    then computed here). Memoised on everything it reads, which leaves out what varies from
    file to file of one writer (dimensions, offsets, EXIF): a scan builds each one once."""
    huffman = (
        f.huffman_kind(header)
        if huffman_standard is None
        else ("standard" if huffman_standard else "optimized")
    )
    key = f.layout_key(header, huffman)
    assert key is not None
    return _structure(
        key,
        tables,
        subsampling,
        header.photoshop_quality,
        header.ducky_quality,
        header.photoshop,
    )


@lru_cache(maxsize=4096)
def _structure(
    layout_key: tuple,
    tables: TableEvidence,
    subsampling: str | None,
    photoshop_quality: int | None,
    ducky_quality: int | None,
    app13: bool,
) -> Structure:
    sof, _, _, _, _, _, _, comment, _, _, _, adobe, huffman, _ = layout_key
    klass = f.comment_class(comment)
    layout = f.layout_from_key((*layout_key[:7], klass, *layout_key[8:]))
    gd_quality = None
    if klass == "gd" and comment is not None:
        found = f.GD_QUALITY.search(comment)
        gd_quality = int(found.group(1)) if found else (75 if "default" in comment else None)
    return Structure(
        layout=layout,
        layout_hash=f.short_hash(layout),
        tables=tables,
        subsampling=subsampling,
        progressive=sof in PROGRESSIVE_SOF,
        huffman=huffman,
        comment_class=klass,
        gd_quality=gd_quality,
        photoshop_quality=photoshop_quality,
        ducky_quality=ducky_quality,
        adobe=adobe is not None,
        app13=app13,
    )


def _settings_text(s: Structure, ijg: int | None) -> str:
    parts = []
    if ijg is not None:
        t = s.tables
        q = f"q{ijg}"
        if t.quality_chroma is not None and t.quality_chroma != ijg:
            q = f"q{ijg}/{t.quality_chroma}"
        parts.append(f"IJG {q}")
    if s.subsampling:
        parts.append(s.subsampling)
    text = " ".join(parts)
    coding = "progressive" if s.progressive else f"{s.huffman} Huffman"
    return f"{text}, {coding}" if text else coding


def _fits(entry: Entry, s: Structure) -> bool:
    model = c.WRITERS[entry.writer].tables if entry.writer in c.WRITERS else "recorded"
    if model == "ijg":
        return bool(s.tables.exact)
    if model == "recorded":
        return entry.tables_hash == s.tables.tables_hash
    return True


def _unique(items) -> tuple:
    return tuple(dict.fromkeys(items))


def _labels(writers: tuple[str, ...]) -> str:
    names = [c.WRITERS[w].label if w in c.WRITERS else w for w in writers[:MAX_LISTED]]
    more = len(writers) - MAX_LISTED
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _family_of(writers: tuple[str, ...]) -> str:
    families = {c.WRITERS[w].family if w in c.WRITERS else w for w in writers}
    if len(families) == 1:
        return families.pop()
    if all(c.WRITERS.get(w, c.WRITERS["photoshop"]).tables == "ijg" for w in writers):
        return "libjpeg"  # every IJG-table writer here calls libjpeg
    return "unknown"


def _setting_quality(entries: tuple[Entry, ...], s: Structure) -> int | None:
    """The writer's own quality setting from the recorded entry with these tables."""
    for e in entries:
        if e.tables_hash == s.tables.tables_hash:
            q = e.setting("quality")
            if isinstance(q, int):
                return q
            level = e.setting("level")
            if isinstance(level, int):
                return level
    return None


def _pipelines(s: Structure, ijg: int | None, writers: tuple[str, ...]) -> tuple[str, ...]:
    names = c.pipelines_consistent_with(ijg, s.subsampling, s.huffman, s.progressive)
    if not writers:
        return names
    by_name = {p.name: p for p in c.PIPELINES}
    return tuple(n for n in names if by_name[n].writer in writers)


def _consistent(pipelines: tuple[str, ...]) -> str:
    return f"; consistent with: {', '.join(pipelines)}" if pipelines else ""


def signature(s: Structure, make: str | None, model: str | None) -> str:
    """`header_signature`: SHA-1 of the layout (by its hash), the tables' hash, Make, Model."""
    return signature_of(s.layout_hash, s.tables.tables_hash, make, model)


def signature_of(layout_hash: str, tables_hash: str | None, make, model) -> str:
    text = "\x1f".join((layout_hash, tables_hash or "", make or "", model or ""))
    return hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:16]


# Stands for every tables hash the database does not hold: the verdict reads a hash only to
# look it up, so all unrecorded tables give one verdict (and a scan of files whose tables are
# each their own judges their structure once, not once a file). Never a real hash (not hex).
UNRECORDED_TABLES = "-"


# What the verdict knows of tables that are neither recorded nor IJG's: nothing more (their
# nearest IJG quality is the row's quality_luma, not part of the verdict).
UNRECORDED_CUSTOM = TableEvidence(UNRECORDED_TABLES, False, None, None, None)


def judged_tables(tables: TableEvidence, db: SignatureDatabase) -> TableEvidence:
    """The tables as the verdict sees them: recorded ones as they are; an unrecorded hash as
    UNRECORDED_TABLES (IJG tables keep their qualities, which the verdict states), unrecorded
    tables that are not IJG's as UNRECORDED_CUSTOM."""
    if tables.tables_hash is None or tables.tables_hash in db.known_tables:
        return tables
    if not tables.exact:
        return UNRECORDED_CUSTOM
    return tables._replace(tables_hash=UNRECORDED_TABLES)


def as_judged(s: Structure, db: SignatureDatabase) -> Structure:
    """The structure as the verdict sees it (`judged_tables`)."""
    judged = judged_tables(s.tables, db)
    return s if judged is s.tables else s._replace(tables=judged)


def judge(
    s: Structure,
    make: str | None = None,
    model: str | None = None,
    software: str | None = None,
    db: SignatureDatabase | None = None,
) -> Verdict:
    """The verdict for a structure and its file's EXIF strings; the signature is the file's."""
    sig = signature(s, make, model)
    if db is None:
        verdict = _judge_default(as_judged(s, database()), make, model, software)
    else:
        verdict = _judge(as_judged(s, db), make, model, software, db)
    return verdict._replace(signature=sig)


@lru_cache(maxsize=8192)
def _judge_default(s: Structure, make, model, software) -> Verdict:
    return _judge(s, make, model, software, database(), _base_default(s))


class _Partial(NamedTuple):
    """A verdict before the EXIF strings are known (they add a note and the signature)."""

    encoder: str
    detail: str
    quality: int | None
    confidence: str
    candidates: tuple[str, ...] = ()
    pipelines: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()  # beyond the base's
    note: bool = True  # append what EXIF names


class _Base(NamedTuple):
    """What a structure says without its EXIF strings: a file's verdict is one of these,
    chosen by its Make and Software (steps 3, 6 and 7 read them)."""

    early: _Partial | None  # steps 1-2: decided whatever EXIF says
    photoshop: _Partial  # step 3, when EXIF Software or Photoshop's markers say Photoshop
    late: _Partial | None  # steps 4-5
    fallback: _Partial  # steps 8-9
    settings: str
    ijg: int | None
    reasons: tuple[str, ...]


@lru_cache(maxsize=4096)
def _base_default(s: Structure) -> _Base:
    return _base(s, database())


def _base(s: Structure, db: SignatureDatabase) -> _Base:
    t = s.tables
    ijg = t.quality_luma if t.exact else None
    settings = _settings_text(s, ijg)
    reasons: list[str] = []
    recorded = db.by_layout.get(s.layout_hash, ())
    fit = tuple(e for e in recorded if _fits(e, s))
    fit_writers = _unique(e.writer for e in fit)
    layout_writers = _unique(e.writer for e in recorded)
    if recorded:
        reasons.append(f"layout {s.layout_hash} recorded for: {_labels(layout_writers)}")
    else:
        reasons.append(f"layout {s.layout_hash} matches no recorded writer")
    if t.exact:
        reasons.append(f"tables are IJG's (libjpeg's formula) at {settings.split(',')[0]}")
    table_entries = db.by_tables.get(t.tables_hash or "", ())
    # IJG tables say nothing of the writer (jpegli at q100 writes IJG's all-ones tables too).
    own_tables = (
        ()
        if t.exact
        else tuple(
            e
            for e in table_entries
            if c.WRITERS.get(e.writer, c.WRITERS["photoshop"]).tables == "recorded"
        )
    )
    if own_tables:
        reasons.append(f"tables recorded for: {_labels(_unique(e.writer for e in own_tables))}")

    # 3. Photoshop without a quality statement: its markers, or EXIF Software.
    level = _setting_quality(tuple(e for e in own_tables if e.writer == "photoshop"), s)
    qtext = f", quality {level} (of 0-12)" if level is not None else ""
    photoshop = _Partial("photoshop", f"Photoshop{qtext}; {settings}", level, "family",
                         ("photoshop",),
                         reasons=("Photoshop markers (APP13 with APP14) or EXIF Software",))  # fmt: skip
    early = _early(s, settings, ijg, fit, fit_writers, own_tables)
    late = None if early is not None else _late(s, settings, ijg, layout_writers, own_tables)
    # 8. IJG tables, nothing else: settings only.
    if t.exact:
        pipes = _pipelines(s, ijg, ())
        fallback = _Partial("libjpeg", f"IJG tables (libjpeg's jpeg_set_quality), {settings}; "
                            f"layout matches no recorded writer{_consistent(pipes)}", ijg,
                            "settings", (), pipes,
                            ("no recorded layout: only the settings are known",), False)  # fmt: skip
    else:
        # The nearest IJG quality is the row's quality_luma: a detail names the writer only,
        # so that files of one writer with tables of their own share it.
        fallback = _Partial("unknown", f"tables match no recorded writer; {settings}",
                            None, "none", note=False)  # fmt: skip
    return _Base(
        early=early,
        photoshop=photoshop,
        late=late,
        fallback=fallback,
        settings=settings,
        ijg=ijg,
        reasons=tuple(reasons),
    )


def _early(s, settings, ijg, fit, fit_writers, own_tables) -> _Partial | None:
    """Steps 1 (the writer says so) and 2 (an exact signature)."""
    if s.photoshop_quality is not None:
        return _Partial("photoshop", f"Photoshop, quality {s.photoshop_quality} (of 0-12)",
                        s.photoshop_quality, "exact", ("photoshop",),
                        reasons=(f"APP13 resource 0x0406 states Photoshop quality "
                                 f"{s.photoshop_quality}",))  # fmt: skip
    if s.ducky_quality is not None:
        return _Partial("photoshop", f"Photoshop, Save for Web quality {s.ducky_quality}",
                        s.ducky_quality, "exact", ("photoshop",),
                        reasons=(f"APP12 Ducky states Save for Web quality {s.ducky_quality}",))  # fmt: skip
    if s.comment_class in ("gd", "lavc", "gimp"):
        family = c.COMMENT_FAMILIES[s.comment_class]
        writer = {"gd": "php-gd", "lavc": "ffmpeg", "gimp": "gimp"}[s.comment_class]
        quality = s.gd_quality if s.comment_class == "gd" else ijg
        if s.comment_class == "lavc":
            quality = _setting_quality(own_tables, s)
        label = c.WRITERS[writer].label
        qname = c.WRITERS[writer].quality_name
        qtext = f", {qname} {quality}" if quality is not None else ""
        return _Partial(family, f"{label}{qtext}; {settings}", quality,
                        "exact" if writer in fit_writers else "family", (writer,),
                        reasons=(f"COM segment is {family}'s signature",))  # fmt: skip
    if not fit_writers:
        return None
    family = _family_of(fit_writers)
    quality = ijg
    if any(c.WRITERS.get(w, c.WRITERS["photoshop"]).tables == "recorded" for w in fit_writers):
        quality = _setting_quality(fit, s)
    pipes = _pipelines(s, ijg, fit_writers)
    if len(fit_writers) > 1:
        detail = (f"{family} layout shared by {_labels(fit_writers)} — not separable from "
                  f"the header; {settings}")  # fmt: skip
    else:
        w = fit_writers[0]
        info = c.WRITERS.get(w)
        label = info.label if info else w
        if info is not None and info.tables == "recorded":
            detail = f"{label}{_setting_text(fit, s)}; {settings}"
        else:
            detail = f"{label}, {settings}"
    return _Partial(family, detail + _consistent(pipes), quality, "exact", fit_writers, pipes,
                    ("tables fit: exact signature",))  # fmt: skip


def _late(s, settings, ijg, layout_writers, own_tables) -> _Partial | None:
    """Steps 4 (the layout, other tables) and 5 (the tables, another layout)."""
    if layout_writers:
        return _Partial(_family_of(layout_writers), f"layout of {_labels(layout_writers)} with "
                        "custom tables", ijg, "family", layout_writers,
                        reasons=("tables differ from those the writer was recorded with",))  # fmt: skip
    if not own_tables:
        return None
    writers = _unique(e.writer for e in own_tables)
    origin = "photoshop" if set(writers) <= {"photoshop", "pillow-presets"} else None
    if origin == "photoshop":
        level = _setting_quality(tuple(e for e in own_tables if e.writer == "photoshop"), s)
        preset = _setting_text(tuple(e for e in own_tables if e.writer == "pillow-presets"), s)
        named = f", quality {level} (of 0-12)" if level is not None else preset
        return _Partial("photoshop", f"Photoshop's tables{named}; {settings}", level, "family",
                        writers)  # fmt: skip
    return _Partial(_family_of(writers),
                    f"tables of {_labels(writers)}{_setting_text(own_tables, s)}; {settings}",
                    _setting_quality(own_tables, s), "family", writers)  # fmt: skip


# A detail is text with what the file's EXIF names put in at these places (so that one
# template serves every file of a structure, whatever its Make, Model and Software):
NAMED = 0  # "Make Model" (those present)
SOFTWARE = 1  # the Software text
NOTE = 2  # "; EXIF names Make Model, software 'Software'" (nothing when EXIF names nothing)
NOTE_IF_MAKE = 3  # NOTE, when EXIF has a Make
_SOFTWARE_MARK = "\x00software\x00"  # the Software text, in `reasons`


class Template(NamedTuple):
    """A verdict with the EXIF strings left out (`fill` puts them in): one per structure, the
    maker and software families its EXIF names, and whether it names a Make."""

    encoder: str
    detail: tuple[str | int, ...]  # text and NAMED / SOFTWARE / NOTE / NOTE_IF_MAKE
    quality: int | None
    confidence: str
    # A camera: "exact" when EXIF's Model is one recorded with these tables, else "family"
    # (None: `confidence` holds whatever the Model).
    exact_models: frozenset[str] | None
    candidates: tuple[str, ...]
    reasons: tuple[str, ...]
    pipelines: tuple[str, ...]
    # Whether choosing this template read the maker family (step 7 and after): when it did not,
    # every maker family gives the same template for the structure, software family and Make
    # presence, and the compiled core keeps it once for all of them.
    reads_maker: bool = False


def exif_named(make: str | None, model: str | None) -> str:
    return " ".join(x for x in (make, model) if x)


def exif_note(make: str | None, model: str | None, software: str | None) -> str:
    named = exif_named(make, model)
    if not (named or software):
        return ""
    said = [named] if named else []
    if software:
        said.append(f"software '{software}'")
    return "; EXIF names " + ", ".join(said)


def fill(detail: tuple[str | int, ...], make, model, software) -> str:
    """A template's detail with the file's EXIF strings put in."""
    out = []
    for part in detail:
        if isinstance(part, str):
            out.append(part)
        elif part == NAMED:
            out.append(exif_named(make, model))
        elif part == SOFTWARE:
            out.append(software or "")
        elif part == NOTE or (part == NOTE_IF_MAKE and make):
            out.append(exif_note(make, model, software))
    return "".join(out)


def _judge(
    s: Structure, make, model, software, db: SignatureDatabase, base: _Base | None = None
) -> Verdict:
    b = base if base is not None else _base(s, db)
    t = _template(s, c.camera_family(make), c.software_family(software), bool(make), db, b)
    confidence = t.confidence
    if t.exact_models is not None:
        confidence = "exact" if (model or "") in t.exact_models else "family"
    reasons = tuple(r.replace(_SOFTWARE_MARK, software or "") for r in t.reasons)
    return Verdict(t.encoder, fill(t.detail, make, model, software), t.quality, confidence,
                   None, t.candidates, reasons, t.pipelines)  # fmt: skip


def _template(
    s: Structure, maker: str | None, soft: str | None, has_make: bool,
    db: SignatureDatabase, b: _Base,
) -> Template:  # fmt: skip
    """Steps 3, 6 and 7 read the EXIF families; the rest is the base's."""

    def template(p: _Partial, note: int | None = NOTE) -> Template:
        detail: tuple[str | int, ...] = (p.detail,) if not p.note or note is None else (
            p.detail, note)  # fmt: skip
        return Template(p.encoder, detail, p.quality, p.confidence, None, p.candidates,
                        b.reasons + p.reasons, p.pipelines)  # fmt: skip

    if b.early is not None:
        return template(b.early)
    if soft == "photoshop" or (s.app13 and s.adobe and not has_make):
        return template(b.photoshop)
    if b.late is not None:
        return template(b.late)
    # 6. EXIF Software names a program that re-encodes.
    if soft is not None:
        return Template(soft, (SOFTWARE, f"; {b.settings}", NOTE_IF_MAKE), b.ijg, "family", None,
                        (), b.reasons + (f"EXIF Software '{_SOFTWARE_MARK}' is {soft}",), ())  # fmt: skip
    # 7. A camera: EXIF Make, with its own tables (or IJG's).
    if maker is not None:
        t = s.tables
        known = db.camera_tables.get((maker, t.tables_hash or ""), ())
        extra = (f"tables recorded for {maker} ({len(known)} corpus file(s))",) if known else ()
        if t.exact:
            tail = (f" (EXIF), IJG tables {b.settings}: the camera's firmware, or a re-encode "
                    "that kept the EXIF")  # fmt: skip
        else:
            tail = f" (EXIF), camera tables; {b.settings}"
        return Template(maker, (NAMED, tail), b.ijg, "family",
                        frozenset(k.model for k in known), (), b.reasons + extra, (), True)  # fmt: skip
    return template(b.fallback)._replace(reads_maker=True)  # found no maker: read it too


def _setting_text(entries: tuple[Entry, ...], s: Structure) -> str:
    for e in entries:
        if e.tables_hash == s.tables.tables_hash:
            settings = json.loads(e.settings)
            q = settings.get("quality")
            if q is not None:
                name = c.WRITERS[e.writer].quality_name if e.writer in c.WRITERS else "quality"
                return f" {name} {q!s}" if not isinstance(q, str) else f" '{q}'"
    return ""


def structure_from_features(
    layout_key: tuple,
    tables: tuple,
    subsampling: str | None,
    photoshop_quality: int | None,
    ducky_quality: int | None,
    app13: bool,
) -> Structure:
    """The structure from the features `structure_of` reads (`layout_key` as it builds it,
    `tables` a TableEvidence's fields): the compiled core's entry point (_ccore.pyx
    structure_of_header), which walks the header in C and keeps each structure it gets, so
    this skips `_structure`'s memo (hashing the nested key was all that memo did here)."""
    return _structure.__wrapped__(layout_key, TableEvidence(*tables), subsampling,
                                  photoshop_quality, ducky_quality, app13)  # fmt: skip


def template_row(s: Structure, maker: str | None, soft: str | None, has_make: bool) -> tuple:
    """What the compiled core keeps per template: (encoder, detail parts, quality, confidence,
    exact models or None, layout_hash, reads_maker), for a structure already as judged
    (`judged_tables`).
    It fills the detail (`fill`), the confidence and each file's `header_signature`
    (`signature_of`, from the real tables hash) itself. Not memoised here: the compiled core
    calls this once per distinct key and keeps the answer (the structure's base is memoised)."""
    t = _template(s, maker, soft, has_make, database(), _base_default(s))
    return (t.encoder, t.detail, t.quality, t.confidence, t.exact_models, s.layout_hash,
            t.reads_maker)  # fmt: skip


def identify(
    header: JpegHeader,
    tables: TableEvidence,
    subsampling: str | None,
    huffman_standard: bool | None = None,
) -> tuple[Structure | None, Verdict]:
    """The verdict for one parsed header (and the structure to cache with it)."""
    if header.frame is None or not header.frame.components:
        return None, NO_FRAME
    s = structure_of(header, tables, subsampling, huffman_standard)
    exif = header.exif
    return s, judge(
        s,
        exif.make if exif else None,
        exif.model if exif else None,
        exif.software if exif else None,
    )
