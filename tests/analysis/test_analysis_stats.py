"""jpegaudit.analysis.stats on small store-like frames with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from jpegaudit.analysis import stats


def rows(*records: dict) -> pd.DataFrame:
    """A frame with the given rows; columns not given are null (as for non-JPEG rows)."""
    frame = pd.DataFrame(list(records))
    if "path" not in frame:
        frame["path"] = [f"f{i}.jpg" for i in range(len(frame))]
    return frame


def jpeg(split="train", **values) -> dict:
    base = {
        "split": split,
        "format": "jpeg",
        "width": 500,
        "height": 375,
        "color": "ycbcr",
        "subsampling": "4:4:4",
        "process": "baseline",
        "progressive": False,
        "quality_luma": 96,
        "quality_chroma": 96,
        "quality_exact": True,
        "encoder": "ijg",
        "qtables_hash": "aaaa",
        "icc": False,
        "bytes": 100_000,
        "truncated": False,
        "trailing_bytes": 0,
    }
    base.update(values)
    return base


def png(split="train", **values) -> dict:
    return {"split": split, "format": "png", "error": "not a JPEG: png", "bytes": 500, **values}


def test_split_order_puts_train_and_val_first():
    df = rows(jpeg("zeta"), jpeg("val"), jpeg("alpha"), jpeg("train"))
    assert stats.split_order(df) == ["train", "val", "alpha", "zeta"]


def test_colour_counts_rows_without_frame_as_no_frame():
    df = rows(jpeg(), jpeg(color="cmyk"), jpeg(color="gray"), png())
    counts = stats.color_counts(df, ["train"])["train"]
    assert counts == {"gray": 1, "ycbcr": 1, "cmyk": 1, "no frame": 1}
    assert list(counts) == ["gray", "ycbcr", "cmyk", "no frame"]  # fixed order


def test_subsampling_counts_keep_raw_factor_strings_after_named_ones():
    df = rows(jpeg(subsampling="2x2,1x1,1x2"), jpeg(), jpeg(subsampling="4:1:1"), png())
    assert list(stats.subsampling_counts(df, ["train"])["train"]) == ["4:4:4", "4:1:1",
                                                                     "2x2,1x1,1x2"]  # fmt: skip


def test_counts_are_per_split():
    df = rows(jpeg("train"), jpeg("train"), jpeg("val", subsampling="4:2:0"))
    counts = stats.subsampling_counts(df, ["train", "val"])
    assert counts == {"train": {"4:4:4": 2}, "val": {"4:2:0": 1}}


def test_orientation_counts_jpegs_without_tag_as_none_and_skips_other_formats():
    df = rows(jpeg(orientation=6), jpeg(), png())
    assert stats.orientation_counts(df, ["train"])["train"] == {"none": 1, "6": 1}


def test_icc_counts_by_colour_space():
    df = rows(jpeg(icc=True, icc_colorspace="RGB"), jpeg(icc=True), jpeg(), png())
    counts = stats.icc_counts(df, ["train"])["train"]
    assert counts == {"no ICC": 1, "ICC RGB": 1, "ICC (unknown space)": 1}


def test_quality_histograms_separate_exact_and_approximate():
    df = rows(jpeg(quality_luma=96), jpeg(quality_luma=96, quality_exact=False),
              jpeg(quality_luma=5, quality_chroma=40), png())  # fmt: skip
    h = stats.quality_histograms(df, ["train"])["train"]
    assert h["luma_exact"][95] == 1 and h["luma_approx"][95] == 1 and h["luma_exact"][4] == 1
    assert sum(h["luma_exact"]) + sum(h["luma_approx"]) == 3
    assert h["luma_differs_from_chroma"] == 1 and h["no_tables"] == 1


def test_progressive_share_over_files_with_a_frame():
    df = rows(jpeg(progressive=True), jpeg(), jpeg(), png())
    entry = stats.progressive_share(df, ["train"])["train"]
    assert (entry["with_frame"], entry["progressive"]) == (3, 1)
    assert entry["share"] == pytest.approx(1 / 3)


def test_size_counts_group_identical_frames():
    df = rows(jpeg(), jpeg(), jpeg(width=375, height=500), png())
    sizes = stats.size_counts(df, ["train"])
    assert sizes[["width", "height", "count"]].values.tolist() == [[500, 375, 2], [375, 500, 1]]


def test_file_size_histogram_counts_every_sized_file_once():
    df = rows(jpeg(bytes=1000), jpeg(bytes=2_000_000), png(bytes=0), jpeg(bytes=50_000))
    hist = stats.file_size_histogram(df, ["train"])
    assert sum(hist["counts"]["train"]) == 3 and hist["empty"]["train"] == 1
    assert hist["edges"][0] <= 1000 and hist["edges"][-1] >= 2_000_000


def test_bpp_vs_quality_medians_per_quality():
    df = rows(jpeg(bytes=18_750, quality_luma=50), jpeg(bytes=56_250, quality_luma=50),
              jpeg(bytes=187_500, quality_luma=96))  # fmt: skip
    entry = stats.bpp_vs_quality(df, ["train"])
    per = entry["per_quality"]["train"]
    assert per[50]["count"] == 2 and per[50]["p50"] == pytest.approx(0.2)
    assert per[96]["p50"] == pytest.approx(1.0)
    assert np.asarray(entry["histogram"]["train"]).sum() == 3


def test_fingerprints_rank_by_count_with_modes_and_examples():
    df = rows(
        jpeg(qtables_hash="bbbb", quality_luma=75, path="z.jpg"),
        jpeg(qtables_hash="bbbb", quality_luma=75, path="a.jpg", subsampling="4:2:0"),
        jpeg(qtables_hash="bbbb", quality_luma=75, path="m.jpg", subsampling="4:2:0", split="val"),
        jpeg(qtables_hash="aaaa", path="b.jpg"),
        png(),
    )
    top, second = stats.fingerprints(df, ["train", "val"])
    assert (top["qtables_hash"], top["count"], second["qtables_hash"]) == ("bbbb", 3, "aaaa")
    assert top["per_split"] == {"train": 2, "val": 1}
    assert top["subsampling"] == "4:2:0" and top["quality_luma"] == 75
    assert top["examples"] == ["a.jpg", "m.jpg", "z.jpg"]
    assert top["share"] == pytest.approx(3 / 4)


def test_outliers_rank_and_break_ties_by_path():
    df = rows(
        jpeg(width=500, height=32, path="b.jpg"),
        jpeg(width=500, height=32, path="a.jpg"),
        jpeg(width=4000, height=3000, path="c.jpg", quality_luma=3),
        png(path="d.JPEG"),
        jpeg(path="e.jpg", truncated=True, trailing_bytes=None),
    )
    out = stats.outliers(df, per_kind=2)
    assert [f["path"] for f in out["smallest"]["files"]] == ["a.jpg", "b.jpg"]
    assert out["largest"]["files"][0]["path"] == "c.jpg"
    assert out["extreme_aspect"]["files"][0]["value"] == "500x32 (15.62:1)"
    assert out["lowest_quality"]["files"][0]["value"] == "q3"
    assert (
        out["not_jpeg"]["total"] == 1 and out["not_jpeg"]["files"][0]["value"] == "not a JPEG: png"
    )
    assert out["truncated"]["files"][0]["path"] == "e.jpg"


def test_outliers_of_non_jpeg_rows_carry_nulls_not_crashes():
    out = stats.outliers(rows(png(path="x.png")), per_kind=3)
    (item,) = out["not_jpeg"]["files"]
    assert item["width"] is None and item["quality_luma"] is None and item["bytes"] == 500


def test_overview_counts_problem_files_per_split_and_all():
    df = rows(jpeg(), jpeg("val", truncated=True), png(), jpeg(color="cmyk"),
              jpeg("val", quality_luma=5))  # fmt: skip
    ov = stats.overview(df, ["train", "val"])
    assert ov["train"]["rows"] == 3 and ov["val"]["rows"] == 2 and ov["all"]["rows"] == 5
    assert ov["all"]["not_jpeg"] == 1 and ov["val"]["truncated"] == 1
    assert ov["train"]["cmyk_or_ycck"] == 1 and ov["val"]["quality_below_10"] == 1


def test_functions_accept_a_frame_missing_optional_columns():
    df = pd.DataFrame({"path": ["a.jpg"], "split": ["train"], "format": ["jpeg"]})
    splits = ["train"]
    assert stats.color_counts(df, splits) == {"train": {"no frame": 1}}
    assert stats.fingerprints(df, splits) == []
    assert stats.outliers(df)["smallest"]["total"] == 0
    assert stats.bpp_vs_quality(df, splits)["per_quality"] == {}


def test_nullable_store_dtypes_give_the_same_counts_as_numpy_dtypes():
    plain = rows(jpeg(), jpeg(orientation=6, quality_luma=50), png())
    nullable = plain.convert_dtypes()
    for name in ("color_counts", "orientation_counts", "quality_histograms", "icc_counts"):
        f = getattr(stats, name)
        assert f(plain, ["train"]) == f(nullable, ["train"]), name
