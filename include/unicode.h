/* unicode.h — the three code-point classes of GPT-2's pre-tokenising pattern: \p{L}, \p{N}, \s.
 *
 * The tables are generated (tools/gen_unicode.py writes src/unicode_tables.c, whose header names
 * the Unicode version) and committed, so the build needs no Unicode data. Only what the BPE
 * pre-tokeniser asks is answered here: no case mapping, no normalisation, no other categories.
 */
#ifndef MINGPT_UNICODE_H
#define MINGPT_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* An inclusive range of code points [lo, hi]; each table is sorted and its ranges disjoint. */
typedef struct {
    uint32_t lo, hi;
} UnicodeRange;

extern const UnicodeRange unicode_letter_ranges[], unicode_number_ranges[], unicode_space_ranges[];
extern const size_t unicode_letter_ranges_count, unicode_number_ranges_count, unicode_space_ranges_count;

/* 1 if cp is in \p{L} (general category Lu, Ll, Lt, Lm or Lo), else 0. Any uint32_t is accepted;
 * values above U+10FFFF are in no class. */
int unicode_is_letter(uint32_t cp);
/* 1 if cp is in \p{N} (Nd, Nl or No), else 0. */
int unicode_is_number(uint32_t cp);
/* 1 if cp is in \s as Python's regex module matches it (Unicode White_Space), else 0. */
int unicode_is_space(uint32_t cp);

#endif
