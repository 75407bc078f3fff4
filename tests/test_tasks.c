/* test_tasks.c — the pieces under the commands: UTF-8, vocabularies, the JSON parser, safetensors
 * and checkpoints (round trips, validation), the sampler, and the chars evaluation against a model
 * that PyTorch wrote. */
#define _GNU_SOURCE /* memmem */
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "checkpoint.h"
#include "common.h"
#include "decode.h"
#include "json.h"
#include "model.h"
#include "plot.h"
#include "runlog.h"
#include "safetensors.h"
#include "sample.h"
#include "task_common.h"
#include "tasks.h"
#include "utf8.h"

static Pool *pool;
static char tmpdir[] = "/tmp/mingpt-test-XXXXXX";

static void tmp_path(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", tmpdir, name); }

static void test_utf8_decoder_is_strict(void) {
    uint32_t cp;
    EXPECT(utf8_decode((const unsigned char *)"A", 1, &cp) == 1 && cp == 'A');
    EXPECT(utf8_decode((const unsigned char *)"\xC3\xA9", 2, &cp) == 2 && cp == 0xE9);
    EXPECT(utf8_decode((const unsigned char *)"\xE4\xB8\xAD", 3, &cp) == 3 && cp == 0x4E2D);
    EXPECT(utf8_decode((const unsigned char *)"\xF0\x9F\x98\x80", 4, &cp) == 4 && cp == 0x1F600);
    EXPECT(utf8_decode((const unsigned char *)"\xC0\x80", 2, &cp) == 0);         /* overlong NUL */
    EXPECT(utf8_decode((const unsigned char *)"\xE0\x80\xAF", 3, &cp) == 0);     /* overlong '/' */
    EXPECT(utf8_decode((const unsigned char *)"\xED\xA0\x80", 3, &cp) == 0);     /* surrogate */
    EXPECT(utf8_decode((const unsigned char *)"\xF4\x90\x80\x80", 4, &cp) == 0); /* > U+10FFFF */
    EXPECT(utf8_decode((const unsigned char *)"\xE2\x82", 2, &cp) == 0);         /* truncated */
    EXPECT(utf8_decode((const unsigned char *)"\x80", 1, &cp) == 0);             /* lone continuation */
    EXPECT(utf8_decode((const unsigned char *)"\xFF", 1, &cp) == 0);
    char buf[4];
    EXPECT(utf8_encode(0x1F600, buf) == 4 && memcmp(buf, "\xF0\x9F\x98\x80", 4) == 0);
    EXPECT(utf8_encode(0xD800, buf) == 0 && utf8_encode(0x110000, buf) == 0);
    uint32_t *text;
    size_t n, bad = 0;
    const char *s = "ok \xC3\xA9 then \xC3 bad";
    EXPECT(text_decode((const unsigned char *)s, strlen(s), 0, &text, &n, &bad) == -1 && bad == 11);
    EXPECT(text_decode((const unsigned char *)s, strlen(s), 1, &text, &n, &bad) == 0 && n == strlen(s));
    free(text);
}

static void test_vocabulary(void) {
    const char *s = "h\xC3\xA9llo w\xC3\xB6rld \xE4\xB8\xAD";
    uint32_t *text;
    size_t n, bad;
    CHECK(text_decode((const unsigned char *)s, strlen(s), 0, &text, &n, &bad) == 0);
    Vocab v, back;
    vocab_build(&v, text, n);
    /* sorted set of code points: ' ' d h l o r w é ö 中 */
    uint32_t want[] = {' ', 'd', 'h', 'l', 'o', 'r', 'w', 0xE9, 0xF6, 0x4E2D};
    EXPECT(v.size == 10 && memcmp(v.chars, want, sizeof want) == 0);
    EXPECT(vocab_index(&v, 'l') == 3 && vocab_index(&v, 0x4E2D) == 9 && vocab_index(&v, 'z') == -1);
    size_t len;
    char *str = vocab_to_string(&v, &len);
    EXPECT(vocab_from_string(&back, str, len, 0) == 0 && back.size == v.size &&
           memcmp(back.chars, v.chars, sizeof want) == 0);
    vocab_free(&back);
    EXPECT(vocab_from_string(&back, "ba", 2, 0) == -1);                /* not ascending */
    EXPECT(vocab_from_string(&back, "ab\xE4\xB8\xAD", 5, 1) == -1);   /* above U+00FF as bytes */
    free(str);
    /* U+0000 is a character like any other (binary files with --bytes) */
    uint32_t with_nul[3] = {0, 'a', 0xFF};
    vocab_free(&v);
    vocab_build(&v, with_nul, 3);
    str = vocab_to_string(&v, &len);
    EXPECT(len == 4 && vocab_from_string(&back, str, len, 1) == 0 && back.size == 3 && back.chars[0] == 0);
    vocab_free(&back);
    free(str);
    free(text);
    vocab_free(&v);
}

static void test_json_parser(void) {
    char err[128];
    const char *doc = " {\"a\": [1, 2.5e3, -0, true, false, null], \"s\": \"q\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude00\", \"o\": {}} ";
    JsonValue *v = json_parse(doc, strlen(doc), err, sizeof err);
    EXPECT(v != NULL);
    if (v) {
        const JsonValue *a = json_get(v, "a"), *s = json_get(v, "s");
        uint64_t one;
        EXPECT(a && a->n == 6 && json_uint(&a->items[0], &one) && one == 1);
        EXPECT(a && !json_uint(&a->items[1], &one) && a->items[3].type == JSON_TRUE && a->items[5].type == JSON_NULL);
        EXPECT(s && strcmp(s->str, "q\"\\/\n\xC3\xA9\xF0\x9F\x98\x80") == 0);
        EXPECT(json_get(v, "o") && json_get(v, "o")->type == JSON_OBJECT && !json_get(v, "missing"));
        json_free(v);
    }
    const char *bad[] = {
        "",  "{", "{\"a\":1,}", "[1,]", "{\"a\":1,\"a\":2}", "\"abc", "\"a\tb\"", "\"\\x\"",
        "\"\\ud800\"", "01", "1.", "-", "{} x", "{'a':1}", "[1 2]", "tru", "\"\xC3\"",
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        JsonValue *x = json_parse(bad[i], strlen(bad[i]), err, sizeof err);
        if (x) printf("    accepted bad JSON #%zu: %s\n", i, bad[i]);
        EXPECT(x == NULL && strncmp(err, "at byte ", 8) == 0);
        json_free(x);
    }
    uint64_t big;
    JsonValue *huge = json_parse("18446744073709551616", 20, err, sizeof err);
    EXPECT(huge && !json_uint(huge, &big)); /* 2^64 does not fit */
    json_free(huge);
    /* duplicates are per object: the same key in sibling and nested objects is fine, and an outer
     * object's keys are still known after an inner object closed */
    const char *fine = "{\"a\":{\"a\":{\"a\":1},\"b\":1},\"b\":{\"a\":2,\"b\":[{\"a\":3},{\"a\":4}]}}";
    v = json_parse(fine, strlen(fine), err, sizeof err);
    EXPECT(v && v->n == 2 && strcmp(v->items[1].key, "b") == 0 && v->items[1].items[1].n == 2);
    json_free(v);
    const char *dup = "{\"a\":{\"b\":1,\"c\":{\"b\":2},\"b\":3}}";
    EXPECT(!json_parse(dup, strlen(dup), err, sizeof err) && strstr(err, "duplicate key \"b\""));
    /* a byte-order mark first is said as such, not as "invalid number" */
    EXPECT(!json_parse("\xEF\xBB\xBF{}", 5, err, sizeof err) &&
           strcmp(err, "at byte 0: the text starts with a UTF-8 byte-order mark (BOM); save the file without one") == 0);
    /* a big object: its key set grows past its first size and still finds the first key */
    char many[4096];
    size_t len = 0;
    for (int i = 0; i < 200; i++) len += (size_t)snprintf(many + len, sizeof many - len, "%s\"k%d\":%d", i ? "," : "{", i, i);
    snprintf(many + len, sizeof many - len, "}");
    v = json_parse(many, strlen(many), err, sizeof err);
    EXPECT(v && v->n == 200 && json_get(v, "k199") && strcmp(json_get(v, "k199")->str, "199") == 0);
    json_free(v);
    snprintf(many + len, sizeof many - len, ",\"k0\":1}");
    EXPECT(!json_parse(many, strlen(many), err, sizeof err) && strstr(err, "duplicate key \"k0\""));
    /* a key or an escape that would drive the terminal is quoted as escapes in the message */
    const char *evil = "{\"\\u001b[31mred\\r\":1,\"\\u001b[31mred\\r\":2}";
    EXPECT(!json_parse(evil, strlen(evil), err, sizeof err) && strstr(err, "duplicate key \"\\x1B[31mred\\x0D\"") &&
           !strchr(err, 0x1B) && !strchr(err, '\r'));
    EXPECT(!json_parse("\"\\\x1b\"", 4, err, sizeof err) && strstr(err, "invalid escape \\\\x1B") && !strchr(err, 0x1B));
}

static void test_printable_escapes_what_a_terminal_would_obey(void) {
    char buf[64];
    EXPECT(strcmp(json_printable("plain.name", 10, buf, sizeof buf), "plain.name") == 0);
    EXPECT(strcmp(json_printable("a\x1b[31m\r\n\x7f", 9, buf, sizeof buf), "a\\x1B[31m\\x0D\\x0A\\x7F") == 0);
    EXPECT(strcmp(json_printable("q\"\\", 3, buf, sizeof buf), "q\\\"\\\\") == 0);
    EXPECT(strcmp(json_printable("\xC2\x9B" "2J", 4, buf, sizeof buf), "\\u009B2J") == 0);       /* C1 CSI */
    EXPECT(strcmp(json_printable("\xE2\x80\xAE" "txt", 6, buf, sizeof buf), "\\u202Etxt") == 0); /* RLO */
    EXPECT(strcmp(json_printable("caf\xC3\xA9 \xFF", 7, buf, sizeof buf), "caf\xC3\xA9 \\xFF") == 0);
    EXPECT(strcmp(json_printable("a\0b", 3, buf, sizeof buf), "a\\x00b") == 0);
    /* what prints as nothing: a byte-order mark, a zero-width space */
    EXPECT(strcmp(json_printable("\xEF\xBB\xBF#v\xE2\x80\x8B", 8, buf, sizeof buf), "\\uFEFF#v\\u200B") == 0);
    /* too long: cut, marked, and never past the buffer */
    char small[8];
    EXPECT(strcmp(json_printable("abcdefgh", 8, small, sizeof small), "abcd...") == 0);
    EXPECT(strcmp(json_printable("abcdefg", 7, small, sizeof small), "abcdefg") == 0);
    EXPECT(strcmp(json_printable("\x1b\x1b", 2, small, sizeof small), "\\x1B...") == 0);
}

/* st_guarded's function for the test below: sums every data byte (reads every mapped page). */
typedef struct {
    const StFile *f;
    unsigned sum;
    int done;
} SumJob;

static int sum_data(void *ctx) {
    SumJob *job = ctx;
    for (size_t i = 0; i < job->f->data_size; i++) job->sum += job->f->data[i];
    job->done = 1;
    return 0;
}

/* A mapped file that another program cuts short while it is read raises SIGBUS on its lost pages:
 * under st_guarded that is a one-line error, and the process goes on (and still reads what it
 * can). */
static void test_file_cut_short_while_mapped(void) {
    char path[256], err[256];
    tmp_path(path, sizeof path, "cut.safetensors");
    size_t n = 1 << 20, shape[1] = {n};
    float *x = xcalloc(n, sizeof *x);
    StWriteTensor t = {"x", 1, shape, x};
    CHECK(st_write(path, &t, 1, NULL, 0, err, sizeof err) == 0);
    StFile f;
    EXPECT(st_open(&f, path, err, sizeof err) == 0);
    SumJob whole = {&f, 0, 0};
    EXPECT(st_guarded(&f, sum_data, &whole, err, sizeof err) == 0 && whole.done && whole.sum == 0);
    st_release(&f, f.data, f.data_size); /* drop the pages, so the next reads go to the file */
    CHECK(truncate(path, 4096) == 0);
    SumJob cut = {&f, 0, 0};
    EXPECT(st_guarded(&f, sum_data, &cut, err, sizeof err) == -1 && !cut.done && strstr(err, path) &&
           strstr(err, "cut short while it was being read"));
    EXPECT(st_guarded(&f, sum_data, &cut, err, sizeof err) == -1); /* and again: the guard is re-armed */
    st_close(&f);
    free(x);
}

static void test_safetensors_round_trip_and_validation(void) {
    char path[256], err[256];
    tmp_path(path, sizeof path, "t.safetensors");
    float a[6] = {1, 2, 3, 4, 5, 6}, b[1] = {-7.5f};
    size_t sa[2] = {2, 3}, sb[1] = {1};
    StWriteTensor ts[2] = {{"alpha", 2, sa, a}, {"b\"eta", 1, sb, b}};
    StMeta meta[3] = {{"k", "line\nwith \"quotes\" and \xC3\xA9", 0}, {"n", "42", 0}, {"z", "a\0b", 3}};
    EXPECT(st_write(path, ts, 2, meta, 3, err, sizeof err) == 0);
    StFile f;
    EXPECT(st_open(&f, path, err, sizeof err) == 0);
    float got[6];
    EXPECT(st_read_f32(&f, "alpha", 2, sa, got, err, sizeof err) == 0 && memcmp(got, a, sizeof a) == 0);
    EXPECT(st_read_f32(&f, "b\"eta", 1, sb, got, err, sizeof err) == 0 && got[0] == b[0]);
    EXPECT(strcmp(st_meta(&f, "k"), meta[0].value) == 0 && strcmp(st_meta(&f, "n"), "42") == 0);
    size_t zlen;
    const char *z = st_meta_n(&f, "z", &zlen);
    EXPECT(z && zlen == 3 && memcmp(z, "a\0b", 3) == 0);
    size_t wrong[2] = {3, 2};
    EXPECT(st_read_f32(&f, "alpha", 2, wrong, got, err, sizeof err) == -1 && strstr(err, "shape [2, 3], expected [3, 2]"));
    EXPECT(st_read_f32(&f, "gamma", 1, sb, got, err, sizeof err) == -1 && strstr(err, "missing tensor \"gamma\""));
    st_close(&f);
    /* hand-made headers that must be refused */
    const char *headers[] = {
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}",        /* span != shape */
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",        /* hole at 0 */
        ("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"),        /* overlap */
        "{\"x\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}",         /* dtype */
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}",         /* JSON */
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}",                               /* no offsets */
        "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",         /* file has 8 bytes */
    };
    const char *expect_in[] = {"span", "hole", "overlaps", "unknown dtype", "malformed JSON", "exactly dtype", "cover 4 bytes"};
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        FILE *fp = fopen(path, "wb");
        uint64_t n = strlen(headers[i]);
        unsigned char size_le[8];
        for (int k = 0; k < 8; k++) size_le[k] = (unsigned char)(n >> (8 * k));
        fwrite(size_le, 1, 8, fp);
        fwrite(headers[i], 1, n, fp);
        float data[2] = {0, 0};
        fwrite(data, 4, i == 6 ? 2 : 1, fp);
        fclose(fp);
        int rc = st_open(&f, path, err, sizeof err);
        if (rc == 0 || !strstr(err, expect_in[i])) printf("    header #%zu: rc %d, err '%s'\n", i, rc, err);
        EXPECT(rc == -1 && strstr(err, expect_in[i]) && strstr(err, path));
    }
}

static GPTConfig small_config(void) {
    GPTConfig c = {2, 2, 16, 11, 8, 0.1f, 0.1f, 0.1f};
    return c;
}

static int file_equal(const char *p, const char *q) {
    unsigned char *a, *b;
    size_t na, nb;
    if (read_whole_file(p, &a, &na) || read_whole_file(q, &b, &nb)) return 0;
    int same = na == nb && memcmp(a, b, na) == 0;
    free(a);
    free(b);
    return same;
}

/* meta as the text task writes a character model's: its encoding beside the task, its vocabulary
 * (vocab_len bytes: U+0000 is a character too) last. Free with ckpt_meta_free. */
static void set_chars_meta(CkptMeta *meta, const char *vocab, size_t vocab_len) {
    strcpy(meta->task, "chars");
    ckpt_meta_set(meta, "encoding", "utf-8", 5, CKPT_BESIDE_TASK);
    ckpt_meta_set(meta, "vocab", vocab, vocab_len, CKPT_LAST);
}

static void test_checkpoint_round_trip_is_bit_exact(void) {
    char path[256], path2[256], err[256];
    tmp_path(path, sizeof path, "sub/dir/ckpt.safetensors"); /* folders are created */
    tmp_path(path2, sizeof path2, "ckpt2.safetensors");
    GPTConfig c = small_config();
    GPT *m = gpt_create(&c, pool);
    gpt_init(m, 5);
    TrainConfig tc = train_config_default();
    Trainer tr;
    trainer_init(&tr, m, &tc);
    int idx[16], targets[16];
    for (int i = 0; i < 16; i++) idx[i] = i % 11, targets[i] = (i * 7) % 11;
    for (int s = 0; s < 2; s++) trainer_step(&tr, m, idx, targets, 2, 8);
    CkptMeta meta = {0};
    static const char VOCAB[] = "\0 !,.abcde\xC3\xA9"; /* U+0000 first: its length is kept */
    set_chars_meta(&meta, VOCAB, sizeof VOCAB - 1);
    meta.has_val_loss = 1;
    meta.val_loss = 1.25;
    meta.has_data_rng = 1;
    rng_seed(&meta.data_rng, 99);
    EXPECT(ckpt_save(path, m, &tr, &meta, err, sizeof err) == 0);
    CkptMeta loaded;
    Trainer tr2;
    GPT *m2 = ckpt_load(path, pool, &loaded, &tr2, &tc, err, sizeof err);
    EXPECT(m2 != NULL);
    if (!m2) {
        printf("    %s\n", err);
        return;
    }
    expect_same_bits("params", m2->param_mem, m->param_mem, m->params.numel);
    expect_same_bits("adam m", tr2.m, tr.m, m->params.numel);
    expect_same_bits("adam v", tr2.v, tr.v, m->params.numel);
    EXPECT(tr2.step == 2 && m2->pass == m->pass && m2->dropout_seed == m->dropout_seed);
    EXPECT(loaded.has_data_rng && memcmp(&loaded.data_rng, &meta.data_rng, sizeof(Rng)) == 0);
    size_t len;
    const char *vocab = ckpt_meta_get(&loaded, "vocab", &len);
    EXPECT(vocab && len == sizeof VOCAB - 1 && memcmp(vocab, VOCAB, len) == 0 && loaded.has_val_loss &&
           loaded.val_loss == 1.25);
    EXPECT(loaded.n_entries == 2 && loaded.n_beside_task == 1 && strcmp(loaded.entries[0].key, "encoding") == 0);
    EXPECT(memcmp(&m2->config, &m->config, sizeof c) == 0);
    /* the metadata alone, without the weights */
    GPTConfig peeked;
    CkptMeta peek_meta;
    EXPECT(ckpt_peek(path, &peeked, &peek_meta, err, sizeof err) == 0);
    vocab = ckpt_meta_get(&peek_meta, "vocab", &len);
    EXPECT(memcmp(&peeked, &m->config, sizeof c) == 0 && peek_meta.step == 2 && vocab &&
           len == sizeof VOCAB - 1 && memcmp(vocab, VOCAB, len) == 0);
    ckpt_meta_free(&peek_meta);
    /* saving what was loaded writes the same bytes */
    EXPECT(ckpt_save(path2, m2, &tr2, &loaded, err, sizeof err) == 0);
    EXPECT(file_equal(path, path2));
    /* training on continues identically */
    trainer_step(&tr, m, idx, targets, 2, 8);
    trainer_step(&tr2, m2, idx, targets, 2, 8);
    expect_same_bits("params one step later", m2->param_mem, m->param_mem, m->params.numel);
    ckpt_meta_free(&loaded);
    trainer_free(&tr2);
    gpt_free(m2);
    /* without a trainer: weights only, no optimizer tensors */
    EXPECT(ckpt_save(path2, m, NULL, &meta, err, sizeof err) == 0);
    /* for sampling (no trainer): an inference model, with the training model's logits */
    GPT *inf = ckpt_load(path2, pool, &loaded, NULL, NULL, err, sizeof err);
    EXPECT(inf && inf->inference && inf->grad_mem == NULL);
    if (inf) {
        gpt_forward(m, idx, NULL, 2, 8, 0);
        gpt_forward(inf, idx, NULL, 2, 8, 0);
        expect_same_bits("logits of the inference model", inf->a.logits, m->a.logits, (size_t)16 * c.vocab_size);
        ckpt_meta_free(&loaded);
        gpt_free(inf);
    }
    StFile f;
    EXPECT(st_open(&f, path2, err, sizeof err) == 0 && f.n_tensors == m->params.n &&
           st_find(&f, "transformer.h.1.mlp.c_proj.weight") && !st_find(&f, "optimizer.m.lm_head.weight"));
    st_close(&f);
    /* a shape that disagrees with the config is refused: claim block_size 7 for a wpe of 8 rows */
    unsigned char *bytes;
    size_t nb;
    CHECK(read_whole_file(path2, &bytes, &nb) == 0);
    char *key = memmem(bytes, nb, "\"block_size\":\"8\"", 16);
    EXPECT(key != NULL);
    if (key) {
        key[14] = '7';
        FILE *fp = fopen(path2, "wb");
        fwrite(bytes, 1, nb, fp);
        fclose(fp);
        EXPECT(ckpt_load(path2, pool, &loaded, NULL, NULL, err, sizeof err) == NULL);
        EXPECT(strstr(err, "transformer.wpe.weight\" has shape [8, 16], expected [7, 16]") && strstr(err, path2));
    }
    free(bytes);
    ckpt_meta_free(&meta);
    trainer_free(&tr);
    gpt_free(m);
}

static void test_truncated_checkpoints_are_refused(void) {
    char path[256], cut[256], err[256];
    tmp_path(path, sizeof path, "whole.safetensors");
    tmp_path(cut, sizeof cut, "cut.safetensors");
    GPTConfig c = {1, 1, 8, 5, 4, 0.1f, 0.1f, 0.1f};
    GPT *m = gpt_create(&c, pool);
    gpt_init(m, 1);
    CkptMeta meta = {0};
    set_chars_meta(&meta, "abcde", 5);
    CHECK(ckpt_save(path, m, NULL, &meta, err, sizeof err) == 0);
    ckpt_meta_free(&meta);
    gpt_free(m);
    unsigned char *bytes;
    size_t n;
    CHECK(read_whole_file(path, &bytes, &n) == 0);
    /* every prefix of the file is refused with a message naming it, never a crash */
    size_t refused = 0;
    for (size_t len = 0; len < n; len++) {
        FILE *fp = fopen(cut, "wb");
        CHECK(fp && fwrite(bytes, 1, len, fp) == len);
        fclose(fp);
        CkptMeta got;
        GPT *g = ckpt_load(cut, pool, &got, NULL, NULL, err, sizeof err);
        if (g) {
            printf("    a checkpoint cut at %zu of %zu bytes loaded\n", len, n);
            gpt_free(g);
            ckpt_meta_free(&got);
        } else if (strstr(err, cut)) {
            refused++;
        }
    }
    EXPECT(refused == n);
    /* a zero header size */
    memset(bytes, 0, 8);
    FILE *fp = fopen(cut, "wb");
    fwrite(bytes, 1, n, fp);
    fclose(fp);
    CkptMeta got;
    EXPECT(ckpt_load(cut, pool, &got, NULL, NULL, err, sizeof err) == NULL && strstr(err, "header size is 0"));
    free(bytes);
}

/* Peak and current resident memory in KiB from /proc/self/status, or -1 (not Linux). */
static long vm_kib(const char *field) {
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp) return -1;
    char line[256];
    long kib = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, field, n) == 0 && line[n] == ':') kib = atol(line + n + 1);
    fclose(fp);
    return kib;
}

static void test_huge_headers_take_linear_time_and_little_memory(void) {
    /* 100,000 tensors (a 10 MB header): the old parser compared every key with every earlier one
     * and st_find walked the list, a minute or more in all; now a fraction of a second */
    enum { N = 100000 };
    char path[256], err[256];
    tmp_path(path, sizeof path, "huge.safetensors");
    char (*names)[48] = xmalloc(N * sizeof *names);
    StWriteTensor *ts = xmalloc(N * sizeof *ts);
    static const size_t shape[2] = {1, 1};
    static const float zero = 0.0f;
    for (int i = 0; i < N; i++) {
        /* not in sorted order, so a search by name cannot lean on the file's order */
        snprintf(names[i], sizeof names[i], "transformer.h.%d.mlp.c_fc.weight", (int)((i * 7919L) % N));
        ts[i] = (StWriteTensor){names[i], 2, shape, &zero};
    }
    CHECK(st_write(path, ts, N, NULL, 0, err, sizeof err) == 0);
    free(ts);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    double header_kib = (double)(st.st_size - 8 - 4 * N) / 1024;
    /* reset the peak resident size to the current one (Linux), so VmHWM then says what st_open adds */
    FILE *clear = fopen("/proc/self/clear_refs", "w");
    int can_measure = clear && fputs("5", clear) >= 0;
    if (clear && fclose(clear) != 0) can_measure = 0;
    long rss_before = vm_kib("VmRSS");
    clock_t t0 = clock();
    StFile f;
    EXPECT(st_open_header(&f, path, err, sizeof err) == 0 && f.n_tensors == N);
    long peak = vm_kib("VmHWM");
    int found = 0;
    for (int i = 0; i < N; i++) {
        const StTensor *t = st_find(&f, names[i]);
        found += t && strcmp(t->name, names[i]) == 0;
    }
    double seconds = (double)(clock() - t0) / CLOCKS_PER_SEC;
    EXPECT(found == N && !st_find(&f, "transformer.h.100000.mlp.c_fc.weight") && !st_find(&f, ""));
    st_close(&f);
    if (seconds > 3.0) printf("    st_open_header + %d lookups took %.2f s of CPU\n", N, seconds);
    EXPECT(seconds <= 3.0); /* about 0.1 s here (0.5 s with sanitizers) */
    /* the JSON tree and the tensor table: a small multiple of the header, not 20-40 times it (the
     * sanitizers' allocator pads every block, so the figure means something only without them) */
    if (can_measure && rss_before > 0 && peak > 0 && !getenv("MINGPT_SANITIZED")) {
        double ratio = (double)(peak - rss_before) / header_kib;
        if (ratio > 8.0) printf("    parsing a %.0f KiB header took %ld KiB at its peak (%.1fx)\n", header_kib, peak - rss_before, ratio);
        EXPECT(ratio <= 8.0);
    }
    free(names);
    unlink(path);
}

/* ckpt_load for sampling holds the weights once: the file is mapped and each piece dropped after
 * it is copied, and the model has no gradients. (It used to read the whole file, then copy it into
 * weights and allocate gradients: three times the weights.) */
static void test_loading_holds_the_weights_once(void) {
    if (getenv("MINGPT_SANITIZED")) return; /* the sanitizers' allocator pads and keeps blocks */
    char path[256], err[256];
    tmp_path(path, sizeof path, "large.safetensors");
    GPTConfig c = {6, 4, 384, 10, 64, 0.1f, 0.1f, 0.1f}; /* an adder's vocabulary, 42 MB of weights */
    GPT *m = gpt_create(&c, pool);
    gpt_init(m, 7);
    CkptMeta meta = {0};
    strcpy(meta.task, "add");
    ckpt_meta_set(&meta, "ndigit", "2", 1, CKPT_BESIDE_TASK);
    CHECK(ckpt_save(path, m, NULL, &meta, err, sizeof err) == 0);
    ckpt_meta_free(&meta);
    long weights_kib = (long)(m->num_params * sizeof(float) / 1024);
    gpt_free(m);
    FILE *clear = fopen("/proc/self/clear_refs", "w"); /* the peak from here on (Linux) */
    int can_measure = clear && fputs("5", clear) >= 0;
    if (clear && fclose(clear) != 0) can_measure = 0;
    long rss_before = vm_kib("VmRSS");
    CkptMeta loaded;
    GPT *inf = ckpt_load(path, pool, &loaded, NULL, NULL, err, sizeof err);
    long peak = vm_kib("VmHWM");
    EXPECT(inf != NULL && inf->inference);
    if (can_measure && rss_before > 0 && peak > 0) {
        long used = peak - rss_before, allowed = weights_kib * 11 / 10 + 6 * 1024; /* + a 4 MiB piece */
        if (used > allowed) printf("    loading %ld KiB of weights peaked at %ld KiB more\n", weights_kib, used);
        EXPECT(used <= allowed);
    }
    ckpt_meta_free(&loaded);
    gpt_free(inf);
    unlink(path);
}

/* A checkpoint's tensors and metadata as st_write takes them, to edit and write back. */
typedef struct {
    StFile f;
    StWriteTensor t[128];
    int n;
    StMeta meta[40];
    int n_meta;
} Copy;

static void copy_open(Copy *c, const char *path) {
    char err[256];
    CHECK(st_open(&c->f, path, err, sizeof err) == 0 && c->f.n_tensors <= 128 && c->f.n_meta <= 40);
    c->n = c->f.n_tensors;
    for (int i = 0; i < c->n; i++) {
        const StTensor *t = &c->f.tensors[i];
        c->t[i] = (StWriteTensor){t->name, t->ndim, t->shape, (const float *)(c->f.data + t->begin)};
    }
    c->n_meta = c->f.n_meta;
    memcpy(c->meta, c->f.meta, (size_t)c->n_meta * sizeof(StMeta));
}

static StWriteTensor *copy_tensor(Copy *c, const char *name) {
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->t[i].name, name) == 0) return &c->t[i];
    CHECK(!"no such tensor in the copy");
    return NULL;
}

static void copy_drop(Copy *c, const char *name) {
    StWriteTensor *t = copy_tensor(c, name);
    *t = c->t[--c->n];
}

static void copy_set_meta(Copy *c, const char *key, const char *value) {
    for (int i = 0; i < c->n_meta; i++)
        if (strcmp(c->meta[i].key, key) == 0) {
            c->meta[i].value = (char *)value;
            c->meta[i].len = strlen(value);
            return;
        }
    c->meta[c->n_meta++] = (StMeta){(char *)key, (char *)value, strlen(value)};
}

static void copy_write(Copy *c, const char *path) {
    char err[256];
    for (int i = 0; i < c->n_meta; i++)
        if (c->meta[i].len == 0) c->meta[i].len = strlen(c->meta[i].value); /* 0 means strlen to st_write */
    CHECK(st_write(path, c->t, c->n, c->meta, c->n_meta, err, sizeof err) == 0);
    st_close(&c->f);
}

/* A 2-layer chars checkpoint with AdamW's moments after two steps, saved at path. */
static void save_trained_checkpoint(const char *path) {
    char err[256];
    GPTConfig c = small_config();
    GPT *m = gpt_create(&c, pool);
    gpt_init(m, 5);
    TrainConfig tc = train_config_default();
    Trainer tr;
    trainer_init(&tr, m, &tc);
    int idx[16], targets[16];
    for (int i = 0; i < 16; i++) idx[i] = i % 11, targets[i] = (i * 7) % 11;
    for (int s = 0; s < 2; s++) trainer_step(&tr, m, idx, targets, 2, 8);
    CkptMeta meta = {0};
    set_chars_meta(&meta, "\n !,.abcde\xC3\xA9", 12);
    CHECK(ckpt_save(path, m, &tr, &meta, err, sizeof err) == 0);
    ckpt_meta_free(&meta);
    trainer_free(&tr);
    gpt_free(m);
}

/* ckpt_load with a trainer: NULL and err, or the model (freed here) with tr->step in *step. */
static int load_ok(const char *path, char *err, size_t err_size, long *step, int *has_optimizer) {
    CkptMeta meta;
    Trainer tr;
    TrainConfig tc = train_config_default();
    GPT *m = ckpt_load(path, pool, &meta, &tr, &tc, err, err_size);
    if (!m) return 0;
    if (step) *step = tr.step;
    if (has_optimizer) *has_optimizer = meta.has_optimizer;
    trainer_free(&tr);
    ckpt_meta_free(&meta);
    gpt_free(m);
    return 1;
}

static void test_names_in_errors_are_escaped(void) {
    char path[256], bad[256], err[512];
    tmp_path(path, sizeof path, "escape.safetensors");
    tmp_path(bad, sizeof bad, "escape-bad.safetensors");
    save_trained_checkpoint(path);
    /* a tensor name, a dtype and a metadata key with terminal escapes and a carriage return */
    const char *evil = "transformer.h.0.\x1b[31mred\r";
    Copy c;
    copy_open(&c, path);
    c.t[c.n++] = (StWriteTensor){evil, 1, c.t[0].shape, c.t[0].data};
    copy_write(&c, bad);
    EXPECT(!load_ok(bad, err, sizeof err, NULL, NULL) && strstr(err, "\\x1B[31mred\\x0D\" has no place") &&
           !strchr(err, 0x1B) && !strchr(err, '\r'));
    const char *headers[] = {
        "{\"\\u001b[2J\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,5]}}",     /* span */
        "{\"x\":{\"dtype\":\"\\u001b[2J\",\"shape\":[1],\"data_offsets\":[0,4]}}",       /* dtype */
        "{\"__metadata__\":{\"\\u001b[2J\":1},\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
        "{\"\\u009b2J\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",      /* hole, C1 CSI */
        "{\"\\u001b[2J\":1,\"\\u001b[2J\":2}",                                            /* duplicate */
    };
    for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
        FILE *fp = fopen(bad, "wb");
        uint64_t n = strlen(headers[i]);
        unsigned char size_le[8];
        for (int k = 0; k < 8; k++) size_le[k] = (unsigned char)(n >> (8 * k));
        fwrite(size_le, 1, 8, fp);
        fwrite(headers[i], 1, n, fp);
        fwrite("\0\0\0\0\0\0\0\0", 1, 8, fp);
        fclose(fp);
        StFile f;
        int rc = st_open(&f, bad, err, sizeof err);
        int clean = !strchr(err, 0x1B) && !strstr(err, "\xC2\x9B") && (strstr(err, "\\x1B[2J") || strstr(err, "\\u009B2J"));
        if (rc == 0 || !clean) printf("    header #%zu: rc %d, err '%s'\n", i, rc, err);
        EXPECT(rc == -1 && clean);
    }
    /* a metadata value (as before) */
    copy_open(&c, path);
    copy_set_meta(&c, "task", "\x1b]0;owned\x07");
    copy_write(&c, bad);
    EXPECT(!load_ok(bad, err, sizeof err, NULL, NULL) && strstr(err, "unknown task \"\\x1B]0;owned\\x07\"") &&
           !strchr(err, 0x1B) && !strchr(err, 0x07));
}

static void test_optimizer_state_is_all_or_nothing(void) {
    char path[256], bad[256], err[512];
    tmp_path(path, sizeof path, "adam.safetensors");
    tmp_path(bad, sizeof bad, "adam-bad.safetensors");
    save_trained_checkpoint(path);
    long step = -1;
    int has_opt = 0;
    EXPECT(load_ok(path, err, sizeof err, &step, &has_opt) && step == 2 && has_opt);
    /* the very tensor the old code probed: without it, it dropped all the state and restarted at
     * step 0 without a word */
    const char *missing[] = {"optimizer.m.transformer.wte.weight", "optimizer.m.lm_head.weight",
                             "optimizer.v.transformer.h.1.mlp.c_proj.bias"};
    for (int i = 0; i < 3; i++) {
        Copy c;
        copy_open(&c, path);
        copy_drop(&c, missing[i]);
        copy_write(&c, bad);
        step = -1;
        int loaded = load_ok(bad, err, sizeof err, &step, NULL);
        if (loaded) printf("    without %s: loaded at step %ld\n", missing[i], step);
        EXPECT(!loaded && strstr(err, missing[i]) && strstr(err, "some of AdamW's moments but not all") && strstr(err, bad));
        CkptMeta meta; /* without a trainer too: the file is broken either way */
        EXPECT(ckpt_load(bad, pool, &meta, NULL, NULL, err, sizeof err) == NULL && strstr(err, missing[i]));
    }
    /* every v, or every m, alone is still "some" */
    Copy c;
    copy_open(&c, path);
    for (int i = c.n - 1; i >= 0; i--)
        if (strncmp(c.t[i].name, "optimizer.m.", 12) == 0) copy_drop(&c, c.t[i].name);
    copy_write(&c, bad);
    GPTConfig config;
    CkptMeta meta;
    EXPECT(ckpt_peek(bad, &config, &meta, err, sizeof err) == 0 && meta.has_optimizer);
    ckpt_meta_free(&meta);
    EXPECT(!load_ok(bad, err, sizeof err, NULL, NULL) && strstr(err, "missing tensor \"optimizer.m.transformer.wte.weight\""));
    /* a moment of the wrong shape */
    copy_open(&c, path);
    copy_tensor(&c, "optimizer.v.transformer.wpe.weight")->shape = copy_tensor(&c, "transformer.h.0.mlp.c_fc.weight")->shape;
    copy_tensor(&c, "optimizer.v.transformer.wpe.weight")->data = copy_tensor(&c, "transformer.h.0.mlp.c_fc.weight")->data;
    copy_write(&c, bad);
    EXPECT(!load_ok(bad, err, sizeof err, NULL, NULL) && strstr(err, "optimizer.v.transformer.wpe.weight\" has shape [64, 16]"));
    /* none at all: a fresh optimizer at step 0, as before */
    copy_open(&c, path);
    for (int i = c.n - 1; i >= 0; i--)
        if (strncmp(c.t[i].name, "optimizer.", 10) == 0) copy_drop(&c, c.t[i].name);
    copy_write(&c, bad);
    EXPECT(load_ok(bad, err, sizeof err, &step, &has_opt) && step == 0 && !has_opt);
    /* other tensors: PyTorch's attn.bias buffers and names outside the model are ignored; a weight
     * the config has no place for (a third layer, a misspelt name, a moment of it) is refused */
    copy_open(&c, path);
    size_t mask_shape[4] = {1, 1, 8, 8};
    static float mask[64];
    c.t[c.n++] = (StWriteTensor){"transformer.h.1.attn.bias", 4, mask_shape, mask};
    c.t[c.n++] = (StWriteTensor){"fixture.logits", 4, mask_shape, mask};
    copy_write(&c, bad);
    EXPECT(load_ok(bad, err, sizeof err, &step, NULL) && step == 2);
    const char *stray[] = {"transformer.h.2.ln_1.bias", "lm_head.bias", "optimizer.m.transformer.h.2.ln_1.bias",
                           "transformer.h.0.attn.bias.weight"};
    for (int i = 0; i < 4; i++) {
        copy_open(&c, path);
        c.t[c.n++] = (StWriteTensor){stray[i], 1, c.t[0].shape + 1, c.t[0].data};
        copy_write(&c, bad);
        EXPECT(!load_ok(bad, err, sizeof err, NULL, NULL) && strstr(err, stray[i]) && strstr(err, "has no place") &&
               strstr(err, "n_layer 2"));
    }
}

static void test_non_finite_values_are_neither_saved_nor_loaded(void) {
    char path[256], bad[256], before[256], err[512];
    tmp_path(path, sizeof path, "finite.safetensors");
    tmp_path(bad, sizeof bad, "finite-bad.safetensors");
    tmp_path(before, sizeof before, "finite-before.safetensors");
    save_trained_checkpoint(path);
    /* loading: NaN or Inf in a weight or a moment, a negative second moment, a NaN val_loss */
    static const struct {
        const char *tensor;
        float value;
        const char *expect;
    } cases[] = {
        {"transformer.h.0.mlp.c_fc.weight", NAN, "tensor \"transformer.h.0.mlp.c_fc.weight\" holds NaN at index 3 (a diverged run?); this checkpoint cannot be used"},
        {"lm_head.weight", -INFINITY, "tensor \"lm_head.weight\" holds -Inf at index 3"},
        {"optimizer.m.transformer.wte.weight", INFINITY, "tensor \"optimizer.m.transformer.wte.weight\" holds +Inf at index 3"},
        {"optimizer.v.transformer.ln_f.bias", -1e-9f, "tensor \"optimizer.v.transformer.ln_f.bias\" holds a negative value at index 3"},
        {"optimizer.v.transformer.ln_f.bias", NAN, "\"optimizer.v.transformer.ln_f.bias\" holds NaN at index 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Copy c;
        copy_open(&c, path);
        float *x = (float *)copy_tensor(&c, cases[i].tensor)->data;
        x[3] = cases[i].value;
        copy_write(&c, bad);
        int loaded = load_ok(bad, err, sizeof err, NULL, NULL);
        if (loaded || !strstr(err, cases[i].expect)) printf("    case %zu: %s\n", i, loaded ? "loaded" : err);
        EXPECT(!loaded && strstr(err, cases[i].expect) && strstr(err, bad));
        CkptMeta meta; /* for sampling too */
        EXPECT(ckpt_load(bad, pool, &meta, NULL, NULL, err, sizeof err) == NULL && strstr(err, cases[i].expect));
    }
    /* -0.0 is a second moment like +0.0 */
    Copy c;
    copy_open(&c, path);
    ((float *)copy_tensor(&c, "optimizer.v.transformer.ln_f.bias")->data)[3] = -0.0f;
    copy_write(&c, bad);
    EXPECT(load_ok(bad, err, sizeof err, NULL, NULL));
    const char *val_losses[] = {"nan", "inf", "-inf", "1.5x"};
    for (int i = 0; i < 4; i++) {
        copy_open(&c, path);
        copy_set_meta(&c, "val_loss", val_losses[i]);
        copy_write(&c, bad);
        EXPECT(!load_ok(bad, err, sizeof err, NULL, NULL) && strstr(err, "\"val_loss\"") && strstr(err, "not a finite number"));
    }
    /* saving: a diverged model, moments or val_loss write nothing and leave the old file as it was */
    CkptMeta meta;
    Trainer tr;
    TrainConfig tc = train_config_default();
    GPT *m = ckpt_load(path, pool, &meta, &tr, &tc, err, sizeof err);
    CHECK(m != NULL);
    CHECK(ckpt_save(before, m, &tr, &meta, err, sizeof err) == 0 && ckpt_save(path, m, &tr, &meta, err, sizeof err) == 0);
    m->w.h[0].c_fc_w[3] = NAN;
    EXPECT(ckpt_save(path, m, &tr, &meta, err, sizeof err) == -1 && strstr(err, path) &&
           strstr(err, "the model holds NaN/Inf (training diverged); not saved") &&
           strstr(err, "\"transformer.h.0.mlp.c_fc.weight\" holds NaN at index 3"));
    EXPECT(ckpt_save(path, m, NULL, &meta, err, sizeof err) == -1 && strstr(err, "training diverged"));
    m->w.h[0].c_fc_w[3] = 0.0f;
    const Tensor *lm_head = &m->params.t[m->params.n - 1]; /* the last parameter, as in minGPT */
    float *last_m = tr.m + lm_head->offset + lm_head->numel - 1;
    *last_m = INFINITY;
    EXPECT(ckpt_save(path, m, &tr, &meta, err, sizeof err) == -1 && strstr(err, "AdamW's moments hold NaN/Inf") &&
           strstr(err, "\"optimizer.m.lm_head.weight\" holds +Inf at index 175"));
    EXPECT(ckpt_save(bad, m, NULL, &meta, err, sizeof err) == 0); /* the weights alone are fine */
    *last_m = 0.0f;
    tr.v[5] = -1.0f;
    EXPECT(ckpt_save(path, m, &tr, &meta, err, sizeof err) == -1 &&
           strstr(err, "\"optimizer.v.transformer.wte.weight\" holds a negative value at index 5"));
    tr.v[5] = 0.0f;
    meta.has_val_loss = 1;
    meta.val_loss = NAN;
    EXPECT(ckpt_save(path, m, &tr, &meta, err, sizeof err) == -1 && strstr(err, "validation loss is NaN (training diverged); not saved"));
    EXPECT(file_equal(before, path));
    meta.val_loss = 2.5;
    EXPECT(ckpt_save(path, m, &tr, &meta, err, sizeof err) == 0 && load_ok(path, err, sizeof err, NULL, NULL));
    ckpt_meta_free(&meta);
    trainer_free(&tr);
    gpt_free(m);
}

static void test_fifos_and_folders_are_refused_at_once(void) {
    char fifo[256], err[256];
    tmp_path(fifo, sizeof fifo, "pipe.safetensors");
    CHECK(mkfifo(fifo, 0600) == 0);
    /* with no writer, opening a FIFO for reading used to wait forever: the alarm turns a hang into
     * a failed test */
    alarm(20);
    StFile f;
    GPTConfig config;
    CkptMeta meta;
    EXPECT(st_open_header(&f, fifo, err, sizeof err) == -1 && strstr(err, "pipe.safetensors: not a regular file (it is a FIFO)"));
    EXPECT(st_open(&f, fifo, err, sizeof err) == -1 && strstr(err, "it is a FIFO"));
    EXPECT(ckpt_peek(fifo, &config, &meta, err, sizeof err) == -1 && strstr(err, "it is a FIFO"));
    EXPECT(ckpt_load(fifo, pool, &meta, NULL, NULL, err, sizeof err) == NULL && strstr(err, "it is a FIFO"));
    alarm(0);
    EXPECT(st_open(&f, tmpdir, err, sizeof err) == -1 && strstr(err, "not a regular file (it is a directory)"));
    EXPECT(st_open(&f, "/dev/null", err, sizeof err) == -1 && strstr(err, "it is a character device"));
    unlink(fifo);
}

static void test_sampler(void) {
    float logits[5] = {1.0f, 3.0f, 2.0f, 3.0f, -1.0f}, scratch[15];
    Rng rng;
    rng_seed(&rng, 1);
    SampleConfig greedy = {1.0f, 0, 1.0f, 1}, top1 = {1.0f, 1, 1.0f, 0}, top2 = {1.0f, 2, 1.0f, 0},
                 plain = {1.0f, 0, 1.0f, 0};
    EXPECT(sample_token(logits, 5, &greedy, &rng, scratch) == 1); /* first of the tied maxima */
    int seen[5] = {0};
    for (int i = 0; i < 2000; i++) seen[sample_token(logits, 5, &top2, &rng, scratch)]++;
    /* top-2 keeps both 3.0s and nothing else */
    EXPECT(seen[0] == 0 && seen[2] == 0 && seen[4] == 0 && seen[1] > 800 && seen[3] > 800);
    float distinct[4] = {0.5f, 2.0f, -1.0f, 1.0f};
    for (int i = 0; i < 100; i++) EXPECT(sample_token(distinct, 4, &top1, &rng, scratch) == 1);
    /* empirical frequencies of softmax([0, log 2, log 7]) = (0.1, 0.2, 0.7) */
    float three[3] = {0.0f, logf(2.0f), logf(7.0f)};
    int counts[3] = {0};
    for (int i = 0; i < 100000; i++) counts[sample_token(three, 3, &plain, &rng, scratch)]++;
    EXPECT(fabs(counts[0] / 1e5 - 0.1) < 0.005 && fabs(counts[1] / 1e5 - 0.2) < 0.006 &&
           fabs(counts[2] / 1e5 - 0.7) < 0.007);
    /* a low temperature sharpens towards the argmax */
    SampleConfig cold = {0.05f, 0, 1.0f, 0};
    int hits = 0;
    for (int i = 0; i < 1000; i++) hits += sample_token(three, 3, &cold, &rng, scratch) == 2;
    EXPECT(hits == 1000);
    /* top-p keeps the smallest set whose mass reaches p: of (0.15, 0.5, 0.05, 0.3), p = 0.7 keeps
     * 0.5 and 0.3 (0.5 alone falls short), renormalised to 0.625 and 0.375; p = 0.45 keeps 0.5 */
    float four[4] = {logf(0.15f), logf(0.5f), logf(0.05f), logf(0.3f)};
    SampleConfig nucleus = {1.0f, 0, 0.7f, 0}, half = {1.0f, 0, 0.45f, 0};
    int got[4] = {0};
    for (int i = 0; i < 100000; i++) got[sample_token(four, 4, &nucleus, &rng, scratch)]++;
    EXPECT(got[0] == 0 && got[2] == 0 && fabs(got[1] / 1e5 - 0.625) < 0.007 && fabs(got[3] / 1e5 - 0.375) < 0.007);
    for (int i = 0; i < 1000; i++) EXPECT(sample_token(four, 4, &half, &rng, scratch) == 1);
}

static void test_cached_generation_equals_minGPT_generate(void) {
    GPTConfig c = {2, 2, 32, 11, 32, 0.1f, 0.1f, 0.1f};
    GPT *m = gpt_create(&c, pool);
    gpt_init(m, 77);
    Rng w;
    rng_seed(&w, 78);
    for (size_t i = 0; i < m->params.numel; i++) m->param_mem[i] += 0.2f * rng_normal(&w); /* opinions */
    SampleConfig configs[3] = {{1.0f, 0, 1.0f, 1}, {1.0f, 10, 1.0f, 0}, {0.8f, 5, 0.9f, 0}};
    for (int k = 0; k < 3; k++) {
        /* prompt 5 + 27 new = block_size: the cache never has to slide */
        int a[32] = {1, 4, 1, 5, 9}, b[32] = {1, 4, 1, 5, 9};
        Rng ra, rb;
        rng_seed(&ra, 5);
        rng_seed(&rb, 5);
        generate(m, a, 5, 27, &configs[k], GEN_EXACT, &ra, NULL, NULL);
        generate(m, b, 5, 27, &configs[k], GEN_SLIDING, &rb, NULL, NULL);
        EXPECT(memcmp(a, b, sizeof a) == 0);
    }
    /* past block_size the cache slides: the context stays within [block/2, block] */
    int *long_text = xmalloc(300 * sizeof(int));
    long_text[0] = 3;
    Rng r;
    rng_seed(&r, 6);
    generate(m, long_text, 1, 299, &configs[1], GEN_SLIDING, &r, NULL, NULL);
    EXPECT(m->cache_len >= 16 && m->cache_len <= 32);
    for (int i = 0; i < 300; i++) EXPECT(long_text[i] >= 0 && long_text[i] < 11);
    free(long_text);
    gpt_free(m);
}

static void test_eval_matches_pytorch_model(void) {
    char err[256];
    CkptMeta meta;
    GPT *m = ckpt_load("tests/fixtures/torch_chars.safetensors", pool, &meta, NULL, NULL, err, sizeof err);
    EXPECT(m != NULL);
    if (!m) {
        printf("    %s\n", err);
        return;
    }
    Vocab v;
    size_t vocab_len;
    const char *vocab = ckpt_meta_get(&meta, "vocab", &vocab_len);
    EXPECT(vocab && vocab_from_string(&v, vocab, vocab_len, 0) == 0 && v.size == 11);
    unsigned char *bytes;
    size_t nb, n, bad;
    uint32_t *text;
    CHECK(read_whole_file("tests/fixtures/torch_chars.txt", &bytes, &nb) == 0);
    CHECK(text_decode(bytes, nb, 0, &text, &n, &bad) == 0);
    int *tokens = xmalloc(n * sizeof(int));
    for (size_t i = 0; i < n; i++) tokens[i] = vocab_index(&v, text[i]);
    StFile f;
    CHECK(st_open(&f, "tests/fixtures/torch_chars.safetensors", err, sizeof err) == 0);
    float want = strtof(st_meta(&f, "expected_eval_loss"), NULL);
    size_t want_count = (size_t)atol(st_meta(&f, "expected_eval_count"));
    st_close(&f);
    for (int batch = 1; batch <= 3; batch += 2) { /* batching must not change the answer */
        size_t count;
        float got = (float)text_eval_loss(m, tokens, n, batch, 0, &count, NULL, NULL);
        EXPECT(count == want_count);
        expect_close("eval loss", &got, &want, 1, 1e-5, 1e-5);
    }
    free(tokens);
    free(text);
    free(bytes);
    vocab_free(&v);
    ckpt_meta_free(&meta);
    gpt_free(m);
}

/* Every point of every polyline and circle in an SVG written by plot_svg: returns how many there
 * are, and fails the case if one lies outside the plotting box. */
static int svg_points_inside_box(const char *svg) {
    const double left = 78, right = 760 - 24, top = 48, bottom = 460 - 62, eps = 0.06;
    int n = 0;
    for (const char *p = svg; (p = strstr(p, "points=\"")) != NULL;) {
        p += 8;
        while (*p != '"') {
            double x, y;
            int used;
            if (sscanf(p, "%lf,%lf%n", &x, &y, &used) != 2) {
                EXPECT(!"a polyline point that does not parse");
                return n;
            }
            EXPECT(x >= left - eps && x <= right + eps && y >= top - eps && y <= bottom + eps);
            n++;
            p += used;
            while (*p == ' ') p++;
        }
    }
    for (const char *p = svg; (p = strstr(p, "<circle cx=\"")) != NULL; p++) {
        double x, y;
        EXPECT(sscanf(p, "<circle cx=\"%lf\" cy=\"%lf\"", &x, &y) == 2);
        /* the legend's marker sits inside the box too */
        EXPECT(x >= left - eps && x <= right + eps && y >= top - eps && y <= bottom + eps);
    }
    return n;
}

static void test_run_log_and_plot(void) {
    char csv[256], svg[256], err[256], text[1 << 16];
    tmp_path(csv, sizeof csv, "run.csv");
    tmp_path(svg, sizeof svg, "run.svg");
    /* written rows read back, an empty val_loss as NaN; a second open appends without a header */
    FILE *fp = runlog_open_csv(csv, 0, err, sizeof err);
    EXPECT(fp != NULL);
    LogRow rows[3] = {{1, 0.5, 4.2, NAN, 5e-4, 1000.0}, {10, 1.5, 3.1, 3.3, 5e-4, 1200.0}, {20, 2.5, 2.4, 2.9, 4e-4, 1100.0}};
    for (int i = 0; i < 2; i++) EXPECT(runlog_write_row(fp, &rows[i]) == 0);
    fclose(fp);
    fp = runlog_open_csv(csv, 1, err, sizeof err);
    EXPECT(fp && runlog_write_row(fp, &rows[2]) == 0);
    fclose(fp);
    RunLog log = {0};
    EXPECT(runlog_read_csv(csv, &log, err, sizeof err) == 0);
    EXPECT(log.n == 3 && log.rows[0].iter == 1 && isnan(log.rows[0].val_loss) && log.rows[2].iter == 20);
    EXPECT(log.n == 3 && fabs(log.rows[1].val_loss - 3.3) < 1e-9 && fabs(log.rows[2].lr - 4e-4) < 1e-12);
    /* the plot: both curves, every point inside the box, linear and log */
    for (int log_scale = 0; log_scale < 2; log_scale++) {
        EXPECT(plot_svg(svg, &log, "a <title> & more", log_scale, err, sizeof err) == 0);
        FILE *in = fopen(svg, "rb");
        size_t n = in ? fread(text, 1, sizeof text - 1, in) : 0;
        if (in) fclose(in);
        text[n] = '\0';
        EXPECT(strncmp(text, "<svg ", 5) == 0 && strstr(text, "</svg>\n") != NULL);
        EXPECT(strstr(text, "a &lt;title&gt; &amp; more") != NULL);
        EXPECT(strstr(text, "train loss") && strstr(text, "validation loss"));
        EXPECT(svg_points_inside_box(text) == 3 + 2); /* train 3 points, validation 2 */
    }
    /* losses across three decades on a log axis */
    RunLog wide = {0};
    double losses[] = {40.0, 5.0, 0.3, 0.05};
    for (int i = 0; i < 4; i++) {
        LogRow r = {i * 1000L, i, losses[i], NAN, 1e-3, 1.0};
        runlog_add(&wide, &r);
    }
    EXPECT(plot_svg(svg, &wide, "wide", 1, err, sizeof err) == 0);
    FILE *in = fopen(svg, "rb");
    size_t n = in ? fread(text, 1, sizeof text - 1, in) : 0;
    if (in) fclose(in);
    text[n] = '\0';
    EXPECT(svg_points_inside_box(text) == 4);
    EXPECT(strstr(text, ">0.05<") && strstr(text, ">50<")); /* ticks reach past both ends */
    /* a title with a control character and a byte that is not UTF-8 still makes valid XML */
    EXPECT(plot_svg(svg, &wide, "caf\xC3\xA9 \x01" "cut\xE2\x82", 1, err, sizeof err) == 0);
    in = fopen(svg, "rb");
    n = in ? fread(text, 1, sizeof text - 1, in) : 0;
    if (in) fclose(in);
    text[n] = '\0';
    EXPECT(strstr(text, ">caf\xC3\xA9 cut?" "?</text>") != NULL); /* (split: "??<" is a trigraph) */
    runlog_free(&wide);
    runlog_free(&log);
    /* malformed logs are refused with the line that is wrong */
    fp = fopen(csv, "wb");
    fputs(RUNLOG_HEADER "\n1,0.1,4,,1e-3,10\n2,0.2,x,,1e-3,10\n", fp);
    fclose(fp);
    RunLog bad = {0};
    EXPECT(runlog_read_csv(csv, &bad, err, sizeof err) == -1 && strstr(err, "run.csv:3:"));
    runlog_free(&bad);
    fp = fopen(csv, "wb");
    fputs("step,loss\n1,2\n", fp);
    fclose(fp);
    EXPECT(runlog_read_csv(csv, &bad, err, sizeof err) == -1 && strstr(err, "not a mingpt log"));
    runlog_free(&bad);
    fp = fopen(csv, "wb");
    fputs(RUNLOG_HEADER "\n1,0.1,4,,1e-3\n", fp);
    fclose(fp);
    EXPECT(runlog_read_csv(csv, &bad, err, sizeof err) == -1 && strstr(err, "run.csv:2:"));
    runlog_free(&bad);
    /* a row cut short at the end (a crash, a full disk) is dropped, not an error */
    fp = fopen(csv, "wb");
    fputs(RUNLOG_HEADER "\n1,0.1,4,,1e-3,10\n2,0.2,3.", fp);
    fclose(fp);
    EXPECT(runlog_read_csv(csv, &bad, err, sizeof err) == 0 && bad.n == 1);
    runlog_free(&bad);
    RunLog empty = {0};
    EXPECT(plot_svg(svg, &empty, "nothing", 0, err, sizeof err) == -1 && strstr(err, "no loss values"));
    /* values no axis can span are refused, not drawn as NaN */
    LogRow huge[2] = {{1, 0, 1e308, NAN, 1e-3, 1}, {2, 0, -1e308, NAN, 1e-3, 1}};
    runlog_add(&empty, &huge[0]);
    runlog_add(&empty, &huge[1]);
    EXPECT(plot_svg(svg, &empty, "huge", 0, err, sizeof err) == -1 && strstr(err, "too wide a range"));
    runlog_free(&empty);
}

int main(void) {
    pool = pool_create(2);
    CHECK(mkdtemp(tmpdir) != NULL);
    RUN(test_utf8_decoder_is_strict);
    RUN(test_vocabulary);
    RUN(test_json_parser);
    RUN(test_printable_escapes_what_a_terminal_would_obey);
    RUN(test_safetensors_round_trip_and_validation);
    RUN(test_file_cut_short_while_mapped);
    RUN(test_checkpoint_round_trip_is_bit_exact);
    RUN(test_truncated_checkpoints_are_refused);
    RUN(test_huge_headers_take_linear_time_and_little_memory);
    RUN(test_loading_holds_the_weights_once);
    RUN(test_names_in_errors_are_escaped);
    RUN(test_optimizer_state_is_all_or_nothing);
    RUN(test_non_finite_values_are_neither_saved_nor_loaded);
    RUN(test_fifos_and_folders_are_refused_at_once);
    RUN(test_sampler);
    RUN(test_cached_generation_equals_minGPT_generate);
    RUN(test_eval_matches_pytorch_model);
    RUN(test_run_log_and_plot);
    pool_free(pool);
    harness_remove_dir(tmpdir);
    return harness_finish();
}
