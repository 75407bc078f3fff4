/* task_table.c — the table of the command's built-in tasks (task_table.h). A new task is a
 * src/task_NAME.c defining its TaskDef, and one line here.
 */
#include "task_table.h"

#include <stddef.h>
#include <string.h>

#include "model.h"

extern const TaskDef TEXT_TASK, ADD_TASK;

const TaskDef *const TASKS[] = {&TEXT_TASK, &ADD_TASK, NULL};

const TaskDef *task_of_checkpoint(const char *ckpt_task) {
    for (int t = 0; TASKS[t]; t++)
        for (const char *const *name = TASKS[t]->ckpt_tasks; *name; name++)
            if (strcmp(*name, ckpt_task) == 0) return TASKS[t];
    return NULL;
}

/* The task's check of meta, if the command has the task. */
static int check_task_meta(const char *path, const CkptMeta *meta, const GPTConfig *c, char *err, size_t err_size) {
    const TaskDef *task = task_of_checkpoint(meta->task);
    return task && task->check_meta ? task->check_meta(path, meta, c, err, err_size) : 0;
}

int task_peek_checkpoint(const char *path, GPTConfig *config, CkptMeta *meta, char *err, size_t err_size) {
    if (ckpt_peek(path, config, meta, err, err_size) != 0) return -1;
    if (check_task_meta(path, meta, config, err, err_size) == 0) return 0;
    ckpt_meta_free(meta);
    return -1;
}

GPT *task_load_checkpoint(const char *path, Pool *pool, CkptMeta *meta, Trainer *tr,
                          const TrainConfig *train_config, char *err, size_t err_size) {
    GPT *m = ckpt_load(path, pool, meta, tr, train_config, err, err_size);
    if (!m || check_task_meta(path, meta, &m->config, err, err_size) == 0) return m;
    if (tr) trainer_free(tr);
    gpt_free(m);
    ckpt_meta_free(meta);
    return NULL;
}
