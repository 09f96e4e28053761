/* VGG-16/19 convolution weights: loaded from safetensors (torchvision names)
 * or made up for tests and benchmarks. */
#ifndef CS_WEIGHTS_H
#define CS_WEIGHTS_H
#include "clstyle.h"
#include "stop.h"
#include "vgg.h"

enum { CS_MAX_CONV = CS_VGG_MAX_CONV };

typedef struct {
    int depth;                /* 16 or 19; the layer sequence is cs_vgg_layout(depth) */
    int n_conv;               /* 13 (VGG-16) or 16 (VGG-19) */
    int block_convs[5];       /* convs per block: 2,2,3,3,3 or 2,2,4,4,4 */
    int cin[CS_MAX_CONV], cout[CS_MAX_CONV];
    float *w[CS_MAX_CONV];    /* (cout, cin, 3, 3) */
    float *b[CS_MAX_CONV];    /* (cout) */
    /* Network input = x * in_scale[c] + in_offset[c] for RGB x in [0,1]. */
    float in_scale[3], in_offset[3];
    char arch[8];             /* "vgg16" / "vgg19" */
    char input[16];           /* input convention name */
} cs_weights;

/* Loads conv weights; the architecture follows from the tensor names (or the
 * `arch` metadata key). Every failure names the file and the tensor. */
clstyle_status cs_weights_load(const char *path, const cs_stop *stop, cs_weights *w);
/* The same from a safetensors file in memory. stop (may be NULL) is checked between tensors. */
clstyle_status cs_weights_load_memory(const void *data, size_t n, const cs_stop *stop, cs_weights *w);
/* He-initialised random weights of the given architecture (16 or 19). */
clstyle_status cs_weights_synthetic(int depth, unsigned long seed, cs_weights *w);
void cs_weights_free(cs_weights *w);
/* torchvision `features.N` index of conv k. */
int cs_weights_torch_index(const cs_weights *w, int k);

#endif
