/* task_bpe.c — `mingpt encode` and `mingpt decode`: text <-> GPT-2 token ids on the command line,
 * as minGPT's BPETokenizer does in Python (bpe.py's encode and decode), through the tokenizer
 * interface. The ids travel as text: decimal numbers separated by single spaces on one line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "files.h"
#include "json.h"
#include "tasks.h"
#include "tokenizer.h"

/* All of path (NULL: standard input) into *data (malloc'd, NUL-terminated, may be empty). Returns
 * 0, or prints "mingpt: PATH: what is wrong" and returns 1. */
static int read_input(const char *path, char **data, size_t *size) {
    char err[512];
    if (read_all(path, 1, data, size, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: %s\n", err);
        return 1;
    }
    /* an empty file or pipe is an empty text; a FIFO named on the command line that gave nothing had
     * no writer, most likely (its reader would otherwise have waited) */
    struct stat st;
    if (*size == 0 && path && stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
        fprintf(stderr, "mingpt: %s: a FIFO that gave no data (no writer?)\n", path);
        free(*data);
        return 1;
    }
    return 0;
}

static Tokenizer *load_tokenizer(const char *dir) {
    char err[1024];
    Tokenizer *tok = tok_bpe_load(dir, err, sizeof err);
    if (!tok) fprintf(stderr, "mingpt: %s\n", err);
    return tok;
}

int task_encode(const char *tokenizer_dir, const char *file) {
    Tokenizer *tok = load_tokenizer(tokenizer_dir);
    if (!tok) return 1;
    char *text, err[256];
    size_t n;
    if (read_input(file, &text, &n) != 0) {
        tokenizer_free(tok);
        return 1;
    }
    TokenIds ids = {0};
    int rc = 0;
    if (tokenizer_encode(tok, text, n, &ids, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: %s: %s\n", file ? file : "standard input", err);
        rc = 1;
    } else {
        for (size_t i = 0; i < ids.n; i++) printf(i ? " %d" : "%d", (int)ids.ids[i]);
        putchar('\n');
    }
    free(ids.ids);
    free(text);
    tokenizer_free(tok);
    return rc;
}

static int is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

int task_decode(const char *tokenizer_dir, const char *file) {
    Tokenizer *tok = load_tokenizer(tokenizer_dir);
    if (!tok) return 1;
    char *text;
    size_t n;
    if (read_input(file, &text, &n) != 0) {
        tokenizer_free(tok);
        return 1;
    }
    const char *name = file ? file : "standard input";
    TokenIds ids = {0};
    int rc = 0;
    /* every id is checked before any byte is written: a bad one leaves no half-decoded text */
    for (size_t i = 0; i < n && rc == 0;) {
        if (is_blank(text[i])) {
            i++;
            continue;
        }
        size_t start = i, end = i;
        while (end < n && !is_blank(text[end])) end++;
        unsigned long long v = 0;
        int is_number = 1;
        for (size_t k = start; k < end; k++) {
            if (text[k] < '0' || text[k] > '9') is_number = 0;
            else if (v <= (unsigned long long)INT32_MAX) v = v * 10 + (unsigned long long)(text[k] - '0');
        }
        char shown[64];
        if (!is_number) {
            fprintf(stderr, "mingpt: %s: id %zu (byte offset %zu): \"%s\" is not a token id\n", name, ids.n + 1,
                    start, json_printable(text + start, end - start, shown, sizeof shown));
            rc = 1;
        } else if (v >= (unsigned long long)tokenizer_vocab_size(tok)) {
            fprintf(stderr, "mingpt: %s: id %zu (byte offset %zu): %s is outside the vocabulary (0 to %d)\n", name,
                    ids.n + 1, start, json_printable(text + start, end - start, shown, sizeof shown),
                    (int)tokenizer_vocab_size(tok) - 1);
            rc = 1;
        } else {
            token_ids_push(&ids, (int32_t)v);
        }
        i = end;
    }
    for (size_t i = 0; i < ids.n && rc == 0; i++) {
        size_t len;
        const char *bytes = tokenizer_token(tok, ids.ids[i], &len);
        fwrite(bytes, 1, len, stdout);
    }
    free(ids.ids);
    free(text);
    tokenizer_free(tok);
    return rc;
}
