/* Direct 3x3 convolution for CPU devices (cl/direct.cl): the weights are
 * rearranged once per weight buffer and direction into blocks of COB output
 * channels, so the kernel's inner loop reads them at constant offsets; the
 * copy lives with the buffer (cs_buf.prep) and is remade when the buffer is
 * written. The zero border is handled in the kernel's loads. */
#include "cl_be.h"

/* The prepared weights of wt for a convolution from n_in to n_out channels. */
static clstyle_status prepared(cl_be *c, cs_buf *wt, int n_in, int n_out, int flip, int cob, cl_mem *out)
{
    cl_prep *p = &wt->prep[flip];
    if (p->m && p->gen == wt->gen && p->n_in == n_in && p->n_out == n_out && p->cob == cob) {
        *out = p->m;
        return CLSTYLE_OK;
    }
    cl_release_raw(c, p->m);
    p->m = NULL;
    size_t n = (size_t)(n_out + cob - 1) / cob * n_in * 9 * cob;
    CS_TRY(cl_alloc_raw(c, n, &p->m, "prepared convolution weights"));
    ARGS(c->k.wprep, A(wt->m), A(p->m), A(n_in), A(n_out), A(flip), A(cob));
    CS_TRY(cl_run1d(c, c->k.wprep, "conv_wprep", n));
    p->gen = wt->gen;
    p->n_in = n_in;
    p->n_out = n_out;
    p->cob = cob;
    *out = p->m;
    return CLSTYLE_OK;
}

static clstyle_status direct(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *y, int n_in, int n_out, int h, int w, int flip)
{
    cl_mem wp;
    CS_TRY(prepared(c, wt, n_in, n_out, flip, CS_DIRECT_COB, &wp));
    size_t global[3] = { (size_t)(w + CS_DIRECT_PX - 1) / CS_DIRECT_PX, (size_t)h,
                         (size_t)(n_out + CS_DIRECT_COB - 1) / CS_DIRECT_COB };
    ARGS(c->k.direct, A(x->m), A(wp), A(y->m), A(n_in), A(n_out), A(h), A(w));
    return cl_run(c, c->k.direct, flip ? "conv direct bwd" : "conv direct fwd", 3, global, NULL);
}

clstyle_status cl_direct_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *y, int ci, int co, int h, int w)
{
    return direct(c, x, wt, y, ci, co, h, w, 0);
}

clstyle_status cl_direct_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w)
{
    return direct(c, dy, wt, dx, co, ci, h, w, 1);
}
