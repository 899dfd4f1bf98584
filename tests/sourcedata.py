"""Shared by the source tests: a small dataset encoded with Pillow at known settings, packed as
tar shards and zips, and an S3 API (moto's server) on loopback that counts what it serves."""

from __future__ import annotations

import io
import tarfile
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

# Columns that say where a row came from rather than what the file is.
PROVENANCE = ("path", "root", "split", "mtime_ns", "scanned_at", "entry_name")


def noise_jpeg(size, quality, subsampling="4:2:0", mode="RGB", seed=0, **kw) -> bytes:
    rng = np.random.default_rng(seed)
    w, h = size
    # Smooth noise: photo-like file sizes (tens of KB) rather than either extreme.
    base = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 3), dtype=np.uint8)
    img = Image.fromarray(base).resize((w, h), Image.BILINEAR)
    img = img.convert(mode)
    out = io.BytesIO()
    if mode == "L":
        img.save(out, "JPEG", quality=quality, **kw)
    else:
        img.save(out, "JPEG", quality=quality, subsampling=subsampling, **kw)
    return out.getvalue()


def dataset_files() -> dict[str, bytes]:
    """Relative path -> content: ordinary JPEGs of several kinds, headers that need a grown
    read, and the problem cases every source must report the same way."""
    files = {
        "a/q90_420.jpg": noise_jpeg((500, 375), 90, seed=1),
        "a/q50_444.jpg": noise_jpeg((320, 240), 50, "4:4:4", seed=2),
        "a/q75_422.JPEG": noise_jpeg((400, 300), 75, "4:2:2", seed=3),
        "a/gray.jpg": noise_jpeg((256, 256), 80, mode="L", seed=4),
        "a/progressive.jpg": noise_jpeg((300, 200), 85, seed=5, progressive=True),
        "a/optimized.jpg": noise_jpeg((300, 200), 70, seed=6, optimize=True),
        "b/cmyk.jpg": noise_jpeg((64, 48), 90, mode="CMYK", seed=7),
        "b/small.jpg": noise_jpeg((16, 16), 75, seed=8),
        # A 40 KB ICC profile: the header runs past the first 16 KiB read and must grow.
        "b/icc.jpg": noise_jpeg((200, 150), 80, seed=9, icc_profile=b"\0" * 40000),
    }
    whole = noise_jpeg((120, 90), 60, seed=10)
    files["c/cut.jpg"] = whole[: len(whole) // 2]
    files["c/trailing.jpg"] = whole + b"garbage after EOI" * 10
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, "PNG")
    files["c/fake.jpg"] = png.getvalue()
    files["c/empty.jpg"] = b""
    files["c/notes.txt"] = b"hello\n"
    return files


def write_folder(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def tar_bytes(files: dict[str, bytes], mtime: int = 1_700_000_000) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, data in files.items():
            info = tarfile.TarInfo(rel)
            info.size = len(data)
            info.mtime = mtime
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_bytes(files: dict[str, bytes], compression=zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=compression) as z:
        for rel, data in files.items():
            z.writestr(zipfile.ZipInfo(rel, (2024, 1, 2, 3, 4, 6)), data, compression)
    return out.getvalue()


def split_in_two(files: dict[str, bytes]) -> tuple[dict[str, bytes], dict[str, bytes]]:
    names = sorted(files)
    half = len(names) // 2
    return {n: files[n] for n in names[:half]}, {n: files[n] for n in names[half:]}


def member_key(path: str) -> str:
    """The dataset-relative name of a row, whichever source it came from."""
    if "::" in path:
        return path.split("::", 1)[1]
    for marker in ("/train/", "/loose/"):
        if marker in path:
            return path.split(marker, 1)[1]
    raise AssertionError(f"unexpected path {path}")


def comparable(df):
    """Rows keyed by dataset-relative name (the entry's own name where its container records
    one, as a Parquet image struct's path does), provenance columns dropped, sorted."""
    df = df.copy()
    df.index = [
        name if isinstance(name, str) else member_key(p)
        for p, name in zip(df["path"], df["entry_name"], strict=True)
    ]
    return df.drop(columns=list(PROVENANCE)).sort_index()


# -- S3 on loopback ---------------------------------------------------------------------------
@dataclass
class Served:
    method: str
    path: str
    query: str
    range: str | None
    status: str
    body_bytes: int


@dataclass
class RequestLog:
    entries: list[Served] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()

    def snapshot(self) -> list[Served]:
        with self.lock:
            return list(self.entries)


class _CountingApp:
    """WSGI middleware: records every request and the body bytes sent back."""

    def __init__(self, app, log: RequestLog) -> None:
        self.app = app
        self.log = log

    def __call__(self, environ, start_response):
        seen = {}

        def remember_status(status, headers, exc_info=None):
            seen["status"] = status
            return start_response(status, headers, exc_info)

        body = self.app(environ, remember_status)
        try:
            chunks = list(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        served = Served(
            environ["REQUEST_METHOD"],
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            environ.get("HTTP_RANGE"),
            seen.get("status", ""),
            sum(len(c) for c in chunks),
        )
        with self.log.lock:
            self.log.entries.append(served)
        return chunks


class CountingS3Server:
    """moto's S3 on 127.0.0.1 at a free port, in a thread of this process."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self.log = RequestLog()
        log = self.log

        class _Server(ThreadedMotoServer):
            def _server_entry(self) -> None:
                from moto.server import DomainDispatcherApplication, create_backend_app
                from werkzeug.serving import make_server

                app = _CountingApp(DomainDispatcherApplication(create_backend_app), log)
                self._server = make_server(self._ip_address, self._port, app, True)
                self._server_ready_event.set()
                self._server.serve_forever()

        self._server = _Server(ip_address="127.0.0.1", port=0, verbose=False)

    def start(self) -> CountingS3Server:
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def storage_options(self) -> dict:
        return {
            "key": "testing",
            "secret": "testing",
            "endpoint_url": self.endpoint,
            "client_kwargs": {"region_name": "us-east-1"},
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )

    def upload(self, bucket: str, objects: dict[str, bytes]) -> None:
        s3 = self.client()
        try:
            s3.create_bucket(Bucket=bucket)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass
        for key, data in objects.items():
            s3.put_object(Bucket=bucket, Key=key, Body=data)
