/* help.h — usage screens for `--help` and `mingpt help CMD`, and the man page made from them. The
 * commands come in a list (the tasks' commands from the task table, then main.c's tools), each
 * with its --help lines and its usage screen. */
#ifndef MINGPT_HELP_H
#define MINGPT_HELP_H

#include <stdio.h>

#include "task_table.h"

/* the usage screens of the general tools; the tasks' screens are in their files */
extern const char USAGE_INFO[], USAGE_PLOT[], USAGE_ENCODE[], USAGE_DECODE[];

/* mingpt --help: the list of commands (their summaries, in order) between a head and a tail. */
void print_usage_main(FILE *out, const Command *const *commands, int n);
/* Writes the man page (roff, section 1): a synopsis line and a section for each command. */
void print_man(FILE *out, const char *version, const Command *const *commands, int n);

#endif
