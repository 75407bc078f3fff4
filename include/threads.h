/* threads.h — a persistent pool of worker threads; the only user of <pthread.h>.
 *
 * pool_run(pool, fn, ctx) calls fn(ctx, ith, nth) once for every part ith in [0, nth), on
 * whichever thread claims it first (the caller included), and returns when all calls have
 * returned. Kernels use (ith, nth) to pick the outputs they own (split_range in common.h); they
 * never split a sum, so results are bitwise identical for any thread count. Threads are created
 * once, spin briefly between jobs so that back-to-back kernels start in microseconds, then sleep
 * on a condition variable. After a worker has kept the caller waiting a scheduler time slice
 * (another program had its core), the caller runs jobs alone for a while, so a busy machine never
 * makes more threads much slower than one.
 */
#ifndef MINGPT_THREADS_H
#define MINGPT_THREADS_H

#include <stddef.h>

typedef void (*pool_fn)(void *ctx, int ith, int nth);
typedef struct Pool Pool;

/* Creates a pool of n_threads (including the caller); n_threads <= 0 means one per online CPU.
 * Free with pool_free. */
Pool *pool_create(int n_threads);
void pool_free(Pool *pool);
int pool_size(const Pool *pool);
/* Calls fn(ctx, ith, nth) for every part ith in [0, nth), nth = pool_size, spread over the
 * threads; returns when all have returned. Not reentrant (fn must not call pool_run on the same
 * pool). fn must depend on ith, never on which thread runs it. */
void pool_run(Pool *pool, pool_fn fn, void *ctx);
/* Calls fn(ctx, lo, hi) on every thread for its share [lo, hi) of [0, n) (split_range). For
 * kernels whose outputs are independent rows or columns. */
typedef void (*pool_range_fn)(void *ctx, size_t lo, size_t hi);
void pool_for(Pool *pool, size_t n, pool_range_fn fn, void *ctx);

/* A 64-byte aligned scratch buffer of at least `bytes`, owned by the pool and reused: it only
 * grows, so after the first training step no call allocates. For kernels' per-thread workspaces;
 * call it before pool_run, never from inside a job. */
void *pool_workspace(Pool *pool, size_t bytes);
/* Number of CPUs the process may use, at least 1. */
int cpu_count(void);

#endif
