/* task_table.c — the table of the command's built-in tasks (task_table.h). A new task is a
 * src/task_NAME.c defining its TaskDef, and one line here.
 */
#include "task_table.h"

#include <stddef.h>
#include <string.h>

extern const TaskDef TEXT_TASK, ADD_TASK;

const TaskDef *const TASKS[] = {&TEXT_TASK, &ADD_TASK, NULL};

const TaskDef *task_of_checkpoint(const char *ckpt_task) {
    for (int t = 0; TASKS[t]; t++)
        for (const char *const *name = TASKS[t]->ckpt_tasks; *name; name++)
            if (strcmp(*name, ckpt_task) == 0) return TASKS[t];
    return NULL;
}
