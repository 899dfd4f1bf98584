# cython: language_level=3
"""The compiled side of a rescan's per-file work, each part with a pure-Python twin that gives
the same results (tests/scanner/test_walk.py and tests/store/test_store_index.py run both):

- `PathTable`: the store index's path -> row lookup, an open-addressing hash table over the
  Arrow buffers of the stored paths (twin: `store.index.PathDict`, a dict).
- `Walker`: a walk of one local root (readdir, sort, fstatat) that compares each entry with the
  index and hands back, directory by directory, only the entries that must be read (twin:
  `scanner.walk.PyWalker`, on `os.scandir`).

Nothing here imports the rest of the package: the caller passes in what it needs (the display
of undecodable names, the store marker, the probe with the index and the planner's rules)."""

cimport cython
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t, uintptr_t
from libc.stdlib cimport calloc, free, malloc, qsort, realloc
from libc.string cimport memcmp, memcpy, strlen
from libc.errno cimport errno
from posix.stat cimport S_ISDIR, S_ISREG, fstatat, stat, struct_stat
from posix.fcntl cimport AT_SYMLINK_NOFOLLOW

import os

cdef extern from "Python.h":
    object PyUnicode_DecodeFSDefaultAndSize(const char *s, Py_ssize_t size)

cdef extern from "<limits.h>":
    enum:
        PATH_MAX

cdef extern from "<dirent.h>" nogil:
    ctypedef struct DIR
    struct dirent:
        unsigned char d_type
        char d_name[1]
    DIR *opendir(const char *name)
    dirent *readdir(DIR *dirp)
    int closedir(DIR *dirp)
    int dirfd(DIR *dirp)
    enum:
        DT_UNKNOWN
        DT_DIR
        DT_LNK
        DT_REG

cdef extern from *:
    """
    #include <stdint.h>
    #include <string.h>

    /* 64-bit hash of a path: 8 bytes at a time, then a murmur-style finaliser. Not keyed and
       not meant to resist crafted collisions: a hit is always confirmed on the bytes, so a
       collision costs a probe, never a wrong answer. */
    static inline uint64_t ja_hash(const char *p, Py_ssize_t n) {
        uint64_t h = 0x9E3779B97F4A7C15ULL ^ ((uint64_t)n * 0xC2B2AE3D27D4EB4FULL);
        uint64_t w;
        while (n >= 8) {
            memcpy(&w, p, 8);
            h = (h ^ (w * 0x87C37B91114253D5ULL)) * 0x4CF5AD432745937FULL;
            h ^= h >> 29;
            p += 8; n -= 8;
        }
        if (n > 0) {
            w = 0;
            memcpy(&w, p, (size_t)n);
            h = (h ^ (w * 0x87C37B91114253D5ULL)) * 0x4CF5AD432745937FULL;
        }
        h ^= h >> 33; h *= 0xFF51AFD7ED558CCDULL;
        h ^= h >> 33; h *= 0xC4CEB9FE1A85EC53ULL;
        h ^= h >> 33;
        return h;
    }

    static inline uint64_t ja_slot(uint64_t h, uint64_t nslots) {
        return (uint64_t)(((__uint128_t)h * nslots) >> 64);
    }

    /* Strict UTF-8 as Python's decoder reads it (no overlong forms, no surrogates, nothing
       above U+10FFFF): a name that passes decodes without surrogate escapes, and byte order
       equals code point order. */
    static int ja_valid_utf8(const unsigned char *s, Py_ssize_t n) {
        Py_ssize_t i = 0;
        while (i < n) {
            unsigned char c = s[i];
            if (c < 0x80) { i++; continue; }
            Py_ssize_t need; unsigned char lo = 0x80, hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) need = 1;
            else if (c == 0xE0) { need = 2; lo = 0xA0; }
            else if (c >= 0xE1 && c <= 0xEC) need = 2;
            else if (c == 0xED) { need = 2; hi = 0x9F; }
            else if (c >= 0xEE && c <= 0xEF) need = 2;
            else if (c == 0xF0) { need = 3; lo = 0x90; }
            else if (c >= 0xF1 && c <= 0xF3) need = 3;
            else if (c == 0xF4) { need = 3; hi = 0x8F; }
            else return 0;
            if (i + need >= n) return 0;
            if (s[i + 1] < lo || s[i + 1] > hi) return 0;
            for (Py_ssize_t k = 2; k <= need; k++)
                if (s[i + k] < 0x80 || s[i + k] > 0xBF) return 0;
            i += need + 1;
        }
        return 1;
    }

    static inline int ja_ascii(const unsigned char *s, Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++) if (s[i] >= 0x80) return 0;
        return 1;
    }

    static int ja_cmp_names(const void *a, const void *b) {
        return strcmp(*(const char * const *)a, *(const char * const *)b);
    }
    """
    uint64_t ja_hash(const char *p, Py_ssize_t n) nogil
    uint64_t ja_slot(uint64_t h, uint64_t nslots) nogil
    int ja_valid_utf8(const unsigned char *s, Py_ssize_t n) nogil
    int ja_ascii(const unsigned char *s, Py_ssize_t n) nogil
    int ja_cmp_names(const void *a, const void *b) nogil

# Entry status in a listing, and what a folder's label code may be besides a code
# (scanner/walk.py names them).
cdef enum:
    NEW = 0
    REPLACES = 1
    ASK = 2
    LABEL_PER_ENTRY = -1
    LABEL_NOT_STORED = -2


@cython.final
cdef class PathTable:
    """Row numbers of the stored paths, looked up by their UTF-8 bytes. `chunks` are Arrow
    string arrays (one per part, rows numbered across them in order); when a path repeats,
    the later row wins, as a dict would, and the earlier rows are listed in `shadowed`."""

    cdef uint32_t *rows  # row + 1 per slot; 0 is an empty slot
    cdef uint32_t *tags  # the hash's upper half, to skip most byte comparisons
    cdef uint64_t nslots
    cdef Py_ssize_t nchunks
    cdef const char **data
    cdef const int32_t **offsets
    cdef int64_t *starts  # first row of each chunk; starts[nchunks] is the row count
    cdef list _keep
    cdef readonly Py_ssize_t rows_total
    cdef readonly list shadowed

    def __cinit__(self, chunks):
        self._keep = list(chunks)
        self.shadowed = []
        self.nchunks = len(self._keep)
        self.data = <const char **>calloc(self.nchunks + 1, sizeof(char *))
        self.offsets = <const int32_t **>calloc(self.nchunks + 1, sizeof(int32_t *))
        self.starts = <int64_t *>calloc(self.nchunks + 1, sizeof(int64_t))
        if self.data == NULL or self.offsets == NULL or self.starts == NULL:
            raise MemoryError()
        cdef Py_ssize_t c, total = 0, shift
        cdef uintptr_t offsets_at, data_at
        for c, arr in enumerate(self._keep):
            if arr.null_count:
                raise ValueError("stored paths may not be null")
            buffers = arr.buffers()
            offsets_at = buffers[1].address
            data_at = buffers[2].address if buffers[2] is not None else 0
            shift = arr.offset
            self.offsets[c] = (<const int32_t *>offsets_at) + shift
            self.data[c] = <const char *>data_at
            self.starts[c] = total
            total += len(arr)
        self.starts[self.nchunks] = total
        self.rows_total = total
        if total >= 0xFFFFFFFF:
            raise ValueError("too many stored rows for the path table")
        self.nslots = <uint64_t>(total * 10 // 7 + 8)  # load at most 0.7
        self.rows = <uint32_t *>calloc(self.nslots, sizeof(uint32_t))
        self.tags = <uint32_t *>calloc(self.nslots, sizeof(uint32_t))
        if self.rows == NULL or self.tags == NULL:
            raise MemoryError()
        cdef int64_t row = 0
        cdef int64_t k, n
        cdef const int32_t *off
        for c in range(self.nchunks):
            off = self.offsets[c]
            n = self.starts[c + 1] - self.starts[c]
            for k in range(n):
                self._insert(self.data[c] + off[k], off[k + 1] - off[k], row)
                row += 1

    def __dealloc__(self):
        free(self.rows)
        free(self.tags)
        free(self.data)
        free(self.offsets)
        free(self.starts)

    cdef inline void _bytes_of(self, int64_t row, const char **p, Py_ssize_t *n) noexcept:
        # The chunk holding `row`: the last start <= row.
        cdef Py_ssize_t lo = 0, hi = self.nchunks, mid
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            if self.starts[mid] <= row:
                lo = mid
            else:
                hi = mid
        cdef int64_t k = row - self.starts[lo]
        cdef const int32_t *off = self.offsets[lo]
        p[0] = self.data[lo] + off[k]
        n[0] = off[k + 1] - off[k]

    cdef inline bint _same(self, int64_t row, const char *key, Py_ssize_t n) noexcept:
        cdef const char *p
        cdef Py_ssize_t m
        self._bytes_of(row, &p, &m)
        return m == n and (n == 0 or memcmp(p, key, n) == 0)

    cdef void _insert(self, const char *key, Py_ssize_t n, int64_t row) except *:
        cdef uint64_t h = ja_hash(key, n)
        cdef uint32_t tag = <uint32_t>(h >> 32)
        cdef uint64_t i = ja_slot(h, self.nslots)
        while True:
            if self.rows[i] == 0:
                self.rows[i] = <uint32_t>(row + 1)
                self.tags[i] = tag
                return
            if self.tags[i] == tag and self._same(self.rows[i] - 1, key, n):
                self.shadowed.append(self.rows[i] - 1)
                self.rows[i] = <uint32_t>(row + 1)
                return
            i += 1
            if i == self.nslots:
                i = 0

    cdef inline int64_t find_bytes(self, const char *key, Py_ssize_t n) noexcept:
        cdef uint64_t h = ja_hash(key, n)
        cdef uint32_t tag = <uint32_t>(h >> 32)
        cdef uint64_t i = ja_slot(h, self.nslots)
        while True:
            if self.rows[i] == 0:
                return -1
            if self.tags[i] == tag and self._same(self.rows[i] - 1, key, n):
                return self.rows[i] - 1
            i += 1
            if i == self.nslots:
                i = 0

    def find(self, str path) -> int:
        """The row of `path`, or -1."""
        cdef Py_ssize_t n
        cdef const char *key
        try:
            key = PyUnicode_AsUTF8AndSize(path, &n)
        except UnicodeEncodeError:
            return -1  # a stored path is valid UTF-8: a string with surrogates is none of them
        return self.find_bytes(key, n)

    def __len__(self) -> int:
        return self.rows_total - len(self.shadowed)


cdef struct Name:
    const char *ptr  # first: qsort's comparator reads a Name as a char * (set before sorting)
    Py_ssize_t offset  # into the name arena (which may move while names are read)
    Py_ssize_t length
    unsigned char d_type


cdef enum:
    MAX_SUFFIXES = 32
    MAX_SUFFIX = 32


@cython.final
cdef class Walker:
    """Listings of `root`'s folders, in the order and with the entries of `scanner.walk.walk`:
    a folder's own entries (names sorted) before its subfolders, each real folder once, folders
    holding `marker` skipped, folders `probe.claims` names a container one entry. Each listing
    is `listing(fs_paths, paths or None, regular, status, error, container)`
    (scanner.walk.Listing) of the entries to read. Entries whose size and mtime (and label)
    match an eligible stored row are counted in `unchanged` and left out; every stored row met
    is marked in `probe.seen`; entries `scanner.walk.asks_planner` flags, a claimed folder, a
    root that is not a folder, and stored entries whose label the folder does not settle are
    the planner's (status ASK). With `probe.table` None nothing is looked up or stat'ed.
    scanner.walk.PyWalker is the same in Python."""

    cdef list stack
    cdef set visited
    cdef PathTable table
    cdef const int64_t[::1] sizes
    cdef const int64_t[::1] mtimes
    cdef const uint8_t[::1] eligible
    cdef uint8_t[::1] seen
    cdef object labels  # NumPy codes (uint8, uint16 or int32), read through one of:
    cdef const uint8_t[::1] labels8
    cdef const uint16_t[::1] labels16
    cdef const int32_t[::1] labels32
    cdef int label_width  # 0: labels are not compared
    cdef object label_code
    cdef object claims
    cdef list claim_names  # bytes; None: every folder is offered to `claims`
    cdef bint claim_always
    cdef char suffix[MAX_SUFFIXES][MAX_SUFFIX]  # container suffixes, lowercase ASCII
    cdef Py_ssize_t suffix_len[MAX_SUFFIXES]
    cdef int nsuffixes
    cdef Py_ssize_t suffix_span
    cdef bint sniff
    cdef bytes marker
    cdef object display
    cdef object listing
    cdef object root_entry
    cdef readonly Py_ssize_t unchanged
    cdef bint unknown_types  # tests: act as if readdir gave no d_type
    # per-folder scratch: names and the path being built
    cdef char *arena
    cdef Py_ssize_t arena_len, arena_cap
    cdef Name *names
    cdef Py_ssize_t names_len, names_cap
    cdef char *path
    cdef Py_ssize_t path_cap

    def __cinit__(self, str root, probe, str marker, display, listing, bint unknown_types=False):
        self.table = probe.table
        self.label_width = 0
        if self.table is not None:
            self.sizes = probe.sizes
            self.mtimes = probe.mtimes
            self.eligible = probe.eligible
            self.seen = probe.seen
            if probe.label_code is not None:
                self.label_code = probe.label_code
                self.labels = probe.labels
                self.label_width = self.labels.dtype.itemsize
                if self.label_width == 1:
                    self.labels8 = self.labels
                elif self.label_width == 2:
                    self.labels16 = self.labels
                else:
                    self.labels32 = self.labels
        self.claims = probe.claims
        self.claim_always = probe.claim_names is None
        self.claim_names = [] if self.claim_always else [os.fsencode(n) for n in probe.claim_names]
        suffixes = probe.suffixes
        if len(suffixes) > MAX_SUFFIXES:
            raise ValueError(f"at most {MAX_SUFFIXES} container suffixes")
        self.nsuffixes = 0
        self.suffix_span = 0
        for text in suffixes:
            raw = text.lower().encode("ascii")
            if not 0 < len(raw) < MAX_SUFFIX:
                raise ValueError(f"container suffix {text!r}: 1 to {MAX_SUFFIX - 1} characters")
            memcpy(self.suffix[self.nsuffixes], <const char *>raw, len(raw))
            self.suffix_len[self.nsuffixes] = len(raw)
            self.suffix_span = max(self.suffix_span, len(raw))
            self.nsuffixes += 1
        self.sniff = probe.sniff
        self.marker = marker.encode("ascii")
        self.display = display
        self.listing = listing
        self.visited = set()
        self.unchanged = 0
        self.unknown_types = unknown_types
        self.stack = []
        self.root_entry = None
        if os.path.isdir(root):
            self.stack.append(os.fsencode(root))
        else:
            self.root_entry = root
        self.arena_cap = 1 << 16
        self.arena = <char *>malloc(self.arena_cap)
        self.names_cap = 1024
        self.names = <Name *>malloc(self.names_cap * sizeof(Name))
        self.path_cap = 4096
        self.path = <char *>malloc(self.path_cap)
        if self.arena == NULL or self.names == NULL or self.path == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.arena)
        free(self.names)
        free(self.path)

    def __iter__(self):
        return self

    def __next__(self):
        cdef object listing
        if self.root_entry is not None:
            root, self.root_entry = self.root_entry, None
            return self._alone(root, None)  # not a folder: the planner's
        while self.stack:
            listing = self._directory(self.stack.pop())
            if listing is not None:
                return listing
        raise StopIteration

    # -- one listing's columns ----------------------------------------------------------------
    cdef object _alone(self, str fs_path, object container):
        """One entry for the planner: a root that is not a folder, or a claimed folder."""
        path = self.display(fs_path)
        return self.listing(
            [fs_path], None if path is fs_path else [path], b"\0", bytes([ASK]), None, container
        )

    cdef object _error(self, bytes directory, int err):
        fs_path = os.fsdecode(directory)
        path = self.display(fs_path)
        cdef int status = NEW
        cdef int64_t row
        if self.table is not None:
            row = self.table.find(path)
            if row >= 0:
                self.seen[row] = 1
                status = REPLACES
        error = "cannot list directory: " + os.strerror(err)
        return self.listing(
            [fs_path], None if path is fs_path else [path], b"\0", bytes([status]), error, None
        )

    cdef inline int _stat_at(self, int fd, const char *name, Py_ssize_t full_length,
                             struct_stat *st, int flags) noexcept:
        """fstatat relative to the open folder, failing where a stat of the full path would
        (ENAMETOOLONG from PATH_MAX on): os.scandir's entries and os.stat use full paths."""
        if full_length >= PATH_MAX:
            return -1
        return fstatat(fd, name, st, flags)

    cdef inline bint _same_file(self, struct_stat *st, int64_t row) noexcept:
        # st_mtime_ns is tv_sec * 10**9 + tv_nsec (0 <= tv_nsec < 10**9): split the stored
        # value the same way (C division truncates: floor it for times before 1970).
        cdef int64_t m = self.mtimes[row]
        cdef int64_t sec = m / 1000000000
        cdef int64_t nsec = m - sec * 1000000000
        if nsec < 0:
            nsec += 1000000000
            sec -= 1
        return (st.st_size == self.sizes[row] and st.st_mtim.tv_sec == sec
                and st.st_mtim.tv_nsec == nsec)

    cdef inline int64_t _label_of(self, int64_t row) noexcept:
        if self.label_width == 1:
            return self.labels8[row]
        if self.label_width == 2:
            return self.labels16[row]
        return self.labels32[row]

    cdef bint _asks(self, const char *p, Py_ssize_t n, const char *name, Py_ssize_t m) noexcept:
        """scanner.walk.asks_planner on the bytes: the full path `p`, its last component
        `name`."""
        cdef Py_ssize_t i, k, length, dot
        cdef int j
        cdef char c
        cdef bint match
        for i in range(m - 1):
            if name[i] == b':' and name[i + 1] == b':':
                return True
        if self.nsuffixes:
            for i in range(n - (self.suffix_span if n > self.suffix_span else n), n):
                if <unsigned char>p[i] >= 0x80:
                    return True
            for j in range(self.nsuffixes):
                length = self.suffix_len[j]
                if length > n:
                    continue
                match = True
                for k in range(length):
                    c = p[n - length + k]
                    if c >= 65 and c <= 90:
                        c = c + 32
                    if c != self.suffix[j][k]:
                        match = False
                        break
                if match:
                    return True
        if self.sniff:
            dot = -1
            for i in range(m):
                if <unsigned char>name[i] >= 0x80 or name[i] == b'\\':
                    return True
                if name[i] == b'.':
                    dot = i
            if dot <= 0:
                return True  # no extension (a leading dot is no extension either)
            return _ext_worth_sniffing(name + dot + 1, m - dot - 1)
        return False

    cdef void _ensure_path(self, Py_ssize_t n) except *:
        cdef char *grown
        if n + 1 > self.path_cap:
            while n + 1 > self.path_cap:
                self.path_cap *= 2
            grown = <char *>realloc(self.path, self.path_cap)
            if grown == NULL:
                raise MemoryError()
            self.path = grown

    cdef int _read_names(self, DIR *dp) except -1:
        """Every name but . and .. into the arena; returns 0, or an errno."""
        cdef dirent *ent
        cdef Py_ssize_t n
        cdef char *grown
        cdef Name *more
        self.arena_len = 0
        self.names_len = 0
        while True:
            errno = 0
            ent = readdir(dp)
            if ent == NULL:
                return errno
            if ent.d_name[0] == b'.' and (ent.d_name[1] == 0 or (ent.d_name[1] == b'.' and ent.d_name[2] == 0)):
                continue
            n = strlen(ent.d_name)
            if self.arena_len + n + 1 > self.arena_cap:
                while self.arena_len + n + 1 > self.arena_cap:
                    self.arena_cap *= 2
                grown = <char *>realloc(self.arena, self.arena_cap)
                if grown == NULL:
                    raise MemoryError()
                self.arena = grown
            if self.names_len == self.names_cap:
                self.names_cap *= 2
                more = <Name *>realloc(self.names, self.names_cap * sizeof(Name))
                if more == NULL:
                    raise MemoryError()
                self.names = more
            memcpy(self.arena + self.arena_len, ent.d_name, n + 1)
            self.names[self.names_len].offset = self.arena_len
            self.names[self.names_len].length = n
            self.names[self.names_len].d_type = DT_UNKNOWN if self.unknown_types else ent.d_type
            self.names_len += 1
            self.arena_len += n + 1

    cdef void _sort_names(self) except *:
        """By name as Python sorts the decoded names: byte order is code point order for
        valid UTF-8; a folder with an undecodable name is sorted by Python instead."""
        cdef Py_ssize_t i
        cdef bint plain = True
        cdef Name *ordered
        for i in range(self.names_len):
            self.names[i].ptr = self.arena + self.names[i].offset
            if plain and not ja_ascii(<const unsigned char *>self.names[i].ptr, self.names[i].length):
                plain = ja_valid_utf8(<const unsigned char *>self.names[i].ptr, self.names[i].length)
        if plain:
            qsort(<void *>self.names, self.names_len, sizeof(Name), ja_cmp_names)
            return
        keyed = []
        for i in range(self.names_len):
            keyed.append((os.fsdecode(self.names[i].ptr[:self.names[i].length]), i))
        keyed.sort()
        ordered = <Name *>malloc((self.names_len + 1) * sizeof(Name))
        if ordered == NULL:
            raise MemoryError()
        for i in range(self.names_len):
            ordered[i] = self.names[<Py_ssize_t>keyed[i][1]]
        memcpy(self.names, ordered, self.names_len * sizeof(Name))
        free(ordered)

    cdef object _claimed(self, bytes directory):
        """The kind of container probe.claims says the folder is, or None."""
        cdef Py_ssize_t i
        cdef bint hinted = self.claim_always
        cdef bytes wanted
        if self.claims is None:
            return None
        for wanted in self.claim_names:
            for i in range(self.names_len):
                if (self.names[i].length == len(wanted)
                        and memcmp(self.names[i].ptr, <const char *>wanted, len(wanted)) == 0):
                    hinted = True
                    break
            if hinted:
                break
        if not hinted:
            return None
        names = frozenset([os.fsdecode(self.names[i].ptr[:self.names[i].length])
                           for i in range(self.names_len)])
        return self.claims(os.fsdecode(directory), names)

    cdef object _directory(self, bytes directory):
        cdef struct_stat st
        cdef const char *dpath = directory
        if stat(dpath, &st) != 0:
            return self._error(directory, errno)
        key = (st.st_dev, st.st_ino)
        if key in self.visited:
            return None  # a symlink back to a directory already walked
        self.visited.add(key)
        cdef DIR *dp = opendir(dpath)
        if dp == NULL:
            return self._error(directory, errno)
        cdef int err
        cdef int64_t label = 0
        try:
            err = self._read_names(dp)
            if err:
                return self._error(directory, err)
            self._sort_names()
            kind = self._claimed(directory)
            if kind is not None:
                return self._alone(os.fsdecode(directory), kind)
            if self.table is not None and self.label_width:
                label = self.label_code(self.display(os.fsdecode(directory)))
            return self._entries(directory, dirfd(dp), label)
        finally:
            closedir(dp)

    cdef object _entries(self, bytes directory, int fd, int64_t label):
        cdef Py_ssize_t dlen = len(directory)
        cdef bint dir_plain = ja_valid_utf8(<const unsigned char *><const char *>directory, dlen)
        cdef Py_ssize_t base = dlen if directory.endswith(b"/") else dlen + 1
        cdef Py_ssize_t mlen = len(self.marker)
        cdef Py_ssize_t i, n, total
        cdef Name *e
        cdef struct_stat st
        cdef bint is_dir, regular, plain
        cdef int status
        cdef int64_t row
        cdef list fs_paths = []
        cdef object paths = None
        cdef bytearray regulars = bytearray()
        cdef bytearray statuses = bytearray()
        cdef list subdirs = []
        self._ensure_path(dlen + 1)
        memcpy(self.path, <const char *>directory, dlen)
        self.path[dlen] = b'/'
        for i in range(self.names_len):
            e = &self.names[i]
            n = e.length
            total = base + n
            # -- a folder? (DirEntry.is_dir(follow_symlinks=True); errors: not a folder)
            if e.d_type == DT_DIR:
                is_dir = True
            elif e.d_type == DT_LNK or e.d_type == DT_UNKNOWN:
                is_dir = self._stat_at(fd, e.ptr, total, &st, 0) == 0 and S_ISDIR(st.st_mode)
            else:
                is_dir = False
            self._ensure_path(total + 1 + mlen)
            memcpy(self.path + base, e.ptr, n)
            self.path[total] = 0
            if is_dir:
                # A folder holding the store marker is a scan store, not data.
                self.path[total] = b'/'
                memcpy(self.path + total + 1, <const char *>self.marker, mlen)
                self.path[total + 1 + mlen] = 0
                if self._stat_at(fd, self.path + base, total + 1 + mlen, &st, 0) != 0:
                    subdirs.append(self.path[:total])
                continue
            # -- an entry: regular when the listing says so (DirEntry.is_file(False))
            if e.d_type == DT_REG:
                regular = True
            elif e.d_type == DT_UNKNOWN:
                regular = (self._stat_at(fd, e.ptr, total, &st, AT_SYMLINK_NOFOLLOW) == 0
                           and S_ISREG(st.st_mode))
            else:
                regular = False
            plain = dir_plain and ja_valid_utf8(<const unsigned char *>e.ptr, n)
            fs_path = None
            path = None
            if self._asks(self.path, total, e.ptr, n):
                status = ASK
            elif self.table is None:
                status = NEW
            else:
                if plain:
                    row = self.table.find_bytes(self.path, total)
                else:
                    fs_path = PyUnicode_DecodeFSDefaultAndSize(self.path, total)
                    path = self.display(fs_path)
                    row = self.table.find(path)
                status = NEW
                if row >= 0 and self.label_width and label == LABEL_PER_ENTRY:
                    status = ASK
                elif row >= 0:
                    self.seen[row] = 1
                    if ((not self.label_width or (label >= 0 and self._label_of(row) == label))
                            and self.eligible[row]
                            and self._stat_at(fd, e.ptr, total, &st, 0) == 0
                            and self._same_file(&st, row)):
                        self.unchanged += 1
                        continue
                    status = REPLACES
            if fs_path is None:
                fs_path = PyUnicode_DecodeFSDefaultAndSize(self.path, total)
                if not plain:
                    path = self.display(fs_path)
            if not plain and path is not fs_path and paths is None:
                paths = list(fs_paths)
            fs_paths.append(fs_path)
            if paths is not None:
                paths.append(fs_path if plain else path)
            regulars.append(regular)
            statuses.append(status)
        self.stack.extend(reversed(subdirs))
        if not fs_paths:
            return None
        return self.listing(fs_paths, paths, bytes(regulars), bytes(statuses), None, None)


cdef bint _ext_worth_sniffing(const char *ext, Py_ssize_t n) noexcept:
    """An extension (ASCII) `sources.registry.worth_sniffing` accepts: empty, holding "-of-", or
    starting with "tfrec" (case-insensitively)."""
    cdef Py_ssize_t i, k
    cdef char c
    cdef const char *tfrec = b"tfrec"
    cdef const char *of = b"-of-"
    cdef bint match
    if n == 0:
        return True
    if n >= 5:
        match = True
        for k in range(5):
            c = ext[k] + 32 if 65 <= ext[k] <= 90 else ext[k]
            if c != tfrec[k]:
                match = False
                break
        if match:
            return True
    for i in range(n - 3):
        match = True
        for k in range(4):
            c = ext[i + k] + 32 if 65 <= ext[i + k] <= 90 else ext[i + k]
            if c != of[k]:
                match = False
                break
        if match:
            return True
    return False
