/* Optimizers over backend vectors: L-BFGS (unit step, no line search, as in
 * torch.optim.LBFGS and neural-style) and Adam. All state lives on the backend. */
#ifndef CS_OPTIM_H
#define CS_OPTIM_H
#include "backend.h"

typedef struct cs_optim cs_optim;

/* kind: CLSTYLE_LBFGS or CLSTYLE_ADAM; n: vector length; history: L-BFGS pairs kept. */
clstyle_status cs_optim_create(cs_backend *be, int kind, size_t n, int history, double lr, cs_optim **out);
void cs_optim_destroy(cs_optim *op);
/* Moves x to the next point, given the gradient g at x (g is not modified). */
clstyle_status cs_optim_step(cs_optim *op, cs_buf *x, cs_buf *g);

#endif
