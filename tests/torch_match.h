/* torch_match.h — the weights after PyTorch's AdamW steps, compared with mingpt's, for the tests that
 * replay a fixture's training steps (test_reference.c, test_gpt2.c). Needs harness.h first.
 */
#ifndef MINGPT_TORCH_MATCH_H
#define MINGPT_TORCH_MATCH_H

#include "model.h"
#include "safetensors.h"

/* Every parameter of m against the fixture's tensor PREFIX + its name, within 1e-5 (relative above
 * 1); `what` names the state in messages ("after 3 steps"). The key part of attn.c_attn.bias is left
 * out: it adds q·b_k to every score of a query row, which softmax ignores, so its gradient is exactly
 * 0 in exact arithmetic and rounding noise (~1e-9) in both implementations, and Adam turns noise into
 * steps of about lr·0.1 of either sign. The query and value parts are compared; test_reference's
 * gradient test checks that the key part's gradient is ~0. */
static void expect_params_match_fixture(const StFile *fixture, const char *prefix, const GPT *m, const char *what) {
    size_t C = (size_t)m->config.n_embd;
    for (int i = 0; i < m->params.n; i++) {
        const Tensor *t = &m->params.t[i];
        char name[200], label[240], err[256];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        snprintf(label, sizeof label, "%s %s", what, t->name);
        float *want = xmalloc(t->numel * sizeof(float));
        if (st_read_f32(fixture, name, t->ndim, t->shape, want, err, sizeof err) != 0) {
            printf("    %s\n", err);
            harness_case_failed = 1;
            free(want);
            continue;
        }
        size_t len = strlen(t->name);
        if (len >= 16 && strcmp(t->name + len - 16, "attn.c_attn.bias") == 0) {
            expect_close(label, t->data, want, C, 1e-5, 1e-5);
            expect_close(label, t->data + 2 * C, want + 2 * C, C, 1e-5, 1e-5);
        } else {
            expect_close(label, t->data, want, t->numel, 1e-5, 1e-5);
        }
        free(want);
    }
}

#endif
