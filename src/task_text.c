/* task_text.c — a language model on a text file: minGPT's chargpt (one token per character) and
 * models on GPT-2's BPE tokens (GPT-2 fine-tuned with --init, or trained from scratch with
 * --tokenizer), plus sampling from and evaluating them, Hugging Face GPT-2 folders included.
 *
 * What is text-specific lives behind tokenizer.h: this file asks which tokenizer it holds only to
 * name things ("characters" or "tokens") and to choose where an empty prompt starts. Training
 * windows are random (block_size+1)-token slices of the first (1 - val_frac) of the tokens, as
 * minGPT's CharDataset; the rest is held out for validation. A checkpoint carries its tokenizer,
 * so sample and eval need nothing beside it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "decode.h"
#include "hf_gpt2.h"
#include "json.h"
#include "progress.h"
#include "sample.h"
#include "task_common.h"
#include "task_table.h"
#include "tasks.h"
#include "tokenizer.h"
#include "utf8.h"

#define TRAIN_PROMPT "O God, O God!" /* chargpt's */
#define VAL_MAX_WINDOWS 1024         /* validation during training reads at most this many windows */
#define EVAL_ACT_BUDGET ((size_t)1 << 30) /* activations eval may use: GPT-2's logits are large */

/* ---------------------------------------------------------------- tokenizers and models */

static int is_bpe(const Tokenizer *tok) { return tok->kind == TOKENIZER_BPE; }
static const char *units(const Tokenizer *tok) { return is_bpe(tok) ? "tokens" : "characters"; }

/* Prints "mingpt: WHERE: ERR", adding "of VOCAB" when err says a character is not in a vocabulary
 * (only character models have one that a text can step outside of). */
static void encode_failed(const char *where, const char *err, const char *vocab_source) {
    int outside = strstr(err, "not in the vocabulary") != NULL;
    fprintf(stderr, "mingpt: %s: %s%s%s\n", where, err, outside ? " of " : "", outside ? vocab_source : "");
}

/* ---------------------------------------------------------------- line ends and places in a file */

/* The CRLF line ends in text[0..n). */
static size_t count_crlf(const unsigned char *text, size_t n) {
    size_t count = 0;
    for (size_t i = 0; i + 1 < n; i++) count += text[i] == '\r' && text[i + 1] == '\n';
    return count;
}

/* --crlf fold: each \r\n of text[0..*n) becomes \n in place (*n shrinks; a lone \r stays). Text meant
 * as UTF-8 that is not is left as it is: encoding it fails, and its error's byte offset must be the
 * file's. Folding keeps every character's line and column, which is how errors name places. */
static void fold_crlf(unsigned char *text, size_t *n, int as_bytes) {
    for (size_t i = 0; !as_bytes && i < *n;) {
        uint32_t cp;
        int used = text[i] < 0x80 ? 1 : utf8_decode(text + i, *n - i, &cp);
        if (!used) return;
        i += (size_t)used;
    }
    size_t kept = 0;
    for (size_t i = 0; i < *n; i++)
        if (!(text[i] == '\r' && i + 1 < *n && text[i + 1] == '\n')) text[kept++] = text[i];
    *n = kept;
}

/* Byte `at` of text as an editor shows it: "line L, column C", both from 1, columns counting
 * characters (bytes, for a byte model). */
static void text_place(const unsigned char *text, size_t at, int as_bytes, char *out, size_t size) {
    size_t line = 1, column = 1;
    for (size_t i = 0; i < at; i++) {
        if (text[i] == '\n') line++, column = 1;
        else if (as_bytes || (text[i] & 0xC0) != 0x80) column++; /* not a UTF-8 continuation byte */
    }
    snprintf(out, size, "line %zu, column %zu", line, column);
}

/* Prints why tok could not encode text[0..n), a file's whole text as read (after --crlf fold, which
 * keeps lines and columns), when byte `at` failed (tok->failed_at, plus where the part encoded
 * starts): the tokenizer's own message counts from the part. A character outside the vocabulary is
 * named by its line and column in the file; the \r of a CRLF line end says what to do. */
static void file_encode_failed(const char *file, const unsigned char *text, size_t n, size_t at, const Tokenizer *tok,
                               const char *vocab_source) {
    int as_bytes = tok->kind == TOKENIZER_BYTES;
    uint32_t c = text[at];
    if (is_bpe(tok) || (!as_bytes && c >= 0x80 && !utf8_decode(text + at, n - at, &c))) {
        fprintf(stderr, "mingpt: %s: invalid UTF-8 at byte offset %zu%s\n", file, at,
                is_bpe(tok) ? "" : " (use --bytes to train on raw bytes)");
        return;
    }
    char place[64], name[48];
    text_place(text, at, as_bytes, place, sizeof place);
    char_name(c, as_bytes, name, sizeof name);
    if (c == '\r' && at + 1 < n && text[at + 1] == '\n')
        fprintf(stderr, "mingpt: %s: %s: character %s is not in the vocabulary of %s, which was trained without "
                        "\\r: the file has %zu CRLF line ends (--crlf fold reads \\r\\n as \\n)\n",
                file, place, name, vocab_source, count_crlf(text, n));
    else
        fprintf(stderr, "mingpt: %s: %s: character %s is not in the vocabulary of %s\n", file, place, name,
                vocab_source);
}

/* ---------------------------------------------------------------- checkpoint metadata */

/* A language model's checkpoint keeps its tokenizer in its metadata, so sample and eval need
 * nothing beside it. A character model ("chars"): "encoding" ("utf-8", the default, or "bytes":
 * vocabulary characters U+0000..U+00FF stand for bytes) and "vocab" (the characters in token order,
 * UTF-8; U+0000 may be one of them). A BPE model ("bpe"): "vocab" (encoder.json's text, the JSON
 * object token -> id) and "merges" (vocab.bpe's text, the merges by rank). */

/* Records tok in meta. */
static void meta_set_tokenizer(CkptMeta *meta, const Tokenizer *tok) {
    if (is_bpe(tok)) {
        snprintf(meta->task, sizeof meta->task, "bpe");
        char *vocab, *merges;
        size_t vocab_len, merges_len;
        tok_bpe_to_text(tok, &vocab, &vocab_len, &merges, &merges_len);
        ckpt_meta_set(meta, "vocab", vocab, vocab_len, CKPT_LAST);
        ckpt_meta_set(meta, "merges", merges, merges_len, CKPT_LAST);
        free(vocab);
        free(merges);
    } else {
        snprintf(meta->task, sizeof meta->task, "chars");
        const char *encoding = tok->kind == TOKENIZER_BYTES ? "bytes" : "utf-8";
        ckpt_meta_set(meta, "encoding", encoding, strlen(encoding), CKPT_BESIDE_TASK);
        size_t len;
        char *vocab = tok_chars_to_string(tok, &len);
        ckpt_meta_set(meta, "vocab", vocab, len, CKPT_LAST);
        free(vocab);
    }
}

extern const TaskDef TEXT_TASK; /* this file's entry in the task table, at its end */

static int is_bpe_checkpoint(const CkptMeta *meta) { return strcmp(meta->task, "bpe") == 0; }

/* "crlf": "fold" when the model was trained with --crlf fold, so that eval and sample read a text
 * as it did; "keep" (or no entry, as before the option) keeps \r as text. The entry is written only
 * when folding, or to overwrite a resumed checkpoint's. */
static int meta_folds_crlf(const CkptMeta *meta) {
    const char *crlf = ckpt_meta_get(meta, "crlf", NULL);
    return crlf && strcmp(crlf, "fold") == 0;
}

static void meta_set_crlf(CkptMeta *meta, int fold) {
    const char *value = fold ? "fold" : "keep";
    if (fold || ckpt_meta_get(meta, "crlf", NULL)) ckpt_meta_set(meta, "crlf", value, strlen(value), CKPT_BESIDE_TASK);
}

/* A character model whose vocabulary is bytes. */
static int has_byte_vocab(const CkptMeta *meta) {
    const char *encoding = ckpt_meta_get(meta, "encoding", NULL);
    return encoding && strcmp(encoding, "bytes") == 0;
}

/* The table's check_meta: the tokenizer's entries are there, and a character model's encoding is
 * one this file knows. The tokenizer's own checks run when it is built from them. */
static int check_text_meta(const char *path, const CkptMeta *meta, const GPTConfig *c, char *err, size_t err_size) {
    (void)c; /* the vocabulary's size is checked against vocab_size when the tokenizer is built */
    char shown[64];
    size_t len;
    const char *crlf = ckpt_meta_get(meta, "crlf", &len);
    if (crlf && strcmp(crlf, "keep") != 0 && strcmp(crlf, "fold") != 0)
        return error_text(err, err_size, "%s: metadata \"crlf\" is \"%s\"; this mingpt knows keep and fold", path,
                          json_printable(crlf, len, shown, sizeof shown));
    if (is_bpe_checkpoint(meta)) {
        static const char *const KEYS[2] = {"vocab", "merges"};
        for (int k = 0; k < 2; k++)
            if (!ckpt_meta_get(meta, KEYS[k], NULL))
                return error_text(err, err_size, "%s: metadata has no \"%s\" (a BPE model's tokenizer)", path, KEYS[k]);
        return 0;
    }
    const char *encoding = ckpt_meta_get(meta, "encoding", &len);
    if (encoding && strcmp(encoding, "utf-8") != 0 && strcmp(encoding, "bytes") != 0)
        return error_text(err, err_size, "%s: unknown encoding \"%s\"", path,
                          json_printable(encoding, len, shown, sizeof shown));
    if (!ckpt_meta_get(meta, "vocab", NULL)) return error_text(err, err_size, "%s: metadata has no \"vocab\"", path);
    return 0;
}

/* The tokenizer a checkpoint's metadata (checked by check_text_meta) describes, with vocab_size
 * tokens; NULL after printing why. */
static Tokenizer *checkpoint_tokenizer(const char *path, const CkptMeta *meta, int vocab_size) {
    char err[1024];
    Tokenizer *tok = NULL;
    const TaskDef *task = task_of_checkpoint(meta->task);
    size_t vocab_len = 0, merges_len = 0;
    const char *vocab = ckpt_meta_get(meta, "vocab", &vocab_len), *merges = ckpt_meta_get(meta, "merges", &merges_len);
    if (task != &TEXT_TASK) {
        fprintf(stderr, "mingpt: %s: a checkpoint of task '%s'; this command needs a language model (a character "
                        "or BPE model, or a GPT-2 folder)\n", path, meta->task);
    } else if (is_bpe_checkpoint(meta)) {
        tok = tok_bpe_from_text(path, vocab, vocab_len, merges, merges_len, err, sizeof err);
        if (!tok) {
            fprintf(stderr, "mingpt: %s\n", err);
        } else if (tokenizer_vocab_size(tok) != vocab_size) {
            fprintf(stderr, "mingpt: %s: the model has vocab_size %d but its BPE tokenizer has %d tokens\n", path,
                    vocab_size, (int)tokenizer_vocab_size(tok));
            tokenizer_free(tok);
            tok = NULL;
        }
    } else {
        tok = tok_chars_from_string(vocab, vocab_len, has_byte_vocab(meta));
        if (!tok || tokenizer_vocab_size(tok) != vocab_size) {
            fprintf(stderr, "mingpt: %s: metadata \"vocab\" does not list %d distinct characters in order\n", path,
                    vocab_size);
            tokenizer_free(tok);
            tok = NULL;
        }
    }
    return tok;
}

/* A language model for sample and eval: a mingpt checkpoint or a Hugging Face GPT-2 folder. */
typedef struct {
    GPT *model;
    Tokenizer *tok;
    CkptMeta meta; /* a checkpoint's (all zero for a folder) */
    int folder;
} TextModel;

static void text_model_free(TextModel *tm) {
    gpt_free(tm->model);
    tokenizer_free(tm->tok);
    ckpt_meta_free(&tm->meta);
    memset(tm, 0, sizeof *tm);
}

/* Loads path into tm; returns 0, or 1 after printing why not. */
static int load_text_model(const char *path, Pool *pool, TextModel *tm) {
    char err[1024];
    Term term;
    FileStatus fs;
    term_init(&term, 0);
    memset(tm, 0, sizeof *tm);
    if (hf_gpt2_is_folder(path)) {
        GPTConfig c;
        tm->folder = 1;
        if (!(tm->tok = check_gpt2_folder(path, &c, NULL))) return 1;
        file_status_begin(&fs, &term, "loading", path);
        tm->model = hf_gpt2_load(path, pool, NULL, err, sizeof err);
        file_status_end(&fs);
    } else {
        if (check_checkpoint_exists(path, "mingpt train FILE")) return 1;
        file_status_begin(&fs, &term, "loading", path);
        tm->model = task_load_checkpoint(path, pool, &tm->meta, NULL, NULL, err, sizeof err);
        file_status_end(&fs);
        if (tm->model && !(tm->tok = checkpoint_tokenizer(path, &tm->meta, tm->model->config.vocab_size))) {
            text_model_free(tm);
            return 1;
        }
    }
    if (!tm->model) {
        fprintf(stderr, "mingpt: %s\n", err);
        text_model_free(tm);
        return 1;
    }
    return 0;
}

/* Where a sample starts without a prompt: GPT-2's <|endoftext|> (generate.ipynb), else a newline
 * (nanoGPT), else token 0. */
static int32_t start_token(const Tokenizer *tok) {
    if (is_bpe(tok)) {
        static const char EOT[] = "<|endoftext|>";
        size_t len;
        int32_t V = tokenizer_vocab_size(tok);
        /* GPT-2 has it last (50256); one token added after it is looked past */
        for (int32_t id = V - 1; id >= MG_MAX(V - 2, 0); id--) {
            const char *bytes = tokenizer_token(tok, id, &len);
            if (len == sizeof EOT - 1 && memcmp(bytes, EOT, len) == 0) return id;
        }
        TokenIds nl = {0};
        char err[128];
        int32_t id = tokenizer_encode((Tokenizer *)tok, "\n", 1, &nl, err, sizeof err) == 0 && nl.n ? nl.ids[0] : 0;
        free(nl.ids);
        return id;
    }
    int nl = tok_chars_id(tok, '\n');
    return nl >= 0 ? nl : 0;
}

/* A token's bytes as they come: byte-level BPE may split a character across tokens, and the bytes
 * concatenated are the text. */
static void print_token(void *ctx, int token) {
    size_t len;
    const char *bytes = tokenizer_token(ctx, token, &len);
    fwrite(bytes, 1, len, stdout);
    fflush(stdout);
}

/* ---------------------------------------------------------------- evaluation */

double text_eval_loss(GPT *m, const int *tokens, size_t n, int batch_size, size_t max_windows,
                       size_t *n_predicted, EvalProgress progress, void *progress_ctx) {
    /* windows never need more than the text: a short text must not size buffers for a long block */
    int T = (int)MG_MIN((size_t)m->config.block_size, n >= 2 ? n - 1 : 1);
    size_t windows = n >= 2 ? (n - 2) / (size_t)T + 1 : 0;
    if (max_windows && windows > max_windows) windows = max_windows;
    int *idx = xmalloc(xmul_size((size_t)batch_size * T, sizeof(int)));
    int *targets = xmalloc(xmul_size((size_t)batch_size * T, sizeof(int)));
    double total = 0.0;
    size_t counted = 0;
    for (size_t w0 = 0; w0 < windows; w0 += (size_t)batch_size) {
        int rows = (int)MG_MIN((size_t)batch_size, windows - w0);
        for (int r = 0; r < rows; r++) {
            size_t start = (w0 + (size_t)r) * (size_t)T;
            size_t len = MG_MIN((size_t)T, n - 1 - start);
            for (int t = 0; t < T; t++) {
                int inside = (size_t)t < len;
                idx[r * T + t] = inside ? tokens[start + (size_t)t] : 0;
                targets[r * T + t] = inside ? tokens[start + (size_t)t + 1] : -1;
            }
        }
        gpt_forward(m, idx, targets, rows, T, 0);
        total += m->loss * (double)m->n_targets;
        counted += m->n_targets;
        if (progress) progress(progress_ctx, w0 + (size_t)rows, windows);
    }
    free(idx);
    free(targets);
    *n_predicted = counted;
    return counted ? total / (double)counted : 0.0;
}

/* Windows per batch: at most batch_size, and few enough that a large vocabulary's logits fit. */
static int eval_batch(const GPTConfig *c, int batch_size, size_t n_tokens) {
    size_t T = MG_MIN((size_t)c->block_size, n_tokens > 1 ? n_tokens - 1 : 1);
    size_t per_window = gpt_activation_bytes(c, 1, T);
    return (int)MG_MAX((size_t)1, MG_MIN((size_t)batch_size, EVAL_ACT_BUDGET / per_window));
}

/* ---------------------------------------------------------------- training */

typedef struct {
    const int *train, *val; /* tokens */
    size_t n_train, n_val;
    Tokenizer *tok;
    int32_t *prompt;        /* the samples' prompt as tokens (n_prompt >= 1) */
    size_t n_prompt;
    const char *prompt_text; /* as printed before each sample; "" when it is a start token */
    int stdout_failed;      /* stdout is closed (a pipe whose reader left): no more samples */
    int has_best;
    double best_val;        /* the lowest validation loss so far, for the summary */
} TextTask;

static void text_batch(TrainRun *run, int *idx, int *targets) {
    TextTask *task = run->task;
    int B = run->B, T = run->T;
    /* CharDataset: a window may start anywhere that leaves block_size+1 tokens */
    uint64_t starts = task->n_train - (size_t)T;
    for (int b = 0; b < B; b++) {
        size_t s = (size_t)rng_below(&run->data_rng, starts);
        for (int t = 0; t < T; t++) {
            idx[b * T + t] = task->train[s + (size_t)t];
            targets[b * T + t] = task->train[s + (size_t)t + 1];
        }
    }
}

/* The validation pass's progress during training (a GPT-2 model's takes about a minute). */
typedef struct {
    Status status;
    size_t windows;
} ValShow;

static void show_val_progress(void *ctx, size_t done, size_t total) {
    ValShow *show = ctx;
    show->windows = total;
    if (!status_due(&show->status)) return;
    char detail[64];
    snprintf(detail, sizeof detail, "%zu/%zu windows", done, total);
    status_update(&show->status, detail);
}

/* The sample at an evaluation: streamed as it comes when stdout is a terminal (the text is its own
 * progress); elsewhere kept until it is whole while a status on stderr says how far it is, so
 * that a log holding both streams never has a status line inside a sample. */
typedef struct {
    const Tokenizer *tok;
    int stream;
    StrBuf text;
    Status status;
    size_t done, total;
    const char *units;
} SampleShow;

static void take_sample_token(void *ctx, int token) {
    SampleShow *show = ctx;
    show->done++;
    if (show->stream) {
        print_token((void *)show->tok, token);
        return;
    }
    size_t len;
    const char *bytes = tokenizer_token(show->tok, token, &len);
    strbuf_put(&show->text, bytes, len);
    if (!status_due(&show->status)) return;
    char detail[64];
    snprintf(detail, sizeof detail, "%zu/%zu %s", show->done, show->total, show->units);
    status_update(&show->status, detail);
}

static int text_evaluate(TrainRun *run, int final, int *save) {
    TextTask *task = run->task;
    int quiet = run->opt->quiet;
    (void)final;
    if (task->n_val >= 2) {
        size_t count;
        ValShow show = {0};
        status_begin(&show.status, &run->term, "validating");
        double val = text_eval_loss(run->model, task->val, task->n_val, run->B, VAL_MAX_WINDOWS, &count,
                                    show_val_progress, &show);
        char detail[48];
        snprintf(detail, sizeof detail, "%zu windows", show.windows);
        status_end(&show.status, detail);
        if (!quiet) fprintf(stderr, "step %ld: val loss %.4f (%zu %s)\n", run->tr.step, val, count, units(task->tok));
        run->meta.has_val_loss = 1;
        run->meta.val_loss = val;
        run->eval_loss = val;
        snprintf(run->eval_text, sizeof run->eval_text, "val %.4f", val);
        if (!task->has_best || val < task->best_val) {
            task->has_best = 1;
            task->best_val = val;
            snprintf(run->best_text, sizeof run->best_text, "best val loss %.4f at step %ld", val, run->tr.step);
        }
    }
    size_t len = (size_t)run->opt->sample_len;
    if (!quiet && !task->stdout_failed && len > 0) {
        /* its own RNG, so sampling never changes the training batches */
        Rng rng;
        rng_seed(&rng, run->opt->seed + (uint64_t)run->tr.step);
        SampleConfig sc = {1.0f, 10, 1.0f, 0};
        int *tokens = xmalloc(xmul_size(task->n_prompt + len, sizeof(int)));
        for (size_t i = 0; i < task->n_prompt; i++) tokens[i] = task->prompt[i];
        SampleShow show = {.tok = task->tok, .stream = isatty(STDOUT_FILENO), .text = {.what = "a sample"},
                           .total = len, .units = units(task->tok)};
        if (show.stream) printf("--- sample at step %ld ---\n%s", run->tr.step, task->prompt_text);
        status_begin(&show.status, &run->term, "sampling");
        size_t made = generate(run->model, tokens, task->n_prompt, len, &sc, GEN_SLIDING, &rng, take_sample_token,
                               &show);
        if (!show.stream) {
            char detail[48];
            snprintf(detail, sizeof detail, "%zu %s", len, show.units);
            status_end(&show.status, detail);
            size_t n_text;
            char *text = strbuf_take(&show.text, &n_text);
            printf("--- sample at step %ld ---\n%s", run->tr.step, task->prompt_text);
            fwrite(text, 1, n_text, stdout);
            free(text);
        }
        fputs("\n", stdout);
        free(tokens);
        if (made < len) /* (a validation loss that is not finite stops the run next) */
            fprintf(stderr, "mingpt: step %ld: the sample stopped after %zu of %zu %s: the model's scores are not "
                    "finite\n", run->tr.step, made, len, show.units);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            /* (main ignores SIGPIPE for training) the reader is gone; the run is not */
            task->stdout_failed = 1;
            fprintf(stderr, "mingpt: step %ld: standard output is closed; training goes on without samples\n",
                    run->tr.step);
        }
    }
    *save = 1;
    return 0;
}

/* The samples' prompt: --sample-prompt, else chargpt's if the tokenizer can spell it, else the
 * start token `sample` uses (prompt_text is then ""). Returns 0, or prints why the given prompt
 * cannot be used and returns 2. */
static int choose_sample_prompt(TextTask *task, const TrainOptions *opt, const char *vocab_source) {
    const char *text = opt->sample_prompt ? opt->sample_prompt : TRAIN_PROMPT;
    TokenIds ids = {0};
    char err[256];
    if (opt->sample_prompt && !text[0]) {
        fprintf(stderr, "mingpt: --sample-prompt: is empty\n");
        return 2;
    }
    if (tokenizer_encode(task->tok, text, strlen(text), &ids, err, sizeof err) == 0) {
        task->prompt = ids.ids;
        task->n_prompt = ids.n;
        task->prompt_text = text;
        return 0;
    }
    free(ids.ids);
    if (opt->sample_prompt) {
        encode_failed("--sample-prompt", err, vocab_source);
        return 2;
    }
    task->prompt = xmalloc(sizeof *task->prompt);
    task->prompt[0] = start_token(task->tok);
    task->n_prompt = 1;
    task->prompt_text = "";
    return 0;
}

/* A text of size bytes is held as the bytes and a 4-byte token for each while it is encoded:
 * refuse a file that cannot fit before reading it. */
static int check_text_fits(const char *file) {
    struct stat st;
    const char *limit;
    size_t have = memory_available(&limit);
    if (stat(file, &st) != 0 || !S_ISREG(st.st_mode) || !have) return 0;
    double need = 5.0 * (double)st.st_size;
    if (need <= (double)have) return 0;
    char size_s[32], need_s[32], have_s[32];
    format_bytes((double)st.st_size, size_s, sizeof size_s);
    format_bytes(need, need_s, sizeof need_s);
    format_bytes((double)have, have_s, sizeof have_s);
    fprintf(stderr, "mingpt: %s: a text of %s needs %s to load; %s %s (train on a part of it)\n", file, size_s,
            need_s, have_s, limit);
    return 1;
}

/* --init SRC: the shape and tokenizer of the model to start from (a GPT-2 folder or a mingpt
 * language model), and whether it folds CRLF. Returns 0, or 1 after printing why not. */
static int peek_init(const char *src, GPTConfig *config, Tokenizer **tok, int *crlf_fold) {
    char err[1024];
    if (hf_gpt2_is_folder(src)) {
        return (*tok = check_gpt2_folder(src, config, NULL)) ? 0 : 1;
    }
    if (check_checkpoint_exists(src, "mingpt train FILE, or a GPT-2 folder")) return 1;
    CkptMeta meta;
    if (task_peek_checkpoint(src, config, &meta, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: %s\n", err);
        return 1;
    }
    *tok = checkpoint_tokenizer(src, &meta, config->vocab_size);
    *crlf_fold = meta_folds_crlf(&meta);
    ckpt_meta_free(&meta);
    return *tok ? 0 : 1;
}

int task_text_train(const char *file, const TrainOptions *opt) {
    unsigned char *bytes;
    size_t n_bytes, bad;
    if (check_text_fits(file) != 0) return 1;
    int rc = read_whole_file(file, &bytes, &n_bytes);
    if (rc) return rc;
    TextTask task = {0};
    TrainRun run = {0};
    run.opt = opt;
    run.task = &task;
    run.next_batch = text_batch;
    run.evaluate = text_evaluate;
    run.B = opt->batch_size;
    TokenIds ids = {0};
    GPTConfig config = {0};
    char err[1024];

    /* The tokenizer: a resumed or --init model keeps its own, --tokenizer names GPT-2's BPE, and
     * otherwise the characters of the text are the vocabulary. */
    const char *vocab_source = opt->resume ? opt->resume : opt->init ? opt->init : opt->tokenizer ? opt->tokenizer : file;
    int crlf_fold = 0; /* as a resumed or --init checkpoint records, unless --crlf says */
    if (opt->resume) {
        CkptMeta peek;
        if (task_peek_checkpoint(opt->resume, &config, &peek, err, sizeof err) != 0) {
            fprintf(stderr, "mingpt: %s\n", err);
            rc = 1;
            goto done;
        }
        task.tok = checkpoint_tokenizer(opt->resume, &peek, config.vocab_size);
        crlf_fold = meta_folds_crlf(&peek);
        ckpt_meta_free(&peek);
    } else if (opt->init) {
        if (peek_init(opt->init, &config, &task.tok, &crlf_fold) != 0) task.tok = NULL;
    } else if (opt->tokenizer) {
        if (!(task.tok = tok_bpe_load(opt->tokenizer, err, sizeof err))) fprintf(stderr, "mingpt: %s\n", err);
    }
    int new_vocab = !opt->resume && !opt->init && !opt->tokenizer; /* the characters of the (folded) text */
    if (!task.tok && !new_vocab) {
        rc = 1;
        goto done;
    }
    if (opt->crlf_given) crlf_fold = opt->crlf_fold;
    size_t n_crlf = count_crlf(bytes, n_bytes);
    if (crlf_fold) fold_crlf(bytes, &n_bytes, task.tok ? task.tok->kind == TOKENIZER_BYTES : opt->bytes);
    if (new_vocab && !(task.tok = tok_chars_build((const char *)bytes, n_bytes, opt->bytes, &bad))) {
        fprintf(stderr, "mingpt: %s: invalid UTF-8 at byte offset %zu (use --bytes to train on raw bytes)\n", file, bad);
        rc = 1;
        goto done;
    }
    /* one token per byte at most: reserving that keeps the peak at 5 bytes per byte of text */
    ids.cap = n_bytes;
    ids.ids = xmalloc(xmul_size(n_bytes, sizeof *ids.ids));
    if (tokenizer_encode(task.tok, (const char *)bytes, n_bytes, &ids, err, sizeof err) != 0) {
        file_encode_failed(file, bytes, n_bytes, task.tok->failed_at, task.tok, vocab_source);
        rc = 1;
        goto done;
    }
    free(bytes);
    bytes = NULL;
    if (ids.n < n_bytes / 2) { /* BPE: about a token per 4 bytes; give the rest back */
        int32_t *shrunk = realloc(ids.ids, (ids.n ? ids.n : 1) * sizeof *ids.ids);
        if (shrunk) ids.ids = shrunk;
    }
    run.data_bytes = xmul_size(ids.n, sizeof *ids.ids);
    if (tokenizer_vocab_size(task.tok) < 2) {
        fprintf(stderr, "mingpt: %s: has only one distinct character; a language model needs at least two\n", file);
        rc = 1;
        goto done;
    }
    const int *tokens = (const int *)ids.ids; /* int32_t is int on every target */
    size_t n = ids.n;

    int block_size = opt->block_size;
    if (opt->resume || opt->init) {
        const char *src = opt->resume ? opt->resume : opt->init;
        block_size = config.block_size;
        /* position embeddings are sized by block_size: a resumed model cannot change it, and a
         * model to fine-tune can only drop positions it will never see (nanoGPT's crop_block_size) */
        if (opt->block_size_given && (opt->resume ? opt->block_size != block_size : opt->block_size > block_size)) {
            fprintf(stderr, "mingpt: %s: has block_size %d; %s cannot %s it to --block-size %d\n", src, block_size,
                    opt->resume ? "--resume" : "--init", opt->resume ? "change" : "raise", opt->block_size);
            rc = 2;
            goto done;
        }
        if (opt->init && opt->block_size_given) block_size = opt->block_size;
    }
    run.T = block_size;
    run.data_hash = fingerprint(0, tokens, n * sizeof *tokens);
    task.n_val = (size_t)((double)n * opt->val_frac);
    task.n_train = n - task.n_val;
    task.train = tokens;
    task.val = tokens + task.n_train;
    if (task.n_train < (size_t)block_size + 1) {
        fprintf(stderr,
                "mingpt: %s: %zu %s%s is too short: training needs at least block_size+1 = %d "
                "(lower --block-size or --val-frac)\n",
                file, task.n_train, units(task.tok), task.n_val ? " after holding out the validation part" : "",
                block_size + 1);
        rc = 1;
        goto done;
    }
    if ((rc = choose_sample_prompt(&task, opt, vocab_source)) != 0) goto done;
    if (opt->init) {
        config.block_size = block_size;
        config.embd_pdrop = config.resid_pdrop = config.attn_pdrop = opt->dropout;
        run.init_from = opt->init;
    } else if (!opt->resume &&
               (rc = config_from_options(opt, tokenizer_vocab_size(task.tok), block_size, &config)) != 0) {
        goto done;
    }
    /* before train_setup, which compares them with a model at --out */
    meta_set_tokenizer(&run.meta, task.tok);
    meta_set_crlf(&run.meta, crlf_fold);
    if ((rc = train_setup(&run, &config, is_bpe(task.tok) ? "bpe" : "chars")) != 0) goto done;
    if (!opt->quiet)
        fprintf(stderr, "%s: %zu %s, vocabulary of %d, %zu for training, %zu for validation\n", file, n,
                units(task.tok), (int)tokenizer_vocab_size(task.tok), task.n_train, task.n_val);
    if (!opt->quiet && n_crlf && crlf_fold)
        fprintf(stderr, "%s: %zu CRLF line ends read as \\n (--crlf fold; this model's eval and sample fold them "
                        "too)\n", file, n_crlf);
    else if (!opt->quiet && n_crlf)
        fprintf(stderr, "%s: %zu lines end in CRLF: their \\r is kept as text the model learns (--crlf fold reads "
                        "\\r\\n as \\n, here and in this model's eval and sample)\n", file, n_crlf);
    /* validation reads windows of block_size+1 tokens; a shorter part gives one short window or none */
    if (!opt->quiet && opt->val_frac > 0 && task.n_val < (size_t)block_size + 1)
        fprintf(stderr, "mingpt: %s: warning: the validation part (--val-frac %g) has %zu %s, less than one block "
                        "(block_size+1 = %d): %s; use more text, a larger --val-frac or a smaller --block-size\n",
                file, (double)opt->val_frac, task.n_val, units(task.tok), block_size + 1,
                task.n_val < 2 ? "there will be no validation loss" : "its validation loss is over a shorter window");
    if (!opt->quiet && !task.prompt_text[0] && opt->sample_len > 0) {
        size_t len;
        const char *start = tokenizer_token(task.tok, task.prompt[0], &len);
        fprintf(stderr, "samples start from %s: chargpt's prompt \"%s\" has characters that %s lacks "
                        "(--sample-prompt sets one)\n",
                len == 1 && start[0] == '\n' ? "a newline" : "the vocabulary's first character", TRAIN_PROMPT,
                vocab_source);
    }
    {
        const char *base = strrchr(file, '/');
        const GPTConfig *c = &run.model->config;
        snprintf(run.title, sizeof run.title, "mingpt train %s: %d layers, %d heads, n_embd %d", base ? base + 1 : file,
                 c->n_layer, c->n_head, c->n_embd);
    }
    run.meta.has_val_frac = 1; /* this run's split, which eval looks up */
    run.meta.val_frac = opt->val_frac;
    meta_set_crlf(&run.meta, crlf_fold); /* (a resumed run's, which train_setup took from the checkpoint) */
    rc = train_loop(&run);

done:
    ckpt_meta_free(&run.meta); /* (train_loop frees it; a run that failed before it did not) */
    free(task.prompt);
    free(ids.ids);
    tokenizer_free(task.tok);
    free(bytes);
    return rc;
}

/* ---------------------------------------------------------------- sample and eval commands */

int task_text_sample(const SampleOptions *opt) {
    TextModel tm;
    if (load_text_model(opt->ckpt, opt->pool, &tm) != 0) return 1;
    TokenIds prompt = {0};
    char err[256];
    int rc = 0, has_prompt = opt->prompt && opt->prompt[0];
    /* a model trained with --crlf fold never saw \r\n: its prompt is folded as its text was */
    size_t prompt_len = has_prompt ? strlen(opt->prompt) : 0;
    char *prompt_text = xmalloc(prompt_len + 1);
    memcpy(prompt_text, has_prompt ? opt->prompt : "", prompt_len + 1);
    if (meta_folds_crlf(&tm.meta))
        fold_crlf((unsigned char *)prompt_text, &prompt_len, tm.tok->kind == TOKENIZER_BYTES);
    prompt_text[prompt_len] = '\0';
    /* <|endoftext|> written in a prompt is ordinary text to bpe.py; only an empty prompt starts from
     * the token itself, as generate.ipynb does */
    if (has_prompt && tokenizer_encode(tm.tok, prompt_text, prompt_len, &prompt, err, sizeof err) != 0) {
        encode_failed("--prompt", err, opt->ckpt);
        rc = 2;
        goto done;
    }
    if (!has_prompt) token_ids_push(&prompt, start_token(tm.tok));
    int *tokens = xmalloc(xmul_size(prompt.n + (size_t)opt->len, sizeof(int)));
    Rng rng;
    rng_seed(&rng, opt->seed);
    SampleConfig sc = {opt->temperature, opt->top_k, opt->top_p, opt->greedy};
    for (long s = 0; s < opt->num_samples; s++) { /* one RNG stream through all samples */
        if (s > 0) fputs("---------------\n", stdout);
        for (size_t i = 0; i < prompt.n; i++) tokens[i] = prompt.ids[i];
        if (has_prompt) fputs(prompt_text, stdout);
        fflush(stdout);
        size_t made = generate(tm.model, tokens, prompt.n, (size_t)opt->len, &sc,
                               opt->exact ? GEN_EXACT : GEN_SLIDING, &rng, print_token, tm.tok);
        putchar('\n');
        if (made < (size_t)opt->len) {
            report_nonfinite(opt->ckpt, tm.model, "its next-token scores are");
            rc = 1;
            break;
        }
    }
    free(tokens);
done:
    free(prompt_text);
    free(prompt.ids);
    text_model_free(&tm);
    return rc;
}

/* eval's progress on stderr: a line redrawn in place on a terminal, a line every 10% elsewhere. */
typedef struct {
    Term term;
    double t_start, t_draw;
    int last_tenth;
} EvalShow;

static void show_eval_progress(void *ctx, size_t done, size_t total) {
    EvalShow *show = ctx;
    double now = now_seconds();
    int tenth = (int)(10 * done / total);
    char pct[32], left[32] = "", eta[48] = "";
    snprintf(pct, sizeof pct, "%.0f%%", floor(100.0 * (double)done / (double)total));
    if (done < total) format_duration((now - show->t_start) / (double)done * (double)(total - done), left, sizeof left);
    if (left[0]) snprintf(eta, sizeof eta, "ETA %s", left);
    char head[96];
    snprintf(head, sizeof head, "eval: %zu/%zu windows", done, total);
    if (show->term.tty) {
        if (now - show->t_draw < 0.1 && done < total) return;
        const char *fields[] = {head, pct, eta};
        term_status(&show->term, fields, eta[0] ? 3 : 2);
        show->t_draw = now;
    } else if (tenth > show->last_tenth && done < total) {
        fprintf(stderr, "%s (%s%s%s)\n", head, pct, eta[0] ? ", " : "", eta);
    }
    show->last_tenth = tenth;
}

/* The byte offset of character `index` of text (as_bytes: bytes are characters); text is valid. */
static size_t char_offset(const unsigned char *text, size_t n, size_t index, int as_bytes) {
    if (as_bytes) return index;
    size_t at = 0;
    for (size_t k = 0; k < index && at < n; k++) {
        uint32_t cp;
        at += text[at] < 0x80 ? 1 : (size_t)utf8_decode(text + at, n - at, &cp);
    }
    return at;
}

int task_text_eval(const EvalOptions *opt) {
    TextModel tm;
    if (load_text_model(opt->ckpt, opt->pool, &tm) != 0) return 1;
    int rc = 1, bpe = is_bpe(tm.tok), as_bytes = tm.tok->kind == TOKENIZER_BYTES;
    unsigned char *bytes = NULL;
    TokenIds ids = {0};
    size_t n_bytes, n = 0;
    char err[256];
    if (read_whole_file(opt->file, &bytes, &n_bytes) != 0) goto done;
    if (opt->crlf_given ? opt->crlf_fold : meta_folds_crlf(&tm.meta)) fold_crlf(bytes, &n_bytes, as_bytes);
    /* the split training made: the first (1 - val_frac) of the tokens trains, the rest validates. A
     * character model splits the characters without encoding them, so that a character outside its
     * vocabulary in the part not evaluated does not matter. */
    if (bpe) {
        if (tokenizer_encode(tm.tok, (const char *)bytes, n_bytes, &ids, err, sizeof err) != 0) {
            file_encode_failed(opt->file, bytes, n_bytes, tm.tok->failed_at, tm.tok, opt->ckpt);
            goto done;
        }
        n = ids.n;
    } else if (as_bytes) {
        n = n_bytes;
    } else {
        for (size_t i = 0; i < n_bytes; n++) {
            uint32_t cp;
            int used = bytes[i] < 0x80 ? 1 : utf8_decode(bytes + i, n_bytes - i, &cp);
            if (!used) {
                fprintf(stderr, "mingpt: %s: invalid UTF-8 at byte offset %zu\n", opt->file, i);
                goto done;
            }
            i += (size_t)used;
        }
    }
    /* a GPT-2 folder never trained on the file: the whole of it is the natural default */
    EvalSplit which = tm.folder && !opt->split_given ? EVAL_SPLIT_ALL : opt->split;
    float val_frac = opt->val_frac_given || !tm.meta.has_val_frac ? opt->val_frac : tm.meta.val_frac;
    size_t n_val = (size_t)((double)n * val_frac), begin = 0, end = n;
    const char *split = "all";
    if (which == EVAL_SPLIT_VAL) begin = n - n_val, split = "val";
    else if (which == EVAL_SPLIT_TRAIN) end = n - n_val, split = "train";
    if (end - begin < 2 && which == EVAL_SPLIT_ALL) {
        fprintf(stderr, "mingpt: %s: has %zu %s in all; predicting one needs 2 (a longer text)\n", opt->file, n,
                n != 1 ? units(tm.tok) : bpe ? "token" : "character");
        goto done;
    }
    if (end - begin < 2) {
        fprintf(stderr, "mingpt: %s: its %s part (--split %s, --val-frac %g) has %zu %s; predicting one "
                        "needs 2 (try --split all)\n",
                opt->file, split, split, (double)val_frac, end - begin, units(tm.tok));
        goto done;
    }
    if (!bpe) {
        size_t lo = char_offset(bytes, n_bytes, begin, as_bytes);
        size_t hi = lo + char_offset(bytes + lo, n_bytes - lo, end - begin, as_bytes);
        if (tokenizer_encode(tm.tok, (const char *)bytes + lo, hi - lo, &ids, err, sizeof err) != 0) {
            file_encode_failed(opt->file, bytes, n_bytes, lo + tm.tok->failed_at, tm.tok, opt->ckpt);
            goto done;
        }
    }
    /* BPE: ids hold the whole file; characters: just the part */
    size_t n_part = end - begin;
    const int *tokens = (const int *)ids.ids + (bpe ? begin : 0);
    size_t count;
    int B = eval_batch(&tm.model->config, opt->batch_size, n_part);
    EvalShow show = {0};
    term_init(&show.term, 0);
    show.t_start = now_seconds();
    double loss = text_eval_loss(tm.model, tokens, n_part, B, 0, &count, show_eval_progress, &show);
    term_clear(&show.term);
    if (!isfinite(loss)) {
        report_nonfinite(opt->ckpt, tm.model, isnan(loss) ? "its loss is NaN" : "its loss is infinite");
        goto done;
    }
    if (bpe) {
        size_t predicted_bytes = 0, len; /* what bits per byte is per */
        for (size_t i = 1; i < n_part; i++) {
            tokenizer_token(tm.tok, tokens[i], &len);
            predicted_bytes += len;
        }
        printf("%s (%s split, tokens %zu to %zu): %.4f nats/token, %.4f bits/byte over %zu predicted tokens "
               "(%zu bytes)\n",
               opt->file, split, begin, end, loss, loss * (double)count / 0.6931471805599453 / (double)predicted_bytes,
               count, predicted_bytes);
    } else {
        printf("%s (%s split, characters %zu to %zu): %.4f nats/char, %.4f bits/char over %zu predicted characters\n",
               opt->file, split, begin, end, loss, loss / 0.6931471805599453, count);
    }
    /* the yardstick: a model that learned nothing spreads its guess evenly, ln V per token. The
     * line above stays as it was, for scripts that read it. */
    int V = tm.model->config.vocab_size;
    printf("a uniform guess over the %d %s of the vocabulary: %.4f nats/%s\n", V, units(tm.tok), log((double)V),
           bpe ? "token" : "char");
    rc = 0;
done:
    free(bytes);
    free(ids.ids);
    text_model_free(&tm);
    return rc;
}

/* ---------------------------------------------------------------- the task's commands */

static const char USAGE_TRAIN[] =
    "usage: mingpt train FILE [options]\n"
    "\n"
    "Trains a GPT on FILE. By default a character model (chargpt): the vocabulary is the sorted set\n"
    "of characters (Unicode code points) in FILE. With --init DIR it fine-tunes GPT-2 (or any\n"
    "mingpt model) on FILE with that model's tokenizer; with --tokenizer DIR it trains a new model\n"
    "on GPT-2's BPE tokens. Random windows of block_size+1 tokens from the first part of the text\n"
    "train the model; the last --val-frac is held out for validation. The checkpoint keeps its\n"
    "tokenizer: sample and eval need nothing else.\n"
    "\n"
    "model:\n"
    "  --model NAME          preset: gpt-nano, gpt-micro, gpt-mini, gopher-44m, gpt2, ... (gpt-mini)\n"
    "  --n-layer N           override the preset's layers\n"
    "  --n-head N            override the preset's heads\n"
    "  --n-embd N            override the preset's embedding size (divisible by heads)\n"
    "  --block-size N        context length in tokens (128; --init: the model's, or fewer)\n"
    "  --dropout P           embedding, attention and residual dropout (0.1)\n"
    "training:\n"
    "  --batch-size N        windows per forward pass (64)\n"
    "  --accum K             forward passes per optimizer step, their gradients summed: a step\n"
    "                        of K x --batch-size windows in the memory of one pass (1)\n"
    "  --lr X                AdamW learning rate (5e-4)\n"
    "  --max-iters N         optimizer steps in all, counting resumed ones (1000)\n"
    "  --weight-decay X      on Linear weights only (0.1)\n"
    "  --grad-clip X         max gradient L2 norm, 0 = off (1.0)\n"
    "  --warmup-iters N      linear learning-rate warmup (0)\n"
    "  --lr-decay KIND       none | cosine (to lr/10 at --lr-decay-iters) (none)\n"
    "  --lr-decay-iters N    the cosine's length in steps (--max-iters); kept on --resume, so a\n"
    "                        run extended past it goes on at lr/10\n"
    "  --val-frac X          fraction of the text held out for validation, 0 = none (0.1)\n"
    "  --eval-every N        validate, print a sample and save every N steps (250)\n"
    "  --sample-prompt TEXT  the samples' prompt (chargpt's \"O God, O God!\" if FILE has its\n"
    "                        characters, else a newline)\n"
    "  --sample-len N        characters (BPE: tokens) in each sample, 0 = no samples (200)\n"
    "  --seed N              random seed for init, batches and dropout (3407)\n"
    "  --threads N           worker threads (all cores)\n"
    "  --bytes               train on raw bytes instead of UTF-8 characters\n"
    "  --crlf keep|fold      \\r\\n line ends: keep the \\r as text the model learns, or fold\n"
    "                        them to \\n, which the checkpoint records for eval and sample\n"
    "                        (keep; --resume and --init: as their checkpoint records)\n"
    "  --init PATH           start from this model's weights and tokenizer: a Hugging Face GPT-2\n"
    "                        folder (config.json, model.safetensors, vocab.json, merges.txt) or a\n"
    "                        mingpt checkpoint; its shape is kept, the optimizer starts fresh\n"
    "  --tokenizer DIR       a new model on GPT-2's BPE tokens: DIR holds encoder.json + vocab.bpe\n"
    "                        or vocab.json + merges.txt (data/gpt2 ships them)\n"
    "output:\n"
    "  --log-every N         progress every N steps when stderr is not a terminal (10)\n"
    "  --quiet               print only errors and the final summary\n"
    "  --log FILE            write iter,time_s,train_loss,val_loss,lr,tokens_per_s rows to a CSV\n"
    "                        file at every --log-every step and evaluation (--resume appends)\n"
    "  --plot FILE           redraw the loss curves as an SVG at every evaluation\n"
    "  --log-scale           --plot with a logarithmic loss axis\n"
    "checkpoints:\n"
    "  --out PATH            checkpoint written at every evaluation and at the end\n"
    "                        (out/chargpt/model.safetensors; with --resume, the resumed file)\n"
    "  --resume PATH         continue from a checkpoint: weights, optimizer, step and RNG state;\n"
    "                        its model shape and tokenizer are kept, and so are its run's\n"
    "                        settings (--lr and its schedule, --batch-size, --accum, --dropout,\n"
    "                        --val-frac, ...) unless given again; --max-iters counts from step 0\n"
    "\n"
    "No output may be FILE, the resumed checkpoint (except --out), --init's model or another output.\n";

static const char USAGE_SAMPLE[] =
    "usage: mingpt sample [options]\n"
    "\n"
    "Generates text from a trained model or GPT-2, streaming it to stdout.\n"
    "\n"
    "  --ckpt PATH           checkpoint (out/chargpt/model.safetensors), or a Hugging Face GPT-2\n"
    "                        folder (config.json, model.safetensors, vocab.json, merges.txt)\n"
    "  --prompt TEXT         text to continue (a newline; GPT-2: <|endoftext|>, token 50256)\n"
    "  --len N               characters (GPT-2: tokens) to generate (500)\n"
    "  --temperature T       divide the logits by T > 0 (1.0)\n"
    "  --top-k K             sample from the K most likely characters, 0 = all (10)\n"
    "  --top-p P             then from the fewest whose probability reaches P, 1 = all (1.0)\n"
    "  --greedy              always take the most likely character\n"
    "  --num-samples N       samples from the same prompt, separated by a dashed line (1)\n"
    "  --seed N              random seed (3407)\n"
    "  --exact               minGPT's generate: run the whole context (the last block_size\n"
    "                        characters) for every new character\n"
    "  --threads N           worker threads (all cores)\n"
    "\n"
    "By default a key/value cache runs one position per new character. That is exactly\n"
    "minGPT's generate while the text fits in block_size; past it, where minGPT re-reads the last\n"
    "block_size characters at new positions for every character, the cache drops the oldest half\n"
    "and rebuilds once, so the context stays between block_size/2 and block_size characters and\n"
    "every character costs the same. --exact keeps minGPT's behaviour at any length.\n";

static const char USAGE_EVAL[] =
    "usage: mingpt eval FILE [options]\n"
    "\n"
    "Prints the mean cross-entropy of FILE under a model: nats and bits per character for a\n"
    "character model, nats per token and bits per byte for a BPE model or GPT-2. Windows of\n"
    "block_size+1 tokens start at 0, block_size, 2*block_size, ..., so every token after the\n"
    "first is predicted exactly once. A second line gives the loss of a uniform guess over the\n"
    "vocabulary, ln V, what a model that learned nothing scores. Progress goes to stderr.\n"
    "\n"
    "  --ckpt PATH           checkpoint (out/chargpt/model.safetensors), or a Hugging Face GPT-2\n"
    "                        folder (config.json, model.safetensors, vocab.json, merges.txt)\n"
    "  --split PART          val: the last --val-frac of FILE, held out as training does; train:\n"
    "                        the rest; all: the whole file (val; a GPT-2 folder: all)\n"
    "  --val-frac X          the fraction training held out (as the checkpoint records, else 0.1)\n"
    "  --crlf keep|fold      \\r\\n line ends: keep the \\r, or fold them to \\n (as the checkpoint\n"
    "                        records: fold if trained with --crlf fold, else keep)\n"
    "  --batch-size N        windows per forward pass (64)\n"
    "  --threads N           worker threads (all cores)\n";

static const struct option TRAIN_OPTIONS[] = {
    LONG_OPT("model", OPT_MODEL), LONG_OPT("n-layer", OPT_N_LAYER), LONG_OPT("n-head", OPT_N_HEAD),
    LONG_OPT("n-embd", OPT_N_EMBD), LONG_OPT("block-size", OPT_BLOCK_SIZE), LONG_OPT("dropout", OPT_DROPOUT),
    LONG_OPT("batch-size", OPT_BATCH_SIZE), LONG_OPT("accum", OPT_ACCUM), LONG_OPT("lr", OPT_LR),
    LONG_OPT("max-iters", OPT_MAX_ITERS),
    LONG_OPT("weight-decay", OPT_WEIGHT_DECAY), LONG_OPT("grad-clip", OPT_GRAD_CLIP),
    LONG_OPT("warmup-iters", OPT_WARMUP), LONG_OPT("lr-decay", OPT_LR_DECAY), LONG_OPT("val-frac", OPT_VAL_FRAC),
    LONG_OPT("lr-decay-iters", OPT_LR_DECAY_ITERS),
    LONG_OPT("eval-every", OPT_EVAL_EVERY), LONG_OPT("log-every", OPT_LOG_EVERY), LONG_OPT("seed", OPT_SEED),
    LONG_OPT("threads", OPT_THREADS), FLAG_OPT("bytes", OPT_BYTES), LONG_OPT("out", OPT_OUT),
    LONG_OPT("crlf", OPT_CRLF), LONG_OPT("resume", OPT_RESUME), FLAG_OPT("quiet", OPT_QUIET), LONG_OPT("log", OPT_LOG),
    LONG_OPT("plot", OPT_PLOT), FLAG_OPT("log-scale", OPT_LOG_SCALE), LONG_OPT("sample-prompt", OPT_SAMPLE_PROMPT),
    LONG_OPT("sample-len", OPT_SAMPLE_LEN),
    LONG_OPT("init", OPT_INIT), LONG_OPT("tokenizer", OPT_TOKENIZER), FLAG_OPT("help", OPT_HELP), {0, 0, 0, 0},
};

static const struct option SAMPLE_OPTIONS[] = {
    LONG_OPT("ckpt", OPT_CKPT), LONG_OPT("prompt", OPT_PROMPT), LONG_OPT("len", OPT_LEN),
    LONG_OPT("temperature", OPT_TEMPERATURE), LONG_OPT("top-k", OPT_TOP_K), FLAG_OPT("greedy", OPT_GREEDY),
    LONG_OPT("top-p", OPT_TOP_P), LONG_OPT("num-samples", OPT_NUM_SAMPLES), FLAG_OPT("exact", OPT_EXACT),
    LONG_OPT("seed", OPT_SEED), LONG_OPT("threads", OPT_THREADS), FLAG_OPT("help", OPT_HELP), {0, 0, 0, 0},
};

static const struct option EVAL_OPTIONS[] = {
    LONG_OPT("ckpt", OPT_CKPT), LONG_OPT("split", OPT_SPLIT), LONG_OPT("val-frac", OPT_VAL_FRAC),
    LONG_OPT("batch-size", OPT_BATCH_SIZE), LONG_OPT("crlf", OPT_CRLF), LONG_OPT("threads", OPT_THREADS),
    FLAG_OPT("help", OPT_HELP), {0, 0, 0, 0},
};

static int run_train(const Options *o, char **args) { return task_text_train(args[0], &o->train); }
static int run_sample(const Options *o, char **args) {
    (void)args;
    return task_text_sample(&o->sample);
}
static int run_eval(const Options *o, char **args) {
    EvalOptions eval = o->eval;
    eval.file = args[0];
    return task_text_eval(&eval);
}

#define VOCAB_PREVIEW 96

/* A vocabulary character as it should appear between quotes: escapes for the invisible ones. */
static void put_vocab_char(uint32_t c, int as_bytes) {
    char utf8[5] = {0};
    if (c == '\n') fputs("\\n", stdout);
    else if (c == '\t') fputs("\\t", stdout);
    else if (c == '"' || c == '\\') printf("\\%c", (char)c);
    else if (c < 0x20 || c == 0x7F || (as_bytes && c >= 0x80)) printf("\\x%02X", (unsigned)c);
    else if (c >= 0x80 && c < 0xA0) printf("\\u%04X", (unsigned)c);
    else if (utf8_encode(c, utf8)) fputs(utf8, stdout);
}

/* mingpt info's lines for a character or BPE model. */
static int describe_text(const CkptMeta *meta, const GPTConfig *c, InfoPart part) {
    int as_bytes = has_byte_vocab(meta), bpe = is_bpe_checkpoint(meta);
    size_t vocab_len = 0, merges_len = 0;
    const char *vocab = ckpt_meta_get(meta, "vocab", &vocab_len), *merges_text = ckpt_meta_get(meta, "merges", &merges_len);
    if (part == INFO_TASK && bpe) {
        printf("task:        bpe (language model on GPT-2's byte-level BPE tokens)\n");
    } else if (part == INFO_TASK) {
        printf("task:        chars (character-level language model, %s)\n", as_bytes ? "raw bytes" : "UTF-8");
    } else if (part == INFO_VOCAB && bpe) {
        /* checked for what info says; sample and eval rebuild the tokenizer and check all of it */
        size_t merges = 0;
        for (size_t i = 0; i < merges_len; i++) merges += merges_text[i] == '\n';
        if (merges_len >= 8 && memcmp(merges_text, "#version", 8) == 0) merges--;
        printf("vocabulary:  %d BPE tokens, %zu merges (kept in the checkpoint: %.2f MiB of metadata)\n",
               c->vocab_size, merges, (double)(vocab_len + merges_len) / (1 << 20));
    } else if (part == INFO_VOCAB) {
        Vocab v;
        if (vocab_from_string(&v, vocab, vocab_len, as_bytes) == 0) {
            printf("vocabulary:  %d %s: \"", v.size, as_bytes ? "bytes" : "characters");
            for (int i = 0; i < v.size && i < VOCAB_PREVIEW; i++) put_vocab_char(v.chars[i], as_bytes);
            printf("\"%s\n", v.size > VOCAB_PREVIEW ? " ..." : "");
            vocab_free(&v);
        }
    } else {
        return 0;
    }
    if (part == INFO_VOCAB && meta_folds_crlf(meta))
        printf("line ends:   \\r\\n read as \\n (trained with --crlf fold; eval and sample fold them too)\n");
    return 1;
}

static const char *const TEXT_CKPT_TASKS[] = {"chars", "bpe", NULL};

static const Command TEXT_COMMANDS[] = {
    {.name = "train", .usage = USAGE_TRAIN, .options = TRAIN_OPTIONS, .args = ARGS_ONE,
     .args_error = "expects exactly one FILE to train on", .kind = CMD_TRAIN, .run = run_train,
     .summary = "  train FILE   train a language model on a text file: characters (chargpt), or GPT-2's\n"
                "               tokens (--init DIR fine-tunes GPT-2)\n"},
    {.name = "sample", .usage = USAGE_SAMPLE, .options = SAMPLE_OPTIONS, .args = ARGS_NONE, .kind = CMD_RUN,
     .run = run_sample, .summary = "  sample       generate text from a trained model or a GPT-2 folder\n"},
    {.name = "eval", .usage = USAGE_EVAL, .options = EVAL_OPTIONS, .args = ARGS_ONE,
     .args_error = "expects exactly one FILE to evaluate", .kind = CMD_RUN, .run = run_eval,
     .summary = "  eval FILE    mean cross-entropy of a text under a trained model or a GPT-2 folder\n"},
};

const TaskDef TEXT_TASK = {
    .ckpt_tasks = TEXT_CKPT_TASKS,
    .commands = TEXT_COMMANDS,
    .n_commands = (int)(sizeof TEXT_COMMANDS / sizeof *TEXT_COMMANDS),
    .check_meta = check_text_meta,
    .describe = describe_text,
};
