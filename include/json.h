/* json.h — a small, strict JSON parser (RFC 8259) for safetensors headers.
 *
 * Strict: one value with optional surrounding white space, no trailing commas, no comments, no
 * duplicate object keys, strings must be valid UTF-8 with no raw control characters, nesting at
 * most JSON_MAX_DEPTH deep. Numbers keep their text so that integers can be read exactly.
 */
#ifndef MINGPT_JSON_H
#define MINGPT_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_MAX_DEPTH 32

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } JsonType;

typedef struct JsonValue {
    JsonType type;
    char *str;                /* JSON_STRING: decoded UTF-8, NUL-terminated; JSON_NUMBER: its text */
    size_t len;               /* bytes in str */
    struct JsonValue *items;  /* JSON_ARRAY / JSON_OBJECT: (n) values */
    char **keys;              /* JSON_OBJECT: (n) keys, NUL-terminated */
    size_t n;
} JsonValue;

/* Parses text[0..len). Returns a tree to release with json_free, or NULL with a message such as
 * "at byte 17: expected ':'" written to err. */
JsonValue *json_parse(const char *text, size_t len, char *err, size_t err_size);
void json_free(JsonValue *value);
/* The member `key` of an object, or NULL. */
const JsonValue *json_get(const JsonValue *object, const char *key);
/* Reads a number written as a plain non-negative integer (no sign, fraction or exponent) that fits
 * in uint64. Returns 1 on success. */
int json_uint(const JsonValue *value, uint64_t *out);

#endif
