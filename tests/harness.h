/* harness.h — a tiny test harness: named cases, checks that say what differed and where.
 *
 * A test program defines cases as functions and runs each with RUN(fn). A case fails when any
 * EXPECT or expect_close inside it fails; each failure prints file:line and the first differing
 * values. Every case prints "PASS name" or "FAIL name"; tests/run.sh counts them. The program exits
 * non-zero if any case failed.
 */
#ifndef MINGPT_HARNESS_H
#define MINGPT_HARNESS_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static int harness_case_failed, harness_passed, harness_failed;

#define EXPECT(cond)                                                                         \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            printf("    %s:%d: expected %s\n", __FILE__, __LINE__, #cond);                  \
            harness_case_failed = 1;                                                         \
        }                                                                                    \
    } while (0)

/* |got - want| <= atol + rtol·|want| for every element. Prints the first failures and the largest
 * difference. Returns 1 if all are close. */
#define expect_close(what, got, want, n, atol, rtol) \
    expect_close_at(__FILE__, __LINE__, what, got, want, n, atol, rtol)
static inline int expect_close_at(const char *file, int line, const char *what, const float *got,
                                  const float *want, size_t n, double atol, double rtol) {
    size_t bad = 0, worst = 0;
    double worst_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        double diff = fabs((double)got[i] - (double)want[i]);
        int ok = diff <= atol + rtol * fabs((double)want[i]) && !isnan(got[i]) && !isnan(want[i]);
        if (diff > worst_diff || isnan(got[i])) {
            worst_diff = isnan(got[i]) ? INFINITY : diff;
            worst = i;
        }
        if (!ok) {
            if (bad < 3)
                printf("    %s:%d: %s[%zu] = %.9g, expected %.9g (diff %.3g)\n", file, line, what, i,
                       got[i], want[i], diff);
            bad++;
        }
    }
    if (bad) {
        printf("    %s:%d: %s: %zu of %zu differ, max diff %.3g at [%zu]\n", file, line, what, bad, n,
               worst_diff, worst);
        harness_case_failed = 1;
    }
    return bad == 0;
}

/* Bitwise equality of two float arrays. */
#define expect_same_bits(what, got, want, n) expect_same_bits_at(__FILE__, __LINE__, what, got, want, n)
static inline int expect_same_bits_at(const char *file, int line, const char *what,
                                      const float *got, const float *want, size_t n) {
    if (memcmp(got, want, n * sizeof(float)) == 0) return 1;
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof(float)) != 0) {
            printf("    %s:%d: %s differs first at [%zu]: %.9g vs %.9g\n", file, line, what, i,
                   got[i], want[i]);
            break;
        }
    harness_case_failed = 1;
    return 0;
}

#define RUN(fn) harness_run(#fn, fn)
static inline void harness_run(const char *name, void (*fn)(void)) {
    harness_case_failed = 0;
    fn();
    printf("%s %s\n", harness_case_failed ? "FAIL" : "PASS", name);
    fflush(stdout);
    if (harness_case_failed) harness_failed++;
    else harness_passed++;
}

static inline int harness_finish(void) { return harness_failed ? 1 : 0; }

/* Deterministic test data: uniform in [-scale, scale). */
static inline void fill_uniform(float *x, size_t n, unsigned seed, float scale) {
    unsigned long long s = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        x[i] = scale * (2.0f * (float)((s >> 40) & 0xFFFFFF) / 16777216.0f - 1.0f);
    }
}

/* Removes a test's temporary folder and everything in it (a test calls it last). */
static inline void harness_remove_dir(const char *dir) {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
}

/* Reads up to size-1 bytes of path into buf, NUL-terminated ("" when it cannot be read). */
static inline void harness_slurp(const char *path, char *buf, size_t size) {
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(buf, 1, size - 1, fp) : 0;
    buf[n] = '\0';
    if (fp) fclose(fp);
}

/* Runs "BINARY ARGS" through the shell with $D set to dir (ARGS may refer to $D and redirect
 * standard input). Its stdout and stderr go to dir/stdout and dir/stderr, then into out and err.
 * Returns the exit status, or 128 + the signal that ended it. */
static inline int harness_run_binary(const char *dir, const char *binary, const char *args, char *out,
                                     size_t out_size, char *err, size_t err_size) {
    char cmd[4096], path[600];
    snprintf(cmd, sizeof cmd, "D=%s; %s %s >%s/stdout 2>%s/stderr", dir, binary, args, dir, dir);
    int status = system(cmd);
    snprintf(path, sizeof path, "%s/stdout", dir);
    harness_slurp(path, out, out_size);
    snprintf(path, sizeof path, "%s/stderr", dir);
    harness_slurp(path, err, err_size);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

#endif
