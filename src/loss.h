/* The Gatys losses of SPEC: content (relative squared error of features),
 * style (relative squared error of Gram matrices against blended targets)
 * and total variation, with their gradients, all on the backend. */
#ifndef CS_LOSS_H
#define CS_LOSS_H
#include "network.h"

typedef struct {
    int node;                 /* node index in the network */
    int is_content, is_style;
    double style_weight;      /* w_l */
    cs_buf *target;           /* content features F_l(c) (c,m) */
    double target_norm;       /* mean(F_l(c)^2) + eps */
    cs_buf *gram_target;      /* A_l (c,c) */
    double gram_norm;         /* mean(A_l^2) + eps */
    cs_buf *gram, *dgram;     /* scratch (c,c) */
    double content_sum, style_sum; /* raw sums of the last evaluation (filled at finish) */
    size_t n, m;              /* the whole image's features: n = c m values, m positions */
    float *host_target;       /* content features on the host, when evaluated in pieces */
} cs_loss_layer;

typedef struct {
    cs_backend *be;
    cs_acts acts;             /* activations of the generated image */
    int n;
    cs_loss_layer layers[2 * CLSTYLE_MAX_LAYERS];
    double alpha, beta, gamma;
    /* Values of the last evaluation: unweighted terms and weighted total. */
    double content, style, tv, total;
    /* Evaluation in pieces (pieces.c); tile == 0: the whole image at once,
     * acts then sized for it; otherwise acts are sized for one piece. */
    int tile, halo;           /* interior of a piece and its margin, px (multiples of 16) */
    int h, w;                 /* the generated image */
    cs_buf *piece;            /* (3, window): a piece of the image, then its gradient */
    cs_buf *fwin, *dwin, *twin; /* a layer's features inside a piece, their gradient, the content target there */
    float *host_piece;        /* host staging for pieces of host images and of the content targets */
    size_t host_bytes;        /* what the pieces keep on the host: content targets and staging */
} cs_loss;

typedef struct {
    const float *pixels;      /* (3,h,w) RGB [0,1] */
    int w, h;
} cs_loss_image;

/* Builds the layers, the activations for the content size and all targets. */
clstyle_status cs_loss_init(cs_loss *L, cs_net *net, const clstyle_options *o, cs_loss_image content,
                            const cs_loss_image *styles, const double *blend, int n_styles);
void cs_loss_free(cs_loss *L);
/* L(x) and, into grad (3,h,w), its gradient. */
clstyle_status cs_loss_eval(cs_loss *L, cs_buf *x, cs_buf *grad);

#endif
