/* bench.c — `make bench`: how fast mingpt trains on this machine, and how close to the CPU's peak.
 *
 * Prints the FMA peak (a short loop of independent vector FMAs), the GEMM's GFLOP/s on every
 * Linear shape of gpt-mini at batch 64 x block 128 beside the scalar reference, the median time
 * of a training step (gpt-mini, batch 64, block 128, dropout 0.1; a nanoGPT-sized model, 4 layers
 * of 128 at batch 12 x block 64; the adder's gpt-nano at batch 64, ndigit 2) on 1 and on all threads, the adder's step with a CPU-bound process beside it, and
 * the elementwise and row kernels in GB/s, GPT-2 124M's prompt and decoding beside the bandwidth
 * of reading its weights, and the peak resident memory (`--kernels [name [reps]]`
 * runs the kernel lines alone, or one kernel on 1 thread, for `perf stat`). A benchmark, not a test:
 * it asserts nothing, and every figure is measured in this same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "decode.h"
#include "matmul.h"
#include "model.h"
#include "ops.h"
#include "rng.h"
#include "sample.h"
#include "threads.h"
#include "trainer.h"

/* The vector ISA the compiler was allowed to use for this build. */
#if defined(__AVX512F__)
#define BUILT_FOR "AVX-512 (with AVX2 and FMA)"
#elif defined(__AVX2__) && defined(__FMA__)
#define BUILT_FOR "AVX2 and FMA, no AVX-512"
#elif defined(__AVX__)
#define BUILT_FOR "AVX, no FMA"
#elif defined(__aarch64__)
#define BUILT_FOR "ARM64 NEON"
#else
#define BUILT_FOR "baseline SIMD only (SSE2 on x86-64)"
#endif


static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *x, int n) {
    qsort(x, (size_t)n, sizeof(double), cmp_double);
    return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

/* ---------------------------------------------------------------- FMA peak */

typedef float v8 __attribute__((vector_size(32)));
#define FMA_CHAINS 12
#define FMA_ITERS 20000000L

typedef struct {
    double flops;
    float sink;
} PeakJob;

static void fma_worker(void *ctx, int ith, int nth) {
    PeakJob *job = ctx;
    (void)nth;
    v8 acc[FMA_CHAINS], a = {1.0f, 1, 1, 1, 1, 1, 1, 1}, b = {0.999999f, 0.999999f, 0.999999f, 0.999999f,
                                                               0.999999f, 0.999999f, 0.999999f, 0.999999f};
    for (int c = 0; c < FMA_CHAINS; c++) acc[c] = a * (float)(c + ith);
    for (long i = 0; i < FMA_ITERS / FMA_CHAINS; i++)
        for (int c = 0; c < FMA_CHAINS; c++) acc[c] = acc[c] * b + a;
    float s = 0.0f;
    for (int c = 0; c < FMA_CHAINS; c++)
        for (int k = 0; k < 8; k++) s += acc[c][k];
    if (ith == 0) job->sink = s;
}

static double fma_peak(Pool *pool) {
    PeakJob job = {0};
    double best = 1e30, start = now_seconds();
    /* The first warms up the clocks; the best of the rest. A rep takes about 3 ms, and a stalled
     * first wake-up of a new pool's workers makes the pool work alone for 20 ms (threads.c), which
     * four reps fitted inside: the peak of 2 threads then read as 1's in half the runs. So reps
     * go on for 0.2 s. */
    for (int rep = 0; rep < 4 || now_seconds() - start < 0.2; rep++) {
        double t = now_seconds();
        pool_run(pool, fma_worker, &job);
        t = now_seconds() - t;
        if (rep > 0 && t < best) best = t;
    }
    double flops = 2.0 * 8 * (double)(FMA_ITERS / FMA_CHAINS) * FMA_CHAINS * pool_size(pool);
    if (job.sink == 12345.0f) printf(" ");
    return flops / best / 1e9;
}

/* ---------------------------------------------------------------- GEMM shapes */

typedef enum { FWD, BWD_INPUT, BWD_WEIGHT } Product;

static double time_product(Pool *pool, Product p, size_t N, size_t C, size_t OC, float *inp,
                           float *w, float *b, float *out, float *dinp, float *dw, int ref) {
    double best = 1e30;
    for (int rep = 0; rep < (ref ? 1 : 20); rep++) { /* best of 20: calls take 0.5-12 ms */
        double t = now_seconds();
        if (p == FWD) ref ? linear_forward_ref(out, inp, w, b, N, C, OC) : linear_forward(pool, out, inp, w, b, N, C, OC);
        if (p == BWD_INPUT)
            ref ? linear_backward_ref(dinp, NULL, NULL, out, inp, w, N, C, OC)
                : linear_backward(pool, dinp, 1, NULL, NULL, out, inp, w, N, C, OC);
        if (p == BWD_WEIGHT)
            ref ? linear_backward_ref(NULL, dw, NULL, out, inp, w, N, C, OC)
                : linear_backward(pool, NULL, 1, dw, NULL, out, inp, w, N, C, OC);
        t = now_seconds() - t;
        if (t < best) best = t;
    }
    return 2.0 * (double)N * C * OC / best / 1e9;
}

static void bench_gemm(Pool *pool) {
    const size_t N = 64 * 128, REF_N = 256; /* the reference runs on fewer rows, then scales */
    const struct {
        const char *name;
        size_t C, OC;
    } shapes[] = {{"c_attn", 192, 576}, {"attn.c_proj", 192, 192}, {"mlp.c_fc", 192, 768},
                  {"mlp.c_proj", 768, 192}, {"lm_head", 192, 65}};
    printf("\nGEMM, gpt-mini shapes at B*T = %zu rows, GFLOP/s (%d threads; scalar reference on 1 thread)\n",
           N, pool_size(pool));
    printf("  %-12s %-16s %9s %9s %9s %9s\n", "layer", "(N x C)·(C x OC)", "forward", "d input", "d weight", "reference");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        size_t C = shapes[s].C, OC = shapes[s].OC;
        float *inp = xmalloc_aligned(N * C * 4), *w = xmalloc_aligned(OC * C * 4), *b = xmalloc_aligned(OC * 4);
        float *out = xmalloc_aligned(N * OC * 4), *dinp = xmalloc_aligned(N * C * 4), *dw = xmalloc_aligned(OC * C * 4);
        for (size_t i = 0; i < N * C; i++) inp[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
        for (size_t i = 0; i < OC * C; i++) w[i] = (float)((i * 53) % 97) / 97.0f - 0.5f;
        for (size_t i = 0; i < OC; i++) b[i] = 0.1f;
        memset(dinp, 0, N * C * 4);
        memset(dw, 0, OC * C * 4);
        double f = time_product(pool, FWD, N, C, OC, inp, w, b, out, dinp, dw, 0);
        double di = time_product(pool, BWD_INPUT, N, C, OC, inp, w, b, out, dinp, dw, 0);
        double dwt = time_product(pool, BWD_WEIGHT, N, C, OC, inp, w, b, out, dinp, dw, 0);
        double ref = time_product(pool, FWD, REF_N, C, OC, inp, w, b, out, dinp, dw, 1);
        char shape[32];
        snprintf(shape, sizeof shape, "(%zux%zu)·(%zux%zu)", N, C, C, OC);
        printf("  %-12s %-16s %9.1f %9.1f %9.1f %9.2f\n", shapes[s].name, shape, f, di, dwt, ref);
        free(inp), free(w), free(b), free(out), free(dinp), free(dw);
    }
}

/* ---------------------------------------------------------------- elementwise and row kernels */

/* The kernels besides the GEMM and attention's products, each on its buffers of a gpt-mini step
 * (batch 64 x block 128, n_embd 192, 6 heads, 65 characters), in GB/s of the bytes each must
 * read and write (best of `reps` calls). Most buffers are larger than the caches, so these are
 * also a measure of memory bandwidth. */
typedef enum { K_GELU_FWD, K_GELU_BWD, K_SOFTMAX, K_LN_FWD, K_LN_BWD, K_RESIDUAL, K_CE_FWD, K_CE_BWD, K_ADAMW, K_COUNT } Kernel;

static const struct {
    const char *name, *shape;
} kernel_info[K_COUNT] = {
    {"gelu_fwd", "(8192x768)"},
    {"gelu_bwd", "(8192x768)"},
    {"softmax", "(24576x128)"},
    {"layernorm_fwd", "(8192x192)"},
    {"layernorm_bwd", "(8192x192)"},
    {"residual_dropout", "(8192x192)"},
    {"crossentropy_fwd", "(8192x65)"},
    {"crossentropy_bwd", "(8192x65)"},
    {"adamw+norm", "gpt-mini params"},
};

typedef struct {
    size_t N, C, V, rows, T;
    float *a, *b, *c, *d, *mean, *rstd, *w, *bias, *dw, *dbias;
    int *targets;
    Pool *pool1;
    GPT *model[2]; /* on 1 thread, on all: the optimizer runs on the model's pool */
    Trainer tr[2];
} KernelBufs;

static void fill(float *x, size_t n, float lo, float hi, uint64_t seed) {
    Rng rng;
    rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) x[i] = lo + (hi - lo) * rng_uniform(&rng);
}

static void kernel_bufs_init(KernelBufs *k, Pool *pool1, Pool *pool) {
    k->N = 64 * 128, k->C = 192, k->V = 65, k->T = 128, k->rows = 64 * 6 * 128 / 2;
    size_t big = k->N * 4 * k->C; /* the largest buffer: the MLP's hidden activations */
    if (k->rows * k->T > big) big = k->rows * k->T;
    k->a = xmalloc_aligned(big * 4), k->b = xmalloc_aligned(big * 4), k->c = xmalloc_aligned(big * 4);
    k->d = xmalloc_aligned(big * 4);
    fill(k->a, big, -4.0f, 4.0f, 1);
    fill(k->b, big, -1.0f, 1.0f, 2);
    fill(k->c, big, -1.0f, 1.0f, 3);
    k->mean = xmalloc_aligned(k->N * 4), k->rstd = xmalloc_aligned(k->N * 4);
    k->w = xmalloc_aligned(k->C * 4), k->bias = xmalloc_aligned(k->C * 4);
    k->dw = xmalloc_aligned(k->C * 4), k->dbias = xmalloc_aligned(k->C * 4);
    fill(k->w, k->C, 0.5f, 1.5f, 4);
    fill(k->bias, k->C, -0.1f, 0.1f, 5);
    memset(k->dw, 0, k->C * 4), memset(k->dbias, 0, k->C * 4);
    layernorm_forward(pool, k->d, k->mean, k->rstd, k->a, k->w, k->bias, k->N, k->C);
    k->targets = xmalloc(k->N * sizeof(int));
    for (size_t i = 0; i < k->N; i++) k->targets[i] = (int)(i * 7 % k->V);
    GPTConfig mini = {6, 6, 192, 65, 128, 0.1f, 0.1f, 0.1f};
    TrainConfig tc = train_config_default();
    k->pool1 = pool1;
    for (int m = 0; m < 2; m++) {
        k->model[m] = gpt_create(&mini, m ? pool : pool1);
        gpt_init(k->model[m], 1);
        fill(k->model[m]->grad_mem, k->model[m]->params.numel, -1e-3f, 1e-3f, 6);
        trainer_init(&k->tr[m], k->model[m], &tc);
    }
}

static void kernel_bufs_free(KernelBufs *k) {
    free(k->a), free(k->b), free(k->c), free(k->d), free(k->mean), free(k->rstd);
    free(k->w), free(k->bias), free(k->dw), free(k->dbias), free(k->targets);
    for (int m = 0; m < 2; m++) {
        trainer_free(&k->tr[m]);
        gpt_free(k->model[m]);
    }
}

/* One call of kernel `id`; returns the bytes it must move. */
static double run_kernel(Pool *pool, KernelBufs *k, Kernel id) {
    size_t N = k->N, C = k->C, V = k->V, H = 4 * C, count;
    switch (id) {
    case K_GELU_FWD: gelu_forward(pool, k->b, k->a, N * H); return 8.0 * N * H;
    case K_GELU_BWD: gelu_backward(pool, k->d, k->c, k->a, k->b, N * H); return 16.0 * N * H;
    case K_SOFTMAX: /* in place: the rows of the previous call are as good an input as any */
        softmax_forward(pool, k->b, k->rows, k->T, 0.125f);
        return 8.0 * k->rows * k->T;
    case K_LN_FWD:
        layernorm_forward(pool, k->b, k->mean, k->rstd, k->a, k->w, k->bias, N, C);
        return 8.0 * N * C;
    case K_LN_BWD:
        layernorm_backward(pool, k->d, k->dw, k->dbias, k->c, k->a, k->w, k->mean, k->rstd, N, C);
        return 16.0 * N * C;
    case K_RESIDUAL: residual_dropout_forward(pool, k->d, k->b, k->c, N * C, 0.1f, 17); return 12.0 * N * C;
    case K_CE_FWD: crossentropy_forward(pool, k->b, k->a, k->targets, N, V, &count); return 8.0 * N * V;
    case K_CE_BWD: crossentropy_backward(pool, k->d, k->b, k->targets, N, V, N); return 8.0 * N * V;
    case K_ADAMW: /* the gradient norm reads g; AdamW reads g and p, m, v and writes p, m, v */
        trainer_update(&k->tr[pool != k->pool1], k->model[pool != k->pool1]);
        return 32.0 * k->model[0]->params.numel;
    default: return 0.0;
    }
}

/* CPU time of the calling thread: on one thread the kernel runs on the caller, and this clock
 * stops while another program has the core, so the 1-thread figures hold on a shared machine. */
static double thread_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* GB/s of the best of `reps` calls, timed by the caller's CPU time (pool of 1) or the wall clock */
static double time_kernel(Pool *pool, KernelBufs *k, Kernel id, int reps) {
    int cpu = pool_size(pool) == 1;
    double best = 1e30, bytes = 0.0;
    for (int r = 0; r < reps; r++) {
        double t = cpu ? thread_seconds() : now_seconds();
        bytes = run_kernel(pool, k, id);
        t = (cpu ? thread_seconds() : now_seconds()) - t;
        if (t < best) best = t;
    }
    return bytes / best / 1e9;
}

/* `only` >= 0: that kernel alone on pool1, `reps` calls and no output but one line (for perf stat). */
static void bench_kernels(Pool *pool1, Pool *pool_all, int only, int reps) {
    KernelBufs k;
    kernel_bufs_init(&k, pool1, pool_all);
    if (only >= 0) {
        double gbs = time_kernel(pool1, &k, (Kernel)only, reps);
        printf("%-17s %-16s %7.1f GB/s on 1 thread (CPU time), best of %d\n", kernel_info[only].name, kernel_info[only].shape,
               gbs, reps);
        kernel_bufs_free(&k);
        return;
    }
    printf("\nelementwise and row kernels, gpt-mini shapes, GB/s read+written (best of %d; 1 thread by its CPU time)\n",
           reps);
    printf("  %-17s %-16s %9s %9s\n", "kernel", "shape", "1 thread", pool_size(pool_all) > 1 ? "all" : "");
    for (int id = 0; id < K_COUNT; id++) {
        double one = time_kernel(pool1, &k, (Kernel)id, reps), all = time_kernel(pool_all, &k, (Kernel)id, reps);
        printf("  %-17s %-16s %9.1f %9.1f\n", kernel_info[id].name, kernel_info[id].shape, one, all);
    }
    kernel_bufs_free(&k);
}

/* ---------------------------------------------------------------- training steps */

typedef struct {
    double ms, tokens_per_s, gflops;
} StepResult;

/* The median step time, or with `mean` the mean (which counts the rare slow steps a busy machine
 * causes, as a run's total time does). */
static StepResult bench_step(Pool *pool, const GPTConfig *c, int B, int T, int steps, double flops_per_token,
                             int mean) {
    GPT *m = gpt_create(c, pool);
    gpt_init(m, 1);
    int *idx = xmalloc((size_t)B * T * sizeof(int)), *targets = xmalloc((size_t)B * T * sizeof(int));
    Rng rng;
    rng_seed(&rng, 7);
    for (int i = 0; i < B * T; i++) {
        idx[i] = (int)rng_below(&rng, (uint64_t)c->vocab_size);
        targets[i] = (int)rng_below(&rng, (uint64_t)c->vocab_size);
    }
    TrainConfig tc = train_config_default();
    Trainer tr;
    trainer_init(&tr, m, &tc);
    for (int s = 0; s < 3; s++) trainer_step(&tr, m, idx, targets, B, T); /* warm-up */
    double *times = xmalloc((size_t)steps * sizeof(double));
    for (int s = 0; s < steps; s++) {
        double t = now_seconds();
        trainer_step(&tr, m, idx, targets, B, T);
        times[s] = now_seconds() - t;
    }
    double sec = 0.0;
    if (mean) {
        for (int i = 0; i < steps; i++) sec += times[i] / steps;
    } else {
        sec = median(times, steps);
    }
    StepResult r = {sec * 1e3, B * T / sec, flops_per_token * B * T / sec / 1e9};
    free(times);
    free(idx);
    free(targets);
    trainer_free(&tr);
    gpt_free(m);
    return r;
}

static void bench_model(const char *name, const GPTConfig *c, int B, int T, int steps, Pool *pool1,
                        Pool *pool_all, double peak_all) {
    double fpt = gpt_train_flops_per_token(c, T);
    printf("\n%s: batch %d x block %d, dropout %.1f, %.2f MFLOP per token, median of %d steps\n", name, B, T,
           c->attn_pdrop, fpt / 1e6, steps);
    StepResult one = bench_step(pool1, c, B, T, steps, fpt, 0);
    StepResult all = bench_step(pool_all, c, B, T, steps, fpt, 0);
    printf("  %d thread : %8.2f ms/iter %9.0f tokens/s %6.1f GFLOP/s\n", 1, one.ms, one.tokens_per_s, one.gflops);
    printf("  %d threads: %8.2f ms/iter %9.0f tokens/s %6.1f GFLOP/s = %.0f%% of the FMA peak; %.2fx 1 thread\n",
           pool_size(pool_all), all.ms, all.tokens_per_s, all.gflops, 100.0 * all.gflops / peak_all,
           one.ms / all.ms);
}

/* A machine that another program keeps busy: one CPU-bound child process runs beside the adder's
 * steps. More threads must not make it slower than one (the pool then works alone). */
static void bench_busy(Pool *pool1, Pool *pool_all) {
    GPTConfig nano = {3, 3, 48, 10, 6, 0.1f, 0.1f, 0.1f};
    double fpt = gpt_train_flops_per_token(&nano, 6);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        for (volatile unsigned long spin = 0;; spin++) {
        }
    }
    CHECK(child > 0);
    StepResult one = bench_step(pool1, &nano, 64, 6, 1000, fpt, 1);
    StepResult all = bench_step(pool_all, &nano, 64, 6, 1000, fpt, 1);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("\nbusy machine (one CPU-bound process beside it), adder step, mean of 1000:\n");
    printf("  1 thread : %8.2f ms/iter\n  %d threads: %8.2f ms/iter = %.2fx 1 thread\n", one.ms, pool_size(pool_all),
           all.ms, one.ms / all.ms);
}

/* ---------------------------------------------------------------- generation */

static void bench_generate(Pool *pool) {
    GPTConfig c = {6, 6, 192, 65, 128, 0.1f, 0.1f, 0.1f};
    GPT *m = gpt_create(&c, pool);
    gpt_init(m, 1);
    const size_t n_new = 2000;
    int *tokens = xmalloc((n_new + 1) * sizeof(int));
    SampleConfig sc = {1.0f, 10, 1.0f, 0}; /* chargpt's top-k 10 */
    printf("\ngeneration, gpt-mini (block 128), batch 1, top-k 10, %zu new characters, %d threads\n", n_new,
           pool_size(pool));
    for (int mode = 0; mode < 2; mode++) {
        Rng rng;
        rng_seed(&rng, 3);
        tokens[0] = 0;
        double t = now_seconds();
        generate(m, tokens, 1, n_new, &sc, mode ? GEN_EXACT : GEN_SLIDING, &rng, NULL, NULL);
        t = now_seconds() - t;
        printf("  %-8s %8.0f characters/s\n", mode ? "--exact" : "default", n_new / t);
    }
    /* one cached step at a given position, as in generation: the cache filled to a few positions
     * before it, untimed steps up to it (a step follows steps, not a long batched forward that
     * has pushed the weights out of cache), then the timed step */
    int prompt[128] = {0}, next = 1;
    printf("  time per token with the cache:");
    const int positions[3] = {1, 64, 127};
    for (int k = 0; k < 3; k++) {
        double best = 1e30;
        int start = positions[k] > 3 ? positions[k] - 3 : positions[k];
        for (int rep = 0; rep < 20; rep++) {
            gpt_cache_start(m, prompt, 1, start);
            for (int p = start; p < positions[k]; p++) gpt_cache_step(m, &next);
            double t = now_seconds();
            gpt_cache_step(m, &next);
            t = now_seconds() - t;
            if (t < best) best = t;
        }
        printf(" %.3f ms at position %d%s", best * 1e3, positions[k], k < 2 ? "," : "\n");
    }
    free(tokens);
    gpt_free(m);
}

/* ---------------------------------------------------------------- GPT-2 124M inference */

typedef struct {
    const float *x;
    size_t n;
    double sums[64];
} ReadJob;

/* Sums a share of x (8 independent accumulators, so the loads are the limit, not the adds). */
static void read_worker(void *ctx, int ith, int nth) {
    ReadJob *job = ctx;
    size_t lo = job->n * (size_t)ith / (size_t)nth, hi = job->n * (size_t)(ith + 1) / (size_t)nth;
    float acc[16] = {0};
    size_t i = lo;
    for (; i + 16 <= hi; i += 16)
        for (int k = 0; k < 16; k++) acc[k] += job->x[i + k];
    for (; i < hi; i++) acc[0] += job->x[i];
    double s = 0;
    for (int k = 0; k < 16; k++) s += acc[k];
    job->sums[ith % 64] = s;
}

/* GB/s of reading x (n floats) once with every thread of the pool: the best of 5. */
static double read_bandwidth(Pool *pool, const float *x, size_t n) {
    ReadJob job = {x, n, {0}};
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t = now_seconds();
        pool_run(pool, read_worker, &job);
        t = now_seconds() - t;
        if (t < best) best = t;
    }
    if (job.sums[0] == 12345.0) printf(" ");
    return (double)n * sizeof(float) / best / 1e9;
}

/* An inference model of GPT-2 124M's shape (tied wte/lm_head, as OpenAI's file), random weights:
 * a 64-token prompt through the cache, then 128 greedy tokens. Decoding reads every weight once a
 * token, so it is set beside the bandwidth of reading those same weights. */
static void bench_gpt2(Pool *pool, double peak) {
    GPTConfig c = {12, 12, 768, 50257, 1024, 0.0f, 0.0f, 0.0f};
    GPT *m = gpt_create_inference(&c, pool, 1);
    size_t most = 0;
    for (int i = 0; i < m->params.n; i++) most = MG_MAX(most, m->params.t[i].numel);
    float *rows = xmalloc(most * sizeof(float));
    Rng rng;
    rng_seed(&rng, 124);
    for (int i = 0; i < m->params.n - 1; i++) { /* the last, lm_head, is wte (tied) */
        const Tensor *t = &m->params.t[i];
        for (size_t j = 0; j < t->numel; j++) rows[j] = 0.02f * rng_normal(&rng);
        gpt_load_rows(m, i, (const unsigned char *)rows, 0, (size_t)gpt_param_rows(m, i, 0), 0);
    }
    gpt_weights_changed(m);
    free(rows);
    size_t weight_bytes = m->params.numel * sizeof(float);
    enum { PROMPT = 64, NEW = 128, ROUND = 16, ROUNDS = 2 * NEW / ROUND };
    int prompt[PROMPT];
    for (int i = 0; i < PROMPT; i++) prompt[i] = (int)rng_below(&rng, 50257);
    /* This machine's memory bandwidth drifts by 2x from one second to the next, so the weights'
     * read speed is measured just before each round of 16 tokens and each round gets its own ratio;
     * the median round is reported. */
    double t_prompt = 1e30, ratio[ROUNDS], rate[ROUNDS], bw[ROUNDS];
    int r = 0;
    for (int rep = 0; rep < 2; rep++) {
        double t = now_seconds();
        const float *logits = gpt_cache_start(m, prompt, 1, PROMPT);
        t_prompt = MG_MIN(t_prompt, now_seconds() - t);
        for (int k0 = 0; k0 < NEW; k0 += ROUND, r++) {
            bw[r] = read_bandwidth(pool, m->param_mem, m->params.numel);
            t = now_seconds();
            for (int k = 0; k < ROUND; k++) {
                int next = 0;
                for (int v = 1; v < c.vocab_size; v++)
                    if (logits[v] > logits[next]) next = v;
                logits = gpt_cache_step(m, &next);
            }
            rate[r] = ROUND / (now_seconds() - t);
            ratio[r] = rate[r] / (bw[r] * 1e9 / (double)weight_bytes);
        }
    }
    /* the prompt's FLOPs: 2 per weight per token (lm_head for the last position only) and attention */
    double lm_head = (double)c.vocab_size * c.n_embd;
    double flops = 2.0 * ((double)gpt_count_params(&c) - 2 * lm_head - (double)c.block_size * c.n_embd) * PROMPT +
                   2.0 * lm_head + 2.0 * c.n_layer * (double)PROMPT * PROMPT * c.n_embd;
    printf("\nGPT-2 124M shape (random weights, inference model, tied lm_head), %d threads:\n", pool_size(pool));
    printf("  prompt of %d tokens (best of 2): %.1f ms, %.1f GFLOP/s = %.0f%% of the FMA peak\n", PROMPT,
           t_prompt * 1e3, flops / t_prompt / 1e9, 100.0 * flops / t_prompt / 1e9 / peak);
    printf("  %d new tokens (greedy), twice, in rounds of %d: median %.1f tokens/s; reading the %.0f MB of weights\n"
           "  just before each round: median %.1f GB/s; median round %.0f%% of the bound that reading sets\n",
           NEW, ROUND, median(rate, ROUNDS), weight_bytes / 1e6, median(bw, ROUNDS), 100.0 * median(ratio, ROUNDS));
    gpt_free(m);
}

int main(int argc, char **argv) {
    /* --quick: fewer gpt-mini steps and no GEMM table; --gemm, --train, --generate, --busy: only that
     * part */
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    int train_only = argc > 1 && strcmp(argv[1], "--train") == 0;
    int gemm_only = argc > 1 && strcmp(argv[1], "--gemm") == 0;
    Pool *pool1 = pool_create(1), *pool_all = pool_create(0);
    if (argc > 1 && strcmp(argv[1], "--kernels") == 0) { /* [name [reps]]: one kernel, for perf stat */
        int only = -1, reps = argc > 3 ? atoi(argv[3]) : 10;
        for (int id = 0; argc > 2 && id < K_COUNT; id++)
            if (strcmp(argv[2], kernel_info[id].name) == 0) only = id;
        if (argc > 2 && only < 0) die(2, "bench: no kernel named %s", argv[2]);
        printf("built for %s\n", BUILT_FOR);
        bench_kernels(pool1, pool_all, only, reps);
        return 0;
    }
    double peak1 = fma_peak(pool1), peak_all = fma_peak(pool_all);
    printf("built for %s\n", BUILT_FOR);
    printf("FMA peak: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads\n", peak1, peak_all, pool_size(pool_all));
    if (argc > 1 && strcmp(argv[1], "--generate") == 0) {
        bench_generate(pool_all);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--gpt2") == 0) {
        bench_gpt2(pool_all, peak_all);
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--busy") == 0) {
        bench_busy(pool1, pool_all);
        return 0;
    }
    if (!quick && !train_only) bench_gemm(pool_all);
    if (gemm_only) return 0;
    if (!train_only) bench_kernels(pool1, pool_all, -1, 10);
    /* --train [mini|small|adder]: the training lines, or one of them */
    const char *only = train_only && argc > 2 ? argv[2] : NULL;
    if (only && strcmp(only, "mini") && strcmp(only, "small") && strcmp(only, "adder"))
        die(2, "bench: --train takes mini, small or adder, not %s", only);
    GPTConfig mini = {6, 6, 192, 65, 128, 0.1f, 0.1f, 0.1f};
    if (!only || !strcmp(only, "mini"))
        bench_model("gpt-mini (chargpt)", &mini, 64, 128, quick ? 3 : 10, pool1, pool_all, peak_all);
    /* nanoGPT's small character model (n_layer 4, n_head 4, n_embd 128, block 64, batch 12) */
    GPTConfig small = {4, 4, 128, 65, 64, 0.1f, 0.1f, 0.1f};
    if (!only || !strcmp(only, "small"))
        bench_model("nanoGPT-sized (4 layers, n_embd 128)", &small, 12, 64, 50, pool1, pool_all, peak_all);
    GPTConfig nano = {3, 3, 48, 10, 6, 0.1f, 0.1f, 0.1f};
    if (!only || !strcmp(only, "adder"))
        bench_model("gpt-nano (adder, ndigit 2)", &nano, 64, 6, 200, pool1, pool_all, peak_all);
    if (train_only) return 0;
    bench_generate(pool_all);
    bench_gpt2(pool_all, peak_all);
    bench_busy(pool1, pool_all);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\npeak resident memory: %.0f MiB\n", ru.ru_maxrss / 1024.0);
    pool_free(pool1);
    pool_free(pool_all);
    return 0;
}
