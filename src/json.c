/* json.c — a recursive-descent JSON parser; see json.h for what "strict" means here.
 *
 * Memory, for headers of 100,000 tensors: the values of each open container are collected on one
 * shared stack and copied into an array of exactly their number when it closes, so nothing in the
 * tree is left half-empty by doubling. Those arrays are cut from big chunks (one malloc per chunk,
 * not per container), and decoded strings and number texts are packed into one block of len + 1
 * bytes, which always suffices: a decoded string and its NUL never outgrow the source between and
 * including its quotes, and a number is either the whole input or followed by a byte (',', ']',
 * '}' or white space) that no string or number uses. Duplicate keys are found with one hash table
 * per nesting depth, reused by every object at that depth.
 */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "utf8.h"

#define CHUNK_VALUES 4096 /* 128 KiB; an array of more than a quarter of this gets its own chunk */

typedef struct Chunk {
    struct Chunk *next;
    size_t cap, used;   /* values */
    JsonValue values[]; /* (cap) */
} Chunk;

typedef struct {
    JsonValue root;   /* first member: json_free gets back to the document from the root */
    char *text;       /* (text_cap) every decoded string and number text, each NUL-terminated */
    size_t text_used, text_cap;
    Chunk *chunks;    /* the containers' arrays, newest chunk first */
} JsonDoc;

/* An open-addressing set of the keys of the object open at one depth. A slot is in use when its
 * gen equals the set's: opening the next object bumps gen, which empties the set without touching
 * its slots. */
typedef struct {
    uint32_t gen;
    uint32_t index; /* the member's position in its object */
} KeySlot;

typedef struct {
    KeySlot *slots; /* (cap), cap a power of two, at most half full */
    size_t cap;
    uint32_t gen;
} KeySet;

typedef struct {
    const unsigned char *s;
    size_t len, pos;
    char *err;
    size_t err_size;
    int failed;
    JsonDoc *doc;
    JsonValue *stack;  /* (stack_cap) the values of every open container, innermost last */
    size_t top, stack_cap;
    KeySet keys[JSON_MAX_DEPTH]; /* [depth]: the keys of the object open at that depth */
} Parser;

static void fail(Parser *p, const char *fmt, ...) MG_PRINTF(2, 3);
static void fail(Parser *p, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = 1;
    int n = snprintf(p->err, p->err_size, "at byte %zu: ", p->pos);
    if (n < 0 || (size_t)n >= p->err_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_ws(Parser *p) {
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int expect_literal(Parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
        fail(p, "invalid literal");
        return 0;
    }
    p->pos += n;
    return 1;
}

static int hex4(Parser *p, uint32_t *out) {
    if (p->len - p->pos < 4) {
        fail(p, "truncated \\u escape");
        return 0;
    }
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned char c = p->s[p->pos++];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else {
            fail(p, "bad hex digit in \\u escape");
            return 0;
        }
    }
    *out = v;
    return 1;
}

/* Parses a string starting at '"' into the document's text block; returns it NUL-terminated, with
 * its length in *out_len, or NULL after fail(). */
static char *parse_string(Parser *p, size_t *out_len) {
    p->pos++; /* opening quote */
    JsonDoc *d = p->doc;
    char *out = d->text + d->text_used; /* room: see the bound at the top of this file */
    size_t n = 0;
    for (;;) {
        if (p->pos >= p->len) {
            fail(p, "unterminated string");
            return NULL;
        }
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            out[n] = '\0';
            d->text_used += n + 1;
            CHECK(d->text_used <= d->text_cap);
            *out_len = n;
            return out;
        }
        if (c < 0x20) {
            fail(p, "control character in string");
            return NULL;
        }
        if (c == '\\') {
            p->pos++;
            if (p->pos >= p->len) {
                fail(p, "unterminated escape");
                return NULL;
            }
            unsigned char e = p->s[p->pos++];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char map[] = "\"\\/\b\f\n\r\t";
                out[n++] = map[simple - "\"\\/bfnrt"];
                continue;
            }
            if (e != 'u') {
                char shown[8];
                fail(p, "invalid escape \\%s", json_printable((const char *)&e, 1, shown, sizeof shown));
                return NULL;
            }
            uint32_t cp;
            if (!hex4(p, &cp)) return NULL;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* high surrogate: a low one must follow */
                uint32_t lo;
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                    fail(p, "unpaired surrogate in \\u escape");
                    return NULL;
                }
                p->pos += 2;
                if (!hex4(p, &lo)) return NULL;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail(p, "unpaired surrogate in \\u escape");
                    return NULL;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail(p, "unpaired surrogate in \\u escape");
                return NULL;
            }
            n += (size_t)utf8_encode(cp, out + n);
            continue;
        }
        uint32_t cp;
        int used = utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
        if (!used) {
            fail(p, "invalid UTF-8 in string");
            return NULL;
        }
        memcpy(out + n, p->s + p->pos, (size_t)used);
        n += (size_t)used;
        p->pos += (size_t)used;
    }
}

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int parse_number(Parser *p, JsonValue *v) {
    size_t start = p->pos;
    if (p->pos < p->len && p->s[p->pos] == '-') p->pos++;
    if (p->pos >= p->len || !is_digit(p->s[p->pos])) {
        fail(p, "invalid number");
        return 0;
    }
    if (p->s[p->pos] == '0') p->pos++;
    else
        while (p->pos < p->len && is_digit(p->s[p->pos])) p->pos++;
    if (p->pos < p->len && p->s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos])) {
            fail(p, "invalid number");
            return 0;
        }
        while (p->pos < p->len && is_digit(p->s[p->pos])) p->pos++;
    }
    if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (p->s[p->pos] == '+' || p->s[p->pos] == '-')) p->pos++;
        if (p->pos >= p->len || !is_digit(p->s[p->pos])) {
            fail(p, "invalid number");
            return 0;
        }
        while (p->pos < p->len && is_digit(p->s[p->pos])) p->pos++;
    }
    JsonDoc *d = p->doc;
    v->type = JSON_NUMBER;
    v->len = (uint32_t)(p->pos - start);
    CHECK(d->text_used + v->len + 1 <= d->text_cap);
    v->str = d->text + d->text_used;
    memcpy(v->str, p->s + start, v->len);
    v->str[v->len] = '\0';
    d->text_used += v->len + 1;
    return 1;
}

/* n values in a row from the document's chunks. */
static JsonValue *alloc_values(JsonDoc *d, size_t n) {
    Chunk *head = d->chunks;
    if (head && head->cap - head->used >= n) {
        head->used += n;
        return head->values + head->used - n;
    }
    size_t cap = n > CHUNK_VALUES / 4 ? n : CHUNK_VALUES;
    Chunk *c = malloc(sizeof *c + cap * sizeof(JsonValue));
    if (!c) die(1, "out of memory parsing JSON (%zu values)", cap);
    c->cap = cap;
    c->used = n;
    if (cap == n && head) { /* a big array: its own chunk, after the head, which keeps its room */
        c->next = head->next;
        head->next = c;
    } else {
        c->next = head;
        d->chunks = c;
    }
    return c->values;
}

static void push(Parser *p, const JsonValue *v) {
    if (p->top == p->stack_cap) {
        size_t cap = 2 * p->stack_cap;
        JsonValue *grown = realloc(p->stack, cap * sizeof *grown);
        if (!grown) die(1, "out of memory parsing JSON (%zu open values)", cap);
        p->stack = grown;
        p->stack_cap = cap;
    }
    p->stack[p->top++] = *v;
}

static uint64_t hash_key(const char *s, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

/* The slot where key is, or the empty slot where it would go. */
static KeySlot *key_slot(const KeySet *set, const JsonValue *members, const char *key, size_t key_len) {
    size_t mask = set->cap - 1;
    for (size_t i = (size_t)hash_key(key, key_len) & mask;; i = (i + 1) & mask) {
        KeySlot *slot = &set->slots[i];
        if (slot->gen != set->gen || strcmp(members[slot->index].key, key) == 0) return slot;
    }
}

/* The open object's members[0..count) (keys all different) and a new key: returns the earlier
 * member with that key, or NULL after recording the key as member `count`. */
static const JsonValue *key_seen(KeySet *set, const JsonValue *members, size_t count, const char *key,
                                 size_t key_len) {
    if (2 * (count + 1) > set->cap) {
        size_t cap = set->cap ? set->cap : 8;
        while (2 * (count + 1) > cap) cap *= 2;
        free(set->slots);
        set->slots = xcalloc(cap, sizeof *set->slots);
        set->cap = cap;
        set->gen = 1;
        for (size_t i = 0; i < count; i++)
            *key_slot(set, members, members[i].key, strlen(members[i].key)) = (KeySlot){1, (uint32_t)i};
    }
    KeySlot *slot = key_slot(set, members, key, key_len);
    if (slot->gen == set->gen) return &members[slot->index];
    *slot = (KeySlot){set->gen, (uint32_t)count};
    return NULL;
}

static int parse_value(Parser *p, JsonValue *v, int depth);

static int parse_container(Parser *p, JsonValue *v, int depth, int is_object) {
    if (depth >= JSON_MAX_DEPTH) {
        fail(p, "nesting deeper than %d", JSON_MAX_DEPTH);
        return 0;
    }
    v->type = is_object ? JSON_OBJECT : JSON_ARRAY;
    v->items = NULL;
    v->n = 0;
    p->pos++; /* '{' or '[' */
    KeySet *keys = &p->keys[depth];
    if (is_object) keys->gen++; /* never wraps: an object takes 2 of the < 2^32 bytes */
    size_t base = p->top; /* this container's values are stack[base..top) */
    skip_ws(p);
    char close = is_object ? '}' : ']';
    if (p->pos < p->len && p->s[p->pos] == (unsigned char)close) {
        p->pos++;
        return 1;
    }
    for (;;) {
        JsonValue item = {0};
        skip_ws(p);
        if (is_object) {
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                fail(p, "expected a string key");
                return 0;
            }
            size_t key_len;
            char *key = parse_string(p, &key_len);
            if (!key) return 0;
            if (memchr(key, '\0', key_len)) {
                fail(p, "NUL character in key");
                return 0;
            }
            if (key_seen(keys, p->stack + base, p->top - base, key, key_len)) {
                char shown[96];
                fail(p, "duplicate key \"%s\"", json_printable(key, key_len, shown, sizeof shown));
                return 0;
            }
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                fail(p, "expected ':'");
                return 0;
            }
            p->pos++;
            item.key = key;
        }
        if (!parse_value(p, &item, depth + 1)) return 0;
        push(p, &item);
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == (unsigned char)close) {
            p->pos++;
            break;
        }
        fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        return 0;
    }
    v->n = (uint32_t)(p->top - base);
    v->items = alloc_values(p->doc, v->n);
    memcpy(v->items, p->stack + base, v->n * sizeof *v->items);
    p->top = base;
    return 1;
}

static int parse_value(Parser *p, JsonValue *v, int depth) {
    skip_ws(p);
    if (p->pos >= p->len) {
        fail(p, "unexpected end of input");
        return 0;
    }
    switch (p->s[p->pos]) {
    case '{': return parse_container(p, v, depth, 1);
    case '[': return parse_container(p, v, depth, 0);
    case '"': {
        size_t len = 0;
        v->type = JSON_STRING;
        v->str = parse_string(p, &len);
        v->len = (uint32_t)len;
        return v->str != NULL;
    }
    case 't': v->type = JSON_TRUE; return expect_literal(p, "true");
    case 'f': v->type = JSON_FALSE; return expect_literal(p, "false");
    case 'n': v->type = JSON_NULL; return expect_literal(p, "null");
    default: return parse_number(p, v);
    }
}

JsonValue *json_parse(const char *text, size_t len, char *err, size_t err_size) {
    if (err_size) err[0] = '\0';
    Parser p = {.s = (const unsigned char *)text, .len = len, .err = err, .err_size = err_size};
    if (len >= UINT32_MAX) { /* so that lengths, counts and positions fit in 32 bits */
        fail(&p, "a JSON text of %zu bytes is too large", len);
        return NULL;
    }
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) { /* Windows editors write one; JSON has none */
        fail(&p, "the text starts with a UTF-8 byte-order mark (BOM); save the file without one");
        return NULL;
    }
    JsonDoc *doc = xcalloc(1, sizeof *doc);
    doc->text_cap = len + 1;
    doc->text = xmalloc(doc->text_cap);
    p.doc = doc;
    p.stack_cap = 64; /* allocated up front: stack + base must never be NULL + 0 */
    p.stack = xmalloc(p.stack_cap * sizeof *p.stack);
    int ok = parse_value(&p, &doc->root, 0);
    if (ok) {
        skip_ws(&p);
        if (p.pos != p.len) {
            fail(&p, "unexpected data after the JSON value");
            ok = 0;
        }
    }
    free(p.stack);
    for (int d = 0; d < JSON_MAX_DEPTH; d++) free(p.keys[d].slots);
    if (ok) return &doc->root;
    json_free(&doc->root);
    return NULL;
}

void json_free(JsonValue *root) {
    if (!root) return;
    JsonDoc *doc = (JsonDoc *)root; /* root is the document's first member */
    for (Chunk *c = doc->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(doc->text);
    free(doc);
}

const JsonValue *json_get(const JsonValue *object, const char *key) {
    if (!object || object->type != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->n; i++)
        if (strcmp(object->items[i].key, key) == 0) return &object->items[i];
    return NULL;
}

int json_uint(const JsonValue *v, uint64_t *out) {
    if (!v || v->type != JSON_NUMBER || v->len == 0) return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < v->len; i++) {
        char c = v->str[i];
        if (c < '0' || c > '9') return 0;
        if (x > (UINT64_MAX - (uint64_t)(c - '0')) / 10) return 0;
        x = x * 10 + (uint64_t)(c - '0');
    }
    *out = x;
    return 1;
}

/* Code points that must not reach a terminal as themselves: they move the cursor, end the line,
 * start an escape sequence (C1's CSI is U+009B), or reorder the text around them; and those that
 * print as nothing (zero-width spaces and joiners, a byte-order mark), which would make a quoted
 * value look like one it is not. */
static int needs_escape(uint32_t cp) {
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0x061C || (cp >= 0x200B && cp <= 0x200F) ||
           cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2069) ||
           cp == 0xFEFF;
}

const char *json_printable(const char *s, size_t n, char *buf, size_t size) {
    CHECK(size >= 4);
    const unsigned char *u = (const unsigned char *)s;
    size_t out = 0, cut = 0;
    for (size_t i = 0; i < n;) {
        char piece[8];
        size_t k;
        uint32_t cp;
        int used = utf8_decode(u + i, n - i, &cp);
        if (!used) {
            k = (size_t)snprintf(piece, sizeof piece, "\\x%02X", u[i]);
            used = 1;
        } else if (cp < 0x80 && needs_escape(cp)) {
            k = (size_t)snprintf(piece, sizeof piece, "\\x%02X", (unsigned)cp);
        } else if (needs_escape(cp)) {
            k = (size_t)snprintf(piece, sizeof piece, "\\u%04X", (unsigned)cp);
        } else if (cp == '"' || cp == '\\') {
            piece[0] = '\\';
            piece[1] = (char)cp;
            k = 2;
        } else {
            memcpy(piece, u + i, (size_t)used);
            k = (size_t)used;
        }
        if (out + k + 1 > size) { /* does not fit: end at the last piece that leaves room for "..." */
            memcpy(buf + cut, "...", 4);
            return buf;
        }
        memcpy(buf + out, piece, k);
        out += k;
        if (out + 4 <= size) cut = out;
        i += (size_t)used;
    }
    buf[out] = '\0';
    return buf;
}
