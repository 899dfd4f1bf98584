"""`jpegaudit check` (and `check --init`) take every scan option `scan` takes, from the same
declarations: an S3 dataset (moto on loopback), a list file, `--no-tail` and `--engine dask` can
be gated, and the check's store is the store `scan` would have written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from sourcedata import CountingS3Server, noise_jpeg

from jpegaudit.cli import main
from jpegaudit.store.reader import read_store

POLICY = """
version = 1

[[rule]]
kind = "formats"
allowed = ["jpeg"]

[[rule]]
kind = "min-quality"
luma = 75
"""

GOOD = {f"img{i}.jpg": noise_jpeg((64, 48), 90, seed=i) for i in range(4)}
# A PNG named .jpg and a q50 JPEG: each breaks one rule of POLICY.
BAD = {"fake.jpg": b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "q50.jpg": noise_jpeg((64, 48), 50, seed=9)}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["check", *args], catch_exceptions=False)
    return result.exit_code, result.output


def write_policy(tmp_path: Path) -> Path:
    policy = tmp_path / "jpegaudit.toml"
    policy.write_text(POLICY)
    return policy


def broken_rules(output: str) -> dict[str, int]:
    report = json.loads(output)
    return {r["kind"]: r["violations"] for r in report["rules"] if r["status"] == "fail"}


@pytest.fixture(scope="module")
def s3():
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    server = CountingS3Server().start()
    server.upload("good", {f"train/{name}": data for name, data in GOOD.items()})
    server.upload("mixed", {f"train/{name}": data for name, data in {**GOOD, **BAD}.items()})
    yield server
    server.stop()


def storage_args(s3) -> list[str]:
    """The server's storage options as the CLI takes them (a dotted key sets a nested one)."""
    options = s3.storage_options
    return [
        "--storage-option", f"endpoint_url={options['endpoint_url']}",
        "--storage-option", f"key={options['key']}",
        "--storage-option", f"secret={options['secret']}",
        "--storage-option", f"client_kwargs.region_name={options['client_kwargs']['region_name']}",
    ]  # fmt: skip


def test_check_gates_an_s3_prefix_with_storage_options(s3, tmp_path):
    policy = write_policy(tmp_path)
    common = ["--policy", str(policy), "--format", "json", *storage_args(s3), "--jobs", "1"]
    code, out = run("s3://good/train", "--store", str(tmp_path / "good"), *common)
    assert code == 0, out
    assert json.loads(out)["files"] == len(GOOD)
    code, out = run("s3://mixed/train", "--store", str(tmp_path / "mixed"), *common)
    assert code == 1, out
    assert broken_rules(out) == {"formats": 1, "min-quality": 1}
    assert set(read_store(tmp_path / "mixed")["path"]) == {
        f"s3://mixed/train/{name}" for name in {**GOOD, **BAD}
    }


def test_check_init_describes_an_s3_prefix(s3, tmp_path):
    target = tmp_path / "jpegaudit.toml"
    args = ["s3://good/train", "--init", "--policy", str(target), *storage_args(s3)]
    code, out = run(*args, "--store", str(tmp_path / "store"), "--jobs", "1")
    assert code == 0, out
    assert f"describing {len(GOOD)} files" in out
    assert 'paths = ["s3://good/train"]' in target.read_text()


def make_files(folder: Path, files: dict[str, bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


def test_check_from_list_gates_exactly_the_listed_files(tmp_path):
    listed = make_files(tmp_path / "data", {**GOOD, **BAD})
    make_files(tmp_path / "elsewhere", {"unlisted.jpg": noise_jpeg((64, 48), 20, seed=3)})
    only_good = tmp_path / "good.txt"
    only_good.write_text("".join(f"{p}\n" for p in listed if p.name in GOOD))
    policy = write_policy(tmp_path)
    store = tmp_path / "store"
    code, out = run("--from-list", str(only_good), "--policy", str(policy), "--store", str(store),
                    "--format", "json", "--jobs", "1")  # fmt: skip
    assert code == 0, out
    report = json.loads(out)
    assert report["files"] == len(GOOD) and report["files_by_split"] == {"good": len(GOOD)}
    everything = tmp_path / "all.txt"
    everything.write_text("".join(f"{p}\n" for p in listed))
    code, out = run("--from-list", str(everything), "--policy", str(policy), "--store", str(store),
                    "--format", "json", "--jobs", "1")  # fmt: skip
    assert code == 1, out
    assert broken_rules(out) == {"formats": 1, "min-quality": 1}


def test_check_no_tail_scans_without_reading_tails(tmp_path):
    # Files longer than the head (and than 16 KiB), so that a tail read is a read of its own.
    big = {f"big{i}.jpg": noise_jpeg((400, 300), 95, seed=i) for i in range(3)}
    assert all(len(data) > 16384 for data in big.values())
    make_files(tmp_path / "train", big)
    policy = write_policy(tmp_path)
    store = tmp_path / "store"
    code, out = run(str(tmp_path / "train"), "--no-tail", "--policy", str(policy),
                    "--store", str(store), "--jobs", "1")  # fmt: skip
    assert code == 0, out
    df = read_store(store)
    assert len(df) == 3 and not df["tail_checked"].any() and df["truncated"].isna().all()
    code, out = run(str(tmp_path / "train"), "--policy", str(policy), "--store", str(store),
                    "--jobs", "1")  # fmt: skip
    assert code == 0, out
    assert read_store(store)["tail_checked"].all()  # the default reads the tails again


def test_check_runs_its_scan_on_dask(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    from jpegaudit.scanner.dask_engine import DaskDistributor

    ran = []
    real_run = DaskDistributor.run

    def spied_run(self, works, record):
        ran.append(self.jobs)
        return real_run(self, works, record)

    monkeypatch.setattr(DaskDistributor, "run", spied_run)
    make_files(tmp_path / "train", {**GOOD, **BAD})
    policy = write_policy(tmp_path)
    code, out = run(str(tmp_path / "train"), "--engine", "dask", "--jobs", "2",
                    "--batch-size", "2", "--policy", str(policy), "--store",
                    str(tmp_path / "store"), "--format", "json")  # fmt: skip
    assert code == 1, out
    assert broken_rules(out) == {"formats": 1, "min-quality": 1}
    assert json.loads(out)["scan"]["scanned"] == len(GOOD) + len(BAD)
    assert ran == [2]  # on a local Dask cluster of --jobs workers


def test_check_refuses_a_bad_scan_option_as_cannot_run(tmp_path):
    make_files(tmp_path / "train", GOOD)
    policy = write_policy(tmp_path)
    code, out = run(str(tmp_path / "train"), "--engine", "spark", "--policy", str(policy))
    assert code == 2 and "spark" in out


def test_check_help_lists_every_scan_option():
    scan_help = CliRunner().invoke(main, ["scan", "--help"]).output
    check_help = CliRunner().invoke(main, ["check", "--help"]).output
    scan_flags = {word.rstrip(",") for word in scan_help.split() if word.startswith("--")}
    check_flags = {word.rstrip(",") for word in check_help.split() if word.startswith("--")}
    assert len(scan_flags) > 10 and scan_flags <= check_flags
