/* files.h — the rules for the files mingpt reads and writes, checked before any work starts.
 *
 * An output is never one of the run's inputs nor another output (files are compared by device and
 * inode, so "./a" and "a", or a symbolic link, are caught too), never inside an input that is a
 * folder (a GPT-2 model or tokenizer folder: not its files, nor a new file beside or below them),
 * never an existing non-regular file
 * (outputs are written beside the target and renamed over it, which would replace a device or a
 * FIFO by a plain file), and never an empty name. An output that is a symbolic link is written
 * through: its target gets the new contents and the link stays (as cp does), so the target is what
 * these rules check. Inputs are opened without blocking, so a FIFO that nobody writes to is an
 * error instead of a hang.
 */
#ifndef MINGPT_FILES_H
#define MINGPT_FILES_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    const char *path;       /* NULL: not given, skipped */
    const char *role;       /* how the user named it: "--out", "the training text", ... */
    const char *may_equal;  /* inputs: the role of the one output allowed to be this file, or NULL */
} FileRole;

/* Checks outputs against the inputs and each other. Returns 0, or writes one line to err and
 * returns 2 when two arguments name the same file, an output lies inside an input folder or a name
 * is empty (a usage error), 1 when an output exists and is not a regular file. */
int check_outputs(const FileRole *inputs, int n_inputs, const FileRole *outputs, int n_outputs,
                  char *err, size_t err_size);

/* The file a write to path replaces: path itself, or, when path is a symbolic link (or a chain of
 * them), the file it leads to, which need not exist yet (a dangling link) if its folder does. A
 * writer writes a new file beside that and renames it over it. Returns it (malloc'd; a new file's
 * path as given), or NULL with one line naming path in err when that file exists and is not a
 * regular file (a FIFO, a device, a folder), the links loop, or a dangling link's folder is
 * missing. Shared by every writer, the library's included, and by check_outputs. */
char *output_target(const char *path, char *err, size_t err_size);

/* Opens path for reading: a regular file, or (if allow_fifo) a FIFO or pipe, which is then read in
 * blocking mode (with no writer it reads as empty). Anything else (a folder, a device, a socket) is
 * refused. Returns the descriptor, or -1 with "PATH: what is wrong" in err. */
int open_input(const char *path, int allow_fifo, char *err, size_t err_size);

/* All of path (NULL: standard input), opened as open_input does, into *data (malloc'd, with a NUL
 * after the *size bytes read; it may hold NULs itself and may be empty). Returns 0, or -1 with
 * "PATH: what is wrong" in err. */
int read_all(const char *path, int allow_fifo, char **data, size_t *size, char *err, size_t err_size);

/* What a file that is not a regular one is, for a message: "a folder", "a FIFO", ... */
const char *file_kind(mode_t mode);

#endif
