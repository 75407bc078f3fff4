/* test_cli.c — the mingpt command as a user runs it: usage errors, bad input, training on a
 * generated text, sampling, evaluation, resume, and the adder learning to add. Runs ./mingpt from
 * the repository root (as `make test` does), or the binary named by $MINGPT (`make asan` runs a
 * sanitizer build, where $MINGPT_SANITIZED leaves out the minute-long adder training), with its
 * output captured in a temporary folder. */
#define _DEFAULT_SOURCE /* wait4, for a run's peak resident memory */
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "checkpoint.h"
#include "common.h"
#include "decode.h"
#include "rng.h"
#include "runlog.h"
#include "safetensors.h"
#include "task_common.h"
#include "utf8.h"

static char dir[] = "/tmp/mingpt-cli-XXXXXX";
static const char *binary = "./mingpt";
static char out_text[1 << 16], err_text[1 << 16], path_buf[300];


/* After a run: its stdout and stderr into out_text and err_text; returns its exit status. */
static int collect(int status) {
    char path[256];
    snprintf(path, sizeof path, "%s/stdout", dir);
    harness_slurp(path, out_text, sizeof out_text);
    snprintf(path, sizeof path, "%s/stderr", dir);
    harness_slurp(path, err_text, sizeof err_text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Runs "./mingpt ARGS" (ARGS may refer to $D, the temporary folder); returns the exit status and
 * leaves stdout and stderr in out_text and err_text. */
static int run(const char *args) {
    char line[2048];
    snprintf(line, sizeof line, "%s </dev/null", args);
    return harness_run_binary(dir, binary, line, out_text, sizeof out_text, err_text, sizeof err_text);
}

/* run() in a child process whose files may not grow past max_file_bytes (0: no limit; writes past
 * it fail with EFBIG, as on a full disk) and, if as_nobody, without root's right to write
 * anywhere (as user nobody when we are root). */
static int run_limited(const char *args, long max_file_bytes, int as_nobody) {
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (max_file_bytes > 0) {
            /* SIGXFSZ keeps its default (killing) disposition: mingpt itself must turn it into EFBIG */
            struct rlimit lim = {(rlim_t)max_file_bytes, (rlim_t)max_file_bytes};
            signal(SIGXFSZ, SIG_DFL);
            if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(99);
        }
        /* the output files are opened before giving up root */
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "D=%s; exec >%s/stdout 2>%s/stderr </dev/null; ", dir, dir, dir);
        if (as_nobody && geteuid() == 0) /* (a copy of the binary: its own folder may be closed to nobody) */
            snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd),
                     "cp %s $D/mingpt-nobody && exec setpriv --reuid=65534 --regid=65534 --clear-groups $D/mingpt-nobody %s",
                     binary, args);
        else
            snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), "%s %s", binary, args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(97);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    return collect(status);
}

/* run() in a child process that becomes mingpt (sh execs it); *peak_bytes gets its peak resident
 * memory (maximum RSS) as wait4 reports it. */
static int run_measured(const char *args, size_t *peak_bytes) {
    fflush(stdout);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "D=%s; exec %s %s >%s/stdout 2>%s/stderr </dev/null", dir, binary, args, dir, dir);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(97);
    }
    int status;
    struct rusage usage;
    CHECK(wait4(pid, &status, 0, &usage) == pid);
    *peak_bytes = (size_t)usage.ru_maxrss * 1024; /* (Linux counts it in KiB) */
    return collect(status);
}

/* Files in the temporary folder whose names contain `fragment`. */
static int count_files(const char *fragment) {
    DIR *d = opendir(dir);
    CHECK(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) n += strstr(e->d_name, fragment) != NULL;
    closedir(d);
    return n;
}

static void write_file(const char *name, const void *data, size_t n) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    CHECK(fp && fwrite(data, 1, n, fp) == n);
    fclose(fp);
}

/* Expects the exit status and a fragment of stderr; prints both when they differ. */
#define EXPECT_RUN(args, status, fragment) expect_run(__FILE__, __LINE__, args, status, fragment)
static void expect_run(const char *file, int line, const char *args, int status, const char *fragment) {
    int got = run(args);
    if (got != status || !strstr(err_text, fragment)) {
        printf("    %s:%d: mingpt %s\n      exit %d (want %d), stderr: %s      wanted in stderr: %s\n", file,
               line, args, got, status, err_text, fragment);
        harness_case_failed = 1;
    }
    /* errors are one line */
    if (status != 0 && strchr(err_text, '\n') != strrchr(err_text, '\n')) {
        printf("    %s:%d: mingpt %s: error is more than one line:\n%s", file, line, args, err_text);
        harness_case_failed = 1;
    }
}

/* sample, eval, train --resume and train --init, the commands that read a language model's
 * checkpoint, each refuse $D/name (exit 1) with `message` on stderr. */
#define EXPECT_TEXT_COMMANDS_REFUSE(name, message) expect_text_commands_refuse(__FILE__, __LINE__, name, message)
static void expect_text_commands_refuse(const char *file, int line, const char *name, const char *message) {
    const char *forms[] = {"sample --ckpt $D/%s", "eval --ckpt $D/%s $D/corpus.txt",
                           "train $D/corpus.txt --resume $D/%s --out $D/p2.safetensors",
                           "train $D/corpus.txt --init $D/%s --out $D/p2.safetensors"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char args[256];
        snprintf(args, sizeof args, forms[i], name);
        expect_run(file, line, args, 1, message);
    }
}

/* A text with structure a small model can learn, with accents and CJK to exercise UTF-8. */
static void make_corpus(void) {
    const char *words[] = {"the", "cat", "sat", "on", "mat", "and", "café", "naïve", "中文", "dog"};
    char *text = xmalloc(40000);
    size_t n = 0;
    unsigned x = 12345;
    while (n < 30000) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 16) % 10];
        n += (size_t)sprintf(text + n, "%s%s", w, (x >> 8) % 7 == 0 ? ".\n" : " ");
    }
    write_file("corpus.txt", text, n);
    free(text);
}

static void test_usage_errors_exit_2(void) {
    write_file("tiny.txt", "hello world, hello world, hello world\n", 38);
    EXPECT_RUN("", 2, "usage: mingpt <command>");
    EXPECT_RUN("train $D/tiny.txt --lr", 2, "option '--lr' needs a value");
    EXPECT_RUN("frobnicate", 2, "unknown command 'frobnicate'");
    EXPECT_RUN("train", 2, "expects exactly one FILE");
    EXPECT_RUN("train $D/tiny.txt --batch-size 0", 2, "--batch-size expects an integer from 1");
    EXPECT_RUN("train $D/tiny.txt --batch-size -3", 2, "--batch-size expects an integer");
    EXPECT_RUN("train $D/tiny.txt --lr abc", 2, "--lr expects a number");
    EXPECT_RUN("train $D/tiny.txt --lr nan", 2, "--lr expects a number");
    EXPECT_RUN("train $D/tiny.txt --max-iters 12x", 2, "--max-iters expects an integer");
    EXPECT_RUN("train $D/tiny.txt --dropout 1", 2, "--dropout expects a number in [0, 1)");
    EXPECT_RUN("train $D/tiny.txt --bogus", 2, "unknown option '--bogus'");
    EXPECT_RUN("train $D/tiny.txt --model gpt-huge", 2, "unknown --model 'gpt-huge'");
    EXPECT_RUN("train $D/tiny.txt --lr-decay linear", 2, "--lr-decay expects none or cosine");
    EXPECT_RUN("train $D/tiny.txt --seed -1", 2, "--seed expects a non-negative integer");
    EXPECT_RUN("train $D/tiny.txt --block-size 8 --n-embd 50 --n-head 3", 2, "n_embd must be divisible by n_head");
    EXPECT_RUN("sample --temperature 0", 2, "--temperature expects a number in (0, 1000]");
    EXPECT_RUN("sample --top-k -1", 2, "--top-k expects an integer");
    EXPECT_RUN("sample extra", 2, "unexpected argument 'extra'");
    EXPECT_RUN("add --ndigit 0", 2, "--ndigit expects an integer from 1 to 9");
    EXPECT_RUN("add --accum 0", 2, "--accum expects an integer from 1");
    EXPECT_RUN("train $D/tiny.txt --accum x", 2, "--accum expects an integer from 1");
    EXPECT_RUN("add --ndigit 10", 2, "--ndigit expects an integer from 1 to 9");
    EXPECT_RUN("eval", 2, "expects exactly one FILE");
    EXPECT_RUN("train $D/tiny.txt --threads 0", 2, "--threads expects an integer from 1");
    /* help goes to stdout and succeeds */
    EXPECT(run("train --help") == 0 && strstr(out_text, "--max-iters N") && strstr(out_text, "(1000)"));
    EXPECT(run("--help") == 0 && strstr(out_text, "train FILE"));
    EXPECT(run("--version") == 0 && strncmp(out_text, "mingpt ", 7) == 0);
}

static void test_bad_input_exits_1_with_one_line(void) {
    write_file("empty.txt", "", 0);
    write_file("one.txt", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 47);
    write_file("bad.txt", "good text \xC3\x28 then more", 22);
    EXPECT_RUN("train $D/missing.txt", 1, "missing.txt: No such file or directory");
    EXPECT_RUN("train $D", 1, "is a directory");
    EXPECT_RUN("train $D/empty.txt", 1, "empty.txt: the file is empty");
    EXPECT_RUN("train $D/one.txt --block-size 8", 1, "only one distinct character");
    EXPECT_RUN("train $D/bad.txt --block-size 8", 1, "bad.txt: invalid UTF-8 at byte offset 10");
    EXPECT_RUN("train $D/tiny.txt", 1, "too short: training needs at least block_size+1 = 129");
    EXPECT_RUN("train $D/tiny.txt --block-size 8 --n-layer 256 --n-embd 16384 --n-head 128", 1,
               "a model of 256 layers, 128 heads, n_embd 16384 at batch 64 x 8 needs ");
    EXPECT_RUN("sample --ckpt $D/missing.safetensors", 1, "missing.safetensors: no checkpoint there; train one first");
    EXPECT_RUN("train $D/tiny.txt -x", 2, "unknown option '-x'");
    EXPECT_RUN("eval --ckpt $D/tiny.txt $D/tiny.txt", 1, "tiny.txt");
    EXPECT_RUN("add --eval --ckpt $D/missing.safetensors", 1, "missing.safetensors: no checkpoint there; train one first (mingpt add)");
}

static double last_val_loss(const char *text, double *first) {
    double v = -1.0;
    *first = -1.0;
    for (const char *p = text; (p = strstr(p, "val loss ")) != NULL; p++) {
        v = atof(p + 9);
        if (*first < 0) *first = v;
    }
    return v;
}

static const char *TRAIN_ARGS =
    "train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --eval-every 100 "
    "--log-every 50 --threads 2";

static void test_train_lowers_val_loss_then_sample_and_eval(void) {
    make_corpus();
    char args[512];
    snprintf(args, sizeof args, "%s --max-iters 300 --out $D/ck.safetensors", TRAIN_ARGS);
    EXPECT_RUN(args, 0, "saved");
    double first, last = last_val_loss(err_text, &first);
    /* 20 characters: a uniform guess costs ln 20 = 3.0 nats */
    if (!(first > 0 && last < first && last < 1.8)) printf("    val loss %.4f -> %.4f\n%s", first, last, err_text);
    EXPECT(first > 0 && last < first && last < 1.8);
    EXPECT(strstr(err_text, "vocabulary of 20") != NULL);

    /* sampling: reproducible with a seed, only the corpus's characters, valid UTF-8 */
    EXPECT_RUN("sample --ckpt $D/ck.safetensors --prompt 'the ' --len 300 --seed 5", 0, "");
    char first_sample[sizeof out_text];
    strcpy(first_sample, out_text);
    EXPECT(strncmp(first_sample, "the ", 4) == 0);
    EXPECT_RUN("sample --ckpt $D/ck.safetensors --prompt 'the ' --len 300 --seed 5", 0, "");
    EXPECT(strcmp(first_sample, out_text) == 0);
    EXPECT_RUN("sample --ckpt $D/ck.safetensors --prompt 'the ' --len 300 --seed 6", 0, "");
    EXPECT(strcmp(first_sample, out_text) != 0);
    const char *allowed = "thecasondmféïv中文g.\n ";
    size_t n = strlen(first_sample), chars = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int used = utf8_decode((const unsigned char *)first_sample + i, n - i, &cp);
        EXPECT(used > 0);
        if (used <= 0) break;
        char one[5] = {0};
        memcpy(one, first_sample + i, (size_t)used);
        if (!strstr(allowed, one)) printf("    character '%s' is not in the corpus\n", one);
        EXPECT(strstr(allowed, one) != NULL);
        i += (size_t)used;
        chars++;
    }
    EXPECT(chars == 4 + 300 + 1); /* prompt, new characters, final newline */
    EXPECT_RUN("sample --ckpt $D/ck.safetensors --greedy --len 50", 0, "");
    /* the cache and minGPT's full recompute agree while the text fits in block_size (32) */
    EXPECT_RUN("sample --ckpt $D/ck.safetensors --prompt 'the ' --len 28 --seed 9", 0, "");
    static char cached[sizeof out_text];
    strcpy(cached, out_text);
    EXPECT_RUN("sample --ckpt $D/ck.safetensors --prompt 'the ' --len 28 --seed 9 --exact", 0, "");
    EXPECT(strcmp(cached, out_text) == 0);
    EXPECT_RUN("sample --ckpt $D/ck.safetensors --len 40 --top-p 0.9 --num-samples 3", 0, "");
    EXPECT(strstr(out_text, "---------------\n") && strstr(strstr(out_text, "---------------\n") + 1, "---------------\n"));
    EXPECT_RUN("sample --ckpt $D/ck.safetensors --top-p 0", 2, "--top-p expects a number in (0, 1]");
    EXPECT_RUN("sample --ckpt $D/ck.safetensors --prompt 'the zebra'", 2, "'z' (U+007A) at position 4 is not in the vocabulary");

    /* eval: deterministic, in nats and bits */
    EXPECT_RUN("eval --ckpt $D/ck.safetensors $D/corpus.txt", 0, "");
    static char first_eval[sizeof out_text];
    snprintf(first_eval, sizeof first_eval, "%s", out_text);
    EXPECT(strstr(first_eval, "nats/char") && strstr(first_eval, "bits/char"));
    /* and beside it the loss of a uniform guess over the 20 characters, ln 20 */
    EXPECT(strstr(first_eval, "\na uniform guess over the 20 characters of the vocabulary: 2.9957 nats/char\n") != NULL);
    EXPECT_RUN("eval --ckpt $D/ck.safetensors --batch-size 7 $D/corpus.txt", 0, "");
    EXPECT(strcmp(first_eval, out_text) == 0);
    write_file("other.txt", "the zebra", 9);
    EXPECT_RUN("eval --ckpt $D/ck.safetensors --split all $D/other.txt", 1,
               "other.txt: line 1, column 5: character 'z' (U+007A) is not in the vocabulary");
}

static void test_resume_continues_exactly(void) {
    char args[512];
    snprintf(args, sizeof args, "%s --max-iters 200 --out $D/straight.safetensors", TRAIN_ARGS);
    EXPECT_RUN(args, 0, "saved");
    snprintf(args, sizeof args, "%s --max-iters 100 --out $D/half.safetensors", TRAIN_ARGS);
    EXPECT_RUN(args, 0, "saved");
    snprintf(args, sizeof args, "%s --max-iters 200 --resume $D/half.safetensors --out $D/resumed.safetensors",
             TRAIN_ARGS);
    EXPECT_RUN(args, 0, "resuming from");
    char a[256], b[256];
    snprintf(a, sizeof a, "cmp -s %s/straight.safetensors %s/resumed.safetensors", dir, dir);
    EXPECT(system(a) == 0);
    /* a resumed adder first scores the model it starts from, so it never saves a worse one */
    EXPECT_RUN("add --max-iters 500 --out $D/add2.safetensors", 0, "new best test score");
    EXPECT_RUN("add --max-iters 1000 --resume $D/add2.safetensors --out $D/add2.safetensors", 0,
               "scoring the resumed model");
    EXPECT(strstr(out_text, "test final score") != NULL);
    /* a text with characters outside the checkpoint's vocabulary is refused */
    write_file("zebra.txt", "zebras and zebus", 16);
    snprintf(b, sizeof b, "%s --max-iters 300 --val-frac 0 --resume $D/half.safetensors --out $D/z.safetensors",
             "train $D/zebra.txt --block-size 8");
    EXPECT_RUN(b, 1, "is not in the vocabulary");
}

/* Starts an endless training run saving to $D/out, sends it SIG (a kill(1) name) after 1.5 s;
 * returns its exit status, with its stderr in err_text. */
static int signal_training(const char *sig, const char *out) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "D=%s; { %s train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --max-iters 1000000 "
             "--eval-every 1000000 --log-every 1000000 --out $D/%s & pid=$!; sleep 1.5; kill -%s $pid; wait $pid; } "
             ">$D/stdout 2>$D/stderr </dev/null",
             dir, binary, out, sig);
    return collect(system(cmd));
}

static void test_interrupt_saves_and_nan_stops(void) {
    /* SIGINT: the step finishes, the model is saved, the exit status is 130 */
    char cmd[1024];
    EXPECT(signal_training("INT", "int.safetensors") == 130 && strstr(err_text, "interrupted at step") != NULL);
    EXPECT_RUN("eval --ckpt $D/int.safetensors $D/corpus.txt", 0, "");

    /* kill -9 at any moment, saving every step: the checkpoint that is there always loads */
    for (int k = 0; k < 3; k++) {
        snprintf(cmd, sizeof cmd,
                 "exec 2>/dev/null; D=%s; %s train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 "
                 "--max-iters 1000000 --eval-every 1 --val-frac 0 --log-every 1000000 "
                 "--out $D/killed.safetensors >/dev/null & pid=$!; sleep 1.%d; kill -9 $pid; wait $pid",
                 dir, binary, 3 + 3 * k);
        if (system(cmd) == -1) harness_case_failed = 1;
        EXPECT_RUN("eval --ckpt $D/killed.safetensors --split all $D/corpus.txt", 0, "");
    }

    /* SIGHUP (the terminal closed) saves as SIGINT does */
    EXPECT(signal_training("HUP", "hup.safetensors") == 130 && strstr(err_text, "interrupted at step") != NULL);
    EXPECT_RUN("info $D/hup.safetensors", 0, "");
}

/* Writes value over element `index` of tensor `name` in a safetensors file, in place. */
static void poke_float(const char *file, const char *name, size_t index, float value) {
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    StFile f;
    CHECK(st_open_header(&f, path, err, sizeof err) == 0);
    const StTensor *t = st_find(&f, name);
    CHECK(t != NULL && index < t->numel);
    struct stat st;
    CHECK(stat(path, &st) == 0);
    long at = (long)((size_t)st.st_size - f.data_size + t->begin + index * sizeof(float));
    st_close(&f);
    FILE *fp = fopen(path, "r+b");
    CHECK(fp && fseek(fp, at, SEEK_SET) == 0 && fwrite(&value, sizeof value, 1, fp) == 1);
    fclose(fp);
}

static int same_files(const char *a, const char *b) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cmp -s %s/%s %s/%s", dir, a, dir, b);
    return system(cmd) == 0;
}

static void copy_file(const char *from, const char *to) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cp %s/%s %s/%s", dir, from, dir, to);
    EXPECT(system(cmd) == 0);
}

static void test_checkpoints_never_get_worse(void) {
    char args[600];
    snprintf(args, sizeof args, "%s --max-iters 20 --eval-every 10 --out $D/good.safetensors", TRAIN_ARGS);
    EXPECT_RUN(args, 0, "saved");
    /* NaN or Inf in a weight or an AdamW moment: refused on every path that loads, and a resumed
     * run never writes over the file */
    const char *poisoned[][2] = {{"transformer.h.0.mlp.c_fc.weight", "nan"},
                                 {"optimizer.m.transformer.h.1.attn.c_attn.weight", "nan"},
                                 {"optimizer.v.lm_head.weight", "inf"}};
    for (int i = 0; i < 3; i++) {
        copy_file("good.safetensors", "bad.safetensors");
        poke_float("bad.safetensors", poisoned[i][0], 7, strcmp(poisoned[i][1], "nan") == 0 ? NAN : INFINITY);
        copy_file("bad.safetensors", "bad.before");
        snprintf(args, sizeof args, "%s --max-iters 40 --eval-every 5 --resume $D/bad.safetensors", TRAIN_ARGS);
        EXPECT_RUN(args, 1, poisoned[i][0]);
        EXPECT(same_files("bad.safetensors", "bad.before"));
        if (i == 0) {
            EXPECT_RUN("sample --ckpt $D/bad.safetensors --len 5", 1, poisoned[i][0]);
            EXPECT_RUN("eval --ckpt $D/bad.safetensors $D/corpus.txt", 1, poisoned[i][0]);
        }
    }
}

/* Runs a shell command line (with $D and $M, the binary) in the temporary folder; returns the
 * exit status of the whole line. */
static int shell(const char *line) {
    char cmd[2048], bin[300];
    if (binary[0] == '/') snprintf(bin, sizeof bin, "%s", binary);
    else CHECK(getcwd(bin, sizeof bin - 40) != NULL), snprintf(bin + strlen(bin), 40, "/%s", binary);
    snprintf(cmd, sizeof cmd, "D=%s; M=%s; cd $D && { %s; } >$D/stdout 2>$D/stderr </dev/null", dir, bin, line);
    return collect(system(cmd));
}

static void test_outputs_never_destroy_inputs(void) {
    copy_file("corpus.txt", "data.txt");
    copy_file("corpus.txt", "data.before");
    snprintf(path_buf, sizeof path_buf, "%s --max-iters 10 --eval-every 10", "train $D/data.txt --model gpt-nano "
             "--block-size 16 --batch-size 4");
    char args[800];
    /* each output that names an input, or another output, is refused before any work (exit 2) */
    const char *cases[][2] = {
        {"--out $D/data.txt", "--out " },
        {"--out $D/./data.txt", "is the training text"},
        {"--log $D/data.txt", "--log "},
        {"--plot $D/data.txt", "--plot "},
        {"--out $D/o.safetensors --plot $D/o.safetensors", "--out and --plot both name"},
        {"--log $D/x.csv --plot $D/x.csv", "--log and --plot both name"},
        /* in folders still to be made, spelt differently */
        {"--out $D/new/o.safetensors --plot $D/./new//o.safetensors", "--out and --plot both name"},
        {"--out $D/new/a/../o.safetensors --log $D/new/o.safetensors", "--out and --log both name"},
        {"--out ''", "--out: the file name is empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(args, sizeof args, "%s %s", path_buf, cases[i][0]);
        EXPECT_RUN(args, 2, cases[i][1]);
    }
    EXPECT(same_files("data.txt", "data.before"));
    EXPECT(count_files("o.safetensors") == 0 && count_files("x.csv") == 0 && count_files("new") == 0);
    /* a symbolic link to the text is the text */
    EXPECT(shell("ln -s data.txt $D/link.txt && $M train $D/data.txt --out $D/link.txt") == 2);
    EXPECT(strstr(err_text, "is the training text") != NULL);
    EXPECT(same_files("data.txt", "data.before"));
    copy_file("data.before", "data.txt"); /* (in case it was destroyed above) */
    /* plot: -o may not be the CSV */
    snprintf(args, sizeof args, "%s --log $D/p.csv --out $D/p.safetensors", path_buf);
    EXPECT_RUN(args, 0, "done");
    copy_file("p.csv", "p.before");
    EXPECT_RUN("plot $D/p.csv -o $D/p.csv", 2, "-o ");
    EXPECT(same_files("p.csv", "p.before"));
    /* the resumed checkpoint is an input too: --log may not be it */
    snprintf(args, sizeof args, "%s --resume $D/p.safetensors --log $D/p.safetensors", path_buf);
    EXPECT_RUN(args, 2, "is the checkpoint given to --resume");
    /* an existing non-regular output (a FIFO here, /dev/null for root) is never replaced */
    EXPECT(shell("mkfifo $D/fifo.out") == 0);
    snprintf(args, sizeof args, "%s --out $D/fifo.out", path_buf);
    EXPECT_RUN(args, 1, "exists and is a FIFO");
    struct stat st;
    snprintf(args, sizeof args, "%s/fifo.out", dir);
    EXPECT(stat(args, &st) == 0 && S_ISFIFO(st.st_mode));
    /* a device: a private copy of /dev/null's node, so that a regression cannot replace the real one */
    if (geteuid() == 0 && shell("mknod $D/null.dev c 1 3") == 0) {
        snprintf(args, sizeof args, "%s --out $D/null.dev", path_buf);
        EXPECT_RUN(args, 1, "exists and is a character device");
        snprintf(args, sizeof args, "%s/null.dev", dir);
        EXPECT(stat(args, &st) == 0 && S_ISCHR(st.st_mode));
    }
}

static void test_resume_writes_back_to_its_file(void) {
    char args[800];
    snprintf(args, sizeof args, "%s --max-iters 10 --eval-every 10 --out $D/r.safetensors", TRAIN_ARGS);
    EXPECT_RUN(args, 0, "saved");
    /* from inside $D, so that the default out/chargpt/model.safetensors would land there */
    EXPECT(shell("$M train corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --threads 2 "
                 "--max-iters 20 --eval-every 10 --resume r.safetensors") == 0);
    EXPECT(strstr(err_text, "saved r.safetensors") != NULL);
    snprintf(args, sizeof args, "%s/out", dir);
    EXPECT(access(args, F_OK) != 0);
    EXPECT_RUN("info $D/r.safetensors", 0, "");
    EXPECT(strstr(out_text, "step:        20\n") != NULL);
    /* a model shape that disagrees with the checkpoint is refused, not ignored */
    EXPECT_RUN("train $D/corpus.txt --resume $D/r.safetensors --model gpt-mini --max-iters 30", 2,
               "holds a model of 3 layers, 3 heads, n_embd 48");
    EXPECT_RUN("train $D/corpus.txt --resume $D/r.safetensors --n-layer 4 --max-iters 30", 2, "holds a model of");
    /* the same shape said again is fine */
    EXPECT_RUN("train $D/corpus.txt --resume $D/r.safetensors --model gpt-nano --max-iters 30 --eval-every 10 "
               "--block-size 32 --batch-size 16", 0, "done: step 30");
}

static void test_closed_outputs_and_pipes(void) {
    /* train | head: the reader leaves at the first sample; training goes on and saves (exit 0) */
    EXPECT(shell("{ $M train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --max-iters 30 "
                 "--eval-every 10 --out $D/piped.safetensors; echo $? >$D/rc; } | head -c 5 >/dev/null") == 0);
    char path[300], rc_text[16];
    snprintf(path, sizeof path, "%s/rc", dir);
    harness_slurp(path, rc_text, sizeof rc_text);
    EXPECT(atoi(rc_text) == 0);
    EXPECT(strstr(err_text, "standard output is closed; training goes on without samples") != NULL);
    EXPECT(strstr(err_text, "done: step 30") != NULL);
    EXPECT_RUN("info $D/piped.safetensors", 0, "");
    EXPECT(strstr(out_text, "step:        30\n") != NULL);
    /* stdout or stderr closed: nothing meant for them ends up in the --log CSV */
    RunLog log = {0};
    char err[512];
    EXPECT(shell("$M train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --max-iters 20 "
                 "--eval-every 10 --log-every 5 --out $D/closed.safetensors --log $D/closed1.csv >&-") == 0);
    snprintf(path, sizeof path, "%s/closed1.csv", dir);
    EXPECT(runlog_read_csv(path, &log, err, sizeof err) == 0 && log.n == 5);
    runlog_free(&log);
    EXPECT(shell("$M train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --max-iters 20 "
                 "--eval-every 10 --log-every 5 --out $D/closed.safetensors --log $D/closed2.csv 2>&-") == 0);
    snprintf(path, sizeof path, "%s/closed2.csv", dir);
    EXPECT(runlog_read_csv(path, &log, err, sizeof err) == 0 && log.n == 5);
    runlog_free(&log);
    /* nor does a reader of stderr that leaves: the run ends, saved, with exit 0 (train and add) */
    EXPECT(shell("{ $M train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --max-iters 30 "
                 "--eval-every 10 --log-every 1 --out $D/piped2.safetensors; echo $? >$D/rc; } 2>&1 | head -c 5 >/dev/null") == 0);
    harness_slurp(path, rc_text, sizeof rc_text);
    EXPECT(atoi(rc_text) == 0);
    EXPECT(shell("{ $M add --max-iters 40 --eval-every 20 --log-every 1 --out $D/piped3.safetensors; echo $? >$D/rc; } "
                 "2>&1 | head -c 5 >/dev/null") == 0);
    harness_slurp(path, rc_text, sizeof rc_text);
    EXPECT(atoi(rc_text) == 0);
    /* nohup: an ignored SIGHUP stays ignored, the run goes on to its end */
    EXPECT(shell("nohup $M train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --max-iters 60 "
                 "--eval-every 60 --out $D/nohup.safetensors >$D/nohup.out 2>&1 & pid=$!; sleep 1; kill -HUP $pid; "
                 "wait $pid") == 0);
    /* --help into a full disk is a failure */
    EXPECT(shell("$M train --help >/dev/full") == 1);
    EXPECT(strstr(err_text, "cannot write to standard output") != NULL);
}

static void test_fifos_never_block(void) {
    /* a FIFO that nobody writes to, in every place that reads a file: an error at once, no hang */
    EXPECT(shell("mkfifo $D/fifo.in") == 0);
    const char *cmds[][2] = {
        {"train $D/fifo.in", "the file is empty"},
        {"sample --ckpt $D/fifo.in", "fifo.in"},
        {"eval --ckpt $D/fifo.in $D/corpus.txt", "fifo.in"},
        {"train $D/corpus.txt --resume $D/fifo.in --out $D/f.safetensors", "fifo.in"},
        {"info $D/fifo.in", "fifo.in"},
        {"plot $D/fifo.in -o $D/f.svg", "fifo.in"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) {
        char line[600];
        snprintf(line, sizeof line, "timeout 5 $M %s", cmds[i][0]);
        int rc = shell(line);
        if (rc != 1 || !strstr(err_text, cmds[i][1]))
            printf("    mingpt %s: exit %d, stderr: %s", cmds[i][0], rc, err_text);
        EXPECT(rc == 1 && strstr(err_text, cmds[i][1]));
    }
    /* a pipe with a writer is read to its end */
    EXPECT(shell("cat $D/corpus.txt | $M train /dev/stdin --model gpt-nano --block-size 16 --batch-size 4 "
                 "--max-iters 2 --eval-every 2 --out $D/stdin.safetensors") == 0);
}

/* 1 if name, in the temporary folder, is a symbolic link (not what it leads to). */
static int is_link(const char *name) {
    char path[300];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* An output that is a symbolic link is written through, as cp does: the link stays, the file it
 * leads to gets the new contents; a link to a FIFO, one that loops or one into a missing folder is
 * refused before any work. */
static void test_outputs_write_through_links(void) {
    EXPECT(shell("rm -rf lk && mkdir lk lk/real && echo old >lk/real/m.safetensors && echo old >lk/real/p.svg && "
                 "ln -s real/m.safetensors lk/out.link && ln -s real/p.svg lk/plot.link && "
                 "ln -s new.safetensors lk/dangling && ln -s gone/x.safetensors lk/nofolder && mkfifo lk/fifo && "
                 "ln -s fifo lk/fifo.link && ln -s loop.b lk/loop.a && ln -s loop.a lk/loop.b") == 0);
    const char *train = "train $D/corpus.txt --model gpt-nano --block-size 16 --batch-size 4 --max-iters 2 --eval-every 2";
    char args[600];
    snprintf(args, sizeof args, "%s --out $D/lk/out.link --plot $D/lk/plot.link", train);
    EXPECT_RUN(args, 0, "");
    EXPECT(is_link("lk/out.link") && is_link("lk/plot.link"));
    EXPECT_RUN("info $D/lk/real/m.safetensors", 0, "");
    EXPECT(run("info $D/lk/out.link") == 0 && strstr(out_text, "step:        2\n") != NULL);
    EXPECT(shell("grep -q '<svg' lk/real/p.svg") == 0);
    /* plot -o through a link, and a dangling link: its target is created */
    EXPECT(shell("ln -s real/q.svg lk/q.link") == 0);
    EXPECT_RUN("train $D/corpus.txt --model gpt-nano --block-size 16 --batch-size 4 --max-iters 2 --eval-every 2 "
               "--out $D/lk/o2.safetensors --log $D/lk/real/l.csv", 0, "");
    EXPECT_RUN("plot $D/lk/real/l.csv -o $D/lk/q.link", 0, "");
    EXPECT(is_link("lk/q.link") && shell("grep -q '<svg' lk/real/q.svg") == 0);
    snprintf(args, sizeof args, "%s --out $D/lk/dangling", train);
    EXPECT_RUN(args, 0, "");
    EXPECT(is_link("lk/dangling") && run("info $D/lk/new.safetensors") == 0);
    /* refused, naming the link and where it leads */
    const char *refused[][2] = {
        {"--out $D/lk/nofolder", "lk/nofolder: a symbolic link to"},
        {"--out $D/lk/fifo.link", "lk/fifo.link: a symbolic link to"},
        {"--out $D/lk/loop.a", "lk/loop.a: too many levels of symbolic links"},
        {"--out $D/lk/o3.safetensors --plot $D/lk/fifo.link", "which is a FIFO"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        snprintf(args, sizeof args, "timeout 10 $M %s %s", train, refused[i][0]);
        int rc = shell(args);
        if (rc != 1 || !strstr(err_text, refused[i][1]) || strchr(err_text, '\n') != strrchr(err_text, '\n')) {
            printf("    mingpt train ... %s: exit %d (want 1), stderr: %s      wanted: %s\n", refused[i][0], rc,
                   err_text, refused[i][1]);
            harness_case_failed = 1;
        }
    }
    EXPECT(is_link("lk/nofolder") && is_link("lk/fifo.link") && is_link("lk/loop.a"));
    EXPECT(shell("test -p lk/fifo && test ! -e lk/gone && test ! -e lk/o3.safetensors") == 0);
}

static void test_memory_is_checked_up_front(void) {
    if (getenv("MINGPT_SANITIZED")) { /* AddressSanitizer reserves terabytes of address space */
        printf("    (left out under sanitizers: ulimit -v stops ASan itself)\n");
        return;
    }
    /* 300 MB of address space: gpt-mini's default run needs more; the refusal names the limit
     * and a batch size that fits */
    EXPECT(shell("ulimit -v 300000 && $M train $D/corpus.txt --max-iters 1") == 1);
    if (!strstr(err_text, "gpt-mini at batch 64 x 128 needs") || !strstr(err_text, "left under ulimit -v; try --batch-size"))
        printf("    stderr: %s", err_text);
    EXPECT(strstr(err_text, "gpt-mini at batch 64 x 128 needs") && strstr(err_text, "left under ulimit -v; try --batch-size"));
    EXPECT(strchr(err_text, '\n') == strrchr(err_text, '\n'));
    /* what cannot be foreseen says what did not fit, never a source line */
    EXPECT(shell("ulimit -v 300000 && $M sample --ckpt $D/good.safetensors --len 100000000") == 1);
    EXPECT(strstr(err_text, "out of memory: ") && !strstr(err_text, ".c:"));
}

/* The memory train says it needs, from its "memory: 405 MiB at batch" line; 0 if there is none. */
static double estimate_in_stderr(void) {
    const char *at = strstr(err_text, "; memory: ");
    double amount;
    char unit[4];
    if (!at || sscanf(at, "; memory: %lf %3s at batch", &amount, unit) != 2) return 0.0;
    double scale = strcmp(unit, "GiB") == 0 ? 1 << 30 : strcmp(unit, "MiB") == 0 ? 1 << 20 : 1 << 10;
    return amount * scale;
}

static void test_memory_estimate_covers_the_peak(void) {
    if (getenv("MINGPT_SANITIZED")) { /* shadow memory and quarantine are not the program's */
        printf("    (left out under sanitizers: they hold memory of their own)\n");
        return;
    }
    /* a small model trained in shards (its evaluation fills the model's own activations besides
     * theirs), and a larger one that packs a copy of its weights for the samples; each a step and
     * the evaluation, sample and save after it. The estimate printed before the first step (what
     * the refusal above rests on) may not be below the peak, nor far above it. */
    const char *runs[] = {"--model gpt-micro --block-size 128 --batch-size 16",
                          "--n-layer 2 --n-head 4 --n-embd 512 --block-size 64 --batch-size 8"};
    for (int i = 0; i < 2; i++) {
        char args[600];
        size_t peak;
        snprintf(args, sizeof args, "train $D/corpus.txt %s --max-iters 1 --out $D/mem.safetensors", runs[i]);
        int rc = run_measured(args, &peak);
        double estimate = estimate_in_stderr(), ratio = estimate / (double)peak;
        if (rc != 0 || !(ratio >= 1.0 && ratio <= 1.2))
            printf("    train %s: exit %d, estimate %.1f MiB, peak resident %.1f MiB (%.2fx); stderr: %s", runs[i], rc,
                   estimate / (1 << 20), (double)peak / (1 << 20), ratio, err_text);
        EXPECT(rc == 0 && ratio >= 1.0 && ratio <= 1.2);
    }
}

static void test_strict_flag_values(void) {
    /* (each would be a 1-step run if accepted) */
    const char *tiny_run = "train $D/corpus.txt --model gpt-nano --block-size 8 --max-iters 1 --out $D/s.safetensors";
    const char *bad[][2] = {{"--batch-size ' 5'", "--batch-size expects an integer"},
                            {"--batch-size +5", "--batch-size expects an integer"},
                            {"--seed ' -1'", "--seed expects a non-negative integer"},
                            {"--seed +1", "--seed expects a non-negative integer"},
                            {"--lr ' 0.1'", "--lr expects a number"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char args[400];
        snprintf(args, sizeof args, "%s %s", tiny_run, bad[i][0]);
        EXPECT_RUN(args, 2, bad[i][1]);
    }
    EXPECT_RUN("sample --temperature ''", 2, "--temperature expects a number in (0, 1000]");
    EXPECT_RUN("eval --split test $D/corpus.txt", 2, "--split expects val, train or all");
}

static void test_newcomer_output(void) {
    char args[800];
    /* samples: labelled, ending in a newline, from --sample-prompt or a prompt that fits the text */
    snprintf(args, sizeof args, "%s --max-iters 20 --eval-every 10 --out $D/n.safetensors", TRAIN_ARGS);
    EXPECT_RUN(args, 0, "samples start from a newline: chargpt's prompt");
    EXPECT(strncmp(out_text, "--- sample at step 10 ---\n", 26) == 0 && strstr(out_text, "\n--- sample at step 20 ---\n"));
    EXPECT(out_text[0] && out_text[strlen(out_text) - 1] == '\n');
    snprintf(args, sizeof args, "%s --max-iters 10 --eval-every 10 --out $D/n2.safetensors --sample-prompt 'the cat'",
             TRAIN_ARGS);
    EXPECT_RUN(args, 0, "done");
    EXPECT(strncmp(out_text, "--- sample at step 10 ---\nthe cat", 33) == 0);
    snprintf(args, sizeof args, "%s --max-iters 10 --out $D/n3.safetensors --sample-prompt 'Zebra'", TRAIN_ARGS);
    EXPECT_RUN(args, 2, "--sample-prompt: character 'Z' (U+005A) at position 0 is not in the vocabulary");
    /* eval: the held-out part by default, the others on request; progress on stderr */
    EXPECT_RUN("eval --ckpt $D/n.safetensors $D/corpus.txt", 0, "eval: ");
    EXPECT(strstr(out_text, "(val split, characters ") != NULL);
    EXPECT_RUN("eval --ckpt $D/n.safetensors --split train $D/corpus.txt", 0, "");
    EXPECT(strstr(out_text, "(train split, characters 0 to ") != NULL);
    EXPECT_RUN("eval --ckpt $D/n.safetensors --split all $D/corpus.txt", 0, "");
    EXPECT(strstr(out_text, "(all split, characters 0 to ") != NULL);
    /* the split is the one training made, as the checkpoint records it */
    snprintf(args, sizeof args, "%s --max-iters 2 --eval-every 2 --val-frac 0.25 --out $D/q.safetensors", TRAIN_ARGS);
    EXPECT_RUN(args, 0, "done");
    EXPECT_RUN("eval --ckpt $D/q.safetensors $D/corpus.txt", 0, "");
    EXPECT(strstr(out_text, "(val split, characters 19752 to 26336)") != NULL);
    /* add --log: the val_loss column holds the test problems' loss */
    EXPECT_RUN("add --max-iters 40 --eval-every 20 --out $D/a.safetensors --log $D/a.csv", 0, "done");
    RunLog log = {0};
    char err[512], path[300];
    snprintf(path, sizeof path, "%s/a.csv", dir);
    EXPECT(runlog_read_csv(path, &log, err, sizeof err) == 0);
    int vals = 0;
    for (size_t i = 0; i < log.n; i++) vals += isfinite(log.rows[i].val_loss) && log.rows[i].val_loss > 0;
    EXPECT(vals == 2);
    runlog_free(&log);
}

static void test_adder_interrupt_keeps_the_best_model(void) {
    /* Ctrl-C while the adder trains: the file keeps the best-scoring model, never a later worse one */
    EXPECT(shell("$M add --max-iters 1000000 --eval-every 50 --log-every 1000000 --out $D/best.safetensors "
                 "& pid=$!; sleep 4; kill -INT $pid; wait $pid") == 130);
    const char *p = err_text, *best = NULL;
    while ((p = strstr(p, "new best test score ")) != NULL) best = p += 20;
    EXPECT(best != NULL);
    if (!best) return;
    int score = atoi(best);
    EXPECT_RUN("add --eval --ckpt $D/best.safetensors", 0, "");
    const char *test = strstr(out_text, "test final score: ");
    EXPECT(test && atoi(test + 18) == score);
}

static void test_failed_saves_keep_the_old_checkpoint(void) {
    char args[512], cmd[512];
    snprintf(args, sizeof args, "%s --max-iters 20 --eval-every 10 --out $D/full.safetensors", TRAIN_ARGS);
    EXPECT_RUN(args, 0, "saved");
    snprintf(cmd, sizeof cmd, "cp %s/full.safetensors %s/full.before", dir, dir);
    CHECK(system(cmd) == 0);
    /* a "full disk" (files capped at 64 KiB, the checkpoint needs more): both saves fail, training
     * goes on after the first, the run fails after the last, and the old file is untouched */
    snprintf(args, sizeof args,
             "%s --max-iters 40 --eval-every 10 --resume $D/full.safetensors --out $D/full.safetensors", TRAIN_ARGS);
    EXPECT(run_limited(args, 64 << 10, 0) == 1);
    EXPECT(strstr(err_text, "step 30: could not save") && strstr(err_text, "training goes on"));
    EXPECT(strstr(err_text, "step 40: could not save") && strstr(err_text, "File too large"));
    EXPECT(strstr(err_text, "iter 40/40") != NULL);
    snprintf(cmd, sizeof cmd, "cmp -s %s/full.safetensors %s/full.before", dir, dir);
    EXPECT(system(cmd) == 0);
    EXPECT(count_files("full.safetensors.tmp") == 0); /* no temporary file is left behind */

    /* a place that cannot hold a checkpoint is refused before training starts */
    EXPECT_RUN("train $D/corpus.txt --out $D/corpus.txt/model.safetensors", 1,
               "corpus.txt/model.safetensors: cannot write a checkpoint there: Not a directory");
    EXPECT_RUN("train $D/corpus.txt --out $D", 1, "is a directory; --out needs a file name");
    char ro[300];
    snprintf(ro, sizeof ro, "%s/readonly", dir);
    CHECK(mkdir(ro, 0555) == 0 && chmod(ro, 0555) == 0 && chmod(dir, 0755) == 0);
    snprintf(path_buf, sizeof path_buf, "%s/corpus.txt", dir);
    CHECK(chmod(path_buf, 0644) == 0);
    EXPECT(run_limited("train $D/corpus.txt --out $D/readonly/model.safetensors", 0, 1) == 1);
    EXPECT(strstr(err_text, "readonly/model.safetensors: cannot write a checkpoint there: Permission denied"));
    EXPECT(strchr(err_text, '\n') == strrchr(err_text, '\n'));
    CHECK(chmod(dir, 0700) == 0);
    /* a resumed model keeps its block_size (the position embeddings are that long) */
    EXPECT_RUN("train $D/corpus.txt --resume $D/full.safetensors --block-size 64", 2,
               "full.safetensors: has block_size 32; --resume cannot change it to --block-size 64");
}

/* Runs a command line under `script`, which gives it a pseudo-terminal, as a person's terminal
 * would; the terminal's output lands in `out`. Returns the exit status. */
static int run_on_terminal(const char *env, const char *args, char *out, size_t size) {
    char cmd[2048], path[300];
    snprintf(cmd, sizeof cmd, "D=%s; %s script -qec \"%s %s\" /dev/null >%s/tty </dev/null 2>&1", dir, env, binary,
             args, dir);
    int status = system(cmd);
    snprintf(path, sizeof path, "%s/tty", dir);
    harness_slurp(path, out, size);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_progress_on_a_terminal_and_in_a_pipe(void) {
    static char tty[1 << 16];
    const char *args = "train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --max-iters 40 "
                       "--eval-every 20 --log-every 10 --out $D/progress.safetensors";
    /* a pipe: plain lines every --log-every steps, no carriage return, no escape sequence */
    EXPECT_RUN(args, 0, "iter 10/40: loss ");
    EXPECT(strstr(err_text, "tok/s") && strstr(err_text, "GFLOP/s") && strstr(err_text, "ETA"));
    EXPECT(strstr(err_text, "iter 40/40") && strstr(err_text, "done: step 40 in "));
    EXPECT(strstr(err_text, "best val loss") &&
           strstr(err_text, "progress.safetensors"));
    EXPECT(!strchr(err_text, '\r') && !strchr(err_text, '\033'));
    /* a terminal: one status line redrawn in place, coloured */
    EXPECT(run_on_terminal("", args, tty, sizeof tty) == 0);
    EXPECT(strstr(tty, "\rstep 10/40 [") && strstr(tty, "\033[K") && strstr(tty, "ms/it"));
    EXPECT(strstr(tty, "| ETA ") != NULL);
    EXPECT(strstr(tty, "iter 10/40") == NULL);                      /* no plain lines */
    EXPECT(strstr(tty, "\033[1mdone: step 40") != NULL);            /* colour */
    EXPECT(strstr(tty, "\r\033[Kstep 20: val loss") != NULL);       /* cleared before other output */
    /* NO_COLOR: still in place, but no colour */
    EXPECT(run_on_terminal("NO_COLOR=1", args, tty, sizeof tty) == 0);
    EXPECT(strstr(tty, "\rstep 10/40 [") && !strstr(tty, "\033[1m") && !strstr(tty, "\033[33m"));
    /* --quiet: the summary and nothing else */
    char quiet[600];
    snprintf(quiet, sizeof quiet, "%s --quiet", args);
    EXPECT_RUN(quiet, 0, "done: step 40");
    EXPECT(strchr(err_text, '\n') == strrchr(err_text, '\n') && out_text[0] == '\0');
}

/* The characters (UTF-8) of the sample that follows "--- sample at step N ---\n" in text, up to
 * its newline; -1 if there is no such sample. */
static long sample_chars(const char *text, long step) {
    char head[64];
    snprintf(head, sizeof head, "--- sample at step %ld ---\n", step);
    const char *p = strstr(text, head);
    if (!p) return -1;
    p += strlen(head);
    const char *end = strstr(p, "\n--- sample at step ");
    size_t n = end ? (size_t)(end - p) : strlen(p) - 1; /* the last one ends with the text's newline */
    long chars = 0;
    for (size_t i = 0; i < n; chars++) {
        uint32_t cp;
        int used = utf8_decode((const unsigned char *)p + i, n - i, &cp);
        if (used <= 0) return -1;
        i += (size_t)used;
    }
    return chars;
}

/* Loading, validating, sampling and saving say how far they are once they take a while (5 s; the
 * test hook MINGPT_STATUS_INTERVAL=0 makes every one of them "a while"); a small run prints none
 * of it. --sample-len sets the samples' length, 0 none. */
static void test_status_of_long_operations(void) {
    static char quiet_out[sizeof out_text], tty[1 << 16];
    const char *args = "train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --max-iters 4 "
                       "--eval-every 2 --sample-len 5 --out $D/status.safetensors";
    const char *phases[] = {"validating: ", "sampling: ", "saving ", "loading "};
    /* without the hook: none of these lines, samples of 5 characters (the corpus lacks chargpt's
     * prompt: they start from a newline, printed as nothing) */
    EXPECT_RUN(args, 0, "done: step 4");
    for (int i = 0; i < 4; i++) EXPECT(strstr(err_text, phases[i]) == NULL);
    EXPECT(sample_chars(out_text, 2) == 5 && sample_chars(out_text, 4) == 5);
    snprintf(quiet_out, sizeof quiet_out, "%s", out_text);
    /* with it: each phase says how far it is and how long it took; the samples are the same */
    setenv("MINGPT_STATUS_INTERVAL", "0", 1);
    EXPECT_RUN(args, 0, "done: step 4");
    EXPECT(strstr(err_text, "validating: 16/") && strstr(err_text, " windows in "));
    EXPECT(strstr(err_text, "sampling: 3/5 characters, ") && strstr(err_text, "sampling: 5 characters in "));
    EXPECT(strstr(err_text, "/status.safetensors: ") && strstr(err_text, " of 1.0 MiB, ") &&
           strstr(err_text, "status.safetensors: 1 MiB in "));
    EXPECT(strstr(err_text, "saving ") && !strstr(err_text, "loading "));
    EXPECT(strcmp(out_text, quiet_out) == 0);
    /* a status line never lands inside a sample, even with both streams in one file */
    char both[900], path[300];
    snprintf(both, sizeof both, "D=%s; %s %s >$D/both 2>&1 </dev/null", dir, binary, args);
    EXPECT(system(both) == 0);
    snprintf(path, sizeof path, "%s/both", dir);
    harness_slurp(path, err_text, sizeof err_text);
    const char *second = strstr(quiet_out, "--- sample at step 4 ---");
    EXPECT(second != NULL);
    if (second) {
        char first[200];
        snprintf(first, sizeof first, "%.*s", (int)(second - quiet_out), quiet_out);
        EXPECT(strstr(err_text, first) != NULL && strstr(err_text, "sampling: 5 characters in "));
    }
    /* --resume and --init load with a status; so do sample and eval */
    EXPECT_RUN("train $D/corpus.txt --resume $D/status.safetensors --max-iters 6 --sample-len 0", 0,
               "/status.safetensors: 1 MiB in ");
    EXPECT(strstr(err_text, "loading ") && strstr(err_text, "saving ") && out_text[0] == '\0'); /* no sample */
    EXPECT_RUN("train $D/corpus.txt --init $D/status.safetensors --max-iters 2 --out $D/init.safetensors", 0,
               "/status.safetensors: 1 MiB in ");
    EXPECT(strncmp(err_text, "loading ", 8) == 0);
    EXPECT_RUN("sample --ckpt $D/status.safetensors --len 5", 0, "/status.safetensors: 1 MiB in ");
    EXPECT(strncmp(err_text, "loading ", 8) == 0);
    EXPECT_RUN("eval --ckpt $D/status.safetensors $D/corpus.txt", 0, "/status.safetensors: 1 MiB in ");
    EXPECT(strncmp(err_text, "loading ", 8) == 0);
    /* --quiet: still nothing but the summary */
    char quiet[600];
    snprintf(quiet, sizeof quiet, "%s --quiet", args);
    EXPECT_RUN(quiet, 0, "done: step 4");
    EXPECT(strchr(err_text, '\n') == strrchr(err_text, '\n'));
    /* a terminal: the status line, cleared before the validation loss */
    EXPECT(run_on_terminal("MINGPT_STATUS_INTERVAL=0", args, tty, sizeof tty) == 0);
    EXPECT(strstr(tty, "\rvalidating | ") && strstr(tty, "\r\033[Kvalidating: ") && strstr(tty, "\rsaving "));
    unsetenv("MINGPT_STATUS_INTERVAL");
    EXPECT_RUN("train $D/corpus.txt --sample-len -1", 2, "--sample-len expects an integer");
}

static void test_log_csv_plot_and_info(void) {
    const char *args = "train $D/corpus.txt --model gpt-nano --block-size 32 --batch-size 16 --eval-every 20 "
                       "--log-every 10 --out $D/logged.safetensors --log $D/run.csv --plot $D/run.svg";
    char cmd[800], path[300];
    static char text[1 << 16];
    snprintf(cmd, sizeof cmd, "%s --max-iters 40", args);
    EXPECT_RUN(cmd, 0, "done");
    snprintf(path, sizeof path, "%s/run.csv", dir);
    harness_slurp(path, text, sizeof text);
    EXPECT(strncmp(text, "iter,time_s,train_loss,val_loss,lr,tokens_per_s\n1,", 50) == 0);
    EXPECT(strstr(text, "\n10,") && strstr(text, "\n30,") && strstr(text, "\n40,"));
    /* resumed: rows appended after the old ones, the clock goes on. A row from past the checkpoint
     * (training it does not hold) and a row cut short by a crash are dropped first. */
    FILE *fp = fopen(path, "ab");
    CHECK(fp != NULL);
    fputs("50,999.0,1.0,,1e-3,1\n55,1", fp);
    fclose(fp);
    snprintf(cmd, sizeof cmd, "%s --max-iters 60 --resume $D/logged.safetensors", args);
    EXPECT_RUN(cmd, 0, "done: step 60");
    RunLog log = {0};
    char err[256];
    EXPECT(runlog_read_csv(path, &log, err, sizeof err) == 0);
    EXPECT(log.n == 7); /* 1, 10, 20, 30, 40, then 50, 60 */
    int vals = 0;
    for (size_t i = 0; i < log.n; i++) {
        vals += isfinite(log.rows[i].val_loss);
        EXPECT(isfinite(log.rows[i].train_loss) && log.rows[i].tokens_per_s > 0 && log.rows[i].lr > 0);
        if (i) EXPECT(log.rows[i].iter > log.rows[i - 1].iter && log.rows[i].time_s >= log.rows[i - 1].time_s);
    }
    EXPECT(vals == 3); /* evaluations at 20, 40 and 60 */
    EXPECT(log.n == 7 && log.rows[5].iter == 50 && log.rows[5].time_s < 999.0);
    runlog_free(&log);
    /* the plot was redrawn at the last evaluation with every point so far */
    snprintf(path, sizeof path, "%s/run.svg", dir);
    harness_slurp(path, text, sizeof text);
    EXPECT(strncmp(text, "<svg ", 5) == 0 && strstr(text, "validation loss") && strstr(text, "</svg>"));
    EXPECT(strstr(text, "mingpt train corpus.txt") != NULL);
    /* mingpt plot afterwards */
    EXPECT_RUN("plot $D/run.csv -o $D/again.svg --log-scale", 0, "");
    EXPECT(strstr(out_text, "wrote") && strstr(out_text, "7 steps"));
    EXPECT_RUN("plot $D/run.csv --out=$D/again.svg --title=Shakespeare", 0, "");
    EXPECT_RUN("plot $D/run.csv", 2, "needs -o FILE.svg");
    EXPECT_RUN("plot $D/corpus.txt -o $D/x.svg", 1, "corpus.txt:1: not a mingpt log");
    /* mingpt info */
    EXPECT_RUN("info $D/logged.safetensors", 0, "");
    EXPECT(strstr(out_text, "task:        chars") && strstr(out_text, "3 layers, 3 heads, n_embd 48, block_size 32"));
    EXPECT(strstr(out_text, "step:        60\n") && strstr(out_text, "val loss:    ") && strstr(out_text, "characters: \""));
    EXPECT(strstr(out_text, "optimizer:   AdamW moments at step 60 (--resume continues exactly)\n") != NULL);
    EXPECT(strstr(out_text, "minGPT's count") && strstr(out_text, "mingpt checkpoint format 1"));
    EXPECT_RUN("info tests/fixtures/torch_chars.safetensors", 0, "");
    EXPECT(strstr(out_text, "optimizer:   none, weights only (--resume starts AdamW afresh)\n") != NULL);
    EXPECT_RUN("info $D/corpus.txt", 1, "corpus.txt");
    EXPECT_RUN("info", 2, "expects exactly one checkpoint");
}

static void test_help_conventions_and_install(void) {
    static char help[1 << 16];
    EXPECT(run("train --help") == 0);
    snprintf(help, sizeof help, "%s", out_text);
    EXPECT(run("help train") == 0 && strcmp(help, out_text) == 0);
    EXPECT_RUN("help frobnicate", 2, "unknown command 'frobnicate'");
    /* --opt=value is the same as --opt value */
    EXPECT_RUN("train $D/tiny.txt --batch-size=0", 2, "--batch-size expects an integer from 1");
    EXPECT_RUN("train $D/corpus.txt --model=gpt-nano --block-size=16 --batch-size=4 --max-iters=3 --eval-every=3 "
               "--out=$D/eq.safetensors", 0, "done: step 3");
    /* the man page comes from the same help screens */
    EXPECT(run("--man") == 0 && strncmp(out_text, ".TH MINGPT 1", 12) == 0);
    EXPECT(strstr(out_text, "\\fB\\-\\-max\\-iters N\\fR") && strstr(out_text, "\\fB\\-\\-top\\-p P\\fR"));
    EXPECT(strstr(out_text, ".SS \"mingpt plot FILE.csv \\-o FILE.svg [options]\"") != NULL);
    if (getenv("MINGPT_SANITIZED")) return; /* make install installs ./mingpt, not the sanitizer build */
    char cmd[600];
    snprintf(cmd, sizeof cmd, "make -s install PREFIX=%s/prefix >%s/make.out 2>&1 && %s/prefix/bin/mingpt --version >/dev/null "
             "&& test -s %s/prefix/share/man/man1/mingpt.1 && make -s uninstall PREFIX=%s/prefix >>%s/make.out 2>&1 "
             "&& test ! -e %s/prefix/bin/mingpt && test ! -e %s/prefix/share/man/man1/mingpt.1",
             dir, dir, dir, dir, dir, dir, dir, dir);
    EXPECT(system(cmd) == 0);
}

static void test_binary_file_with_bytes(void) {
    /* every byte value, NUL included, is a token with --bytes */
    unsigned char data[3000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (unsigned char)((i * 7) % 256);
    write_file("binary.bin", data, sizeof data);
    EXPECT_RUN("train $D/binary.bin --block-size 8", 1, "invalid UTF-8 at byte offset 19");
    EXPECT_RUN("train $D/binary.bin --bytes --model gpt-nano --block-size 8 --batch-size 4 --max-iters 20 "
               "--eval-every 20 --out $D/bin.safetensors", 0, "vocabulary of 256");
    EXPECT_RUN("sample --ckpt $D/bin.safetensors --len 30", 0, "");
    EXPECT_RUN("eval --ckpt $D/bin.safetensors --split all $D/binary.bin", 0, "");
    EXPECT(strstr(out_text, "over 2999 predicted characters") != NULL);
}

static void test_pytorch_checkpoint_evaluates_to_reference_loss(void) {
    EXPECT_RUN("eval --ckpt tests/fixtures/torch_chars.safetensors --split all tests/fixtures/torch_chars.txt", 0, "");
    /* tests/reference/make_fixture.py computed 2.904936 with PyTorch */
    EXPECT(strstr(out_text, "2.9049 nats/char") != NULL);
    EXPECT_RUN("sample --ckpt tests/fixtures/torch_chars.safetensors --len 20", 0, "");
}

/* Writes $D/NAME: a checkpoint of a 1-layer GPT (vocab_size 10, block_size 6) with task `task`
 * and the task entries keys_values (key, value, ..., NULL), each beside the task. */
static void write_task_checkpoint(const char *name, const char *task, const char *const *keys_values) {
    GPTConfig c = {1, 1, 8, 10, 6, 0.1f, 0.1f, 0.1f};
    Pool *pool = pool_create(1);
    GPT *m = gpt_create(&c, pool);
    gpt_init(m, 3);
    CkptMeta meta = {0};
    snprintf(meta.task, sizeof meta.task, "%s", task);
    for (int i = 0; keys_values[i]; i += 2)
        ckpt_meta_set(&meta, keys_values[i], keys_values[i + 1], strlen(keys_values[i + 1]), CKPT_BESIDE_TASK);
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(ckpt_save(path, m, NULL, &meta, err, sizeof err) == 0);
    ckpt_meta_free(&meta);
    gpt_free(m);
    pool_free(pool);
}

/* The core reads what every checkpoint has and leaves the task's entries to the task: a chars,
 * BPE or adder checkpoint whose own entries are wrong still gets one line naming the file, from
 * every command that reads it, and a checkpoint of a task the command does not have is described
 * by info and refused by the commands that need one of theirs. */
static void test_checkpoints_are_checked_by_their_task(void) {
    static const char *const NONE[] = {NULL};
    static const char *const RHYME[] = {"rhyme", "abab", NULL};
    static const char *const NO_VOCAB[] = {"encoding", "utf-8", NULL};
    static const char *const LATIN1[] = {"encoding", "latin1", "vocab", "0123456789", NULL};
    static const char *const NO_MERGES[] = {"vocab", "{}", NULL};
    static const char *const NDIGIT_0[] = {"ndigit", "0", NULL};
    static const char *const NDIGIT_3[] = {"ndigit", "3", NULL};
    write_task_checkpoint("poems.safetensors", "poems", RHYME);
    write_task_checkpoint("novocab.safetensors", "chars", NO_VOCAB);
    write_task_checkpoint("latin1.safetensors", "chars", LATIN1);
    write_task_checkpoint("nomerges.safetensors", "bpe", NO_MERGES);
    write_task_checkpoint("nondigit.safetensors", "add", NONE);
    write_task_checkpoint("ndigit0.safetensors", "add", NDIGIT_0);
    write_task_checkpoint("ndigit3.safetensors", "add", NDIGIT_3);

    EXPECT_RUN("info $D/poems.safetensors", 0, "");
    EXPECT(strstr(out_text, "task:        poems (not one of this command's tasks") &&
           strstr(out_text, "vocabulary:  10 tokens") && strstr(out_text, "1 layers, 1 heads, n_embd 8"));
    EXPECT_TEXT_COMMANDS_REFUSE("poems.safetensors",
                                "poems.safetensors: a checkpoint of task 'poems'; this command needs a language model");
    EXPECT_RUN("add --eval --ckpt $D/poems.safetensors", 1, "poems.safetensors: a checkpoint of task 'poems', not an adder");
    EXPECT_RUN("add --resume $D/poems.safetensors --out $D/p2.safetensors", 1,
               "poems.safetensors: a checkpoint of task 'poems', not 'add'");
    EXPECT(count_files("p2.safetensors") == 0);

    const char *no_vocab = "novocab.safetensors: metadata has no \"vocab\"";
    EXPECT_RUN("info $D/novocab.safetensors", 1, no_vocab);
    EXPECT_TEXT_COMMANDS_REFUSE("novocab.safetensors", no_vocab);
    EXPECT_RUN("sample --ckpt $D/latin1.safetensors", 1, "latin1.safetensors: unknown encoding \"latin1\"");
    EXPECT_RUN("info $D/nomerges.safetensors", 1,
               "nomerges.safetensors: metadata has no \"merges\" (a BPE model's tokenizer)");
    EXPECT_RUN("sample --ckpt $D/nomerges.safetensors", 1, "metadata has no \"merges\"");

    EXPECT_RUN("info $D/nondigit.safetensors", 1, "nondigit.safetensors: metadata has no \"ndigit\"");
    const char *ndigit_0 = "ndigit0.safetensors: metadata \"ndigit\" = \"0\" is not an integer in [1, 9]";
    EXPECT_RUN("info $D/ndigit0.safetensors", 1, ndigit_0);
    EXPECT_RUN("add --eval --ckpt $D/ndigit0.safetensors", 1, ndigit_0);
    EXPECT_RUN("add --resume $D/ndigit0.safetensors --out $D/p2.safetensors", 1, ndigit_0);
    EXPECT_RUN("sample --ckpt $D/ndigit0.safetensors", 1, ndigit_0);
    const char *too_short = "ndigit3.safetensors: an adder needs vocab_size 10 and block_size >= 3*ndigit (has 10 and 6)";
    EXPECT_RUN("add --eval --ckpt $D/ndigit3.safetensors", 1, too_short);
    EXPECT_RUN("info $D/ndigit3.safetensors", 1, too_short);
    EXPECT(count_files("p2.safetensors") == 0);
}

/* A checkpoint keeps how its run trains: --resume without any flag said again goes on with the
 * same batch size, learning rate and schedule, accumulation, clipping, decay and dropout (the bytes
 * of one run), a flag said again that differs is applied and said as old -> new, and extending a
 * cosine run does not stretch its schedule. */
static void test_resume_keeps_the_run_settings(void) {
    const char *settings = "train $D/corpus.txt --model gpt-nano --block-size 16 --batch-size 6 --accum 2 --lr 2e-3 "
                           "--warmup-iters 5 --weight-decay 0.05 --grad-clip 0.5 --dropout 0.2 --val-frac 0.2 "
                           "--eval-every 15 --log-every 15 --sample-len 7 --seed 7 --threads 2";
    char args[800], cmp[256];
    snprintf(args, sizeof args, "%s --max-iters 30 --out $D/set_straight.safetensors", settings);
    EXPECT_RUN(args, 0, "saved");
    snprintf(args, sizeof args, "%s --max-iters 15 --out $D/set_half.safetensors", settings);
    EXPECT_RUN(args, 0, "saved");
    EXPECT_RUN("train $D/corpus.txt --resume $D/set_half.safetensors --max-iters 30 --out $D/set_resumed.safetensors",
               0, "flags left out take these, not the defaults): --lr 0.002 --warmup-iters 5 --batch-size 6 --accum 2 "
               "--weight-decay 0.05 --grad-clip 0.5 --eval-every 15 --log-every 15 --sample-len 7 --seed 7 --dropout 0.2 "
               "--val-frac 0.2");
    snprintf(cmp, sizeof cmp, "cmp -s %s/set_straight.safetensors %s/set_resumed.safetensors", dir, dir);
    EXPECT(system(cmp) == 0);
    /* the same with a cosine schedule whose length is its own setting */
    snprintf(args, sizeof args, "%s --lr-decay cosine --lr-decay-iters 30 --max-iters 30 --out $D/cos_straight.safetensors",
             settings);
    EXPECT_RUN(args, 0, "saved");
    snprintf(args, sizeof args, "%s --lr-decay cosine --lr-decay-iters 30 --max-iters 15 --out $D/cos_half.safetensors",
             settings);
    EXPECT_RUN(args, 0, "saved");
    EXPECT_RUN("train $D/corpus.txt --resume $D/cos_half.safetensors --max-iters 30 --out $D/cos_resumed.safetensors",
               0, "--lr-decay cosine --lr-decay-iters 30");
    snprintf(cmp, sizeof cmp, "cmp -s %s/cos_straight.safetensors %s/cos_resumed.safetensors", dir, dir);
    EXPECT(system(cmp) == 0);
    /* a flag said again that differs wins, in one line each */
    EXPECT_RUN("train $D/corpus.txt --resume $D/set_half.safetensors --max-iters 16 --lr 1e-3 --batch-size 6 "
               "--out $D/set_lr.safetensors", 0, "--lr: 0.002 -> 0.001 (the command line changes");
    EXPECT(strstr(err_text, "--batch-size:") == NULL); /* the same value said again: no line */
    EXPECT_RUN("info $D/set_lr.safetensors", 0, "");
    EXPECT(strstr(out_text, "settings:    --lr 0.001 --lr-decay none --warmup-iters 5 --batch-size 6 --accum 2 ") != NULL);
    /* a cosine run of 10 steps extended to 20 stays at its floor (lr/10) after step 10 */
    snprintf(args, sizeof args, "%s --lr-decay cosine --max-iters 10 --out $D/cos10.safetensors --log $D/cos10.csv",
             settings);
    EXPECT_RUN(args, 0, "saved");
    EXPECT_RUN("train $D/corpus.txt --resume $D/cos10.safetensors --max-iters 20 --log-every 5 --log $D/cos10.csv",
               0, "the cosine schedule ends at step 10 (--lr-decay-iters)");
    char csv[4096], path[300];
    snprintf(path, sizeof path, "%s/cos10.csv", dir);
    harness_slurp(path, csv, sizeof csv);
    EXPECT(strstr(csv, "\n15,") && strstr(strstr(csv, "\n15,"), ",2.000000e-04,") != NULL);
    /* a checkpoint from before settings were kept resumes with the defaults, and says so */
    static const char *const NDIGIT_2[] = {"ndigit", "2", NULL};
    write_task_checkpoint("old_add.safetensors", "add", NDIGIT_2);
    EXPECT_RUN("add --resume $D/old_add.safetensors --max-iters 2", 0, "holds no training settings");
    static const char *const BAD_LR[] = {"ndigit", "2", "train.lr", "fast", NULL};
    write_task_checkpoint("bad_lr.safetensors", "add", BAD_LR);
    EXPECT_RUN("add --resume $D/bad_lr.safetensors --max-iters 2", 1,
               "bad_lr.safetensors: metadata \"train.lr\" = \"fast\" is not a value --lr takes (give --lr to set it)");
    EXPECT_RUN("add --resume $D/bad_lr.safetensors --max-iters 2 --lr 1e-3", 0, "");
}

/* A run without --out saves at the command's default path; a model of another run there is not
 * replaced without a word, and the same run again, or --out naming it, replaces it. */
static void test_default_out_keeps_another_runs_model(void) {
    write_file("other.txt", "a different text with another vocabulary: xyz!", 46);
    const char *base = "mkdir -p $D/def && cd $D/def && $M train ../corpus.txt --model gpt-nano --block-size 16 --batch-size 4 --max-iters 2 "
                       "--eval-every 2";
    char cmd[600];
    snprintf(cmd, sizeof cmd, "%s", base);
    EXPECT(shell(cmd) == 0);
    EXPECT(shell(cmd) == 0); /* the same run again */
    snprintf(cmd, sizeof cmd, "cd $D/def && $M train ../other.txt --model gpt-nano --block-size 16 --max-iters 2");
    EXPECT(shell(cmd) == 1 && strstr(err_text, "out/chargpt/model.safetensors holds a model with another vocabulary, "
                                               "from another run; to keep it, give this run --out PATH") != NULL);
    snprintf(cmd, sizeof cmd, "%s --n-embd 32 --n-head 2", base);
    EXPECT(shell(cmd) == 1 && strstr(err_text, "holds a model of 3 layers, 3 heads, n_embd 48") != NULL);
    static const char *const NDIGIT_2[] = {"ndigit", "2", NULL};
    write_task_checkpoint("def_add.safetensors", "add", NDIGIT_2); /* an adder of 1 layer */
    EXPECT(shell("mkdir -p def/out/adder && cp def_add.safetensors def/out/adder/model.safetensors && cd def && "
                 "$M add --max-iters 2") == 1 &&
           strstr(err_text, "out/adder/model.safetensors holds a model of 1 layers, 1 heads, n_embd 8") != NULL);
    /* said out loud, it is replaced */
    snprintf(cmd, sizeof cmd, "cd $D/def && $M train ../other.txt --model gpt-nano --block-size 16 --max-iters 2 "
                              "--eval-every 2 --out out/chargpt/model.safetensors");
    EXPECT(shell(cmd) == 0);
}

/* An output inside a model folder given to --init or a tokenizer folder given to --tokenizer,
 * however it is named, is refused before any work, and every file of the folder is left as it was
 * (a GPT-2 download is 548 MB a user may not have twice). */
static void test_outputs_never_land_in_an_input_folder(void) {
    char root[256], line[1200];
    CHECK(getcwd(root, sizeof root) != NULL);
    snprintf(line, sizeof line, "rm -rf gt tok gtlink gtfile.link gtfresh.link && cp -r %s/tests/fixtures/gpt2_tiny gt && "
             "mkdir tok && cp %s/data/gpt2/encoder.json %s/data/gpt2/vocab.bpe tok/ && ln -s gt gtlink && "
             "ln -s gt/model.safetensors gtfile.link && ln -s gt/new.safetensors gtfresh.link && cp -r gt gt.before && "
             "cp -r tok tok.before", root, root, root);
    EXPECT(shell(line) == 0);
    const char *cases[][2] = {
        {"--init $D/gt --out $D/gt/model.safetensors", "gt/model.safetensors is inside the model given to --init"},
        {"--init $D/gt --out $D/gt/config.json", "gt/config.json is inside"},
        {"--init $D/gt --out $D/gt/new.safetensors", "new.safetensors is inside the model given to --init"},
        {"--init $D/gt --out $D/gt/sub/deeper/new.safetensors", "is inside"},
        {"--init $D/gt --out $D/gt/missing/../model.safetensors", "is inside"},
        {"--init $D/gt --out $D/missing/../gt/model.safetensors", "is inside"}, /* (mkdir missing, then ..) */
        {"--init $D/gt --out $D/gtlink/model.safetensors", "is inside"},
        {"--init $D/gtlink --out $D/gt/model.safetensors", "is inside"},
        /* outputs are written through symbolic links, so a link's target is what counts */
        {"--init $D/gt --out $D/gtfile.link", "gtfile.link is inside the model given to --init"},
        {"--init $D/gt --out $D/gtfresh.link", "gtfresh.link is inside the model given to --init"},
        {"--init $D/gt --out $D/ok.safetensors --plot $D/gtfile.link", "gtfile.link is inside"},
        {"--init $D/gt --out $D/ok.safetensors --log $D/gt/config.json", "gt/config.json is inside"},
        {"--init $D/gt --out $D/ok.safetensors --plot $D/gt/model.safetensors", "gt/model.safetensors is inside"},
        {"--tokenizer $D/tok --out $D/tok/encoder.json", "is inside the folder given to --tokenizer"},
        {"--tokenizer $D/tok --out $D/tok/vocab.bpe", "is inside the folder given to --tokenizer"},
        {"--tokenizer $D/tok --out $D/ok.safetensors --log $D/tok/vocab.bpe", "tok/vocab.bpe is inside"},
        {"--tokenizer $D/tok/ --out $D/tok/./merges.txt", "is inside"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(line, sizeof line, "$M train $D/corpus.txt --max-iters 1 %s", cases[i][0]);
        int rc = shell(line);
        if (rc != 2 || !strstr(err_text, cases[i][1])) {
            printf("    mingpt train ... %s: exit %d (want 2), stderr: %s      wanted: %s\n", cases[i][0], rc, err_text,
                   cases[i][1]);
            harness_case_failed = 1;
        }
    }
    EXPECT(shell("diff -r gt gt.before && diff -r tok tok.before") == 0);
    /* the same for the training text through a folder that does not exist yet */
    EXPECT_RUN("train $D/corpus.txt --max-iters 1 --out $D/not-yet/../corpus.txt", 2,
               "not-yet/../corpus.txt is the training text; writing it would destroy it");
}

/* Messages that used to mislead: each names the real problem now. */
static void test_errors_name_the_real_problem(void) {
    EXPECT_RUN("train $D/corpus.txt --tokenizer ''", 2, "--tokenizer expects a path, got an empty one");
    EXPECT_RUN("sample --ckpt ''", 2, "--ckpt expects a path, got an empty one");
    EXPECT_RUN("train $D/corpus.txt --init ''", 2, "--init expects a path, got an empty one");
    EXPECT_RUN("add --resume $D", 2, "is a folder; it continues a run from its checkpoint file");
    EXPECT_RUN("info $D", 1, "a folder without config.json");
    /* the result of encode has nowhere to go */
    char root[256], line[800];
    CHECK(getcwd(root, sizeof root) != NULL);
    snprintf(line, sizeof line, "$M encode --tokenizer %s/data/gpt2 corpus.txt >&-", root);
    EXPECT(shell(line) == 1 && strstr(err_text, "mingpt encode: standard output is closed; the result would be lost"));
    snprintf(line, sizeof line, "rm -f silent.fifo && mkfifo silent.fifo && timeout 10 $M encode --tokenizer "
             "%s/data/gpt2 silent.fifo", root);
    EXPECT(shell(line) == 1 && strstr(err_text, "silent.fifo: a FIFO that gave no data (no writer?)") != NULL);
    /* plot's product is its SVG: a closed stdout costs only its "wrote" line */
    write_file("p.csv", "iter,time_s,train_loss,val_loss,lr,tokens_per_s\n1,0.1,4.0,,0.001,100\n2,0.2,3.5,3.6,0.001,100\n",
               93);
    EXPECT(shell("$M plot p.csv -o p.svg >&-") == 0);
    /* an empty text on a pipe is an empty text */
    snprintf(line, sizeof line, "printf '' | $M encode --tokenizer %s/data/gpt2", root);
    EXPECT(shell(line) == 0);
}

/* $D/NAME: 40 lines of "café N the cat sat", N = 0..39, ending in `eol`, then `last` (no line end). */
static size_t write_lines(const char *name, const char *eol, const char *last) {
    static char text[4096];
    size_t n = 0;
    for (int i = 0; i < 40; i++) n += (size_t)snprintf(text + n, sizeof text - n, "café %d the cat sat%s", i, eol);
    n += (size_t)snprintf(text + n, sizeof text - n, "%s", last);
    write_file(name, text, n);
    return n;
}

/* Errors name places in the file (line and column, whatever part of it was encoded); CRLF line
 * ends are announced, kept or folded, and a model trained with --crlf fold reads its texts the same
 * way in eval and sample; a validation part shorter than one block is a warning. */
static void test_places_line_ends_and_short_validation(void) {
    const char *fast = "--model gpt-nano --block-size 8 --batch-size 4 --max-iters 2 --eval-every 2 --threads 1";
    char args[512];
    write_lines("lf.txt", "\n", "");
    snprintf(args, sizeof args, "train $D/lf.txt %s --out $D/lf.safetensors", fast);
    EXPECT_RUN(args, 0, "saved");
    EXPECT(!strstr(err_text, "CRLF") && !strstr(err_text, "warning"));

    /* 'Z' is in the validation part (the last tenth), on line 41 after "café " (é is one column) */
    write_lines("typo.txt", "\n", "café Z");
    EXPECT_RUN("eval --ckpt $D/lf.safetensors $D/typo.txt", 1,
               "typo.txt: line 41, column 6: character 'Z' (U+005A) is not in the vocabulary of");
    /* the validation part starts on line 37 (of 40), whose \r is its first */
    write_lines("crlf.txt", "\r\n", "");
    EXPECT_RUN("eval --ckpt $D/lf.safetensors $D/crlf.txt", 1,
               "crlf.txt: line 37, column 20: character U+000D is not in the vocabulary of ");
    EXPECT(strstr(err_text, "which was trained without \\r: the file has 40 CRLF line ends (--crlf fold reads "
                            "\\r\\n as \\n)"));
    EXPECT_RUN("eval --ckpt $D/lf.safetensors --split all $D/crlf.txt", 1,
               "crlf.txt: line 1, column 19: character U+000D");
    snprintf(args, sizeof args, "train $D/crlf.txt %s --resume $D/lf.safetensors --max-iters 4 --out $D/r.safetensors",
             fast);
    EXPECT_RUN(args, 1, "crlf.txt: line 1, column 19: character U+000D is not in the vocabulary of");
    strcat(args, " --crlf fold");
    EXPECT_RUN(args, 0, "40 CRLF line ends read as \\n (--crlf fold");

    /* kept, \r is a character of the model (as before the option), and the run says so */
    snprintf(args, sizeof args, "train $D/crlf.txt %s --out $D/keep.safetensors", fast);
    EXPECT_RUN(args, 0, "crlf.txt: 40 lines end in CRLF: their \\r is kept as text the model learns (--crlf fold");
    EXPECT(strstr(err_text, "vocabulary of 21"));
    EXPECT_RUN("eval --ckpt $D/keep.safetensors $D/crlf.txt", 0, "");

    /* folded, the run is the LF run's: the same loss, and eval and sample fold for this model */
    EXPECT_RUN("eval --ckpt $D/lf.safetensors --split all $D/lf.txt", 0, "");
    char lf_loss[256];
    snprintf(lf_loss, sizeof lf_loss, "%s", strstr(out_text, "): "));
    snprintf(args, sizeof args, "train $D/crlf.txt %s --crlf fold --out $D/fold.safetensors", fast);
    EXPECT_RUN(args, 0, "vocabulary of 20");
    EXPECT_RUN("eval --ckpt $D/fold.safetensors --split all $D/crlf.txt", 0, "");
    EXPECT(strcmp(strstr(out_text, "): ") ? strstr(out_text, "): ") : "", lf_loss) == 0);
    EXPECT_RUN("eval --ckpt $D/fold.safetensors --split all --crlf keep $D/crlf.txt", 1, "character U+000D");
    EXPECT_RUN("eval --ckpt $D/lf.safetensors --split all --crlf fold $D/crlf.txt", 0, "");
    EXPECT(strcmp(strstr(out_text, "): ") ? strstr(out_text, "): ") : "", lf_loss) == 0);
    EXPECT_RUN("sample --ckpt $D/fold.safetensors --prompt \"$(printf 'cat\\r\\nca')\" --len 3", 0, "");
    EXPECT(strncmp(out_text, "cat\nca", 6) == 0);
    EXPECT_RUN("sample --ckpt $D/lf.safetensors --prompt \"$(printf 'cat\\r\\nca')\" --len 3", 2, "U+000D");
    EXPECT_RUN("info $D/fold.safetensors", 0, "");
    EXPECT(strstr(out_text, "line ends:   \\r\\n read as \\n (trained with --crlf fold"));
    EXPECT_RUN("info $D/keep.safetensors", 0, "");
    EXPECT(!strstr(out_text, "line ends:"));
    static const char *const CRLF_UNIX[] = {"vocab", "0123456789", "crlf", "unix", NULL};
    write_task_checkpoint("unix.safetensors", "chars", CRLF_UNIX);
    EXPECT_RUN("eval --ckpt $D/unix.safetensors $D/lf.txt", 1,
               "unix.safetensors: metadata \"crlf\" is \"unix\"; this mingpt knows keep and fold");
    EXPECT_RUN("eval --ckpt $D/lf.safetensors --crlf lf $D/lf.txt", 2, "--crlf expects keep or fold, got 'lf'");

    /* a validation part shorter than one block: none at all, or one short window */
    write_file("five.txt", "abcab", 5);
    EXPECT_RUN("train $D/five.txt --model gpt-nano --block-size 2 --max-iters 1 --threads 1 --out $D/five.safetensors",
               0, "five.txt: warning: the validation part (--val-frac 0.1) has 0 characters, less than one block "
                  "(block_size+1 = 3): there will be no validation loss; use more text, a larger --val-frac or a "
                  "smaller --block-size");
    snprintf(args, sizeof args, "train $D/lf.txt %s --block-size 128 --out $D/long.safetensors", fast);
    EXPECT_RUN(args, 0, "lf.txt: warning: the validation part (--val-frac 0.1) has 79 characters, less than one block "
                        "(block_size+1 = 129): its validation loss is over a shorter window");
    strcat(args, " --val-frac 0");
    EXPECT_RUN(args, 0, "saved");
    EXPECT(!strstr(err_text, "warning"));
}

/* add --ask A+B prints the sum the model writes, greedily, its digits lowest first as the adder's
 * scoring reads them: the same as this test's own greedy decoding of the checkpoint, right or
 * wrong (a wrong one gets the true sum on stderr). Malformed problems are usage errors. */
static void test_add_ask_answers_with_the_model(void) {
    /* 100 steps: a model that gets a few problems right, so that it is saved, and many wrong */
    EXPECT_RUN("add --max-iters 100 --eval-every 100 --batch-size 32 --log-every 1000 --out $D/ask.safetensors", 0,
               "saved");
    char err[512], path[300];
    snprintf(path, sizeof path, "%s/ask.safetensors", dir);
    CkptMeta meta;
    TrainConfig tc = train_config_default();
    Pool *pool = pool_create(1);
    GPT *m = ckpt_load(path, pool, &meta, NULL, &tc, err, sizeof err);
    EXPECT(m != NULL);
    if (!m) {
        printf("    %s\n", err);
        pool_free(pool);
        return;
    }
    int problems[][2] = {{12, 34}, {0, 0}, {99, 99}, {7, 5}, {50, 49}}, wrong = 0;
    for (int i = 0; i < 5; i++) {
        int a = problems[i][0], b = problems[i][1];
        int prompt[4] = {a / 10, a % 10, b / 10, b % 10}, out[3];
        generate_greedy_batch(m, prompt, 1, 4, 3, out);
        int claimed = out[0] + 10 * out[1] + 100 * out[2];
        char args[128], want[64];
        snprintf(args, sizeof args, "add --ask %d+%d --ckpt $D/ask.safetensors", a, b);
        EXPECT_RUN(args, 0, claimed == a + b ? "" : "the model is wrong here");
        snprintf(want, sizeof want, "%d+%d=%d\n", a, b, claimed);
        if (strcmp(out_text, want) != 0) printf("    %s: got '%s', want '%s'\n", args, out_text, want);
        EXPECT(strcmp(out_text, want) == 0);
        EXPECT((claimed == a + b) == (err_text[0] == '\0'));
        wrong += claimed != a + b;
    }
    EXPECT(wrong > 0); /* so that the check above saw a wrong answer */
    gpt_free(m);
    ckpt_meta_free(&meta);
    pool_free(pool);
    /* spaces around the numbers and leading zeros are fine */
    EXPECT_RUN("add --ask ' 07 + 05 ' --ckpt $D/ask.safetensors", 0, "");
    EXPECT(strncmp(out_text, "7+5=", 4) == 0);
    EXPECT_RUN("add --ask 123+4 --ckpt $D/ask.safetensors", 2,
               "--ask expects A+B with numbers of at most 2 digits, got '123+4'");
    EXPECT_RUN("add --ask 1+99999999999999999999 --ckpt $D/ask.safetensors", 2, "at most 2 digits");
    const char *malformed[] = {"12-34", "+3", "''", "1+2+3", "12+", "abc", "'1 2+3'", "-1+2"};
    for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++) {
        char args[128];
        snprintf(args, sizeof args, "add --ask %s --ckpt $D/missing.safetensors", malformed[i]);
        EXPECT_RUN(args, 2, "--ask expects A+B, two whole numbers joined by '+'");
    }
    EXPECT_RUN("add --ask 1+2 --eval --ckpt $D/ask.safetensors", 2, "give one of them");
    EXPECT_RUN("add --ask 1+2 --ckpt $D/missing.safetensors", 1, "missing.safetensors: no checkpoint there");
    EXPECT_RUN("add --ask 1+2 --ckpt tests/fixtures/torch_chars.safetensors", 1, "not an adder");
}

/* $D/to: $D/from with every element of `tensor` set to x (finite, so the checkpoint itself is
 * valid), AdamW state and metadata kept. */
static void overflow_checkpoint(const char *from, const char *to, const char *tensor, float x) {
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, from);
    Pool *pool = pool_create(1);
    CkptMeta meta;
    GPT *m = ckpt_load(path, pool, &meta, NULL, NULL, err, sizeof err);
    CHECK(m != NULL);
    int i = table_find(&m->params, tensor);
    CHECK(i >= 0);
    for (size_t k = 0; k < m->params.t[i].numel; k++) m->params.t[i].data[k] = x;
    snprintf(path, sizeof path, "%s/%s", dir, to);
    CHECK(ckpt_save(path, m, NULL, &meta, err, sizeof err) == 0);
    ckpt_meta_free(&meta);
    gpt_free(m);
    pool_free(pool);
}

/* A finite weight that overflows the forward pass: eval, sample and add --eval/--ask refuse the
 * model (exit 1) naming the file and the tensor, rather than printing nan or garbage. */
static void test_overflowing_weights_are_refused(void) {
    char args[600];
    snprintf(args, sizeof args, "%s --max-iters 5 --eval-every 5 --out $D/finite.safetensors", TRAIN_ARGS);
    EXPECT_RUN(args, 0, "saved");
    overflow_checkpoint("finite.safetensors", "overflow.safetensors", "transformer.ln_f.weight", 3e38f);
    /* (eval's progress lines come first on a pipe) */
    EXPECT(run("eval $D/corpus.txt --ckpt $D/overflow.safetensors") == 1 &&
           strstr(err_text, "overflow.safetensors: its loss is NaN, not finite: the model's numbers overflow (its "
                            "largest weight, 3e+38, is in transformer.ln_f.weight)") != NULL);
    EXPECT(out_text[0] == '\0');
    EXPECT_RUN("sample --ckpt $D/overflow.safetensors --len 20", 1, "overflow.safetensors: its next-token scores are, "
               "not finite");
    EXPECT_RUN("sample --ckpt $D/overflow.safetensors --len 20 --exact --greedy", 1, "transformer.ln_f.weight");
    EXPECT_RUN("add --max-iters 3 --eval-every 3 --out $D/add_finite.safetensors", 0, "");
    write_task_checkpoint("add_small.safetensors", "add", (const char *const[]){"ndigit", "2", NULL});
    overflow_checkpoint("add_small.safetensors", "add_overflow.safetensors", "transformer.ln_f.weight", 3e38f);
    EXPECT_RUN("add --eval --ckpt $D/add_overflow.safetensors", 1, "add_overflow.safetensors: its next-digit scores");
    EXPECT_RUN("add --ask 12+34 --ckpt $D/add_overflow.safetensors", 1, "transformer.ln_f.weight");
    /* a resumed adder first scores its model: one that overflows is refused, not scored -1 and replaced */
    EXPECT(run("add --resume $D/add_overflow.safetensors --max-iters 5") == 1 &&
           strstr(err_text, "add_overflow.safetensors: its next-digit") && !strstr(err_text, "scored"));
    /* the answer of add --ask is its product: with nowhere to go, that is a failure; --ask's text is quoted */
    EXPECT(shell("$M add --ask 12+34 --ckpt add_small.safetensors >&-") == 1 &&
           strstr(err_text, "standard output is closed") != NULL);
    EXPECT_RUN("add --ask \"$(printf '1\\n+2')\" --ckpt $D/add_small.safetensors", 2, "got '1\\x0A+2'");
    /* invisible characters are named, not printed */
    write_file("bom.txt", "\xEF\xBB\xBFthe cat", 10);
    EXPECT_RUN("eval $D/bom.txt --ckpt $D/finite.safetensors --split all", 1,
               "bom.txt: line 1, column 1: character U+FEFF (a byte-order mark) is not in the vocabulary");
    /* a text too short to score says so, and suggests nothing it already does */
    write_file("one.txt", "t", 1);
    EXPECT_RUN("eval $D/one.txt --ckpt $D/finite.safetensors --split all", 1,
               "one.txt: has 1 character in all; predicting one needs 2 (a longer text)");
}

static void test_adder_learns_to_add(void) {
    /* two digits, minGPT's default: 10,000 problems, 500 held out */
    EXPECT_RUN("add --ndigit 2 --out $D/add.safetensors --log-every 1000", 0, "every test problem is solved");
    EXPECT(strstr(out_text, "test final score: 500/500 = 100.00% correct") != NULL);
    EXPECT(strstr(out_text, "GPT claims that") != NULL); /* it printed mistakes along the way */
    EXPECT_RUN("add --eval --ckpt $D/add.safetensors", 0, "");
    EXPECT(strstr(out_text, "test final score: 500/500 = 100.00% correct") != NULL);
    EXPECT_RUN("sample --ckpt $D/add.safetensors", 1, "needs a language model");
    /* --ask on the first problems the adder holds out (task_add.c's seeded permutation of all
     * 10,000): a model that solves every test problem answers them right */
    Rng rng;
    rng_seed(&rng, 1337);
    int64_t *perm = xmalloc(10000 * sizeof *perm);
    rng_permutation(&rng, perm, 10000);
    for (int i = 0; i < 3; i++) {
        long long a = perm[i] / 100, b = perm[i] % 100;
        char args[128], want[64];
        snprintf(args, sizeof args, "add --ask %lld+%lld --ckpt $D/add.safetensors", a, b);
        EXPECT_RUN(args, 0, "");
        snprintf(want, sizeof want, "%lld+%lld=%lld\n", a, b, a + b);
        EXPECT(strcmp(out_text, want) == 0 && err_text[0] == '\0');
    }
    free(perm);
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL);
    if (getenv("MINGPT")) binary = getenv("MINGPT");
    if (access(binary, X_OK) != 0) {
        printf("FAIL %s is not built (run from the repository root via make test)\n", binary);
        return 1;
    }
    RUN(test_usage_errors_exit_2);
    RUN(test_bad_input_exits_1_with_one_line);
    RUN(test_train_lowers_val_loss_then_sample_and_eval);
    RUN(test_resume_continues_exactly);
    RUN(test_resume_keeps_the_run_settings);
    RUN(test_default_out_keeps_another_runs_model);
    RUN(test_outputs_never_land_in_an_input_folder);
    RUN(test_errors_name_the_real_problem);
    RUN(test_overflowing_weights_are_refused);
    RUN(test_interrupt_saves_and_nan_stops);
    RUN(test_checkpoints_never_get_worse);
    RUN(test_failed_saves_keep_the_old_checkpoint);
    RUN(test_outputs_never_destroy_inputs);
    RUN(test_resume_writes_back_to_its_file);
    RUN(test_closed_outputs_and_pipes);
    RUN(test_fifos_never_block);
    RUN(test_outputs_write_through_links);
    RUN(test_memory_is_checked_up_front);
    RUN(test_memory_estimate_covers_the_peak);
    RUN(test_strict_flag_values);
    RUN(test_newcomer_output);
    RUN(test_adder_interrupt_keeps_the_best_model);
    RUN(test_progress_on_a_terminal_and_in_a_pipe);
    RUN(test_status_of_long_operations);
    RUN(test_log_csv_plot_and_info);
    RUN(test_help_conventions_and_install);
    RUN(test_binary_file_with_bytes);
    RUN(test_checkpoints_are_checked_by_their_task);
    RUN(test_pytorch_checkpoint_evaluates_to_reference_loss);
    RUN(test_places_line_ends_and_short_validation);
    RUN(test_add_ask_answers_with_the_model);
    if (getenv("MINGPT_SANITIZED"))
        printf("(test_adder_learns_to_add left out under sanitizers: make test runs it)\n");
    else
        RUN(test_adder_learns_to_add);
    harness_remove_dir(dir);
    return harness_finish();
}
