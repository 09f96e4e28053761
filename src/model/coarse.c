#include "coarse.h"

#include <string.h>

#include "error.h"

void cs_coarse_size(int h, int w, int levels, int *ch, int *cw)
{
    for (int k = 0; k < levels; k++) h /= 2, w /= 2;
    *ch = h, *cw = w;
}

static size_t plane3(int h, int w) { return (size_t)3 * h * w; }

/* Level L's evaluator at x of h x w halved L->halvings times. */
static clstyle_status level_init(cs_coarse *C, cs_net *net, const cs_coarse_level *L)
{
    int k = L->halvings;
    if (k < 1 || k > CS_COARSE_MAX_LEVELS || C->eval[k].ops)
        return cs_fail(CLSTYLE_ERR_USAGE, "coarse term: %d halvings (1 to %d, each once)", k, CS_COARSE_MAX_LEVELS);
    cs_eval_input in = L->input;
    cs_coarse_size(C->h, C->w, k, &in.content.h, &in.content.w);
    if (in.content.h < 16 || in.content.w < 16)
        return cs_fail(CLSTYLE_ERR_USAGE, "the coarse term's picture, %dx%d, is below 16 px", in.content.w, in.content.h);
    if (L->input.content.pixels && (L->input.content.w != in.content.w || L->input.content.h != in.content.h))
        return cs_fail(CLSTYLE_ERR_USAGE, "the coarse term's content is %dx%d, not %dx%d", L->input.content.w,
                       L->input.content.h, in.content.w, in.content.h);
    /* Pieces only where the picture needs them: a shrunk one usually fits whole. */
    int longer = in.content.w > in.content.h ? in.content.w : in.content.h;
    if (in.tile >= longer) in.tile = 0;
    in.n_temporal = 0; /* the temporal term holds x itself, at its own size */
    CS_TRY(cs_eval_init(&C->eval[k], net, &L->loss, &in));
    CS_TRY(CS_OP(net->be, alloc, plane3(in.content.h, in.content.w), &C->grad[k]));
    if (k > C->levels) C->levels = k;
    return CLSTYLE_OK;
}

clstyle_status cs_coarse_init(cs_coarse *C, cs_net *net, const cs_coarse_level *levels, int n, int h, int w)
{
    memset(C, 0, sizeof *C);
    C->be = net->be, C->h = h, C->w = w;
    clstyle_status st = CLSTYLE_OK;
    for (int i = 0; i < n; i++) CS_CHECK(level_init(C, net, &levels[i]));
    for (int k = 1; k <= C->levels; k++) {
        int hk, wk;
        cs_coarse_size(h, w, k, &hk, &wk);
        CS_CHECK(CS_OP(net->be, alloc, plane3(hk, wk), &C->down[k]));
    }
    CS_CHECK(CS_OP(net->be, alloc, plane3(h, w), &C->full));
done:
    if (st != CLSTYLE_OK) cs_coarse_free(C);
    return st;
}

/* down[k]: x halved k times, for every level down to the deepest. */
static clstyle_status shrink(cs_coarse *C, cs_backend *be, cs_buf *x)
{
    int h = C->h, w = C->w;
    for (int k = 1; k <= C->levels; k++) {
        CS_TRY(CS_OP(be, pool, k == 1 ? x : C->down[k - 1], C->down[k], 3, h, w, 1));
        h /= 2, w /= 2;
    }
    return CLSTYLE_OK;
}

clstyle_status cs_coarse_run(cs_coarse *C, cs_buf *x, cs_buf *grad)
{
    cs_backend *be = C->be;
    if (!C->levels) return CLSTYLE_OK;
    CS_TRY(shrink(C, be, x));
    C->total = 0;
    /* From the deepest level up: each level's own gradient, plus what the
     * levels below send back through the pooling. Average pooling's
     * backward reads no x, so down[k] takes that once its level is done. */
    cs_buf *dy = NULL;
    for (int k = C->levels; k >= 1; k--) {
        int own = C->eval[k].ops != NULL, h, w;
        if (own) {
            CS_TRY(cs_eval_run(&C->eval[k], C->down[k], C->grad[k]));
            C->total += C->eval[k].terms.total;
        }
        cs_coarse_size(C->h, C->w, k, &h, &w);
        if (dy) CS_TRY(CS_OP(be, pool_bwd, x, dy, C->down[k], 3, h, w, 1, 0));
        if (dy && own) CS_TRY(CS_OP(be, axpy, 1.0f, C->down[k], C->grad[k], plane3(h, w)));
        dy = own ? C->grad[k] : C->down[k];
    }
    CS_TRY(CS_OP(be, pool_bwd, x, dy, C->full, 3, C->h, C->w, 1, 0));
    return CS_OP(be, axpy, 1.0f, C->full, grad, plane3(C->h, C->w));
}

void cs_coarse_free(cs_coarse *C)
{
    for (int k = 1; k <= CS_COARSE_MAX_LEVELS && C->be; k++) {
        cs_buf_release(C->be, C->down[k]);
        cs_buf_release(C->be, C->grad[k]);
        if (C->eval[k].ops) cs_eval_free(&C->eval[k]);
    }
    if (C->be) cs_buf_release(C->be, C->full);
    memset(C, 0, sizeof *C);
}
