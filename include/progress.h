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
    double status_every; /* seconds between a long operation's plain lines (5; see Status) */
} Term;

void term_init(Term *term, int quiet);
/* Draws the status line (terminal only): the fields joined by " | ", as many as fit the terminal's
 * width whole (the first always), so a narrow terminal drops the last fields, not half of one. */
void term_status(Term *term, const char *const *fields, int n_fields);
/* Removes the status line so that ordinary output can follow. */
void term_clear(Term *term);
/* SGR colour code (e.g. "32" green, "1" bold) around text, or the text alone without colour. */
const char *term_paint(const Term *term, const char *sgr, const char *text, char *buf, size_t size);

/* A long operation of a run (loading or saving a model, validating, sampling) while it goes:
 * on a terminal, the status line once it has taken a quarter of a second; elsewhere, a plain line
 * "WHAT: DETAIL, 12s" once it has taken term->status_every seconds and then at most that often,
 * so that a CI log stays short; and at the end, if it took that long, "WHAT: DETAIL in 57s".
 * What ends sooner prints nothing, so a small model's output is as it was. Nothing with --quiet.
 * MINGPT_STATUS_INTERVAL=SECONDS in the environment sets status_every: 0 prints every update,
 * which is how the tests see these lines without a slow operation. */
typedef struct {
    Term *term;
    char what[192];     /* "saving out/chargpt/model.safetensors", "validating" */
    double t_start, t_shown; /* t_shown: when the last line was printed (t_start before any) */
    int lines;          /* plain lines printed */
} Status;

void status_begin(Status *s, Term *term, const char *what);
/* 1 if status_update would print now: a caller may skip formatting its detail otherwise. */
int status_due(const Status *s);
/* detail: how far it is, e.g. "120/480 windows" */
void status_update(Status *s, const char *detail);
/* detail: what was done, e.g. "480 windows"; clears the status line */
void status_end(Status *s, const char *detail);
/* "1.2 of 1.9 GiB": done and total in the unit of the total */
void format_bytes_of(double done, double total, char *out, size_t size);

/* A duration for people: "42s", "4m05s", "2h13m". */
void format_duration(double seconds, char *out, size_t size);

#endif
