/* common.c — die(), CHECK's failure path and the allocation wrappers declared in common.h. */
#include "common.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>

void die(int code, const char *fmt, ...) {
    va_list ap;
    fflush(stdout);
    fputs("mingpt: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

char *temp_path(const char *path) {
    size_t n = strlen(path) + 32;
    char *tmp = xmalloc(n);
    snprintf(tmp, n, "%s.tmp%ld", path, (long)getpid());
    return tmp;
}

void check_failed(const char *file, int line, const char *expr) {
    fflush(stdout);
    fprintf(stderr, "mingpt: %s:%d: internal error: CHECK(%s) failed\n", file, line, expr);
    exit(1);
}

/* What a user can do about it, rather than where in the source it happened: the runs that get
 * here are the ones whose size the up-front check could not foresee. */
MG_NORETURN static void out_of_memory(size_t size) {
    char amount[32];
    format_bytes((double)size, amount, sizeof amount);
    die(1, "out of memory: %s more did not fit (try a smaller model or --batch-size, a shorter text, or "
           "close other programs)", amount);
}

void *xmalloc_at(size_t size, const char *file, int line) {
    (void)file, (void)line;
    void *p = malloc(size ? size : 1);
    if (!p) out_of_memory(size);
    return p;
}

void *xcalloc_at(size_t n, size_t size, const char *file, int line) {
    (void)file, (void)line;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) out_of_memory(n > SIZE_MAX / (size ? size : 1) ? SIZE_MAX : n * size);
    return p;
}

void *xmalloc_aligned_at(size_t size, const char *file, int line) {
    size_t rounded = (size + 63) / 64 * 64;
    if (rounded < size) die(1, "%s:%d: allocation size %zu overflows", file, line, size);
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) out_of_memory(size);
    return p;
}

void format_bytes(double bytes, char *out, size_t size) {
    if (bytes >= 1024.0 * 1024 * 1024) snprintf(out, size, "%.1f GiB", bytes / (1024.0 * 1024 * 1024));
    else if (bytes >= 1024.0 * 1024) snprintf(out, size, "%.0f MiB", bytes / (1024.0 * 1024));
    else snprintf(out, size, "%.0f KiB", bytes / 1024.0);
}

/* A number of bytes from the first line of a file, or 0 (unlimited or unknown: "max"). */
static size_t read_size_file(const char *path) {
    FILE *fp = fopen(path, "r");
    unsigned long long v = 0;
    if (!fp) return 0;
    if (fscanf(fp, "%llu", &v) != 1) v = 0;
    fclose(fp);
    return (size_t)v;
}

/* The "MemAvailable" line of /proc/meminfo, in bytes, or 0. */
static size_t meminfo_available(void) {
    FILE *fp = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long long kib = 0;
    if (!fp) return 0;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) break;
    fclose(fp);
    return (size_t)kib * 1024;
}

/* The sum of the named counters in a cgroup memory.stat file (page cache the kernel can reclaim). */
static size_t stat_sum(const char *path, const char *const *names, int n_names) {
    FILE *fp = fopen(path, "r");
    char line[128], key[64];
    unsigned long long v, sum = 0;
    if (!fp) return 0;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "%63s %llu", key, &v) == 2)
            for (int i = 0; i < n_names; i++)
                if (strcmp(key, names[i]) == 0) sum += v;
    fclose(fp);
    return (size_t)sum;
}

/* The room left under this process's cgroup memory limit (v2, or v1's memory controller), or 0
 * when there is no limit. Page cache counts as free: the kernel drops it before it refuses. */
static size_t cgroup_room(void) {
    FILE *fp = fopen("/proc/self/cgroup", "r");
    char line[512], path[700];
    size_t room = 0;
    if (!fp) return 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = '\0';
        const char *dir = NULL, *max_file, *used_file;
        static const char *const v2_cache[] = {"active_file", "inactive_file"};
        static const char *const v1_cache[] = {"total_active_file", "total_inactive_file"};
        const char *const *cache;
        const char *root;
        if (strncmp(line, "0::", 3) == 0) {
            dir = line + 3, root = "/sys/fs/cgroup", max_file = "memory.max", used_file = "memory.current";
            cache = v2_cache;
        } else if (strstr(line, ":memory:")) {
            dir = strstr(line, ":memory:") + 8, root = "/sys/fs/cgroup/memory";
            max_file = "memory.limit_in_bytes", used_file = "memory.usage_in_bytes", cache = v1_cache;
        } else {
            continue;
        }
        snprintf(path, sizeof path, "%s%s/%s", root, dir, max_file);
        size_t max = read_size_file(path);
        if (!max || max >= ((size_t)1 << 60)) continue; /* "max", or v1's "no limit" */
        snprintf(path, sizeof path, "%s%s/%s", root, dir, used_file);
        size_t used = read_size_file(path);
        snprintf(path, sizeof path, "%s%s/memory.stat", root, dir);
        size_t cached = stat_sum(path, cache, 2);
        used = used > cached ? used - cached : 0;
        size_t here = max > used ? max - used : 1;
        if (!room || here < room) room = here;
    }
    fclose(fp);
    return room;
}

size_t memory_available(const char **limit) {
    size_t best = meminfo_available();
    *limit = "available";
    if (!best) best = physical_memory_bytes();
    size_t cg = cgroup_room();
    if (cg && (!best || cg < best)) {
        best = cg;
        *limit = "left under this cgroup's memory limit";
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        /* address space already taken counts against it, used or not */
        size_t vm = 0, page = (size_t)sysconf(_SC_PAGESIZE);
        FILE *fp = fopen("/proc/self/statm", "r");
        unsigned long long pages = 0;
        if (fp) {
            if (fscanf(fp, "%llu", &pages) == 1) vm = (size_t)pages * page;
            fclose(fp);
        }
        size_t room = (size_t)rl.rlim_cur > vm ? (size_t)rl.rlim_cur - vm : 1;
        if (!best || room < best) {
            best = room;
            *limit = "left under ulimit -v";
        }
    }
    return best;
}

int error_text(char *err, size_t err_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return -1;
}

double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t physical_memory_bytes(void) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || page <= 0) return 0;
    return (size_t)pages * (size_t)page;
}

size_t xmul_size(size_t a, size_t b) {
    if (a != 0 && b > SIZE_MAX / a) die(1, "size %zu x %zu overflows", a, b);
    return a * b;
}

void strbuf_put(StrBuf *b, const char *s, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1) cap = xmul_size(cap, 2);
        char *grown = realloc(b->buf, cap);
        if (!grown) die(1, "out of memory building %s (%zu bytes)", b->what ? b->what : "a text", cap);
        b->buf = grown;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

char *strbuf_take(StrBuf *b, size_t *len) {
    if (!b->buf) strbuf_put(b, "", 0);
    char *s = b->buf;
    *len = b->len;
    *b = (StrBuf){.what = b->what};
    return s;
}

uint64_t fingerprint(uint64_t h, const void *data, size_t n) {
    /* FNV-1a over 8-byte words, with a final mix per call: fast enough for a model's weights */
    const unsigned char *p = data;
    h ^= 0xcbf29ce484222325ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}
