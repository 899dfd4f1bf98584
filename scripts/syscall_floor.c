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
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static char head[4096], tail[64];  /* ReadLimits.head_bytes */

static double seconds(struct timeval t) { return t.tv_sec + 1e-6 * t.tv_usec; }

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE_LIST\n", argv[0]);
        return 2;
    }
    FILE *list = fopen(argv[1], "r");
    if (!list) {
        perror(argv[1]);
        return 2;
    }
    size_t n = 0, capacity = 1024;
    char **paths = malloc(capacity * sizeof *paths);
    char line[4096];
    while (fgets(line, sizeof line, list)) {
        line[strcspn(line, "\n")] = 0;
        if (n == capacity)
            paths = realloc(paths, (capacity *= 2) * sizeof *paths);
        paths[n++] = strdup(line);
    }
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    long total = 0, failed = 0;
    for (size_t i = 0; i < n; i++) {
        int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            failed++;
            if (fd >= 0)
                close(fd);
            continue;
        }
        total += pread(fd, head, sizeof head, 0);
        if (st.st_size > (off_t)sizeof head)
            total += pread(fd, tail, sizeof tail, st.st_size - (off_t)sizeof tail);
        close(fd);
    }
    getrusage(RUSAGE_SELF, &after);
    double user = seconds(after.ru_utime) - seconds(before.ru_utime);
    double sys = seconds(after.ru_stime) - seconds(before.ru_stime);
    printf("%zu files (%ld failed), %ld bytes read: user %.2f us/file, system %.2f us/file, "
           "total %.2f us/file\n", n, failed, total, 1e6 * user / n, 1e6 * sys / n,
           1e6 * (user + sys) / n);
    return 0;
}
