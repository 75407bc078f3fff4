/* sample.h — turning a GPT's logits into a token, as minGPT's generate() does.
 *
 * Sampling divides the last position's logits by the temperature, keeps the top_k largest (ties
 * with the k-th kept, as minGPT's masking does), then the smallest set of tokens whose probability
 * mass reaches top_p, and draws from what is left; greedy takes the argmax. Running the model to
 * get the logits (the cache, the sliding window, the generation loop) is decode.h's.
 */
#ifndef MINGPT_SAMPLE_H
#define MINGPT_SAMPLE_H

#include <stddef.h>

#include "rng.h"

typedef struct {
    float temperature; /* > 0 */
    int top_k;         /* 0 = off */
    float top_p;       /* nucleus mass in (0, 1]; 1 = off */
    int greedy;        /* argmax; the others are then irrelevant */
} SampleConfig;

/* logits (V) -> a token in [0, V). scratch (3V floats) is workspace. Ties in greedy mode go to
 * the lowest token id; greedy uses neither rng nor scratch (both may be NULL). */
int sample_token(const float *logits, int V, const SampleConfig *config, Rng *rng, float *scratch);

#endif
