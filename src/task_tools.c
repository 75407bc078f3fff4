/* task_tools.c — the two commands that look at what training left behind: `mingpt info CKPT`
 * (a checkpoint's contents, without loading its weights) and `mingpt plot` (a --log CSV drawn
 * as an SVG).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "common.h"
#include "json.h"
#include "plot.h"
#include "runlog.h"
#include "safetensors.h"
#include "tasks.h"
#include "utf8.h"

#define VOCAB_PREVIEW 96

/* A vocabulary character as it should appear between quotes: escapes for the invisible ones. */
static void put_vocab_char(uint32_t c, int as_bytes) {
    char utf8[5] = {0};
    if (c == '\n') fputs("\\n", stdout);
    else if (c == '\t') fputs("\\t", stdout);
    else if (c == '"' || c == '\\') printf("\\%c", (char)c);
    else if (c < 0x20 || c == 0x7F || (as_bytes && c >= 0x80)) printf("\\x%02X", (unsigned)c);
    else if (c >= 0x80 && c < 0xA0) printf("\\u%04X", (unsigned)c);
    else if (utf8_encode(c, utf8)) fputs(utf8, stdout);
}

int task_info(const char *path) {
    char err[512];
    GPTConfig c;
    CkptMeta meta = {0};
    if (ckpt_peek(path, &c, &meta, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: %s\n", err);
        return 1;
    }
    StFile f;
    if (st_open_header(&f, path, err, sizeof err) != 0) { /* cannot fail after ckpt_peek, barring a race */
        fprintf(stderr, "mingpt: %s\n", err);
        ckpt_meta_free(&meta);
        return 1;
    }
    struct stat st;
    double mib = stat(path, &st) == 0 ? (double)st.st_size / (1 << 20) : 0.0;
    const char *version = st_meta(&f, "format_version");
    printf("%s: %.2f MiB, %d tensors, ", path, mib, f.n_tensors);
    char shown[64];
    if (version) printf("mingpt checkpoint format %s\n", json_printable(version, strlen(version), shown, sizeof shown));
    else printf("no format_version (written by another program)\n");
    size_t total = gpt_count_params(&c), lm_head = (size_t)c.vocab_size * (size_t)c.n_embd;
    int as_bytes = strcmp(meta.encoding, "bytes") == 0;
    int bpe = strcmp(meta.task, "bpe") == 0;
    int lib = strcmp(meta.task, "lib") == 0; /* a library user's model (mingpt.h) */
    const char *lib_task = st_meta(&f, "lib_task");
    if (lib)
        printf("task:        lib (a program's own task: \"%s\")\n",
               lib_task ? json_printable(lib_task, strlen(lib_task), shown, sizeof shown) : "");
    else if (strcmp(meta.task, "add") == 0)
        printf("task:        add (%d-digit addition, minGPT's adder)\n", meta.ndigit);
    else if (bpe)
        printf("task:        bpe (language model on GPT-2's byte-level BPE tokens)\n");
    else
        printf("task:        chars (character-level language model, %s)\n", as_bytes ? "raw bytes" : "UTF-8");
    printf("model:       %d layers, %d heads, n_embd %d, block_size %d, dropout %g\n", c.n_layer, c.n_head,
           c.n_embd, c.block_size, (double)c.resid_pdrop);
    printf("parameters:  %zu (%.2fM, minGPT's count, without lm_head); %zu in all\n", total - lm_head,
           (double)(total - lm_head) / 1e6, total);
    if (lib) {
        printf("vocabulary:  %d tokens (their meaning is the program's)\n", c.vocab_size);
    } else if (strcmp(meta.task, "add") == 0) {
        printf("vocabulary:  the 10 digits\n");
    } else if (bpe) {
        /* checked for what info says; sample and eval rebuild the tokenizer and check all of it */
        size_t merges = 0;
        for (size_t i = 0; i < meta.merges_len; i++) merges += meta.merges[i] == '\n';
        if (meta.merges_len >= 8 && memcmp(meta.merges, "#version", 8) == 0) merges--;
        printf("vocabulary:  %d BPE tokens, %zu merges (kept in the checkpoint: %.2f MiB of metadata)\n",
               c.vocab_size, merges, (double)(meta.vocab_len + meta.merges_len) / (1 << 20));
    } else {
        Vocab v;
        if (vocab_from_string(&v, meta.vocab, meta.vocab_len, as_bytes) == 0) {
            printf("vocabulary:  %d %s: \"", v.size, as_bytes ? "bytes" : "characters");
            for (int i = 0; i < v.size && i < VOCAB_PREVIEW; i++) put_vocab_char(v.chars[i], as_bytes);
            printf("\"%s\n", v.size > VOCAB_PREVIEW ? " ..." : "");
            vocab_free(&v);
        }
    }
    printf("step:        %ld%s\n", meta.step,
           meta.has_optimizer ? "" : " (no optimizer state: --resume starts AdamW afresh)");
    if (meta.has_val_loss) printf("val loss:    %.4f when saved\n", meta.val_loss);
    else if (strcmp(meta.task, "add") == 0) printf("val loss:    none (the adder keeps its best test score: mingpt add --eval --ckpt)\n");
    else printf("val loss:    not recorded\n");
    st_close(&f);
    ckpt_meta_free(&meta);
    return 0;
}

int task_plot(const char *csv, const char *svg, const char *title, int log_scale) {
    char err[512];
    RunLog log = {0};
    int rc = 0;
    if (runlog_read_csv(csv, &log, err, sizeof err) != 0 ||
        plot_svg(svg, &log, title ? title : csv, log_scale, err, sizeof err) != 0) {
        fprintf(stderr, "mingpt: %s\n", err);
        rc = 1;
    } else {
        printf("wrote %s (%zu steps from %s)\n", svg, log.n, csv);
    }
    runlog_free(&log);
    return rc;
}
