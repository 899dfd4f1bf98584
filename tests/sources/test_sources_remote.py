"""fsspec URLs (memory:// here, in-process), retries of transient errors, per-object failures
as rows, shards cut short by the network, and --from-list."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner
from sourcedata import comparable, dataset_files, noise_jpeg, tar_bytes, write_folder

from jpegaudit.api import read_store, scan
from jpegaudit.audit import DEFAULT_LIMITS
from jpegaudit.cli import main
from jpegaudit.scanner.engine import run_scan
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.sources.remote import DEFAULT_REMOTE, RemoteOptions
from jpegaudit.sources.retry import RetryPolicy, call_with_retries, is_transient

fsspec = pytest.importorskip("fsspec")
MemoryFileSystem = pytest.importorskip("fsspec.implementations.memory").MemoryFileSystem

FAST_RETRY = RemoteOptions(retry=RetryPolicy(attempts=3, first_delay_s=0.001))


class FlakyFS(MemoryFileSystem):
    """An in-memory filesystem whose reads fail on demand, like a throttled object store."""

    protocol = "flakymem"
    store: dict = {}
    pseudo_dirs = [""]
    fail_first: dict[str, int] = {}  # path -> failures left before reads succeed
    fail_after: dict[str, int] = {}  # path -> successful reads before every read fails
    reads: list[tuple[str, int, int]] = []

    @classmethod
    def _strip_protocol(cls, path):
        if path.startswith("flakymem://"):
            path = "memory://" + path[len("flakymem://") :]
        return super()._strip_protocol(path)

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        FlakyFS.reads.append((path, start, end))
        if FlakyFS.fail_first.get(path, 0) > 0:
            FlakyFS.fail_first[path] -= 1
            raise ConnectionError("connection reset by peer")
        if path in FlakyFS.fail_after:
            if FlakyFS.fail_after[path] <= 0:
                raise ConnectionError("connection reset by peer")
            FlakyFS.fail_after[path] -= 1
        return super().cat_file(path, start=start, end=end, **kwargs)


fsspec.register_implementation("flakymem", FlakyFS, clobber=True)


@pytest.fixture
def flaky():
    FlakyFS.store.clear()
    FlakyFS.pseudo_dirs[:] = [""]
    FlakyFS.fail_first.clear()
    FlakyFS.fail_after.clear()
    FlakyFS.reads.clear()
    fs = FlakyFS()
    for rel, data in dataset_files().items():
        fs.pipe(f"/data/loose/{rel}", data)
    return fs


@pytest.fixture(scope="module")
def folder_rows(tmp_path_factory):
    base = tmp_path_factory.mktemp("folder")
    write_folder(base / "train", dataset_files())
    scan(base / "train", base / "store", jobs=1)
    return comparable(read_store(base / "store"))


def test_memory_urls_give_the_folder_rows(flaky, folder_rows, tmp_path):
    scan("flakymem://data/loose", tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store")
    assert "flakymem://data/loose/a/gray.jpg" in set(df["path"])
    assert set(df["split"]) == {"loose"}
    assert comparable(df).equals(folder_rows)


def test_an_objects_first_range_is_long_whatever_the_local_head(flaky, tmp_path):
    """A local file's first read is ReadLimits.head_bytes (4 KiB), an object's first range at
    least RemoteOptions.first_range_bytes: its 10 KB header is then one request, not two, and
    its row (read_bytes included) is the local file's."""
    image = noise_jpeg((400, 300), 95)
    data = image[:2] + b"\xff\xfe" + (10_002).to_bytes(2, "big") + b"x" * 10_000 + image[2:]
    assert len(data) > DEFAULT_REMOTE.whole_object_bytes  # not fetched whole
    assert DEFAULT_LIMITS.head_bytes < 12_000 < DEFAULT_REMOTE.first_range_bytes
    flaky.pipe("/data/big/x.jpg", data)
    scan("flakymem://data/big", tmp_path / "store", jobs=1)
    ranges = [(start, end) for path, start, end in FlakyFS.reads if path.endswith("x.jpg")]
    assert ranges == [(0, DEFAULT_REMOTE.first_range_bytes), (len(data) - 64, len(data))]
    write_folder(tmp_path / "big", {"x.jpg": data})
    scan(tmp_path / "big", tmp_path / "local-store", jobs=1)
    remote, local = (read_store(tmp_path / s).iloc[0] for s in ("store", "local-store"))
    assert remote["header_bytes"] > 10_000 and pd.isna(remote["error"])
    assert remote["read_bytes"] > DEFAULT_LIMITS.head_bytes  # the head grew
    same = ["read_bytes", "header_bytes", "bytes", "qtables_hash", "quality_luma", "truncated"]
    assert remote[same].tolist() == local[same].tolist()


def test_transient_errors_are_retried_and_leave_no_trace(flaky, folder_rows, tmp_path):
    for rel in ("a/q90_420.jpg", "b/icc.jpg"):
        FlakyFS.fail_first[f"/data/loose/{rel}"] = 2
    result = run_scan(
        ["flakymem://data/loose"], tmp_path / "store", ScanOptions(jobs=1, remote=FAST_RETRY)
    )
    assert comparable(read_store(tmp_path / "store")).equals(folder_rows)
    assert result.errors == folder_rows["error"].notna().sum()
    assert result.requests == len(FlakyFS.reads)  # failed attempts are requests too


def test_an_object_failing_past_the_retries_is_a_row_and_is_retried_next_scan(flaky, tmp_path):
    FlakyFS.fail_first["/data/loose/a/gray.jpg"] = 10
    run_scan(["flakymem://data/loose"], tmp_path / "store", ScanOptions(jobs=1, remote=FAST_RETRY))
    row = read_store(tmp_path / "store").set_index("path").loc["flakymem://data/loose/a/gray.jpg"]
    assert row["entry_type"] == "unreadable"
    assert row["error"] == "read error: ConnectionError: connection reset by peer"
    FlakyFS.fail_first.clear()
    again = run_scan(
        ["flakymem://data/loose"], tmp_path / "store", ScanOptions(jobs=1, remote=FAST_RETRY)
    )
    assert again.scanned == 1
    healed = read_store(tmp_path / "store").set_index("path")
    assert healed.loc["flakymem://data/loose/a/gray.jpg", "quality_luma"] == 80


def test_a_shard_cut_off_by_the_network_is_redone_by_the_next_scan(flaky, tmp_path):
    files = dataset_files()
    flaky.pipe("/shards/s.tar", tar_bytes(files))
    FlakyFS.fail_after["/shards/s.tar"] = 2  # two 64 KiB ranges, then the network is gone
    options = RemoteOptions(shard_block_bytes=65536, retry=FAST_RETRY.retry)
    run_scan(["flakymem://shards"], tmp_path / "store", ScanOptions(jobs=1, remote=options))
    partial = read_store(tmp_path / "store").set_index("path")
    shard = partial.loc["flakymem://shards/s.tar"]
    assert shard["entry_type"] == "unreadable" and shard["error"].startswith("read error")
    assert 0 < len(partial) - 1 < len(files)
    FlakyFS.fail_after.clear()
    again = run_scan(["flakymem://shards"], tmp_path / "store", ScanOptions(jobs=1, remote=options))
    final = read_store(tmp_path / "store")
    assert again.unchanged == 0 and final["path"].is_unique
    assert sorted(final["path"]) == sorted(f"flakymem://shards/s.tar::{r}" for r in files)


@pytest.fixture
def http_site():
    """A static site on loopback serving the dataset under /loose/, with Range support and
    HTML index pages (which fsspec's HTTP filesystem lists by their links)."""
    import io
    import threading

    pytest.importorskip("werkzeug")
    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    files = {f"loose/{rel}": data for rel, data in dataset_files().items()}
    served = []

    @Request.application
    def app(request):
        rel = request.path.lstrip("/")
        served.append((request.method, rel, request.headers.get("Range")))
        if rel in files:
            body = files[rel]
            response = Response(io.BytesIO(body), direct_passthrough=True)
            response.content_length = len(body)
            return response.make_conditional(request, accept_ranges=True, complete_length=len(body))
        links = sorted({k[len(rel) :].split("/")[0] for k in files if k.startswith(rel)})
        if not links:
            return Response("not found", status=404)
        html = "".join(f'<a href="{n}{"" if "." in n else "/"}">{n}</a>' for n in links)
        return Response(f"<html><body>{html}</body></html>", mimetype="text/html")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", served
    server.shutdown()
    thread.join()


def test_http_urls_give_the_folder_rows_with_ranged_gets(http_site, folder_rows, tmp_path):
    pytest.importorskip("aiohttp")  # fsspec's HTTP filesystem
    base, served = http_site
    scan(f"{base}/loose/", tmp_path / "store", jobs=1)
    df = read_store(tmp_path / "store")
    assert f"{base}/loose/a/gray.jpg" in set(df["path"])
    assert comparable(df).equals(folder_rows)
    object_gets = [s for s in served if s[0] == "GET" and "." in s[1].rsplit("/", 1)[-1]]
    assert object_gets and all(r is not None for _, _, r in object_gets)


def test_a_missing_url_gets_a_row_saying_so(flaky, tmp_path):
    scan("flakymem://data/nothing-here.jpg", tmp_path / "store", jobs=1)
    row = read_store(tmp_path / "store").iloc[0]
    assert (row["entry_type"], row["error"]) == ("missing", "vanished before it was read")


def test_from_list_mixes_local_files_shards_and_urls(flaky, tmp_path):
    files = dataset_files()
    write_folder(tmp_path / "local", files)
    (tmp_path / "s.tar").write_bytes(tar_bytes({"m/x.jpg": files["a/gray.jpg"]}))
    size = len(files["b/small.jpg"])
    (tmp_path / "train.txt").write_text(
        "# paths and URLs, one per line\n"
        f"{tmp_path}/local/a/q90_420.jpg\n"
        f"{tmp_path}/s.tar\n"
        f"flakymem://data/loose/b/small.jpg\t{size}\n"
        "flakymem://data/loose/a/gray.jpg\n"
        "\n"
    )
    scan([], tmp_path / "store", from_list=tmp_path / "train.txt", jobs=1)
    df = read_store(tmp_path / "store").set_index("path")
    assert sorted(df.index) == sorted(
        [
            f"{tmp_path}/local/a/q90_420.jpg",
            f"{tmp_path}/s.tar::m/x.jpg",
            "flakymem://data/loose/b/small.jpg",
            "flakymem://data/loose/a/gray.jpg",
        ]
    )
    assert set(df["split"]) == {"train"} and set(df["root"]) == {f"{tmp_path}/train.txt"}
    assert df["error"].isna().all()
    assert df.loc["flakymem://data/loose/a/gray.jpg", "bytes"] == len(files["a/gray.jpg"])
    again = scan([], tmp_path / "store", from_list=tmp_path / "train.txt", jobs=1)
    assert (again.scanned, again.unchanged) == (0, 4)


def test_cli_scans_a_list_with_storage_options(flaky, tmp_path):
    (tmp_path / "val.txt").write_text("flakymem://data/loose/a/gray.jpg\n")
    result = CliRunner().invoke(
        main,
        ["scan", "--from-list", str(tmp_path / "val.txt"), "--store", str(tmp_path / "store")]
        + ["-j", "1", "--storage-option", "skip_instance_cache=true"],
    )
    assert result.exit_code == 0, result.output
    assert "1 scanned (0 with errors)" in result.output and "remote: 2 requests" in result.output
    assert read_store(tmp_path / "store")["split"].tolist() == ["val"]


def test_cli_without_paths_or_list_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["scan", "--store", str(tmp_path / "store")])
    assert result.exit_code == 2 and "--from-list" in result.output


def test_cli_unknown_protocol_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["scan", "nosuchproto://x/y", "--store", str(tmp_path / "s")])
    assert result.exit_code == 2 and "nosuchproto://x/y" in result.output


def test_permanent_errors_are_not_retried():
    calls = []

    def missing():
        calls.append(1)
        raise FileNotFoundError("gone")

    with pytest.raises(FileNotFoundError):
        call_with_retries(missing, RetryPolicy(attempts=5, first_delay_s=0))
    assert len(calls) == 1
    assert is_transient(TimeoutError()) and not is_transient(PermissionError())


def test_a_path_named_twice_in_lists_and_folders_gets_one_row(tmp_path):
    files = dataset_files()
    write_folder(tmp_path / "train", files)
    (tmp_path / "s.tar").write_bytes(tar_bytes({"m/x.jpg": files["a/gray.jpg"]}))
    one = f"{tmp_path}/train/a/gray.jpg"
    (tmp_path / "a.txt").write_text(f"{one}\n{one}\n{tmp_path}/s.tar\n{tmp_path}/s.tar\n")
    (tmp_path / "b.txt").write_text(f"{one}\n")
    scan(tmp_path / "train", tmp_path / "store", from_list=[tmp_path / "a.txt", tmp_path / "b.txt"])
    df = read_store(tmp_path / "store")
    assert df["path"].is_unique and len(df) == len(files) + 1
