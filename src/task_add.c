/* task_add.c — minGPT's adder project: a GPT learns to add two n-digit numbers.
 *
 * A problem a+b is written as the n digits of a, the n digits of b (both zero-padded), then the
 * n+1 digits of the sum reversed (the model finds it easier to produce the lowest digit first).
 * The loss covers only the sum's digits. For n <= 3 every problem exists and a seeded permutation
 * holds out min(20%, 500) as the test set, as adder.py; for larger n problems are drawn at random
 * and a fixed test set of 500 is held out and never trained on.
 */
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "json.h"
#include "decode.h"
#include "sample.h"
#include "task_common.h"
#include "task_table.h"
#include "tasks.h"

#define SPLIT_SEED 1337     /* adder.py's */
#define EVAL_BATCH 100      /* adder.py's */
#define EVAL_TRAIN_MAX 500  /* adder.py scores 5 batches of the training set */
#define TEST_MAX 500

typedef struct {
    int ndigit;
    uint64_t modulus;        /* 10^ndigit */
    int enumerated;          /* all problems exist (ndigit <= 3) */
    int64_t *perm;           /* enumerated: problem ids a*modulus+b, test ones first */
    size_t n_problems, n_test;
    uint64_t *test_sorted;   /* sampled: the held-out problem ids, sorted */
    uint64_t *train_eval;    /* sampled: a fixed set of training problems to score */
    size_t n_train_eval;
    int best_correct;        /* best test score so far */
} AddTask;

static uint64_t pow10u(int n) {
    uint64_t x = 1;
    while (n--) x *= 10;
    return x;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int is_test(const AddTask *t, uint64_t id) {
    return bsearch(&id, t->test_sorted, t->n_test, sizeof(uint64_t), cmp_u64) != NULL;
}

static uint64_t random_problem(const AddTask *t, Rng *rng) {
    return rng_below(rng, t->modulus) * t->modulus + rng_below(rng, t->modulus);
}

static void add_task_init(AddTask *t, int ndigit) {
    memset(t, 0, sizeof *t);
    t->ndigit = ndigit;
    t->modulus = pow10u(ndigit);
    Rng rng;
    rng_seed(&rng, SPLIT_SEED);
    if (ndigit <= 3) {
        t->enumerated = 1;
        t->n_problems = (size_t)(t->modulus * t->modulus);
        t->perm = xmalloc(t->n_problems * sizeof(int64_t));
        rng_permutation(&rng, t->perm, t->n_problems);
        t->n_test = MG_MIN((size_t)(t->n_problems * 0.2), (size_t)TEST_MAX);
        return;
    }
    t->n_test = TEST_MAX;
    t->test_sorted = xmalloc(TEST_MAX * sizeof(uint64_t));
    size_t n = 0;
    while (n < TEST_MAX) { /* distinct ids */
        uint64_t id = random_problem(t, &rng);
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++) seen = t->test_sorted[i] == id;
        if (!seen) t->test_sorted[n++] = id;
    }
    qsort(t->test_sorted, n, sizeof(uint64_t), cmp_u64);
    t->n_train_eval = EVAL_TRAIN_MAX;
    t->train_eval = xmalloc(EVAL_TRAIN_MAX * sizeof(uint64_t));
    for (size_t i = 0; i < EVAL_TRAIN_MAX; i++) {
        uint64_t id;
        do id = random_problem(t, &rng);
        while (is_test(t, id));
        t->train_eval[i] = id;
    }
}

static void add_task_free(AddTask *t) {
    free(t->perm);
    free(t->test_sorted);
    free(t->train_eval);
}

/* Problem id -> the 3n+1 digits a, b, reversed(a+b). */
static void render(const AddTask *t, uint64_t id, int *digits) {
    int n = t->ndigit;
    uint64_t a = id / t->modulus, b = id % t->modulus, c = a + b;
    for (int i = n - 1; i >= 0; i--, a /= 10) digits[i] = (int)(a % 10);
    for (int i = 2 * n - 1; i >= n; i--, b /= 10) digits[i] = (int)(b % 10);
    for (int i = 2 * n; i <= 3 * n; i++, c /= 10) digits[i] = (int)(c % 10); /* reversed */
}

/* One training row of problem id: idx (T) the digits, targets (T) the next digit where it is one
 * of the sum's, -1 before (only the sum's digits are predicted: the first 2n-1 targets are ignored). */
static void problem_row(const AddTask *t, uint64_t id, int T, int *idx, int *targets) {
    int digits[64];
    render(t, id, digits);
    for (int i = 0; i < T; i++) {
        idx[i] = digits[i];
        targets[i] = i < 2 * t->ndigit - 1 ? -1 : digits[i + 1];
    }
}

static void add_batch(TrainRun *run, int *idx, int *targets) {
    AddTask *t = run->task;
    int T = run->T;
    for (int b = 0; b < run->B; b++) {
        uint64_t id;
        if (t->enumerated) {
            size_t k = t->n_test + (size_t)rng_below(&run->data_rng, t->n_problems - t->n_test);
            id = (uint64_t)t->perm[k];
        } else {
            do id = random_problem(t, &run->data_rng);
            while (is_test(t, id));
        }
        problem_row(t, id, T, idx + b * T, targets + b * T);
    }
}

/* The sum the model wrote: its n+1 digits come lowest first (render's order). */
static uint64_t claimed_sum(const int *reversed, int n) {
    uint64_t claimed = 0;
    for (int k = n; k >= 0; k--) claimed = claimed * 10 + (uint64_t)reversed[k];
    return claimed;
}

/* Scores a split by greedy generation, as adder.py's eval_split; prints up to `*mistakes_left`
 * mistakes. Returns the number correct, or SIZE_MAX when the model's output is not finite. */
static size_t score(GPT *m, const AddTask *t, const uint64_t *ids, size_t count, const char *split,
                    int *mistakes_left, int quiet) {
    int n = t->ndigit;
    int *prompts = xmalloc(EVAL_BATCH * 2 * n * sizeof(int)), *out = xmalloc(EVAL_BATCH * (n + 1) * sizeof(int));
    int digits[64];
    size_t correct = 0;
    for (size_t i0 = 0; i0 < count; i0 += EVAL_BATCH) {
        int rows = (int)MG_MIN((size_t)EVAL_BATCH, count - i0);
        for (int r = 0; r < rows; r++) {
            render(t, ids[i0 + r], digits);
            memcpy(prompts + r * 2 * n, digits, 2 * n * sizeof(int));
        }
        if (generate_greedy_batch(m, prompts, rows, 2 * n, n + 1, out) != 0) {
            correct = SIZE_MAX; /* the model's output is not finite: no score means anything */
            break;
        }
        for (int r = 0; r < rows; r++) {
            uint64_t a = ids[i0 + r] / t->modulus, b = ids[i0 + r] % t->modulus;
            uint64_t claimed = claimed_sum(out + r * (n + 1), n);
            if (claimed == a + b) {
                correct++;
            } else if (*mistakes_left > 0 && !quiet) {
                (*mistakes_left)--;
                printf("GPT claims that %llu + %llu = %llu but gt is %llu\n", (unsigned long long)a,
                       (unsigned long long)b, (unsigned long long)claimed, (unsigned long long)(a + b));
            }
        }
    }
    if (!quiet && correct != SIZE_MAX)
        printf("%s final score: %zu/%zu = %.2f%% correct\n", split, correct, count, 100.0 * correct / count);
    fflush(stdout);
    free(prompts);
    free(out);
    return correct;
}

/* Scores train (at most 500) and test; returns the test score and its size in *n_test, or SIZE_MAX
 * when the model's output is not finite. */
static size_t evaluate_splits(GPT *m, const AddTask *t, size_t *n_test, int quiet) {
    int mistakes = 5;
    const uint64_t *train_ids, *test_ids;
    size_t n_train_eval;
    uint64_t *tmp = NULL;
    if (t->enumerated) {
        /* perm holds int64 ids; view them as uint64 for scoring */
        tmp = xmalloc(t->n_problems * sizeof(uint64_t));
        for (size_t i = 0; i < t->n_problems; i++) tmp[i] = (uint64_t)t->perm[i];
        test_ids = tmp;
        train_ids = tmp + t->n_test;
        n_train_eval = MG_MIN((size_t)EVAL_TRAIN_MAX, t->n_problems - t->n_test);
    } else {
        test_ids = t->test_sorted;
        train_ids = t->train_eval;
        n_train_eval = t->n_train_eval;
    }
    size_t train_correct = score(m, t, train_ids, n_train_eval, "train", &mistakes, quiet);
    size_t correct = score(m, t, test_ids, t->n_test, "test", &mistakes, quiet);
    if (train_correct == SIZE_MAX) correct = SIZE_MAX;
    free(tmp);
    *n_test = t->n_test;
    return correct;
}

/* The held-out problems' loss over the sum's digits (the training loss's measure): the --log
 * and --plot validation curve. Runs batches of the training batch size, whose buffers exist. */
static double test_loss(TrainRun *run, const AddTask *t) {
    int T = run->T, B = run->B;
    int *idx = xmalloc((size_t)B * T * sizeof(int)), *targets = xmalloc((size_t)B * T * sizeof(int));
    double total = 0.0;
    size_t counted = 0;
    for (size_t i0 = 0; i0 < t->n_test; i0 += (size_t)B) {
        int rows = (int)MG_MIN((size_t)B, t->n_test - i0);
        for (int r = 0; r < rows; r++)
            problem_row(t, t->enumerated ? (uint64_t)t->perm[i0 + r] : t->test_sorted[i0 + r], T, idx + r * T,
                        targets + r * T);
        gpt_forward(run->model, idx, targets, rows, T, 0);
        total += run->model->loss * (double)run->model->n_targets;
        counted += run->model->n_targets;
    }
    free(idx);
    free(targets);
    return counted ? total / (double)counted : NAN;
}

static int add_evaluate(TrainRun *run, int final, int *save) {
    AddTask *t = run->task;
    int quiet = run->opt->quiet;
    (void)final;
    size_t n_test;
    run->eval_loss = test_loss(run, t);
    size_t correct = evaluate_splits(run->model, t, &n_test, quiet);
    if (correct == SIZE_MAX) correct = 0; /* never saved: the training loss stops such a run anyway */
    snprintf(run->eval_text, sizeof run->eval_text, "test %zu/%zu", correct, n_test);
    *save = 0;
    if ((int)correct > t->best_correct) {
        /* adder.py keeps the model with the best test score */
        t->best_correct = (int)correct;
        *save = 1;
        snprintf(run->best_text, sizeof run->best_text, "best test score %zu/%zu at step %ld", correct, n_test,
                 run->tr.step);
        if (!quiet)
            fprintf(stderr, "step %ld: new best test score %zu/%zu, saving %s\n", run->tr.step, correct, n_test,
                    run->opt->out);
    }
    if (correct == n_test) {
        if (!quiet) fprintf(stderr, "step %ld: every test problem is solved, stopping\n", run->tr.step);
        return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------- checkpoint metadata */

/* An adder's checkpoint records the digits per operand in "ndigit": 1 to 9, so that problem ids
 * a*10^ndigit+b fit in 64 bits. */

/* The table's check_meta: ndigit, and a model that can read and write an n-digit problem. */
static int check_add_meta(const char *path, const CkptMeta *meta, const GPTConfig *c, char *err, size_t err_size) {
    long ndigit;
    if (ckpt_meta_get_long(path, meta, "ndigit", 1, 9, &ndigit, err, err_size)) return -1;
    if (c->vocab_size != 10 || c->block_size < 3 * ndigit)
        return error_text(err, err_size, "%s: an adder needs vocab_size 10 and block_size >= 3*ndigit (has %d and %d)",
                          path, c->vocab_size, c->block_size);
    return 0;
}

/* ndigit of an adder's metadata that check_add_meta has passed (or that set_ndigit wrote). */
static int checked_ndigit(const CkptMeta *meta) { return atoi(ckpt_meta_get(meta, "ndigit", NULL)); }

static void set_ndigit(CkptMeta *meta, int ndigit) {
    char text[16];
    snprintf(text, sizeof text, "%d", ndigit);
    ckpt_meta_set(meta, "ndigit", text, strlen(text), CKPT_BESIDE_TASK);
}

/* A resumed adder keeps its size: its problems' 3*ndigit tokens (TrainRun's resumed_T). */
static int resumed_T(const CkptMeta *meta) { return 3 * checked_ndigit(meta); }

/* --ask's "A+B" (spaces around the numbers allowed) as a and b, each below 10^ndigit (ndigit 0:
 * the form only, before the checkpoint says its size). Returns 0, or -1 with the one-line usage
 * error printed: the form, or numbers too long for the adder. */
static int parse_problem(const char *text, int ndigit, uint64_t *a, uint64_t *b) {
    uint64_t modulus = pow10u(ndigit ? ndigit : 9), *operand[2] = {a, b};
    char shown[64];
    const char *p = text;
    for (int i = 0; i < 2; i++) {
        while (*p == ' ') p++;
        int digits = 0;
        for (*operand[i] = 0; *p >= '0' && *p <= '9'; p++, digits++) /* once too big, it stays so */
            if (*operand[i] < modulus) *operand[i] = *operand[i] * 10 + (uint64_t)(*p - '0');
        while (*p == ' ') p++;
        if (digits == 0 || *p != (i == 0 ? '+' : '\0')) {
            fprintf(stderr, "mingpt add: --ask expects A+B, two whole numbers joined by '+' (e.g. 12+34), got '%s' "
                            "(see 'mingpt add --help')\n", json_printable(text, strlen(text), shown, sizeof shown));
            return -1;
        }
        p++;
    }
    if (ndigit && (*a >= modulus || *b >= modulus)) {
        fprintf(stderr, "mingpt add: --ask expects A+B with numbers of at most %d digit%s, got '%s' (see 'mingpt add "
                        "--help')\n", ndigit, ndigit == 1 ? "" : "s", json_printable(text, strlen(text), shown, sizeof shown));
        return -1;
    }
    return 0;
}

/* add --ask: the sum of a+b as the model writes it (greedy, as the scores are made), printed as
 * "a+b=sum"; a wrong answer is printed as the model's, with the true sum on stderr. Returns 0, or
 * -1 (nothing printed) when the model's output is not finite. */
static int answer_problem(GPT *m, int ndigit, uint64_t a, uint64_t b) {
    AddTask t = {.ndigit = ndigit, .modulus = pow10u(ndigit)};
    int digits[64], out[16];
    render(&t, a * t.modulus + b, digits);
    if (generate_greedy_batch(m, digits, 1, 2 * ndigit, ndigit + 1, out) != 0) return -1;
    uint64_t claimed = claimed_sum(out, ndigit);
    printf("%llu+%llu=%llu\n", (unsigned long long)a, (unsigned long long)b, (unsigned long long)claimed);
    if (claimed != a + b)
        fprintf(stderr, "mingpt: the model is wrong here: %llu+%llu is %llu\n", (unsigned long long)a,
                (unsigned long long)b, (unsigned long long)(a + b));
    return 0;
}

int task_add(const TrainOptions *opt) {
    AddTask task;
    if (opt->ask && opt->eval_only) {
        fprintf(stderr, "mingpt add: --ask answers one problem and --eval scores the test set: give one of them "
                        "(see 'mingpt add --help')\n");
        return 2;
    }
    uint64_t a, b;
    /* the form first, the numbers' size once the checkpoint says how many digits it adds */
    if (opt->ask && parse_problem(opt->ask, 0, &a, &b) != 0) return 2;
    if (opt->eval_only || opt->ask) {
        char err[512];
        CkptMeta meta;
        if (check_checkpoint_exists(opt->ckpt, "mingpt add")) return 1;
        GPT *m = task_load_checkpoint(opt->ckpt, opt->pool, &meta, NULL, NULL, err, sizeof err);
        if (!m) {
            fprintf(stderr, "mingpt: %s\n", err);
            return 1;
        }
        int rc = 0;
        if (strcmp(meta.task, "add") != 0) {
            fprintf(stderr, "mingpt: %s: a checkpoint of task '%s', not an adder\n", opt->ckpt, meta.task);
            rc = 1;
        } else if (opt->ask) {
            int ndigit = checked_ndigit(&meta);
            rc = parse_problem(opt->ask, ndigit, &a, &b) != 0 ? 2 : 0;
            if (rc == 0 && answer_problem(m, ndigit, a, b) != 0) {
                report_nonfinite(opt->ckpt, m, "its next-digit scores are");
                rc = 1;
            }
        } else {
            add_task_init(&task, checked_ndigit(&meta));
            size_t n_test;
            if (evaluate_splits(m, &task, &n_test, 0) == SIZE_MAX) {
                report_nonfinite(opt->ckpt, m, "its next-digit scores are");
                rc = 1;
            }
            add_task_free(&task);
        }
        ckpt_meta_free(&meta);
        gpt_free(m);
        return rc;
    }
    TrainRun run = {0};
    run.opt = opt;
    run.task = &task;
    run.next_batch = add_batch;
    run.evaluate = add_evaluate;
    run.keeps_best = 1; /* adder.py saves the model with the best test score, never a later one */
    run.B = opt->batch_size;
    int ndigit = opt->ndigit;
    GPTConfig config = {0};
    if (!opt->resume) {
        int rc = config_from_options(opt, 10, 3 * ndigit, &config);
        if (rc) return rc;
    }
    snprintf(run.meta.task, sizeof run.meta.task, "add");
    set_ndigit(&run.meta, ndigit);
    run.T = 3 * ndigit;
    run.resumed_T = resumed_T;
    int rc = train_setup(&run, &config, "add");
    if (rc) {
        ckpt_meta_free(&run.meta);
        return rc;
    }
    ndigit = checked_ndigit(&run.meta); /* a resumed adder keeps its size */
    if (run.model->config.block_size < 3 * ndigit) {
        fprintf(stderr, "mingpt: block_size %d is too small for %d digits\n", run.model->config.block_size, ndigit);
        trainer_free(&run.tr);
        gpt_free(run.model);
        ckpt_meta_free(&run.meta);
        return 1;
    }
    run.T = 3 * ndigit;
    add_task_init(&task, ndigit);
    if (!opt->quiet)
        fprintf(stderr, "adder: %d-digit problems, %s, %zu held out for test\n", ndigit,
                task.enumerated ? "all enumerated" : "drawn at random", task.n_test);
    snprintf(run.title, sizeof run.title, "mingpt add: %d-digit addition, %d layers, %d heads, n_embd %d", ndigit,
             run.model->config.n_layer, run.model->config.n_head, run.model->config.n_embd);
    if (opt->resume) { /* a resumed run only saves models that beat the one it started from */
        size_t n_test;
        if (!opt->quiet) fprintf(stderr, "scoring the resumed model:\n");
        size_t correct = evaluate_splits(run.model, &task, &n_test, opt->quiet);
        if (correct == SIZE_MAX) { /* nothing trained from it could be judged better or worse */
            report_nonfinite(opt->resume, run.model, "its next-digit scores are");
            trainer_free(&run.tr);
            gpt_free(run.model);
            ckpt_meta_free(&run.meta);
            add_task_free(&task);
            return 1;
        }
        task.best_correct = (int)correct;
        snprintf(run.best_text, sizeof run.best_text, "the resumed model scored %d/%zu", task.best_correct, n_test);
    }
    rc = train_loop(&run);
    add_task_free(&task);
    return rc;
}

/* ---------------------------------------------------------------- the task's command */

static const char USAGE_ADD[] =
    "usage: mingpt add [options]\n"
    "\n"
    "Trains a GPT to add two n-digit numbers (minGPT's adder). Every --eval-every steps it scores\n"
    "train and test problems by greedy generation, keeps the best model, and stops once every test\n"
    "problem is solved.\n"
    "\n"
    "  --ndigit N            digits per operand, 1 to 9 (2)\n"
    "  --model NAME          preset (gpt-nano); --n-layer, --n-head, --n-embd override it\n"
    "  --dropout P           dropout (0.1)\n"
    "  --batch-size N        problems per forward pass (64)\n"
    "  --accum K             forward passes per optimizer step, gradients summed (1)\n"
    "  --lr X                AdamW learning rate (5e-4)\n"
    "  --max-iters N         optimizer steps at most (10000)\n"
    "  --weight-decay X      (0.1)\n"
    "  --grad-clip X         (1.0)\n"
    "  --warmup-iters N      (0)\n"
    "  --lr-decay KIND       none | cosine (none)\n"
    "  --lr-decay-iters N    the cosine's length in steps (--max-iters)\n"
    "  --eval-every N        score train and test every N steps (500)\n"
    "  --seed N              (3407)\n"
    "  --threads N           worker threads (all cores)\n"
    "  --out PATH            best model (out/adder/model.safetensors; with --resume, that file)\n"
    "  --resume PATH         continue from a checkpoint, with its run's settings unless given again\n"
    "  --eval                only score the model in --ckpt and exit\n"
    "  --ask A+B             only answer one problem with the model in --ckpt and exit: --ask 12+34\n"
    "                        prints 12+34=46, the sum the model writes (greedy), on stdout; a wrong\n"
    "                        answer gets the true sum on stderr\n"
    "  --ckpt PATH           checkpoint for --eval and --ask (out/adder/model.safetensors)\n"
    "output:\n"
    "  --log-every N         progress every N steps when stderr is not a terminal (100)\n"
    "  --quiet               print only errors and the final summary\n"
    "  --log FILE            write iter,time_s,train_loss,val_loss,lr,tokens_per_s rows to a CSV\n"
    "                        file at every --log-every step and evaluation (--resume appends)\n"
    "  --plot FILE           redraw the loss curves as an SVG at every evaluation\n"
    "  --log-scale           --plot with a logarithmic loss axis\n";

static const struct option ADD_OPTIONS[] = {
    LONG_OPT("ndigit", OPT_NDIGIT), LONG_OPT("model", OPT_MODEL), LONG_OPT("n-layer", OPT_N_LAYER),
    LONG_OPT("n-head", OPT_N_HEAD), LONG_OPT("n-embd", OPT_N_EMBD), LONG_OPT("dropout", OPT_DROPOUT),
    LONG_OPT("batch-size", OPT_BATCH_SIZE), LONG_OPT("accum", OPT_ACCUM), LONG_OPT("lr", OPT_LR),
    LONG_OPT("max-iters", OPT_MAX_ITERS),
    LONG_OPT("weight-decay", OPT_WEIGHT_DECAY), LONG_OPT("grad-clip", OPT_GRAD_CLIP),
    LONG_OPT("warmup-iters", OPT_WARMUP), LONG_OPT("lr-decay", OPT_LR_DECAY), LONG_OPT("lr-decay-iters", OPT_LR_DECAY_ITERS),
    LONG_OPT("eval-every", OPT_EVAL_EVERY), LONG_OPT("log-every", OPT_LOG_EVERY), LONG_OPT("seed", OPT_SEED),
    LONG_OPT("threads", OPT_THREADS), LONG_OPT("out", OPT_OUT), LONG_OPT("resume", OPT_RESUME),
    FLAG_OPT("eval", OPT_EVAL), LONG_OPT("ask", OPT_ASK), LONG_OPT("ckpt", OPT_CKPT), FLAG_OPT("quiet", OPT_QUIET), LONG_OPT("log", OPT_LOG),
    LONG_OPT("plot", OPT_PLOT), FLAG_OPT("log-scale", OPT_LOG_SCALE), FLAG_OPT("help", OPT_HELP), {0, 0, 0, 0},
};

/* the adder's own defaults, from adder.py */
static void add_defaults(Options *o) {
    TrainOptions *t = &o->train;
    t->model_type = "gpt-nano";
    t->max_iters = 10000;
    t->eval_every = 500;
    t->log_every = 100;
    t->out = "out/adder/model.safetensors";
    t->ndigit = 2;
    t->ckpt = "out/adder/model.safetensors";
}

static int run_add(const Options *o, char **args) {
    (void)args;
    return task_add(&o->train);
}

/* mingpt info's lines for an adder. */
static int describe_add(const CkptMeta *meta, const GPTConfig *c, InfoPart part) {
    (void)c;
    if (part == INFO_TASK) printf("task:        add (%d-digit addition, minGPT's adder)\n", checked_ndigit(meta));
    else if (part == INFO_VOCAB) printf("vocabulary:  the 10 digits\n");
    else printf("val loss:    none (the adder keeps its best test score: mingpt add --eval --ckpt)\n");
    return 1;
}

static const char *const ADD_CKPT_TASKS[] = {"add", NULL};

static const Command ADD_COMMANDS[] = {
    {.name = "add", .usage = USAGE_ADD, .options = ADD_OPTIONS, .args = ARGS_NONE, .kind = CMD_TRAIN,
     .defaults = add_defaults, .run = run_add,
     .summary = "  add          train a GPT to add n-digit numbers (minGPT's adder)\n"},
};

const TaskDef ADD_TASK = {
    .ckpt_tasks = ADD_CKPT_TASKS,
    .commands = ADD_COMMANDS,
    .n_commands = (int)(sizeof ADD_COMMANDS / sizeof *ADD_COMMANDS),
    .check_meta = check_add_meta,
    .describe = describe_add,
};
