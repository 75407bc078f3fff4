/* progress.c — the terminal status line, the progress of long operations, and duration
 * formatting (see progress.h). */
#include "progress.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "common.h"

void term_init(Term *term, int quiet) {
    const char *t = getenv("TERM"), *no_color = getenv("NO_COLOR");
    memset(term, 0, sizeof *term);
    term->quiet = quiet;
    term->tty = !quiet && isatty(STDERR_FILENO) && !(t && strcmp(t, "dumb") == 0);
    term->color = term->tty && !(no_color && no_color[0]);
    const char *every = getenv("MINGPT_STATUS_INTERVAL");
    char *end;
    term->status_every = every && every[0] ? strtod(every, &end) : NAN;
    if (!(every && every[0] && !*end && term->status_every >= 0 && term->status_every <= 1e6))
        term->status_every = 5.0;
}

/* Columns of the terminal on stderr (80 if it will not say). */
static int term_width(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

/* Columns that s takes (escape sequences and UTF-8 continuation bytes take none). */
static int visible_width(const char *s) {
    int col = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\033') {
            while (s[i + 1] && s[i] != 'm') i++;
            continue;
        }
        if (((unsigned char)s[i] & 0xC0) != 0x80) col++;
    }
    return col;
}

void term_status(Term *term, const char *const *fields, int n_fields) {
    if (!term->tty || n_fields < 1) return;
    /* one column short of the width: a full line would wrap on some terminals and break \r */
    int room = term_width() - 1, used = visible_width(fields[0]);
    fprintf(stderr, "\r%s", fields[0]);
    for (int i = 1; i < n_fields; i++) {
        int w = 3 + visible_width(fields[i]);
        if (used + w > room) break;
        fprintf(stderr, " | %s", fields[i]);
        used += w;
    }
    fputs("\033[K", stderr);
    fflush(stderr);
    term->showing = 1;
}

void term_clear(Term *term) {
    if (!term->showing) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    term->showing = 0;
}

const char *term_paint(const Term *term, const char *sgr, const char *text, char *buf, size_t size) {
    if (term->color) snprintf(buf, size, "\033[%sm%s\033[0m", sgr, text);
    else snprintf(buf, size, "%s", text);
    return buf;
}

void format_duration(double seconds, char *out, size_t size) {
    if (!(seconds >= 0)) seconds = 0; /* also NaN */
    long s = (long)(seconds + 0.5);
    if (s < 60) snprintf(out, size, "%lds", s);
    else if (s < 3600) snprintf(out, size, "%ldm%02lds", s / 60, s % 60);
    else snprintf(out, size, "%ldh%02ldm", s / 3600, (s % 3600) / 60);
}

/* the status line appears only for what lasts: a flash at every quick save would be noise */
#define STATUS_TTY_DELAY 0.25

void status_begin(Status *s, Term *term, const char *what) {
    s->term = term;
    snprintf(s->what, sizeof s->what, "%s", what);
    s->t_start = s->t_shown = now_seconds();
    s->lines = 0;
}

int status_due(const Status *s) {
    const Term *term = s->term;
    if (term->quiet) return 0;
    double now = now_seconds();
    if (term->tty)
        return now - s->t_start >= fmin(STATUS_TTY_DELAY, term->status_every) &&
               (now - s->t_shown >= 0.1 || term->status_every == 0);
    return now - s->t_shown >= term->status_every;
}

void status_update(Status *s, const char *detail) {
    if (!status_due(s)) return;
    double now = now_seconds();
    char elapsed[32];
    format_duration(now - s->t_start, elapsed, sizeof elapsed);
    if (s->term->tty) {
        const char *fields[3] = {s->what, detail, elapsed};
        term_status(s->term, fields, 3);
    } else {
        fprintf(stderr, "%s: %s, %s\n", s->what, detail, elapsed);
        s->lines++;
    }
    s->t_shown = now;
}

void status_end(Status *s, const char *detail) {
    Term *term = s->term;
    double took = now_seconds() - s->t_start;
    term_clear(term);
    if (term->quiet || (s->lines == 0 && took < term->status_every)) return;
    char elapsed[32];
    format_duration(took, elapsed, sizeof elapsed);
    fprintf(stderr, "%s: %s in %s\n", s->what, detail, elapsed);
}

void format_bytes_of(double done, double total, char *out, size_t size) {
    static const struct {
        double scale;
        const char *unit;
    } UNITS[] = {{1024.0 * 1024 * 1024, "GiB"}, {1024.0 * 1024, "MiB"}, {1024.0, "KiB"}};
    int u = 0;
    while (u < 2 && total < UNITS[u].scale) u++;
    double scale = UNITS[u].scale;
    int digits = total / scale < 10; /* "1.2 of 1.9 GiB", "120 of 480 MiB" */
    snprintf(out, size, "%.*f of %.*f %s", digits, done / scale, digits, total / scale, UNITS[u].unit);
}
