/* common.h — error handling and checked libc wrappers shared by every file.
 *
 * Two kinds of failure exist in mingpt. Bad input from the user (a file, an option) is reported as
 * one plain line naming the file and the problem, and the caller decides the exit code. Broken
 * invariants and failed system calls (out of memory, short write) use CHECK / the x-wrappers below,
 * which print file:line and exit(1). CHECK is always on: it never compiles away like assert().
 */
#ifndef MINGPT_COMMON_H
#define MINGPT_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#if defined(__GNUC__)
#define MG_NORETURN __attribute__((noreturn))
#define MG_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define MG_NORETURN
#define MG_PRINTF(a, b)
#endif

/* Prints "mingpt: <message>" to stderr and exits with `code`. */
MG_NORETURN MG_PRINTF(2, 3) void die(int code, const char *fmt, ...);

/* Prints "mingpt: file:line: internal error: <what>" and exits 1. */
MG_NORETURN void check_failed(const char *file, int line, const char *expr);
#define CHECK(cond) ((cond) ? (void)0 : check_failed(__FILE__, __LINE__, #cond))

/* Allocation: a failure says how much did not fit and what to try, and exits 1. Memory from xmalloc_aligned is
 * 64-byte aligned (one cache line, one AVX-512 vector) and is released with free(). */
void *xmalloc_at(size_t size, const char *file, int line);
void *xcalloc_at(size_t n, size_t size, const char *file, int line);
void *xmalloc_aligned_at(size_t size, const char *file, int line);
#define xmalloc(size) xmalloc_at((size), __FILE__, __LINE__)
#define xcalloc(n, size) xcalloc_at((n), (size), __FILE__, __LINE__)
#define xmalloc_aligned(size) xmalloc_aligned_at((size), __FILE__, __LINE__)

/* "PATH.tmpPID" (malloc'd): where a file is written before it is renamed over PATH, so that a
 * crash or a failed write never leaves half a file at PATH. */
char *temp_path(const char *path);

/* Seconds on a monotonic clock (for durations only). */
double now_seconds(void);

/* Bytes of physical memory on this machine (0 if unknown). */
size_t physical_memory_bytes(void);

/* Bytes this process can still allocate: the least of the RAM available now (MemAvailable), the
 * room under its cgroup's memory limit and the room under `ulimit -v` (RLIMIT_AS). *limit says
 * which one that is, as words that follow the amount ("available", "left under ulimit -v"). 0 if
 * nothing is known. */
size_t memory_available(const char **limit);

/* A 64-bit hash of data[0..n) continuing from h (start from 0): for telling whether two copies of
 * something are the same, not for security. */
uint64_t fingerprint(uint64_t h, const void *data, size_t n);

/* "1.5 GiB", "300 MiB" or "12 KiB". */
void format_bytes(double bytes, char *out, size_t size);

/* A growing NUL-terminated byte string: start it as {.what = "a safetensors header"} (named in the
 * out-of-memory message), append with strbuf_put, and own buf (free it) at the end. */
typedef struct {
    char *buf;
    size_t len, cap;
    const char *what;
} StrBuf;

/* Appends s[0..n) (any bytes); exits with a message if memory runs out. */
void strbuf_put(StrBuf *b, const char *s, size_t n);
/* The text so far (never NULL, *len bytes, NUL-terminated), now the caller's; b is empty again. */
char *strbuf_take(StrBuf *b, size_t *len);

/* Writes a formatted one-line message into err[0..err_size) for the caller to report; returns -1
 * so that `return error_text(...)` reads as a failure. */
MG_PRINTF(3, 4) int error_text(char *err, size_t err_size, const char *fmt, ...);

/* Multiplies two sizes, exiting with a message instead of wrapping around. */
size_t xmul_size(size_t a, size_t b);

/* a·b + c as the vector kernels compute it: GCC fuses their a*b+c into one FMA when the CPU has
 * FMA and it optimises (the Makefile adds -fexpensive-optimizations so that -O1 fuses too; -O0
 * fuses nothing). Scalar loops that must give the same bits as a vector lane use this instead of
 * leaving the fusing to the compiler, which does not always fuse scalar code. */
#if (defined(__FMA__) || defined(__ARM_FEATURE_FMA)) && defined(__OPTIMIZE__)
#define MULADD(a, b, c) fmaf((a), (b), (c))
#else
#define MULADD(a, b, c) ((a) * (b) + (c))
#endif

#define MG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MG_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Splits [0, n) into nth nearly equal ranges; thread ith owns [*lo, *hi). The split depends only
 * on (n, ith, nth), and each output has one owner, so results do not depend on scheduling. */
static inline void split_range(size_t n, int ith, int nth, size_t *lo, size_t *hi) {
    size_t per = n / (size_t)nth, extra = n % (size_t)nth, i = (size_t)ith;
    *lo = i * per + (i < extra ? i : extra);
    *hi = *lo + per + (i < extra ? 1 : 0);
}

#endif
