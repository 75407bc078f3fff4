/* fuzz_hf_config.c — libFuzzer target for a Hugging Face GPT-2 folder's config.json: the JSON parser
 * and the checks of hf_gpt2_parse_config (what hf_gpt2_read_config runs on DIR/config.json), from
 * memory. Beyond "no crash": a refusal is one line naming the file, with no control character from
 * the input in it, and a config that is accepted is one mingpt can build (gpt_config_error accepts
 * it, its sizes are within the limits config.json is held to). Run by `make fuzz`; tests/fuzz/mutate.c
 * (make mutate) damages whole folders and runs the binary on them.
 */
#include <stdlib.h>
#include <string.h>

#include "hf_gpt2.h"

static const char PATH[] = "fuzz/config.json";

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    char err[512];
    GPTConfig c;
    memset(&c, 0xA5, sizeof c); /* a field left unset would show as garbage below */
    if (hf_gpt2_parse_config(PATH, (const char *)data, size, &c, err, sizeof err) != 0) {
        if (strncmp(err, PATH, strlen(PATH)) != 0) abort();
        for (const unsigned char *p = (const unsigned char *)err; *p; p++)
            if (*p < 0x20 || *p == 0x7F) abort();
        return 0;
    }
    if (gpt_config_error(&c) != NULL) abort();
    if (c.n_layer < 1 || c.n_layer > 256 || c.n_head < 1 || c.n_head > 256 || c.n_embd < 1 || c.n_embd > 16384 ||
        c.block_size < 1 || c.block_size > 16384 || c.vocab_size < 1 || c.vocab_size > (1 << 22))
        abort();
    if (c.embd_pdrop != 0 || c.resid_pdrop != 0 || c.attn_pdrop != 0) abort(); /* inference only */
    return 0;
}
