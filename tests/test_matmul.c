/* test_matmul.c — the packed GEMM against plain loops, on odd shapes, and its thread invariance. */
#include "harness.h"
#include "common.h"
#include "matmul.h"
#include "threads.h"

static Pool *pool1, *pool2, *pool3;

/* (N, C, OC) — odd and distinct, some larger than one cache block (KC 256, MC 120, NC 512). */
static const size_t SHAPES[][3] = {
    {1, 1, 1}, {3, 17, 65}, {65, 191, 3}, {17, 3, 191}, {7, 1, 13},
    {130, 64, 96}, {191, 300, 17}, {600, 33, 530}, {61, 260, 70},
};
#define N_SHAPES (sizeof SHAPES / sizeof SHAPES[0])

static void test_linear_forward_matches_loops(void) {
    for (size_t s = 0; s < N_SHAPES; s++) {
        size_t N = SHAPES[s][0], C = SHAPES[s][1], OC = SHAPES[s][2];
        float *inp = xmalloc(N * C * 4), *w = xmalloc(OC * C * 4), *b = xmalloc(OC * 4);
        float *out = xmalloc(N * OC * 4), *ref = xmalloc(N * OC * 4);
        fill_uniform(inp, N * C, 1, 1.0f);
        fill_uniform(w, OC * C, 2, 1.0f);
        fill_uniform(b, OC, 3, 1.0f);
        for (int with_bias = 0; with_bias < 2; with_bias++) {
            fill_uniform(out, N * OC, 9, 100.0f); /* forward must overwrite, not add */
            linear_forward(pool2, out, inp, w, with_bias ? b : NULL, N, C, OC);
            linear_forward_ref(ref, inp, w, with_bias ? b : NULL, N, C, OC);
            char what[64];
            snprintf(what, sizeof what, "out N=%zu C=%zu OC=%zu bias=%d", N, C, OC, with_bias);
            expect_close(what, out, ref, N * OC, 1e-5 * C, 1e-5);
        }
        free(inp), free(w), free(b), free(out), free(ref);
    }
}

static void test_packed_weights_give_the_same_bits(void) {
    /* inference packs each weight once (linear_pack_weight): the product must not change a bit */
    Pool *pools[3] = {pool1, pool2, pool3};
    for (size_t s = 0; s < N_SHAPES; s++) {
        size_t N = SHAPES[s][0], C = SHAPES[s][1], OC = SHAPES[s][2];
        float *inp = xmalloc(N * C * 4), *w = xmalloc(OC * C * 4), *b = xmalloc(OC * 4);
        float *out = xmalloc(N * OC * 4), *ref = xmalloc(N * OC * 4);
        float *packed = xmalloc_aligned(linear_packed_floats(C, OC) * 4);
        fill_uniform(inp, N * C, 4, 1.0f);
        fill_uniform(w, OC * C, 5, 1.0f);
        fill_uniform(b, OC, 6, 1.0f);
        for (int p = 0; p < 3; p++) {
            linear_pack_weight(pools[p], packed, w, C, OC);
            linear_forward(pools[p], ref, inp, w, b, N, C, OC);
            fill_uniform(out, N * OC, 9, 100.0f);
            linear_forward_packed(pools[p], out, inp, packed, b, N, C, OC);
            char what[64];
            snprintf(what, sizeof what, "N=%zu C=%zu OC=%zu, %d thread(s)", N, C, OC, p + 1);
            EXPECT(expect_same_bits(what, out, ref, N * OC));
        }
        free(inp), free(w), free(b), free(out), free(ref), free(packed);
    }
}

static void test_packing_piece_by_piece_and_one_row_products(void) {
    /* a file's weight packed a few rows at a time, as the loaders do (its own rows, or a Conv1D's
     * rows of the transpose), is linear_pack_weight's; and one row from the packed weight
     * (linear_forward_vec, decoding's step) has the GEMM's bits */
    Pool *pools[3] = {pool1, pool2, pool3};
    for (size_t s = 0; s < N_SHAPES; s++) {
        size_t C = SHAPES[s][1], OC = SHAPES[s][2], n = linear_packed_floats(C, OC);
        float *w = xmalloc(OC * C * 4), *wt = xmalloc(OC * C * 4), *inp = xmalloc(C * 4), *b = xmalloc(OC * 4);
        float *want = xmalloc_aligned(n * 4), *got = xmalloc_aligned(n * 4);
        float *out = xmalloc(OC * 4), *ref = xmalloc(OC * 4);
        fill_uniform(w, OC * C, 7, 1.0f);
        fill_uniform(inp, C, 8, 1.0f);
        fill_uniform(b, OC, 9, 1.0f);
        for (size_t o = 0; o < OC; o++)
            for (size_t k = 0; k < C; k++) wt[k * OC + o] = w[o * C + k];
        linear_pack_weight(pool2, want, w, C, OC);
        for (int transposed = 0; transposed < 2; transposed++) {
            fill_uniform(got, n, 10, 100.0f); /* the padding must be written, not assumed zero */
            size_t rows = transposed ? C : OC, row = transposed ? OC : C, step = 1 + s % 5;
            for (size_t r0 = 0; r0 < rows; r0 += step) {
                size_t r1 = MG_MIN(rows, r0 + step);
                linear_pack_rows(got, (const unsigned char *)((transposed ? wt : w) + r0 * row), r0, r1, transposed,
                                 C, OC);
            }
            char what[64];
            snprintf(what, sizeof what, "packed C=%zu OC=%zu transposed=%d", C, OC, transposed);
            EXPECT(expect_same_bits(what, got, want, n));
        }
        for (int p = 0; p < 3; p++)
            for (int with_bias = 0; with_bias < 2; with_bias++) {
                linear_forward(pools[p], ref, inp, w, with_bias ? b : NULL, 1, C, OC);
                fill_uniform(out, OC, 11, 100.0f);
                linear_forward_vec(pools[p], out, inp, want, with_bias ? b : NULL, C, OC);
                char what[80];
                snprintf(what, sizeof what, "one row C=%zu OC=%zu bias=%d, %d thread(s)", C, OC, with_bias, p + 1);
                EXPECT(expect_same_bits(what, out, ref, OC));
            }
        free(w), free(wt), free(inp), free(b), free(want), free(got), free(out), free(ref);
    }
}

static void test_linear_backward_matches_loops(void) {
    for (size_t s = 0; s < N_SHAPES; s++) {
        size_t N = SHAPES[s][0], C = SHAPES[s][1], OC = SHAPES[s][2];
        float *inp = xmalloc(N * C * 4), *w = xmalloc(OC * C * 4), *dout = xmalloc(N * OC * 4);
        float *dinp = xmalloc(N * C * 4), *dw = xmalloc(OC * C * 4), *db = xmalloc(OC * 4);
        float *rinp = xmalloc(N * C * 4), *rw = xmalloc(OC * C * 4), *rb = xmalloc(OC * 4);
        fill_uniform(inp, N * C, 4, 1.0f);
        fill_uniform(w, OC * C, 5, 1.0f);
        fill_uniform(dout, N * OC, 6, 1.0f);
        /* start from non-zero values: backward accumulates */
        fill_uniform(dinp, N * C, 7, 1.0f);
        fill_uniform(dw, OC * C, 8, 1.0f);
        fill_uniform(db, OC, 9, 1.0f);
        memcpy(rinp, dinp, N * C * 4);
        memcpy(rw, dw, OC * C * 4);
        memcpy(rb, db, OC * 4);
        linear_backward(pool2, dinp, 1, dw, db, dout, inp, w, N, C, OC);
        linear_backward_ref(rinp, rw, rb, dout, inp, w, N, C, OC);
        char what[64];
        snprintf(what, sizeof what, "dinp N=%zu C=%zu OC=%zu", N, C, OC);
        expect_close(what, dinp, rinp, N * C, 1e-5 * OC, 1e-5);
        /* without accumulate_dinp, dinp is overwritten with dout · W */
        memset(rinp, 0, N * C * 4);
        linear_backward_ref(rinp, NULL, NULL, dout, inp, w, N, C, OC);
        linear_backward(pool2, dinp, 0, NULL, NULL, dout, inp, w, N, C, OC);
        snprintf(what, sizeof what, "dinp written N=%zu C=%zu OC=%zu", N, C, OC);
        expect_close(what, dinp, rinp, N * C, 1e-5 * OC, 1e-5);
        snprintf(what, sizeof what, "dweight N=%zu C=%zu OC=%zu", N, C, OC);
        expect_close(what, dw, rw, OC * C, 1e-5 * N, 1e-5);
        snprintf(what, sizeof what, "dbias N=%zu C=%zu OC=%zu", N, C, OC);
        expect_close(what, db, rb, OC, 1e-5 * N, 1e-5);
        free(inp), free(w), free(dout), free(dinp), free(dw), free(db), free(rinp), free(rw), free(rb);
    }
}

static void test_gemm_general_strides(void) {
    /* C (M,N) += A (M,K) · B (K,N) with A given transposed (column-major) and B row-major. */
    size_t M = 37, N = 29, K = 300;
    float *At = xmalloc(K * M * 4), *B = xmalloc(K * N * 4), *C = xmalloc(M * N * 4);
    fill_uniform(At, K * M, 11, 1.0f);
    fill_uniform(B, K * N, 12, 1.0f);
    fill_uniform(C, M * N, 13, 1.0f);
    float *want = xmalloc(M * N * 4);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double s = C[i * N + j];
            for (size_t k = 0; k < K; k++) s += (double)At[k * M + i] * B[k * N + j];
            want[i * N + j] = (float)s;
        }
    gemm_acc(pool3, M, N, K, At, 1, M, B, N, 1, C, N);
    expect_close("gemm C", C, want, M * N, 1e-4, 1e-5);
    free(At), free(B), free(C), free(want);
}

static void test_in_place_and_packed_operands_give_the_same_bits(void) {
    /* The kernel reads A in place when a stride is 1 and B when it is row-major, and packs them when
     * the other stride is a multiple of 4 KiB (gemm_plan): every path must sum in the same order.
     * A row-major or transposed and B row-major, each at a stride of 1024 floats (packed) or 1025
     * (in place), and B transposed (always packed). M = 37 and N = 45 leave partial panels. A
     * transposed A sums in smaller K blocks (KC_T) than a row-major one, so each orientation of A
     * has its own reference: its first layout. K = 300 is more than one block of either. */
    size_t M = 37, N = 45, K = 300, wide = 1024;
    float *a = xmalloc(M * K * 4), *b = xmalloc(K * N * 4), *want[2] = {NULL, NULL};
    fill_uniform(a, M * K, 31, 1.0f);
    fill_uniform(b, K * N, 32, 1.0f);
    for (int a_layout = 0; a_layout < 4; a_layout++)
        for (int b_layout = 0; b_layout < 3; b_layout++) {
            int a_transposed = a_layout / 2, b_transposed = b_layout == 2;
            size_t lda = wide + a_layout % 2, ldb = b_transposed ? K : wide + b_layout;
            float *A = xcalloc((a_transposed ? K : M) * lda, 4), *B = xcalloc((b_transposed ? N : K) * ldb, 4);
            float *C = xcalloc(M * N, 4);
            for (size_t i = 0; i < M; i++)
                for (size_t k = 0; k < K; k++) A[a_transposed ? k * lda + i : i * lda + k] = a[i * K + k];
            for (size_t k = 0; k < K; k++)
                for (size_t j = 0; j < N; j++) B[b_transposed ? j * ldb + k : k * ldb + j] = b[k * N + j];
            gemm_acc(pool2, M, N, K, A, a_transposed ? 1 : lda, a_transposed ? lda : 1, B,
                     b_transposed ? 1 : ldb, b_transposed ? ldb : 1, C, N);
            free(A), free(B);
            if (!want[a_transposed]) {
                want[a_transposed] = C;
                continue;
            }
            char what[96];
            snprintf(what, sizeof what, "A %s stride %zu, B %s stride %zu", a_transposed ? "transposed" : "row-major",
                     lda, b_transposed ? "transposed" : "row-major", ldb);
            EXPECT(expect_same_bits(what, C, want[a_transposed], M * N));
            free(C);
        }
    free(a), free(b), free(want[0]), free(want[1]);
}

static void test_results_identical_for_any_thread_count(void) {
    size_t N = 333, C = 200, OC = 301;
    float *inp = xmalloc(N * C * 4), *w = xmalloc(OC * C * 4), *b = xmalloc(OC * 4), *dout = xmalloc(N * OC * 4);
    fill_uniform(inp, N * C, 21, 1.0f);
    fill_uniform(w, OC * C, 22, 1.0f);
    fill_uniform(b, OC, 23, 1.0f);
    fill_uniform(dout, N * OC, 24, 1.0f);
    Pool *pools[3] = {pool1, pool2, pool3};
    float *out[3], *dinp[3], *dw[3], *db[3];
    for (int p = 0; p < 3; p++) {
        out[p] = xcalloc(N * OC, 4);
        dinp[p] = xcalloc(N * C, 4);
        dw[p] = xcalloc(OC * C, 4);
        db[p] = xcalloc(OC, 4);
        linear_forward(pools[p], out[p], inp, w, b, N, C, OC);
        linear_backward(pools[p], dinp[p], 1, dw[p], db[p], dout, inp, w, N, C, OC);
    }
    for (int p = 1; p < 3; p++) {
        expect_same_bits("out", out[p], out[0], N * OC);
        expect_same_bits("dinp", dinp[p], dinp[0], N * C);
        expect_same_bits("dweight", dw[p], dw[0], OC * C);
        expect_same_bits("dbias", db[p], db[0], OC);
    }
    for (int p = 0; p < 3; p++) free(out[p]), free(dinp[p]), free(dw[p]), free(db[p]);
    free(inp), free(w), free(b), free(dout);
}

int main(void) {
    pool1 = pool_create(1);
    pool2 = pool_create(2);
    pool3 = pool_create(3);
    RUN(test_linear_forward_matches_loops);
    RUN(test_packed_weights_give_the_same_bits);
    RUN(test_packing_piece_by_piece_and_one_row_products);
    RUN(test_linear_backward_matches_loops);
    RUN(test_gemm_general_strides);
    RUN(test_in_place_and_packed_operands_give_the_same_bits);
    RUN(test_results_identical_for_any_thread_count);
    pool_free(pool1);
    pool_free(pool2);
    pool_free(pool3);
    return harness_finish();
}
