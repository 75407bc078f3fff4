/* test_threads.c — the worker pool: every part of every job runs exactly once, with its own job's
 * context, whichever thread claims it, also when threads are slow to wake or are descheduled. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "harness.h"
#include "common.h"
#include "threads.h"

#define MAX_PARTS 8

typedef struct {
    long job;
    atomic_int runs[MAX_PARTS];
    atomic_long wrong_job;
    int nth_seen;
    int slow_part;        /* this part sleeps a little (-1: none), as a descheduled thread would */
    pthread_t runner[MAX_PARTS];
} Job;

static void part(void *ctx, int ith, int nth) {
    Job *job = ctx;
    job->nth_seen = nth;
    job->runner[ith] = pthread_self();
    if (ith == job->slow_part) {
        struct timespec ts = {0, 20000}; /* 20 µs */
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&job->runs[ith], 1);
}

static void check_pool(int threads, long n_jobs) {
    Pool *pool = pool_create(threads);
    long bad = 0, stolen = 0;
    for (long j = 0; j < n_jobs; j++) {
        Job job = {.job = j, .slow_part = j % 3 == 0 ? (int)(j / 3 % (unsigned)threads) : -1};
        for (int i = 0; i < MAX_PARTS; i++) atomic_init(&job.runs[i], 0);
        pool_run(pool, part, &job);
        /* after pool_run returns every part has run once, and none runs again later */
        for (int i = 0; i < threads; i++) bad += atomic_load(&job.runs[i]) != 1;
        bad += job.nth_seen != threads;
        for (int i = 1; i < threads; i++) stolen += pthread_equal(job.runner[i], pthread_self());
        if (j % 1000 == 999) { /* let the workers fall asleep now and then */
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
        }
    }
    pool_free(pool);
    if (bad) printf("    %d threads: %ld wrong part counts in %ld jobs\n", threads, bad, n_jobs);
    EXPECT(bad == 0);
    printf("    %d threads: the caller ran %ld of the workers' %ld parts\n", threads, stolen, n_jobs * (threads - 1));
}

static void test_every_part_runs_once(void) {
    check_pool(2, 20000);
    check_pool(3, 10000);
    check_pool(MAX_PARTS, 3000);
}

/* pool_for splits [0, n) into the same ranges whatever runs them: each index written once. */
typedef struct {
    int *hits;
} ForCtx;

static void mark(void *ctx, size_t lo, size_t hi) {
    ForCtx *c = ctx;
    for (size_t i = lo; i < hi; i++) c->hits[i]++;
}

static void test_pool_for_covers_each_index_once(void) {
    Pool *pool = pool_create(3);
    int hits[1001];
    for (size_t n = 0; n <= 1000; n += 37) {
        memset(hits, 0, sizeof hits);
        ForCtx c = {hits};
        pool_for(pool, n, mark, &c);
        for (size_t i = 0; i < n; i++) EXPECT(hits[i] == 1);
    }
    pool_free(pool);
}

int main(void) {
    RUN(test_every_part_runs_once);
    RUN(test_pool_for_covers_each_index_once);
    return harness_finish();
}
