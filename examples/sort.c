/* sort.c — minGPT's demo.ipynb with libmingpt: a tiny GPT learns to sort 6 digits from {0, 1, 2}.
 *
 * The task lives entirely in this file; the library knows nothing about sorting. Each training
 * example is a sequence followed by its sorted version, e.g. 0 0 2 1 0 1 | 0 0 0 1 1 2, and the
 * model only takes a loss on the sorted half. A quarter of all 729 sequences are held out (chosen
 * by a hash, as minGPT's SortDataset does); training stops as soon as the model sorts every one
 * of them. Build: make examples, or cc sort.c $(pkg-config --cflags --libs --static mingpt).
 * Run: build/examples/sort [seed]. Exit status 0 when the held-out set is all sorted.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mingpt.h"

#define LENGTH 6         /* digits to sort */
#define DIGITS 3         /* each is 0, 1 or 2: the vocabulary */
#define N_SEQ 729        /* DIGITS^LENGTH possible sequences */
#define MAX_ITERS 5000   /* give up after this many steps (minGPT's notebook trains 2,000) */
#define EVAL_EVERY 100

/* The program's own randomness (splitmix64): the library never chooses our data. */
static uint64_t rng_state;
static uint64_t next_random(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Sequence number i (0..728) as its LENGTH base-3 digits. */
static void sequence(int i, int *digits) {
    for (int k = 0; k < LENGTH; k++, i /= DIGITS) digits[k] = i % DIGITS;
}

/* Held out if a hash of the digits is 0 mod 4, like minGPT's hash(pickle.dumps(inp)) % 4 == 0. */
static int is_test(const int *digits) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int k = 0; k < LENGTH; k++) h = (h ^ (uint64_t)digits[k]) * 1099511628211ull;
    return h % 4 == 0;
}

/* The batch callback: idx and targets are (B,T), T = 2·LENGTH - 1 = 11. For digits 0 0 2 1 0 1:
 *   idx:     0  0  2  1  0  1  0 0 0 1 1     (the sequence, then its sorted version minus the last)
 *   targets: -1 -1 -1 -1 -1 0  0 0 1 1 2     (-1: no loss while the model is reading the input) */
static int next_batch(void *user, int *idx, int *targets, int B, int T) {
    (void)user;
    for (int b = 0; b < B; b++) {
        int in[LENGTH], count[DIGITS] = {0}, distinct = 0;
        for (;;) { /* rejection sampling, as minGPT's SortDataset */
            for (int k = 0; k < LENGTH; k++) in[k] = (int)(next_random() % DIGITS);
            for (int d = 0; d < DIGITS; d++) count[d] = 0;
            for (int k = 0; k < LENGTH; k++) count[in[k]]++;
            distinct = (count[0] > 0) + (count[1] > 0) + (count[2] > 0);
            /* half the time insist on many repeats, the cases the model finds hardest */
            if (next_random() % 2 == 0 && distinct > LENGTH / 2) continue;
            if (!is_test(in)) break; /* never train on a held-out sequence */
        }
        int cat[2 * LENGTH], n = 0; /* the sequence, then it sorted (counting sort) */
        for (int k = 0; k < LENGTH; k++) cat[n++] = in[k];
        for (int d = 0; d < DIGITS; d++)
            for (int c = 0; c < count[d]; c++) cat[n++] = d;
        for (int t = 0; t < T; t++) {
            idx[b * T + t] = cat[t];
            targets[b * T + t] = t < LENGTH - 1 ? -1 : cat[t + 1];
        }
    }
    return 0;
}

/* The held-out set, and what the model makes of it. */
static int test_prompts[N_SEQ * LENGTH], test_sorted[N_SEQ * LENGTH], n_test;

/* Percent of held-out sequences the model sorts exactly (greedy decoding, all at once). */
static double held_out_accuracy(MgModel *model) {
    static int out[N_SEQ * LENGTH];
    MgError err;
    if (mg_generate_greedy(model, test_prompts, n_test, LENGTH, LENGTH, out, &err) != MG_OK) {
        fprintf(stderr, "sort: %s\n", err.message);
        exit(1);
    }
    int correct = 0;
    for (int i = 0; i < n_test; i++) {
        int same = 1;
        for (int k = 0; k < LENGTH; k++) same &= out[i * LENGTH + k] == test_sorted[i * LENGTH + k];
        correct += same;
    }
    return 100.0 * correct / n_test;
}

/* The step callback: log now and then, and stop once every held-out sequence is sorted. */
static int on_step(void *user, MgModel *model, const MgStep *step) {
    double *accuracy = user;
    if (step->step % EVAL_EVERY != 0 && step->step != MAX_ITERS) return 0;
    *accuracy = held_out_accuracy(model);
    fprintf(stderr, "step %ld: train loss %.5f, held-out %.1f%% sorted\n", step->step, step->loss, *accuracy);
    return *accuracy == 100.0;
}

int main(int argc, char **argv) {
    uint64_t seed = argc > 1 ? strtoull(argv[1], NULL, 10) : 3407; /* minGPT's set_seed(3407) */
    rng_state = seed;
    for (int i = 0; i < N_SEQ; i++) { /* collect the held-out sequences and their answers */
        int d[LENGTH], count[DIGITS] = {0}, n = 0;
        sequence(i, d);
        if (!is_test(d)) continue;
        for (int k = 0; k < LENGTH; k++) count[d[k]]++;
        for (int k = 0; k < LENGTH; k++) test_prompts[n_test * LENGTH + k] = d[k];
        for (int v = 0; v < DIGITS; v++)
            for (int c = 0; c < count[v]; c++) test_sorted[n_test * LENGTH + n++] = v;
        n_test++;
    }

    /* minGPT's gpt-nano (3 layers, 3 heads, 48 channels) over 3 tokens, contexts of 11 */
    MgError err;
    MgConfig *config = mg_config_new("gpt-nano", DIGITS, 2 * LENGTH - 1, &err);
    MgModel *model = config ? mg_model_new(config, seed, 2, &err) : NULL;
    MgTrainConfig *tc = model ? mg_train_config_new(&err) : NULL;
    if (!tc || mg_train_config_set(tc, "learning_rate", 5e-4, &err) || /* the notebook's settings */
        mg_train_config_set(tc, "max_iters", MAX_ITERS, &err)) {
        fprintf(stderr, "sort: %s\n", err.message);
        return 1;
    }
    printf("number of parameters: %.2fM\n", (double)mg_model_num_params(model) / 1e6);

    double accuracy = 0.0;
    MgTrainer *trainer = mg_trainer_new(model, tc, &err);
    if (!trainer || mg_train(trainer, next_batch, on_step, &accuracy, &err) != MG_OK) {
        fprintf(stderr, "sort: %s\n", err.message);
        return 1;
    }
    printf("trained %ld steps\n", mg_trainer_step(trainer));
    printf("held-out: %.0f%% of %d sorted\n", accuracy, n_test);

    int examples[][LENGTH] = {{0, 0, 2, 1, 0, 1}, {2, 2, 2, 1, 0, 0}, {1, 0, 1, 0, 1, 0}};
    for (int e = 0; e < 3; e++) { /* minGPT's last cell: sort a few sequences, one at a time */
        int tokens[2 * LENGTH];
        for (int k = 0; k < LENGTH; k++) tokens[k] = examples[e][k];
        mg_generate(model, tokens, LENGTH, LENGTH, 0.0f, 0, 0, &err); /* temperature 0: greedy */
        printf("%d %d %d %d %d %d -> %d %d %d %d %d %d\n", tokens[0], tokens[1], tokens[2], tokens[3], tokens[4],
               tokens[5], tokens[6], tokens[7], tokens[8], tokens[9], tokens[10], tokens[11]);
    }
    mg_trainer_free(trainer);
    mg_train_config_free(tc);
    mg_model_free(model);
    mg_config_free(config);
    return accuracy == 100.0 ? 0 : 1;
}
