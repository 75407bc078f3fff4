/* tensor.h — named float32 tensors that live as views in one contiguous block per family.
 *
 * Layout, stated once for the whole project: row-major; activations are (B,T,C) with C fastest;
 * weights are (out_features, in_features) like torch.nn.Linear, so a Linear computes
 * out = inp · Wᵀ + b. A TensorTable lists a family's tensors (the parameters, or the activations)
 * with their shapes; table_alloc gives one 64-byte aligned, zeroed block for the whole family and
 * every tensor is a view at its `offset` (a multiple of 16 floats, so every view is aligned too).
 * Parameters, gradients and both AdamW moments share one table, hence the same offsets.
 */
#ifndef MINGPT_TENSOR_H
#define MINGPT_TENSOR_H

#include <stddef.h>

#define TENSOR_MAX_DIMS 4
#define TENSOR_NAME_MAX 96

typedef struct {
    char name[TENSOR_NAME_MAX]; /* minGPT state_dict name for parameters */
    int ndim;                   /* 1..TENSOR_MAX_DIMS */
    size_t shape[TENSOR_MAX_DIMS];
    size_t numel;               /* product of shape */
    size_t offset;              /* in floats, from the start of the family's block */
    float *data;                /* view set by table_bind, or NULL */
    int decay;                  /* AdamW applies weight decay (Linear weights only) */
    float init_std;             /* > 0: init normal(0, init_std); otherwise constant init_value */
    float init_value;
} Tensor;

typedef struct {
    Tensor *t;       /* (n) */
    int n, cap;
    size_t numel;    /* floats in the block, padding included */
} TensorTable;

void table_init(TensorTable *table);
void table_free(TensorTable *table);
/* Appends a tensor and returns its index. Sizes must be > 0. */
int table_add(TensorTable *table, const char *name, int ndim, const size_t *shape);
/* Index of the tensor with this name, or -1. */
int table_find(const TensorTable *table, const char *name);
/* One zeroed, 64-byte aligned block of table->numel floats; release with free(). */
float *table_alloc(const TensorTable *table);
/* Points every tensor's data at its view inside `block`. */
void table_bind(TensorTable *table, float *block);
/* Sum of numel over all tensors (padding excluded). */
size_t table_count(const TensorTable *table);

#endif
