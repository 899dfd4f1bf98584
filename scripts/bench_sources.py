"""Throughput of `jpegaudit scan` by source and engine: one folder vs the same files as tar shards
vs a stored zip vs loose objects and tar shards in S3 (moto's S3 server on loopback, in its own
process so that its CPU is not counted as the scanner's), each on the process engine and on a
Dask LocalCluster. Prints wall time, files/s, the ratio to the folder scan, scanner CPU time
(main process plus pool workers; process engine only), and for S3 the requests and bytes the
server served per file.

    python scripts/bench_sources.py                 # 3000 ImageNet-like files, 2 workers
    python scripts/bench_sources.py --files 20000 --jobs 2 --repeat 3
    python scripts/bench_sources.py --containers    # Parquet, TFRecord, MDS, LMDB vs floors

`--containers` scans the same files as one Parquet file (the Hugging Face image struct, 100
rows a row group), TFRecord (plain and gzip), MDS (raw and zstd, 64 MiB shards), LMDB, a folder
and a tar, each with one worker (one container is one unit), and prints each next to its floor:
the least work that reaches the same bytes with the format's own reader (pyarrow reading the
image and label columns; the TFRecord framing alone, without CRCs or protobuf; MDS offsets and
each sample's bytes; an LMDB cursor touching each value's first byte).

Files are ImageNet-like (500x375 and similar, 4:2:0, q 70..95, 40 to 120 KB); 48 distinct
encodings are repeated over the file names, as ImageNet repeats a few thousand headers.
Warm cache: every configuration runs once before it is timed. Only loopback traffic.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import socket
import sys
import tarfile
import tempfile
import time
import urllib.request
import zipfile
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image

from jpegaudit.api import read_store, scan

SHAPES = [(500, 375), (375, 500), (500, 333), (640, 480)]


def encodings(count: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    out = []
    for i in range(count):
        w, h = SHAPES[i % len(SHAPES)]
        base = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
        img = Image.fromarray(base).resize((w, h), Image.BILINEAR)
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=70 + (i * 5) % 26, subsampling="4:2:0")
        out.append(buf.getvalue())
    return out


def build(work: Path, n_files: int, shard_size: int) -> dict:
    bodies = encodings(48)
    names = [f"n{i % 10:02d}/img_{i:07d}.JPEG" for i in range(n_files)]
    content = {name: bodies[i % len(bodies)] for i, name in enumerate(names)}
    folder = work / "folder" / "train"
    for name, body in content.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(body)
    shards = work / "shards" / "train"
    shards.mkdir(parents=True)
    for s in range(0, n_files, shard_size):
        with tarfile.open(shards / f"train-{s // shard_size:06d}.tar", "w") as tar:
            for name in names[s : s + shard_size]:
                info = tarfile.TarInfo(name)
                info.size = len(content[name])
                tar.addfile(info, io.BytesIO(content[name]))
    zipped = work / "zip"
    zipped.mkdir()
    with zipfile.ZipFile(zipped / "train.zip", "w", zipfile.ZIP_STORED) as z:
        for name in names:
            z.writestr(name, content[name])
    return {
        "folder": folder,
        "shards": shards,
        "zip": zipped / "train.zip",
        "content": content,
        "total_bytes": sum(len(b) for b in content.values()),
    }


# -- S3 on loopback, in its own process -----------------------------------------------------
def _serve_s3(port: int) -> None:
    import logging

    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    counts = {"requests": 0, "object_gets": 0, "object_bytes": 0, "lists": 0}
    backend = DomainDispatcherApplication(create_backend_app)

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/__counts__":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [json.dumps(counts).encode()]
        if path == "/__reset__":
            for k in counts:
                counts[k] = 0
            start_response("200 OK", [])
            return [b""]
        body = b"".join(backend(environ, start_response))
        counts["requests"] += 1
        if environ["REQUEST_METHOD"] == "GET":
            if path.count("/") >= 2:
                counts["object_gets"] += 1
                counts["object_bytes"] += len(body)
            else:
                counts["lists"] += 1
        return [body]

    make_server("127.0.0.1", port, app, threaded=True).serve_forever()


class S3Server:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = get_context("spawn").Process(target=_serve_s3, args=(self.port,))
        self.process.start()
        for _ in range(200):
            try:
                self.counts()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("moto server did not start")

    def counts(self) -> dict:
        with urllib.request.urlopen(f"{self.endpoint}/__counts__", timeout=5) as r:
            return json.loads(r.read())

    def reset(self) -> None:
        urllib.request.urlopen(f"{self.endpoint}/__reset__", timeout=5).read()

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @property
    def storage_options(self) -> dict:
        return {
            "key": "bench",
            "secret": "bench",
            "endpoint_url": self.endpoint,
            "client_kwargs": {"region_name": "us-east-1"},
        }

    def upload(self, bucket: str, objects: dict[str, bytes]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket=bucket)
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda kv: s3.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]), objects.items()
                )
            )

    def stop(self) -> None:
        self.process.terminate()
        self.process.join()


# -- timing -----------------------------------------------------------------------------------
def cpu_now() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_scan(target, work: Path, repeat: int, **kwargs) -> dict:
    best = None
    for attempt in range(repeat + 1):  # the first run warms caches and is not counted
        store = work / f"store-{time.monotonic_ns()}"
        cpu0, t0 = cpu_now(), time.perf_counter()
        result = scan(target, store, **kwargs)
        wall, cpu = time.perf_counter() - t0, cpu_now() - cpu0
        rows = len(read_store(store))
        shutil.rmtree(store)
        if attempt and (best is None or wall < best["wall"]):
            best = {"wall": wall, "cpu": cpu, "rows": rows, "result": result}
    return best


# -- containers -------------------------------------------------------------------------------
def build_containers(work: Path, content: dict[str, bytes]) -> dict[str, Path]:
    import lmdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from containerdata import imagenet_example, tfrecord_bytes, write_mds

    names = list(content)
    classes = sorted({n.split("/", 1)[0] for n in names})
    out = {}
    table = pa.table(
        {
            "image": pa.array([{"bytes": content[n], "path": n} for n in names]),
            "label": [classes.index(n.split("/", 1)[0]) for n in names],
        }
    )
    out["parquet"] = work / "train.parquet"
    pq.write_table(table, out["parquet"], row_group_size=100)
    records = [imagenet_example(n, content[n], 1, n.split("/", 1)[0]) for n in names]
    for kind, gz in (("tfrecord", False), ("tfrecord-gzip", True)):
        out[kind] = work / f"{kind}" / "train-00000-of-00001"
        out[kind].parent.mkdir()
        out[kind].write_bytes(tfrecord_bytes(records, gz))
    samples = [{"image": content[n], "label": n.split("/", 1)[0]} for n in names]
    per_shard = max(1, (64 << 20) // max(1, len(next(iter(content.values())))))
    for kind, compression in (("mds", None), ("mds-zstd", "zstd")):
        out[kind] = write_mds(
            work / kind, samples, {"image": "jpeg", "label": "str"}, per_shard, compression
        )
    out["lmdb"] = work / "lmdb"
    env = lmdb.open(str(out["lmdb"]), map_size=4 * sum(map(len, content.values())) + (1 << 24))
    with env.begin(write=True) as txn:
        for n in names:
            txn.put(n.encode(), content[n])
    env.close()
    return out


def floors(paths: dict[str, Path]) -> dict[str, float]:
    """Seconds (CPU) of the least work that reaches the bytes, per container."""
    import lmdb
    import pyarrow.parquet as pq

    def parquet() -> None:
        pf = pq.ParquetFile(paths["parquet"])
        for g in range(pf.num_row_groups):
            pf.read_row_group(g, columns=["image", "label"])

    def framing(path: Path) -> None:
        with open(path, "rb") as f:
            while True:
                head = f.read(12)
                if len(head) < 12:
                    return
                f.seek(int.from_bytes(head[:8], "little") + 4, os.SEEK_CUR)

    def framing_gzip(path: Path) -> None:
        import gzip

        with gzip.open(path, "rb") as f:
            while True:
                head = f.read(12)
                if len(head) < 12:
                    return
                f.seek(int.from_bytes(head[:8], "little") + 4, os.SEEK_CUR)

    def mds(path: Path) -> None:
        import struct

        index = json.loads((path / "index.json").read_text())
        for shard in index["shards"]:
            stored = shard["zip_data"] or shard["raw_data"]
            data = (path / stored["basename"]).read_bytes()
            if shard["zip_data"]:
                import zstandard

                data = zstandard.ZstdDecompressor().decompress(data)
            n = struct.unpack_from("<I", data)[0]
            offsets = struct.unpack_from(f"<{n + 1}I", data, 4)
            for i in range(n):
                data[offsets[i] : offsets[i + 1]]

    def lmdb_cursor() -> None:
        env = lmdb.open(str(paths["lmdb"]), readonly=True, lock=False)
        with env.begin(buffers=True) as txn:
            for _, value in txn.cursor():
                value[0]
        env.close()

    work = {
        "parquet": parquet,
        "tfrecord": lambda: framing(paths["tfrecord"]),
        "tfrecord-gzip": lambda: framing_gzip(paths["tfrecord-gzip"]),
        "mds": lambda: mds(paths["mds"]),
        "mds-zstd": lambda: mds(paths["mds-zstd"]),
        "lmdb": lmdb_cursor,
    }
    out = {}
    for kind, fn in work.items():
        fn()  # warm
        best = None
        for _ in range(2):
            t0 = time.process_time()
            fn()
            spent = time.process_time() - t0
            best = spent if best is None else min(best, spent)
        out[kind] = best
    return out


def bench_containers(args) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-containers-"))
    try:
        data = build(work, args.files, args.shard_size)
        paths = build_containers(work, data["content"])
        n = args.files
        print(
            f"{n} files, {data['total_bytes'] / n / 1024:.0f} KiB mean; one worker; load "
            f"average {os.getloadavg()[0]:.1f}\n"
        )
        print(f"{'source':<16}{'wall s':>8}{'CPU s':>8}{'files/CPU-s':>13}{'floor CPU s':>13}"
              f"{'floor files/s':>15}{'x floor':>9}")  # fmt: skip
        floor = floors(paths)
        targets = {"folder": data["folder"], "tar": data["shards"], **paths}
        for kind, target in targets.items():
            run = timed_scan(target, work, args.repeat, jobs=1)
            assert run["rows"] == n, (kind, run["rows"])
            line = f"{kind:<16}{run['wall']:8.2f}{run['cpu']:8.2f}{n / run['cpu']:13.0f}"
            if kind in floor:
                f = floor[kind]
                line += f"{f:13.3f}{n / f:15.0f}{run['cpu'] / f:9.1f}"
            print(line, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--shard-size", type=int, default=500, help="files per tar shard")
    parser.add_argument("--repeat", type=int, default=2, help="timed runs per row (best kept)")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--no-s3", action="store_true")
    parser.add_argument("--containers", action="store_true", help="Parquet, TFRecord, MDS, LMDB")
    args = parser.parse_args()
    if args.containers:
        bench_containers(args)
        return

    work = Path(tempfile.mkdtemp(prefix="bench-sources-"))
    server = None
    cluster = None
    try:
        t0 = time.perf_counter()
        data = build(work, args.files, args.shard_size)
        n, total = args.files, data["total_bytes"]
        print(
            f"{n} files, {total / 1e6:.0f} MB (mean {total / n / 1024:.0f} KiB), "
            f"{len(list(data['shards'].iterdir()))} tar shards of {args.shard_size}; "
            f"jobs {args.jobs}; built in {time.perf_counter() - t0:.1f} s"
        )
        sources = [
            ("folder", data["folder"], {}),
            ("tar shards, local", data["shards"], {}),
            ("zip (stored), local", data["zip"], {}),
        ]
        if not args.no_s3:
            server = S3Server()
            t0 = time.perf_counter()
            server.upload("loose", {f"train/{k}": v for k, v in data["content"].items()})
            server.upload(
                "shards", {p.name: p.read_bytes() for p in sorted(data["shards"].iterdir())}
            )
            print(f"uploaded to moto on {server.endpoint} in {time.perf_counter() - t0:.1f} s")
            options = {"storage_options": server.storage_options}
            sources += [
                ("S3 loose objects, loopback", "s3://loose/train", options),
                ("S3 tar shards, loopback", "s3://shards", options),
            ]
        del data["content"]  # hundreds of MB that forked pool workers need not inherit
        engines = [("process", {})]
        if not args.no_dask:
            from distributed import LocalCluster

            t0 = time.perf_counter()
            cluster = LocalCluster(
                n_workers=args.jobs,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",
            )
            print(
                f"Dask LocalCluster of {args.jobs} workers up in {time.perf_counter() - t0:.2f} s"
            )
            engines.append(("dask", {"engine": "dask", "scheduler": cluster.scheduler_address}))

        header = (
            f"{'source':28}{'engine':9}{'wall s':>8}{'files/s':>10}{'vs folder':>10}"
            f"{'CPU s':>8}{'files/CPU-s':>12}{'req/file':>9}{'KiB/file':>9}{'srv CPU s':>10}"
        )
        print("\n" + header + "\n" + "-" * len(header))
        speeds: dict[tuple[str, str], float] = {}
        for engine_name, engine_kwargs in engines:
            for label, target, kwargs in sources:
                if server is not None:
                    server.reset()
                    srv_cpu0 = server.cpu_s()
                run = timed_scan(
                    target, work, args.repeat, jobs=args.jobs, **kwargs, **engine_kwargs
                )
                assert run["rows"] == n, f"{label}: {run['rows']} rows for {n} files"
                speed = n / run["wall"]
                speeds[(label, engine_name)] = speed
                ratio = speed / speeds[("folder", engine_name)]
                # Pool workers are children of this process; Dask workers are not measured.
                cpu = f"{'-':>8}{'-':>12}"
                if engine_name == "process":
                    cpu = f"{run['cpu']:8.2f}{n / run['cpu']:12.0f}"
                remote = f"{'':>9}{'':>9}{'':>10}"
                if isinstance(target, str) and server is not None:
                    c = server.counts()
                    runs = args.repeat + 1
                    remote = (
                        f"{c['object_gets'] / runs / n:9.3f}"
                        f"{c['object_bytes'] / runs / n / 1024:9.1f}"
                        f"{(server.cpu_s() - srv_cpu0) / runs:10.2f}"
                    )
                print(
                    f"{label:28}{engine_name:9}{run['wall']:8.2f}{speed:10.0f}{ratio:10.2f}"
                    f"{cpu}{remote}"
                )
        if len(engines) > 1:
            print("\ndask / process throughput:")
            for label, _, _ in sources:
                print(f"  {label:28}{speeds[(label, 'dask')] / speeds[(label, 'process')]:6.2f}")
        print(
            "\nreq/file and KiB/file: object GETs and body bytes the S3 server sent per file "
            "(listing requests excluded);\nsrv CPU s: the moto server's CPU per run. "
            "files/CPU-s: files per CPU-second of the scanner (main process + pool workers)."
        )
    finally:
        if cluster is not None:
            cluster.close()
        if server is not None:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
