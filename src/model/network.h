/* VGG network over a backend: forward to the deepest requested node, keeping
 * every activation, and backward to the input image only. */
#ifndef CS_NETWORK_H
#define CS_NETWORK_H
#include "backend.h"
#include "stop.h"
#include "weights.h"

enum { NODE_CONV = CS_VGG_CONV, NODE_RELU = CS_VGG_RELU, NODE_POOL = CS_VGG_POOL };
enum { CS_MAX_NODES = 64 };

typedef struct {
    char name[32];      /* conv3_1, relu3_1, pool3 */
    int type, conv;     /* conv: index into the weights for NODE_CONV */
    int c, h, w;        /* output shape */
    cs_buf *out;        /* output; a relu shares its conv's buffer unless the conv is tapped */
    int shared;         /* out is the previous node's buffer (fused bias+ReLU) */
    int tapped;         /* a loss reads out (its gradient gets the loss's added) */
} cs_node;

/* Network weights on the backend, shared by all image sizes. */
typedef struct {
    cs_backend *be;
    const cs_weights *host;
    cs_buf *w[CS_MAX_CONV], *b[CS_MAX_CONV];
    int avg_pool;
    const cs_stop *stop;    /* the session's: forward passes stop between layers (NULL: never) */
} cs_net;

/* Activations for one image size up to node `last`. */
typedef struct {
    cs_net *net;
    int h, w, n;        /* input size; nodes 0..n-1 */
    cs_node nodes[CS_MAX_NODES];
    cs_buf *input;      /* preprocessed image (3,h,w) */
    cs_buf *grad[2];    /* ping-pong gradient buffers, largest node size */
} cs_acts;

/* Index of a node name in the architecture, or -1. */
int cs_net_find_node(const cs_weights *w, const char *name);
clstyle_status cs_net_create(cs_backend *be, const cs_weights *w, int avg_pool, cs_net *net);
/* The same with only the convolutions up to node `last` on the backend (the
 * deeper ones would only take device memory); last < 0: all. */
clstyle_status cs_net_create_upto(cs_backend *be, const cs_weights *w, int avg_pool, int last, cs_net *net);
void cs_net_destroy(cs_net *net);

/* tapped[i] marks nodes whose value a loss reads (a tapped conv keeps its pre-ReLU output). */
clstyle_status cs_acts_create(cs_net *net, int h, int w, int last, const int *tapped, cs_acts *a);
void cs_acts_destroy(cs_acts *a);
/* The shapes alone, no buffers (an evaluator keeping activations elsewhere). */
clstyle_status cs_acts_shapes(cs_net *net, int h, int w, int last, const int *tapped, cs_acts *a);
/* Floats of the largest of the input and the nodes' outputs. */
size_t cs_acts_largest(const cs_acts *a);
/* Uses activations made for an image of at least h x w for an h x w image
 * (a smaller piece of an image): only the shapes change. */
void cs_acts_reshape(cs_acts *a, int h, int w);
/* How far, in input pixels, a feature of node `last` sees past its own
 * position on each side (a 3x3 convolution at pooling depth s adds s; a
 * 2x2 pooling adds nothing): the halo that makes a piece's features exact. */
int cs_net_reach(const cs_weights *w, int last);

/* Whether the pooling at node i also does the backward of the ReLU before
 * it: one pass over that map instead of two (the ReLU's mask is its
 * output, which the pooling reads anyway). Not where a loss reads the
 * ReLU, whose gradient must be added before the mask. */
int cs_pool_takes_relu(const cs_acts *a, int i);

/* x: image (3,h,w) in RGB [0,1]. */
clstyle_status cs_forward(cs_acts *a, cs_buf *x);

/* Called with the gradient buffer of node i, to add the losses' gradients into it. */
typedef clstyle_status (*cs_grad_hook)(void *ctx, int node, cs_buf *grad);
/* Runs backward from node n-1 to the image; dx (3,h,w) is overwritten. */
clstyle_status cs_backward(cs_acts *a, cs_grad_hook hook, void *ctx, cs_buf *dx);

#endif
