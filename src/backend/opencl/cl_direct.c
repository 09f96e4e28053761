/* Direct 3x3 convolution for CPU devices (cl/direct.cl): the weights are
 * rearranged once per weight buffer and direction into blocks of COB output
 * channels, so the kernel's inner loop reads them at constant offsets; the
 * copy lives with the buffer (cs_buf.prep, or the one copy of level
 * one-copy) and is remade when the buffer is written. The zero border is handled in the kernel's loads. */
#include "cl_be.h"

/* Output channels per work-item: 4 where there are at most 4 (conv3x3_direct4). */
static int direct_cob(int n_out) { return n_out <= 4 ? 4 : CS_DIRECT_COB; }

static size_t direct_prep(int n_in, int n_out) { return cl_round_up((size_t)n_out, (size_t)direct_cob(n_out)) * n_in * 9; }

void cl_direct_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch)
{
    (void)c, (void)h, (void)w, (void)scratch; /* no scratch */
    prep[0] = direct_prep(ci, co);
    prep[1] = direct_prep(co, ci);
}

/* flip: the backward (transposed weights, no bias or ReLU). */
static clstyle_status direct(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int n_in, int n_out, int h, int w, int relu,
                             int flip)
{
    cl_mem wp;
    int cob = direct_cob(n_out);
    cl_kernel k = cob == 4 ? c->k.direct4 : c->k.direct;
    size_t n = direct_prep(n_in, n_out);
    CS_TRY(cl_prepared(c, wt, PREP_DIRECT + flip, c->k.wprep, n_in, n_out, cob, n, n, &wp));
    size_t global[3] = { (size_t)(w + CS_DIRECT_PX - 1) / CS_DIRECT_PX, (size_t)h, (size_t)(n_out + cob - 1) / cob };
    cl_mem b = bias ? bias->m : wp;
    int epi = cl_epilogue(bias, relu);
    ARGS(k, A(x->m), A(wp), A(y->m), A(n_in), A(n_out), A(h), A(w), A(b), A(epi));
    return cl_run(c, k, flip ? "conv direct bwd" : "conv direct fwd", 3, global, NULL);
}

clstyle_status cl_direct_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu)
{
    return direct(c, x, wt, bias, y, ci, co, h, w, relu, 0);
}

clstyle_status cl_direct_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    return direct(c, dy, wt, NULL, dx, co, ci, h, w, 0, 1);
}
