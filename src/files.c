/* files.c — output and input checks (see files.h). */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

const char *file_kind(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

/* Where a path leads: the file itself if it exists; else its nearest existing folder and the rest
 * of the path below it, "." and ".." resolved by name (the rest does not exist yet, so it holds no
 * symbolic link to follow). Two outputs are the same file when both match. */
typedef struct {
    int exists;
    struct stat st;        /* the file, or its nearest existing folder */
    char *rest;            /* !exists: the missing part, normalised (owned) */
    char *base;            /* !exists: the nearest existing folder's path; exists: NULL, or the
                              path without ".." that names the file (owned) */
} Identity;

static void identity_free(Identity *id) {
    free(id->rest);
    free(id->base);
}

static void identify(const char *path, Identity *id) {
    memset(id, 0, sizeof *id);
    if (stat(path, &id->st) == 0) {
        id->exists = 1;
        return;
    }
    size_t n = strlen(path);
    char *dir = xmalloc(n + 2), *rest = xmalloc(n + 2);
    memcpy(dir, path, n + 1);
    rest[0] = '\0';
    /* move the last component of dir to the front of rest until dir exists */
    for (;;) {
        size_t len = strlen(dir);
        while (len > 1 && dir[len - 1] == '/') dir[--len] = '\0';
        char *slash = strrchr(dir, '/');
        const char *last = slash ? slash + 1 : dir;
        size_t k = strlen(last), r = strlen(rest);
        memmove(rest + k + 1, rest, r + 1);
        memcpy(rest, last, k);
        rest[k] = '/';
        if (!slash) strcpy(dir, ".");
        else if (slash == dir) dir[1] = '\0';
        else *slash = '\0';
        if (stat(dir, &id->st) == 0 || !slash) break;
    }
    /* normalise rest: drop "" and ".", let ".." take back the component before it */
    char *out = xmalloc(strlen(rest) + 1);
    size_t o = 0;
    int up = 0; /* rest had a ".." */
    for (char *c = rest; *c;) {
        char *end = strchr(c, '/');
        size_t k = end ? (size_t)(end - c) : strlen(c);
        up |= k == 2 && c[0] == '.' && c[1] == '.';
        if (k == 2 && c[0] == '.' && c[1] == '.' && o > 0) {
            while (o > 0 && out[o - 1] != '/') o--;
            if (o > 0) o--;
        } else if (!(k == 0 || (k == 1 && c[0] == '.'))) {
            if (o > 0) out[o++] = '/';
            memcpy(out + o, c, k);
            o += k;
        }
        c += k + (end ? 1 : 0);
    }
    out[o] = '\0';
    free(rest);
    id->rest = out;
    id->base = dir;
    if (up) {
        /* "missing/../x": once a writer makes "missing" (as a checkpoint's folder is made), the
         * kernel resolves the path to base/x, which may well exist: identify that instead */
        size_t nb = strlen(dir), no = strlen(out);
        char *joined = xmalloc(nb + no + 2);
        snprintf(joined, nb + no + 2, "%s%s%s", dir, no ? "/" : "", out);
        identity_free(id);
        identify(joined, id); /* (joined's missing part has no ".." to take back: no second round) */
        if (id->exists) id->base = joined; /* the path that names it */
        else free(joined);
    }
}


/* The folder a write to path lands in, as a path: its directory part ("." for a bare name).
 * check_outputs hands it output_target's answer, so a symbolic link's target's folder counts, not
 * the link's. */
static char *parent_path(const char *path) {
    size_t n = strlen(path);
    char *dir = xmalloc(n + 2);
    memcpy(dir, path, n + 1);
    while (n > 1 && dir[n - 1] == '/') dir[--n] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash) strcpy(dir, ".");
    else if (slash == dir) dir[1] = '\0';
    else *slash = '\0';
    return dir;
}

/* 1 if writing path lands in the folder `folder` or in a folder below it, however path names it
 * ("DIR/x", "DIR/sub/../x", a link to DIR): climbs from the existing folder that will hold it
 * through ".." to the root, comparing device and inode. */
static int inside_folder(const char *path, const struct stat *folder) {
    Identity parent;
    char *dir = parent_path(path);
    identify(dir, &parent); /* a missing parent: its nearest existing folder, which will hold it */
    const char *start = parent.base ? parent.base : dir;
    size_t n = strlen(start);
    enum { MAX_LEVELS = 256 };
    char *cur = xmalloc(n + 3 * MAX_LEVELS + 1);
    memcpy(cur, start, n + 1);
    struct stat st = parent.st, up;
    int inside = 0;
    for (int level = 0; level < MAX_LEVELS; level++) {
        if (st.st_dev == folder->st_dev && st.st_ino == folder->st_ino) {
            inside = 1;
            break;
        }
        strcat(cur, "/..");
        if (stat(cur, &up) != 0 || (up.st_dev == st.st_dev && up.st_ino == st.st_ino)) break; /* the root */
        st = up;
    }
    free(cur);
    free(dir);
    identity_free(&parent);
    return inside;
}

static char *copy_string(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

#define REPLACE_ONLY_REGULAR "mingpt writes a new file and renames it into place, so it only writes over regular files"

char *output_target(const char *path, char *err, size_t err_size) {
    enum { MAX_LINKS = 40 }; /* Linux's own limit on the links in one path */
    char *cur = copy_string(path);
    struct stat st;
    for (int hops = 0;; hops++) {
        if (lstat(cur, &st) != 0) {
            if (hops == 0) return cur; /* a new file, or one the writer's own open will report */
            /* a dangling link: its target is created, in a folder that must already be there (a
             * folder made for a link's sake would be a surprise) */
            int e = errno;
            char *dir = parent_path(cur);
            struct stat ds;
            int dir_ok = e == ENOENT && stat(dir, &ds) == 0 && S_ISDIR(ds.st_mode);
            free(dir);
            if (dir_ok) return cur;
            error_text(err, err_size, "%s: a symbolic link to %s, which cannot be created: %s", path, cur,
                       e == ENOENT ? "its folder does not exist" : strerror(e));
            free(cur);
            return NULL;
        }
        if (!S_ISLNK(st.st_mode)) break;
        if (hops == MAX_LINKS) {
            error_text(err, err_size, "%s: too many levels of symbolic links (a loop?)", path);
            free(cur);
            return NULL;
        }
        /* st_size is the link's length, except on file systems that report 0 (/proc) */
        size_t cap = (size_t)st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
        char *link = xmalloc(cap);
        ssize_t n = readlink(cur, link, cap);
        if (n < 0 || (size_t)n >= cap) {
            error_text(err, err_size, "%s: cannot read the symbolic link %s: %s", path, cur,
                       n < 0 ? strerror(errno) : "it changed while being read");
            free(link);
            free(cur);
            return NULL;
        }
        link[n] = '\0';
        /* a relative link is relative to the folder holding it; "dir/../x" is left for the kernel,
         * which resolves ".." after a linked folder as the link itself does */
        char *slash = strrchr(cur, '/');
        char *next = link;
        if (link[0] != '/' && slash) {
            size_t d = (size_t)(slash - cur) + 1;
            next = xmalloc(d + (size_t)n + 1);
            memcpy(next, cur, d);
            memcpy(next + d, link, (size_t)n + 1);
            free(link);
        }
        free(cur);
        cur = next;
    }
    if (S_ISREG(st.st_mode)) return cur;
    if (strcmp(cur, path) == 0)
        error_text(err, err_size, "%s: exists and is %s; " REPLACE_ONLY_REGULAR, path, file_kind(st.st_mode));
    else
        error_text(err, err_size, "%s: a symbolic link to %s, which is %s; " REPLACE_ONLY_REGULAR, path, cur,
                   file_kind(st.st_mode));
    free(cur);
    return NULL;
}

/* Where check_outputs takes an output to land: output_target's answer, or path itself for a folder
 * (the writer says what it wanted instead). NULL with the message in err as output_target. */
static char *landing(const char *path, char *err, size_t err_size) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return copy_string(path);
    return output_target(path, err, err_size);
}

static int same_file(const Identity *a, const Identity *b) {
    if (a->exists != b->exists || a->st.st_dev != b->st.st_dev || a->st.st_ino != b->st.st_ino) return 0;
    return a->exists || strcmp(a->rest, b->rest) == 0;
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
        /* writers write through a symbolic link, so its target is what must not be an input */
        char why[1024];
        char *target = landing(out->path, why, sizeof why);
        if (!target) {
            error_text(err, err_size, "%s %s", out->role, why);
            return 1;
        }
        Identity io;
        identify(target, &io);
        int rc = 0;
        for (int j = 0; j < n_inputs && !rc; j++) {
            const FileRole *in = &inputs[j];
            if (!in->path || (in->may_equal && strcmp(in->may_equal, out->role) == 0)) continue;
            Identity ii;
            identify(in->path, &ii);
            int same = ii.exists && same_file(&io, &ii);
            identity_free(&ii);
            if (ii.exists && S_ISDIR(ii.st.st_mode) && inside_folder(target, &ii.st)) {
                /* a model or tokenizer folder: a new file there, or one of its files replaced,
                 * spoils a download the user may not have twice */
                rc = error_text(err, err_size, "%s %s is inside %s (%s); write it outside that folder",
                                out->role, out->path, in->role, in->path);
            } else if (same) {
                rc = error_text(err, err_size, "%s %s is %s; writing it would destroy it (choose another %s)",
                                out->role, out->path, in->role, out->role);
            }
        }
        for (int j = 0; j < i && !rc; j++) {
            const FileRole *other = &outputs[j];
            if (!other->path) continue;
            char *other_target = landing(other->path, why, sizeof why);
            Identity ij;
            identify(other_target ? other_target : other->path, &ij);
            free(other_target);
            int same = same_file(&io, &ij);
            identity_free(&ij);
            if (same)
                rc = error_text(err, err_size, "%s and %s both name %s; each output needs a file of its own",
                                other->role, out->role, out->path);
        }
        identity_free(&io);
        free(target);
        if (rc) return 2;
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
        return error_text(err, err_size, "%s: is %s, expected a file", path, file_kind(st.st_mode));
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

int read_all(const char *path, int allow_fifo, char **data, size_t *size, char *err, size_t err_size) {
    const char *name = path ? path : "standard input";
    int fd = path ? open_input(path, allow_fifo, err, err_size) : STDIN_FILENO;
    if (fd < 0) return -1;
    struct stat st;
    /* a regular file's size is known: one allocation, one more byte for the NUL, no copy */
    size_t cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16;
    size_t n = 0;
    char *buf = xmalloc(cap);
    int failed = 0;
    for (;;) {
        if (n + 1 == cap) {
            cap = xmul_size(cap, 2);
            char *grown = realloc(buf, cap);
            if (!grown) die(1, "%s: out of memory reading %zu bytes", name, cap);
            buf = grown;
        }
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) failed = errno;
        if (got <= 0) break;
        n += (size_t)got;
    }
    if (path) close(fd);
    if (failed) {
        free(buf);
        return error_text(err, err_size, "%s: read error: %s", name, strerror(failed));
    }
    buf[n] = '\0';
    *data = buf;
    *size = n;
    return 0;
}
