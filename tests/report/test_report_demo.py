"""build_report on the demo dataset: the files it writes, and the numbers in summary.json checked
against counts computed here, independently, from the store (pandas.read_parquet) and from the
demo's own ground truth."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from jpegaudit.api import scan
from jpegaudit.demo import build_demo_dataset
from jpegaudit.report import build_report

# Hostile names: shown in the report, never interpreted. Neither is a JPEG, so both are listed
# among the outliers (not JPEG by content), with their paths.
HOSTILE_NAMES = (
    "x<script>document.title='PWNED'<&amp;y.jpg",
    "<img src=x onerror=\"document.title='PWNED'\">&.jpg",
)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    dataset = build_demo_dataset(root / "data", seed=0)
    for name in HOSTILE_NAMES:
        (root / "data" / "val" / name).write_bytes(b"not an image at all\n")
    store = root / "store"
    scan([root / "data" / "train", root / "data" / "val"], store, jobs=1)
    out = root / "report"
    result = build_report(store, out, umap=True, umap_sample=5000, seed=0, formats=("png", "pdf"))
    summary = json.loads(result.summary_json.read_text())
    frame = pd.read_parquet(store)  # numpy dtypes: a different reading path from the report's
    return dataset, frame, result, summary


def by_split(frame: pd.DataFrame, column: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (split, value), n in frame.groupby(["split", column]).size().items():
        out.setdefault(split, {})[str(value)] = int(n)
    return out


def without(counts: dict[str, dict[str, int]], *labels: str) -> dict[str, dict[str, int]]:
    return {s: {k: v for k, v in per.items() if k not in labels} for s, per in counts.items()}


def nonzero(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {s: {k: v for k, v in per.items() if v} for s, per in counts.items() if per}


# -- files ---------------------------------------------------------------------------------------
def test_report_writes_png_and_pdf_for_every_figure(demo_report):
    _, _, result, summary = demo_report
    expected = {
        "colour", "sizes_cropped", "sizes_full", "subsampling", "quality", "file_size",
        "bpp_vs_quality", "process", "progressive", "orientation", "icc", "encoders",
        "drift_train_vs_val", "projection",
    }  # fmt: skip
    assert set(summary["figures"]) == expected
    for name in expected:
        png = result.out_dir / f"{name}.png"
        pdf = result.out_dir / f"{name}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
        assert pdf.read_bytes()[:5] == b"%PDF-", name


def test_report_writes_html_json_and_markdown(demo_report):
    _, _, result, _ = demo_report
    assert result.index_html.name == "index.html" and result.index_html.stat().st_size > 10_000
    assert result.summary_md.read_text().startswith("# jpegaudit report")
    assert result.warnings == []


def test_summary_json_is_strict_json(demo_report):
    _, _, result, _ = demo_report
    json.loads(result.summary_json.read_text(), parse_constant=lambda c: pytest.fail(c))


# -- numbers against the store ------------------------------------------------------------------
def test_row_counts_per_split_match_the_store(demo_report):
    _, frame, _, summary = demo_report
    assert summary["rows"] == len(frame)
    for split, n in frame["split"].value_counts().items():
        assert summary["overview"][split]["rows"] == n


def test_colour_counts_match_the_store(demo_report):
    _, frame, _, summary = demo_report
    colour = summary["data"]["colour"]
    assert nonzero(without(colour, "no frame")) == by_split(frame, "color")
    no_frame = frame[frame["color"].isna()].groupby("split").size().to_dict()
    assert {s: per.get("no frame", 0) for s, per in colour.items() if per.get("no frame")} == (
        no_frame
    )


def test_subsampling_counts_match_the_store(demo_report):
    _, frame, _, summary = demo_report
    assert nonzero(summary["data"]["subsampling"]) == by_split(frame, "subsampling")


def test_process_counts_match_the_store(demo_report):
    _, frame, _, summary = demo_report
    assert nonzero(without(summary["data"]["process"], "no frame")) == by_split(frame, "process")


def test_quality_histogram_matches_the_store(demo_report):
    _, frame, _, summary = demo_report
    for split, group in frame.groupby("split"):
        h = summary["data"]["quality"][split]
        exact = group[group["quality_exact"] == True]  # noqa: E712 (object column)
        approx = group[(group["quality_exact"] == False) & group["quality_luma"].notna()]  # noqa: E712
        assert h["luma_exact"] == [int((exact["quality_luma"] == q).sum()) for q in range(1, 101)]
        assert h["luma_approx"] == [int((approx["quality_luma"] == q).sum()) for q in range(1, 101)]


def test_progressive_share_matches_the_store(demo_report):
    _, frame, _, summary = demo_report
    for split, group in frame.groupby("split"):
        entry = summary["data"]["progressive"][split]
        assert entry["with_frame"] == group["progressive"].notna().sum()
        assert entry["progressive"] == (group["progressive"] == True).sum()  # noqa: E712


def test_orientation_counts_match_the_store(demo_report):
    _, frame, _, summary = demo_report
    jpeg = frame[frame["format"] == "jpeg"]
    for split, group in jpeg.groupby("split"):
        counts = summary["data"]["orientation"][split]
        assert counts.get("none", 0) == group["orientation"].isna().sum()
        for value, n in group["orientation"].dropna().astype(int).value_counts().items():
            assert counts[str(value)] == n


def test_icc_counts_match_the_store(demo_report):
    _, frame, _, summary = demo_report
    for split, group in frame.groupby("split"):
        counts = summary["data"]["icc"][split]
        assert counts.get("no ICC", 0) == (group["icc"] == False).sum()  # noqa: E712
        assert sum(v for k, v in counts.items() if k != "no ICC") == (group["icc"] == True).sum()  # noqa: E712


def test_size_counts_match_the_store(demo_report):
    _, frame, _, summary = demo_report
    framed = frame.dropna(subset=["width", "height"])
    for split, group in framed.groupby("split"):
        sizes = summary["data"]["sizes"][split]
        got = {
            (w, h): c
            for w, h, c in zip(sizes["width"], sizes["height"], sizes["count"], strict=True)
        }
        want = {
            (int(w), int(h)): int(c)
            for (w, h), c in group.groupby(["width", "height"]).size().items()
        }
        assert got == want


def test_top_fingerprint_matches_the_store(demo_report):
    _, frame, _, summary = demo_report
    top = summary["data"]["fingerprints"][0]
    counts = frame["qtables_hash"].value_counts()
    assert (top["qtables_hash"], top["count"]) == (counts.index[0], counts.iloc[0])
    mine = frame[frame["qtables_hash"] == top["qtables_hash"]]
    assert top["examples"] == sorted(mine["path"])[:3]
    assert top["quality_luma"] == mine["quality_luma"].mode().iloc[0]


def test_outliers_list_every_non_jpeg_with_its_path(demo_report):
    _, frame, _, summary = demo_report
    entry = summary["outliers"]["not_jpeg"]
    paths = sorted(frame.loc[frame["format"] != "jpeg", "path"])
    assert entry["total"] == len(paths)
    assert [f["path"] for f in entry["files"]] == paths[: len(entry["files"])]


def test_smallest_outlier_is_the_smallest_frame(demo_report):
    _, frame, _, summary = demo_report
    pixels = frame["width"] * frame["height"]
    smallest = frame.loc[pixels == pixels.min(), "path"].min()
    assert summary["outliers"]["smallest"]["files"][0]["path"] == smallest


def test_drift_subsampling_distance_matches_a_hand_computation(demo_report):
    _, frame, _, summary = demo_report
    (comparison,) = summary["drift"]["comparisons"]
    row = next(r for r in comparison["table"] if r["setting"] == "subsampling")
    shares = frame.dropna(subset=["subsampling"]).groupby("split")["subsampling"]
    p = shares.value_counts(normalize=True).unstack(fill_value=0.0)
    assert row["distance"] == pytest.approx(0.5 * np.abs(p.loc["train"] - p.loc["val"]).sum())


def test_projection_sample_follows_the_study_rule(demo_report):
    _, frame, _, summary = demo_report
    sampling = summary["projection"]["sampling"]
    complete = frame.dropna(subset=["subsampling", "width", "height", "quality_luma"])
    side_500 = (complete["width"] == 500) | (complete["height"] == 500)
    assert sampling["eligible"] == len(complete)
    assert sampling["eligible_500"] == side_500.sum()
    assert (~side_500).sum() <= sampling["after_500_rule"] <= len(complete)
    assert sum(c["count"] for c in summary["projection"]["clusters"]) == sampling["sampled"]


# -- numbers against the demo's ground truth --------------------------------------------------
def test_cmyk_count_matches_the_demo_ground_truth(demo_report):
    dataset, _, _, summary = demo_report
    want = sum(1 for f in dataset if f.color == "cmyk")
    assert summary["overview"]["all"]["cmyk_or_ycck"] == want > 0


def test_4_1_1_counts_match_the_demo_ground_truth(demo_report):
    dataset, _, _, summary = demo_report
    for split in ("train", "val"):
        want = sum(1 for f in dataset if f.split == split and f.subsampling == "4:1:1")
        assert summary["data"]["subsampling"][split].get("4:1:1", 0) == want


def test_truncated_file_is_listed(demo_report):
    dataset, _, _, summary = demo_report
    truncated = {f.relpath for f in dataset if f.truncated}
    listed = {f["path"] for f in summary["outliers"]["truncated"]["files"]}
    assert truncated and {p.split("data/", 1)[1] for p in listed} == truncated


# -- escaping ---------------------------------------------------------------------------------
def test_html_shows_hostile_names_escaped(demo_report):
    _, _, result, _ = demo_report
    page = result.index_html.read_text()
    assert "<script" not in page
    assert "onerror=" not in page.replace("onerror=&quot;", "")  # only as escaped text
    assert "x&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;&amp;amp;y.jpg" in page


def test_markdown_shows_hostile_names_as_code_spans(demo_report):
    _, _, result, summary = demo_report
    text = result.summary_md.read_text()
    listed = [f["path"] for f in summary["outliers"]["not_jpeg"]["files"]]
    hostile = [p for p in listed if "PWNED" in p]
    assert len(hostile) == len(HOSTILE_NAMES)
    for path in hostile:
        assert f"`{path}`" in text
        assert text.count(path) == 1  # nowhere else, so never outside a code span


# -- a real browser -----------------------------------------------------------------------------
_PROBE = """<script>
window.addEventListener("load", function () {
  var figures = [];
  document.querySelectorAll("figure.report-figure").forEach(function (f) {
    var img = f.querySelector("img");
    figures.push({name: f.dataset.figure, width: img && img.complete ? img.naturalWidth : 0});
  });
  var thumbs = [];
  document.querySelectorAll(".thumb img").forEach(function (t) { thumbs.push(t.naturalWidth); });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({title: document.title, figures: figures, thumbs: thumbs});
  document.body.appendChild(pre);
});
</script>"""


def chromium(args: list[str], profile: Path) -> subprocess.CompletedProcess:
    binary = next(
        (
            shutil.which(n)
            for n in ("chromium", "chromium-browser", "google-chrome")
            if shutil.which(n)
        ),
        None,
    )
    if binary is None:
        if os.environ.get("JPEGAUDIT_REQUIRE_ORACLES") == "1":
            pytest.fail("chromium not installed")
        pytest.skip("chromium not installed (apt-get install chromium)")
    command = [
        binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", *args,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def browser_view(demo_report, tmp_path_factory):
    """Chromium's DOM of index.html (as served) and of a probe copy that reports, after load,
    every figure's decoded width; plus a screenshot of index.html."""
    _, _, result, _ = demo_report
    work = tmp_path_factory.mktemp("browser")
    page = result.index_html.read_text()
    probe = result.out_dir / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"))
    flags = ["--virtual-time-budget=20000", "--dump-dom"]
    plain = chromium([*flags, result.index_html.as_uri()], work / "p1")
    probed = chromium([*flags, probe.as_uri()], work / "p2")
    shot = work / "shot.png"
    chromium(["--window-size=1300,2400", f"--screenshot={shot}", result.index_html.as_uri()],
             work / "p3")  # fmt: skip
    found = re.search(r'<pre id="probe">(.*?)</pre>', probed.stdout, re.S)
    assert found, probed.stderr[-2000:]
    return plain.stdout, json.loads(html.unescape(found.group(1))), shot


@pytest.mark.oracle
def test_chromium_decodes_every_figure(demo_report, browser_view):
    _, _, _, summary = demo_report
    _, probe, _ = browser_view
    widths = {f["name"]: f["width"] for f in probe["figures"]}
    assert set(widths) == set(summary["figures"])
    assert all(w > 0 for w in widths.values()), widths


@pytest.mark.oracle
def test_chromium_decodes_outlier_thumbnails(browser_view):
    _, probe, _ = browser_view
    assert probe["thumbs"] and all(w > 0 for w in probe["thumbs"])


@pytest.mark.oracle
def test_chromium_runs_nothing_from_file_names(browser_view):
    _, probe, _ = browser_view
    assert probe["title"] == "jpegaudit report"


@pytest.mark.oracle
def test_chromium_shows_hostile_names_as_text(browser_view):
    dom, _, _ = browser_view
    # The DOM serialiser escapes < and & in text; an element parsed from a name would appear raw.
    assert "x&lt;script&gt;document.title='PWNED'&lt;&amp;amp;y.jpg" in dom
    assert "&lt;img src=x onerror=\"document.title='PWNED'\"&gt;&amp;.jpg" in dom
    assert '<img src="x"' not in dom and "<script" not in dom


@pytest.mark.oracle
def test_chromium_screenshot_is_not_blank(browser_view):
    _, _, shot = browser_view
    with Image.open(shot) as image:
        assert image.size == (1300, 2400)
        lo, hi = image.convert("L").getextrema()
    assert hi - lo > 100
