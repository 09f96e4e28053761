#include "optim.h"

#include <stdlib.h>

#include "error.h"

struct cs_optim {
    cs_backend *be;
    int kind;
    size_t n;
    double lr;
    int step;
    /* Adam */
    cs_buf *m, *v;
    /* L-BFGS: ring of (s, y) pairs, the previous gradient and direction */
    int hist, count, head;     /* head: slot the next pair goes to */
    cs_buf **s, **y;
    double *rho, *alpha;
    cs_buf *g_prev, *d;
    double t_prev, h_diag;
};

void cs_optim_destroy(cs_optim *op)
{
    if (!op) return;
    cs_buf_release(op->be, op->m);
    cs_buf_release(op->be, op->v);
    for (int i = 0; i < op->hist; i++) {
        if (op->s) cs_buf_release(op->be, op->s[i]);
        if (op->y) cs_buf_release(op->be, op->y[i]);
    }
    cs_buf_release(op->be, op->g_prev);
    cs_buf_release(op->be, op->d);
    free(op->s);
    free(op->y);
    free(op->rho);
    free(op->alpha);
    free(op);
}

/* Everything is allocated here so the loop allocates nothing. */
clstyle_status cs_optim_create(cs_backend *be, int kind, size_t n, int history, double lr, cs_optim **out)
{
    cs_optim *op = calloc(1, sizeof *op);
    if (!op) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    op->be = be;
    op->kind = kind;
    op->n = n;
    op->lr = lr;
    clstyle_status st;
    if (kind == CLSTYLE_ADAM) {
        CS_CHECK(CS_OP(be, alloc, n, &op->m));
        CS_CHECK(CS_OP(be, alloc, n, &op->v));
    } else {
        op->hist = history;
        op->s = calloc((size_t)history, sizeof *op->s);
        op->y = calloc((size_t)history, sizeof *op->y);
        op->rho = calloc((size_t)history, sizeof *op->rho);
        op->alpha = calloc((size_t)history, sizeof *op->alpha);
        if (!op->s || !op->y || !op->rho || !op->alpha) CS_CHECK(cs_fail(CLSTYLE_ERR_NOMEM, "out of memory"));
        for (int i = 0; i < history; i++) {
            CS_CHECK(CS_OP(be, alloc, n, &op->s[i]));
            CS_CHECK(CS_OP(be, alloc, n, &op->y[i]));
        }
        CS_CHECK(CS_OP(be, alloc, n, &op->g_prev));
        CS_CHECK(CS_OP(be, alloc, n, &op->d));
        op->h_diag = 1;
    }
    *out = op;
    return CLSTYLE_OK;
done:
    cs_optim_destroy(op);
    return st;
}

/* Records s = t d_prev, y = g - g_prev when the curvature y.s is positive. */
static clstyle_status lbfgs_update_history(cs_optim *op, cs_buf *g)
{
    cs_backend *be = op->be;
    int k = op->head;
    double ys, yy;
    CS_TRY(CS_OP(be, copy, g, op->y[k], op->n));
    CS_TRY(CS_OP(be, axpy, -1.0f, op->g_prev, op->y[k], op->n));
    CS_TRY(CS_OP(be, copy, op->d, op->s[k], op->n));
    CS_TRY(CS_OP(be, scale, (float)op->t_prev, op->s[k], op->n));
    CS_TRY(CS_OP(be, dot, op->y[k], op->s[k], op->n, &ys));
    if (ys > 1e-10) {
        CS_TRY(CS_OP(be, dot, op->y[k], op->y[k], op->n, &yy));
        op->rho[k] = 1.0 / ys;
        op->h_diag = ys / yy;
        op->head = (op->head + 1) % op->hist;
        if (op->count < op->hist) op->count++;
    }
    return CLSTYLE_OK;
}

/* Two-loop recursion: d = -H g. */
static clstyle_status lbfgs_direction(cs_optim *op, cs_buf *g)
{
    cs_backend *be = op->be;
    size_t n = op->n;
    CS_TRY(CS_OP(be, copy, g, op->d, n));
    CS_TRY(CS_OP(be, scale, -1.0f, op->d, n));
    for (int j = 0; j < op->count; j++) { /* newest to oldest */
        int k = (op->head - 1 - j + op->hist) % op->hist;
        double sq;
        CS_TRY(CS_OP(be, dot, op->s[k], op->d, n, &sq));
        op->alpha[k] = sq * op->rho[k];
        CS_TRY(CS_OP(be, axpy, (float)-op->alpha[k], op->y[k], op->d, n));
    }
    CS_TRY(CS_OP(be, scale, (float)op->h_diag, op->d, n));
    for (int j = op->count - 1; j >= 0; j--) { /* oldest to newest */
        int k = (op->head - 1 - j + op->hist) % op->hist;
        double yd;
        CS_TRY(CS_OP(be, dot, op->y[k], op->d, n, &yd));
        CS_TRY(CS_OP(be, axpy, (float)(op->alpha[k] - yd * op->rho[k]), op->s[k], op->d, n));
    }
    return CLSTYLE_OK;
}

static clstyle_status lbfgs_step(cs_optim *op, cs_buf *x, cs_buf *g)
{
    cs_backend *be = op->be;
    double t = op->lr, gd;
    if (op->step > 0) CS_TRY(lbfgs_update_history(op, g));
    CS_TRY(lbfgs_direction(op, g));
    CS_TRY(CS_OP(be, dot, g, op->d, op->n, &gd));
    if (!(gd < 0)) { /* not a descent direction: forget the history, go downhill */
        op->count = 0;
        op->h_diag = 1;
        CS_TRY(lbfgs_direction(op, g));
    }
    if (op->count == 0) {
        /* First step (as torch): scale so that it moves at most lr in L1. */
        double g1;
        CS_TRY(CS_OP(be, asum, g, op->n, &g1));
        if (g1 * op->h_diag > 1) t = op->lr / (g1 * op->h_diag);
    }
    CS_TRY(CS_OP(be, axpy, (float)t, op->d, x, op->n));
    CS_TRY(CS_OP(be, copy, g, op->g_prev, op->n));
    op->t_prev = t;
    return CLSTYLE_OK;
}

clstyle_status cs_optim_step(cs_optim *op, cs_buf *x, cs_buf *g)
{
    if (op->kind == CLSTYLE_ADAM) {
        op->step++;
        return CS_OP(op->be, adam, x, g, op->m, op->v, op->n, (float)op->lr, 0.9f, 0.999f, 1e-8f, op->step);
    }
    CS_TRY(lbfgs_step(op, x, g));
    op->step++;
    return CLSTYLE_OK;
}
