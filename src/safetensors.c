/* safetensors.c — the reader and the writer declared in safetensors.h. */
#define _DEFAULT_SOURCE /* madvise's MADV_DONTNEED: glibc's posix_madvise ignores POSIX_MADV_DONTNEED */
#include "safetensors.h"

#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "files.h"
#include "json.h"

static size_t dtype_size(const char *dtype) {
    static const struct {
        const char *name;
        size_t size;
    } TYPES[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
                 {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
                 {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8}};
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++)
        if (strcmp(TYPES[i].name, dtype) == 0) return TYPES[i].size;
    return 0;
}

static int by_begin(const void *a, const void *b) {
    const StTensor *x = *(StTensor *const *)a, *y = *(StTensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

static int by_name(const void *a, const void *b) {
    return strcmp((*(StTensor *const *)a)->name, (*(StTensor *const *)b)->name);
}

static int name_vs_tensor(const void *name, const void *t) {
    return strcmp(name, (*(StTensor *const *)t)->name);
}

/* A name from the file, escaped for a message (see json_printable). */
#define SHOW(name, buf) json_printable((name), strlen(name), (buf), sizeof(buf))

/* Fills one StTensor from its header entry (t->name already set); returns 0 or -1 with err set. */
static int parse_entry(StTensor *t, const JsonValue *entry, const char *path, char *err, size_t err_size) {
    char name[128];
    SHOW(t->name, name);
    if (entry->type != JSON_OBJECT)
        return error_text(err, err_size, "%s: tensor \"%s\" is not a JSON object", path, name);
    const JsonValue *dtype = json_get(entry, "dtype"), *shape = json_get(entry, "shape"),
                    *offsets = json_get(entry, "data_offsets");
    if (!dtype || !shape || !offsets || entry->n != 3)
        return error_text(err, err_size,
                       "%s: tensor \"%s\" must have exactly dtype, shape and data_offsets", path, name);
    if (dtype->type != JSON_STRING || dtype->len >= sizeof t->dtype || !dtype_size(dtype->str)) {
        char shown[48];
        if (dtype->type == JSON_STRING) json_printable(dtype->str, dtype->len, shown, sizeof shown);
        return error_text(err, err_size, "%s: tensor \"%s\" has unknown dtype %s%s%s", path, name,
                       dtype->type == JSON_STRING ? "\"" : "",
                       dtype->type == JSON_STRING ? shown : "(not a string)",
                       dtype->type == JSON_STRING ? "\"" : "");
    }
    strcpy(t->dtype, dtype->str);
    if (shape->type != JSON_ARRAY || shape->n > ST_MAX_DIMS)
        return error_text(err, err_size, "%s: tensor \"%s\" has a bad shape (an array of at most %d sizes expected)",
                       path, name, ST_MAX_DIMS);
    t->ndim = (int)shape->n;
    t->numel = 1;
    for (size_t d = 0; d < shape->n; d++) {
        uint64_t dim;
        if (!json_uint(&shape->items[d], &dim) || dim > SIZE_MAX)
            return error_text(err, err_size, "%s: tensor \"%s\" has a bad shape entry", path, name);
        t->shape[d] = (size_t)dim;
        if (dim && t->numel > SIZE_MAX / dim)
            return error_text(err, err_size, "%s: tensor \"%s\" shape overflows", path, name);
        t->numel *= (size_t)dim;
    }
    uint64_t begin, end;
    if (offsets->type != JSON_ARRAY || offsets->n != 2 || !json_uint(&offsets->items[0], &begin) ||
        !json_uint(&offsets->items[1], &end) || begin > end || end > SIZE_MAX)
        return error_text(err, err_size, "%s: tensor \"%s\" has bad data_offsets", path, name);
    size_t elem = dtype_size(t->dtype);
    if (t->numel > SIZE_MAX / elem || end - begin != t->numel * elem)
        return error_text(err, err_size,
                       "%s: tensor \"%s\" data_offsets span %llu bytes but its shape needs %zu",
                       path, name, (unsigned long long)(end - begin),
                       t->numel <= SIZE_MAX / elem ? t->numel * elem : SIZE_MAX);
    t->begin = (size_t)begin;
    t->end = (size_t)end;
    return 0;
}

/* The tensor table, the name index and the metadata from the parsed header. */
static int read_tree(StFile *f, const JsonValue *root, char *err, size_t err_size) {
    if (root->type != JSON_OBJECT)
        return error_text(err, err_size, "%s: the JSON header is not an object", f->path);
    CHECK(root->n <= INT_MAX); /* the header is at most ST_MAX_HEADER bytes */
    /* the names go into one block, sized first */
    size_t names_size = 1;
    for (size_t i = 0; i < root->n; i++) names_size += strlen(root->items[i].key) + 1;
    f->names = xmalloc(names_size);
    f->tensors = xcalloc(root->n ? root->n : 1, sizeof(StTensor));
    size_t names_used = 0;
    for (size_t i = 0; i < root->n; i++) {
        const JsonValue *val = &root->items[i];
        if (strcmp(val->key, "__metadata__") == 0) {
            if (val->type != JSON_OBJECT)
                return error_text(err, err_size, "%s: __metadata__ is not an object", f->path);
            f->meta = xcalloc(val->n ? val->n : 1, sizeof(StMeta));
            for (size_t j = 0; j < val->n; j++) {
                const JsonValue *item = &val->items[j];
                if (item->type != JSON_STRING) {
                    char key[128];
                    return error_text(err, err_size, "%s: __metadata__ value \"%s\" is not a string",
                                      f->path, SHOW(item->key, key));
                }
                StMeta *m = &f->meta[f->n_meta++];
                m->key = xmalloc(strlen(item->key) + 1);
                strcpy(m->key, item->key);
                m->value = xmalloc((size_t)item->len + 1);
                memcpy(m->value, item->str, (size_t)item->len + 1);
                m->len = item->len;
            }
            continue;
        }
        StTensor *t = &f->tensors[f->n_tensors];
        t->name = f->names + names_used;
        strcpy(t->name, val->key);
        names_used += strlen(val->key) + 1;
        if (parse_entry(t, val, f->path, err, err_size) != 0) return -1;
        f->n_tensors++;
    }
    size_t n = (size_t)f->n_tensors;
    StTensor **order = xmalloc((n ? n : 1) * sizeof *order);
    for (size_t i = 0; i < n; i++) order[i] = &f->tensors[i];
    /* Offsets must tile the data section exactly: sorted, they start at 0, each begins where the
     * previous ended, and the last ends at the end of the file. */
    qsort(order, n, sizeof *order, by_begin);
    size_t pos = 0;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char name[128];
        if (order[i]->begin != pos)
            rc = error_text(err, err_size, "%s: tensor \"%s\" data %s", f->path, SHOW(order[i]->name, name),
                            order[i]->begin < pos ? "overlaps another tensor" : "leaves a hole before it");
        pos = order[i]->end;
    }
    if (rc == 0 && pos != f->data_size)
        rc = error_text(err, err_size, "%s: tensors cover %zu bytes of data but the file holds %zu",
                        f->path, pos, f->data_size);
    qsort(order, n, sizeof *order, by_name); /* names are unique: the JSON has no duplicate keys */
    f->by_name = order;
    return rc;
}

/* Reads exactly n bytes; returns 0, or -1 with errno set (0 if the file ended first). */
static int read_full(int fd, void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t got = read(fd, p, n < ((size_t)1 << 30) ? n : ((size_t)1 << 30));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            if (got == 0) errno = 0;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int read_failed(const char *path, char *err, size_t err_size) {
    if (errno == 0) return error_text(err, err_size, "%s: read failed (file changed while reading?)", path);
    return error_text(err, err_size, "%s: read failed: %s", path, strerror(errno));
}

/* st_open and st_open_header: the header is read and validated before any data is read. O_NONBLOCK
 * makes opening a FIFO return at once even with no writer (the fstat below then refuses it);
 * it changes nothing for a regular file. */
static int open_file(StFile *f, const char *path, int read_data, char *err, size_t err_size) {
    memset(f, 0, sizeof *f);
    f->path = xmalloc(strlen(path) + 1);
    strcpy(f->path, path);
    char *header = NULL;
    JsonValue *root = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        error_text(err, err_size, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        error_text(err, err_size, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        error_text(err, err_size, "%s: not a regular file (it is %s)", path, file_kind(st.st_mode));
        goto fail;
    }
    size_t file_size = (size_t)st.st_size;
    unsigned char size_bytes[8];
    if (file_size < 8) {
        error_text(err, err_size, "%s: too short to be a safetensors file (%zu bytes)", path, file_size);
        goto fail;
    }
    if (read_full(fd, size_bytes, 8) != 0) {
        read_failed(path, err, err_size);
        goto fail;
    }
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; i--) header_size = (header_size << 8) | size_bytes[i];
    if (header_size == 0) {
        error_text(err, err_size, "%s: header size is 0", path);
        goto fail;
    }
    if (header_size > file_size - 8) {
        error_text(err, err_size, "%s: not a safetensors file, or cut short (its header size %llu exceeds the file size %zu)", path,
                (unsigned long long)header_size, file_size);
        goto fail;
    }
    if (header_size > ST_MAX_HEADER) {
        error_text(err, err_size, "%s: header size %llu exceeds the %u-byte limit", path,
                (unsigned long long)header_size, ST_MAX_HEADER);
        goto fail;
    }
    header = xmalloc((size_t)header_size);
    f->data_size = file_size - 8 - (size_t)header_size;
    if (read_full(fd, header, (size_t)header_size) != 0) {
        read_failed(path, err, err_size);
        goto fail;
    }
    char jerr[160];
    root = json_parse(header, (size_t)header_size, jerr, sizeof jerr);
    free(header); /* the tree does not point into it: free it before building the tables */
    header = NULL;
    if (!root) {
        error_text(err, err_size, "%s: malformed JSON header (%s)", path, jerr);
        goto fail;
    }
    if (read_tree(f, root, err, err_size) != 0) goto fail;
    json_free(root);
    root = NULL;
    if (read_data) {
        /* Mapped, not read: the reader copies each tensor from the map to where it belongs and
         * st_release drops the pages, so a file never sits in memory twice. Private and writable,
         * as the buffer it replaces was: a write stays in this process (copy on write), never
         * reaches the file. (A file cut short by another process after the size checks above
         * makes reading its end raise SIGBUS: readers run under st_guarded.) */
        void *map = mmap(NULL, file_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            error_text(err, err_size, "%s: cannot map: %s", path, strerror(errno));
            goto fail;
        }
        f->map = map;
        f->map_size = file_size;
        f->data = (unsigned char *)map + 8 + (size_t)header_size;
        madvise(map, file_size, MADV_SEQUENTIAL); /* only a hint: read ahead, drop behind */
    }
    close(fd);
    return 0;
fail:
    if (fd >= 0) close(fd);
    json_free(root);
    free(header);
    st_close(f);
    return -1;
}

int st_open(StFile *f, const char *path, char *err, size_t err_size) {
    return open_file(f, path, 1, err, err_size);
}

int st_open_header(StFile *f, const char *path, char *err, size_t err_size) {
    return open_file(f, path, 0, err, err_size);
}

void st_close(StFile *f) {
    for (int i = 0; i < f->n_meta; i++) {
        free(f->meta[i].key);
        free(f->meta[i].value);
    }
    free(f->tensors);
    free(f->by_name);
    free(f->names);
    free(f->meta);
    if (f->map) munmap(f->map, f->map_size);
    free(f->path);
    memset(f, 0, sizeof *f);
}

const StTensor *st_find(const StFile *f, const char *name) {
    if (!f->by_name) return NULL;
    StTensor *const *hit = bsearch(name, f->by_name, (size_t)f->n_tensors, sizeof *f->by_name, name_vs_tensor);
    return hit ? *hit : NULL;
}

/* While st_guarded runs its function, SIGBUS (a mapped page the file no longer has) jumps back to
 * it. One guard at a time: loading is single-threaded. */
static sigjmp_buf bus_jump;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig) {
    if (bus_armed) {
        bus_armed = 0;
        siglongjmp(bus_jump, 1);
    }
    signal(sig, SIG_DFL); /* a SIGBUS outside a guard is a bug: die of it as before */
    raise(sig);
}

int st_guarded(const StFile *f, int (*fn)(void *ctx), void *ctx, char *err, size_t err_size) {
    struct sigaction sa, saved;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    CHECK(!bus_armed && sigaction(SIGBUS, &sa, &saved) == 0);
    int rc;
    if (sigsetjmp(bus_jump, 1) == 0) {
        bus_armed = 1;
        rc = fn(ctx);
        bus_armed = 0;
    } else {
        rc = error_text(err, err_size, "%s: the file was cut short while it was being read (did another "
                        "program change it?); nothing was loaded", f->path);
    }
    sigaction(SIGBUS, &saved, NULL);
    return rc;
}

static StProgress progress_fn;
static void *progress_ctx;

void st_set_progress(StProgress fn, void *ctx) {
    progress_fn = fn;
    progress_ctx = ctx;
}

void st_release(const StFile *f, const void *bytes, size_t n) {
    if (!f->map || n == 0) return;
    if (progress_fn) progress_fn(progress_ctx, n, f->data_size);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)bytes / page * page, hi = ((uintptr_t)bytes + n + page - 1) / page * page;
    uintptr_t map_lo = (uintptr_t)f->map, map_hi = map_lo + (f->map_size + page - 1) / page * page;
    CHECK(lo >= map_lo && hi <= map_hi);
    /* whole pages, so a neighbour's bytes may go too: a private read-only mapping reads them from
     * the file again when next touched */
    madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

const char *st_meta_n(const StFile *f, const char *key, size_t *len) {
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0) {
            *len = f->meta[i].len;
            return f->meta[i].value;
        }
    return NULL;
}

const char *st_meta(const StFile *f, const char *key) {
    size_t len;
    return st_meta_n(f, key, &len);
}

int st_check_f32(const StFile *f, const char *name, int ndim, const size_t *shape, char *err, size_t err_size) {
    const StTensor *t = st_find(f, name);
    char shown[128];
    if (!t) return error_text(err, err_size, "%s: missing tensor \"%s\"", f->path, SHOW(name, shown));
    if (strcmp(t->dtype, "F32") != 0)
        return error_text(err, err_size, "%s: tensor \"%s\" has dtype %s, expected F32", f->path,
                          SHOW(name, shown), t->dtype); /* (a dtype is one of dtype_size's names) */
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = t->shape[d] == shape[d];
    if (!same) {
        char want[96] = "", got[96] = "";
        for (int d = 0; d < ndim; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), d ? ", %zu" : "%zu", shape[d]);
        for (int d = 0; d < t->ndim; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), d ? ", %zu" : "%zu", t->shape[d]);
        return error_text(err, err_size, "%s: tensor \"%s\" has shape [%s], expected [%s]", f->path,
                          SHOW(name, shown), got, want);
    }
    return 0;
}

const unsigned char *st_f32_bytes(const StFile *f, const char *name, int ndim, const size_t *shape,
                                  char *err, size_t err_size) {
    CHECK(f->data != NULL); /* not opened with st_open_header */
    if (st_check_f32(f, name, ndim, shape, err, err_size) != 0) return NULL;
    return f->data + st_find(f, name)->begin;
}

int st_read_f32(const StFile *f, const char *name, int ndim, const size_t *shape, float *dst,
                char *err, size_t err_size) {
    const unsigned char *bytes = st_f32_bytes(f, name, ndim, shape, err, err_size);
    if (!bytes) return -1;
    /* Little-endian floats on the disk; every platform mingpt builds for is little-endian. */
    size_t numel = 1;
    for (int d = 0; d < ndim; d++) numel *= shape[d];
    memcpy(dst, bytes, numel * sizeof(float));
    return 0;
}

/* ---------------------------------------------------------------- writing */

static void sb_str(StrBuf *b, const char *s) { strbuf_put(b, s, strlen(s)); }

static void sb_printf(StrBuf *b, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    CHECK(n >= 0 && (size_t)n < sizeof tmp);
    strbuf_put(b, tmp, (size_t)n);
}

/* A JSON string literal of s[0..n): quotes, backslashes and control characters (NUL included)
 * escaped, UTF-8 as is. */
static void sb_json_string(StrBuf *b, const char *s, size_t n) {
    sb_str(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            strbuf_put(b, esc, 2);
        } else if (c < 0x20) {
            sb_printf(b, "\\u%04x", c);
        } else {
            strbuf_put(b, (const char *)&c, 1);
        }
    }
    sb_str(b, "\"");
}

int st_write(const char *path, const StWriteTensor *tensors, int n_tensors, const StMeta *meta,
             int n_meta, char *err, size_t err_size) {
    char *target = output_target(path, err, err_size);
    if (!target) return -1;
    StrBuf h = {.what = "a safetensors header"};
    sb_str(&h, "{");
    if (n_meta > 0) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < n_meta; i++) {
            if (i) sb_str(&h, ",");
            sb_json_string(&h, meta[i].key, strlen(meta[i].key));
            sb_str(&h, ":");
            sb_json_string(&h, meta[i].value, meta[i].len ? meta[i].len : strlen(meta[i].value));
        }
        sb_str(&h, "}");
    }
    size_t offset = 0;
    for (int i = 0; i < n_tensors; i++) {
        const StWriteTensor *t = &tensors[i];
        size_t numel = 1;
        if (n_meta > 0 || i) sb_str(&h, ",");
        sb_json_string(&h, t->name, strlen(t->name));
        sb_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            sb_printf(&h, d ? ",%zu" : "%zu", t->shape[d]);
            numel = xmul_size(numel, t->shape[d]);
        }
        size_t bytes = xmul_size(numel, sizeof(float));
        sb_printf(&h, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes);
        offset += bytes;
    }
    sb_str(&h, "}");
    while (h.len % 8) sb_str(&h, " "); /* pad so the data starts 8-byte aligned */

    char *tmp = temp_path(target);
    int rc = -1;
    FILE *fp = fopen(tmp, "wb");
    if (!fp) {
        error_text(err, err_size, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    unsigned char size_bytes[8];
    for (int i = 0; i < 8; i++) size_bytes[i] = (unsigned char)((uint64_t)h.len >> (8 * i));
    int ok = fwrite(size_bytes, 1, 8, fp) == 8 && fwrite(h.buf, 1, h.len, fp) == h.len;
    for (int i = 0; ok && i < n_tensors; i++) {
        size_t numel = 1;
        for (int d = 0; d < tensors[i].ndim; d++) numel *= tensors[i].shape[d];
        ok = fwrite(tensors[i].data, sizeof(float), numel, fp) == numel;
        if (progress_fn) progress_fn(progress_ctx, numel * sizeof(float), offset);
    }
    ok = ok && fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    int saved_errno = errno;
    if (fclose(fp) != 0 && ok) {
        ok = 0;
        saved_errno = errno;
    }
    if (!ok) {
        error_text(err, err_size, "%s: write failed: %s", path, strerror(saved_errno));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, target) != 0) {
        error_text(err, err_size, "%s: cannot replace: %s", path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    /* make the rename itself durable: flush the folder's entry too */
    {
        size_t n = strlen(target);
        char *dir = xmalloc(n + 2);
        memcpy(dir, target, n + 1);
        char *slash = strrchr(dir, '/');
        if (slash) slash[slash == dir ? 1 : 0] = '\0';
        else strcpy(dir, ".");
        int fd = open(dir, O_RDONLY);
        if (fd >= 0) {
            fsync(fd); /* best effort: some file systems refuse fsync on a folder */
            close(fd);
        }
        free(dir);
    }
    rc = 0;
done:
    free(tmp);
    free(target);
    free(h.buf);
    return rc;
}
