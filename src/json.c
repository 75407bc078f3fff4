/* json.c — recursive-descent JSON parser; see json.h for what "strict" means here. */
#include "json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "utf8.h"

typedef struct {
    const unsigned char *s;
    size_t len, pos;
    char *err;
    size_t err_size;
    int failed;
} Parser;

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

/* Parses a string starting at '"'; returns a malloc'd, NUL-terminated UTF-8 copy. */
static char *parse_string(Parser *p, size_t *out_len) {
    p->pos++; /* opening quote */
    /* The decoded string is never longer than its source, up to the closing quote. */
    size_t end = p->pos;
    while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    char *out = xmalloc(end - p->pos + 5);
    size_t n = 0;
    for (;;) {
        if (p->pos >= p->len) {
            fail(p, "unterminated string");
            break;
        }
        unsigned char c = p->s[p->pos];
        if (c == '"') {
            p->pos++;
            out[n] = '\0';
            *out_len = n;
            return out;
        }
        if (c < 0x20) {
            fail(p, "control character in string");
            break;
        }
        if (c == '\\') {
            p->pos++;
            if (p->pos >= p->len) {
                fail(p, "unterminated escape");
                break;
            }
            unsigned char e = p->s[p->pos++];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char map[] = "\"\\/\b\f\n\r\t";
                out[n++] = map[simple - "\"\\/bfnrt"];
                continue;
            }
            if (e != 'u') {
                fail(p, "invalid escape \\%c", e);
                break;
            }
            uint32_t cp;
            if (!hex4(p, &cp)) break;
            if (cp >= 0xD800 && cp <= 0xDBFF) { /* high surrogate: a low one must follow */
                uint32_t lo;
                if (p->len - p->pos < 2 || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                    fail(p, "unpaired surrogate in \\u escape");
                    break;
                }
                p->pos += 2;
                if (!hex4(p, &lo)) break;
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    fail(p, "unpaired surrogate in \\u escape");
                    break;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail(p, "unpaired surrogate in \\u escape");
                break;
            }
            n += (size_t)utf8_encode(cp, out + n);
            continue;
        }
        uint32_t cp;
        int used = utf8_decode(p->s + p->pos, p->len - p->pos, &cp);
        if (!used) {
            fail(p, "invalid UTF-8 in string");
            break;
        }
        memcpy(out + n, p->s + p->pos, (size_t)used);
        n += (size_t)used;
        p->pos += (size_t)used;
    }
    free(out);
    return NULL;
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
    v->type = JSON_NUMBER;
    v->len = p->pos - start;
    v->str = xmalloc(v->len + 1);
    memcpy(v->str, p->s + start, v->len);
    v->str[v->len] = '\0';
    return 1;
}

static void free_contents(JsonValue *v);

static int parse_value(Parser *p, JsonValue *v, int depth);

static int parse_container(Parser *p, JsonValue *v, int depth, int is_object) {
    if (depth >= JSON_MAX_DEPTH) {
        fail(p, "nesting deeper than %d", JSON_MAX_DEPTH);
        return 0;
    }
    v->type = is_object ? JSON_OBJECT : JSON_ARRAY;
    p->pos++; /* '{' or '[' */
    size_t cap = 0;
    skip_ws(p);
    char close = is_object ? '}' : ']';
    if (p->pos < p->len && p->s[p->pos] == (unsigned char)close) {
        p->pos++;
        return 1;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? 2 * cap : 8;
            JsonValue *items = realloc(v->items, cap * sizeof *items);
            if (!items) die(1, "out of memory parsing JSON");
            v->items = items;
            if (is_object) {
                char **keys = realloc(v->keys, cap * sizeof *keys);
                if (!keys) die(1, "out of memory parsing JSON");
                v->keys = keys;
            }
        }
        skip_ws(p);
        if (is_object) {
            if (p->pos >= p->len || p->s[p->pos] != '"') {
                fail(p, "expected a string key");
                return 0;
            }
            size_t key_len;
            char *key = parse_string(p, &key_len);
            if (!key) return 0;
            if (strlen(key) != key_len) {
                free(key);
                fail(p, "NUL character in key");
                return 0;
            }
            for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->keys[i], key) == 0) {
                    free(key);
                    fail(p, "duplicate key \"%s\"", v->keys[i]);
                    return 0;
                }
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key);
                fail(p, "expected ':'");
                return 0;
            }
            p->pos++;
            v->keys[v->n] = key;
        }
        memset(&v->items[v->n], 0, sizeof(JsonValue));
        v->n++; /* counted before parsing so that a failure frees what was built */
        if (!parse_value(p, &v->items[v->n - 1], depth + 1)) return 0;
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == (unsigned char)close) {
            p->pos++;
            return 1;
        }
        fail(p, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
        return 0;
    }
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
    case '"':
        v->type = JSON_STRING;
        v->str = parse_string(p, &v->len);
        return v->str != NULL;
    case 't': v->type = JSON_TRUE; return expect_literal(p, "true");
    case 'f': v->type = JSON_FALSE; return expect_literal(p, "false");
    case 'n': v->type = JSON_NULL; return expect_literal(p, "null");
    default: return parse_number(p, v);
    }
}

JsonValue *json_parse(const char *text, size_t len, char *err, size_t err_size) {
    Parser p = {(const unsigned char *)text, len, 0, err, err_size, 0};
    if (err_size) err[0] = '\0';
    JsonValue *root = xcalloc(1, sizeof *root);
    if (parse_value(&p, root, 0)) {
        skip_ws(&p);
        if (p.pos == p.len) return root;
        fail(&p, "unexpected data after the JSON value");
    }
    json_free(root);
    return NULL;
}

static void free_contents(JsonValue *v) {
    for (size_t i = 0; i < v->n; i++) {
        free_contents(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
}

void json_free(JsonValue *v) {
    if (!v) return;
    free_contents(v);
    free(v);
}

const JsonValue *json_get(const JsonValue *object, const char *key) {
    if (!object || object->type != JSON_OBJECT) return NULL;
    for (size_t i = 0; i < object->n; i++)
        if (strcmp(object->keys[i], key) == 0) return &object->items[i];
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
