/* common.c — die(), CHECK's failure path and the allocation wrappers declared in common.h. */
#include "common.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

void *xmalloc_at(size_t size, const char *file, int line) {
    void *p = malloc(size ? size : 1);
    if (!p) die(1, "%s:%d: out of memory allocating %zu bytes", file, line, size);
    return p;
}

void *xcalloc_at(size_t n, size_t size, const char *file, int line) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) die(1, "%s:%d: out of memory allocating %zu x %zu bytes", file, line, n, size);
    return p;
}

void *xmalloc_aligned_at(size_t size, const char *file, int line) {
    size_t rounded = (size + 63) / 64 * 64;
    if (rounded < size) die(1, "%s:%d: allocation size %zu overflows", file, line, size);
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) die(1, "%s:%d: out of memory allocating %zu bytes", file, line, size);
    return p;
}

int error_text(char *err, size_t err_size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return -1;
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
