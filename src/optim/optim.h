/* Optimizers over backend vectors: L-BFGS (unit step as in torch.optim.LBFGS
 * and neural-style, optionally guarded by a line search) and Adam. All state
 * lives on the backend (or on the host, cs_optim_create_on); only scalars
 * come back to the host.
 *
 * One iteration is a short protocol, so that the caller evaluates the loss
 * (and logs, and checks for signals) between trial points:
 *   cs_optim_begin(x, g, f)      x moves to the first trial point;
 *   evaluate f, g at x;
 *   cs_optim_judge(x, g, f, &v)  v says whether the trial is the new point
 *                                or x has moved to another trial. */
#ifndef CS_OPTIM_H
#define CS_OPTIM_H
#include "backend.h"

typedef struct cs_optim cs_optim;

enum {
    CS_STEP_ACCEPT,    /* x, g hold the new point */
    CS_STEP_RETRY,     /* the trial is rejected; x holds the next trial point: evaluate again */
    CS_STEP_RESTORED,  /* no trial was good enough: x, g are back at the start, history forgotten */
    CS_STEP_STUCK      /* as RESTORED, but even steepest descent failed: nothing left to try */
};

/* kind: CLSTYLE_LBFGS or CLSTYLE_ADAM; n: vector length; history: L-BFGS pairs kept.
 * L-BFGS starts without a line search (cs_optim_set_line_search). */
clstyle_status cs_optim_create(cs_backend *be, int kind, size_t n, int history, double lr, cs_optim **out);
/* The same for x and g on dev with the optimizer's vectors on home, a
 * backend of host memory (cs_host_data; or a counting backend, sizing):
 * x and g are copied there and back each half iteration. For bands, where
 * the device keeps only bands and the history would take its memory. */
clstyle_status cs_optim_create_on(cs_backend *dev, cs_backend *home, int kind, size_t n, int history, double lr, cs_optim **out);
/* CLSTYLE_LS_*; the guarded modes keep one more vector (the start of the iteration). */
clstyle_status cs_optim_set_line_search(cs_optim *op, int mode);
/* The step of an iteration without history (the first, and each after a
 * reset): CS_START_RMS (the default) moves the pixels by lr/255 RMS;
 * CS_START_L1 is torch's min(lr, lr/|g|_1), kept for measurements
 * (tools/lockstep.c) that show why it was replaced. */
enum { CS_START_RMS, CS_START_L1 };
void cs_optim_set_start(cs_optim *op, int rule);
/* on: every point the optimizer moves x to is projected into [0, 1]. */
clstyle_status cs_optim_set_bounds(cs_optim *op, int on);
void cs_optim_destroy(cs_optim *op);

/* Starts an iteration at x with loss f and gradient g; moves x to the first trial point. */
clstyle_status cs_optim_begin(cs_optim *op, cs_buf *x, cs_buf *g, double f);
/* Judges the trial point x with loss f (NaN and Inf count as too high) and gradient g. */
clstyle_status cs_optim_judge(cs_optim *op, cs_buf *x, cs_buf *g, double f, int *verdict);
/* A whole unguarded step: moves x to the next point given the gradient g at x. */
clstyle_status cs_optim_step(cs_optim *op, cs_buf *x, cs_buf *g);

#endif
