"""Local directory containers (MDS, LMDB): their files opened by relative name, and the
version a rescan compares (sources/local.py is for single files, and is mirrored by the
compiled core)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
from collections.abc import Iterator

from jpegaudit.sources.container import ContainerBytes
from jpegaudit.sources.retry import ReadFailed

# Non-blocking, checked with fstat: a FIFO where a dataset's file was listed is never waited on.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class LocalDirectory:
    """A local directory container: its files opened by relative name, read by `pread`."""

    local = True

    def __init__(self, path: str) -> None:
        self.path = path

    @contextlib.contextmanager
    def open(self, name: str) -> Iterator[ContainerBytes]:
        fd = os.open(os.path.join(self.path, name), _OPEN_FLAGS)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise OSError(errno.EINVAL, f"{name}: not a regular file")
            os.set_blocking(fd, True)
            fileobj = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

        def read_at(offset: int, n: int) -> bytes:
            try:
                return os.pread(fileobj.fileno(), n, offset)
            except OSError as exc:
                raise ReadFailed(f"read error: {exc.strerror}") from exc

        with fileobj:
            yield ContainerBytes(fileobj, read_at, st.st_size)


def directory_version(path: str, volatile: frozenset[str] = frozenset()) -> tuple[int, str]:
    """(total bytes, version) of a directory container: a digest of every regular file's
    relative name, size and mtime below it, `volatile` names left out. A rescan re-reads the
    container when any of them changed."""
    h = hashlib.blake2b(digest_size=10)
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        for name in sorted(filenames):
            if name in volatile:
                continue
            full = os.path.join(dirpath, name)
            try:
                st = os.stat(full)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                continue
            total += st.st_size
            rel = os.path.relpath(full, path)
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0".encode("utf-8", "surrogateescape"))
    return total, h.hexdigest()
