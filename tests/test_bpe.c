/* test_bpe.c — GPT-2's byte-level BPE tokenizer: the generated Unicode classes, the pre-tokeniser's
 * tricky spots, ids equal to minGPT's bpe.py on a committed fixture, both vocabulary layouts, a
 * 1 MB pre-token in under a second, and the encode/decode commands run as a user runs them. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "common.h"
#include "tokenizer.h"
#include "unicode.h"
#include "utf8.h"

static char dir[] = "/tmp/mingpt-bpe-XXXXXX";
static Tokenizer *gpt2; /* data/gpt2, loaded once */

/* The whole file at path (NUL-terminated), its size in *n; CHECKs that it can be read. */
static char *read_all(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    CHECK(fseek(fp, 0, SEEK_END) == 0);
    long size = ftell(fp);
    CHECK(size >= 0 && fseek(fp, 0, SEEK_SET) == 0);
    char *buf = xmalloc((size_t)size + 1);
    CHECK(fread(buf, 1, (size_t)size, fp) == (size_t)size);
    fclose(fp);
    buf[size] = '\0';
    *n = (size_t)size;
    return buf;
}

/* The bytes of ids, concatenated (malloc'd, *n bytes). */
static char *decode_all(const Tokenizer *tok, const TokenIds *t, size_t *n) {
    size_t total = 0, len;
    for (size_t i = 0; i < t->n; i++) {
        tokenizer_token(tok, t->ids[i], &len);
        total += len;
    }
    char *out = xmalloc(total + 1), *at = out;
    for (size_t i = 0; i < t->n; i++) {
        const char *p = tokenizer_token(tok, t->ids[i], &len);
        memcpy(at, p, len);
        at += len;
    }
    *n = total;
    return out;
}

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
    /* Unicode 15.0, as the regex module of Debian 12 (2022.10.31) that runs bpe.py knows it and
     * Python 3.11's unicodedata (14.0) does not: Kawi and Nag Mundari letters, a CJK Extension H
     * ideograph, a Kawi digit; a 15.1 ideograph (Extension I) is still unassigned there */
    const uint32_t letters15[] = {0x11F04, 0x1E4D0, 0x31350}, numbers15[] = {0x11F50}, unassigned15[] = {0x2EBF0};
    for (size_t i = 0; i < sizeof letters15 / sizeof *letters15; i++)
        EXPECT(unicode_is_letter(letters15[i]) && !unicode_is_number(letters15[i]));
    EXPECT(unicode_is_number(numbers15[0]) && !unicode_is_letter(numbers15[0]));
    EXPECT(!unicode_is_letter(unassigned15[0]) && !unicode_is_number(unassigned15[0]));
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

/* The pre-tokens of text, joined by '|' (text must not hold '|'), for comparing with what GPT-2's
 * pattern finds in Python's regex module. */
static const char *pretokens(const char *text) {
    static char out[1024];
    size_t n = strlen(text), at = 0;
    for (size_t i = 0; i < n;) {
        size_t end = bpe_pretoken_end((const unsigned char *)text, n, i);
        CHECK(end > i && end <= n && at + (end - i) + 2 < sizeof out);
        if (i) out[at++] = '|';
        memcpy(out + at, text + i, end - i);
        at += end - i;
        i = end;
    }
    out[at] = '\0';
    return out;
}

#define EXPECT_SPLIT(text, want)                                                               \
    do {                                                                                       \
        const char *got_ = pretokens(text);                                                    \
        if (strcmp(got_, want) != 0) {                                                         \
            printf("    %s:%d: \"%s\" splits as \"%s\", expected \"%s\"\n", __FILE__, __LINE__, text, \
                   got_, want);                                                                \
            harness_case_failed = 1;                                                           \
        }                                                                                      \
    } while (0)

/* Each expectation is what regex.findall(GPT-2's pattern, text) gives in Python. */
static void test_pretokenizer_tricky_spots(void) {
    /* contractions come first, lower case only, and take no leading space */
    EXPECT_SPLIT("it's I'm you're we've they'll she'd don't", "it|'s| I|'m| you|'re| we|'ve| they|'ll| she|'d| don|'t");
    EXPECT_SPLIT("IT'S 'sand", "IT|'|S| '|sand");
    EXPECT_SPLIT("'sand", "'s|and");
    EXPECT_SPLIT("a 's", "a| '|s");            /* " 's": a space and an apostrophe are punctuation */
    EXPECT_SPLIT("''s !'s", "''|s| !'|s");      /* inside a punctuation run, 's is no contraction */
    /* runs of white space: the last space goes to the next word */
    EXPECT_SPLIT("a   b", "a|  | b");
    EXPECT_SPLIT("a b", "a| b");
    EXPECT_SPLIT("   x", "  | x");
    EXPECT_SPLIT("a \tb", "a| |\t|b");          /* a tab is no ' ': it stands alone before the word */
    EXPECT_SPLIT("a\t\tb", "a|\t|\t|b");
    EXPECT_SPLIT("a\n\nb", "a|\n|\n|b");
    EXPECT_SPLIT("a \n b", "a| \n| b");
    /* trailing white space is kept whole */
    EXPECT_SPLIT("end   ", "end|   ");
    EXPECT_SPLIT("end \n", "end| \n");
    EXPECT_SPLIT(" ", " ");
    /* classes: letters, numbers, the rest; one space may lead each */
    EXPECT_SPLIT("abc123def 42nd", "abc|123|def| 42|nd");
    EXPECT_SPLIT("x=1.5e-3!!", "x|=|1|.|5|e|-|3|!!");
    EXPECT_SPLIT("hi... ok?!", "hi|...| ok|?!");
    EXPECT_SPLIT("caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c", "caf\xc3\xa9| \xe4\xbd\xa0\xe5\xa5\xbd|\xef\xbc\x8c");
    /* x², a non-breaking space (white space, but not ' ') before a word */
    EXPECT_SPLIT("x\xc2\xb2 a\xc2\xa0" "b", "x|\xc2\xb2| a|\xc2\xa0|" "b");
    /* Unicode 15.0 as regex knows it: Kawi letters U+11F04 U+11F05 join "ab", Kawi digits U+11F50
     * U+11F51 are a number, U+2EBF0 (unassigned before 15.1) is punctuation with the "!" */
    EXPECT_SPLIT("ab\xf0\x91\xbc\x84\xf0\x91\xbc\x85 \xf0\x91\xbd\x90\xf0\x91\xbd\x91x \xf0\xae\xaf\xb0!",
                 "ab\xf0\x91\xbc\x84\xf0\x91\xbc\x85| \xf0\x91\xbd\x90\xf0\x91\xbd\x91|x| \xf0\xae\xaf\xb0!");
    EXPECT_SPLIT("<|endoftext|>", "<||endoftext||>"); /* "<|" "endoftext" "|>": plain text, as in bpe.py */
}

/* Ids equal to minGPT's bpe.py (tests/reference/make_bpe_fixture.py) on a varied text, and back. */
static void test_fixture_matches_mingpt_bpe(void) {
    size_t n, en;
    char *text = read_all("tests/fixtures/bpe_text.txt", &n);
    char *expected = read_all("tests/fixtures/bpe_expected.txt", &en);
    TokenIds want = {0}, got = {0};
    for (char *p = expected, *end; *p && *p != '\n'; p = end + (*end == ' ')) {
        long v = strtol(p, &end, 10);
        CHECK(end > p);
        token_ids_push(&want, (int32_t)v);
    }
    char err[256];
    EXPECT(tokenizer_encode(gpt2, text, n, &got, err, sizeof err) == 0);
    EXPECT(got.n == want.n);
    for (size_t i = 0; i < got.n && i < want.n; i++)
        if (got.ids[i] != want.ids[i]) {
            printf("    token %zu of %zu: got %d, bpe.py gives %d\n", i, want.n, got.ids[i], want.ids[i]);
            harness_case_failed = 1;
            break;
        }
    size_t dn;
    char *back = decode_all(gpt2, &got, &dn);
    EXPECT(dn == n && memcmp(back, text, n) == 0);
    /* well-known ids: "Hello world" is 15496 995; a space alone is 220; <|endoftext|> decodes to text */
    TokenIds t = {0};
    EXPECT(tokenizer_encode(gpt2, "Hello world", 11, &t, err, sizeof err) == 0);
    EXPECT(t.n == 2 && t.ids[0] == 15496 && t.ids[1] == 995);
    t.n = 0;
    EXPECT(tokenizer_encode(gpt2, " ", 1, &t, err, sizeof err) == 0 && t.n == 1 && t.ids[0] == 220);
    size_t len;
    const char *eot = tokenizer_token(gpt2, 50256, &len);
    EXPECT(tokenizer_vocab_size(gpt2) == 50257 && len == 13 && memcmp(eot, "<|endoftext|>", 13) == 0);
    /* empty text: no ids, no error */
    t.n = 0;
    EXPECT(tokenizer_encode(gpt2, "", 0, &t, err, sizeof err) == 0 && t.n == 0);
    free(t.ids);
    free(back);
    free(want.ids);
    free(got.ids);
    free(text);
    free(expected);
}

/* Every byte string made of UTF-8 comes back byte for byte; invalid UTF-8 is refused at its offset
 * with nothing appended. */
static void test_round_trip_and_invalid_utf8(void) {
    unsigned long long s = 12345;
    char text[600], err[256];
    TokenIds t = {0};
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 0;
        while (n < 500) { /* random code points from every length class, biased to ASCII and spaces */
            s ^= s << 13, s ^= s >> 7, s ^= s << 17;
            uint32_t pick = (uint32_t)(s >> 32), cp;
            switch (pick % 6) {
            case 0: case 1: cp = 0x20 + (pick >> 8) % 0x5F; break;
            case 2: cp = " \t\n\r'"[(pick >> 8) % 5]; break;
            case 3: cp = 0x80 + (pick >> 8) % 0x780; break;
            case 4: cp = 0x800 + (pick >> 8) % 0xF800; break;
            default: cp = 0x10000 + (pick >> 8) % 0x100000; break;
            }
            if (cp >= 0xD800 && cp <= 0xDFFF) continue;
            n += (size_t)utf8_encode(cp, text + n);
        }
        t.n = 0;
        EXPECT(tokenizer_encode(gpt2, text, n, &t, err, sizeof err) == 0);
        size_t dn;
        char *back = decode_all(gpt2, &t, &dn);
        if (dn != n || memcmp(back, text, n) != 0) {
            printf("    trial %d: decode(encode(x)) != x\n", trial);
            harness_case_failed = 1;
        }
        free(back);
    }
    t.n = 0;
    const char *bad[] = {"ab\xff", "ab\xc3", "ab\xed\xa0\x80", "ab\xc0\xaf"}; /* stray, cut, surrogate, overlong */
    for (int i = 0; i < 4; i++) {
        EXPECT(tokenizer_encode(gpt2, bad[i], strlen(bad[i]), &t, err, sizeof err) == -1);
        EXPECT(strcmp(err, "invalid UTF-8 at byte offset 2") == 0 && t.n == 0);
    }
    free(t.ids);
}

/* A 1 MB pre-token (letters and no space) encodes in under a second: merging is not quadratic. */
/* CPU seconds to encode text[0..n) into t (appended). CPU time, not wall time: another program on
 * the machine slows the wall clock, not the work. */
static double encode_seconds(const char *text, size_t n, TokenIds *t) {
    struct timespec t0, t1;
    char err[256];
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    EXPECT(tokenizer_encode(gpt2, text, n, t, err, sizeof err) == 0);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    return (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
}

/* One pre-token of 1 MiB (bpe.py is quadratic in it): four times the text must cost about four
 * times the time (n log n, with the cache misses of the larger arrays: 5-7x measured, 8.5 once
 * under ASan on a busy machine), never the 16x of a quadratic merge loop. A ratio of CPU times, so
 * that a slow or busy machine cannot fail it; the seconds are printed. */
static void test_one_megabyte_word_is_fast(void) {
    size_t n = 1 << 20, small = n / 4;
    char *text = xmalloc(n);
    unsigned long long s = 99;
    for (size_t i = 0; i < n; i++) { /* random lower-case letters: many merges, none runs away */
        s ^= s << 13, s ^= s >> 7, s ^= s << 17;
        text[i] = (char)('a' + (s >> 33) % 26);
    }
    for (int repeated = 0; repeated < 2; repeated++) {
        /* then one letter repeated: the same pair everywhere, merged left to right ("aaa" -> "aa" "a") */
        if (repeated) memset(text, 'a', n);
        TokenIds t = {0};
        encode_seconds(text, n, &t); /* warm: the scratch and t grow to their size once */
        /* the least of three each: one slow pass of the quarter (a busy machine, ASan) once made
         * the ratio of single passes 8.5 */
        double part = 1e30, whole = 1e30;
        for (int rep = 0; rep < 3; rep++) {
            t.n = 0;
            part = fmin(part, encode_seconds(text, small, &t));
            t.n = 0;
            whole = fmin(whole, encode_seconds(text, n, &t));
        }
        printf("    1 MiB of %s: %zu tokens in %.3f s CPU (a quarter of it: %.3f s, ratio %.2f)\n",
               repeated ? "'a'" : "letters with no space", t.n, whole, part, whole / part);
        EXPECT(whole < 11.0 * part + 0.01);
        size_t dn;
        char *back = decode_all(gpt2, &t, &dn);
        EXPECT(dn == n && memcmp(back, text, n) == 0);
        free(back);
        free(t.ids);
    }
    free(text);
}

/* Writes path with the given contents. */
static void write_file(const char *path, const char *data, size_t n) {
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL && fwrite(data, 1, n, fp) == n && fclose(fp) == 0);
}

/* Hugging Face's layout (vocab.json + merges.txt: the same content) gives the same ids. */
static void test_hugging_face_layout(void) {
    char path[512], err[512];
    size_t n;
    char *vocab = read_all("data/gpt2/encoder.json", &n);
    snprintf(path, sizeof path, "%s/hf", dir);
    CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/hf/vocab.json", dir);
    write_file(path, vocab, n);
    free(vocab);
    char *merges = read_all("data/gpt2/vocab.bpe", &n);
    snprintf(path, sizeof path, "%s/hf/merges.txt", dir);
    write_file(path, merges, n);
    free(merges);
    snprintf(path, sizeof path, "%s/hf", dir);
    Tokenizer *hf = tok_bpe_load(path, err, sizeof err);
    if (!hf) printf("    %s\n", err);
    EXPECT(hf != NULL);
    if (!hf) return;
    char *text = read_all("tests/fixtures/bpe_text.txt", &n);
    TokenIds a = {0}, b = {0};
    EXPECT(tokenizer_encode(gpt2, text, n, &a, err, sizeof err) == 0);
    EXPECT(tokenizer_encode(hf, text, n, &b, err, sizeof err) == 0);
    EXPECT(a.n == b.n && memcmp(a.ids, b.ids, a.n * sizeof *a.ids) == 0);
    EXPECT(tokenizer_vocab_size(hf) == 50257);
    tokenizer_free(hf);
    free(a.ids);
    free(b.ids);
    free(text);
}

/* Writes the folder dir/name with an encoder.json of the 256 single bytes (ids 0..255 in byte order,
 * spelled in bytes_to_unicode characters) plus the members vocab_extra, and a vocab.bpe holding
 * merges; loads it into *out (NULL, with the message in err, if loading fails). */
static void load_small(const char *name, const char *vocab_extra, const char *merges, Tokenizer **out, char *err,
                       size_t err_size) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(mkdir(path, 0700) == 0);
    /* the 256 byte tokens spelled in bytes_to_unicode characters: printable ones as themselves */
    char json[8192];
    size_t at = 0;
    at += (size_t)snprintf(json + at, sizeof json - at, "{");
    unsigned extra = 256;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
        unsigned cp = printable ? (unsigned)b : extra++;
        char u[5] = {0};
        utf8_encode(cp, u);
        if (cp == '"' || cp == '\\') at += (size_t)snprintf(json + at, sizeof json - at, "\"\\%s\": %d, ", u, b);
        else at += (size_t)snprintf(json + at, sizeof json - at, "\"%s\": %d, ", u, b);
    }
    snprintf(json + at, sizeof json - at, "%s}", vocab_extra);
    snprintf(path, sizeof path, "%s/%s/encoder.json", dir, name);
    write_file(path, json, strlen(json));
    snprintf(path, sizeof path, "%s/%s/vocab.bpe", dir, name);
    write_file(path, merges, strlen(merges));
    snprintf(path, sizeof path, "%s/%s", dir, name);
    *out = tok_bpe_load(path, err, err_size);
}

static void test_small_vocabularies_and_load_errors(void) {
    char err[512], want[600];
    Tokenizer *tok;
    TokenIds t = {0};
    /* "bc" (256) is merge 0, "ab" (257) merge 1, "abc" (258) merge 2 = (a, bc), "bcbc" (259) merge 3 */
    load_small("order", "\"bc\": 256, \"ab\": 257, \"abc\": 258, \"bcbc\": 259",
               "#version: 0.2\nb c\na b\na bc\nbc bc\n", &tok, err, sizeof err);
    if (!tok) printf("    %s\n", err);
    EXPECT(tok != NULL);
    if (tok) {
        EXPECT(tokenizer_encode(tok, "abcbc", 5, &t, err, sizeof err) == 0);
        /* bpe.py: (b,c) x2 -> a bc bc; then (a,bc) rank 2 before (bc,bc) rank 3 -> abc bc */
        EXPECT(t.n == 2 && t.ids[0] == 258 && t.ids[1] == 256);
        t.n = 0;
        EXPECT(tokenizer_encode(tok, "bcbcbc", 6, &t, err, sizeof err) == 0);
        /* bc bc bc -> (bc,bc) left to right: bcbc bc */
        EXPECT(t.n == 2 && t.ids[0] == 259 && t.ids[1] == 256);
        tokenizer_free(tok);
    }
    /* a pair a merge creates that ranks before that merge waits until the merge is done
     * everywhere: "ab a" is merge 0, "a b" merge 1. On "abab", bpe.py merges (a,b) twice -> ab ab,
     * and (ab, a) never occurs; merging (ab, a) as soon as it appears would give aba b. */
    load_small("early", "\"ab\": 256, \"aba\": 257", "ab a\na b\n", &tok, err, sizeof err);
    EXPECT(tok != NULL);
    if (tok) {
        t.n = 0;
        EXPECT(tokenizer_encode(tok, "abab", 4, &t, err, sizeof err) == 0);
        EXPECT(t.n == 2 && t.ids[0] == 256 && t.ids[1] == 256);
        t.n = 0;
        EXPECT(tokenizer_encode(tok, "aba", 3, &t, err, sizeof err) == 0); /* ab a -> aba */
        EXPECT(t.n == 1 && t.ids[0] == 257);
        tokenizer_free(tok);
    }
    /* load errors name the file and what is wrong */
    load_small("unknown", "\"ab\": 256", "#version: 0.2\na b\nq z\n", &tok, err, sizeof err);
    snprintf(want, sizeof want, "%s/unknown/vocab.bpe: line 3: the merged token of \"q z\" is not in the vocabulary", dir);
    EXPECT(tok == NULL && strcmp(err, want) == 0);
    if (tok == NULL && strcmp(err, want) != 0) printf("    got: %s\n", err);
    load_small("badline", "\"ab\": 256", "a b c\n", &tok, err, sizeof err);
    EXPECT(tok == NULL && strstr(err, "/badline/vocab.bpe: line 1: expected two tokens separated by one space") != NULL);
    load_small("gap", "\"ab\": 300", "a b\n", &tok, err, sizeof err);
    EXPECT(tok == NULL && strstr(err, "/gap/encoder.json: token \"ab\": id 300 is not below the number of tokens, 257") != NULL);
    load_small("twice", "\"ab\": 256, \"bc\": 256", "a b\n", &tok, err, sizeof err);
    EXPECT(tok == NULL && strstr(err, "/twice/encoder.json: id 256 is given to two tokens") != NULL);
    load_small("alphabet", "\"a b\": 256", "a b\n", &tok, err, sizeof err);
    EXPECT(tok == NULL && strstr(err, "/alphabet/encoder.json: token \"a b\" is not spelled in GPT-2's byte alphabet") != NULL);
    char path[512];
    /* folders: neither layout, half a layout, none at all */
    snprintf(path, sizeof path, "%s/empty", dir);
    CHECK(mkdir(path, 0700) == 0);
    EXPECT(tok_bpe_load(path, err, sizeof err) == NULL);
    EXPECT(strstr(err, "holds neither encoder.json + vocab.bpe (OpenAI's GPT-2 files) nor vocab.json + merges.txt") != NULL);
    snprintf(path, sizeof path, "%s/empty/vocab.json", dir);
    write_file(path, "{}", 2);
    snprintf(path, sizeof path, "%s/empty", dir);
    EXPECT(tok_bpe_load(path, err, sizeof err) == NULL && strstr(err, "has vocab.json but not merges.txt") != NULL);
    snprintf(path, sizeof path, "%s/no-such-folder", dir);
    EXPECT(tok_bpe_load(path, err, sizeof err) == NULL && strstr(err, "no-such-folder: no such folder") != NULL);
    free(t.ids);
}

/* ---------------------------------------------------------------- the commands */

static const char *binary = "./mingpt";
static char out_text[1 << 16], err_text[4096];

/* Runs "mingpt ARGS" through the shell (ARGS may use $D, the temporary folder, and redirect
 * standard input); its stdout and stderr land in out_text and err_text. Returns the exit status. */
static int run(const char *args) {
    return harness_run_binary(dir, binary, args, out_text, sizeof out_text, err_text, sizeof err_text);
}

/* run("ARGS <$D/in") with input as standard input. */
static int run_with_input(const char *input, const char *args) {
    char path[600], cmd[1024];
    snprintf(path, sizeof path, "%s/in", dir);
    write_file(path, input, strlen(input));
    snprintf(cmd, sizeof cmd, "%s <$D/in", args);
    return run(cmd);
}

/* A failed command: the exit status, nothing on stdout, and one line on stderr holding want. */
#define EXPECT_FAILS(input, args, status, want)                                                   \
    do {                                                                                          \
        int rc_ = run_with_input(input, args);                                                    \
        const char *nl_ = strchr(err_text, '\n');                                                 \
        if (rc_ != (status) || out_text[0] || !strstr(err_text, want) || !nl_ || nl_[1]) {         \
            printf("    %s:%d: mingpt %s: exit %d, stdout \"%.60s\", stderr \"%s\"; expected exit %d and \"%s\"\n", \
                   __FILE__, __LINE__, args, rc_, out_text, err_text, status, want);              \
            harness_case_failed = 1;                                                              \
        }                                                                                         \
    } while (0)

static void test_encode_and_decode_commands(void) {
    size_t n, en;
    char *text = read_all("tests/fixtures/bpe_text.txt", &n);
    char *expected = read_all("tests/fixtures/bpe_expected.txt", &en);
    /* a file, and standard input: bpe.py's ids on one line, single spaces, one newline */
    EXPECT(run("encode --tokenizer data/gpt2 tests/fixtures/bpe_text.txt") == 0);
    EXPECT(strcmp(out_text, expected) == 0 && err_text[0] == '\0');
    EXPECT(run("encode --tokenizer data/gpt2 <tests/fixtures/bpe_text.txt") == 0 && strcmp(out_text, expected) == 0);
    /* the Hugging Face layout made by test_hugging_face_layout */
    EXPECT(run("encode --tokenizer $D/hf tests/fixtures/bpe_text.txt") == 0 && strcmp(out_text, expected) == 0);
    /* decode gives back the exact bytes, from a file or standard input */
    EXPECT(run("decode --tokenizer data/gpt2 tests/fixtures/bpe_expected.txt") == 0);
    EXPECT(strlen(out_text) == n && memcmp(out_text, text, n) == 0);
    EXPECT(run("decode --tokenizer data/gpt2 <tests/fixtures/bpe_expected.txt") == 0 && strcmp(out_text, text) == 0);
    /* ids may be separated by any white space; an empty input is an empty text */
    EXPECT(run_with_input(" 15496\n\t995  \n", "decode --tokenizer data/gpt2") == 0 && strcmp(out_text, "Hello world") == 0);
    EXPECT(run("encode --tokenizer data/gpt2 </dev/null") == 0 && strcmp(out_text, "\n") == 0);
    /* bad ids name their position; nothing is written */
    EXPECT_FAILS("15496 995 hello 13\n", "decode --tokenizer data/gpt2", 1,
                 "mingpt: standard input: id 3 (byte offset 10): \"hello\" is not a token id");
    EXPECT_FAILS("15496 50257\n", "decode --tokenizer data/gpt2", 1,
                 "id 2 (byte offset 6): 50257 is outside the vocabulary (0 to 50256)");
    EXPECT_FAILS("-1\n", "decode --tokenizer data/gpt2", 1, "\"-1\" is not a token id");
    EXPECT_FAILS("99999999999999999999999\n", "decode --tokenizer data/gpt2", 1, "is outside the vocabulary");
    /* a missing or wrong folder, a missing file, invalid UTF-8, usage errors */
    EXPECT_FAILS("", "encode --tokenizer $D/missing", 1, "/missing: no such folder");
    EXPECT_FAILS("", "decode --tokenizer $D", 1,
                 "holds neither encoder.json + vocab.bpe (OpenAI's GPT-2 files) nor vocab.json + merges.txt");
    EXPECT_FAILS("", "encode --tokenizer data/gpt2 $D/nothing.txt", 1, "nothing.txt");
    EXPECT_FAILS("abc\377\n", "encode --tokenizer data/gpt2", 1, "standard input: invalid UTF-8 at byte offset 3");
    EXPECT_FAILS("", "encode tests/fixtures/bpe_text.txt", 2, "needs --tokenizer DIR");
    EXPECT_FAILS("", "decode --tokenizer data/gpt2 a b", 2, "unexpected argument 'b'");
    EXPECT(run("encode --help") == 0 && strstr(out_text, "usage: mingpt encode --tokenizer DIR [FILE]") != NULL);
    EXPECT(run("help decode") == 0 && strstr(out_text, "usage: mingpt decode --tokenizer DIR [FILE]") != NULL);
    free(text);
    free(expected);
}

/* A checkpoint keeps a BPE tokenizer as text (tok_bpe_to_text): GPT-2's two files come back byte
 * for byte, whichever layout they were read from, and the tokenizer rebuilt from that text encodes
 * as the original does; errors in such text name where it came from. */
static void test_written_out_and_read_back(void) {
    char *vocab, *merges, err[512];
    size_t vocab_len, merges_len, n, fn;
    tok_bpe_to_text(gpt2, &vocab, &vocab_len, &merges, &merges_len);
    char *file = read_all("data/gpt2/encoder.json", &fn);
    EXPECT(vocab_len == fn && memcmp(vocab, file, fn) == 0);
    free(file);
    file = read_all("data/gpt2/vocab.bpe", &fn);
    EXPECT(merges_len == fn && memcmp(merges, file, fn) == 0);
    free(file);
    Tokenizer *back = tok_bpe_from_text("ck.safetensors", vocab, vocab_len, merges, merges_len, err, sizeof err);
    EXPECT(back && tokenizer_vocab_size(back) == 50257 && back->kind == TOKENIZER_BPE);
    char *text = read_all("tests/fixtures/bpe_text.txt", &n);
    TokenIds a = {0}, b = {0};
    EXPECT(back && tokenizer_encode(gpt2, text, n, &a, err, sizeof err) == 0 &&
           tokenizer_encode(back, text, n, &b, err, sizeof err) == 0 && a.n == b.n &&
           memcmp(a.ids, b.ids, a.n * sizeof *a.ids) == 0);
    tokenizer_free(back);
    /* a merge whose halves are not tokens: the message says which text of which file */
    memcpy(merges + 14, "\xc4\xa0q", 3); /* the first merge "Ġ t" becomes "Ġq t" */
    back = tok_bpe_from_text("ck.safetensors", vocab, vocab_len, merges, merges_len, err, sizeof err);
    EXPECT(!back && strncmp(err, "ck.safetensors: the BPE merges: line 2: ", 40) == 0);
    if (back) tokenizer_free(back);
    /* merges saved with a byte-order mark: said as such (it was quoted, invisible, as part of the
     * "#version" line) */
    memcpy(merges + 14, "\xc4\xa0 t", 4);
    char *bom = xmalloc(merges_len + 3);
    memcpy(bom, "\xEF\xBB\xBF", 3);
    memcpy(bom + 3, merges, merges_len);
    back = tok_bpe_from_text("ck.safetensors", vocab, vocab_len, bom, merges_len + 3, err, sizeof err);
    EXPECT(!back && strcmp(err, "ck.safetensors: the BPE merges: starts with a UTF-8 byte-order mark (BOM); save it "
                                "without one") == 0);
    if (back) tokenizer_free(back);
    back = tok_bpe_from_text("ck.safetensors", vocab, vocab_len, merges, merges_len, err, sizeof err);
    EXPECT(back != NULL); /* the same merges without it */
    tokenizer_free(back);
    free(bom);
    free(text);
    free(a.ids);
    free(b.ids);
    free(vocab);
    free(merges);
}

/* Pre-tokens are cached with their ids (encoder.py's cache), and the cache empties when full: a
 * text of 50,000 distinct words, twice over, encodes as each of its words does alone. */
static void test_cache_changes_nothing(void) {
    size_t cap = 50000 * 16, n = 0;
    char *text = xmalloc(2 * cap), err[256];
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < 50000; i++) n += (size_t)snprintf(text + n, 2 * cap - n, " w%dq%c", i * 7919, 'a' + i % 26);
    TokenIds whole = {0}, alone = {0};
    EXPECT(tokenizer_encode(gpt2, text, n, &whole, err, sizeof err) == 0);
    for (size_t i = 0; i < n;) {
        size_t end = bpe_pretoken_end((const unsigned char *)text, n, i);
        Tokenizer *fresh = i < 40 ? tok_bpe_load("data/gpt2", err, sizeof err) : NULL; /* a cold cache too */
        EXPECT(tokenizer_encode(fresh ? fresh : gpt2, text + i, end - i, &alone, err, sizeof err) == 0);
        tokenizer_free(fresh);
        i = end;
    }
    EXPECT(whole.n == alone.n && memcmp(whole.ids, alone.ids, whole.n * sizeof *whole.ids) == 0);
    free(whole.ids);
    free(alone.ids);
    free(text);
}

/* chargpt's tokenizer behind the same interface: one token per character, its bytes UTF-8, and a
 * character outside the vocabulary named with its position in characters. */
static void test_character_tokenizer(void) {
    const char *text = "h\xC3\xA9llo w\xC3\xB6rld";
    size_t bad;
    Tokenizer *t = tok_chars_build(text, strlen(text), 0, &bad);
    CHECK(t != NULL);
    EXPECT(t->kind == TOKENIZER_CHARS && tokenizer_vocab_size(t) == 9); /* ' ' d h l o r w é ö */
    TokenIds ids = {0};
    char err[256];
    EXPECT(tokenizer_encode(t, text, strlen(text), &ids, err, sizeof err) == 0 && ids.n == 11);
    size_t n;
    char *round = decode_all(t, &ids, &n);
    EXPECT(n == strlen(text) && memcmp(round, text, n) == 0);
    free(round);
    size_t len;
    const char *e_acute = tokenizer_token(t, 7, &len);
    EXPECT(len == 2 && memcmp(e_acute, "\xC3\xA9", 2) == 0);
    ids.n = 0;
    EXPECT(tokenizer_encode(t, "h\xC3\xA9z", 4, &ids, err, sizeof err) == -1 && ids.n == 0 &&
           strcmp(err, "character 'z' (U+007A) at position 2 is not in the vocabulary") == 0);
    EXPECT(tokenizer_encode(t, "h\xC3", 2, &ids, err, sizeof err) == -1 &&
           strcmp(err, "invalid UTF-8 at byte offset 1") == 0);
    size_t vl;
    char *saved = tok_chars_to_string(t, &vl);
    Tokenizer *back = tok_chars_from_string(saved, vl, 0);
    EXPECT(back && tokenizer_vocab_size(back) == 9 && tok_chars_id(back, 0xF6) == 8);
    EXPECT(tok_chars_from_string("ba", 2, 0) == NULL); /* not ascending */
    EXPECT(tok_chars_build("a\xFF", 2, 0, &bad) == NULL && bad == 1);
    Tokenizer *bytes = tok_chars_build("a\xFF", 2, 1, &bad);
    EXPECT(bytes && bytes->kind == TOKENIZER_BYTES && memcmp(tokenizer_token(bytes, 1, &len), "\xFF", 1) == 0 &&
           len == 1);
    tokenizer_free(bytes);
    tokenizer_free(back);
    tokenizer_free(t);
    free(saved);
    free(ids.ids);
}

int main(void) {
    CHECK(mkdtemp(dir) != NULL);
    if (getenv("MINGPT")) binary = getenv("MINGPT");
    char err[512];
    gpt2 = tok_bpe_load("data/gpt2", err, sizeof err);
    if (!gpt2) {
        printf("FAIL loading data/gpt2 (run from the repository root via make test): %s\n", err);
        return 1;
    }
    RUN(test_unicode_classes);
    RUN(test_pretokenizer_tricky_spots);
    RUN(test_fixture_matches_mingpt_bpe);
    RUN(test_round_trip_and_invalid_utf8);
    RUN(test_one_megabyte_word_is_fast);
    RUN(test_hugging_face_layout);
    RUN(test_small_vocabularies_and_load_errors);
    RUN(test_written_out_and_read_back);
    RUN(test_character_tokenizer);
    RUN(test_cache_changes_nothing);
    if (access(binary, X_OK) == 0) RUN(test_encode_and_decode_commands);
    else {
        printf("FAIL %s is not built (run from the repository root via make test)\n", binary);
        harness_failed++;
    }
    tokenizer_free(gpt2);
    harness_remove_dir(dir);
    return harness_finish();
}
