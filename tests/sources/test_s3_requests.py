"""What a scan costs an object store, counted by the server (moto's S3 on loopback behind a
counting WSGI layer): loose objects take one ranged request for the header plus one 64-byte
request for the tail, a small fraction of their bytes (with `read_tail=False`, `--no-tail`, the
header request alone); tar shards are streamed in large ranges."""

from __future__ import annotations

import pytest
from sourcedata import CountingS3Server, noise_jpeg, tar_bytes

from jpegaudit.api import ReadLimits, read_store, scan

pytest.importorskip("s3fs")
pytest.importorskip("moto")

N_OBJECTS = 40


@pytest.fixture(scope="module")
def s3():
    server = CountingS3Server().start()
    # ImageNet-like: 500x375 at qualities 75..95 (tens of KB to over 100 KB each).
    distinct = [noise_jpeg((500, 375), q, seed=q) for q in (75, 80, 85, 90, 95)]
    objects = {f"train/n{i % 4:02d}/{i:04d}.JPEG": distinct[i % 5] for i in range(N_OBJECTS)}
    server.upload("imagenet", objects)
    server.upload("shards", {"part-000.tar": tar_bytes({k: v for k, v in objects.items()})})
    server.objects = objects
    yield server
    server.stop()


def object_gets(log, bucket):
    return [e for e in log.snapshot() if e.method == "GET" and e.path.startswith(f"/{bucket}/")]


def test_loose_objects_cost_a_header_request_and_a_tail_request_each(s3, tmp_path):
    s3.log.clear()
    result = scan(
        "s3://imagenet/train", tmp_path / "store", jobs=1, storage_options=s3.storage_options
    )
    gets = object_gets(s3.log, "imagenet")
    per_object = {}
    for e in gets:
        per_object.setdefault(e.path, []).append(e)
    assert len(per_object) == N_OBJECTS
    assert all(e.range is not None for e in gets), "a GET without a Range downloads everything"
    heads = [e for e in gets if e.range.startswith("bytes=0-")]
    assert len(heads) == N_OBJECTS  # exactly one header request per object
    assert len(gets) == 2 * N_OBJECTS  # and one tail request: nothing else
    served = sum(e.body_bytes for e in gets)
    total = sum(len(v) for v in s3.objects.values())
    assert served / total < 0.25
    assert len(read_store(tmp_path / "store")) == N_OBJECTS
    # The scan's own accounting agrees with the server's.
    assert (result.requests, result.fetched_bytes) == (len(gets), served)
    listings = [e for e in s3.log.snapshot() if e.method == "GET" and e.path == "/imagenet"]
    print(
        f"\nloose objects: {len(gets) / N_OBJECTS:.2f} GET/object, "
        f"{served / N_OBJECTS / 1024:.1f} KiB/object served of "
        f"{total / N_OBJECTS / 1024:.1f} KiB ({served / total:.1%}), "
        f"{len(listings)} listing requests for {N_OBJECTS} objects"
    )


def test_small_objects_are_fetched_whole_in_one_request(tmp_path):
    server = CountingS3Server().start()
    try:
        small = noise_jpeg((64, 64), 80, seed=1)
        assert len(small) < 32 * 1024
        server.upload("thumbs", {f"t/{i}.jpg": small for i in range(10)})
        server.log.clear()
        scan("s3://thumbs/t", tmp_path / "store", jobs=1, storage_options=server.storage_options)
        gets = object_gets(server.log, "thumbs")
        assert len(gets) == 10 and sum(e.body_bytes for e in gets) == 10 * len(small)
    finally:
        server.stop()


def test_tar_shards_are_streamed_in_large_ranges(s3, tmp_path):
    s3.log.clear()
    scan("s3://shards", tmp_path / "store", jobs=1, storage_options=s3.storage_options)
    gets = object_gets(s3.log, "shards")
    shard_size = len(tar_bytes(s3.objects))
    # A shard smaller than the 16 MiB stream block is one request; no byte is fetched twice.
    assert len(gets) == 1
    assert sum(e.body_bytes for e in gets) <= shard_size
    assert len(read_store(tmp_path / "store")) == N_OBJECTS


def test_rescan_of_unchanged_objects_reads_no_object(s3, tmp_path):
    options = s3.storage_options
    scan("s3://imagenet/train", tmp_path / "store", jobs=1, storage_options=options)
    s3.log.clear()
    again = scan("s3://imagenet/train", tmp_path / "store", jobs=1, storage_options=options)
    assert (again.scanned, again.unchanged) == (0, N_OBJECTS)
    assert object_gets(s3.log, "imagenet") == []


def test_without_the_tail_loose_objects_cost_one_request_each(s3, tmp_path):
    s3.log.clear()
    limits = ReadLimits(read_tail=False)
    store = tmp_path / "store"
    result = scan(
        "s3://imagenet/train", store, jobs=1, storage_options=s3.storage_options, limits=limits
    )
    gets = object_gets(s3.log, "imagenet")
    assert sorted(e.path for e in gets) == sorted(f"/imagenet/{k}" for k in s3.objects)
    assert all(e.range.startswith("bytes=0-") for e in gets)
    served = sum(e.body_bytes for e in gets)
    total = sum(len(v) for v in s3.objects.values())
    assert served / total < 0.25
    assert (result.requests, result.fetched_bytes) == (len(gets), served)
    df = read_store(store)
    assert len(df) == N_OBJECTS
    # What the tail would have told is unknown, and said to be.
    assert not df.tail_checked.any() and df.truncated.isna().all()
    assert df.trailing_bytes.isna().all() and df.quality_luma.notna().all()
    print(
        f"\nloose objects without the tail: {len(gets) / N_OBJECTS:.2f} GET/object, "
        f"{served / N_OBJECTS / 1024:.1f} KiB/object of {total / N_OBJECTS / 1024:.1f} KiB "
        f"({served / total:.1%})"
    )
    # A later scan that wants the tail reads the tail-less rows again, and only those.
    s3.log.clear()
    again = scan("s3://imagenet/train", store, jobs=1, storage_options=s3.storage_options)
    assert (again.scanned, again.unchanged) == (N_OBJECTS, 0)
    df = read_store(store)
    assert len(df) == N_OBJECTS and df.tail_checked.all() and (~df.truncated).all()
    s3.log.clear()
    third = scan("s3://imagenet/train", store, jobs=1, storage_options=s3.storage_options)
    assert (third.scanned, third.unchanged) == (0, N_OBJECTS)
