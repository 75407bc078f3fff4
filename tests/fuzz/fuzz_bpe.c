/* fuzz_bpe.c — libFuzzer target for GPT-2's BPE tokenizer files: the vocabulary (encoder.json /
 * vocab.json, a JSON object token -> id) and the merges (vocab.bpe / merges.txt), read from memory
 * by tok_bpe_from_text as tok_bpe_load reads them from a folder. The input is split at its first
 * 0 byte: the vocabulary before it, the merges after it (none without one).
 *
 * Properties: no crash; a refusal is one line naming the file, with no control character from the
 * input in it; a tokenizer that loads encodes a few texts (the input's own bytes among them) into
 * ids below its vocabulary size that decode to the same bytes, refuses a text only where it is not
 * UTF-8, and comes back the same from tok_bpe_to_text's files (same tokens, same ids for the texts).
 * Run by `make fuzz`; tests/fuzz/mutate.c (make mutate) damages whole folders.
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#include "utf8.h"

static const char NAME[] = "fuzz";

static void check_message(const char *err) {
    if (strncmp(err, "fuzz: the BPE vocabulary: ", 26) != 0 && strncmp(err, "fuzz: the BPE merges: ", 22) != 0)
        abort();
    for (const unsigned char *p = (const unsigned char *)err; *p; p++)
        if (*p < 0x20 || *p == 0x7F) abort();
}

static int is_utf8(const char *s, size_t n) {
    uint32_t cp;
    for (size_t i = 0; i < n;) {
        int k = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (k == 0) return 0;
        i += (size_t)k;
    }
    return 1;
}

/* Encodes text, checks the ids decode back to it; returns 0 (ids in *ids) or -1 if refused. */
static int round_trip(Tokenizer *tok, const char *text, size_t n, TokenIds *ids) {
    char err[512];
    ids->n = 0;
    if (tokenizer_encode(tok, text, n, ids, err, sizeof err) != 0) {
        if (is_utf8(text, n) || ids->n != 0 || tok->failed_at >= n) abort();
        return -1;
    }
    if (!is_utf8(text, n)) abort();
    size_t at = 0;
    for (size_t i = 0; i < ids->n; i++) {
        if (ids->ids[i] < 0 || ids->ids[i] >= tokenizer_vocab_size(tok)) abort();
        size_t len;
        const char *bytes = tokenizer_token(tok, ids->ids[i], &len);
        if (len == 0 || at + len > n || memcmp(bytes, text + at, len) != 0) abort();
        at += len;
    }
    if (at != n) abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    const char *text = (const char *)data;
    const char *sep = memchr(text, 0, size);
    size_t vocab_len = sep ? (size_t)(sep - text) : size;
    const char *merges = sep ? sep + 1 : "";
    size_t merges_len = sep ? size - vocab_len - 1 : 0;
    char err[512];
    Tokenizer *tok = tok_bpe_from_text(NAME, text, vocab_len, merges, merges_len, err, sizeof err);
    if (!tok) {
        check_message(err);
        return 0;
    }
    if (tok->kind != TOKENIZER_BPE || tokenizer_vocab_size(tok) < 256) abort();

    /* written back and read again: the same tokenizer */
    char *v2, *m2;
    size_t v2_len, m2_len;
    tok_bpe_to_text(tok, &v2, &v2_len, &m2, &m2_len);
    Tokenizer *back = tok_bpe_from_text(NAME, v2, v2_len, m2, m2_len, err, sizeof err);
    if (!back || tokenizer_vocab_size(back) != tokenizer_vocab_size(tok)) abort();
    for (int32_t id = 0; id < tokenizer_vocab_size(tok); id++) {
        size_t a, b;
        const char *ta = tokenizer_token(tok, id, &a), *tb = tokenizer_token(back, id, &b);
        if (a != b || memcmp(ta, tb, a) != 0) abort();
    }

    static const char *const TEXTS[] = {"hello world", "the then there thee", " \n\t  x\r\n",
                                        "caf\xc3\xa9 na\xc3\xafve \xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80",
                                        "it's 1984's 'quote'", "ok \xc0\xaf bad"};
    TokenIds ids = {0}, again = {0};
    for (size_t k = 0; k < sizeof TEXTS / sizeof *TEXTS + 2; k++) {
        /* the fixed texts, then the input's own vocabulary and merges text as a text to encode */
        const char *s = k < 6 ? TEXTS[k] : k == 6 ? text : merges;
        size_t n = k < 6 ? strlen(s) : k == 6 ? vocab_len : merges_len;
        int rc = round_trip(tok, s, n, &ids);
        if (round_trip(back, s, n, &again) != rc) abort();
        if (rc == 0 && (ids.n != again.n || memcmp(ids.ids, again.ids, ids.n * sizeof *ids.ids) != 0)) abort();
    }
    free(ids.ids);
    free(again.ids);
    free(v2);
    free(m2);
    tokenizer_free(back);
    tokenizer_free(tok);
    return 0;
}
