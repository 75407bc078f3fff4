/* runlog.c — the run history and its CSV file (see runlog.h). */
#include "runlog.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "files.h"

void runlog_add(RunLog *log, const LogRow *row) {
    if (log->n == log->cap) {
        log->cap = log->cap ? 2 * log->cap : 256;
        LogRow *grown = realloc(log->rows, xmul_size(log->cap, sizeof *log->rows));
        if (!grown) die(1, "out of memory for %zu log rows", log->cap);
        log->rows = grown;
    }
    log->rows[log->n++] = *row;
}

void runlog_free(RunLog *log) {
    free(log->rows);
    memset(log, 0, sizeof *log);
}

/* One field of a row: a number, or NaN for an empty field. Returns 0, or -1 if it is neither. */
static int parse_field(const char *s, size_t n, double *out) {
    if (n == 0) {
        *out = NAN;
        return 0;
    }
    char buf[64];
    if (n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    errno = 0;
    *out = strtod(buf, &end);
    return errno == ERANGE || end != buf + n ? -1 : 0;
}

int runlog_read_csv(const char *path, RunLog *log, char *err, size_t err_size) {
    int fd = open_input(path, 0, err, err_size);
    if (fd < 0) return -1;
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        close(fd);
        return error_text(err, err_size, "%s: cannot open: %s", path, strerror(errno));
    }
    char line[512];
    long line_no = 0;
    int rc = 0;
    while (fgets(line, sizeof line, fp)) {
        line_no++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            rc = error_text(err, err_size, "%s:%ld: line too long for a log row", path, line_no);
            break;
        }
        int complete = n > 0 && line[n - 1] == '\n';
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        if (line_no == 1) {
            if (strcmp(line, RUNLOG_HEADER) != 0) {
                rc = error_text(err, err_size, "%s:1: not a mingpt log (the header should be %s)", path,
                                RUNLOG_HEADER);
                break;
            }
            continue;
        }
        if (n == 0) continue;
        double v[6];
        int k = 0;
        const char *field = line;
        for (;;) {
            const char *comma = strchr(field, ',');
            size_t len = comma ? (size_t)(comma - field) : strlen(field);
            if (k == 6 || parse_field(field, len, &v[k]) != 0) {
                k = -1;
                break;
            }
            k++;
            if (!comma) break;
            field = comma + 1;
        }
        if (k != 6 || !(v[0] >= 0 && v[0] < 1e15 && v[0] == floor(v[0]))) {
            if (!complete) break; /* the last row, cut short by a crash or a full disk: dropped */
            rc = error_text(err, err_size, "%s:%ld: expected %s (numbers; val_loss may be empty)", path,
                            line_no, RUNLOG_HEADER);
            break;
        }
        LogRow row = {(long)v[0], v[1], v[2], v[3], v[4], v[5]};
        runlog_add(log, &row);
    }
    if (rc == 0 && ferror(fp)) rc = error_text(err, err_size, "%s: read error", path);
    if (rc == 0 && line_no == 0) rc = error_text(err, err_size, "%s: the file is empty", path);
    fclose(fp);
    return rc;
}

FILE *runlog_open_csv(const char *path, int append, char *err, size_t err_size) {
    FILE *fp = fopen(path, append ? "ab" : "wb");
    if (!fp) {
        error_text(err, err_size, "%s: cannot write the log: %s", path, strerror(errno));
        return NULL;
    }
    if (ftell(fp) == 0 && (fputs(RUNLOG_HEADER "\n", fp) < 0 || fflush(fp) != 0)) {
        error_text(err, err_size, "%s: cannot write the log: %s", path, strerror(errno));
        fclose(fp);
        return NULL;
    }
    return fp;
}

int runlog_rewrite_csv(const char *path, const RunLog *log, char *err, size_t err_size) {
    char *target = output_target(path, err, err_size);
    if (!target) return -1;
    char *tmp = temp_path(target);
    FILE *fp = runlog_open_csv(tmp, 0, err, err_size);
    int rc = fp ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < log->n; i++)
        if (runlog_write_row(fp, &log->rows[i]) != 0) rc = error_text(err, err_size, "%s: cannot write the log: %s", path, strerror(errno));
    if (fp && fclose(fp) != 0 && rc == 0) rc = error_text(err, err_size, "%s: cannot write the log: %s", path, strerror(errno));
    if (rc == 0 && rename(tmp, target) != 0) rc = error_text(err, err_size, "%s: cannot replace the log: %s", path, strerror(errno));
    if (rc != 0) unlink(tmp);
    free(tmp);
    free(target);
    return rc;
}

static void put_value(FILE *fp, const char *fmt, double v) {
    if (isfinite(v)) fprintf(fp, fmt, v);
}

int runlog_write_row(FILE *fp, const LogRow *r) {
    fprintf(fp, "%ld,", r->iter);
    put_value(fp, "%.3f", r->time_s);
    fputc(',', fp);
    put_value(fp, "%.6f", r->train_loss);
    fputc(',', fp);
    put_value(fp, "%.6f", r->val_loss);
    fputc(',', fp);
    put_value(fp, "%.6e", r->lr);
    fputc(',', fp);
    put_value(fp, "%.1f", r->tokens_per_s);
    fputc('\n', fp);
    return fflush(fp) == 0 && !ferror(fp) ? 0 : -1;
}
