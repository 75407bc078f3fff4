/* threads.c — the worker pool behind pool_run (see threads.h for the contract). */
#define _GNU_SOURCE
#include "threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

/* How long a thread spins (pause instructions, 10 to 140 cycles each depending on the CPU) before
 * sleeping: enough to bridge the gap between two kernels of a step on an idle machine, short enough
 * (tens of microseconds) that a thread whose partner has been descheduled soon gives its core away. */
#define SPIN_PAUSES 3000

/* When a worker has been off its core (another program, or the hypervisor, took it), the caller can
 * end up waiting a whole scheduler time slice, milliseconds, for a part that takes microseconds.
 * After such a stall the caller runs jobs alone for a while, then tries the workers again. The
 * stretch alone starts short (a lone hiccup costs little) and doubles while stalls keep coming
 * soon after each return to the workers (a busy machine: two threads then cost about what one
 * does), up to SOLO_MAX. */
#define SOLO_MIN 0.02
#define SOLO_MAX 1.0
#define STALL_WAIT 1e-3 /* a wait this long, and 4 times the caller's own work, is a stall */

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* A job is split into n parts, part ith being fn(ctx, ith, n). Parts are claimed from a counter by
 * whichever thread comes first, so when another program has taken the worker's core the caller
 * runs the worker's part too instead of waiting for it; which thread runs a part never changes
 * what the part computes, so results stay bitwise the same. */
struct Pool {
    int n;                      /* threads including the caller, and parts per job */
    pthread_t *threads;         /* (n-1) workers */
    pool_fn fn;
    void *ctx;
    atomic_int next_part;       /* the next part to claim; >= n when all are claimed */
    atomic_int parts_done;
    atomic_uint generation;     /* bumped for every job */
    atomic_int sleepers;        /* workers asleep on job_cond (or about to be) */
    atomic_int stop;
    pthread_mutex_t mutex;
    pthread_cond_t job_cond;    /* workers sleep here */
    pthread_cond_t done_cond;   /* the caller sleeps here */
    void *workspace;            /* see pool_workspace */
    size_t workspace_bytes;
    double solo_until;          /* the caller runs every part alone until then (monotonic seconds) */
    double solo_len;            /* the last stretch alone, in seconds */
    double parallel_since;      /* when the workers were last taken back */
};

/* Claims and runs parts until none is left; returns 1 if this thread finished the job's last one. */
static int run_parts(Pool *pool) {
    int last = 0;
    for (;;) {
        int part = atomic_fetch_add_explicit(&pool->next_part, 1, memory_order_acq_rel);
        if (part >= pool->n) return last;
        pool->fn(pool->ctx, part, pool->n); /* read after the claim: the claim's job's fn */
        last = atomic_fetch_add_explicit(&pool->parts_done, 1, memory_order_acq_rel) == pool->n - 1;
    }
}

static void *worker_main(void *arg) {
    Pool *pool = arg;
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop) && spins++ < SPIN_PAUSES)
            cpu_relax();
        if (gen == seen && !atomic_load(&pool->stop)) {
            pthread_mutex_lock(&pool->mutex);
            atomic_fetch_add(&pool->sleepers, 1); /* seen by pool_run before or after its bump: no lost wake-up */
            while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->job_cond, &pool->mutex);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = gen;
        if (run_parts(pool)) {
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_signal(&pool->done_cond);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
}

int cpu_count(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

Pool *pool_create(int n_threads) {
    Pool *pool = xcalloc(1, sizeof *pool);
    pool->n = n_threads > 0 ? n_threads : cpu_count();
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->next_part, pool->n); /* nothing to claim before the first job */
    atomic_init(&pool->parts_done, 0);
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->stop, 0);
    CHECK(pthread_mutex_init(&pool->mutex, NULL) == 0);
    CHECK(pthread_cond_init(&pool->job_cond, NULL) == 0);
    CHECK(pthread_cond_init(&pool->done_cond, NULL) == 0);
    pool->threads = xcalloc((size_t)pool->n, sizeof(pthread_t));
    for (int i = 1; i < pool->n; i++) {
        if (pthread_create(&pool->threads[i - 1], NULL, worker_main, pool) != 0)
            die(1, "cannot create worker thread %d of %d", i, pool->n);
    }
    return pool;
}

void pool_free(Pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stop, 1);
    pthread_cond_broadcast(&pool->job_cond);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->n; i++) pthread_join(pool->threads[i - 1], NULL);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->job_cond);
    pthread_cond_destroy(&pool->done_cond);
    free(pool->threads);
    free(pool->workspace);
    free(pool);
}

typedef struct {
    size_t n;
    pool_range_fn fn;
    void *ctx;
} ForJob;

static void for_worker(void *ctx, int ith, int nth) {
    const ForJob *job = ctx;
    size_t lo, hi;
    split_range(job->n, ith, nth, &lo, &hi);
    if (lo < hi) job->fn(job->ctx, lo, hi);
}

void pool_for(Pool *pool, size_t n, pool_range_fn fn, void *ctx) {
    ForJob job = {n, fn, ctx};
    pool_run(pool, for_worker, &job);
}

void *pool_workspace(Pool *pool, size_t bytes) {
    CHECK(pool != NULL);
    if (bytes > pool->workspace_bytes) {
        free(pool->workspace);
        pool->workspace = xmalloc_aligned(bytes);
        pool->workspace_bytes = bytes;
    }
    return pool->workspace;
}

int pool_size(const Pool *pool) { return pool ? pool->n : 1; }

void pool_run(Pool *pool, pool_fn fn, void *ctx) {
    if (!pool || pool->n == 1) {
        fn(ctx, 0, 1);
        return;
    }
    double t_start = 0.0;
    if (pool->solo_until > 0.0) {
        t_start = now_seconds();
        if (t_start < pool->solo_until) {
            for (int part = 0; part < pool->n; part++) fn(ctx, part, pool->n);
            return;
        }
        pool->solo_until = 0.0;
        pool->parallel_since = t_start;
    }
    /* the previous job is complete: no thread reads fn or ctx until it claims a part of this one */
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->parts_done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->next_part, 0, memory_order_release);
    atomic_fetch_add(&pool->generation, 1);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->job_cond);
        pthread_mutex_unlock(&pool->mutex);
    }
    if (t_start == 0.0) t_start = now_seconds();
    run_parts(pool);
    if (atomic_load_explicit(&pool->parts_done, memory_order_acquire) == pool->n) return;
    double t_worked = now_seconds();
    int spins = 0;
    while (atomic_load_explicit(&pool->parts_done, memory_order_acquire) < pool->n && spins++ < SPIN_PAUSES)
        cpu_relax();
    if (atomic_load_explicit(&pool->parts_done, memory_order_acquire) < pool->n) {
        pthread_mutex_lock(&pool->mutex);
        while (atomic_load(&pool->parts_done) < pool->n) pthread_cond_wait(&pool->done_cond, &pool->mutex);
        pthread_mutex_unlock(&pool->mutex);
    }
    double t_end = now_seconds();
    if (t_end - t_worked > STALL_WAIT && t_end - t_worked > 4 * (t_worked - t_start)) {
        int again = pool->solo_len > 0.0 && t_end - pool->parallel_since < 4 * pool->solo_len;
        pool->solo_len = again ? MG_MIN(2 * pool->solo_len, SOLO_MAX) : SOLO_MIN;
        /* (the more threads, the more a stretch alone costs: it is shorter) */
        pool->solo_until = t_end + pool->solo_len / (pool->n - 1);
    }
}
