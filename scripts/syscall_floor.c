/* The system calls of a scan's reads, from C and nothing else: for every path in a list,
 * open, fstat, pread the first 4 KiB and (for files larger than that) the last 64 bytes,
 * close; prints the user and system CPU time per file. The I/O floor of scripts/bench_scan.py
 * does the same from Python; this says how much of that floor is the kernel's
 * (docs/performance.md, "What stays between jpegaudit and the floor").
 *
 *   gcc -O2 -o /tmp/syscall_floor scripts/syscall_floor.c
 *   find /work/bench-data/imagenet-like-50k -type f | sort > /tmp/files.txt
 *   cat $(cat /tmp/files.txt) > /dev/null   # warm the page cache
 *   /tmp/syscall_floor /tmp/files.txt
 *
 * With BATCH (and PAUSE_MS), it sleeps PAUSE_MS after loading the list, then times each run of
 * BATCH consecutive files apart, one line each: what the reads cost right after a pause
 * against later (docs/performance.md, "Reads right after a pause"). A fourth argument `spin`
 * spends the pause in a busy loop instead of asleep (is it the CPU going idle, or the time?):
 *
 *   /tmp/syscall_floor /tmp/files.txt 8192 500
 *   /tmp/syscall_floor /tmp/files.txt 8192 2000 spin
 *
 * Built with -DSYSCALL_FLOOR_LIBRARY -shared -fPIC it is the library behind bench_scan.py's
 * io-floor-c contender and bench_core_batch.py's reads-in-c: floor_reads() alone, no main().
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { HEAD_BYTES = 4096, TAIL_BYTES = 64 }; /* ReadLimits.head_bytes, tail_bytes */

/* The reads of `n` files whose paths lie back to back in `paths`, each ending in NUL. Returns
 * the bytes read, or -1 - k where path k cannot be opened or stat'ed (`failed` NULL), or goes
 * on and counts it in *failed. */
long long floor_reads(const char *paths, int n, long long *failed) {
    static char head[HEAD_BYTES], tail[TAIL_BYTES];
    long long total = 0;
    const char *path = paths;
    for (int k = 0; k < n; k++, path += strlen(path) + 1) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0)
                close(fd);
            if (failed == NULL)
                return -1 - k;
            ++*failed;
            continue;
        }
        ssize_t got = pread(fd, head, sizeof head, 0);
        total += got > 0 ? got : 0;
        if (st.st_size > (off_t)sizeof head) {
            got = pread(fd, tail, sizeof tail, st.st_size - (off_t)sizeof tail);
            total += got > 0 ? got : 0;
        }
        close(fd);
    }
    return total;
}

#ifndef SYSCALL_FLOOR_LIBRARY
static double seconds(struct timeval t) { return t.tv_sec + 1e-6 * t.tv_usec; }

static double monotonic_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return 1e3 * now.tv_sec + 1e-6 * now.tv_nsec;
}

/* Times each run of `batch` files apart (the last may be shorter), after a pause: asleep, or
 * busy with `spin`. */
static void by_batch(const char *paths, size_t n, size_t batch, long pause_ms, int spin) {
    if (spin) {
        double until = monotonic_ms() + pause_ms;
        while (monotonic_ms() < until)
            ;
    } else {
        struct timespec pause = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
        nanosleep(&pause, NULL);
    }
    const char *path = paths;
    for (size_t first = 0; first < n; first += batch) {
        int count = (int)(n - first < batch ? n - first : batch);
        struct rusage before, after;
        long long failed = 0;
        getrusage(RUSAGE_SELF, &before);
        floor_reads(path, count, &failed);
        getrusage(RUSAGE_SELF, &after);
        double cpu = seconds(after.ru_utime) - seconds(before.ru_utime) + seconds(after.ru_stime) -
                     seconds(before.ru_stime);
        printf("files %zu-%zu (%lld failed): %.2f us/file\n", first, first + count - 1, failed,
               1e6 * cpu / count);
        for (int k = 0; k < count; k++)
            path += strlen(path) + 1;
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 5) {
        fprintf(stderr, "usage: %s FILE_LIST [BATCH [PAUSE_MS [spin]]]\n", argv[0]);
        return 2;
    }
    FILE *list = fopen(argv[1], "r");
    if (!list) {
        perror(argv[1]);
        return 2;
    }
    /* The paths back to back, each ending in NUL, as floor_reads takes them. */
    size_t n = 0, used = 0, capacity = 1 << 20;
    char *paths = malloc(capacity);
    char line[4096];
    while (fgets(line, sizeof line, list)) {
        size_t len = strcspn(line, "\n");
        if (used + len + 1 > capacity)
            paths = realloc(paths, capacity *= 2);
        memcpy(paths + used, line, len);
        paths[used + len] = 0;
        used += len + 1;
        n++;
    }
    if (argc > 2) {
        long batch = atol(argv[2]), pause_ms = argc > 3 ? atol(argv[3]) : 0;
        int spin = argc > 4 && strcmp(argv[4], "spin") == 0;
        if (batch < 1 || pause_ms < 0 || (argc > 4 && !spin)) {
            fprintf(stderr, "BATCH must be at least 1, PAUSE_MS not negative, the last "
                            "argument `spin` or nothing\n");
            return 2;
        }
        by_batch(paths, n, (size_t)batch, pause_ms, spin);
        return 0;
    }
    struct rusage before, after;
    long long failed = 0;
    getrusage(RUSAGE_SELF, &before);
    long long total = floor_reads(paths, (int)n, &failed);
    getrusage(RUSAGE_SELF, &after);
    double user = seconds(after.ru_utime) - seconds(before.ru_utime);
    double sys = seconds(after.ru_stime) - seconds(before.ru_stime);
    printf("%zu files (%lld failed), %lld bytes read: user %.2f us/file, system %.2f us/file, "
           "total %.2f us/file\n", n, failed, total, 1e6 * user / n, 1e6 * sys / n,
           1e6 * (user + sys) / n);
    return 0;
}
#endif
