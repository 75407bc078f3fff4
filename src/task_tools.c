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
#include "task_common.h"
#include "task_table.h"
#include "tasks.h"

int task_info(const char *path) {
    char err[512];
    GPTConfig c;
    CkptMeta meta = {0};
    if (task_peek_checkpoint(path, &c, &meta, err, sizeof err) != 0) {
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
    /* NULL: a library user's model (mingpt.h), or another program's task */
    const TaskDef *task = task_of_checkpoint(meta.task);
    size_t lib_task_len;
    const char *lib_task = ckpt_meta_get(&meta, "lib_task", &lib_task_len);
    if (task)
        task->describe(&meta, &c, INFO_TASK);
    else if (strcmp(meta.task, "lib") == 0)
        printf("task:        lib (a program's own task: \"%s\")\n",
               lib_task ? json_printable(lib_task, lib_task_len, shown, sizeof shown) : "");
    else /* (a task's name is letters, digits, '_', '-' and '.': checkpoint.h) */
        printf("task:        %s (not one of this command's tasks: another program's)\n", meta.task);
    printf("model:       %d layers, %d heads, n_embd %d, block_size %d, dropout %g\n", c.n_layer, c.n_head,
           c.n_embd, c.block_size, (double)c.resid_pdrop);
    printf("parameters:  %zu (%.2fM, minGPT's count, without lm_head); %zu in all\n", total - lm_head,
           (double)(total - lm_head) / 1e6, total);
    if (!task) printf("vocabulary:  %d tokens (their meaning is the program's)\n", c.vocab_size);
    else task->describe(&meta, &c, INFO_VOCAB);
    printf("step:        %ld\n", meta.step);
    if (meta.has_optimizer) printf("optimizer:   AdamW moments at step %ld (--resume continues exactly)\n", meta.step);
    else printf("optimizer:   none, weights only (--resume starts AdamW afresh)\n");
    char settings[1024];
    if (describe_settings(&meta, settings, sizeof settings)) printf("settings:   %s (--resume keeps them)\n", settings);
    if (meta.has_val_loss) printf("val loss:    %.4f when saved\n", meta.val_loss);
    else if (!task || !task->describe(&meta, &c, INFO_NO_VAL_LOSS)) printf("val loss:    not recorded\n");
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
