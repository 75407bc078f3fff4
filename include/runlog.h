/* runlog.h — a training run's history: one row per logged step, kept in memory for the plot and
 * written to a CSV file (--log) that spreadsheets and pandas read as is:
 *
 *     iter,time_s,train_loss,val_loss,lr,tokens_per_s
 *     10,1.234,4.012345,,5.000000e-04,8123.4
 *
 * A value that was not measured at that step (val_loss between evaluations) is an empty field,
 * and NaN in memory.
 */
#ifndef MINGPT_RUNLOG_H
#define MINGPT_RUNLOG_H

#include <stddef.h>
#include <stdio.h>

#define RUNLOG_HEADER "iter,time_s,train_loss,val_loss,lr,tokens_per_s"

typedef struct {
    long iter;
    double time_s, train_loss, val_loss, lr, tokens_per_s;
} LogRow;

typedef struct {
    LogRow *rows;
    size_t n, cap;
} RunLog;

void runlog_add(RunLog *log, const LogRow *row);
void runlog_free(RunLog *log);
/* Reads a CSV log into log (appending). A last row without its newline that does not parse (cut
 * short by a crash or a full disk) is dropped. Returns 0, or -1 with "PATH:LINE: what is wrong"
 * in err. */
int runlog_read_csv(const char *path, RunLog *log, char *err, size_t err_size);
/* Opens a CSV log for appending rows: append keeps what is there (a resumed run), otherwise the
 * file starts afresh. Writes the header when the file is new or empty. NULL with a message in err. */
FILE *runlog_open_csv(const char *path, int append, char *err, size_t err_size);
/* Replaces the file at path with log's rows (through a temporary file and a rename). Returns 0, or
 * -1 with a message in err. */
int runlog_rewrite_csv(const char *path, const RunLog *log, char *err, size_t err_size);
/* Writes one row and flushes it, so the file is complete whenever the run stops. */
int runlog_write_row(FILE *fp, const LogRow *row);

#endif
