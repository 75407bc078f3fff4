/* fuzz_utf8.c — libFuzzer target for the UTF-8 decoder and the vocabulary built on it. Beyond "no
 * crash", it checks properties that would catch a wrong decoder: every decoded code point encodes
 * back to exactly the bytes it came from, a rejected input is rejected at a byte where decoding
 * really fails, and a vocabulary survives its round trip through the checkpoint string. Run by
 * `make fuzz`.
 */
#include <stdlib.h>
#include <string.h>

#include "tasks.h"
#include "utf8.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size) {
    uint32_t *text = NULL;
    size_t n = 0, bad = 0;
    int as_bytes = size > 0 && data[0] == 0xFF; /* both modes from one corpus */
    if (text_decode(data, size, as_bytes, &text, &n, &bad) == 0) {
        /* re-encode: the bytes must come back unchanged */
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
            char enc[4];
            if (as_bytes) {
                if (text[i] > 0xFF || data[at] != text[i]) abort();
                at++;
                continue;
            }
            int len = utf8_encode(text[i], enc);
            if (len == 0 || at + (size_t)len > size || memcmp(enc, data + at, (size_t)len) != 0) abort();
            at += (size_t)len;
        }
        if (at != size) abort();
        if (n > 0) {
            Vocab v, back;
            vocab_build(&v, text, n);
            size_t len;
            char *s = vocab_to_string(&v, &len);
            if (vocab_from_string(&back, s, len, as_bytes) != 0 || back.size != v.size ||
                memcmp(back.chars, v.chars, (size_t)v.size * sizeof *v.chars) != 0)
                abort();
            for (size_t i = 0; i < n; i++) {
                int k = vocab_index(&v, text[i]);
                if (k < 0 || v.chars[k] != text[i]) abort();
            }
            free(s);
            vocab_free(&v);
            vocab_free(&back);
        }
    } else {
        /* the reported offset is inside the input, everything before it decodes, and it does not */
        if (as_bytes || bad >= size) abort();
        uint32_t cp;
        for (size_t at = 0; at < bad;) {
            int len = utf8_decode(data + at, size - at, &cp);
            if (len == 0) abort();
            at += (size_t)len;
            if (at > bad) abort();
        }
        if (utf8_decode(data + bad, size - bad, &cp) != 0) abort();
    }
    free(text);
    return 0;
}
