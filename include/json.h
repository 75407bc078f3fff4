/* json.h — a small, strict JSON parser (RFC 8259) for safetensors headers.
 *
 * Strict: one value with optional surrounding white space, no trailing commas, no comments, no
 * duplicate object keys, strings must be valid UTF-8 with no raw control characters, nesting at
 * most JSON_MAX_DEPTH deep. Numbers keep their text so that integers can be read exactly.
 *
 * Sized for headers with many thousands of tensors: parsing is linear in the input (duplicate keys
 * are found with a hash table, not by comparing each key with all earlier ones), and the tree is
 * compact: a 24-byte JsonValue per value, each container's values in one array of exactly its size,
 * and every decoded string and number text in one block no longer than the input.
 */
#ifndef MINGPT_JSON_H
#define MINGPT_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonType;

/* Which of the unions' members is meaningful follows from type; the other reads as garbage. */
typedef struct JsonValue {
    const char *key;             /* a member of an object: its key, NUL-terminated (keys hold no
                                    NUL); any other value: NULL */
    union {
        char *str;               /* JSON_STRING: decoded UTF-8, NUL-terminated (it may also hold
                                    NUL, \u0000); JSON_NUMBER: its text */
        struct JsonValue *items; /* JSON_ARRAY / JSON_OBJECT: (n) values, an object's with keys */
    };
    union {                      /* (32 bits: json_parse refuses a text of 4 GiB or more) */
        uint32_t len;            /* JSON_STRING / JSON_NUMBER: bytes in str */
        uint32_t n;              /* JSON_ARRAY / JSON_OBJECT: values in items */
    };
    JsonType type;
} JsonValue; /* 24 bytes on 64-bit targets */

/* Parses text[0..len). Returns a tree to release with json_free, or NULL with a message such as
 * "at byte 17: expected ':'" written to err. The tree does not point into text. */
JsonValue *json_parse(const char *text, size_t len, char *err, size_t err_size);
/* Releases a tree; value must be what json_parse returned (or NULL), never a value inside it. */
void json_free(JsonValue *value);
/* The member `key` of an object, or NULL (a linear search: meant for small objects). */
const JsonValue *json_get(const JsonValue *object, const char *key);
/* Reads a number written as a plain non-negative integer (no sign, fraction or exponent) that fits
 * in uint64. Returns 1 on success. */
int json_uint(const JsonValue *value, uint64_t *out);

/* s[0..n), text that came from a file, made safe to quote in a one-line message: control
 * characters (C0, DEL, C1), line and paragraph separators, bidirectional overrides, bytes that are
 * not UTF-8, '"' and '\' are written as escapes (\xNN, \uNNNN, \", \\), so no name in a file can
 * move the cursor, recolour the terminal or end the line. Writes at most size bytes to buf (size
 * >= 4), ending in "..." when the text does not fit, and returns buf. Every message that quotes a
 * name or value read from a checkpoint goes through this. */
const char *json_printable(const char *s, size_t n, char *buf, size_t size);

#endif
