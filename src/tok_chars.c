/* tok_chars.c — chargpt's tokenizer behind the Tokenizer interface: one token per character.
 *
 * Characters are Unicode code points decoded from UTF-8, as Python strings are, or raw bytes
 * (--bytes). The vocabulary is a sorted set of characters; token i is the i-th. It is built from a
 * training text and saved in a checkpoint as its characters in order (vocab_to_string), which is
 * also what a PyTorch user reads back as minGPT's CharDataset `stoi`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "tokenizer.h"
#include "unicode.h"
#include "utf8.h"

/* ---------------------------------------------------------------- text and vocabulary */

int text_decode(const unsigned char *bytes, size_t n, int as_bytes, uint32_t **out, size_t *n_out,
                size_t *bad_offset) {
    uint32_t *cps = xmalloc(xmul_size(n ? n : 1, sizeof(uint32_t)));
    size_t count = 0;
    for (size_t i = 0; i < n;) {
        if (as_bytes) {
            cps[count++] = bytes[i++];
            continue;
        }
        uint32_t cp;
        int used = utf8_decode(bytes + i, n - i, &cp);
        if (!used) {
            free(cps);
            *bad_offset = i;
            return -1;
        }
        cps[count++] = cp;
        i += (size_t)used;
    }
    *out = cps;
    *n_out = count;
    return 0;
}

/* The vocabulary of the characters marked in seen (one bit per code point), ascending. */
static void vocab_from_bits(Vocab *v, const uint64_t *seen, int unique) {
    v->chars = xmalloc((size_t)(unique ? unique : 1) * sizeof(uint32_t));
    v->size = 0;
    for (uint32_t w = 0; w < 0x110000 / 64; w++)
        for (uint64_t bits = seen[w]; bits; bits &= bits - 1) v->chars[v->size++] = w * 64 + (uint32_t)__builtin_ctzll(bits);
}

static int mark(uint64_t *seen, uint32_t c) {
    uint64_t bit = 1ull << (c % 64);
    if (seen[c / 64] & bit) return 0;
    seen[c / 64] |= bit;
    return 1;
}

void vocab_build(Vocab *v, const uint32_t *text, size_t n) {
    /* one bit per code point (136 KiB) instead of a sorted copy of the text (4 bytes a character) */
    uint64_t *seen = xcalloc(0x110000 / 64, sizeof(uint64_t));
    int unique = 0;
    for (size_t i = 0; i < n; i++) {
        CHECK(text[i] < 0x110000); /* text_decode makes nothing larger */
        unique += mark(seen, text[i]);
    }
    vocab_from_bits(v, seen, unique);
    free(seen);
}

char *vocab_to_string(const Vocab *v, size_t *len) {
    char *s = xmalloc((size_t)v->size * 4 + 1), *p = s;
    for (int i = 0; i < v->size; i++) p += utf8_encode(v->chars[i], p);
    *p = '\0';
    *len = (size_t)(p - s);
    return s;
}

int vocab_from_string(Vocab *v, const char *s, size_t n, int as_bytes) {
    size_t bad;
    uint32_t *cps;
    size_t count;
    v->chars = NULL;
    v->size = 0;
    if (text_decode((const unsigned char *)s, n, 0, &cps, &count, &bad) != 0) return -1;
    for (size_t i = 0; i < count; i++)
        if ((i > 0 && cps[i] <= cps[i - 1]) || (as_bytes && cps[i] > 0xFF)) {
            free(cps);
            return -1;
        }
    v->chars = cps;
    v->size = (int)count;
    return 0;
}

int vocab_index(const Vocab *v, uint32_t c) {
    int lo = 0, hi = v->size - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (v->chars[mid] == c) return mid;
        if (v->chars[mid] < c) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

void vocab_free(Vocab *v) {
    free(v->chars);
    v->chars = NULL;
    v->size = 0;
}

/* 1 if c shows as itself in a message: not a control, a format or joining mark, a combining mark
 * or a space other than ' ' (printed raw, a byte-order mark or a zero-width space is invisible). */
static int visible(uint32_t c) {
    if (c < 0x80) return c >= 0x20 && c != 0x7F;
    if (c < 0xA1 || c == 0xAD || (c >= 0x300 && c <= 0x36F) || (c >= 0x2000 && c <= 0x200F) ||
        (c >= 0x2028 && c <= 0x202F) || (c >= 0x205F && c <= 0x206F) || (c >= 0xFE00 && c <= 0xFE0F) ||
        c == 0xFEFF || (c >= 0xFFF0 && c <= 0xFFFF) || (c >= 0xE0000 && c <= 0xE0FFF) || unicode_is_space(c))
        return 0;
    return 1;
}

void char_name(uint32_t c, int as_bytes, char *out, size_t size) {
    char utf8[5] = {0};
    if (as_bytes) snprintf(out, size, "byte 0x%02X", (unsigned)c);
    else if (c == 0xFEFF) snprintf(out, size, "U+FEFF (a byte-order mark)");
    else if (visible(c) && utf8_encode(c, utf8)) snprintf(out, size, "'%s' (U+%04X)", utf8, (unsigned)c);
    else snprintf(out, size, "U+%04X", (unsigned)c);
}

/* ---------------------------------------------------------------- the tokenizer */

typedef struct {
    Tokenizer base;
    Vocab vocab;
    int as_bytes;
    char *spelled;  /* every token's bytes back to back: UTF-8, or the one raw byte */
    size_t *offset; /* (vocab_size + 1) token id's bytes are spelled[offset[id] .. offset[id+1]) */
} CharTok;

/* One character of text[i..n): its code point (or byte) and the bytes it takes, 0 if invalid. */
static int next_char(const unsigned char *text, size_t n, size_t i, int as_bytes, uint32_t *c) {
    if (as_bytes || text[i] < 0x80) {
        *c = text[i];
        return 1;
    }
    return utf8_decode(text + i, n - i, c);
}

static int chars_encode(Tokenizer *tok, const char *text, size_t n, TokenIds *out, char *err, size_t err_size) {
    const CharTok *t = (const CharTok *)tok;
    const unsigned char *s = (const unsigned char *)text;
    size_t start = out->n, position = 0;
    for (size_t i = 0; i < n; position++) {
        uint32_t c;
        int used = next_char(s, n, i, t->as_bytes, &c);
        int id = used ? vocab_index(&t->vocab, c) : -1;
        if (id < 0) {
            out->n = start; /* nothing appended on failure */
            tok->failed_at = i;
            if (!used) return error_text(err, err_size, "invalid UTF-8 at byte offset %zu", i);
            char name[48];
            char_name(c, t->as_bytes, name, sizeof name);
            return error_text(err, err_size, "character %s at position %zu is not in the vocabulary", name, position);
        }
        token_ids_push(out, id);
        i += (size_t)used;
    }
    return 0;
}

static const char *chars_token(const Tokenizer *tok, int32_t id, size_t *len) {
    const CharTok *t = (const CharTok *)tok;
    CHECK(id >= 0 && id < tok->vocab_size);
    *len = t->offset[id + 1] - t->offset[id];
    return t->spelled + t->offset[id];
}

static void chars_free(Tokenizer *tok) {
    CharTok *t = (CharTok *)tok;
    vocab_free(&t->vocab);
    free(t->spelled);
    free(t->offset);
    free(t);
}

static const TokenizerOps CHARS_OPS = {chars_encode, chars_token, chars_free};

/* Takes ownership of vocab. */
static Tokenizer *from_vocab(Vocab vocab, int as_bytes) {
    CharTok *t = xcalloc(1, sizeof *t);
    t->base.ops = &CHARS_OPS;
    t->base.vocab_size = vocab.size;
    t->base.kind = as_bytes ? TOKENIZER_BYTES : TOKENIZER_CHARS;
    t->vocab = vocab;
    t->as_bytes = as_bytes;
    t->spelled = xmalloc((size_t)vocab.size * 4 + 1);
    t->offset = xmalloc(((size_t)vocab.size + 1) * sizeof *t->offset);
    t->offset[0] = 0;
    for (int i = 0; i < vocab.size; i++) {
        size_t at = t->offset[i];
        if (as_bytes) t->spelled[at++] = (char)vocab.chars[i];
        else at += (size_t)utf8_encode(vocab.chars[i], t->spelled + at);
        t->offset[i + 1] = at;
    }
    return &t->base;
}

Tokenizer *tok_chars_build(const char *text, size_t n, int as_bytes, size_t *bad_offset) {
    const unsigned char *s = (const unsigned char *)text;
    uint64_t *seen = xcalloc(0x110000 / 64, sizeof(uint64_t));
    int unique = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        int used = next_char(s, n, i, as_bytes, &c);
        if (!used) {
            free(seen);
            *bad_offset = i;
            return NULL;
        }
        unique += mark(seen, c);
        i += (size_t)used;
    }
    Vocab v;
    vocab_from_bits(&v, seen, unique);
    free(seen);
    return from_vocab(v, as_bytes);
}

Tokenizer *tok_chars_from_string(const char *vocab, size_t len, int as_bytes) {
    Vocab v;
    if (vocab_from_string(&v, vocab, len, as_bytes) != 0) return NULL;
    return from_vocab(v, as_bytes);
}

char *tok_chars_to_string(const Tokenizer *tok, size_t *len) {
    CHECK(tok->kind == TOKENIZER_CHARS || tok->kind == TOKENIZER_BYTES);
    return vocab_to_string(&((const CharTok *)tok)->vocab, len);
}

int tok_chars_id(const Tokenizer *tok, uint32_t c) {
    CHECK(tok->kind == TOKENIZER_CHARS || tok->kind == TOKENIZER_BYTES);
    return vocab_index(&((const CharTok *)tok)->vocab, c);
}
