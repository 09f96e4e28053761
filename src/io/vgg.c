#include "vgg.h"

#include <stdio.h>
#include <string.h>

/* Convolutions per block; every conv is 3x3, padding 1, followed by a ReLU;
 * each block ends with a 2x2 pooling. */
static const struct { int depth, convs[CS_VGG_BLOCKS]; } archs[] = {
    { 16, { 2, 2, 3, 3, 3 } },
    { 19, { 2, 2, 4, 4, 4 } },
};
static const int block_channels[CS_VGG_BLOCKS] = { 64, 128, 256, 512, 512 };

static void add_node(cs_vgg *a, int type, int conv, int channels, int torch_index, const char *fmt, int b, int i)
{
    cs_vgg_node *n = &a->nodes[a->n_nodes++];
    n->type = type;
    n->conv = conv;
    n->channels = channels;
    n->torch_index = torch_index;
    snprintf(n->name, sizeof n->name, fmt, b, i);
}

int cs_vgg_layout(int depth, cs_vgg *a)
{
    int arch = -1;
    for (int i = 0; i < (int)(sizeof archs / sizeof *archs); i++)
        if (archs[i].depth == depth) arch = i;
    if (arch < 0) return -1;
    memset(a, 0, sizeof *a);
    a->depth = depth;
    int k = 0, c = 3, torch = 0;
    for (int b = 0; b < CS_VGG_BLOCKS; b++) {
        a->block_convs[b] = archs[arch].convs[b];
        for (int i = 0; i < archs[arch].convs[b]; i++, k++) {
            a->cin[k] = c;
            a->cout[k] = c = block_channels[b];
            add_node(a, CS_VGG_CONV, k, c, torch++, "conv%d_%d", b + 1, i + 1);
            add_node(a, CS_VGG_RELU, k, c, torch++, "relu%d_%d", b + 1, i + 1);
        }
        if (b + 1 < CS_VGG_BLOCKS) add_node(a, CS_VGG_POOL, -1, c, torch++, "pool%d", b + 1, 0);
    }
    a->n_conv = k;
    return 0;
}

int cs_vgg_find(const cs_vgg *a, const char *name)
{
    for (int i = 0; i < a->n_nodes; i++)
        if (!strcmp(a->nodes[i].name, name)) return i;
    return -1;
}

int cs_vgg_layer_exists(const char *name)
{
    cs_vgg a;
    for (int i = 0; i < (int)(sizeof archs / sizeof *archs); i++)
        if (cs_vgg_layout(archs[i].depth, &a) == 0 && cs_vgg_find(&a, name) >= 0) return 1;
    return 0;
}
