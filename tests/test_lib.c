/* test_lib.c — libmingpt as a program outside the tree uses it: only mingpt.h (and the harness),
 * linked with libmingpt.a alone. Config and argument errors come back as codes with a message that
 * names the culprit; a checkpoint round trip keeps the weights, the task, the program's metadata
 * and AdamW's step; a checkpoint of any task loads; greedy generation agrees between a batch and one sequence and between a model
 * and its reloaded copy; a NULL handed on from a failed call keeps that call's error, and a getter
 * handed NULL returns a value no model has; mg_save never replaces a FIFO or a device and writes
 * through a symbolic link; docs/library.md names every function of the header. Then the sort example (built beside this test) must sort every
 * held-out sequence, the README's example must compile and report a misspelled preset, and an
 * installed copy of the library must build the sort example through pkg-config. */
#define _DEFAULT_SOURCE /* mknod and makedev, to make a device like /dev/null */
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "harness.h"
#include "mingpt.h"

static char dir[] = "/tmp/mingpt-lib-XXXXXX";
static char path_buf[512];
static const char *argv0;

static const char *in_dir(const char *name) {
    snprintf(path_buf, sizeof path_buf, "%s/%s", dir, name);
    return path_buf;
}

/* err says code and its message contains `part`; prints the message otherwise. */
#define EXPECT_ERR(err, want_code, part)                                                             \
    do {                                                                                              \
        EXPECT((err).code == (want_code) && strstr((err).message, (part)) != NULL);                   \
        if ((err).code != (want_code) || !strstr((err).message, (part)))                              \
            printf("    got code %d, message \"%s\"; wanted %d and \"%s\"\n", (err).code, (err).message, \
                   (want_code), (part));                                                              \
    } while (0)

/* ---- a toy task: copy 4 tokens of a vocabulary of 5 (idx = x x, loss on the copy only) */
#define V 5
#define N 4
#define BLOCK (2 * N - 1)

static unsigned toy_state = 12345;
static int toy_random(void) {
    toy_state = toy_state * 1103515245u + 12345u;
    return (int)((toy_state >> 16) % V);
}

static int copy_batch(void *user, int *idx, int *targets, int B, int T) {
    (void)user;
    EXPECT(T == BLOCK);
    for (int b = 0; b < B; b++) {
        int x[N];
        for (int k = 0; k < N; k++) x[k] = toy_random();
        for (int t = 0; t < T; t++) {
            idx[b * T + t] = x[t % N];
            targets[b * T + t] = t < N - 1 ? -1 : x[(t + 1) % N];
        }
    }
    return 0;
}

static int bad_token_batch(void *user, int *idx, int *targets, int B, int T) {
    copy_batch(user, idx, targets, B, T);
    idx[1 * T + 2] = V; /* one past the vocabulary, at row 1, position 2 */
    return 0;
}

static int no_loss_batch(void *user, int *idx, int *targets, int B, int T) {
    copy_batch(user, idx, targets, B, T);
    for (int i = 0; i < B * T; i++) targets[i] = -1;
    return 0;
}

static int failing_batch(void *user, int *idx, int *targets, int B, int T) {
    (void)user, (void)idx, (void)targets, (void)B, (void)T;
    return 1;
}

static int steps_seen;
static int count_steps(void *user, MgModel *model, const MgStep *step) {
    (void)user, (void)model;
    steps_seen++;
    EXPECT(step->step == steps_seen); /* a fresh trainer counts from 0 */
    EXPECT(step->loss > 0.0f && step->lr > 0.0f);
    return 0;
}

static MgModel *toy_model(uint64_t seed, MgError *err) {
    MgConfig *c = mg_config_new(NULL, V, BLOCK, err);
    if (!c) return NULL;
    mg_config_set(c, "n_layer", 2, err);
    mg_config_set(c, "n_head", 2, err);
    mg_config_set(c, "n_embd", 16, err);
    MgModel *m = mg_model_new(c, seed, 2, err);
    mg_config_free(c);
    return m;
}

static void test_config_errors_are_codes_with_messages(void) {
    MgError err;
    EXPECT(mg_config_new("gpt-huge", 10, 8, &err) == NULL);
    EXPECT_ERR(err, MG_ERR_ARG, "unknown model preset \"gpt-huge\"");
    EXPECT(mg_config_new("gpt-huge", 10, 8, NULL) == NULL); /* err may be NULL */

    MgConfig *c = mg_config_new("gpt-nano", 10, 8, &err);
    EXPECT(c != NULL && err.code == MG_OK && err.message[0] == '\0');
    EXPECT(mg_config_set(c, "n_heads", 4, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "unknown config name \"n_heads\"");
    EXPECT(mg_config_set(c, "n_embd", 2.5, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "n_embd = 2.5");
    EXPECT(mg_config_set(c, "dropout", 1.0, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "dropout = 1");
    EXPECT(mg_config_set(c, "n_embd", 50, &err) == MG_OK); /* 50 is not a multiple of 3 heads */
    EXPECT(mg_model_new(c, 1, 1, &err) == NULL);
    EXPECT_ERR(err, MG_ERR_ARG, "n_embd must be divisible by n_head");
    EXPECT(mg_config_set(c, "n_embd", 48, &err) == MG_OK && mg_config_set(c, "block_size", 0, &err) == MG_OK);
    EXPECT(mg_model_new(c, 1, 1, &err) == NULL);
    EXPECT_ERR(err, MG_ERR_ARG, "block_size must be between 1 and 16384");
    mg_config_free(c);

    /* a config that the machine could never hold is refused before anything is allocated */
    c = mg_config_new(NULL, 1 << 22, 16384, &err);
    mg_config_set(c, "n_layer", 256, &err);
    mg_config_set(c, "n_head", 256, &err);
    mg_config_set(c, "n_embd", 16384, &err);
    EXPECT(mg_model_new(c, 1, 1, &err) == NULL);
    EXPECT_ERR(err, MG_ERR_MEMORY, "the model needs");
    mg_config_free(c);

    MgTrainConfig *tc = mg_train_config_new(&err);
    EXPECT(tc != NULL);
    EXPECT(mg_train_config_set(tc, "batch_size", 0, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "batch_size = 0");
    EXPECT(mg_train_config_set(tc, "learning_rate", -1, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "learning_rate = -1");
    EXPECT(mg_train_config_set(tc, "lr", 1e-3, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "unknown training config name \"lr\"");
    EXPECT(mg_train_config_set(tc, "beta2", 0.99, &err) == MG_OK && err.code == MG_OK);
    mg_train_config_free(tc);
}

static void test_bad_batches_and_arguments_are_refused(void) {
    MgError err;
    MgModel *m = toy_model(1, &err);
    MgTrainConfig *tc = mg_train_config_new(&err);
    mg_train_config_set(tc, "batch_size", 3, &err);
    MgTrainer *t = mg_trainer_new(m, tc, &err);
    EXPECT(m && t);
    EXPECT(mg_train(t, copy_batch, NULL, NULL, &err) == MG_ERR_ARG); /* would never stop */
    EXPECT_ERR(err, MG_ERR_ARG, "max_iters must be set");
    mg_train_config_set(tc, "max_iters", 2, &err);
    mg_trainer_free(t);
    t = mg_trainer_new(m, tc, &err);
    EXPECT(mg_train(t, bad_token_batch, NULL, NULL, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "idx[1][2] = 5 is not a token id in [0, 5)");
    EXPECT(mg_train(t, no_loss_batch, NULL, NULL, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "every target is -1");
    EXPECT(mg_train(t, failing_batch, NULL, NULL, &err) == MG_ERR_CALLBACK);
    EXPECT_ERR(err, MG_ERR_CALLBACK, "stopped training at step 0");
    EXPECT(mg_trainer_step(t) == 0);

    int tokens[8] = {0, 1, 2, 7};
    EXPECT(mg_generate(m, tokens, 4, 2, 0.0f, 0, 0, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "prompt[3] = 7");
    EXPECT(mg_generate(m, tokens, 0, 2, 0.0f, 0, 0, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "n_prompt = 0");
    tokens[3] = 3;
    EXPECT(mg_generate(m, tokens, 4, 2, 1.0f, V + 1, 0, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "top_k = 6");
    int out[16];
    EXPECT(mg_generate_greedy(m, tokens, 1, 4, 5, out, &err) == MG_ERR_ARG); /* 4 + 5 - 1 > 7 */
    EXPECT_ERR(err, MG_ERR_ARG, "T0 + n_new - 1 <= block_size (7)");

    EXPECT(mg_save(m, NULL, in_dir("bad.safetensors"), "copy", (const char *[]){"a key", "x", NULL}, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "metadata key \"a key\"");
    EXPECT(mg_save(m, NULL, in_dir("bad.safetensors"), "copy", (const char *[]){"k", "1", "k", "2", NULL}, &err) ==
           MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "\"k\" given twice");
    EXPECT(mg_save(m, NULL, in_dir("bad.safetensors"), "copy", (const char *[]){"k", "\xff", NULL}, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "not valid UTF-8");
    EXPECT(access(in_dir("bad.safetensors"), F_OK) != 0);
    /* a folder where a file should be: the path comes back in the message */
    EXPECT(mg_save(m, NULL, dir, NULL, NULL, &err) == MG_ERR_FILE);
    EXPECT_ERR(err, MG_ERR_FILE, dir);

    EXPECT(mg_model_load(in_dir("missing.safetensors"), MG_LOAD_INFERENCE, 1, &err) == NULL);
    EXPECT_ERR(err, MG_ERR_FILE, "missing.safetensors");
    FILE *fp = fopen(in_dir("junk.safetensors"), "wb");
    fputs("not a checkpoint at all", fp);
    fclose(fp);
    EXPECT(mg_model_load(in_dir("junk.safetensors"), MG_LOAD_TRAINING, 1, &err) == NULL);
    EXPECT_ERR(err, MG_ERR_FILE, "junk.safetensors");
    EXPECT(mg_model_load(in_dir("junk.safetensors"), 7, 1, &err) == NULL);
    EXPECT_ERR(err, MG_ERR_ARG, "mode");
    mg_trainer_free(t);
    mg_train_config_free(tc);
    mg_model_free(m);
}

static void test_train_save_load_generate(void) {
    MgError err;
    MgModel *m = toy_model(7, &err);
    MgTrainConfig *tc = mg_train_config_new(&err);
    mg_train_config_set(tc, "batch_size", 16, &err);
    mg_train_config_set(tc, "learning_rate", 3e-3, &err);
    mg_train_config_set(tc, "max_iters", 30, &err);
    MgTrainer *t = mg_trainer_new(m, tc, &err);
    steps_seen = 0;
    EXPECT(mg_train(t, copy_batch, count_steps, NULL, &err) == MG_OK && err.code == MG_OK);
    EXPECT(steps_seen == 30 && mg_trainer_step(t) == 30);
    EXPECT(mg_model_vocab_size(m) == V && mg_model_block_size(m) == BLOCK && mg_model_num_params(m) > 0);
    EXPECT(strcmp(mg_model_task(m), "") == 0);

    const char *meta[] = {"length", "4", "note", "caf\xC3\xA9", NULL};
    const char *path = "copy/model.safetensors"; /* a folder to create, under dir */
    char full[512];
    snprintf(full, sizeof full, "%s/%s", dir, path);
    EXPECT(mg_save(m, t, full, "copy", meta, &err) == MG_OK);

    /* greedy: a batch of prompts agrees with one sequence at a time */
    int prompts[2 * N] = {1, 3, 0, 4, 2, 2, 1, 0}, batch_out[2 * N];
    EXPECT(mg_generate_greedy(m, prompts, 2, N, N, batch_out, &err) == MG_OK);
    for (int b = 0; b < 2; b++) {
        int seq[2 * N];
        memcpy(seq, prompts + b * N, N * sizeof(int));
        EXPECT(mg_generate(m, seq, N, N, 0.0f, 0, 0, &err) == MG_OK);
        EXPECT(memcmp(seq + N, batch_out + b * N, N * sizeof(int)) == 0);
    }

    /* the reloaded model (inference only) has the same weights: the same greedy continuation */
    MgModel *loaded = mg_model_load(full, MG_LOAD_INFERENCE, 1, &err);
    EXPECT(loaded != NULL);
    if (!loaded) printf("    %s\n", err.message);
    if (loaded) {
        EXPECT(strcmp(mg_model_task(loaded), "copy") == 0);
        EXPECT(mg_model_meta(loaded, "length") && strcmp(mg_model_meta(loaded, "length"), "4") == 0);
        EXPECT(mg_model_meta(loaded, "note") && strcmp(mg_model_meta(loaded, "note"), "caf\xC3\xA9") == 0);
        EXPECT(mg_model_meta(loaded, "missing") == NULL);
        int again[2 * N];
        EXPECT(mg_generate_greedy(loaded, prompts, 2, N, N, again, &err) == MG_OK);
        EXPECT(memcmp(again, batch_out, sizeof again) == 0);
        /* sampling: the same seed gives the same tokens, past block_size too (the window slides) */
        int s1[20] = {1, 2}, s2[20] = {1, 2};
        EXPECT(mg_generate(loaded, s1, 2, 18, 1.0f, 3, 42, &err) == MG_OK);
        EXPECT(mg_generate(m, s2, 2, 18, 1.0f, 3, 42, &err) == MG_OK);
        EXPECT(memcmp(s1, s2, sizeof s1) == 0);
        EXPECT(mg_trainer_new(loaded, tc, &err) == NULL);
        EXPECT_ERR(err, MG_ERR_ARG, "loaded for inference");
        mg_model_free(loaded);
    }

    /* resuming: AdamW's state and the step come back, and training continues from step 30 */
    MgModel *resumed = mg_model_load(full, MG_LOAD_TRAINING, 2, &err);
    EXPECT(resumed != NULL);
    if (resumed) {
        mg_train_config_set(tc, "max_iters", 35, &err);
        MgTrainer *t2 = mg_trainer_new(resumed, tc, &err);
        EXPECT(t2 && mg_trainer_step(t2) == 30);
        EXPECT(mg_train(t2, copy_batch, NULL, NULL, &err) == MG_OK && mg_trainer_step(t2) == 35);
        mg_trainer_free(t2);
        mg_model_free(resumed);
    }
    mg_trainer_free(t);
    mg_train_config_free(tc);
    mg_model_free(m);
}

/* Rewrites the first `from` in the file at path as `to`, of the same length (the header keeps its
 * size and every offset). Returns 1 if it was there. */
static int replace_in_file(const char *path, const char *from, const char *to) {
    static char bytes[1 << 16];
    FILE *fp = fopen(path, "rb");
    size_t n = fp ? fread(bytes, 1, sizeof bytes, fp) : 0, len = strlen(from);
    if (fp) fclose(fp);
    for (size_t i = 0; len == strlen(to) && n < sizeof bytes && i + len <= n; i++)
        if (memcmp(bytes + i, from, len) == 0) {
            memcpy(bytes + i, to, len);
            fp = fopen(path, "wb");
            int ok = fp && fwrite(bytes, 1, n, fp) == n;
            return fp && fclose(fp) == 0 && ok;
        }
    return 0;
}

/* The library loads a checkpoint of any task, whatever the mingpt command would make of its
 * metadata: one of a task no program here has, and one that claims to be the command's BPE model
 * but holds no tokenizer (the command refuses it; the library never reads a tokenizer). */
static void test_checkpoints_of_any_task_load(void) {
    MgError err;
    MgModel *m = toy_model(3, &err);
    const char *meta[] = {"length", "4", NULL};
    const char *names[2] = {"other-task.safetensors", "bpe-without-tokenizer.safetensors"};
    const char *tasks[2] = {"xyz", "bpe"};
    for (int i = 0; i < 2; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s", in_dir(names[i]));
        EXPECT(mg_save(m, NULL, path, "copy", meta, &err) == MG_OK);
        char task[32];
        snprintf(task, sizeof task, "\"task\":\"%s\"", tasks[i]);
        EXPECT(replace_in_file(path, "\"task\":\"lib\"", task));
        MgModel *loaded = mg_model_load(path, MG_LOAD_INFERENCE, 1, &err);
        EXPECT(loaded != NULL);
        if (!loaded) {
            printf("    %s\n", err.message);
            continue;
        }
        EXPECT(strcmp(mg_model_task(loaded), tasks[i]) == 0);
        EXPECT(mg_model_meta(loaded, "length") && strcmp(mg_model_meta(loaded, "length"), "4") == 0);
        int seq[2 * N] = {1, 3, 0, 4};
        EXPECT(mg_generate(loaded, seq, N, N, 0.0f, 0, 0, &err) == MG_OK);
        mg_model_free(loaded);
    }
    mg_model_free(m);
}

/* A NULL object handed on from a call that failed keeps that call's error in err: the nested calls
 * below once reported "mg_train: trainer and next_batch must not be NULL" for a misspelled preset. */
static void test_the_first_error_survives_null_objects(void) {
    MgError err;
    MgModel *m = mg_model_new(mg_config_new("gpt-nanoo", V, BLOCK, &err), 1, 1, &err);
    EXPECT(m == NULL);
    EXPECT_ERR(err, MG_ERR_ARG, "unknown model preset \"gpt-nanoo\"");
    EXPECT(mg_trainer_new(m, NULL, &err) == NULL);
    EXPECT(mg_train(NULL, copy_batch, NULL, NULL, &err) == MG_ERR_ARG);
    EXPECT(mg_save(NULL, NULL, in_dir("never.safetensors"), NULL, NULL, &err) == MG_ERR_ARG);
    int tokens[2 * N] = {0};
    EXPECT(mg_generate(NULL, tokens, 1, 1, 0.0f, 0, 0, &err) == MG_ERR_ARG);
    EXPECT(mg_generate_greedy(NULL, tokens, 1, 1, 1, tokens, &err) == MG_ERR_ARG);
    EXPECT(mg_config_set(NULL, "n_layer", 2, &err) == MG_ERR_ARG);
    EXPECT(mg_train_config_set(NULL, "max_iters", 2, &err) == MG_ERR_ARG);
    EXPECT_ERR(err, MG_ERR_ARG, "unknown model preset \"gpt-nanoo\"");
    /* the code returned is the kept error's */
    EXPECT(mg_model_load(in_dir("missing.safetensors"), MG_LOAD_TRAINING, 1, &err) == NULL);
    EXPECT(mg_train(NULL, copy_batch, NULL, NULL, &err) == MG_ERR_FILE);
    EXPECT_ERR(err, MG_ERR_FILE, "missing.safetensors");
    /* with no error before, the NULL itself is the error */
    MgTrainConfig *tc = mg_train_config_new(&err);
    EXPECT(tc != NULL && err.code == MG_OK);
    EXPECT(mg_trainer_new(NULL, tc, &err) == NULL);
    EXPECT_ERR(err, MG_ERR_ARG, "mg_trainer_new: model must not be NULL");
    /* and the free functions take NULL */
    mg_train_config_free(tc);
    mg_train_config_free(NULL);
    mg_config_free(NULL);
    mg_model_free(NULL);
    mg_trainer_free(NULL);
}

/* The getters take no err: NULL (a model or trainer that failed to be made) gives a value no real
 * one has, not a crash. */
static void test_getters_take_null(void) {
    EXPECT(mg_model_vocab_size(NULL) == 0);
    EXPECT(mg_model_block_size(NULL) == 0);
    EXPECT(mg_model_num_params(NULL) == 0);
    EXPECT(mg_model_task(NULL) == NULL);
    EXPECT(mg_model_meta(NULL, "length") == NULL);
    EXPECT(mg_model_meta(NULL, NULL) == NULL);
    EXPECT(mg_trainer_step(NULL) == -1);
}

static int is_link(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* mg_save refuses what the command refuses: it never renames its file over a FIFO or a device (it
 * once replaced /dev/null when run as root), and writes through a symbolic link as the command
 * does, so the link stays and the file it leads to gets the checkpoint. */
static void test_save_never_replaces_what_is_not_a_file(void) {
    MgError err;
    MgModel *m = toy_model(3, &err);
    EXPECT(m != NULL);
    char fifo[600], dev[600], path[600];
    snprintf(fifo, sizeof fifo, "%s", in_dir("fifo"));
    EXPECT(mkfifo(fifo, 0666) == 0);
    EXPECT(mg_save(m, NULL, fifo, NULL, NULL, &err) == MG_ERR_FILE);
    EXPECT_ERR(err, MG_ERR_FILE, "fifo: exists and is a FIFO");
    struct stat st;
    EXPECT(lstat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    /* a character device like /dev/null (1, 3), made here when we may (root, outside a jail) */
    snprintf(dev, sizeof dev, "%s", in_dir("null"));
    if (mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0) {
        EXPECT(mg_save(m, NULL, dev, NULL, NULL, &err) == MG_ERR_FILE);
        EXPECT_ERR(err, MG_ERR_FILE, "null: exists and is a character device");
        EXPECT(lstat(dev, &st) == 0 && S_ISCHR(st.st_mode));
    } else {
        printf("    (no character device: mknod needs root)\n");
    }
    /* a link to a checkpoint: the checkpoint is replaced, the link stays */
    EXPECT(mg_save(m, NULL, in_dir("target.safetensors"), "first", NULL, &err) == MG_OK);
    snprintf(path, sizeof path, "%s", in_dir("link.safetensors"));
    EXPECT(symlink("target.safetensors", path) == 0);
    EXPECT(mg_save(m, NULL, path, "second", NULL, &err) == MG_OK);
    EXPECT(is_link(path));
    MgModel *back = mg_model_load(in_dir("target.safetensors"), MG_LOAD_INFERENCE, 1, &err);
    EXPECT(back && strcmp(mg_model_task(back), "second") == 0);
    mg_model_free(back);
    /* a dangling link: its target is created beside it */
    snprintf(path, sizeof path, "%s", in_dir("dangling"));
    EXPECT(symlink("fresh.safetensors", path) == 0);
    EXPECT(mg_save(m, NULL, path, NULL, NULL, &err) == MG_OK);
    EXPECT(is_link(path) && access(in_dir("fresh.safetensors"), R_OK) == 0);
    /* refused, the link left as it is: one into a missing folder, one to a FIFO, a loop */
    const char *refused[][3] = {{"nofolder", "gone/x.safetensors", "its folder does not exist"},
                                {"fifo.link", "fifo", "which is a FIFO"},
                                {"loop", "loop", "too many levels of symbolic links"}};
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s", in_dir(refused[i][0]));
        EXPECT(symlink(refused[i][1], path) == 0);
        EXPECT(mg_save(m, NULL, path, NULL, NULL, &err) == MG_ERR_FILE);
        EXPECT_ERR(err, MG_ERR_FILE, refused[i][2]);
        EXPECT_ERR(err, MG_ERR_FILE, refused[i][0]);
        EXPECT(is_link(path));
    }
    EXPECT(access(in_dir("gone"), F_OK) != 0);
    mg_model_free(m);
}

/* Whether text holds the declaration of every public function of include/mingpt.h, by name
 * ("mg_xxx("); prints the ones missing. */
static int names_every_function(const char *doc_path, const char *text) {
    static char header[1 << 16];
    harness_slurp("include/mingpt.h", header, sizeof header);
    int found = 0, missing = 0;
    for (const char *at = header; (at = strstr(at, "mg_")) != NULL; at++) {
        size_t n = strspn(at, "abcdefghijklmnopqrstuvwxyz_0123456789");
        /* a function's name: "mg_xxx(" after its return type's ' ' or '*' (a mention in a comment
         * counts too, and is a function as well) */
        if (at[n] != '(' || (at > header && at[-1] != ' ' && at[-1] != '*')) continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, at);
        found++;
        char quoted[70];
        snprintf(quoted, sizeof quoted, "`%s", name);
        if (!strstr(text, quoted)) {
            printf("    %s does not name %s\n", doc_path, name);
            missing++;
        }
    }
    EXPECT(found >= 21); /* the header is where the test thinks it is */
    return missing == 0;
}

/* docs/library.md is the reference: every function of the header is in it. */
/* Sets every float of tensor `name` in the safetensors file at path to x, in place (a finite
 * value, so the file stays a sound checkpoint). Returns the number of floats set, 0 on failure. */
static size_t set_tensor_in_file(const char *path, const char *name, float x) {
    FILE *fp = fopen(path, "r+b");
    unsigned char len8[8];
    if (!fp || fread(len8, 1, 8, fp) != 8) return 0;
    size_t header_len = 0, n = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | len8[i];
    char *header = malloc(header_len + 1), key[128];
    unsigned long begin = 0, end = 0;
    if (header && fread(header, 1, header_len, fp) == header_len) {
        header[header_len] = '\0';
        snprintf(key, sizeof key, "\"%s\"", name);
        const char *at = strstr(header, key), *offsets = at ? strstr(at, "\"data_offsets\"") : NULL;
        if (offsets && sscanf(strchr(offsets, '[') + 1, " %lu , %lu", &begin, &end) == 2 &&
            fseek(fp, (long)(8 + header_len + begin), SEEK_SET) == 0)
            for (n = 0; n < (end - begin) / sizeof(float) && fwrite(&x, sizeof x, 1, fp) == 1; n++) {}
    }
    free(header);
    return fclose(fp) == 0 ? n : 0;
}

/* Weights that overflow the forward pass: generation says so (MG_ERR_NUMERIC, naming the tensor)
 * rather than returning tokens drawn from NaN. */
static void test_non_finite_output_is_an_error(void) {
    MgError err;
    MgModel *m = toy_model(5, &err);
    const char *path = in_dir("overflow.safetensors");
    EXPECT(mg_save(m, NULL, path, "copy", NULL, &err) == MG_OK);
    mg_model_free(m);
    EXPECT(set_tensor_in_file(path, "transformer.ln_f.weight", 3e38f) == 16);
    m = mg_model_load(path, MG_LOAD_INFERENCE, 1, &err);
    EXPECT(m != NULL);
    if (!m) return;
    int tokens[8] = {1, 2}, out[4];
    EXPECT(mg_generate(m, tokens, 2, 4, 1.0f, 0, 7, &err) == MG_ERR_NUMERIC &&
           strstr(err.message, "mg_generate: the logits are not finite") &&
           strstr(err.message, "transformer.ln_f.weight"));
    EXPECT(mg_generate_greedy(m, tokens, 1, 2, 3, out, &err) == MG_ERR_NUMERIC);
    mg_model_free(m);
}

static void test_the_reference_names_every_function(void) {
    static char doc[1 << 17];
    harness_slurp("docs/library.md", doc, sizeof doc);
    EXPECT(names_every_function("docs/library.md", doc));
}

/* The README's library example as printed, compiled with warnings as errors against this build's
 * libmingpt.a: a misspelled preset prints the real cause in one line, and a short run saves a
 * checkpoint that loads. */
static void test_the_readme_example_compiles_and_reports_the_first_error(void) {
    static char readme[1 << 17], snippet[1 << 14];
    harness_slurp("README.md", readme, sizeof readme);
    const char *section = strstr(readme, "## Using mingpt as a library");
    const char *begin = section ? strstr(section, "```c\n") : NULL;
    const char *end = begin ? strstr(begin + 5, "\n```\n") : NULL;
    EXPECT(begin && end);
    if (!begin || !end) return;
    snprintf(snippet, sizeof snippet, "%.*s\n", (int)(end - begin - 5), begin + 5);
    EXPECT(strstr(snippet, "\"gpt-nano\"") && strstr(snippet, "\"max_iters\", 2000"));
    char lib[600], cmd[2048], out[8192], errs[8192];
    const char *slash = strrchr(argv0, '/');
    snprintf(lib, sizeof lib, "%.*s/../libmingpt.a", slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".");
    /* two copies: one with the preset misspelled, one that trains 20 steps instead of 2,000 */
    const char *edits[2][3] = {{"misspelled", "\"gpt-nano\"", "\"gpt-nanoo\""}, {"short", "2000", "20"}};
    for (int i = 0; i < 2; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s.c", dir, edits[i][0]);
        FILE *fp = fopen(path, "w");
        const char *at = strstr(snippet, edits[i][1]);
        EXPECT(fp && at);
        if (!fp || !at) return;
        fprintf(fp, "%.*s%s%s", (int)(at - snippet), snippet, edits[i][2], at + strlen(edits[i][1]));
        fclose(fp);
        snprintf(cmd, sizeof cmd, "-std=c11 -Wall -Wextra -Werror -Iinclude -o $D/%s $D/%s.c %s -lm -pthread",
                 edits[i][0], edits[i][0], lib);
        int rc = harness_run_binary(dir, "cc", cmd, out, sizeof out, errs, sizeof errs);
        EXPECT(rc == 0);
        if (rc != 0) printf("    the README's example does not compile:\n%s%s", out, errs);
    }
    int rc = harness_run_binary(dir, "cd $D && ./misspelled", "", out, sizeof out, errs, sizeof errs);
    EXPECT(rc == 1 && strncmp(errs, "sort: unknown model preset \"gpt-nanoo\"", 38) == 0);
    EXPECT(strchr(errs, '\n') == errs + strlen(errs) - 1);
    if (rc != 1) printf("    exit %d, stderr: %s", rc, errs);
    rc = harness_run_binary(dir, "cd $D && ./short", "", out, sizeof out, errs, sizeof errs);
    EXPECT(rc == 0 && errs[0] == '\0');
    MgError err;
    MgModel *m = mg_model_load(in_dir("sort.safetensors"), MG_LOAD_TRAINING, 1, &err);
    EXPECT(m && strcmp(mg_model_task(m), "sort") == 0 && mg_model_vocab_size(m) == 3);
    if (!m) printf("    %s\n", err.message);
    mg_model_free(m);
}

/* The sort example beside this test (build/examples/sort for build/tests/test_lib), as a user runs
 * it: it must sort every held-out sequence and exit 0. */
static void test_sort_example_sorts_the_held_out_set(void) {
    char example[600], out[8192], errs[8192];
    const char *slash = strrchr(argv0, '/');
    snprintf(example, sizeof example, "%.*s/../examples/sort", slash ? (int)(slash - argv0) : 1, slash ? argv0 : ".");
    int rc = harness_run_binary(dir, example, "3407", out, sizeof out, errs, sizeof errs);
    EXPECT(rc == 0 && strstr(out, "held-out: 100% of 182 sorted") && strstr(out, "0 0 2 1 0 1 -> 0 0 0 1 1 2"));
    if (rc != 0) printf("    %s exited %d:\n%s%s", example, rc, out, errs);
}

/* make install into a fresh prefix, then the example built outside the tree the documented way:
 * cc sort.c $(pkg-config --cflags --libs --static mingpt). */
static void test_installed_library_builds_the_example(void) {
    char cmd[2048], out[8192], errs[8192];
    /* a make inside make test would try to join the parent's jobserver: it runs as its own */
    snprintf(cmd, sizeof cmd,
             "-c 'unset MAKEFLAGS MFLAGS MAKELEVEL; make -s install PREFIX=$D/prefix >/dev/null && "
             "test -f $D/prefix/lib/libmingpt.a && test -f $D/prefix/include/mingpt.h && "
             "cp examples/sort.c $D/sort.c && cd $D && "
             "PKG_CONFIG_PATH=$D/prefix/lib/pkgconfig cc -O2 -o sort sort.c "
             "$(PKG_CONFIG_PATH=$D/prefix/lib/pkgconfig pkg-config --cflags --libs --static mingpt) && "
             "PKG_CONFIG_PATH=$D/prefix/lib/pkgconfig pkg-config --libs --static mingpt'");
    int rc = harness_run_binary(dir, "export D; sh", cmd, out, sizeof out, errs, sizeof errs);
    EXPECT(rc == 0 && strstr(out, "-lmingpt") && strstr(out, "-lm") && strstr(out, "-pthread"));
    if (rc != 0) printf("    install or build failed (%d):\n%s%s", rc, out, errs);
    snprintf(cmd, sizeof cmd, "-c 'unset MAKEFLAGS MFLAGS MAKELEVEL; make -s uninstall PREFIX=$D/prefix && "
                              "! test -e $D/prefix/lib/libmingpt.a && ! test -e $D/prefix/bin/mingpt'");
    EXPECT(harness_run_binary(dir, "export D; sh", cmd, out, sizeof out, errs, sizeof errs) == 0);
}

int main(int argc, char **argv) {
    (void)argc;
    argv0 = argv[0];
    if (!mkdtemp(dir)) return 1;
    RUN(test_config_errors_are_codes_with_messages);
    RUN(test_bad_batches_and_arguments_are_refused);
    RUN(test_train_save_load_generate);
    RUN(test_checkpoints_of_any_task_load);
    RUN(test_the_first_error_survives_null_objects);
    RUN(test_the_reference_names_every_function);
    RUN(test_non_finite_output_is_an_error);
    RUN(test_getters_take_null);
    RUN(test_save_never_replaces_what_is_not_a_file);
    /* a sanitizer build runs the library's own cases; the example's training and the install are
     * make test's */
    if (!getenv("MINGPT_SANITIZED")) {
        RUN(test_sort_example_sorts_the_held_out_set);
        RUN(test_the_readme_example_compiles_and_reports_the_first_error);
        RUN(test_installed_library_builds_the_example);
    }
    harness_remove_dir(dir);
    return harness_finish();
}
