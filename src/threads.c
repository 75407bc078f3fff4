/* threads.c — the worker pool behind pool_run (see threads.h for the contract). */
#define _GNU_SOURCE
#include "threads.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

/* How long a thread spins before sleeping: long enough to cover the gap between two kernels of
 * one training step, short enough not to burn a core when the pool is idle. */
#define SPIN_ITERS 200000

struct Pool {
    int n;                      /* threads including the caller */
    pthread_t *threads;         /* (n-1) workers */
    pool_fn fn;
    void *ctx;
    atomic_uint generation;     /* bumped for every job */
    atomic_int pending;         /* workers that have not finished the current job */
    atomic_int stop;
    pthread_mutex_t mutex;
    pthread_cond_t job_cond;    /* workers sleep here */
    pthread_cond_t done_cond;   /* the caller sleeps here */
    void *workspace;            /* see pool_workspace */
    size_t workspace_bytes;
};

typedef struct {
    Pool *pool;
    int ith;
} WorkerArg;

static void *worker_main(void *arg_) {
    WorkerArg *arg = arg_;
    Pool *pool = arg->pool;
    int ith = arg->ith;
    free(arg);
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
               !atomic_load_explicit(&pool->stop, memory_order_acquire) && spins < SPIN_ITERS)
            spins++;
        if (gen == seen && !atomic_load(&pool->stop)) {
            pthread_mutex_lock(&pool->mutex);
            while ((gen = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
                pthread_cond_wait(&pool->job_cond, &pool->mutex);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = gen;
        pool->fn(pool->ctx, ith, pool->n);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
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
    atomic_init(&pool->pending, 0);
    atomic_init(&pool->stop, 0);
    CHECK(pthread_mutex_init(&pool->mutex, NULL) == 0);
    CHECK(pthread_cond_init(&pool->job_cond, NULL) == 0);
    CHECK(pthread_cond_init(&pool->done_cond, NULL) == 0);
    pool->threads = xcalloc((size_t)pool->n, sizeof(pthread_t));
    for (int i = 1; i < pool->n; i++) {
        WorkerArg *arg = xmalloc(sizeof *arg);
        arg->pool = pool;
        arg->ith = i;
        if (pthread_create(&pool->threads[i - 1], NULL, worker_main, arg) != 0)
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
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->pending, pool->n - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->job_cond);
    pthread_mutex_unlock(&pool->mutex);

    fn(ctx, 0, pool->n);

    int spins = 0;
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0 && spins < SPIN_ITERS)
        spins++;
    if (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0) {
        pthread_mutex_lock(&pool->mutex);
        while (atomic_load(&pool->pending) > 0) pthread_cond_wait(&pool->done_cond, &pool->mutex);
        pthread_mutex_unlock(&pool->mutex);
    }
}
