/* help.h — usage screens for `--help` and `mingpt help CMD`, and the man page made from them. */
#ifndef MINGPT_HELP_H
#define MINGPT_HELP_H

#include <stdio.h>

extern const char *const USAGE_MAIN, *const USAGE_TRAIN, *const USAGE_SAMPLE, *const USAGE_EVAL,
    *const USAGE_ADD, *const USAGE_INFO, *const USAGE_PLOT, *const USAGE_ENCODE, *const USAGE_DECODE;

/* The usage screen of a command ("train", ...), or NULL if there is no such command. */
const char *usage_of(const char *command);
/* Writes the man page (roff, section 1). */
void print_man(FILE *out, const char *version);

#endif
