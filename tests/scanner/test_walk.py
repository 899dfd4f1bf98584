"""The two walkers (the compiled `jpegaudit._cwalk.Walker` and `PyWalker`, its pure-Python twin)
give the same listings as `walk`, entry for entry, on a tree built to trip them up; and with a
store to compare with, the same entries to read, unchanged counts and seen rows."""

from __future__ import annotations

import io
import os
import socket
import tarfile
import time

import pytest
from containerdata import write_lmdb
from PIL import Image

from jpegaudit.api import scan
from jpegaudit.scanner.options import ScanOptions
from jpegaudit.scanner.plan import CONTAINER_SUFFIXES, SNIFFED, Planner, batched_works
from jpegaudit.scanner.roots import Root
from jpegaudit.scanner.walk import (
    ASK,
    NEW,
    NO_PROBE,
    REPLACES,
    STORE_MARKER,
    Listing,
    Probe,
    PyWalker,
    asks_planner,
    listings,
    walk,
)
from jpegaudit.sources.paths import display_path
from jpegaudit.sources.registry import container_kind, worth_sniffing
from jpegaudit.store.scan_store import ScanStore

cwalk = pytest.importorskip("jpegaudit._cwalk", reason="the compiled walker is not built")


def jpeg_bytes(size=(16, 12), quality=80) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, 120).save(out, "JPEG", quality=quality)
    return out.getvalue()


def _write(directory: bytes, name: bytes, data: bytes = b"") -> None:
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def _deep(root: str, jpeg: bytes, linked: str) -> None:
    """Folders nested past PATH_MAX (4096): near the limit, each level holds a file, a
    symlink to the folder `linked`, a store and the next level, so that some full paths are
    just under and some just over it (os.stat of the full path fails there; fstatat would
    not)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    length = len(os.fsencode(root))
    try:
        while length < 4200:
            step = 200 if length < 3800 else 23
            name = ("d" * step).encode()
            os.mkdir(name, dir_fd=fd)
            if length > 3800:
                f = os.open(b"f.jpg", os.O_CREAT | os.O_WRONLY, dir_fd=fd)
                os.write(f, jpeg)
                os.close(f)
                os.symlink(linked, b"link", dir_fd=fd)
                os.mkdir(b"store", dir_fd=fd)
                m = os.open(b"store/_jpegaudit.json", os.O_CREAT | os.O_WRONLY, dir_fd=fd)
                os.close(m)
            child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
            length += step + 1
    finally:
        os.close(fd)


@pytest.fixture(params=[False, True], ids=["d_type", "no-d_type"])
def unknown_types(request):
    """The compiled walker as on a file system whose listings give no d_type."""
    return request.param


@pytest.fixture
def tree(tmp_path, unknown_types):
    """Every kind of entry and name a walk must get right. Folders past PATH_MAX only with
    d_type: there Python never stats a listed folder, so a walker made to ignore d_type
    cannot match it (on a file system without d_type, Python stats as it does)."""
    root = tmp_path / "data" / "train"
    root.mkdir(parents=True)
    raw = os.fsencode(root)
    jpeg = jpeg_bytes()
    for name in (b"a.jpg", b"B.jpg", "é.jpg".encode(), "中文.jpg".encode(), b"caf\xe9.jpg",
                 b"\xff\xfe.jpg", b"empty.jpg", "naïve.tar".encode(), "tailİ".encode(),
                 b"notes.TXT", b"x.Zip.jpg"):  # fmt: skip
        _write(raw, name, jpeg if name != b"empty.jpg" else b"")
    member = io.BytesIO()
    with tarfile.open(fileobj=member, mode="w") as tar:
        info = tarfile.TarInfo("inside.jpg")
        info.size = len(jpeg)
        tar.addfile(info, io.BytesIO(jpeg))
    (root / "shard.TAR").write_bytes(member.getvalue())
    (root / "zipped.zip").write_bytes(b"PK not really a zip")
    for sub in (b"sub", b"sub/inner", b"d\xe9r", "中".encode(), b"dir.jpg", b"audit"):
        os.mkdir(os.path.join(raw, sub))
    _write(raw, b"sub/one.jpg", jpeg)
    _write(raw, b"sub/inner/two.jpg", jpeg)
    _write(raw, b"d\xe9r/three.jpg", jpeg)
    _write(raw, "中/四.jpg".encode(), jpeg)
    _write(raw, b"dir.jpg/five.jpg", jpeg)
    _write(raw, b"audit/_jpegaudit.json", b"{}")  # a store: not data
    write_lmdb(root / "db", {b"k": jpeg})  # a folder claimed as a container (with shards)
    os.mkdir(root / "notmds")
    _write(raw, b"notmds/index.json", b'{"shards": []}')  # a claim name, but no MDS
    _write(raw, b"notmds/six.jpg", jpeg)
    os.mkfifo(root / "pipe.jpg")
    (root / "dangling.jpg").symlink_to(root / "nowhere.jpg")
    (root / "loop.jpg").symlink_to(root / "loop.jpg")
    (root / "back").symlink_to(root)  # a folder loop: walked once
    (root / "alias").symlink_to(root / "sub")  # sorts before "sub": sub is walked through it
    (root / "file-link.jpg").symlink_to(root / "a.jpg")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock.jpg"))
    if not unknown_types:
        _deep(str(root), jpeg, str(root / "sub"))
    yield root
    sock.close()


def flat(listing_seq: list[Listing]) -> list[tuple[str, str, bool, str | None]]:
    out = []
    for listing in listing_seq:
        paths = listing.paths or listing.fs_paths
        for k, fs_path in enumerate(listing.fs_paths):
            out.append((fs_path, paths[k], bool(listing.regular[k]), listing.error))
    return out


def test_both_walkers_list_what_walk_yields_in_its_order(tree, unknown_types):
    expected = [(e.fs_path, e.path, e.regular, e.error) for e in walk(str(tree))]
    python = list(PyWalker(str(tree)))
    compiled = list(_compiled(str(tree), NO_PROBE, unknown_types))
    assert compiled == python
    assert flat(python) == expected
    # The tree has what it should: entries under undecodable and non-ASCII folders, folders
    # past PATH_MAX that cannot be listed, and neither the store nor a second walk of `sub`.
    errors = [e for e in expected if e[3] is not None]
    assert all("File name too long" in e[3] for e in errors) and (unknown_types or errors)
    paths = [e[1] for e in expected]
    assert any("d\\xe9r/three.jpg" in p for p in paths) and any("中/四.jpg" in p for p in paths)
    assert not any("/audit/" in p for p in paths)
    assert sum(p.endswith("/two.jpg") for p in paths) == 1


def test_names_sort_as_python_sorts_them_undecodable_ones_included(tmp_path):
    raw = os.fsencode(tmp_path)
    names = [b"Z", b"a", "é".encode(), "中".encode(), b"\xe9", b"\xc3", "\uffff".encode(), b"~"]
    for name in names:
        _write(raw, name)
    (listing,) = list(_compiled(str(tmp_path), NO_PROBE, False))
    assert listing.fs_paths == sorted(os.fsdecode(os.path.join(raw, n)) for n in names)


def test_a_root_that_is_a_file_or_missing_is_one_entry_for_the_planner(tmp_path):
    (tmp_path / "one.jpg").write_bytes(jpeg_bytes())
    for root in (tmp_path / "one.jpg", tmp_path / "missing"):
        python = list(PyWalker(str(root)))
        assert list(_compiled(str(root), NO_PROBE, False)) == python
        assert python == [Listing([str(root)], None, b"\0", bytes([ASK]), None)]


def test_the_walkers_ask_about_every_name_container_kind_or_worth_sniffing_accepts():
    names = ["a.tar", "A.TAR", "x.Zip", "a.tar.jpg", "tailİ", "k.zip\u212a", "t\u212a.tar", "é.tar"]
    names += [chr(c) + ".tar" for c in range(0x80, 0x3000, 7)] + [".ta" + chr(0x130)]
    names += ["README", "x.", ".hidden", "train.tfrecord-00000-of-01024", "a.TFRECORDS", "n\\x.j"]
    names += ["a.Tfrec.gz", "b.parq", "c.PARQUET", "d-of-e.jpg", "e.jpg-of-2", "caf\udce9.jpg"]
    for name in names:
        path = "/data/" + name
        if container_kind(path) is not None or worth_sniffing(path):
            assert asks_planner(path, CONTAINER_SUFFIXES, SNIFFED), name
    assert SNIFFED and not asks_planner("/data/a.jpg", CONTAINER_SUFFIXES, SNIFFED)
    assert asks_planner("/data/a::b.jpg", (), False)  # the label rule reads `::` as a member


# -- compared with a store -------------------------------------------------------------------


@pytest.fixture
def rescanned(tree, tmp_path):
    """The tree scanned into a store, then changed: one file touched, one rewritten, one
    deleted, one added."""
    store = tmp_path / "store"
    scan(tree, store, jobs=1)
    later = time.time() + 10
    os.utime(tree / "a.jpg", (later, later))
    (tree / "B.jpg").write_bytes(jpeg_bytes(size=(20, 20)))
    (tree / "sub" / "one.jpg").unlink()
    (tree / "new.jpg").write_bytes(jpeg_bytes())
    return tree, ScanStore(store)


@pytest.mark.parametrize("shards", [True, False], ids=["shards", "no-shards"])
def test_both_walkers_compare_with_the_store_alike(rescanned, unknown_types, shards):
    tree, store = rescanned
    index = store.load_index()
    planner = Planner(index, set(), ScanOptions(shards=shards))
    runs = {}
    for name, walker_of in (
        ("python", lambda p: PyWalker(str(tree), p)),
        ("compiled", lambda p: _compiled(str(tree), p, unknown_types)),
    ):
        probe = planner._probe(str(tree), "train")._replace(seen=bytearray(index.row_count))
        walker = walker_of(probe)
        runs[name] = (list(walker), walker.unchanged, bytes(probe.seen))
    assert runs["compiled"] == runs["python"]
    listed, unchanged, seen = runs["python"]
    status = {
        p: listing.status[k]
        for listing in listed
        for k, p in enumerate(listing.paths or listing.fs_paths)
    }
    assert status[str(tree / "a.jpg")] == status[str(tree / "B.jpg")] == REPLACES
    assert status[str(tree / "new.jpg")] == NEW
    assert status[str(tree / "zipped.zip")] == (ASK if shards else REPLACES)
    claimed = {listing.fs_paths[0]: listing.container for listing in listed if listing.container}
    assert claimed == ({str(tree / "db"): "lmdb"} if shards else {})  # not notmds/: no MDS
    # Sniffing asks about every non-ASCII name (str.lower could make some ASCII).
    assert status.get(str(tree / "é.jpg")) == (ASK if shards else None) and unchanged > 5
    assert seen.count(0) > 0  # sub/one.jpg is gone, the shard's members were not walked


@pytest.mark.parametrize("shards", [True, False], ids=["shards", "no-shards"])
@pytest.mark.parametrize("label_from", [None, r"/(d\w+)/"], ids=["class-folder", "regex"])
@pytest.mark.parametrize("unknown_types", [False], ids=["d_type"])
def test_plans_with_either_walker_are_the_same_units(rescanned, shards, label_from):
    tree, store = rescanned
    root = Root(str(tree), "local", "train")
    plans = {}
    for compiled in (False, True):
        options = ScanOptions(shards=shards, batch_size=3, label_from=label_from)
        planner = Planner(store.load_index(), {p.name for p in store.part_files()}, options)
        planner.compiled = compiled
        drops: dict[str, list[str]] = {}
        works = list(batched_works(planner.planned([root]), options, str(store.root), drops))
        plans[compiled] = (
            [(w.unit, w.pending) for w in works],
            drops,
            planner.unchanged,
            planner.deleted([root]),
        )
    assert plans[True] == plans[False]
    units, _, _, deleted = plans[True]
    assert str(tree / "alias" / "one.jpg") in deleted and len(units) > 2  # sub, via alias


def _compiled(root: str, probe: Probe, unknown_types: bool):
    return cwalk.Walker(root, probe, STORE_MARKER, display_path, Listing, unknown_types)


def test_listings_picks_the_compiled_walker_when_it_can(monkeypatch):
    monkeypatch.delenv("JPEGAUDIT_CORE", raising=False)
    assert isinstance(listings("."), cwalk.Walker)
    monkeypatch.setenv("JPEGAUDIT_CORE", "python")  # as for the compiled core: off
    assert isinstance(listings("."), PyWalker)
    monkeypatch.delenv("JPEGAUDIT_CORE")
    assert isinstance(listings("bad\udc00\ud800"), PyWalker)  # not encodable
    assert isinstance(listings(".", compiled=False), PyWalker)
