/* tokenizer.h — text <-> token ids, the interface the rest of mingpt talks to.
 *
 * A Tokenizer is opaque behind a small table of operations, so that a task or a command never
 * knows which tokenizer it holds: chargpt's characters (tok_chars.c) or GPT-2's byte-level BPE
 * (tok_bpe.c, minGPT's mingpt/bpe.py). Each can be written out as text and rebuilt from it, which
 * is how a checkpoint carries its tokenizer (task_text.c puts that text in the metadata).
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

typedef enum {
    TOKENIZER_CHARS, /* Unicode code points of UTF-8 text */
    TOKENIZER_BYTES, /* raw bytes (--bytes) */
    TOKENIZER_BPE    /* GPT-2's byte-level BPE */
} TokenizerKind;

struct Tokenizer {
    const TokenizerOps *ops;
    int32_t vocab_size; /* ids are 0 .. vocab_size-1 */
    TokenizerKind kind;
    size_t failed_at;   /* after an encode that failed: the byte offset in its text of what failed, so
                           that a caller holding the whole file can say where it is in the file */
};

/* Appends the ids of text[0..n) to out (n may be 0). Returns 0, or -1 with a one-line reason in err
 * (for BPE: "invalid UTF-8 at byte offset N") and the byte offset of what failed in
 * tok->failed_at, having appended nothing. */
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

/* ---------------------------------------------------------------- characters (tok_chars.c) */

/* The sorted set of characters in text[0..n) (bytes if as_bytes) as a tokenizer; NULL with the
 * offset of the first invalid UTF-8 sequence in *bad_offset. Encoding a character outside the set
 * fails with "character 'z' (U+007A) at position N is not in the vocabulary" (N counts characters). */
Tokenizer *tok_chars_build(const char *text, size_t n, int as_bytes, size_t *bad_offset);
/* The vocabulary as saved (vocab_to_string), or NULL if it is not one (see vocab_from_string). */
Tokenizer *tok_chars_from_string(const char *vocab, size_t len, int as_bytes);
/* A character tokenizer's vocabulary string (malloc'd, *len bytes). */
char *tok_chars_to_string(const Tokenizer *tok, size_t *len);
/* The token of character c in a character tokenizer, or -1. */
int tok_chars_id(const Tokenizer *tok, uint32_t c);
/* How a character is named in messages: 'x' (U+0078), U+000A, or byte 0x41. */
void char_name(uint32_t c, int as_bytes, char *out, size_t size);

/* The pieces, also used by tests. */
typedef struct {
    uint32_t *chars; /* (size) code points (or byte values), ascending: token i is chars[i] */
    int size;
} Vocab;

/* Decodes a file's bytes into code points (or bytes, if as_bytes). Returns 0, or -1 with the byte
 * offset of the first invalid UTF-8 sequence in *bad_offset. *out is malloc'd. */
int text_decode(const unsigned char *bytes, size_t n, int as_bytes, uint32_t **out, size_t *n_out,
                size_t *bad_offset);
/* The sorted set of characters in text. */
void vocab_build(Vocab *vocab, const uint32_t *text, size_t n);
/* The vocabulary as a UTF-8 string of *len bytes (each byte as U+0000..U+00FF when as_bytes; a
 * U+0000 character is a 0 byte inside it); malloc'd and NUL-terminated. */
char *vocab_to_string(const Vocab *vocab, size_t *len);
/* Parses a vocabulary string s[0..len); returns -1 if it is not valid UTF-8, not strictly
 * ascending, or has a character above U+00FF when as_bytes. */
int vocab_from_string(Vocab *vocab, const char *s, size_t len, int as_bytes);
/* Token of a character, or -1. */
int vocab_index(const Vocab *vocab, uint32_t c);
void vocab_free(Vocab *vocab);

/* ---------------------------------------------------------------- GPT-2's BPE (tok_bpe.c) */

/* GPT-2's byte-level BPE from a folder holding encoder.json + vocab.bpe (OpenAI's layout, minGPT's)
 * or vocab.json + merges.txt (Hugging Face's: the same content). Returns the tokenizer, or NULL
 * with "PATH: what is wrong" in err. Encoding refuses text that is not valid UTF-8, as bpe.py works
 * on Python str. */
Tokenizer *tok_bpe_load(const char *dir, char *err, size_t err_size);
/* The same from the two files' contents (vocab: the JSON object token -> id; merges: the merges, one
 * per line), as tok_bpe_to_text writes them. name says where they came from in messages. */
Tokenizer *tok_bpe_from_text(const char *name, const char *vocab, size_t vocab_len, const char *merges,
                             size_t merges_len, char *err, size_t err_size);
/* A BPE tokenizer written back as encoder.json and vocab.bpe hold it (tokens in id order,
 * merges by rank, under a "#version: 0.2" line), whichever layout it was read from; both malloc'd and
 * NUL-terminated, valid UTF-8. */
void tok_bpe_to_text(const Tokenizer *tok, char **vocab, size_t *vocab_len, char **merges, size_t *merges_len);

/* The pre-tokeniser alone, for tests: the end (exclusive) of the pre-token that starts at byte i of
 * text[0..n), which must be valid UTF-8, with i < n at the start of a code point. Pre-tokens are
 * what GPT-2's pattern 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * finds, and they cover the text. */
size_t bpe_pretoken_end(const unsigned char *text, size_t n, size_t i);

#endif
