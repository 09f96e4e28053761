/* What a job keeps on a backend: the network (its own, or a session's),
 * the evaluator, the optimizer, the picture x and its gradient g. The real
 * run and the planner's counting run build it through this one function,
 * which is why plans match the device to the byte. */
#ifndef CS_STATE_H
#define CS_STATE_H
#include "coarse.h"
#include "eval.h"
#include "optim.h"

typedef struct {
    const cs_weights *weights;
    int avg_pool;
    int net_last;             /* convolutions on the device up to this node (-1: all) */
    cs_loss_spec loss;
    cs_eval_input input;      /* images (sizes only when counting), targets, tile */
    int optimizer;            /* CLSTYLE_LBFGS or CLSTYLE_ADAM */
    double learning_rate;     /* Adam's; L-BFGS takes unit steps */
    int history;              /* L-BFGS pairs kept */
    int line_search;          /* CLSTYLE_LS_* */
    int clamp;                /* the optimizer keeps x in [0, 1] */
    /* The coarse term (model/coarse.h), one level per earlier scale; none when n_coarse is 0. */
    cs_coarse_level coarse[CS_COARSE_MAX_LEVELS];
    int n_coarse;
} cs_job_spec;

typedef struct {
    cs_net own;               /* when no network was given */
    cs_net *net;
    cs_eval eval;
    cs_coarse coarse;         /* levels 0: none */
    cs_optim *opt;
    cs_buf *x, *g;            /* (3,h,w) */
} cs_state;

/* net: the session's network on be, or NULL to upload one for this state.
 * host: in bands, the optimizer's vectors live there (a backend of host
 * memory, or a counting one when sizing: cs_optim_create_on), so that the
 * device keeps the bands and the image, not the L-BFGS history; NULL: on be. */
clstyle_status cs_state_create(cs_backend *be, cs_backend *host, cs_net *net, const cs_job_spec *spec, cs_state *s);
/* The loss at x into eval.terms (total: with the coarse term's) and its gradient into g. */
clstyle_status cs_state_evaluate(cs_state *s);
void cs_state_free(cs_backend *be, cs_state *s);

#endif
