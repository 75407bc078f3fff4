/* safetensors.h — reading the safetensors format: an 8-byte little-endian header size, a JSON
 * header {name: {dtype, shape, data_offsets}, "__metadata__": {key: string}}, then raw
 * little-endian tensor data.
 *
 * st_open checks everything before trusting any of it: that the path is a regular file (a FIFO or a
 * device is refused without waiting on it), the header size against the file size, the JSON
 * strictly, each dtype and shape, and that the data offsets match the shapes, stay inside the
 * file, do not overlap and leave no hole. Names and values from the file reach messages only
 * through json_printable. Nothing here knows about GPT.
 */
#ifndef MINGPT_SAFETENSORS_H
#define MINGPT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 8
#define ST_MAX_HEADER (100u << 20) /* the reference implementation's limit */

typedef struct {
    char *name;
    char dtype[8];   /* "F32", "I64", ... */
    int ndim;
    size_t shape[ST_MAX_DIMS];
    size_t numel;
    size_t begin, end; /* byte offsets into the data section */
} StTensor;

typedef struct {
    char *key, *value;
    size_t len; /* bytes in value, which may contain NUL; 0 when writing means strlen(value) */
} StMeta;

typedef struct {
    char *path;
    unsigned char *data;  /* the data section, inside map (st_open), or NULL (st_open_header) */
    size_t data_size;
    void *map;            /* the whole file mapped read-only (owned), or NULL */
    size_t map_size;
    StTensor *tensors;    /* (n_tensors) in the header's order */
    int n_tensors;
    StTensor **by_name;   /* (n_tensors) the same tensors in strcmp order, for st_find's bsearch */
    char *names;          /* every tensor's name, NUL-terminated, back to back (owned) */
    StMeta *meta;         /* (n_meta) __metadata__ entries */
    int n_meta;
} StFile;

/* Opens and validates a file, and maps it (mmap, private: writes to data never reach the file)
 * rather than reading it into memory.
 * Returns 0, or -1 with a one-line message that names the path in err. On success release with
 * st_close. */
int st_open(StFile *file, const char *path, char *err, size_t err_size);
/* The same checks without reading the data (data stays NULL): for the metadata alone. */
int st_open_header(StFile *file, const char *path, char *err, size_t err_size);
void st_close(StFile *file);
/* The tensor called name, or NULL; a binary search, O(log n_tensors). */
const StTensor *st_find(const StFile *file, const char *name);
/* Says bytes[0..n) of file->data have been used: their pages leave this process's memory (they
 * are read from the file again if touched later, and whatever was written to them is lost). A reader that copies the tensors it wants and
 * releases each in turn holds about one tensor of the file at a time. Nothing for a file without
 * data. */
void st_release(const StFile *file, const void *bytes, size_t n);
/* Runs fn(ctx), which reads file->data, guarded against another program cutting the file short
 * meanwhile: reading a page the file no longer has raises SIGBUS, which here abandons fn and
 * returns -1 with "PATH: the file was cut short while it was being read ..." in err. Otherwise
 * returns what fn returns. fn must hold its state in ctx (not in locals that matter after an
 * abandon), so that its caller can free what it allocated. Single-threaded; not nested. */
int st_guarded(const StFile *file, int (*fn)(void *ctx), void *ctx, char *err, size_t err_size);
/* Reading and writing tell this function how far they are, when one is set (a command's progress
 * line; NULL, the default: nobody): st_release with the bytes it released and the file's data size,
 * st_write with the bytes of each tensor written and the data's total. One for the whole process,
 * like st_guarded's guard: loading and saving run on one thread. */
typedef void (*StProgress)(void *ctx, size_t bytes, size_t total);
void st_set_progress(StProgress fn, void *ctx);
/* The metadata value for key (NUL-terminated), or NULL. */
const char *st_meta(const StFile *file, const char *key);
/* The same, with its length in *len: a value may hold NUL characters (JSON's \u0000). */
const char *st_meta_n(const StFile *file, const char *key, size_t *len);
/* Copies an F32 tensor into dst (numel floats). Returns 0, or -1 with a message in err if the
 * tensor is missing, not F32, or not of the expected shape (ndim, shape). */
int st_read_f32(const StFile *file, const char *name, int ndim, const size_t *shape, float *dst,
                char *err, size_t err_size);
/* The same checks on the header alone (a file opened with st_open_header too): returns 0, or -1
 * with the message st_read_f32 would give. */
int st_check_f32(const StFile *file, const char *name, int ndim, const size_t *shape, char *err, size_t err_size);
/* The same checks without the copy: the tensor's bytes inside file->data (4·numel of them,
 * little-endian floats, not necessarily 4-byte aligned: read them with memcpy), or NULL with a
 * message in err. The file must have been opened with st_open. */
const unsigned char *st_f32_bytes(const StFile *file, const char *name, int ndim, const size_t *shape,
                                  char *err, size_t err_size);

/* One tensor to write: F32 data of the given shape. */
typedef struct {
    const char *name;
    int ndim;
    const size_t *shape;
    const float *data;
} StWriteTensor;

/* Writes a safetensors file atomically: into a temporary file in the same directory, flushed to
 * disk (fsync), then renamed over `path`, so a crash or a full disk leaves any previous file at
 * `path` intact. A symbolic link at path is written through (output_target): the link stays and
 * the file it leads to is replaced; anything else at path that is not a regular file (a FIFO, a
 * device, a folder) is refused before anything is written. Metadata values must be valid UTF-8.
 * Returns 0, or -1 with a message naming path in err. */
int st_write(const char *path, const StWriteTensor *tensors, int n_tensors, const StMeta *meta,
             int n_meta, char *err, size_t err_size);

#endif
