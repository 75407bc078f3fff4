/* tok_bpe.c — GPT-2's byte-level BPE (minGPT's mingpt/bpe.py, OpenAI's gpt-2 src/encoder.py).
 *
 * Text is cut into pre-tokens by GPT-2's pattern (written out by hand below, with the Unicode
 * classes of unicode.h), each pre-token's UTF-8 bytes start as one symbol per byte, and merges are
 * applied by rank exactly as bpe.py applies them: the lowest-rank adjacent pair first, all of its
 * non-overlapping occurrences left to right, then the next. A heap over adjacent pairs and a linked
 * list of symbols make that O(n log n) in the pre-token's length, where bpe.py is quadratic.
 * Tokens are kept as raw bytes: the byte <-> unicode table only matters when reading the files.
 * Not here: special tokens (bpe.py treats "<|endoftext|>" in a text as ordinary characters, and so
 * does this). A tokenizer is read from the two files, or from their text kept in a checkpoint.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "files.h"
#include "json.h"
#include "tokenizer.h"
#include "unicode.h"
#include "utf8.h"

void token_ids_push(TokenIds *t, int32_t id) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? xmul_size(t->cap, 2) : 256;
        int32_t *grown = realloc(t->ids, xmul_size(cap, sizeof *grown));
        if (!grown) die(1, "out of memory growing a list of %zu token ids", cap);
        t->ids = grown;
        t->cap = cap;
    }
    t->ids[t->n++] = id;
}

/* ---------------------------------------------------------------- the byte <-> unicode table */

/* OpenAI's bytes_to_unicode: the 188 printable bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for
 * themselves, and the other 68, in byte order, for U+0100, U+0101, ... so that every byte has a
 * visible character (space, 0x20, is U+0120 'Ġ'). The files spell tokens in these characters. */
static void bytes_to_unicode(uint32_t cp_of_byte[256]) {
    uint32_t next = 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        cp_of_byte[b] = printable ? (uint32_t)b : next++;
    }
    CHECK(next == 256 + 68);
}

/* ---------------------------------------------------------------- the pre-tokeniser */

enum { CLASS_LETTER, CLASS_NUMBER, CLASS_SPACE, CLASS_OTHER };

/* The class of the code point at text[i] (valid UTF-8), and its length in bytes. */
static int class_at(const unsigned char *s, size_t n, size_t i, size_t *len) {
    uint32_t cp = s[i];
    int k = 1;
    if (cp >= 0x80) {
        k = utf8_decode(s + i, n - i, &cp);
        CHECK(k > 0); /* the caller validated the text */
    }
    *len = (size_t)k;
    return unicode_is_letter(cp) ? CLASS_LETTER
           : unicode_is_number(cp) ? CLASS_NUMBER
           : unicode_is_space(cp)  ? CLASS_SPACE
                                   : CLASS_OTHER;
}

/* The end of the run of code points of class cls that starts at i. */
static size_t run_end(const unsigned char *s, size_t n, size_t i, int cls) {
    size_t len;
    while (i < n && class_at(s, n, i, &len) == cls) i += len;
    return i;
}

size_t bpe_pretoken_end(const unsigned char *s, size_t n, size_t i) {
    CHECK(i < n);
    /* 's|'t|'re|'ve|'m|'ll|'d — tried first, so "'sand" gives "'s" + "and" (case-sensitive, as in
     * GPT-2: "'S" is not a contraction) */
    if (s[i] == '\'' && i + 1 < n) {
        unsigned char a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
    }
    size_t len;
    int cls = class_at(s, n, i, &len);
    /* ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': one plain space (only U+0020) may lead a run of one
     * class; "[^\s\p{L}\p{N}]" is exactly CLASS_OTHER, apostrophes included */
    if (s[i] == ' ' && i + 1 < n) {
        int next = class_at(s, n, i + 1, &len);
        if (next != CLASS_SPACE) return run_end(s, n, i + 1, next);
    }
    if (cls != CLASS_SPACE) return run_end(s, n, i, cls);
    /* '\s+(?!\S)': the longest run of white space not followed by a non-space. At the end of the
     * text that is the whole run; before a non-space, the regex backtracks one code point, leaving
     * the run's last white space to start the next pre-token (" word" when it is a space). A
     * single white space before a non-space fails that and is '\s+' alone. */
    size_t last = i, k = i;
    while (k < n && class_at(s, n, k, &len) == CLASS_SPACE) {
        last = k;
        k += len;
    }
    if (k == n) return n;
    return last > i ? last : k;
}

/* ---------------------------------------------------------------- hash maps */

static uint64_t hash_bytes(const unsigned char *p, size_t n) { /* FNV-1a */
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t hash_u64(uint64_t x) { /* a 64-bit finaliser (splitmix64's) */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static size_t table_size_for(size_t n) { /* a power of two at least twice n: probes stay short */
    size_t size = 16;
    while (size < 2 * n) size *= 2;
    return size;
}

typedef struct {
    uint64_t pair;   /* (left id << 32) | right id */
    uint32_t rank;   /* the merge's line in vocab.bpe / merges.txt, from 0 */
    int32_t merged;  /* the id of left+right; -1: empty slot */
} MergeSlot;

typedef struct {
    Tokenizer base;
    char *bytes;          /* every token's bytes, back to back */
    size_t *offset;       /* (vocab_size + 1): token id's bytes are bytes[offset[id] .. offset[id+1]) */
    int32_t *by_bytes;    /* (by_bytes_size) ids hashed by their bytes, -1 = empty */
    size_t by_bytes_size;
    MergeSlot *merges;    /* (merges_size) merges hashed by pair */
    size_t merges_size, n_merges;
    int32_t byte_id[256]; /* the token of each single byte */
    /* scratch for one pre-token, grown as needed */
    int32_t *sym_id, *sym_next, *sym_prev; /* (scratch_cap) the symbol list, -1 = none; a merged-away
                                              symbol has id -1 */
    struct HeapEntry *heap;                 /* (3 * scratch_cap) candidate merges */
    struct HeapEntry *deferred;             /* (2 * scratch_cap) see push_pair */
    size_t scratch_cap, n_deferred;
    uint64_t deferred_rank;                 /* the rank being merged when they were deferred */
    /* pre-tokens already merged and their ids, as encoder.py's cache: text repeats its words */
    struct CacheSlot *cache;                /* (CACHE_SLOTS) hashed by the pre-token's bytes */
    unsigned char *cache_bytes;             /* (CACHE_BYTES) the cached pre-tokens, back to back */
    int32_t *cache_ids;                     /* (CACHE_BYTES) their ids: never more ids than bytes */
    size_t cache_n, cache_used;             /* entries, and bytes (= room for ids) taken */
} Bpe;

/* The cache holds short pre-tokens only (words, not a megabyte without spaces), and is emptied
 * when full rather than evicting: a text's common words come back at once. */
#define CACHE_SLOTS ((size_t)1 << 16)
#define CACHE_MAX_ENTRIES (CACHE_SLOTS / 2)
#define CACHE_MAX_LEN 64
#define CACHE_BYTES (CACHE_MAX_ENTRIES * 16)

struct CacheSlot {
    uint64_t hash;      /* 0: empty */
    uint32_t at;        /* the pre-token is cache_bytes[at .. at+len), its ids cache_ids[at .. at+n_ids) */
    uint16_t len, n_ids;
};

static int32_t lookup_bytes(const Bpe *t, const unsigned char *p, size_t n) {
    size_t mask = t->by_bytes_size - 1;
    for (size_t h = hash_bytes(p, n) & mask;; h = (h + 1) & mask) {
        int32_t id = t->by_bytes[h];
        if (id < 0) return -1;
        size_t len = t->offset[id + 1] - t->offset[id];
        if (len == n && memcmp(t->bytes + t->offset[id], p, n) == 0) return id;
    }
}

static const MergeSlot *lookup_merge(const Bpe *t, int32_t left, int32_t right) {
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t mask = t->merges_size - 1;
    for (size_t h = hash_u64(key) & mask;; h = (h + 1) & mask) {
        const MergeSlot *m = &t->merges[h];
        if (m->merged < 0) return NULL;
        if (m->pair == key) return m;
    }
}

/* ---------------------------------------------------------------- merging one pre-token */

/* A candidate merge of the adjacent symbols left and sym_next[left], valid only while their ids are
 * still left_id and right_id. Ordered by (rank, left): symbols keep their first index when merged,
 * so index order is text order. */
struct HeapEntry {
    uint64_t key; /* (rank << 32) | left */
    int32_t left_id, right_id, merged;
};

static void heap_push(struct HeapEntry *h, size_t *n, struct HeapEntry e) {
    size_t i = (*n)++;
    while (i > 0 && h[(i - 1) / 2].key > e.key) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = e;
}

static struct HeapEntry heap_pop(struct HeapEntry *h, size_t *n) {
    struct HeapEntry top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && h[c + 1].key < h[c].key) c++;
        if (h[c].key >= last.key) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

/* Pushes the merge of symbol left with its right neighbour, if there is one and it is a merge.
 * bpe.py merges every occurrence of the lowest-rank pair before it looks at any pair those merges
 * create; a created pair that ranks before the pair being merged (not in GPT-2's list, where a pair
 * holding a merged token always ranks later, but possible in another) waits in t->deferred until
 * the current rank is done. A created pair never has the current rank: its ids differ. */
static void push_pair(Bpe *t, size_t *heap_n, int32_t left, uint64_t cur_rank) {
    if (left < 0) return;
    int32_t right = t->sym_next[left];
    if (right < 0) return;
    const MergeSlot *m = lookup_merge(t, t->sym_id[left], t->sym_id[right]);
    if (!m) return;
    struct HeapEntry e = {(uint64_t)m->rank << 32 | (uint32_t)left, t->sym_id[left], t->sym_id[right], m->merged};
    if (m->rank < cur_rank) t->deferred[t->n_deferred++] = e;
    else heap_push(t->heap, heap_n, e);
}

/* Appends the BPE ids of the pre-token p[0..n) (n >= 1) to out. */
static void bpe_word(Bpe *t, const unsigned char *p, size_t n, TokenIds *out) {
    if (n == 1) {
        token_ids_push(out, t->byte_id[p[0]]);
        return;
    }
    if (n > t->scratch_cap) {
        CHECK(n < INT32_MAX / 2); /* symbol indices are int32 */
        free(t->sym_id);
        free(t->sym_next);
        free(t->sym_prev);
        free(t->heap);
        free(t->deferred);
        t->scratch_cap = n;
        t->sym_id = xmalloc(xmul_size(n, sizeof *t->sym_id));
        t->sym_next = xmalloc(xmul_size(n, sizeof *t->sym_next));
        t->sym_prev = xmalloc(xmul_size(n, sizeof *t->sym_prev));
        /* at most n-1 pairs to start with, and each merge adds at most two */
        t->heap = xmalloc(xmul_size(3 * n, sizeof *t->heap));
        t->deferred = xmalloc(xmul_size(2 * n, sizeof *t->deferred));
    }
    int32_t len = (int32_t)n;
    for (int32_t i = 0; i < len; i++) {
        t->sym_id[i] = t->byte_id[p[i]];
        t->sym_prev[i] = i - 1;
        t->sym_next[i] = i + 1 < len ? i + 1 : -1;
    }
    size_t heap_n = 0;
    t->n_deferred = 0;
    for (int32_t i = 0; i + 1 < len; i++) push_pair(t, &heap_n, i, 0);
    while (heap_n > 0 || t->n_deferred > 0) {
        uint64_t rank = heap_n > 0 ? t->heap[0].key >> 32 : UINT64_MAX;
        if (t->n_deferred > 0 && (heap_n == 0 || t->heap[0].key >> 32 != t->deferred_rank)) {
            /* the rank that deferred them is done */
            for (size_t i = 0; i < t->n_deferred; i++) heap_push(t->heap, &heap_n, t->deferred[i]);
            t->n_deferred = 0;
            continue;
        }
        struct HeapEntry e = heap_pop(t->heap, &heap_n);
        int32_t left = (int32_t)(uint32_t)e.key, right = t->sym_next[left];
        /* stale: one of the two symbols was merged into something else since this was pushed */
        if (t->sym_id[left] != e.left_id || right < 0 || t->sym_id[right] != e.right_id) continue;
        /* every occurrence of a pair has the same key above 32 bits, and (rank, position) order
         * merges them left to right, so overlapping ones ("aaa") go as bpe.py's scan takes them */
        t->deferred_rank = rank;
        t->sym_id[left] = e.merged;
        t->sym_id[right] = -1;
        t->sym_next[left] = t->sym_next[right];
        if (t->sym_next[right] >= 0) t->sym_prev[t->sym_next[right]] = left;
        push_pair(t, &heap_n, t->sym_prev[left], rank);
        push_pair(t, &heap_n, left, rank);
    }
    for (int32_t i = 0; i >= 0; i = t->sym_next[i]) token_ids_push(out, t->sym_id[i]);
}

/* The cached ids of pre-token p[0..n) with hash h, or NULL (*n_ids set on a hit). */
static const int32_t *cache_find(const Bpe *t, const unsigned char *p, size_t n, uint64_t h, size_t *n_ids) {
    if (!t->cache) return NULL;
    for (size_t i = h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        const struct CacheSlot *c = &t->cache[i];
        if (!c->hash) return NULL;
        if (c->hash == h && c->len == n && memcmp(t->cache_bytes + c->at, p, n) == 0) {
            *n_ids = c->n_ids;
            return t->cache_ids + c->at;
        }
    }
}

static void cache_add(Bpe *t, const unsigned char *p, size_t n, uint64_t h, const int32_t *ids, size_t n_ids) {
    if (!t->cache) {
        t->cache = xcalloc(CACHE_SLOTS, sizeof *t->cache);
        t->cache_bytes = xmalloc(CACHE_BYTES);
        t->cache_ids = xmalloc(CACHE_BYTES * sizeof *t->cache_ids);
    }
    if (t->cache_n == CACHE_MAX_ENTRIES || t->cache_used + n > CACHE_BYTES) {
        memset(t->cache, 0, CACHE_SLOTS * sizeof *t->cache);
        t->cache_n = t->cache_used = 0;
    }
    size_t i = h & (CACHE_SLOTS - 1);
    while (t->cache[i].hash) i = (i + 1) & (CACHE_SLOTS - 1);
    t->cache[i] = (struct CacheSlot){h, (uint32_t)t->cache_used, (uint16_t)n, (uint16_t)n_ids};
    memcpy(t->cache_bytes + t->cache_used, p, n);
    memcpy(t->cache_ids + t->cache_used, ids, n_ids * sizeof *ids);
    t->cache_used += n;
    t->cache_n++;
}

static int bpe_encode(Tokenizer *tok, const char *text, size_t n, TokenIds *out, char *err, size_t err_size) {
    Bpe *t = (Bpe *)tok;
    const unsigned char *s = (const unsigned char *)text;
    /* bpe.py encodes a Python str: bytes that are not UTF-8 never reach it */
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = s[i] < 0x80 ? 1 : utf8_decode(s + i, n - i, &cp);
        if (k == 0) {
            tok->failed_at = i;
            return error_text(err, err_size, "invalid UTF-8 at byte offset %zu", i);
        }
        i += (size_t)k;
    }
    for (size_t i = 0; i < n;) {
        size_t end = bpe_pretoken_end(s, n, i), len = end - i, n_ids;
        if (len > 1 && len <= CACHE_MAX_LEN) {
            uint64_t h = hash_bytes(s + i, len) | 1; /* never 0, the empty slot's mark */
            const int32_t *hit = cache_find(t, s + i, len, h, &n_ids);
            if (hit) {
                for (size_t k = 0; k < n_ids; k++) token_ids_push(out, hit[k]);
            } else {
                size_t before = out->n;
                bpe_word(t, s + i, len, out);
                cache_add(t, s + i, len, h, out->ids + before, out->n - before);
            }
        } else {
            bpe_word(t, s + i, len, out);
        }
        i = end;
    }
    return 0;
}

static const char *bpe_token(const Tokenizer *tok, int32_t id, size_t *len) {
    const Bpe *t = (const Bpe *)tok;
    CHECK(id >= 0 && id < tok->vocab_size);
    *len = t->offset[id + 1] - t->offset[id];
    return t->bytes + t->offset[id];
}

static void bpe_free(Tokenizer *tok) {
    Bpe *t = (Bpe *)tok;
    free(t->bytes);
    free(t->offset);
    free(t->by_bytes);
    free(t->merges);
    free(t->sym_id);
    free(t->sym_next);
    free(t->sym_prev);
    free(t->heap);
    free(t->deferred);
    free(t->cache);
    free(t->cache_bytes);
    free(t->cache_ids);
    free(t);
}

static const TokenizerOps BPE_OPS = {bpe_encode, bpe_token, bpe_free};

/* ---------------------------------------------------------------- loading */

/* Reads a whole regular file into a NUL-terminated buffer. Returns it, or NULL with "PATH: ..." in
 * err. */
/* GPT-2's encoder.json is 1.0 MB and vocab.bpe 0.5 MB; a vocabulary of a million tokens would be
 * under 64 MiB. A larger file is not a tokenizer, and reading it whole could take all memory. */
#define TOKENIZER_FILE_MAX ((size_t)256 << 20)

static char *read_text_file(const char *path, size_t *size, char *err, size_t err_size) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size > TOKENIZER_FILE_MAX) {
        error_text(err, err_size, "%s: %.1f GiB; a tokenizer file is at most 256 MiB (GPT-2's are about 1 MB)",
                   path, (double)st.st_size / (1 << 30));
        return NULL;
    }
    char *buf;
    if (read_all(path, 0, &buf, size, err, err_size) != 0) return NULL;
    if (*size > TOKENIZER_FILE_MAX) { /* (it grew while being read) */
        free(buf);
        error_text(err, err_size, "%s: larger than 256 MiB; not a tokenizer file", path);
        return NULL;
    }
    return buf;
}

/* The bytes a token spelled in bytes_to_unicode characters stands for, written to out (room for
 * len bytes: never more bytes than UTF-8). Returns their count, or -1 if a character is outside
 * that alphabet. */
static long unicode_to_bytes(const int16_t byte_of_cp[324], const char *s, size_t len, unsigned char *out) {
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int k = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (k == 0 || cp >= 324 || byte_of_cp[cp] < 0) return -1;
        out[n++] = (unsigned char)byte_of_cp[cp];
        i += (size_t)k;
    }
    return (long)n;
}

/* Fills t's tokens from the token -> id object text[0..size); path names it in messages. */
static int load_vocab(Bpe *t, const char *path, const char *text, size_t size, const int16_t byte_of_cp[324],
                      char *err, size_t err_size) {
    char jerr[256], shown[96];
    JsonValue *root = json_parse(text, size, jerr, sizeof jerr);
    if (!root) return error_text(err, err_size, "%s: not valid JSON: %s", path, jerr);
    int rc = -1;
    if (root->type != JSON_OBJECT || root->n == 0) {
        error_text(err, err_size, "%s: expected a JSON object mapping each token to its id", path);
        goto done;
    }
    size_t n = root->n, total = 0;
    t->base.vocab_size = (int32_t)n;
    if (n > INT32_MAX / 2) {
        error_text(err, err_size, "%s: %zu tokens are too many", path, n);
        goto done;
    }
    for (size_t i = 0; i < n; i++) total += strlen(root->items[i].key);
    size_t *len_of = xcalloc(n, sizeof *len_of);
    unsigned char **src = xcalloc(n, sizeof *src);
    unsigned char *raw = xmalloc(total + 1);
    unsigned char *at = raw;
    for (size_t i = 0; i < n; i++) {
        const JsonValue *v = &root->items[i];
        uint64_t id;
        size_t klen = strlen(v->key);
        json_printable(v->key, klen, shown, sizeof shown);
        if (v->type != JSON_NUMBER || !json_uint(v, &id)) {
            error_text(err, err_size, "%s: token \"%s\": its id is not a non-negative integer", path, shown);
            goto fail;
        }
        if (id >= n) {
            error_text(err, err_size, "%s: token \"%s\": id %llu is not below the number of tokens, %zu", path,
                       shown, (unsigned long long)id, n);
            goto fail;
        }
        if (src[id]) {
            error_text(err, err_size, "%s: id %llu is given to two tokens", path, (unsigned long long)id);
            goto fail;
        }
        long got = unicode_to_bytes(byte_of_cp, v->key, klen, at);
        if (got <= 0) {
            error_text(err, err_size, "%s: token \"%s\" is %s", path, shown,
                       got == 0 ? "empty" : "not spelled in GPT-2's byte alphabet (bytes_to_unicode)");
            goto fail;
        }
        src[id] = at;
        len_of[id] = (size_t)got;
        at += got;
    }
    /* ids are below n and none repeats, so every id 0..n-1 has its token: lay them out in id order */
    t->offset = xmalloc((n + 1) * sizeof *t->offset);
    t->bytes = xmalloc((size_t)(at - raw) + 1);
    t->offset[0] = 0;
    for (size_t id = 0; id < n; id++) {
        memcpy(t->bytes + t->offset[id], src[id], len_of[id]);
        t->offset[id + 1] = t->offset[id] + len_of[id];
    }
    t->by_bytes_size = table_size_for(n);
    t->by_bytes = xmalloc(t->by_bytes_size * sizeof *t->by_bytes);
    memset(t->by_bytes, 0xff, t->by_bytes_size * sizeof *t->by_bytes);
    size_t mask = t->by_bytes_size - 1;
    for (int32_t id = 0; id < (int32_t)n; id++) {
        const unsigned char *p = (const unsigned char *)t->bytes + t->offset[id];
        size_t h = hash_bytes(p, len_of[id]) & mask;
        while (t->by_bytes[h] >= 0) h = (h + 1) & mask; /* keys are distinct: they are distinct JSON keys */
        t->by_bytes[h] = id;
    }
    for (int b = 0; b < 256; b++) {
        unsigned char byte = (unsigned char)b;
        t->byte_id[b] = lookup_bytes(t, &byte, 1);
        if (t->byte_id[b] < 0) {
            error_text(err, err_size, "%s: has no token for the byte 0x%02X (GPT-2's has all 256)", path, b);
            goto fail;
        }
    }
    rc = 0;
fail:
    free(len_of);
    free(src);
    free(raw);
done:
    json_free(root);
    return rc;
}

/* Fills t's merges from text[0..size): an optional "#version" first line, then one "left right"
 * merge per line, rank 0 first (as bpe.py reads vocab.bpe; Hugging Face's merges.txt has the same
 * form); path names it in messages. */
static int load_merges(Bpe *t, const char *path, const char *text, size_t size, const int16_t byte_of_cp[324],
                       char *err, size_t err_size) {
    /* a BOM would otherwise be read as part of "#version" and named as a character of no token */
    if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        return error_text(err, err_size, "%s: starts with a UTF-8 byte-order mark (BOM); save it without one", path);
    size_t lines = 1;
    for (size_t i = 0; i < size; i++) {
        /* a file of CR-only line ends would read as one line: no merge at all, and no error */
        if (text[i] == '\r' && (i + 1 == size || text[i + 1] != '\n'))
            return error_text(err, err_size, "%s: line %zu ends in a carriage return alone (old Mac line ends); "
                              "save it with LF or CRLF line ends", path, lines);
        lines += text[i] == '\n';
    }
    t->merges_size = table_size_for(lines);
    t->merges = xmalloc(t->merges_size * sizeof *t->merges);
    for (size_t i = 0; i < t->merges_size; i++) t->merges[i].merged = -1;
    unsigned char *buf = xmalloc(size + 1);
    int rc = -1;
    size_t line_no = 0;
    char shown[96];
    for (const char *line = text; line < text + size;) {
        const char *nl = memchr(line, '\n', (size_t)(text + size - line));
        const char *end = nl ? nl : text + size;
        line_no++;
        size_t n = (size_t)(end - line);
        if (n > 0 && line[n - 1] == '\r') n--; /* a file saved with CRLF line ends */
        if (line_no == 1 && n >= 8 && memcmp(line, "#version", 8) == 0) goto next;
        if (n == 0 && !nl) break; /* the last line ends in a newline */
        const char *space = memchr(line, ' ', n);
        if (!space || space == line || space == line + n - 1 || memchr(space + 1, ' ', (size_t)(line + n - space - 1))) {
            error_text(err, err_size, "%s: line %zu: expected two tokens separated by one space, got \"%s\"", path,
                       line_no, json_printable(line, n, shown, sizeof shown));
            goto done;
        }
        int32_t ids[3];
        const char *part[2] = {line, space + 1};
        size_t part_len[2] = {(size_t)(space - line), (size_t)(line + n - space - 1)};
        long blen[2];
        for (int k = 0; k < 2; k++) {
            blen[k] = unicode_to_bytes(byte_of_cp, part[k], part_len[k], buf + (k ? blen[0] : 0));
            if (blen[k] < 0) {
                error_text(err, err_size, "%s: line %zu: \"%s\" is not spelled in GPT-2's byte alphabet", path,
                           line_no, json_printable(part[k], part_len[k], shown, sizeof shown));
                goto done;
            }
            ids[k] = lookup_bytes(t, buf + (k ? blen[0] : 0), (size_t)blen[k]);
        }
        ids[2] = lookup_bytes(t, buf, (size_t)(blen[0] + blen[1]));
        for (int k = 0; k < 3; k++)
            if (ids[k] < 0) {
                const char *p = k == 2 ? line : part[k];
                size_t plen = k == 2 ? n : part_len[k];
                error_text(err, err_size, "%s: line %zu: %s\"%s\" is not in the vocabulary", path, line_no,
                           k == 2 ? "the merged token of " : "", json_printable(p, plen, shown, sizeof shown));
                goto done;
            }
        uint64_t key = (uint64_t)(uint32_t)ids[0] << 32 | (uint32_t)ids[1];
        size_t mask = t->merges_size - 1, h = hash_u64(key) & mask;
        for (; t->merges[h].merged >= 0; h = (h + 1) & mask)
            if (t->merges[h].pair == key) {
                error_text(err, err_size, "%s: line %zu: the merge \"%s\" is listed twice", path, line_no,
                           json_printable(line, n, shown, sizeof shown));
                goto done;
            }
        t->merges[h] = (MergeSlot){key, (uint32_t)t->n_merges, ids[2]};
        t->n_merges++;
    next:
        line = nl ? nl + 1 : text + size;
    }
    rc = 0;
done:
    free(buf);
    return rc;
}

/* lstat: a link that leads nowhere (or in a loop) is there, and reading it says what is wrong */
static int file_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

/* 1 if the files at a and b hold the same bytes; -1 with err set if one cannot be read. */
static int same_contents(const char *a, const char *b, char *err, size_t err_size) {
    size_t na, nb;
    char *ta = read_text_file(a, &na, err, err_size), *tb = ta ? read_text_file(b, &nb, err, err_size) : NULL;
    int same = !ta || !tb ? -1 : na == nb && memcmp(ta, tb, na) == 0;
    free(ta);
    free(tb);
    return same;
}

/* A tokenizer from the vocabulary's and the merges' text, each named in messages by its own name. */
static Tokenizer *from_text(const char *vocab_name, const char *vocab, size_t vocab_len, const char *merges_name,
                            const char *merges, size_t merges_len, char *err, size_t err_size) {
    uint32_t cp_of_byte[256];
    int16_t byte_of_cp[324];
    bytes_to_unicode(cp_of_byte);
    for (int c = 0; c < 324; c++) byte_of_cp[c] = -1;
    for (int b = 0; b < 256; b++) byte_of_cp[cp_of_byte[b]] = (int16_t)b;
    Bpe *t = xcalloc(1, sizeof *t);
    t->base.ops = &BPE_OPS;
    t->base.kind = TOKENIZER_BPE;
    if (load_vocab(t, vocab_name, vocab, vocab_len, byte_of_cp, err, err_size) != 0 ||
        load_merges(t, merges_name, merges, merges_len, byte_of_cp, err, err_size) != 0) {
        bpe_free(&t->base);
        return NULL;
    }
    return &t->base;
}

Tokenizer *tok_bpe_load(const char *dir, char *err, size_t err_size) {
    /* the two layouts: OpenAI's (minGPT downloads these) and Hugging Face's */
    static const char *const LAYOUTS[2][2] = {{"encoder.json", "vocab.bpe"}, {"vocab.json", "merges.txt"}};
    char vocab_path[4096], merges_path[4096];
    int found = -1, both = 0;
    if (!dir[0]) {
        error_text(err, err_size, "the tokenizer's folder name is empty");
        return NULL;
    }
    for (int l = 0; l < 2; l++) {
        char v[4096], m[4096];
        snprintf(v, sizeof v, "%s/%s", dir, LAYOUTS[l][0]);
        snprintf(m, sizeof m, "%s/%s", dir, LAYOUTS[l][1]);
        int has_vocab = file_exists(v), has_merges = file_exists(m);
        if (has_vocab != has_merges) {
            error_text(err, err_size, "%s: has %s but not %s, which goes with it", dir,
                       LAYOUTS[l][has_vocab ? 0 : 1], LAYOUTS[l][has_vocab ? 1 : 0]);
            return NULL;
        }
        if (!has_vocab) continue;
        if (found < 0) {
            found = l;
            memcpy(vocab_path, v, sizeof v);
            memcpy(merges_path, m, sizeof m);
        } else {
            both = 1;
        }
    }
    if (both) { /* Hugging Face's files are OpenAI's renamed: the same pair twice is one vocabulary */
        char v[4096], m[4096];
        snprintf(v, sizeof v, "%s/%s", dir, LAYOUTS[1][0]);
        snprintf(m, sizeof m, "%s/%s", dir, LAYOUTS[1][1]);
        int same_vocab = same_contents(vocab_path, v, err, err_size);
        int same_merges = same_vocab < 0 ? -1 : same_contents(merges_path, m, err, err_size);
        if (same_vocab < 0 || same_merges < 0) return NULL;
        if (!same_vocab || !same_merges) {
            error_text(err, err_size, "%s: holds two different vocabularies, encoder.json + vocab.bpe and vocab.json + "
                       "merges.txt; which one is meant? (keep one pair in the folder)", dir);
            return NULL;
        }
    }
    if (found < 0) {
        if (!file_exists(dir)) error_text(err, err_size, "%s: no such folder", dir);
        else
            error_text(err, err_size,
                       "%s: holds neither encoder.json + vocab.bpe (OpenAI's GPT-2 files) nor vocab.json + "
                       "merges.txt (Hugging Face's)", dir);
        return NULL;
    }
    size_t vocab_len, merges_len;
    char *vocab = read_text_file(vocab_path, &vocab_len, err, err_size), *merges = NULL;
    if (vocab) merges = read_text_file(merges_path, &merges_len, err, err_size);
    Tokenizer *tok = NULL;
    if (vocab && merges) {
        /* messages name the file the text was read from: that is the place to look */
        tok = from_text(vocab_path, vocab, vocab_len, merges_path, merges, merges_len, err, err_size);
    }
    free(vocab);
    free(merges);
    return tok;
}

Tokenizer *tok_bpe_from_text(const char *name, const char *vocab, size_t vocab_len, const char *merges,
                             size_t merges_len, char *err, size_t err_size) {
    char vocab_name[4200], merges_name[4200];
    snprintf(vocab_name, sizeof vocab_name, "%s: the BPE vocabulary", name);
    snprintf(merges_name, sizeof merges_name, "%s: the BPE merges", name);
    return from_text(vocab_name, vocab, vocab_len, merges_name, merges, merges_len, err, err_size);
}

/* ---------------------------------------------------------------- writing back */

/* Appends a token's bytes spelled in bytes_to_unicode characters; if json, as a JSON string's
 * contents the way Python's json.dump writes them (ensure_ascii: \u00a1), so that GPT-2's own
 * encoder.json comes back byte for byte. The alphabet has no control characters, and every code
 * point is below U+0144. */
static void spell(StrBuf *o, const Bpe *t, int32_t id, const uint32_t cp_of_byte[256], int json) {
    for (size_t i = t->offset[id]; i < t->offset[id + 1]; i++) {
        uint32_t cp = cp_of_byte[(unsigned char)t->bytes[i]];
        char buf[8];
        if (json && cp >= 0x80) {
            strbuf_put(o, buf, (size_t)snprintf(buf, sizeof buf, "\\u%04x", (unsigned)cp));
            continue;
        }
        if (json && (cp == '"' || cp == '\\')) strbuf_put(o, "\\", 1);
        strbuf_put(o, buf, (size_t)utf8_encode(cp, buf));
    }
}

void tok_bpe_to_text(const Tokenizer *tok, char **vocab, size_t *vocab_len, char **merges, size_t *merges_len) {
    CHECK(tok->kind == TOKENIZER_BPE);
    const Bpe *t = (const Bpe *)tok;
    uint32_t cp_of_byte[256];
    bytes_to_unicode(cp_of_byte);
    StrBuf o = {.what = "a BPE vocabulary"};
    strbuf_put(&o, "{", 1);
    for (int32_t id = 0; id < tok->vocab_size; id++) {
        strbuf_put(&o, id ? ", \"" : "\"", id ? 3 : 1);
        spell(&o, t, id, cp_of_byte, 1);
        char num[24];
        strbuf_put(&o, num, (size_t)snprintf(num, sizeof num, "\": %d", (int)id));
    }
    strbuf_put(&o, "}", 1);
    *vocab = strbuf_take(&o, vocab_len);

    const MergeSlot **by_rank = xcalloc(t->n_merges ? t->n_merges : 1, sizeof *by_rank);
    for (size_t h = 0; h < t->merges_size; h++)
        if (t->merges[h].merged >= 0) by_rank[t->merges[h].rank] = &t->merges[h];
    strbuf_put(&o, "#version: 0.2\n", 14);
    for (size_t r = 0; r < t->n_merges; r++) {
        spell(&o, t, (int32_t)(by_rank[r]->pair >> 32), cp_of_byte, 0);
        strbuf_put(&o, " ", 1);
        spell(&o, t, (int32_t)(uint32_t)by_rank[r]->pair, cp_of_byte, 0);
        strbuf_put(&o, "\n", 1);
    }
    free(by_rank);
    *merges = strbuf_take(&o, merges_len);
}
