/* unicode.c — membership in the generated code-point tables (unicode_tables.c): an ASCII fast
 * path, since most text the tokenizer sees is ASCII, then a binary search over sorted ranges.
 */
#include "unicode.h"

static int in_ranges(const UnicodeRange *r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n; /* the answer, if any, is in r[lo..hi) */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].lo) hi = mid;
        else if (cp > r[mid].hi) lo = mid + 1;
        else return 1;
    }
    return 0;
}

int unicode_is_letter(uint32_t cp) {
    if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
    return in_ranges(unicode_letter_ranges, unicode_letter_ranges_count, cp);
}

int unicode_is_number(uint32_t cp) {
    if (cp < 0x80) return cp >= '0' && cp <= '9';
    return in_ranges(unicode_number_ranges, unicode_number_ranges_count, cp);
}

int unicode_is_space(uint32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= '\t' && cp <= '\r');
    return in_ranges(unicode_space_ranges, unicode_space_ranges_count, cp);
}
