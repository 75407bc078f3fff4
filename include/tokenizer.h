/* tokenizer.h — text <-> token ids, the interface the rest of mingpt talks to.
 *
 * A Tokenizer is opaque behind a small table of operations, so that a task or a command never
 * knows which tokenizer it holds. The first implementation here is GPT-2's byte-level BPE
 * (tok_bpe.c, minGPT's mingpt/bpe.py); the character tokenizer of chargpt is still inside
 * task_chars.c and moves behind this interface later, as does saving a tokenizer into a checkpoint.
 *
 * A Tokenizer is not safe to use from two threads at once: encoding reuses its scratch memory.
 */
#ifndef MINGPT_TOKENIZER_H
#define MINGPT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

/* A growable array of token ids that the caller owns: start it as {0} (or with a buffer from
 * malloc), let encode append to it, reuse it across calls by setting n = 0, free(ids) at the end. */
typedef struct {
    int32_t *ids; /* (cap) ids, the first n of them in use */
    size_t n, cap;
} TokenIds;

/* Appends one id, growing the array (exits with a message if memory runs out). */
void token_ids_push(TokenIds *t, int32_t id);

typedef struct Tokenizer Tokenizer;

typedef struct {
    /* see tokenizer_encode / tokenizer_token / tokenizer_free below */
    int (*encode)(Tokenizer *tok, const char *text, size_t n, TokenIds *out, char *err, size_t err_size);
    const char *(*token)(const Tokenizer *tok, int32_t id, size_t *len);
    void (*free)(Tokenizer *tok);
} TokenizerOps;

struct Tokenizer {
    const TokenizerOps *ops;
    int32_t vocab_size; /* ids are 0 .. vocab_size-1 */
};

/* Appends the ids of text[0..n) to out (n may be 0). Returns 0, or -1 with a one-line reason in err
 * (for BPE: "invalid UTF-8 at byte offset N"), having appended nothing. */
static inline int tokenizer_encode(Tokenizer *tok, const char *text, size_t n, TokenIds *out, char *err,
                                   size_t err_size) {
    return tok->ops->encode(tok, text, n, out, err, err_size);
}
/* The bytes of one token (*len of them; not NUL-terminated, may hold any byte), owned by the
 * tokenizer; id must be in 0 .. vocab_size-1 (CHECKed). Decoding is these bytes concatenated. */
static inline const char *tokenizer_token(const Tokenizer *tok, int32_t id, size_t *len) {
    return tok->ops->token(tok, id, len);
}
static inline int32_t tokenizer_vocab_size(const Tokenizer *tok) { return tok->vocab_size; }
/* Releases a tokenizer (NULL is fine). */
static inline void tokenizer_free(Tokenizer *tok) {
    if (tok) tok->ops->free(tok);
}

/* GPT-2's byte-level BPE from a folder holding encoder.json + vocab.bpe (OpenAI's layout, minGPT's)
 * or vocab.json + merges.txt (Hugging Face's: the same content). Returns the tokenizer, or NULL
 * with "PATH: what is wrong" in err. Encoding refuses text that is not valid UTF-8, as bpe.py works
 * on Python str. */
Tokenizer *tok_bpe_load(const char *dir, char *err, size_t err_size);

/* The pre-tokeniser alone, for tests: the end (exclusive) of the pre-token that starts at byte i of
 * text[0..n), which must be valid UTF-8, with i < n at the start of a code point. Pre-tokens are
 * what GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * finds, and they cover the text. */
size_t bpe_pretoken_end(const unsigned char *text, size_t n, size_t i);

#endif
