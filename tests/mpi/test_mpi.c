/* test_mpi.c — data-parallel training over MPI (`make test-mpi`): the MPI build of mingpt
 * ($MINGPT_MPI) run by mpirun on 2 and 3 ranks against one process accumulating as many
 * micro-batches, resuming with another rank count, and one rank killed mid-run. Open MPI refuses
 * root unless told: the test sets OMPI_ALLOW_RUN_AS_ROOT for itself. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "checkpoint.h"
#include "common.h"
#include "threads.h"

static char dir[256], binary[512], text[1 << 16];

/* Runs a shell command line in dir; its stderr (with stdout) in text. Returns its exit status. */
static int sh(const char *fmt, const char *extra) {
    char cmd[2048], line[2304], path[300];
    snprintf(cmd, sizeof cmd, fmt, binary, extra);
    snprintf(path, sizeof path, "%s/out.txt", dir);
    snprintf(line, sizeof line, "cd %s && (%s) >out.txt 2>&1 </dev/null", dir, cmd);
    int status = system(line);
    harness_slurp(path, text, sizeof text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int same_file(const char *a, const char *b) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cmp -s %s/%s %s/%s", dir, a, dir, b);
    return system(cmd) == 0;
}

#define TRAIN "%s train corpus.txt --model gpt-nano --block-size 32 --batch-size 8 --eval-every 10 " \
              "--log-every 5 --threads 1 %s"
#define MPIRUN(n) "mpirun -np " #n " --oversubscribe "

static void make_corpus(void) {
    char path[300];
    snprintf(path, sizeof path, "%s/corpus.txt", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    unsigned x = 7;
    for (int i = 0; i < 40000; i++) {
        x = x * 1103515245u + 12345u;
        fputc("the cat sat on a mat, and a dog ran by.\n"[(x >> 16) % 40], f);
    }
    fclose(f);
}

static void test_two_ranks_give_the_bits_of_one_process_accumulating_two(void) {
    EXPECT(sh("%s --version%s", "") == 0 && strstr(text, "MPI (Open MPI") != NULL);
    EXPECT(sh(MPIRUN(2) TRAIN, "--max-iters 20 --out r2.safetensors") == 0);
    /* rank 0 alone reports: one summary line; the all-reduce's time is in the progress lines */
    EXPECT(strstr(text, "in the all-reduce of 2 ranks") != NULL);
    EXPECT(strstr(text, "saved r2") != NULL && strstr(strstr(text, "saved r2") + 1, "saved r2") == NULL);
    EXPECT(sh(TRAIN, "--max-iters 20 --accum 2 --out a2.safetensors") == 0);
    EXPECT(same_file("r2.safetensors", "a2.safetensors"));
    /* and not by accident: one micro-batch a step trains another model */
    EXPECT(sh(TRAIN, "--max-iters 20 --out a1.safetensors") == 0);
    EXPECT(!same_file("r2.safetensors", "a1.safetensors"));
}

static float *load_weights(const char *name, size_t *n) {
    char path[300], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    Pool *pool = pool_create(1);
    CkptMeta meta;
    GPT *m = ckpt_load(path, pool, &meta, NULL, NULL, err, sizeof err);
    if (!m) printf("    %s\n", err);
    CHECK(m != NULL);
    *n = m->params.numel;
    float *w = xmalloc(*n * sizeof(float));
    memcpy(w, m->param_mem, *n * sizeof(float));
    ckpt_meta_free(&meta);
    gpt_free(m);
    pool_free(pool);
    return w;
}

static void test_three_ranks_and_resuming_with_another_rank_count(void) {
    EXPECT(sh(MPIRUN(3) TRAIN, "--max-iters 20 --out r3.safetensors") == 0);
    EXPECT(sh(TRAIN, "--max-iters 20 --accum 3 --out a3.safetensors") == 0);
    size_t n3, na;
    float *w3 = load_weights("r3.safetensors", &n3), *wa = load_weights("a3.safetensors", &na);
    EXPECT(n3 == na);
    double diff = 0.0, scale = 1e-30;
    for (size_t i = 0; i < n3 && n3 == na; i++) {
        diff = fmax(diff, fabs((double)w3[i] - wa[i]));
        scale = fmax(scale, fabs((double)wa[i]));
    }
    if (diff > 1e-6 * scale) printf("    3 ranks against --accum 3: %.3g of the largest weight\n", diff / scale);
    EXPECT(diff <= 1e-6 * scale); /* Open MPI's sum of three need not add in rank order */
    free(w3);
    free(wa);
    /* 10 steps on 2 ranks, 10 more in one process: the bits of 20 straight */
    EXPECT(sh(MPIRUN(2) TRAIN, "--max-iters 10 --out half.safetensors") == 0);
    EXPECT(sh(TRAIN, "--max-iters 20 --accum 2 --resume half.safetensors --out resumed.safetensors") == 0);
    EXPECT(same_file("resumed.safetensors", "a2.safetensors"));
}

static void test_a_killed_rank_ends_the_run_and_the_checkpoint_survives(void) {
    char line[1200];
    snprintf(line, sizeof line,
             "cd %s && { " MPIRUN(2) "%s train corpus.txt --model gpt-nano --block-size 32 --batch-size 8 "
             "--eval-every 20 --max-iters 100000000 --threads 1 --out killed.safetensors >/dev/null 2>killed.err "
             "</dev/null & } ; sleep 0.5; i=0; while [ ! -e killed.safetensors ] && [ $i -lt 300 ]; do sleep 0.1; "
             "i=$((i+1)); done; pkill -9 -f -n '^%s train corpus.txt'; s=$(date +%%s); "
             "while pgrep -f '^mpirun -np 2' >/dev/null && [ $(($(date +%%s) - s)) -lt 30 ]; do sleep 0.1; done; "
             "echo $(($(date +%%s) - s)) > killed.secs; pgrep -f '^mpirun -np 2' >/dev/null && pkill -9 -f '^mpirun -np 2'; true",
             dir, binary, binary);
    EXPECT(system(line) == 0);
    char path[300], secs[32];
    snprintf(path, sizeof path, "%s/killed.secs", dir);
    harness_slurp(path, secs, sizeof secs);
    if (atoi(secs) > 10) printf("    the other rank took %s s to go\n", secs);
    EXPECT(secs[0] && atoi(secs) <= 10);
    EXPECT(sh("%s info killed.safetensors%s", "") == 0 && strstr(text, "task:") != NULL);
}

/* Runs a complete shell command line in dir; its output in text. Returns its exit status. */
static int sh_line(const char *cmd) {
    char line[2304], path[300];
    snprintf(path, sizeof path, "%s/out.txt", dir);
    snprintf(line, sizeof line, "cd %s && (%s) >out.txt 2>&1 </dev/null", dir, cmd);
    int status = system(line);
    harness_slurp(path, text, sizeof text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The ranks check that they agree before they depend on each other: different command lines (colon
 * syntax), one rank in another command, or the same command on different copies of the data (each
 * rank in its own folder) stop every rank at once with one line, no hang, no crash. */
static void test_ranks_that_disagree_stop_together(void) {
    EXPECT(sh_line("mkdir -p a b && cp corpus.txt a/ && head -c 30000 corpus.txt >b/corpus.txt && "
                   "cp corpus.txt other.txt") == 0);
    const char *opts = "--model gpt-nano --block-size 32 --batch-size 8 --eval-every 10 --threads 1";
    const char *cases[][3] = {
        {"train corpus.txt %s --max-iters 10", "train other.txt %s --max-iters 10", "different command lines"},
        {"train corpus.txt %s --max-iters 10", "train corpus.txt %s --max-iters 20", "different command lines"},
        {"train corpus.txt %s --max-iters 10", "eval corpus.txt --ckpt r2.safetensors", "different command lines"},
        {"-wdir a %B train corpus.txt %s --max-iters 10", "-wdir b %B train corpus.txt %s --max-iters 10",
         "do not have the same training data, checkpoint or settings"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char rank[2][600], cmd[1500];
        for (int r = 0; r < 2; r++) {
            char form[300];
            const char *at = strstr(cases[i][r], "%B ");
            /* "-wdir X %B ...": the binary goes after the folder; else first */
            if (at) snprintf(form, sizeof form, "%.*s%s %s", (int)(at - cases[i][r]), cases[i][r], binary, at + 3);
            else snprintf(form, sizeof form, "%s %s", binary, cases[i][r]);
            snprintf(rank[r], sizeof rank[r], form, opts);
        }
        snprintf(cmd, sizeof cmd, "timeout 60 mpirun --oversubscribe -np 1 %s : -np 1 %s", rank[0], rank[1]);
        int rc = sh_line(cmd);
        if (rc == 0 || rc == 124 || !strstr(text, cases[i][2])) {
            printf("    %s: exit %d, output: %s\n      wanted: %s\n", cmd, rc, text, cases[i][2]);
            harness_case_failed = 1;
        }
    }
    /* a usage error is every rank's: rank 0 alone says it */
    EXPECT(sh(MPIRUN(2) "%s train corpus.txt --lr x%s", "") == 2 && strstr(text, "--lr expects a number") &&
           strstr(strstr(text, "--lr expects a number") + 1, "--lr expects a number") == NULL);
    /* a run of one micro-batch a step resumed on 2 ranks: each runs one, and says so */
    EXPECT(sh(MPIRUN(2) TRAIN, "--max-iters 25 --resume a1.safetensors --out more_ranks.safetensors") == 0 &&
           strstr(text, "--accum: the resumed run summed 1 micro-batch a step; its 2 ranks run 1 each, 2 in all"));
}

/* SIGINT or SIGTERM to rank 1 alone stops the job as Ctrl-C stops one process: rank 0 saves, and
 * the job ends with 130. */
static void test_a_signal_to_any_rank_saves_and_exits_130(void) {
    char line[1600];
    snprintf(line, sizeof line,
             "cd %s && rm -f sig.safetensors && { " MPIRUN(2) "%s train corpus.txt --model gpt-nano --block-size 32 "
             "--batch-size 8 --eval-every 1000000 --log-every 1000000 --max-iters 100000000 --threads 1 "
             "--out sig.safetensors >sig.out 2>&1 </dev/null; echo $? >sig.rc; } & sleep 2; "
             "for p in $(pgrep -f '^%s train corpus.txt'); do "
             "tr '\\0' '\\n' </proc/$p/environ | grep -qx OMPI_COMM_WORLD_RANK=1 && kill -INT $p; done; "
             "i=0; while [ ! -e sig.rc ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; "
             "pkill -9 -f '^%s train corpus.txt'; true",
             dir, binary, binary, binary);
    EXPECT(system(line) == 0);
    char path[300], rc[32];
    snprintf(path, sizeof path, "%s/sig.rc", dir);
    harness_slurp(path, rc, sizeof rc);
    snprintf(path, sizeof path, "%s/sig.out", dir);
    harness_slurp(path, text, sizeof text);
    if (atoi(rc) != 130 || !strstr(text, "interrupted at step")) printf("    exit %s, output: %s\n", rc, text);
    EXPECT(atoi(rc) == 130 && strstr(text, "interrupted at step") != NULL && strstr(text, "MPI_ABORT") == NULL);
    EXPECT(sh("%s info sig.safetensors%s", "") == 0 && strstr(text, "task:") != NULL);
}

int main(void) {
    const char *bin = getenv("MINGPT_MPI");
    if (!bin) {
        fprintf(stderr, "test_mpi: set MINGPT_MPI to an MPI build of mingpt (make test-mpi does)\n");
        return 2;
    }
    setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
    setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
    if (bin[0] == '/') snprintf(binary, sizeof binary, "%s", bin);
    else {
        char cwd[256];
        CHECK(getcwd(cwd, sizeof cwd) != NULL);
        snprintf(binary, sizeof binary, "%s/%s", cwd, bin);
    }
    snprintf(dir, sizeof dir, "/tmp/mingpt-test-mpi-%d", (int)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    CHECK(system(cmd) == 0);
    make_corpus();
    RUN(test_two_ranks_give_the_bits_of_one_process_accumulating_two);
    RUN(test_three_ranks_and_resuming_with_another_rank_count);
    RUN(test_a_killed_rank_ends_the_run_and_the_checkpoint_survives);
    RUN(test_ranks_that_disagree_stop_together);
    RUN(test_a_signal_to_any_rank_saves_and_exits_130);
    harness_remove_dir(dir);
    return harness_finish();
}
