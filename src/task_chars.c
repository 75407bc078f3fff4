/* task_chars.c — minGPT's chargpt: a character-level language model on any text file, plus
 * sampling from and evaluating such a model.
 *
 * Characters are Unicode code points decoded from UTF-8, as Python strings are (or raw bytes with
 * --bytes). The vocabulary is the sorted set of characters in the training file; token i is the
 * i-th character. Training windows are random (block_size+1)-character slices of the first
 * (1 - val_frac) of the text, as minGPT's CharDataset; the rest is held out for validation.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "decode.h"
#include "progress.h"
#include "sample.h"
#include "task_common.h"
#include "tasks.h"
#include "utf8.h"

#define TRAIN_PROMPT "O God, O God!" /* chargpt's */
#define TRAIN_SAMPLE_LEN 200
#define VAL_MAX_WINDOWS 1024         /* validation during training reads at most this many windows */

/* ---------------------------------------------------------------- text and vocabulary */

int text_decode(const unsigned char *bytes, size_t n, int as_bytes, uint32_t **out, size_t *n_out,
                size_t *bad_offset) {
    uint32_t *cps = xmalloc(xmul_size(n ? n : 1, sizeof(uint32_t)));
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        if (as_bytes) {
            cps[count++] = bytes[i++];
            continue;
        }
        uint32_t cp;
        int used = utf8_decode(bytes + i, n - i, &cp);
        if (!used) {
            free(cps);
            *bad_offset = i;
            return -1;
        }
        cps[count++] = cp;
        i += (size_t)used;
    }
    *out = cps;
    *n_out = count;
    return 0;
}

void vocab_build(Vocab *v, const uint32_t *text, size_t n) {
    /* one bit per code point (136 KiB) instead of a sorted copy of the text (4 bytes a character) */
    uint64_t *seen = xcalloc(0x110000 / 64, sizeof(uint64_t));
    int unique = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = text[i];
        CHECK(c < 0x110000); /* text_decode makes nothing larger */
        uint64_t bit = 1ull << (c % 64);
        if (!(seen[c / 64] & bit)) {
            seen[c / 64] |= bit;
            unique++;
        }
    }
    v->chars = xmalloc((size_t)(unique ? unique : 1) * sizeof(uint32_t));
    v->size = 0;
    for (uint32_t w = 0; w < 0x110000 / 64; w++)
        for (uint64_t bits = seen[w]; bits; bits &= bits - 1) v->chars[v->size++] = w * 64 + (uint32_t)__builtin_ctzll(bits);
    free(seen);
}

char *vocab_to_string(const Vocab *v, size_t *len) {
    char *s = xmalloc((size_t)v->size * 4 + 1), *p = s;
    for (int i = 0; i < v->size; i++) p += utf8_encode(v->chars[i], p);
    *p = '\0';
    *len = (size_t)(p - s);
    return s;
}

int vocab_from_string(Vocab *v, const char *s, size_t n, int as_bytes) {
    size_t bad;
    uint32_t *cps;
    size_t count;
    v->chars = NULL;
    v->size = 0;
    if (text_decode((const unsigned char *)s, n, 0, &cps, &count, &bad) != 0) return -1;
    for (size_t i = 0; i < count; i++)
        if ((i > 0 && cps[i] <= cps[i - 1]) || (as_bytes && cps[i] > 0xFF)) {
            free(cps);
            return -1;
        }
    v->chars = cps;
    v->size = (int)count;
    return 0;
}

int vocab_index(const Vocab *v, uint32_t c) {
    int lo = 0, hi = v->size - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v->chars[mid] == c) return mid;
        if (v->chars[mid] < c) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

void vocab_free(Vocab *v) {
    free(v->chars);
    v->chars = NULL;
    v->size = 0;
}

/* How a character is named in an error message: 'x' (U+0078). */
static void char_name(uint32_t c, int as_bytes, char *out, size_t size) {
    char utf8[5] = {0};
    if (as_bytes) snprintf(out, size, "byte 0x%02X", (unsigned)c);
    else if (c >= 0x20 && c != 0x7F && utf8_encode(c, utf8))
        snprintf(out, size, "'%s' (U+%04X)", utf8, (unsigned)c);
    else snprintf(out, size, "U+%04X", (unsigned)c);
}

/* Maps text to tokens; on a character outside the vocabulary prints an error naming `what` and
 * returns -1. */
static int encode_text(const Vocab *v, const uint32_t *text, size_t n, int as_bytes, int *tokens,
                       const char *what, const char *vocab_source) {
    for (size_t i = 0; i < n; i++) {
        int t = vocab_index(v, text[i]);
        if (t < 0) {
            char name[48];
            char_name(text[i], as_bytes, name, sizeof name);
            fprintf(stderr, "mingpt: %s: character %s at position %zu is not in the vocabulary of %s\n",
                    what, name, i, vocab_source);
            return -1;
        }
        tokens[i] = t;
    }
    return 0;
}

static void put_char(uint32_t c, int as_bytes) {
    if (as_bytes) {
        putchar((int)c);
        return;
    }
    char buf[4];
    int n = utf8_encode(c, buf);
    fwrite(buf, 1, (size_t)n, stdout);
}

/* Loads a chars checkpoint for inference and its vocabulary; prints errors. */
static GPT *load_chars_model(const char *path, Pool *pool, CkptMeta *meta, Vocab *vocab) {
    char err[512];
    if (check_checkpoint_exists(path, "mingpt train FILE")) return NULL;
    GPT *m = ckpt_load(path, pool, meta, NULL, NULL, err, sizeof err);
    if (!m) {
        fprintf(stderr, "mingpt: %s\n", err);
        return NULL;
    }
    if (strcmp(meta->task, "chars") != 0) {
        fprintf(stderr, "mingpt: %s: a checkpoint of task '%s'; this command needs a character model\n",
                path, meta->task);
    } else if (vocab_from_string(vocab, meta->vocab, meta->vocab_len, strcmp(meta->encoding, "bytes") == 0) != 0 ||
               vocab->size != m->config.vocab_size) {
        fprintf(stderr, "mingpt: %s: metadata \"vocab\" does not list %d distinct characters in order\n",
                path, m->config.vocab_size);
        vocab_free(vocab);
    } else {
        return m;
    }
    gpt_free(m);
    ckpt_meta_free(meta);
    return NULL;
}

/* ---------------------------------------------------------------- evaluation */

double chars_eval_loss(GPT *m, const int *tokens, size_t n, int batch_size, size_t max_windows,
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

/* ---------------------------------------------------------------- training */

typedef struct {
    const int *train, *val; /* tokens */
    size_t n_train, n_val;
    Vocab vocab;
    int as_bytes;
    int *prompt;            /* the samples' prompt as tokens (n_prompt >= 1) */
    size_t n_prompt;
    const char *prompt_text; /* as printed before each sample; "" when it is the default newline */
    int stdout_failed;      /* stdout is closed (a pipe whose reader left): no more samples */
    int has_best;
    double best_val;        /* the lowest validation loss so far, for the summary */
} CharsTask;

static void chars_batch(TrainRun *run, int *idx, int *targets) {
    CharsTask *task = run->task;
    int B = run->B, T = run->T;
    /* CharDataset: a window may start anywhere that leaves block_size+1 characters */
    uint64_t starts = task->n_train - (size_t)T;
    for (int b = 0; b < B; b++) {
        size_t s = (size_t)rng_below(&run->data_rng, starts);
        for (int t = 0; t < T; t++) {
            idx[b * T + t] = task->train[s + (size_t)t];
            targets[b * T + t] = task->train[s + (size_t)t + 1];
        }
    }
}

typedef struct {
    const Vocab *vocab;
    int as_bytes;
} PrintCtx;

static void print_token(void *ctx, int token) {
    const PrintCtx *p = ctx;
    put_char(p->vocab->chars[token], p->as_bytes);
    fflush(stdout);
}

static int chars_evaluate(TrainRun *run, int final, int *save) {
    CharsTask *task = run->task;
    int quiet = run->opt->quiet;
    (void)final;
    if (task->n_val >= 2) {
        size_t count;
        double val = chars_eval_loss(run->model, task->val, task->n_val, run->B, VAL_MAX_WINDOWS, &count, NULL, NULL);
        if (!quiet) fprintf(stderr, "step %ld: val loss %.4f (%zu characters)\n", run->tr.step, val, count);
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
    if (!quiet && !task->stdout_failed) {
        /* its own RNG, so sampling never changes the training batches */
        Rng rng;
        rng_seed(&rng, run->opt->seed + (uint64_t)run->tr.step);
        SampleConfig sc = {1.0f, 10, 1.0f, 0};
        int *tokens = xmalloc((task->n_prompt + TRAIN_SAMPLE_LEN) * sizeof(int));
        memcpy(tokens, task->prompt, task->n_prompt * sizeof(int));
        PrintCtx pc = {&task->vocab, task->as_bytes};
        printf("--- sample at step %ld ---\n%s", run->tr.step, task->prompt_text);
        generate(run->model, tokens, task->n_prompt, TRAIN_SAMPLE_LEN, &sc, GEN_SLIDING, &rng, print_token, &pc);
        fputs("\n", stdout);
        free(tokens);
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

/* The samples' prompt: --sample-prompt, else chargpt's if the text has its characters, else a
 * newline (or the vocabulary's first character), as `sample` starts (prompt_text is then ""). Returns
 * 0, or prints why the given prompt cannot be used and returns 2. */
static int choose_sample_prompt(CharsTask *task, const TrainOptions *opt, const char *file) {
    const char *text = opt->sample_prompt ? opt->sample_prompt : TRAIN_PROMPT;
    uint32_t *p = NULL;
    size_t np = 0, bad;
    int usable = text[0] && text_decode((const unsigned char *)text, strlen(text), task->as_bytes, &p, &np, &bad) == 0;
    task->prompt = xmalloc((np ? np : 1) * sizeof(int));
    for (size_t i = 0; usable && i < np; i++) {
        int t = vocab_index(&task->vocab, p[i]);
        if (t < 0 && opt->sample_prompt) {
            char name[48];
            char_name(p[i], task->as_bytes, name, sizeof name);
            fprintf(stderr, "mingpt: --sample-prompt: character %s at position %zu is not in the vocabulary of %s\n",
                    name, i, opt->resume ? opt->resume : file);
            free(p);
            return 2;
        }
        usable = t >= 0;
        task->prompt[i] = t;
    }
    free(p);
    if (!usable && opt->sample_prompt) {
        fprintf(stderr, "mingpt: --sample-prompt: %s\n", text[0] ? "is not valid UTF-8" : "is empty");
        return 2;
    }
    if (usable) {
        task->n_prompt = np;
        task->prompt_text = text;
        return 0;
    }
    int newline = vocab_index(&task->vocab, '\n');
    task->prompt[0] = newline >= 0 ? newline : 0;
    task->n_prompt = 1;
    task->prompt_text = "";
    return 0;
}

/* A text of size bytes is held as the bytes and 4-byte characters while it is decoded, then as
 * 4-byte tokens: refuse a file that cannot fit before reading it. */
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

int task_chars_train(const char *file, const TrainOptions *opt) {
    unsigned char *bytes;
    size_t n_bytes, bad, n;
    uint32_t *text = NULL;
    if (check_text_fits(file) != 0) return 1;
    int rc = read_whole_file(file, &bytes, &n_bytes);
    if (rc) return rc;
    CharsTask task = {0};
    TrainRun run = {0};
    run.opt = opt;
    run.task = &task;
    run.next_batch = chars_batch;
    run.evaluate = chars_evaluate;
    run.B = opt->batch_size;
    int *tokens = NULL;
    GPTConfig config = {0};

    /* With --resume the checkpoint's encoding and vocabulary are kept. */
    CkptMeta peek = {0};
    int as_bytes = opt->bytes;
    if (opt->resume) {
        char err[512];
        if (ckpt_peek(opt->resume, &config, &peek, err, sizeof err) != 0) {
            fprintf(stderr, "mingpt: %s\n", err);
            free(bytes);
            return 1;
        }
        if (strcmp(peek.task, "chars") != 0) {
            fprintf(stderr, "mingpt: %s: a checkpoint of task '%s', not a character model\n", opt->resume, peek.task);
            rc = 1;
            goto done;
        }
        as_bytes = strcmp(peek.encoding, "bytes") == 0;
        if (vocab_from_string(&task.vocab, peek.vocab, peek.vocab_len, as_bytes) != 0 ||
            task.vocab.size != config.vocab_size) {
            fprintf(stderr, "mingpt: %s: metadata \"vocab\" does not match vocab_size %d\n", opt->resume,
                    config.vocab_size);
            rc = 1;
            goto done;
        }
    }
    task.as_bytes = as_bytes;
    if (text_decode(bytes, n_bytes, as_bytes, &text, &n, &bad) != 0) {
        fprintf(stderr, "mingpt: %s: invalid UTF-8 at byte offset %zu (use --bytes to train on raw bytes)\n",
                file, bad);
        rc = 1;
        goto done;
    }
    free(bytes);
    bytes = NULL;
    if (!opt->resume) vocab_build(&task.vocab, text, n);
    if (task.vocab.size < 2) {
        fprintf(stderr, "mingpt: %s: has only one distinct character; a language model needs at least two\n", file);
        rc = 1;
        goto done;
    }
    /* the tokens take the characters' place: each is read before its slot is written */
    tokens = (int *)text;
    text = NULL;
    if (encode_text(&task.vocab, (const uint32_t *)tokens, n, as_bytes, tokens, file,
                    opt->resume ? opt->resume : file) != 0) {
        rc = 1;
        goto done;
    }
    int block_size = opt->resume ? config.block_size : opt->block_size;
    if (opt->resume && opt->block_size_given && opt->block_size != block_size) {
        /* position embeddings are sized by block_size: a resumed model cannot change it */
        fprintf(stderr, "mingpt: %s: has block_size %d; --resume cannot change it to --block-size %d\n",
                opt->resume, block_size, opt->block_size);
        rc = 2;
        goto done;
    }
    run.T = block_size;
    task.n_val = (size_t)((double)n * opt->val_frac);
    task.n_train = n - task.n_val;
    task.train = tokens;
    task.val = tokens + task.n_train;
    if (task.n_train < (size_t)block_size + 1) {
        fprintf(stderr,
                "mingpt: %s: %zu characters%s is too short: training needs at least block_size+1 = %d "
                "(lower --block-size or --val-frac)\n",
                file, task.n_train, task.n_val ? " after holding out the validation part" : "", block_size + 1);
        rc = 1;
        goto done;
    }
    if ((rc = choose_sample_prompt(&task, opt, file)) != 0) goto done;
    if (!opt->resume && (rc = config_from_options(opt, task.vocab.size, block_size, &config)) != 0) goto done;
    strcpy(run.meta.task, "chars");
    strcpy(run.meta.encoding, as_bytes ? "bytes" : "utf-8");
    if ((rc = train_setup(&run, &config, "chars")) != 0) goto done;
    if (!opt->quiet)
        fprintf(stderr, "%s: %zu characters, vocabulary of %d, %zu for training, %zu for validation\n", file, n,
                task.vocab.size, task.n_train, task.n_val);
    if (!opt->quiet && !task.prompt_text[0])
        fprintf(stderr, "samples start from %s: chargpt's prompt \"%s\" has characters that %s lacks "
                        "(--sample-prompt sets one)\n",
                task.vocab.chars[task.prompt[0]] == '\n' ? "a newline" : "the vocabulary's first character",
                TRAIN_PROMPT, file);
    {
        const char *base = strrchr(file, '/');
        const GPTConfig *c = &run.model->config;
        snprintf(run.title, sizeof run.title, "mingpt train %s: %d layers, %d heads, n_embd %d", base ? base + 1 : file,
                 c->n_layer, c->n_head, c->n_embd);
    }
    run.meta.has_val_frac = 1; /* this run's split, which eval looks up */
    run.meta.val_frac = opt->val_frac;
    free(run.meta.vocab);
    run.meta.vocab = vocab_to_string(&task.vocab, &run.meta.vocab_len);
    strcpy(run.meta.encoding, as_bytes ? "bytes" : "utf-8");
    rc = train_loop(&run);

done:
    free(text);
    free(task.prompt);
    free(tokens);
    vocab_free(&task.vocab);
    ckpt_meta_free(&peek);
    free(bytes);
    return rc;
}

/* ---------------------------------------------------------------- sample and eval commands */

int task_chars_sample(const SampleOptions *opt) {
    CkptMeta meta;
    Vocab vocab;
    GPT *m = load_chars_model(opt->ckpt, opt->pool, &meta, &vocab);
    if (!m) return 1;
    int as_bytes = strcmp(meta.encoding, "bytes") == 0, rc = 0;
    uint32_t *prompt = NULL;
    size_t n_prompt = 0, bad;
    if (opt->prompt && opt->prompt[0]) {
        if (text_decode((const unsigned char *)opt->prompt, strlen(opt->prompt), as_bytes, &prompt,
                        &n_prompt, &bad) != 0) {
            fprintf(stderr, "mingpt: --prompt: invalid UTF-8 at byte offset %zu\n", bad);
            rc = 2;
            goto done;
        }
    } else {
        /* nanoGPT starts from a newline; a vocabulary without one starts from its first character */
        prompt = xmalloc(sizeof(uint32_t));
        prompt[0] = vocab_index(&vocab, '\n') >= 0 ? '\n' : vocab.chars[0];
        n_prompt = 1;
    }
    int *tokens = xmalloc(xmul_size(n_prompt + (size_t)opt->len, sizeof(int)));
    if (encode_text(&vocab, prompt, n_prompt, as_bytes, tokens, "--prompt", opt->ckpt) != 0) {
        free(tokens);
        rc = 2;
        goto done;
    }
    Rng rng;
    rng_seed(&rng, opt->seed);
    SampleConfig sc = {opt->temperature, opt->top_k, opt->top_p, opt->greedy};
    PrintCtx pc = {&vocab, as_bytes};
    for (long s = 0; s < opt->num_samples; s++) { /* one RNG stream through all samples */
        if (s > 0) fputs("---------------\n", stdout);
        if (opt->prompt && opt->prompt[0]) {
            for (size_t i = 0; i < n_prompt; i++) put_char(prompt[i], as_bytes);
            fflush(stdout);
        }
        generate(m, tokens, n_prompt, (size_t)opt->len, &sc, opt->exact ? GEN_EXACT : GEN_SLIDING, &rng,
                 print_token, &pc);
        putchar('\n');
    }
    free(tokens);
done:
    free(prompt);
    vocab_free(&vocab);
    ckpt_meta_free(&meta);
    gpt_free(m);
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

int task_chars_eval(const EvalOptions *opt) {
    CkptMeta meta;
    Vocab vocab;
    GPT *m = load_chars_model(opt->ckpt, opt->pool, &meta, &vocab);
    if (!m) return 1;
    int as_bytes = strcmp(meta.encoding, "bytes") == 0, rc = 1;
    unsigned char *bytes = NULL;
    uint32_t *text = NULL;
    int *tokens = NULL;
    size_t n_bytes, n, bad;
    if (read_whole_file(opt->file, &bytes, &n_bytes) != 0) goto done;
    if (text_decode(bytes, n_bytes, as_bytes, &text, &n, &bad) != 0) {
        fprintf(stderr, "mingpt: %s: invalid UTF-8 at byte offset %zu\n", opt->file, bad);
        goto done;
    }
    /* the split training made: the first (1 - val_frac) trains, the rest validates */
    float val_frac = opt->val_frac_given || !meta.has_val_frac ? opt->val_frac : meta.val_frac;
    size_t n_val = (size_t)((double)n * val_frac), begin = 0, end = n;
    const char *split = "all";
    if (opt->split == EVAL_SPLIT_VAL) begin = n - n_val, split = "val";
    else if (opt->split == EVAL_SPLIT_TRAIN) end = n - n_val, split = "train";
    if (end - begin < 2) {
        fprintf(stderr, "mingpt: %s: its %s part (--split %s, --val-frac %g) has %zu characters; predicting one "
                        "needs 2 (try --split all)\n",
                opt->file, split, split, (double)val_frac, end - begin);
        goto done;
    }
    tokens = xmalloc(xmul_size(end - begin, sizeof(int)));
    if (encode_text(&vocab, text + begin, end - begin, as_bytes, tokens, opt->file, opt->ckpt) != 0) goto done;
    size_t count;
    EvalShow show = {0};
    term_init(&show.term, 0);
    show.t_start = now_seconds();
    double loss = chars_eval_loss(m, tokens, end - begin, opt->batch_size, 0, &count, show_eval_progress, &show);
    term_clear(&show.term);
    printf("%s (%s split, characters %zu to %zu): %.4f nats/char, %.4f bits/char over %zu predicted characters\n",
           opt->file, split, begin, end, loss, loss / 0.6931471805599453, count);
    rc = 0;
done:
    free(bytes);
    free(text);
    free(tokens);
    vocab_free(&vocab);
    ckpt_meta_free(&meta);
    gpt_free(m);
    return rc;
}
