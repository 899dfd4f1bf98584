"""`--engine dask` on a real LocalCluster (2 worker processes, small memory) writes the same store
as the process engine: folders, tar shards and S3 objects (moto on loopback)."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from sourcedata import CountingS3Server, dataset_files, split_in_two, tar_bytes, write_folder

from jpegaudit.api import read_store, scan
from jpegaudit.cli import main
from jpegaudit.store.scan_store import ScanStore

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        memory_limit="400MiB",
        dashboard_address=":0",
    ) as local:
        yield local


@pytest.fixture(scope="module")
def s3():
    pytest.importorskip("s3fs")
    pytest.importorskip("moto")
    server = CountingS3Server().start()
    server.upload("data", {f"train/{rel}": body for rel, body in dataset_files().items()})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    base = tmp_path_factory.mktemp("dask")
    files = dataset_files()
    write_folder(base / "train", files)
    first, second = split_in_two(files)
    (base / "shards").mkdir()
    (base / "shards" / "000.tar").write_bytes(tar_bytes(first))
    (base / "shards" / "001.tar").write_bytes(tar_bytes(second))
    return base


def store_rows(store) -> pd.DataFrame:
    df = read_store(store).drop(columns=["scanned_at"])
    return df.sort_values("path").reset_index(drop=True)


def test_dask_engine_writes_the_same_store_as_the_process_engine(cluster, s3, dataset, tmp_path):
    roots = [dataset / "train", dataset / "shards", "s3://data/train"]
    common = dict(jobs=2, batch_size=4, storage_options=s3.storage_options)
    by_process = scan(roots, tmp_path / "process", **common)
    by_dask = scan(
        roots, tmp_path / "dask", engine="dask", scheduler=cluster.scheduler_address, **common
    )
    pd.testing.assert_frame_equal(store_rows(tmp_path / "dask"), store_rows(tmp_path / "process"))
    assert (by_dask.scanned, by_dask.units) == (by_process.scanned, by_process.units)
    # Same units, same deterministic part names.
    names = {p.name for p in ScanStore(tmp_path / "dask").part_files()}
    assert names == {p.name for p in ScanStore(tmp_path / "process").part_files()}


def test_dask_rescan_skips_what_is_unchanged(cluster, dataset, tmp_path):
    address = cluster.scheduler_address
    scan(dataset / "shards", tmp_path / "store", engine="dask", scheduler=address)
    again = scan(dataset / "shards", tmp_path / "store", engine="dask", scheduler=address)
    assert (again.scanned, again.units, again.unchanged) == (0, 0, len(dataset_files()))


def test_cli_runs_the_dask_engine_at_a_scheduler_address(cluster, dataset, tmp_path):
    args = ["scan", str(dataset / "train"), "--store", str(tmp_path / "store")]
    args += ["--engine", "dask", "--scheduler", cluster.scheduler_address]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert len(read_store(tmp_path / "store")) == len(dataset_files())


def test_without_an_address_a_local_cluster_is_started(dataset, tmp_path):
    result = scan(dataset / "shards", tmp_path / "store", engine="dask", jobs=1)
    assert result.scanned == len(dataset_files())
