/* dist.c — the ranks of a data-parallel run (see dist.h): MPI's collectives with MINGPT_MPI,
 * otherwise one rank. */
#include "dist.h"

#include <stdio.h>

#include "common.h"

#ifdef MINGPT_MPI
#include <mpi.h>

static int g_rank, g_size = 1, g_started, g_agreed;
static double g_comm_seconds;

void dist_init(int *argc, char ***argv) {
    CHECK(MPI_Init(argc, argv) == MPI_SUCCESS);
    /* a failed collective (a rank died) returns an error instead of hanging or aborting quietly */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_started = 1;
}

void dist_finish(int exit_code) {
    if (!g_started) return;
    g_started = 0;
    if (exit_code != 0 && g_size > 1 && !g_agreed) MPI_Abort(MPI_COMM_WORLD, exit_code);
    MPI_Finalize();
}

int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }

const char *dist_describe(void) {
    static char text[MPI_MAX_LIBRARY_VERSION_STRING + 64];
    char version[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int len = 0;
    MPI_Get_library_version(version, &len);
    for (int i = 0; version[i]; i++)
        if (version[i] == ',' || version[i] == '\n') version[i] = '\0'; /* "Open MPI v4.1.4" */
    snprintf(text, sizeof text, "MPI (%s), %d rank%s", version, g_size, g_size == 1 ? "" : "s");
    return text;
}

static void check_collective(int rc, const char *what) {
    if (rc == MPI_SUCCESS) return;
    fprintf(stderr, "mingpt: rank %d: %s across the %d ranks failed (another rank stopped?); exiting\n", g_rank,
            what, g_size);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

void dist_sum_floats(float *x, size_t n) {
    if (g_size == 1) return;
    double t = now_seconds();
    for (size_t done = 0; done < n;) { /* MPI counts are ints */
        int count = (int)MG_MIN(n - done, (size_t)1 << 28);
        check_collective(MPI_Allreduce(MPI_IN_PLACE, x + done, count, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
                         "summing the gradients");
        done += (size_t)count;
    }
    g_comm_seconds += now_seconds() - t;
}

void dist_sum_doubles(double *x, int n) {
    if (g_size == 1) return;
    check_collective(MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "summing the loss");
}

void dist_broadcast_int(int *x) {
    if (g_size == 1) return;
    check_collective(MPI_Bcast(x, 1, MPI_INT, 0, MPI_COMM_WORLD), "agreeing on whether to stop");
}

void dist_max_int(int *x) {
    if (g_size == 1) return;
    check_collective(MPI_Allreduce(MPI_IN_PLACE, x, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD), "agreeing on whether to stop");
}

int dist_same_u64(uint64_t x) {
    if (g_size == 1) return 1;
    uint64_t both[2] = {x, ~x}; /* the max of ~x is ~(the min of x) */
    check_collective(MPI_Allreduce(MPI_IN_PLACE, both, 2, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD),
                     "comparing the ranks' configurations");
    return both[0] == ~both[1];
}

void dist_exit_agreed(void) { g_agreed = 1; }

double dist_comm_seconds(void) { return g_comm_seconds; }

#else

void dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
}
void dist_finish(int exit_code) { (void)exit_code; }
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
const char *dist_describe(void) { return "no MPI (built without MPI=1)"; }
void dist_sum_floats(float *x, size_t n) {
    (void)x;
    (void)n;
}
void dist_sum_doubles(double *x, int n) {
    (void)x;
    (void)n;
}
void dist_broadcast_int(int *x) { (void)x; }
void dist_max_int(int *x) { (void)x; }
int dist_same_u64(uint64_t x) {
    (void)x;
    return 1;
}
void dist_exit_agreed(void) {}
double dist_comm_seconds(void) { return 0.0; }

#endif
