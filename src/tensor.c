/* tensor.c — the TensorTable behind every parameter and activation buffer (see tensor.h). */
#include "tensor.h"

#include <stdlib.h>
#include <string.h>

#include "common.h"

#define ALIGN_FLOATS 16

void table_init(TensorTable *table) { memset(table, 0, sizeof *table); }

void table_free(TensorTable *table) {
    free(table->t);
    table_init(table);
}

int table_add(TensorTable *table, const char *name, int ndim, const size_t *shape) {
    CHECK(ndim >= 1 && ndim <= TENSOR_MAX_DIMS);
    CHECK(strlen(name) < TENSOR_NAME_MAX);
    if (table->n == table->cap) {
        table->cap = table->cap ? 2 * table->cap : 64;
        Tensor *grown = realloc(table->t, (size_t)table->cap * sizeof(Tensor));
        if (!grown) die(1, "out of memory growing a tensor table to %d entries", table->cap);
        table->t = grown;
    }
    Tensor *t = &table->t[table->n];
    memset(t, 0, sizeof *t);
    strcpy(t->name, name);
    t->ndim = ndim;
    t->numel = 1;
    for (int d = 0; d < ndim; d++) {
        CHECK(shape[d] > 0);
        t->shape[d] = shape[d];
        t->numel = xmul_size(t->numel, shape[d]);
    }
    t->offset = table->numel;
    size_t padded = (t->numel + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS;
    CHECK(padded >= t->numel && table->numel + padded >= table->numel);
    table->numel += padded;
    return table->n++;
}

int table_find(const TensorTable *table, const char *name) {
    for (int i = 0; i < table->n; i++)
        if (strcmp(table->t[i].name, name) == 0) return i;
    return -1;
}

float *table_alloc(const TensorTable *table) {
    size_t bytes = xmul_size(table->numel, sizeof(float));
    float *block = xmalloc_aligned(bytes);
    memset(block, 0, bytes);
    return block;
}

void table_bind(TensorTable *table, float *block) {
    for (int i = 0; i < table->n; i++) table->t[i].data = block + table->t[i].offset;
}

size_t table_count(const TensorTable *table) {
    size_t n = 0;
    for (int i = 0; i < table->n; i++) n += table->t[i].numel;
    return n;
}
