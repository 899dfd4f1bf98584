"""The report's parts on small inputs: edge-case stores, writers, thumbnails, HTML escaping, CLI."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from jpegaudit.cli import main
from jpegaudit.report import build_report
from jpegaudit.report.html import esc, render_html
from jpegaudit.report.thumbnails import make_thumbnail, resolve_path
from jpegaudit.report.writers import jsonable, markdown_code
from jpegaudit.schema import COLUMN_NAMES


def store_frame(records: list[dict]) -> pd.DataFrame:
    """Rows with every store column, null where not given."""
    return pd.DataFrame([{c: r.get(c) for c in COLUMN_NAMES} for r in records],
                        columns=list(COLUMN_NAMES))  # fmt: skip


def a_jpeg(i: int, split: str = "train", **extra) -> dict:
    row = {
        "path": f"{split}/img{i}.jpg", "split": split, "format": "jpeg", "bytes": 40_000 + i,
        "width": 500, "height": 375 - i % 3, "color": "ycbcr", "subsampling": "4:2:0",
        "process": "baseline", "progressive": False, "quality_luma": 75 + i % 20,
        "quality_chroma": 75 + i % 20, "quality_exact": True, "encoder": "ijg",
        "qtables_hash": f"{i % 4:016x}", "icc": False, "exif": False, "truncated": False,
        "trailing_bytes": 0,
    }  # fmt: skip
    row.update(extra)
    return row


# -- edge-case stores --------------------------------------------------------------------------
def test_empty_store_gives_a_report_without_warnings(tmp_path):
    result = build_report(store_frame([]), tmp_path / "out", umap=True)
    summary = json.loads(result.summary_json.read_text())
    assert summary["rows"] == 0 and summary["splits"] == [] and result.warnings == []
    assert result.index_html.exists() and result.summary_md.exists()
    assert summary["projection"]["method"] == "none"


def test_one_split_report_says_there_is_nothing_to_compare(tmp_path):
    frame = store_frame([a_jpeg(i) for i in range(12)])
    result = build_report(frame, tmp_path / "out", umap=True)
    summary = json.loads(result.summary_json.read_text())
    assert summary["drift"]["comparisons"] == [] and "one split" in summary["drift"]["note"]
    assert summary["projection"]["method"] == "pca"  # fewer rows than UMAP needs
    assert result.warnings == []


def test_store_of_only_non_jpeg_files_gives_a_report(tmp_path):
    rows = [{"path": f"a{i}.jpg", "split": "train" if i % 2 else "val", "format": "png",
             "error": "not a JPEG: png", "bytes": 10 + i, "ext_mismatch": True}
            for i in range(6)]  # fmt: skip
    result = build_report(store_frame(rows), tmp_path / "out", umap=False, thumbnails=False)
    summary = json.loads(result.summary_json.read_text())
    assert summary["overview"]["all"]["not_jpeg"] == 6 and result.warnings == []
    assert summary["data"]["colour"]["train"] == {"no frame": 3}


def test_frame_missing_most_columns_gives_a_report(tmp_path):
    frame = pd.DataFrame({"path": ["t/a.jpg", "v/b.jpg"], "split": ["train", "val"],
                          "format": ["jpeg", "jpeg"], "width": [500, 640],
                          "height": [375, 480]})  # fmt: skip
    result = build_report(frame, tmp_path / "out", umap=False, thumbnails=False)
    assert result.warnings == []
    assert len(result.figures) == 13  # 12 main figures and the drift figure


def test_report_keeps_paths_from_the_store(tmp_path):
    frame = store_frame([a_jpeg(i, "train" if i < 15 else "val") for i in range(20)])
    result = build_report(frame, tmp_path / "out", umap=False, thumbnails=False)
    smallest = result.summary["outliers"]["smallest"]["files"][0]["path"]
    assert smallest in set(frame["path"]) and smallest in result.index_html.read_text()


# -- writers ---------------------------------------------------------------------------------
def test_markdown_code_span_escapes_pipes_and_outfences_backticks():
    assert markdown_code("a|b") == "`a\\|b`"
    assert markdown_code("x`y") == "``x`y``"
    assert markdown_code("`edge") == "`` `edge ``"


def test_jsonable_turns_nan_and_numpy_into_strict_json():
    value = {"a": float("nan"), "b": np.int64(3), "c": np.array([1.5, np.inf]), 4: np.bool_(True)}
    assert jsonable(value) == {"a": None, "b": 3, "c": [1.5, None], "4": True}
    json.dumps(jsonable(value), allow_nan=False)


def test_esc_escapes_markup_ampersands_and_quotes():
    assert esc('<b a="1">&\'') == "&lt;b a=&quot;1&quot;&gt;&amp;&#x27;"
    assert esc(None) == ""


def test_fingerprint_examples_are_escaped_in_html(tmp_path):
    rows = [a_jpeg(1, path="train/<b>bold</b>&.jpg")]
    result = build_report(store_frame(rows), tmp_path / "out", umap=False, thumbnails=False)
    page = result.index_html.read_text()
    assert "<b>bold" not in page and "&lt;b&gt;bold&lt;/b&gt;&amp;.jpg" in page


def test_html_has_no_external_resources(tmp_path):
    frame = store_frame([a_jpeg(i, "train" if i < 15 else "val") for i in range(20)])
    page = build_report(frame, tmp_path / "out", umap=False, thumbnails=False).index_html
    text = page.read_text()
    srcs = [chunk.split('"', 1)[0] for chunk in text.split(' src="')[1:]]
    assert srcs and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in text and "<script" not in text and "url(" not in text


def test_render_html_without_figures_still_renders():
    summary = {
        "splits": [], "overview": {}, "figures": {}, "data": {"fingerprints": []},
        "outliers": {}, "drift": {"comparisons": [], "note": "none"},
        "projection": {"skipped": "off"}, "source": "<s>", "rows": 0,
        "generated_at": "now", "jpegaudit_version": "0",
    }  # fmt: skip
    page = render_html(summary, {}, {})
    assert "&lt;s&gt;" in page and "<s>" not in page


# -- thumbnails -------------------------------------------------------------------------------
def test_thumbnail_of_a_jpeg_is_a_small_png(tmp_path):
    path = tmp_path / "a.jpg"
    Image.new("RGB", (640, 480), (200, 30, 30)).save(path, quality=90)
    thumb = make_thumbnail(path)
    assert thumb.problem is None and thumb.data_uri.startswith("data:image/png;base64,")


def test_thumbnail_of_a_cmyk_jpeg_decodes(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (64, 64), (0, 255, 255, 0)).save(path)
    assert make_thumbnail(path).data_uri is not None


def test_thumbnail_of_a_missing_file_says_so(tmp_path):
    thumb = make_thumbnail(tmp_path / "gone.jpg")
    assert thumb.data_uri is None and thumb.problem.startswith("not readable")


def test_thumbnail_of_garbage_says_so(tmp_path):
    path = tmp_path / "x.jpg"
    path.write_bytes(b"hello")
    assert make_thumbnail(path).problem == "not an image Pillow can decode"


def test_thumbnail_of_a_truncated_jpeg_says_so(tmp_path):
    path = tmp_path / "t.jpg"
    Image.effect_noise((256, 256), 60).convert("RGB").save(path, quality=90)
    path.write_bytes(path.read_bytes()[:2000])
    assert make_thumbnail(path).problem.startswith("not decodable")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.timeout(20)
def test_thumbnail_never_opens_a_fifo(tmp_path):
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    assert make_thumbnail(fifo).problem == "not a regular file"


def test_relative_store_paths_resolve_under_files_root(tmp_path):
    assert resolve_path("data/a.jpg", tmp_path) == tmp_path / "data" / "a.jpg"
    assert resolve_path("/abs/a.jpg", tmp_path) == Path("/abs/a.jpg")


def test_thumbnails_are_decoded_only_for_listed_files(tmp_path, monkeypatch):
    opened = []
    import jpegaudit.report.thumbnails as thumbnails

    monkeypatch.setattr(thumbnails, "make_thumbnail",
                        lambda p, size=96: opened.append(p) or thumbnails.Thumbnail(None, "x"))  # fmt: skip
    frame = store_frame([a_jpeg(i) for i in range(40)])
    result = build_report(frame, tmp_path / "out", umap=False, files_root=tmp_path)
    listed = {f["path"] for e in result.summary["outliers"].values() for f in e["files"]}
    assert {str(p.relative_to(tmp_path)) for p in opened} == listed and len(listed) < 40


# -- CLI --------------------------------------------------------------------------------------
@pytest.fixture
def small_store(tmp_path):
    from jpegaudit.api import scan

    for split, qualities in (("train", (90, 75, 96)), ("val", (60,))):
        for q in qualities:
            path = tmp_path / "data" / split / f"q{q}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.effect_noise((120, 90), 40).convert("RGB").save(path, quality=q)
    scan([tmp_path / "data" / "train", tmp_path / "data" / "val"], tmp_path / "store", jobs=1)
    return tmp_path / "store"


def test_cli_report_writes_the_report(small_store, tmp_path):
    out = tmp_path / "plots"
    result = CliRunner().invoke(main, ["report", "--store", str(small_store), "--out", str(out),
                                       "--no-umap"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "4 rows, 13 figures" in result.output
    summary = json.loads((out / "summary.json").read_text())
    q = summary["data"]["quality"]
    assert q["val"]["luma_exact"][59] == 1 and sum(q["train"]["luma_exact"]) == 3
    assert math.isclose(
        next(r for r in summary["drift"]["comparisons"][0]["table"]
             if r["setting"] == "quality_luma")["distance"],
        (90 + 75 + 96) / 3 - 60,
    )  # fmt: skip


def test_cli_report_on_a_missing_store_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["report", "--store", str(tmp_path / "nope"),
                                       "--out", str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2 and "no scan store" in result.output


def test_markdown_escapes_html_in_split_names(tmp_path):
    frame = store_frame([a_jpeg(i, "<i>odd</i>" if i % 2 else "train") for i in range(8)])
    text = build_report(frame, tmp_path / "out", umap=False, thumbnails=False).summary_md
    md = text.read_text()
    assert "&lt;i>odd&lt;/i>" in md and "<i>" not in md


def test_cli_report_writes_pdf_only_when_asked(small_store, tmp_path):
    for formats, want in ((None, {".png"}), ("png,pdf", {".png", ".pdf"}), ("pdf", {".pdf"})):
        out = tmp_path / f"plots-{formats}"
        args = ["report", "--store", str(small_store), "--out", str(out), "--no-umap"]
        result = CliRunner().invoke(main, args + (["--formats", formats] if formats else []))
        assert result.exit_code == 0, result.output
        assert {p.suffix for p in out.glob("quality.*")} == want
        assert "data:image/png;base64," in (out / "index.html").read_text()


def test_cli_report_refuses_an_unknown_format(small_store, tmp_path):
    result = CliRunner().invoke(main, ["report", "--store", str(small_store), "--out",
                                       str(tmp_path / "o"), "--formats", "png,svg"])  # fmt: skip
    assert result.exit_code == 2 and "figure formats must be among png, pdf" in result.output


def test_report_in_worker_processes_equals_the_report_in_one(tmp_path):
    frame = store_frame([a_jpeg(i, "train" if i < 30 else "val") for i in range(40)])
    one = build_report(frame, tmp_path / "one", jobs=1, thumbnails=False)
    two = build_report(frame, tmp_path / "two", jobs=2, thumbnails=False)
    for key in ("overview", "data", "outliers", "drift"):
        assert one.summary[key] == two.summary[key], key
    assert one.summary["projection"]["clusters"] == two.summary["projection"]["clusters"]
    assert list(one.summary["figures"]) == list(two.summary["figures"])  # page order kept


def test_report_tells_progress_of_every_stage(tmp_path):
    seen: list[tuple[str, int, int]] = []
    frame = store_frame([a_jpeg(i, "train" if i < 30 else "val") for i in range(40)])
    result = build_report(frame, tmp_path / "out", jobs=1,
                          progress=lambda *event: seen.append(event))  # fmt: skip
    stages = list(dict.fromkeys(stage for stage, _, _ in seen))
    assert stages == ["load", "analyse", "thumbnails", "figures", "projection", "write"]
    assert ("figures", len(result.figures), len(result.figures)) in seen


def test_api_build_report_has_the_report_signature():
    import inspect

    from jpegaudit import api
    from jpegaudit.report import build

    def params(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]

    assert params(api.build_report) == params(build.build_report)


def test_overview_lists_the_files_most_worth_opening_escaped(tmp_path):
    rows = [a_jpeg(i) for i in range(10)]
    rows.append({"path": "train/<b>x</b>.jpg", "split": "train", "format": "png", "bytes": 9,
                 "error": "not a JPEG: png", "ext_mismatch": True})  # fmt: skip
    page = build_report(store_frame(rows), tmp_path / "o", umap=False, thumbnails=False)
    text = page.index_html.read_text()
    start = text.index("Files most worth opening first:")
    listed = text[start : text.index("</ol>", start)]
    assert "train/&lt;b&gt;x&lt;/b&gt;.jpg" in listed and "<b>x" not in text
    assert 'href="#outliers-not_jpeg"' in listed


def test_text_summary_aligns_splits_and_shows_only_findings_that_occur():
    from jpegaudit.report.text import render_text

    overview = {s: {k: 0 for k in ("rows", "jpeg", "not_jpeg", "special_entries", "errors",
                                   "ext_mismatch", "truncated", "trailing_data", "cmyk_or_ycck",
                                   "subsampling_4_1_1", "quality_below_10",
                                   "quality_approximate", "progressive")}
                for s in ("train", "val", "all")}  # fmt: skip
    for s, n in (("train", 1200), ("val", 30), ("all", 1230)):
        overview[s].update(rows=n, jpeg=n)
    overview["val"]["truncated"] = overview["all"]["truncated"] = 2
    lines = render_text({"splits": ["train", "val"], "overview": overview, "outliers": {}})
    lines = lines.splitlines()
    assert lines[0].split() == ["train", "val", "all"]
    assert lines[1].split() == ["files", "1,200", "30", "1,230"]
    assert lines[3] == "findings" and [line.split()[0] for line in lines[4:]] == ["truncated"]
    assert len({len(line) for line in lines[:3]}) == 1  # right-aligned columns


def test_default_jobs_is_one_on_a_saturated_machine(monkeypatch):
    from jpegaudit.report import build

    monkeypatch.setattr(build.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(build.os, "getloadavg", lambda: (0.4, 0.4, 0.4))
    assert build.default_jobs() == 2
    monkeypatch.setattr(build.os, "getloadavg", lambda: (3.0, 3.0, 3.0))
    assert build.default_jobs() == 1


def _dies_in_a_worker(parent: int, figure_of):
    # A figure whose drawing kills the worker process that draws it (an out-of-memory kill,
    # say); drawn in the report's own process it is an ordinary figure.
    if os.getpid() != parent:
        os._exit(1)
    return figure_of()


def test_a_worker_dying_mid_report_costs_no_figure(tmp_path, monkeypatch):
    from functools import partial

    from jpegaudit.report import build

    real_jobs = build.figure_jobs

    def jobs_with_a_killer(summary, *args):
        jobs = real_jobs(summary, *args)
        first = jobs[0]
        killer = build.FigureJob(first.name, first.title, first.caption, first.section,
                                 partial(_dies_in_a_worker, os.getpid(), first.render))  # fmt: skip
        return [killer, *jobs[1:]]

    monkeypatch.setattr(build, "figure_jobs", jobs_with_a_killer)
    frame = store_frame([a_jpeg(i, "train" if i < 30 else "val") for i in range(40)])
    one = build_report(frame, tmp_path / "one", jobs=1, thumbnails=False, umap=False)
    two = build_report(frame, tmp_path / "two", jobs=2, thumbnails=False, umap=False)
    assert list(two.summary["figures"]) == list(one.summary["figures"])
    assert set(two.figures) == set(one.figures) and len(two.figures) >= 10
