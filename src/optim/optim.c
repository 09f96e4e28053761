#include "optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "linesearch.h"

/* L-BFGS keeps its history as the rows of one matrix, (s_i, y_i) at rows
 * (2i, 2i+1), and runs the two-loop recursion on the coefficients of the
 * direction in the basis {s_i, y_i, g} (VL-BFGS, Chen et al., NIPS 2014):
 * mathematically the classic two-loop, but the device only does a few batched
 * dot products and one linear combination per step, so a step costs a handful
 * of host round trips instead of two per history pair. The rows are stored
 * in blocks of at most the backend's largest buffer (2 x history x image
 * floats is 1.9 GB at 1024x768, past what many GPUs allocate at once).
 *
 * With a line search the iteration keeps its start (x0, and g0 in g_prev) and
 * moves x along d until the rule in linesearch.c accepts; a step that would
 * raise the loss is never taken (SPEC).
 *
 * With bounds (cs_optim_set_bounds) every trial point is projected into
 * [0, 1], the range an image file holds; the pair's s is then the step
 * actually taken, x - x0, not t d. Without them the saved picture, clamped,
 * is not the one optimized (docs/large-pictures.md, "The range of the
 * pixels"). */
struct cs_optim {
    cs_backend *be;            /* where the optimizer's vectors live */
    cs_backend *dev;           /* x's and g's backend when not be (NULL): they are copied to xh, gh and back */
    cs_buf *xh, *gh;
    int kind;
    size_t n;
    double lr;
    int step;
    /* Adam */
    cs_buf *m, *v;
    /* L-BFGS */
    int hist, count, head;     /* pairs kept, pairs valid, slot of the next pair */
    cs_buf **mat;              /* (2 hist, n) in blocks of block_rows rows */
    int block_rows, n_blocks;
    cs_buf *s_new, *y_new, *g_prev, *d;
    cs_buf *x0;                /* start of the iteration (line search or bounds) */
    int bounded;               /* trial points projected into [0, 1] */
    cs_buf *gm;                /* bounded: the gradient of the free variables */
    int ls_mode, have_prev;    /* have_prev: g_prev, d and t_prev describe the last accepted step */
    int start_rule;            /* CS_START_* */
    cs_linesearch ls;
    double t;                  /* step of the current trial */
    double *dots;              /* (2 hist)^2: b_r . b_q for the history rows */
    double *dg;                /* b_r . g */
    int dg_fresh;              /* dg was computed with the new pair's dots, in the same pass */
    double *cols;              /* CS_MAX_VECS x 2 hist: the new pair's and g's dots */
    double *rho, *alpha, *delta;
    float *coef;
    double t_prev, h_diag;
};

void cs_optim_destroy(cs_optim *op)
{
    if (!op) return;
    cs_buf *bufs[] = { op->m, op->v, op->s_new, op->y_new, op->g_prev, op->d, op->x0, op->gm, op->xh, op->gh };
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) cs_buf_release(op->be, bufs[i]);
    for (int b = 0; op->mat && b < op->n_blocks; b++) cs_buf_release(op->be, op->mat[b]);
    free(op->mat);
    free(op->dots);
    free(op->dg);
    free(op->cols);
    free(op->rho);
    free(op->alpha);
    free(op->delta);
    free(op->coef);
    free(op);
}

/* The history rows in blocks, each within the backend's largest buffer. */
static clstyle_status alloc_history(cs_optim *op, int rows)
{
    size_t row_bytes = op->n * sizeof(float), max = op->be->max_alloc;
    op->block_rows = max && max / row_bytes < (size_t)rows ? (int)(max / row_bytes) : rows;
    if (op->block_rows < 1) op->block_rows = 1; /* one row is an image: its allocation reports the limit */
    op->n_blocks = (rows + op->block_rows - 1) / op->block_rows;
    op->mat = calloc((size_t)op->n_blocks, sizeof *op->mat);
    if (!op->mat) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int b = 0; b < op->n_blocks; b++) {
        int r = rows - b * op->block_rows < op->block_rows ? rows - b * op->block_rows : op->block_rows;
        CS_TRY(CS_OP(op->be, alloc, (size_t)r * op->n, &op->mat[b]));
    }
    return CLSTYLE_OK;
}

/* Rows in block b of the first `rows` history rows. */
static int block_rows(const cs_optim *op, int b, int rows)
{
    int r = rows - b * op->block_rows;
    return r < 0 ? 0 : r < op->block_rows ? r : op->block_rows;
}

/* Stores v as history row r. */
static clstyle_status history_put(cs_optim *op, cs_buf *v, int r)
{
    return CS_OP(op->be, copy_at, v, op->mat[r / op->block_rows], (size_t)(r % op->block_rows) * op->n, op->n);
}

/* out[j * stride + r] = row r . vs[j] for the first `rows` rows, block by
 * block, each block read once for all nv vectors. */
static clstyle_status history_dots(cs_optim *op, int rows, cs_buf *const *vs, int nv, double *out, size_t stride)
{
    double part[CS_MAX_VECS * CS_MAX_ROWS];
    for (int b = 0; b < op->n_blocks && block_rows(op, b, rows) > 0; b++) {
        int br = block_rows(op, b, rows);
        CS_TRY(CS_OP(op->be, multi_dot, op->mat[b], br, vs, nv, op->n, part));
        for (int j = 0; j < nv; j++)
            memcpy(out + j * stride + (size_t)b * op->block_rows, part + (size_t)j * br, (size_t)br * sizeof *out);
    }
    return CLSTYLE_OK;
}

/* out = sum of coef[r] row r over the first `rows` rows; tmp holds each further block's part. */
static clstyle_status history_combine(cs_optim *op, int rows, const float *coef, cs_buf *out, cs_buf *tmp)
{
    CS_TRY(CS_OP(op->be, combine, op->mat[0], block_rows(op, 0, rows), coef, out, op->n));
    for (int b = 1; b < op->n_blocks && block_rows(op, b, rows) > 0; b++) {
        CS_TRY(CS_OP(op->be, combine, op->mat[b], block_rows(op, b, rows), coef + b * op->block_rows, tmp, op->n));
        CS_TRY(CS_OP(op->be, axpy, 1.0f, tmp, out, op->n));
    }
    return CLSTYLE_OK;
}

/* Everything is allocated here so the loop allocates nothing. */
clstyle_status cs_optim_create_on(cs_backend *dev, cs_backend *be, int kind, size_t n, int history, double lr, cs_optim **out)
{
    cs_optim *op = calloc(1, sizeof *op);
    if (!op) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    op->be = be;
    op->dev = dev != be ? dev : NULL;
    op->kind = kind;
    op->n = n;
    op->lr = lr;
    clstyle_status st;
    if (op->dev) {
        CS_CHECK(CS_OP(be, alloc, n, &op->xh));
        CS_CHECK(CS_OP(be, alloc, n, &op->gh));
    }
    if (kind == CLSTYLE_ADAM) {
        CS_CHECK(CS_OP(be, alloc, n, &op->m));
        CS_CHECK(CS_OP(be, alloc, n, &op->v));
    } else {
        if (2 * history > CS_MAX_ROWS) CS_CHECK(cs_fail(CLSTYLE_ERR_USAGE, "L-BFGS history %d is too long (at most %d)", history, CS_MAX_ROWS / 2));
        size_t rows = 2 * (size_t)history;
        op->hist = history;
        op->dots = calloc(rows * rows, sizeof *op->dots);
        op->dg = calloc(rows, sizeof *op->dg);
        op->cols = calloc(CS_MAX_VECS * rows, sizeof *op->cols);
        op->rho = calloc((size_t)history, sizeof *op->rho);
        op->alpha = calloc((size_t)history, sizeof *op->alpha);
        op->delta = calloc(rows + 1, sizeof *op->delta);
        op->coef = calloc(rows, sizeof *op->coef);
        if (!op->dots || !op->dg || !op->cols || !op->rho || !op->alpha || !op->delta || !op->coef)
            CS_CHECK(cs_fail(CLSTYLE_ERR_NOMEM, "out of memory"));
        CS_CHECK(alloc_history(op, (int)rows));
        CS_CHECK(CS_OP(be, alloc, n, &op->s_new));
        CS_CHECK(CS_OP(be, alloc, n, &op->y_new));
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

clstyle_status cs_optim_create(cs_backend *be, int kind, size_t n, int history, double lr, cs_optim **out)
{
    return cs_optim_create_on(be, be, kind, n, history, lr, out);
}

/* s_new = the last step: t d_prev, or in the box x - x0 (the projection cut it). */
static clstyle_status step_taken(cs_optim *op, cs_buf *x)
{
    if (op->bounded) {
        CS_TRY(CS_OP(op->be, copy, x, op->s_new, op->n));
        return CS_OP(op->be, axpy, -1.0f, op->x0, op->s_new, op->n);
    }
    CS_TRY(CS_OP(op->be, copy, op->d, op->s_new, op->n));
    return CS_OP(op->be, scale, (float)op->t_prev, op->s_new, op->n);
}

/* s = the last step, y = g - g_prev; kept (with their dot products against
 * the history) when the curvature y.s is positive. The history's dots with
 * gf (g, or in the box its free part), which the direction needs next, come
 * in the same pass over the history. */
static clstyle_status lbfgs_update_history(cs_optim *op, cs_buf *x, cs_buf *g, cs_buf *gf)
{
    cs_backend *be = op->be;
    size_t n = op->n, R = 2 * (size_t)op->hist;
    double ys;
    CS_TRY(CS_OP(be, copy, g, op->y_new, n));
    CS_TRY(CS_OP(be, axpy, -1.0f, op->g_prev, op->y_new, n));
    CS_TRY(step_taken(op, x));
    CS_TRY(CS_OP(be, dot, op->y_new, op->s_new, n, &ys));
    if (!(ys > 1e-10)) return CLSTYLE_OK;
    int k = op->head;
    CS_TRY(history_put(op, op->s_new, 2 * k));
    CS_TRY(history_put(op, op->y_new, 2 * k + 1));
    op->head = (op->head + 1) % op->hist;
    if (op->count < op->hist) op->count++;
    int rows = 2 * op->count;
    cs_buf *vs[CS_MAX_VECS] = { op->s_new, op->y_new, gf };
    CS_TRY(history_dots(op, rows, vs, 3, op->cols, R));
    for (int which = 0; which < 2; which++) {
        size_t r = 2 * (size_t)k + which;
        for (int q = 0; q < rows; q++) op->dots[r * R + q] = op->dots[q * R + r] = op->cols[which * R + q];
    }
    memcpy(op->dg, op->cols + 2 * R, (size_t)rows * sizeof *op->dg);
    op->dg_fresh = 1;
    op->rho[k] = 1.0 / ys;
    op->h_diag = ys / op->dots[(2 * (size_t)k + 1) * R + 2 * (size_t)k + 1]; /* y.y, from the batched dots */
    return CLSTYLE_OK;
}

/* b_r . delta over the history rows and g (delta[R] is g's coefficient). */
static double basis_dot(const cs_optim *op, int r, int rows)
{
    size_t R = 2 * (size_t)op->hist;
    double s = op->delta[R] * op->dg[r];
    for (int q = 0; q < rows; q++) s += op->dots[(size_t)r * R + q] * op->delta[q];
    return s;
}

/* Two-loop recursion on coefficients: d = -H g = sum delta_q b_q + delta_g g.
 * Returns g.d through *gd. */
static clstyle_status lbfgs_direction(cs_optim *op, cs_buf *g, double *gd)
{
    cs_backend *be = op->be;
    size_t n = op->n, R = 2 * (size_t)op->hist;
    int rows = 2 * op->count;
    double gg;
    if (!op->dg_fresh) CS_TRY(history_dots(op, rows, &g, 1, op->dg, R));
    op->dg_fresh = 0;
    CS_TRY(CS_OP(be, dot, g, g, n, &gg));
    memset(op->delta, 0, (R + 1) * sizeof *op->delta);
    op->delta[R] = -1;
    for (int j = 0; j < op->count; j++) { /* newest to oldest */
        int k = (op->head - 1 - j + op->hist) % op->hist;
        op->alpha[k] = op->rho[k] * basis_dot(op, 2 * k, rows);
        op->delta[2 * k + 1] -= op->alpha[k];
    }
    for (size_t q = 0; q <= R; q++) op->delta[q] *= op->h_diag;
    for (int j = op->count - 1; j >= 0; j--) { /* oldest to newest */
        int k = (op->head - 1 - j + op->hist) % op->hist;
        double beta = op->rho[k] * basis_dot(op, 2 * k + 1, rows);
        op->delta[2 * k] += op->alpha[k] - beta;
    }
    *gd = op->delta[R] * gg;
    for (int q = 0; q < rows; q++) {
        op->coef[q] = (float)op->delta[q];
        *gd += op->delta[q] * op->dg[q];
    }
    CS_TRY(history_combine(op, rows, op->coef, op->d, op->y_new)); /* y_new is free until the next update */
    return CS_OP(be, axpy, (float)op->delta[R], g, op->d, n);
}

/* The box: [0, 1], the range an image file holds. */
static const float box_lo = 0.0f, box_hi = 1.0f;

/* x into the box, when bounded. */
static clstyle_status project(cs_optim *op, cs_buf *x)
{
    return op->bounded ? CS_OP(op->be, clamp, x, box_lo, box_hi, op->n) : CLSTYLE_OK;
}

/* v = 0 where x is held at the box's edge by g. */
static clstyle_status hold(cs_optim *op, cs_buf *v, cs_buf *x, cs_buf *g)
{
    return CS_OP(op->be, bound_mask, v, x, g, box_lo, box_hi, op->n);
}

/* In the box: the direction from the gradient of the free variables only,
 * and none along those held at a bound (the binding set of Kim, Sra and
 * Dhillon, "Tackling box-constrained optimization via a new projected
 * quasi-Newton approach", 2010). Projection alone stalled: on test_optim's
 * quadratic it ended 0.58 from the box's minimum after 60 steps. */
static clstyle_status box_direction(cs_optim *op, cs_buf *x, cs_buf *g, cs_buf *gf, double *gd)
{
    CS_TRY(lbfgs_direction(op, gf, gd));
    if (!op->bounded) return CLSTYLE_OK;
    CS_TRY(hold(op, op->d, x, g));
    return CS_OP(op->be, dot, g, op->d, op->n, gd);
}

clstyle_status cs_optim_set_line_search(cs_optim *op, int mode)
{
    op->ls_mode = op->kind == CLSTYLE_LBFGS ? mode : CLSTYLE_LS_NONE;
    if (op->ls_mode != CLSTYLE_LS_NONE && !op->x0) CS_TRY(CS_OP(op->be, alloc, op->n, &op->x0));
    return CLSTYLE_OK;
}

clstyle_status cs_optim_set_bounds(cs_optim *op, int on)
{
    op->bounded = on;
    if (!on || op->kind != CLSTYLE_LBFGS) return CLSTYLE_OK; /* Adam is clamped after its step */
    if (!op->x0) CS_TRY(CS_OP(op->be, alloc, op->n, &op->x0));
    return op->gm ? CLSTYLE_OK : CS_OP(op->be, alloc, op->n, &op->gm);
}

/* x += t d, projected into the bounds when there are any. */
static clstyle_status move(cs_optim *op, double t, cs_buf *x)
{
    CS_TRY(CS_OP(op->be, axpy, (float)t, op->d, x, op->n));
    return project(op, x);
}

/* The step of an iteration without history (the first, and each after a
 * reset): steepest descent that moves the pixels by lr/255 RMS, one 8-bit
 * level at L-BFGS's unit lr, whatever the picture's size. torch's
 * min(1, 1/|g|_1) moves them by 1 in L1 over the whole vector (7e-6 a pixel
 * at 256 px), so the first curvature pair y = g1 - g0 is then mostly the
 * gradient's float32 rounding, and backends that round differently part at
 * once (docs/defaults.md, "The first L-BFGS step"). Here d = -h_diag g, so
 * |d|^2 = -h_diag g.d: no further reduction is needed. */
static clstyle_status start_step(cs_optim *op, cs_buf *g, double gd, double *t)
{
    double dd = -op->h_diag * gd, g1;
    *t = op->lr;
    if (op->start_rule == CS_START_RMS) {
        if (dd > 0) *t = op->lr / 255.0 * sqrt((double)op->n / dd);
        return CLSTYLE_OK;
    }
    CS_TRY(CS_OP(op->be, asum, g, op->n, &g1));
    if (g1 * op->h_diag > 1) *t = op->lr / (g1 * op->h_diag);
    return CLSTYLE_OK;
}

void cs_optim_set_start(cs_optim *op, int rule) { op->start_rule = rule; }

/* Direction and first trial step; x moves there. */
static clstyle_status lbfgs_begin(cs_optim *op, cs_buf *x, cs_buf *g, double f)
{
    cs_backend *be = op->be;
    double t = op->lr, gd;
    cs_buf *gf = g; /* the gradient the direction follows */
    if (op->bounded) {
        gf = op->gm;
        CS_TRY(CS_OP(be, copy, g, gf, op->n));
        CS_TRY(hold(op, gf, x, g));
    }
    if (op->have_prev) CS_TRY(lbfgs_update_history(op, x, g, gf));
    CS_TRY(box_direction(op, x, g, gf, &gd));
    if (!(gd < 0)) { /* not a descent direction: forget the history, go downhill */
        op->count = op->head = 0;
        op->h_diag = 1;
        CS_TRY(box_direction(op, x, g, gf, &gd));
    }
    if (op->count == 0) CS_TRY(start_step(op, g, gd, &t));
    CS_TRY(CS_OP(be, copy, g, op->g_prev, op->n));
    if (op->ls_mode != CLSTYLE_LS_NONE || op->bounded) CS_TRY(CS_OP(be, copy, x, op->x0, op->n));
    if (op->ls_mode != CLSTYLE_LS_NONE) cs_ls_start(&op->ls, op->ls_mode, f, gd);
    op->t = t;
    op->have_prev = 0;
    return move(op, t, x);
}

static void lbfgs_accept(cs_optim *op)
{
    op->t_prev = op->t;
    op->have_prev = 1;
    op->step++;
}

/* Back to the start of the iteration; the history that pointed the wrong way is dropped. */
static clstyle_status lbfgs_restore(cs_optim *op, cs_buf *x, cs_buf *g, int *verdict)
{
    *verdict = op->count == 0 ? CS_STEP_STUCK : CS_STEP_RESTORED;
    op->count = op->head = 0;
    op->h_diag = 1;
    CS_TRY(CS_OP(op->be, copy, op->x0, x, op->n));
    return CS_OP(op->be, copy, op->g_prev, g, op->n);
}

static clstyle_status lbfgs_judge(cs_optim *op, cs_buf *x, cs_buf *g, double f, int *verdict)
{
    double dg = 0, t_next = 0;
    if (op->ls_mode == CLSTYLE_LS_WOLFE) CS_TRY(CS_OP(op->be, dot, g, op->d, op->n, &dg));
    int r = cs_ls_judge(&op->ls, op->t, f, dg, &t_next);
    if (r == CS_LS_ACCEPT) { lbfgs_accept(op); *verdict = CS_STEP_ACCEPT; return CLSTYLE_OK; }
    if (r == CS_LS_FAIL) return lbfgs_restore(op, x, g, verdict);
    /* x = x0 + t_next d from x0, so rounding does not pile up over the trials */
    op->t = t_next;
    *verdict = CS_STEP_RETRY;
    CS_TRY(CS_OP(op->be, copy, op->x0, x, op->n));
    return move(op, t_next, x);
}

static clstyle_status begin_here(cs_optim *op, cs_buf *x, cs_buf *g, double f, int *verdict)
{
    *verdict = CS_STEP_ACCEPT;
    if (op->kind == CLSTYLE_ADAM) {
        op->step++;
        CS_TRY(CS_OP(op->be, adam, x, g, op->m, op->v, op->n, (float)op->lr, 0.9f, 0.999f, 1e-8f, op->step));
        return project(op, x);
    }
    return lbfgs_begin(op, x, g, f);
}

/* Half an iteration where the vectors live: with x and g on another
 * backend, on their copies, sent back after (g only when restored). Two
 * or three image-sized transfers, a small part of an evaluation in bands,
 * where this is used. */
typedef clstyle_status (*half_fn)(cs_optim *op, cs_buf *x, cs_buf *g, double f, int *verdict);
static clstyle_status at_home(cs_optim *op, half_fn fn, cs_buf *x, cs_buf *g, double f, int *verdict)
{
    if (!op->dev) return fn(op, x, g, f, verdict);
    float *xh = cs_host_data(op->be, op->xh), *gh = cs_host_data(op->be, op->gh);
    CS_TRY(CS_OP(op->dev, download, x, 0, xh, op->n));
    CS_TRY(CS_OP(op->dev, download, g, 0, gh, op->n));
    CS_TRY(fn(op, op->xh, op->gh, f, verdict));
    CS_TRY(CS_OP(op->dev, upload, x, 0, xh, op->n));
    return *verdict == CS_STEP_RESTORED || *verdict == CS_STEP_STUCK ? CS_OP(op->dev, upload, g, 0, gh, op->n) : CLSTYLE_OK;
}

clstyle_status cs_optim_begin(cs_optim *op, cs_buf *x, cs_buf *g, double f)
{
    int verdict;
    return at_home(op, begin_here, x, g, f, &verdict);
}

clstyle_status cs_optim_judge(cs_optim *op, cs_buf *x, cs_buf *g, double f, int *verdict)
{
    if (op->kind == CLSTYLE_ADAM || op->ls_mode == CLSTYLE_LS_NONE) { /* nothing to judge: the trial is the step */
        if (op->kind == CLSTYLE_LBFGS) lbfgs_accept(op);
        *verdict = CS_STEP_ACCEPT;
        return CLSTYLE_OK;
    }
    return at_home(op, lbfgs_judge, x, g, f, verdict);
}

clstyle_status cs_optim_step(cs_optim *op, cs_buf *x, cs_buf *g)
{
    int verdict, mode = op->ls_mode;
    op->ls_mode = CLSTYLE_LS_NONE;
    clstyle_status st = cs_optim_begin(op, x, g, 0);
    if (st == CLSTYLE_OK) st = cs_optim_judge(op, x, g, 0, &verdict);
    op->ls_mode = mode;
    return st;
}
