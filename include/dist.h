/* dist.h — data-parallel training over MPI, when built with `make MPI=1` (src/dist.c).
 *
 * Every rank holds the whole model and reads the same data; a step's micro-batches are dealt out
 * to the ranks in order, their gradients summed across ranks (dist_sum_floats), and every rank
 * applies the same AdamW update, so the weights stay bitwise the same everywhere. Rank 0 alone
 * prints, evaluates and saves. Without MPI=1 these are a single rank's no-ops and nothing of MPI
 * is compiled or linked.
 */
#ifndef MINGPT_DIST_H
#define MINGPT_DIST_H

#include <stddef.h>
#include <stdint.h>

/* Starts MPI when built with it (before anything else reads argv). */
void dist_init(int *argc, char ***argv);
/* Ends MPI; exit codes other than 0 first abort the other ranks, so none waits for this one. */
void dist_finish(int exit_code);
int dist_rank(void);
int dist_size(void);
/* "MPI (Open MPI v4.1.4), 2 ranks" or "no MPI (built without MPI=1)" */
const char *dist_describe(void);
/* x (n) summed over the ranks, in place on every rank. */
void dist_sum_floats(float *x, size_t n);
void dist_sum_doubles(double *x, int n);
/* Rank 0's value of *x on every rank. */
void dist_broadcast_int(int *x);
/* The largest of the ranks' *x, on every rank. */
void dist_max_int(int *x);
/* 1 on every rank if every rank passed the same x, else 0 on every rank: how the ranks check that
 * they run the same command on the same data before they depend on it. */
int dist_same_u64(uint64_t x);
/* Says that every rank ends with the exit code it passes to dist_finish (they agreed on it), so
 * MPI ends normally instead of aborting the others. */
void dist_exit_agreed(void);
/* Seconds spent inside dist_sum_floats so far. */
double dist_comm_seconds(void);

#endif
