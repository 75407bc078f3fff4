/* utf8.h — strict UTF-8 decoding and encoding of single code points.
 *
 * Strict means what Python's str accepts: no overlong forms, no surrogates (U+D800..U+DFFF), nothing
 * above U+10FFFF, no truncated sequences.
 */
#ifndef MINGPT_UTF8_H
#define MINGPT_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Decodes one code point from s[0..n) into *cp. Returns the bytes used (1..4), or 0 if the bytes
 * at s are not valid UTF-8 (or n is 0). */
int utf8_decode(const unsigned char *s, size_t n, uint32_t *cp);
/* Writes cp (a valid scalar value) as 1..4 bytes into out and returns the count; 0 if cp is a
 * surrogate or above U+10FFFF. */
int utf8_encode(uint32_t cp, char out[4]);

#endif
