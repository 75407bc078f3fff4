/* test_gpt2.c — a Hugging Face GPT-2 folder read into a GPT (hf_gpt2.c), and the sample / eval /
 * info commands on it. The test writes a tiny GPT-2 itself (2 layers, 2 heads, n_embd 16, 32
 * positions, GPT-2's vocabulary) in Hugging Face's layout: Conv1D weights stored (in, out), the
 * attn.bias buffers, names with and without "transformer.", lm_head.weight present or not. Shapes
 * are all distinct and non-square (16, 48, 64, 32, 50257), so a missing or doubled transpose
 * cannot load. There is no PyTorch here: the reference is a GPT built directly in mingpt's layout
 * with the same weights, not logits from transformers.
 */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "common.h"
#include "decode.h"
#include "hf_gpt2.h"
#include "matmul.h"
#include "model.h"
#include "safetensors.h"
#include "sample.h"
#include "threads.h"
#include "tokenizer.h"

static char dir[] = "/tmp/mingpt-gpt2-XXXXXX";
static Pool *pool;
static const char *binary = "./mingpt";

#define CONFIG_JSON                                                                                   \
    "{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": \"gpt2\", \"activation_function\": " \
    "\"gelu_new\", \"layer_norm_epsilon\": 1e-05, \"n_ctx\": 32, \"n_embd\": 16, \"n_head\": 2, "     \
    "\"n_layer\": 2, \"n_positions\": 32, \"vocab_size\": 50257, \"resid_pdrop\": 0.1}"

static void write_text(const char *path, const char *text) {
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    CHECK(fputs(text, fp) >= 0);
    CHECK(fclose(fp) == 0);
}

static void copy_file(const char *from, const char *to) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "cp %s %s", from, to);
    CHECK(system(cmd) == 0);
}

/* A folder sub/ of the temporary folder with config.json (text) and the tokenizer files (both
 * layouts: Hugging Face's names copied from OpenAI's). Returns its path (static buffer). */
static const char *make_folder(const char *sub, const char *config) {
    static char path[512];
    char file[600];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    mkdir(path, 0777);
    snprintf(file, sizeof file, "%s/config.json", path);
    write_text(file, config);
    snprintf(file, sizeof file, "%s/vocab.json", path);
    copy_file("data/gpt2/encoder.json", file);
    snprintf(file, sizeof file, "%s/merges.txt", path);
    copy_file("data/gpt2/vocab.bpe", file);
    return path;
}

static GPTConfig tiny_config(void) {
    GPTConfig c = {.n_layer = 2, .n_head = 2, .n_embd = 16, .vocab_size = 50257, .block_size = 32};
    return c;
}

/* A reference GPT with every parameter random (biases and LayerNorms too, so a swapped weight and
 * bias cannot pass); with tied, lm_head is a copy of wte. */
static GPT *reference_model(int tied) {
    GPTConfig c = tiny_config();
    GPT *m = gpt_create(&c, pool);
    for (int i = 0; i < m->params.n; i++)
        fill_uniform(m->params.t[i].data, m->params.t[i].numel, 100u + (unsigned)i, 0.5f);
    if (tied) memcpy(m->w.lm_head_w, m->w.wte, (size_t)c.vocab_size * c.n_embd * sizeof(float));
    gpt_weights_changed(m);
    return m;
}

static int is_conv1d(const char *name) {
    const char *ends[] = {"attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight"};
    size_t n = strlen(name);
    for (int i = 0; i < 4; i++)
        if (n > strlen(ends[i]) && strcmp(name + n - strlen(ends[i]), ends[i]) == 0) return 1;
    return 0;
}

/* How a variant of the file differs from a good one. */
typedef struct {
    int prefixed, lm_head;  /* names with "transformer."; lm_head.weight written */
    const char *drop;       /* a tensor left out (its Hugging Face name, without prefix) */
    const char *linear;     /* a Conv1D weight written in Linear's (out, in) layout instead */
    const char *extra;      /* an unknown tensor added */
    const char *nan_in;     /* a tensor whose element 3 is NaN */
} Variant;

/* Writes m's weights as DIR/model.safetensors in Hugging Face's layout. */
static void write_hf(const char *folder, const GPT *m, Variant v) {
    int n = m->params.n, k = 0;
    StWriteTensor *t = xcalloc((size_t)n + 8, sizeof *t);
    char (*names)[128] = xcalloc((size_t)n + 8, sizeof *names);
    size_t (*shapes)[4] = xcalloc((size_t)n + 8, sizeof *shapes);
    float **owned = xcalloc((size_t)n + 8, sizeof *owned);
    for (int i = 0; i < n; i++) {
        const Tensor *p = &m->params.t[i];
        const char *bare = strncmp(p->name, "transformer.", 12) == 0 ? p->name + 12 : p->name;
        if (strcmp(p->name, "lm_head.weight") == 0 && !v.lm_head) continue;
        if (v.drop && strcmp(bare, v.drop) == 0) continue;
        snprintf(names[k], sizeof names[k], "%s", v.prefixed ? p->name : bare);
        float *data = xmalloc(p->numel * sizeof(float));
        memcpy(shapes[k], p->shape, sizeof shapes[k]);
        if (is_conv1d(p->name) && !(v.linear && strcmp(bare, v.linear) == 0)) { /* (out, in) -> (in, out) */
            size_t out = p->shape[0], in = p->shape[1];
            for (size_t o = 0; o < out; o++)
                for (size_t j = 0; j < in; j++) data[j * out + o] = p->data[o * in + j];
            shapes[k][0] = in;
            shapes[k][1] = out;
        } else {
            memcpy(data, p->data, p->numel * sizeof(float));
        }
        if (v.nan_in && strcmp(bare, v.nan_in) == 0) data[3] = NAN;
        owned[k] = data;
        t[k] = (StWriteTensor){names[k], p->ndim, shapes[k], data};
        k++;
    }
    /* the causal-mask buffers Hugging Face keeps: (1,1,32,32) lower-triangular ones */
    static float mask[32 * 32];
    for (int i = 0; i < 32; i++)
        for (int j = 0; j < 32; j++) mask[i * 32 + j] = j <= i;
    static const size_t mask_shape[4] = {1, 1, 32, 32}, scalar_shape[1] = {1};
    static const float masked_bias[1] = {-1e4f};
    for (int l = 0; l < 2; l++) {
        snprintf(names[k], sizeof names[k], "%sh.%d.attn.bias", v.prefixed ? "transformer." : "", l);
        t[k] = (StWriteTensor){names[k], 4, mask_shape, mask};
        k++;
    }
    if (v.prefixed) { /* GPT2LMHeadModel's save also has the masked_bias */
        snprintf(names[k], sizeof names[k], "transformer.h.0.attn.masked_bias");
        t[k] = (StWriteTensor){names[k], 1, scalar_shape, masked_bias};
        k++;
    }
    if (v.extra) {
        snprintf(names[k], sizeof names[k], "%s", v.extra);
        t[k] = (StWriteTensor){names[k], 1, scalar_shape, masked_bias};
        k++;
    }
    char path[600], err[512];
    snprintf(path, sizeof path, "%s/model.safetensors", folder);
    if (st_write(path, t, k, NULL, 0, err, sizeof err) != 0) printf("    st_write: %s\n", err);
    for (int i = 0; i < k; i++) free(owned[i]);
    free(owned);
    free(shapes);
    free(names);
    free(t);
}

/* The logits of idx (T) under m, copied (malloc'd). */
static float *logits_of(GPT *m, const int *idx, int T) {
    gpt_forward(m, idx, NULL, 1, T, 0);
    size_t n = (size_t)T * (size_t)m->config.vocab_size;
    float *out = xmalloc(n * sizeof(float));
    memcpy(out, m->a.logits, n * sizeof(float));
    return out;
}

static const int PROMPT[7] = {15496, 11, 995, 0, 50256, 1212, 318}; /* "Hello, world!<|endoftext|>This is" */

/* The folder loads into exactly the weights it was written from, and gives the same logits. */
static void check_loads_as(const char *folder, GPT *ref, int want_prefixed, int want_lm_head) {
    char err[512];
    HfGpt2Contents got;
    GPT *m = hf_gpt2_load(folder, pool, &got, err, sizeof err);
    if (!m) {
        printf("    load failed: %s\n", err);
        harness_case_failed = 1;
        return;
    }
    EXPECT(m->config.n_layer == 2 && m->config.n_head == 2 && m->config.n_embd == 16);
    EXPECT(m->config.block_size == 32 && m->config.vocab_size == 50257);
    EXPECT(m->config.resid_pdrop == 0.0f && m->config.attn_pdrop == 0.0f && m->config.embd_pdrop == 0.0f);
    EXPECT(got.prefixed == want_prefixed && got.has_lm_head == want_lm_head && got.n_buffers == 2 + want_prefixed);
    EXPECT(m->inference && m->grad_mem == NULL); /* it only runs */
    /* without lm_head.weight in the file, wte and lm_head are one matrix, kept once (as lm_head) */
    EXPECT(m->tied == !want_lm_head && (m->w.wte == NULL) == !want_lm_head);
    for (int i = 0; i < m->params.n; i++) {
        const Tensor *t = &m->params.t[i], *r = &ref->params.t[i];
        if (!t->data) continue; /* a tied wte: checked as lm_head, and by the logits */
        /* an inference model keeps Linear weights only packed: compare with the reference's packed */
        size_t n = t->decay ? linear_packed_floats(t->shape[1], t->shape[0]) : t->numel;
        float *want = xmalloc_aligned(n * sizeof(float));
        if (t->decay) linear_pack_weight(pool, want, r->data, t->shape[1], t->shape[0]);
        else memcpy(want, r->data, n * sizeof(float));
        if (memcmp(t->data, want, n * sizeof(float)) != 0) {
            printf("    %s differs from the reference\n", t->name);
            harness_case_failed = 1;
        }
        free(want);
    }
    float *want = logits_of(ref, PROMPT, 7), *have = logits_of(m, PROMPT, 7);
    expect_same_bits("logits", have, want, 7 * 50257);
    free(want);
    free(have);
    gpt_free(m);
}

/* (a) names with the prefix and lm_head.weight of its own (not wte's): every weight where mingpt
 * keeps it, and the same logits as a GPT built directly in mingpt's layout. */
static void test_prefixed_with_lm_head(void) {
    const char *folder = make_folder("prefixed", CONFIG_JSON);
    GPT *ref = reference_model(0);
    write_hf(folder, ref, (Variant){.prefixed = 1, .lm_head = 1});
    check_loads_as(folder, ref, 1, 1);
    gpt_free(ref);
}

/* (b) OpenAI's layout on Hugging Face: no prefix, no lm_head.weight, which is then wte's copy. */
static void test_bare_names_tie_lm_head(void) {
    const char *folder = make_folder("bare", CONFIG_JSON);
    GPT *ref = reference_model(1);
    write_hf(folder, ref, (Variant){0});
    check_loads_as(folder, ref, 0, 0);
    gpt_free(ref);
}

/* Loading folder fails with one line holding every string of want (NULL-terminated). */
static void expect_refused(const char *folder, const char *const *want) {
    char err[512] = "";
    GPT *m = hf_gpt2_load(folder, pool, NULL, err, sizeof err);
    EXPECT(m == NULL);
    gpt_free(m);
    EXPECT(strchr(err, '\n') == NULL && strstr(err, folder) != NULL);
    for (int i = 0; want[i]; i++)
        if (!strstr(err, want[i])) {
            printf("    expected \"%s\" in: %s\n", want[i], err);
            harness_case_failed = 1;
        }
}

/* Turns the dtype of the (F32, 8 floats, shape [1,8]) tensor "ln_f.bias" into F16 of 16 halves,
 * the same 32 bytes, by editing the header in place (the same length: "[16] " for "[1,8]"). */
static void make_f16(const char *folder) {
    char path[600];
    snprintf(path, sizeof path, "%s/model.safetensors", folder);
    FILE *fp = fopen(path, "r+b");
    CHECK(fp != NULL);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, fp);
    const char *from = "\"ln_f.bias\":{\"dtype\":\"F32\",\"shape\":[1,8]";
    const char *to = "\"ln_f.bias\":{\"dtype\":\"F16\",\"shape\":[16] ";
    char *at = NULL;
    for (size_t i = 0; !at && i + strlen(from) <= n; i++)
        if (memcmp(buf + i, from, strlen(from)) == 0) at = buf + i;
    CHECK(at != NULL);
    memcpy(at, to, strlen(to));
    CHECK(fseek(fp, 0, SEEK_SET) == 0 && fwrite(buf, 1, n, fp) == n && fclose(fp) == 0);
}

/* (c) each malformed folder is refused with one line that names the folder's file and the thing. */
static void test_malformed_folders_are_refused(void) {
    GPT *ref = reference_model(1);
    const char *folder = make_folder("bad", CONFIG_JSON);
    write_hf(folder, ref, (Variant){.drop = "h.1.mlp.c_fc.bias"});
    expect_refused(folder, (const char *[]){"model.safetensors", "missing tensor", "h.1.mlp.c_fc.bias", NULL});
    /* a Conv1D weight left in Linear's layout: the transposed shape is what the file must hold */
    write_hf(folder, ref, (Variant){.linear = "h.0.attn.c_attn.weight"});
    expect_refused(folder, (const char *[]){"h.0.attn.c_attn.weight", "shape [48, 16], expected [16, 48]", NULL});
    write_hf(folder, ref, (Variant){.extra = "h.0.attn.rotary.weight"});
    expect_refused(folder, (const char *[]){"h.0.attn.rotary.weight", "has no place", NULL});
    write_hf(folder, ref, (Variant){.extra = "h.2.attn.bias"}); /* a third layer's buffer */
    expect_refused(folder, (const char *[]){"h.2.attn.bias", "has no place", NULL});
    write_hf(folder, ref, (Variant){.nan_in = "wpe.weight"});
    expect_refused(folder, (const char *[]){"wpe.weight", "NaN at index 3", NULL});
    write_hf(folder, ref, (Variant){.nan_in = "h.1.mlp.c_proj.weight"});
    expect_refused(folder, (const char *[]){"h.1.mlp.c_proj.weight", "NaN", NULL});

    /* F16: a file whose ln_f.bias is half precision (written as 8 floats, relabelled) */
    write_hf(folder, ref, (Variant){0});
    {
        /* rewrite with ln_f.bias as [1,8] so that its 32 bytes can be relabelled F16 [16] */
        char path[600], err[512];
        snprintf(path, sizeof path, "%s/model.safetensors", folder);
        StFile f;
        CHECK(st_open(&f, path, err, sizeof err) == 0);
        StWriteTensor *t = xcalloc((size_t)f.n_tensors, sizeof *t);
        float **data = xcalloc((size_t)f.n_tensors, sizeof *data);
        static const size_t half_shape[2] = {1, 8};
        for (int i = 0; i < f.n_tensors; i++) {
            const StTensor *s = &f.tensors[i];
            data[i] = xmalloc(s->numel * sizeof(float));
            memcpy(data[i], f.data + s->begin, s->numel * sizeof(float));
            int half = strcmp(s->name, "ln_f.bias") == 0;
            t[i] = (StWriteTensor){s->name, half ? 2 : s->ndim, half ? half_shape : s->shape, data[i]};
        }
        CHECK(st_write(path, t, f.n_tensors, NULL, 0, err, sizeof err) == 0);
        for (int i = 0; i < f.n_tensors; i++) free(data[i]);
        free(data);
        free(t);
        st_close(&f);
    }
    make_f16(folder);
    expect_refused(folder, (const char *[]){"ln_f.bias", "dtype F16, expected F32", NULL});

    /* config.json: other architectures and activations */
    write_hf(folder, ref, (Variant){0});
    char path[600];
    snprintf(path, sizeof path, "%s/config.json", folder);
    write_text(path, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"gpt2\", \"n_embd\": 16, "
                     "\"n_head\": 2, \"n_layer\": 2, \"n_positions\": 32, \"vocab_size\": 50257}");
    expect_refused(folder, (const char *[]){"config.json", "architecture \"LlamaForCausalLM\"", NULL});
    write_text(path, "{\"model_type\": \"llama\", \"n_embd\": 16, \"n_head\": 2, \"n_layer\": 2, "
                     "\"n_positions\": 32, \"vocab_size\": 50257}");
    expect_refused(folder, (const char *[]){"config.json", "\"model_type\" is \"llama\"", NULL});
    write_text(path, "{\"model_type\": \"gpt2\", \"activation_function\": \"relu\", \"n_embd\": 16, \"n_head\": 2, "
                     "\"n_layer\": 2, \"n_positions\": 32, \"vocab_size\": 50257}");
    expect_refused(folder, (const char *[]){"config.json", "activation_function", "gelu_new", NULL});
    write_text(path, "{\"model_type\": \"gpt2\", \"n_embd\": 16, \"n_head\": 3, \"n_layer\": 2, "
                     "\"n_positions\": 32, \"vocab_size\": 50257}");
    expect_refused(folder, (const char *[]){"config.json", "bad config", NULL});
    write_text(path, "{\"model_type\": \"gpt2\", \"n_embd\": 16, \"n_head\": 2, \"n_layer\": 2, \"vocab_size\": 50257}");
    expect_refused(folder, (const char *[]){"config.json", "\"n_positions\"", NULL});
    /* a config for 3 layers against a 2-layer file: the third layer's weights are missing */
    write_text(path, "{\"model_type\": \"gpt2\", \"n_embd\": 16, \"n_head\": 2, \"n_layer\": 3, "
                     "\"n_positions\": 32, \"vocab_size\": 50257}");
    expect_refused(folder, (const char *[]){"missing tensor \"h.2.", NULL});
    gpt_free(ref);
}

/* ---------------------------------------------------------------- the commands */

static char out_text[1 << 16], err_text[4096];

/* Runs "mingpt ARGS" through the shell (ARGS may use $D, the temporary folder); its stdout and
 * stderr land in out_text and err_text. Returns the exit status. */
static int run(const char *args) {
    return harness_run_binary(dir, binary, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

/* (d) sample, info and eval on the folder of test_bare_names_tie_lm_head, as a user runs them. */
static void test_commands_on_a_folder(void) {
    char folder[600], err[512];
    snprintf(folder, sizeof folder, "%s/bare", dir);
    /* the greedy continuation computed here, decoded: what the binary must print after "Hello" */
    Tokenizer *tok = tok_bpe_load(folder, err, sizeof err);
    GPT *m = hf_gpt2_load(folder, pool, NULL, err, sizeof err);
    CHECK(tok && m);
    TokenIds ids = {0};
    CHECK(tokenizer_encode(tok, "Hello", 5, &ids, err, sizeof err) == 0 && ids.n == 1 && ids.ids[0] == 15496);
    int prompt = ids.ids[0], next[5];
    generate_greedy_batch(m, &prompt, 1, 1, 5, next);
    char want[512] = "Hello";
    size_t at = 5, len;
    for (int i = 0; i < 5; i++) {
        const char *bytes = tokenizer_token(tok, next[i], &len);
        CHECK(at + len + 2 < sizeof want);
        memcpy(want + at, bytes, len);
        at += len;
    }
    want[at++] = '\n';
    want[at] = '\0';
    EXPECT(run("sample --ckpt $D/bare --prompt Hello --len 5 --greedy") == 0);
    if (strcmp(out_text, want) != 0) {
        printf("    sample printed \"%s\", expected \"%s\" (stderr: %s)\n", out_text, want, err_text);
        harness_case_failed = 1;
    }
    EXPECT(run("sample --ckpt $D/bare --prompt Hello --len 5 --greedy --exact") == 0 && strcmp(out_text, want) == 0);
    EXPECT(run("sample --ckpt $D/bare/ --prompt Hello --len 5 --greedy --threads 2") == 0 && strcmp(out_text, want) == 0);
    /* past block_size (32 positions) with --exact, and sampled: deterministic for a seed */
    EXPECT(run("sample --ckpt $D/bare --prompt Hello --len 40 --seed 7 --exact --top-p 0.9") == 0);
    char first[sizeof out_text];
    strcpy(first, out_text);
    EXPECT(strncmp(first, "Hello", 5) == 0 && strlen(first) > 40);
    EXPECT(run("sample --ckpt $D/bare --prompt Hello --len 40 --seed 7 --exact --top-p 0.9") == 0 &&
           strcmp(out_text, first) == 0);
    /* an empty prompt starts from <|endoftext|> and prints only what follows it; the written-out
     * <|endoftext|> is text */
    EXPECT(run("sample --ckpt $D/bare --len 3 --num-samples 2 --greedy") == 0 && strstr(out_text, "---------------\n"));
    EXPECT(run("sample --ckpt $D/bare --prompt '<|endoftext|>' --len 3 --greedy") == 0 &&
           strncmp(out_text, "<|endoftext|>", 13) == 0);
    EXPECT(run("sample --ckpt $D/bare --prompt \"$(printf 'a\\377')\" --len 3") == 2 &&
           strstr(err_text, "--prompt: invalid UTF-8") != NULL);

    EXPECT(run("info $D/bare") == 0 && strstr(out_text, "2 layers, 2 heads, n_embd 16, block_size 32, vocab 50257") &&
           strstr(out_text, "tied") && strstr(out_text, "811216 (0.81M"));
    EXPECT(run("info $D/prefixed") == 0 && strstr(out_text, "lm_head.weight from the file") &&
           strstr(out_text, "with \"transformer.\""));
    EXPECT(run("eval data/gpt2/LICENSE --ckpt $D/bare") == 0 && strstr(out_text, "nats/token") &&
           strstr(out_text, "bits/byte"));
    /* a refused folder: one line on stderr, exit 1 */
    EXPECT(run("sample --ckpt $D/bad --len 3") == 1 && strchr(err_text, '\n') == err_text + strlen(err_text) - 1 &&
           strstr(err_text, "missing tensor"));
    free(ids.ids);
    gpt_free(m);
    tokenizer_free(tok);
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL);
    if (getenv("MINGPT")) binary = getenv("MINGPT");
    pool = pool_create(1);
    RUN(test_prefixed_with_lm_head);
    RUN(test_bare_names_tie_lm_head);
    RUN(test_malformed_folders_are_refused);
    if (access(binary, X_OK) == 0) RUN(test_commands_on_a_folder);
    else {
        printf("FAIL %s is not built (run from the repository root via make test)\n", binary);
        harness_failed++;
    }
    pool_free(pool);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) printf("could not remove %s\n", dir);
    return harness_finish();
}
