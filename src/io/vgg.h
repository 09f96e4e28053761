/* The VGG-16/19 layer sequence, described once: weights.c names the tensors
 * it loads from it, network.c builds its nodes from it and cli.c checks layer
 * names against it. */
#ifndef CS_VGG_H
#define CS_VGG_H

enum { CS_VGG_CONV, CS_VGG_RELU, CS_VGG_POOL };
enum { CS_VGG_BLOCKS = 5, CS_VGG_MAX_CONV = 16, CS_VGG_MAX_NODES = 36 };

typedef struct {
    char name[12];      /* conv3_1, relu3_1, pool3 */
    int type;           /* CS_VGG_* */
    int conv;           /* index of the convolution a conv or relu node belongs to; -1 for a pool */
    int channels;       /* output channels */
    int torch_index;    /* torchvision's features.N of this layer */
} cs_vgg_node;

typedef struct {
    int depth;                          /* 16 or 19 */
    int n_conv, n_nodes;
    int block_convs[CS_VGG_BLOCKS];     /* 2,2,3,3,3 or 2,2,4,4,4 */
    int cin[CS_VGG_MAX_CONV], cout[CS_VGG_MAX_CONV];
    cs_vgg_node nodes[CS_VGG_MAX_NODES]; /* pool5 is left out: no loss reads it (SPEC: pool1..pool4) */
} cs_vgg;

/* The layout of VGG-`depth`; returns -1 (a untouched) unless depth is 16 or 19. */
int cs_vgg_layout(int depth, cs_vgg *a);
/* Index of a layer name in a->nodes, or -1. */
int cs_vgg_find(const cs_vgg *a, const char *name);
/* Whether VGG-16 or VGG-19 has a layer of this name. */
int cs_vgg_layer_exists(const char *name);

#endif
