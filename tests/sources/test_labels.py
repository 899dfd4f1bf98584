"""The `label` column: the class folder by default, a WebDataset sample's `.cls`/`.json`,
`--label-from` (a regular expression or a mapping file), and rescans that follow the rule."""

from __future__ import annotations

import io
import json
import tarfile

import pandas as pd
import pytest
from click.testing import CliRunner
from sourcedata import noise_jpeg

from jpegaudit.api import read_store, scan
from jpegaudit.cli import main
from jpegaudit.scanner.result import ScanError
from jpegaudit.sources.labels import MAX_LABEL_CHARS, LabelRule, class_folder

JPEG = noise_jpeg((32, 24), 80, seed=1)


def labels(store) -> dict[str, str | None]:
    df = read_store(store)
    return {
        p: (None if pd.isna(lab) else lab) for p, lab in zip(df["path"], df["label"], strict=True)
    }


def imagenet_like(root):
    for name in ("n01440764/a.JPEG", "n01440764/b.JPEG", "n02105855/c.JPEG", "loose.JPEG"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(JPEG)
    return root


def write_tar(path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize(
    ("path", "root", "expected"),
    [
        ("train/n01/x.JPEG", "train", "n01"),
        ("train/x.JPEG", "train", None),  # directly in the scanned folder
        ("train/n01/deeper/x.JPEG", "train", "n01"),
        ("./n01/x.jpg", ".", "n01"),
        ("s3://b/train/n01/x.jpg", "s3://b/train", "n01"),
        ("data/n01/x.jpg", "data/n01/x.jpg", "n01"),  # a file given on its own
        ("imgs/n07/x.jpg", "lists/train.txt", "n07"),  # named in a list
        ("shards/s.tar::n01/x.jpg", "shards", "n01"),  # the member's own folder
        ("shards/s.tar::x.jpg", "shards", None),
        ("data/x.parquet::17", "data", None),
    ],
)
def test_class_folder_is_the_first_folder_below_the_scanned_one(path, root, expected):
    assert class_folder(path, root) == expected


def test_a_class_folder_label_is_cut_to_the_columns_limit(tmp_path):
    """docs/store-schema.md: a label is at most MAX_LABEL_CHARS (200) characters, the class
    folder's too, in a scan as in the rule itself (a folder name may be 255 bytes)."""
    long_name = "n" * 250
    assert class_folder(f"train/{long_name}/x.JPEG", "train") == "n" * MAX_LABEL_CHARS
    assert class_folder(f"imgs/{long_name}/x.jpg", "lists/train.txt") == "n" * MAX_LABEL_CHARS
    folder = tmp_path / "train" / long_name
    folder.mkdir(parents=True)
    (folder / "a.JPEG").write_bytes(noise_jpeg((8, 8), 80))
    scan(tmp_path / "train", tmp_path / "store", jobs=1)
    assert list(labels(tmp_path / "store").values()) == ["n" * MAX_LABEL_CHARS]


def test_a_folder_scan_labels_rows_with_their_class_folder(tmp_path):
    imagenet_like(tmp_path / "train")
    scan(tmp_path / "train", tmp_path / "store", jobs=1)
    got = labels(tmp_path / "store")
    base = f"{tmp_path}/train"
    assert got == {
        f"{base}/n01440764/a.JPEG": "n01440764",
        f"{base}/n01440764/b.JPEG": "n01440764",
        f"{base}/n02105855/c.JPEG": "n02105855",
        f"{base}/loose.JPEG": None,
    }


def test_tar_members_take_their_folder_inside_the_shard(tmp_path):
    write_tar(tmp_path / "s.tar", {"n01/a.jpg": JPEG, "top.jpg": JPEG})
    scan(tmp_path / "s.tar", tmp_path / "store", jobs=1)
    got = labels(tmp_path / "store")
    assert got == {f"{tmp_path}/s.tar::n01/a.jpg": "n01", f"{tmp_path}/s.tar::top.jpg": None}


def test_webdataset_samples_take_the_cls_member_else_the_json_label(tmp_path):
    members = {
        "000001.jpg": JPEG,
        "000001.cls": b"207\n",
        "000002.json": json.dumps({"label": 3, "caption": "x"}).encode(),
        "000002.jpg": JPEG,  # the label member may come first
        "000003.jpg": JPEG,
        "000003.json": json.dumps({"caption": "no label here"}).encode(),
        "000004.jpg": JPEG,
        "000004.cls": b"5",
        "000004.json": json.dumps({"label": 6}).encode(),  # .cls wins
    }
    write_tar(tmp_path / "wds.tar", members)
    scan(tmp_path / "wds.tar", tmp_path / "store", jobs=1)
    got = {p.split("::")[1]: lab for p, lab in labels(tmp_path / "store").items()}
    assert got == {
        "000001.jpg": "207",
        "000001.cls": "207",
        "000002.json": "3",
        "000002.jpg": "3",
        "000003.jpg": None,
        "000003.json": None,
        "000004.jpg": "5",
        "000004.cls": "5",
        "000004.json": "5",
    }


def test_label_from_a_regular_expression_takes_its_label_group(tmp_path):
    imagenet_like(tmp_path / "train")
    scan(tmp_path / "train", tmp_path / "store", jobs=1, label_from=r"/(?P<label>n\d{4})\d+/")
    got = labels(tmp_path / "store")
    assert got[f"{tmp_path}/train/n02105855/c.JPEG"] == "n0210"
    assert got[f"{tmp_path}/train/loose.JPEG"] is None  # no match


@pytest.mark.parametrize("kind", ["csv", "tsv", "json", "txt"])
def test_label_from_a_mapping_file_looks_up_names_and_stems(tmp_path, kind):
    imagenet_like(tmp_path / "train")
    pairs = {"a.JPEG": "cat", "b": "dog", "n02105855/c.JPEG": "7"}
    mapping = tmp_path / f"labels.{kind}"
    if kind == "json":
        mapping.write_text(json.dumps({**pairs, "n02105855/c.JPEG": 7}))
    elif kind == "txt":
        mapping.write_text("".join(f"{k} {v}\n" for k, v in pairs.items()))
    else:
        sep = "\t" if kind == "tsv" else ","
        mapping.write_text(
            f"file{sep}label\n" + "".join(f"{k}{sep}{v}\n" for k, v in pairs.items())
        )
    scan(tmp_path / "train", tmp_path / "store", jobs=1, label_from=str(mapping))
    base = f"{tmp_path}/train"
    assert labels(tmp_path / "store") == {
        f"{base}/n01440764/a.JPEG": "cat",
        f"{base}/n01440764/b.JPEG": "dog",
        f"{base}/n02105855/c.JPEG": "7",
        f"{base}/loose.JPEG": None,
    }


def test_an_explicit_rule_overrides_container_labels(tmp_path):
    write_tar(tmp_path / "wds.tar", {"k1.jpg": JPEG, "k1.cls": b"9"})
    scan(tmp_path / "wds.tar", tmp_path / "store", jobs=1, label_from=r"::(k)\d")
    assert set(labels(tmp_path / "store").values()) == {"k"}


def test_a_changed_rule_relabels_unchanged_files_and_shards_on_rescan(tmp_path):
    data = imagenet_like(tmp_path / "train")
    write_tar(data / "s.tar", {"n09/x.jpg": JPEG})
    scan(data, tmp_path / "store", jobs=1)
    again = scan(data, tmp_path / "store", jobs=1)
    assert (again.scanned, again.unchanged) == (0, 5)
    relabelled = scan(data, tmp_path / "store", jobs=1, label_from=r"/(\w)[^/]*$")
    assert relabelled.scanned == 5
    got = labels(tmp_path / "store")
    assert len(got) == 5
    assert got[f"{data}/s.tar::n09/x.jpg"] == "x" and got[f"{data}/loose.JPEG"] == "l"
    back = scan(data, tmp_path / "store", jobs=1)
    assert back.scanned == 5 and labels(tmp_path / "store")[f"{data}/s.tar::n09/x.jpg"] == "n09"


def test_a_bad_regular_expression_or_a_missing_mapping_is_a_scan_error(tmp_path):
    with pytest.raises(ScanError, match="bad regular expression"):
        scan(tmp_path, tmp_path / "store", label_from="(unclosed")
    with pytest.raises(ScanError, match="does not exist"):
        scan(tmp_path, tmp_path / "store", label_from=str(tmp_path / "nope.csv"))


def test_scan_and_check_take_label_from_on_the_command_line(tmp_path):
    imagenet_like(tmp_path / "train")
    result = CliRunner().invoke(
        main,
        ["scan", str(tmp_path / "train"), "--store", str(tmp_path / "store"), "-j", "1",
         "--label-from", r"(n\d+)"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert labels(tmp_path / "store")[f"{tmp_path}/train/n01440764/a.JPEG"] == "n01440764"
    assert LabelRule(r"(n\d+)").key() != LabelRule().key()
