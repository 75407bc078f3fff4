/* files.c — output and input checks (see files.h). */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static const char *kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

/* Where a path leads: the file itself if it exists, else its folder and last name (two outputs
 * that do not exist yet are the same file when both match). */
typedef struct {
    int exists, parent_known;
    struct stat st;        /* exists: the file; else its folder */
    const char *base;      /* !exists: the last component */
} Identity;

static void identify(const char *path, Identity *id) {
    memset(id, 0, sizeof *id);
    if (stat(path, &id->st) == 0) {
        id->exists = 1;
        return;
    }
    const char *slash = strrchr(path, '/');
    id->base = slash ? slash + 1 : path;
    size_t n = slash ? (size_t)(slash - path) : 0;
    char *dir = xmalloc(n + 2);
    if (slash) {
        memcpy(dir, path, n ? n : 1); /* "/name" lives in "/" */
        dir[n ? n : 1] = '\0';
    } else {
        strcpy(dir, ".");
    }
    id->parent_known = stat(dir, &id->st) == 0;
    free(dir);
}

static int same_file(const char *a, const Identity *ia, const char *b, const Identity *ib) {
    if (ia->exists != ib->exists) return 0;
    if (ia->exists) return ia->st.st_dev == ib->st.st_dev && ia->st.st_ino == ib->st.st_ino;
    if (ia->parent_known && ib->parent_known)
        return ia->st.st_dev == ib->st.st_dev && ia->st.st_ino == ib->st.st_ino && strcmp(ia->base, ib->base) == 0;
    return strcmp(a, b) == 0; /* a folder still to be made: the names are all there is */
}

int check_outputs(const FileRole *inputs, int n_inputs, const FileRole *outputs, int n_outputs,
                  char *err, size_t err_size) {
    for (int i = 0; i < n_outputs; i++) {
        const FileRole *out = &outputs[i];
        if (!out->path) continue;
        if (!out->path[0]) {
            error_text(err, err_size, "%s: the file name is empty", out->role);
            return 2;
        }
        Identity io;
        identify(out->path, &io);
        if (io.exists && !S_ISREG(io.st.st_mode) && !S_ISDIR(io.st.st_mode)) {
            /* (a folder gets its own message from the writer: "--out needs a file name") */
            error_text(err, err_size,
                       "%s %s: exists and is %s; mingpt writes a new file and renames it into place, "
                       "so it only writes over regular files",
                       out->role, out->path, kind_of(io.st.st_mode));
            return 1;
        }
        for (int j = 0; j < n_inputs; j++) {
            const FileRole *in = &inputs[j];
            if (!in->path || (in->may_equal && strcmp(in->may_equal, out->role) == 0)) continue;
            Identity ii;
            identify(in->path, &ii);
            if (ii.exists && same_file(out->path, &io, in->path, &ii)) {
                error_text(err, err_size, "%s %s is %s; writing it would destroy it (choose another %s)",
                           out->role, out->path, in->role, out->role);
                return 2;
            }
        }
        for (int j = 0; j < i; j++) {
            const FileRole *other = &outputs[j];
            if (!other->path) continue;
            Identity ij;
            identify(other->path, &ij);
            if (same_file(out->path, &io, other->path, &ij)) {
                error_text(err, err_size, "%s and %s both name %s; each output needs a file of its own",
                           other->role, out->role, out->path);
                return 2;
            }
        }
    }
    return 0;
}

int open_input(const char *path, int allow_fifo, char *err, size_t err_size) {
    /* O_NONBLOCK: opening a FIFO for reading waits for a writer, possibly forever */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return error_text(err, err_size, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        error_text(err, err_size, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return error_text(err, err_size, "%s: is a directory, expected a file", path);
    }
    if (!S_ISREG(st.st_mode) && !(allow_fifo && S_ISFIFO(st.st_mode))) {
        close(fd);
        return error_text(err, err_size, "%s: is %s, expected a file", path, kind_of(st.st_mode));
    }
    /* reads wait for data again: a FIFO with no writer then reads as end of file */
    int flags = fcntl(fd, F_GETFL);
    if (flags == -1 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
        error_text(err, err_size, "%s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
