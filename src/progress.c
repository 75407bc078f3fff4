/* progress.c — the terminal status line and duration formatting (see progress.h). */
#include "progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

void term_init(Term *term, int quiet) {
    const char *t = getenv("TERM"), *no_color = getenv("NO_COLOR");
    memset(term, 0, sizeof *term);
    term->quiet = quiet;
    term->tty = !quiet && isatty(STDERR_FILENO) && !(t && strcmp(t, "dumb") == 0);
    term->color = term->tty && !(no_color && no_color[0]);
}

/* Columns of the terminal on stderr (80 if it will not say). */
static int term_width(void) {
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

/* Visible characters of s (escape sequences and UTF-8 continuation bytes take no column). */
static size_t visible_prefix(const char *s, int columns) {
    size_t i = 0;
    int col = 0;
    while (s[i]) {
        if (s[i] == '\033') {
            while (s[i] && s[i] != 'm') i++;
            if (s[i]) i++;
            continue;
        }
        if (((unsigned char)s[i] & 0xC0) != 0x80 && col++ == columns) break;
        i++;
    }
    return i;
}

void term_status(Term *term, const char *line) {
    if (!term->tty) return;
    /* one column short of the width: a full line would wrap on some terminals and break \r */
    size_t n = visible_prefix(line, term_width() - 1);
    fprintf(stderr, "\r%.*s%s\033[K", (int)n, line, term->color ? "\033[0m" : "");
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
