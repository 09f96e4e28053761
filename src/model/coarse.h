/* The coarse term of a pyramid's later scales (docs/large-pictures.md): the
 * content and style losses of x averaged down to each earlier scale's size,
 * against that scale's targets, so that a finer scale adds its detail
 * without repainting the forms and strokes the coarser ones settled. The
 * shrink is 2x2 average pooling, once per halving, and its gradient the
 * pooling's backward: ops every backend has, so the term runs unchanged
 * everywhere. */
#ifndef CS_COARSE_H
#define CS_COARSE_H
#include "eval.h"

enum { CS_COARSE_MAX_LEVELS = 6 };

/* One level of the term: x halved `halvings` times, held to `loss` against
 * `input`'s content (of that size; only sized when its pixels are NULL) and targets. */
typedef struct {
    int halvings;
    cs_loss_spec loss;
    cs_eval_input input;
} cs_coarse_level;

typedef struct {
    cs_backend *be;
    int levels;                 /* the deepest level's halvings; 0: no coarse term */
    int h, w;                   /* x's size */
    cs_eval eval[CS_COARSE_MAX_LEVELS + 1];  /* [k]: the losses of x halved k times, where a level holds it (ops set) */
    cs_buf *down[CS_COARSE_MAX_LEVELS + 1];  /* [k]: x halved k times, then the gradient the levels below send it */
    cs_buf *grad[CS_COARSE_MAX_LEVELS + 1];  /* [k]: level k's own gradient, then with the levels below added */
    cs_buf *full;               /* the term's gradient at x's size */
    double total;               /* the last run's weighted sum over the levels */
} cs_coarse;

/* The size of an h x w picture halved `levels` times (pooling drops an odd last row or column). */
void cs_coarse_size(int h, int w, int levels, int *ch, int *cw);
/* The term for x of h x w over n levels (distinct halvings, 1 to CS_COARSE_MAX_LEVELS). */
clstyle_status cs_coarse_init(cs_coarse *C, cs_net *net, const cs_coarse_level *levels, int n, int h, int w);
/* Its terms at x into C->eval[k].terms and C->total; its gradient added to grad. */
clstyle_status cs_coarse_run(cs_coarse *C, cs_buf *x, cs_buf *grad);
void cs_coarse_free(cs_coarse *C);

#endif
