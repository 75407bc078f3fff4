/* progress.h — what a training run shows while it runs. On a terminal: one status line redrawn in
 * place (carriage return, clear to end of line), cut to the terminal's width, coloured unless
 * NO_COLOR is set. Anywhere else (a pipe, a log file, CI): plain lines, no control characters.
 * Anything else printed during the run calls term_clear first so it never mixes with the status.
 */
#ifndef MINGPT_PROGRESS_H
#define MINGPT_PROGRESS_H

#include <stddef.h>

typedef struct {
    int tty;     /* stderr is a terminal that understands \r and ESC[K */
    int color;   /* tty, and NO_COLOR unset or empty */
    int quiet;   /* --quiet: errors and the final summary only */
    int showing; /* the status line is on screen */
} Term;

void term_init(Term *term, int quiet);
/* Draws the status line (terminal only): the fields joined by " | ", as many as fit the terminal's
 * width whole (the first always), so a narrow terminal drops the last fields, not half of one. */
void term_status(Term *term, const char *const *fields, int n_fields);
/* Removes the status line so that ordinary output can follow. */
void term_clear(Term *term);
/* SGR colour code (e.g. "32" green, "1" bold) around text, or the text alone without colour. */
const char *term_paint(const Term *term, const char *sgr, const char *text, char *buf, size_t size);

/* A duration for people: "42s", "4m05s", "2h13m". */
void format_duration(double seconds, char *out, size_t size);

#endif
