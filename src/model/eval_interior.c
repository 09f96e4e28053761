#include "eval_interior.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

void cs_host_window(float *big, float *small, cs_window win, int to_small)
{
    for (size_t ch = 0; ch < win.c; ch++)
        for (size_t r = 0; r < win.h; r++) {
            float *b = big + (ch * win.H + win.y0 + r) * win.W + win.x0, *sm = small + (ch * win.h + r) * win.w;
            memcpy(to_small ? sm : b, to_small ? b : sm, win.w * sizeof(float));
        }
}

/* The interior's window in a one-channel map of the layer: where its mask lies. */
static cs_window positions(cs_window at)
{
    at.c = 1;
    return at;
}

clstyle_status cs_interior_gram(cs_eval *E, int i, int g, cs_buf *mask, cs_window at, double weight, cs_buf *into)
{
    cs_term *t = &E->terms.t[i];
    cs_backend *be = E->terms.be;
    size_t m = at.h * at.w, m_all = at.H * at.W;
    cs_buf *f = E->fwin;
    if (mask) {
        CS_TRY(CS_OP(be, crop, mask, positions(at), E->mwin));
        CS_TRY(CS_OP(be, mask_mul, E->fwin, E->mwin, E->dwin, (int)at.c, m, 0));
        f = E->dwin;
    }
    CS_TRY(CS_OP(be, gram, f, t->g[g].dgram, (int)at.c, (int)m));
    return CS_OP(be, axpy, (float)(weight * (double)m / (double)m_all), t->g[g].dgram, into, at.c * at.c);
}

static clstyle_status content_grad(cs_eval *E, int i, cs_window at, cs_buf *into, double *sum)
{
    const cs_term *t = &E->terms.t[i];
    size_t n = at.c * at.h * at.w;
    if (E->content_host[i]) cs_host_window(E->content_host[i], E->host_piece, at, 1); /* none when sizing */
    CS_TRY(CS_OP(E->terms.be, upload, E->twin, 0, E->host_piece, n));
    return CS_OP(E->terms.be, sqdiff, E->fwin, E->twin, n, cs_terms_content_scale(&E->terms, t), into, sum);
}

/* Group g's style gradient at the interior, added into `into`. gram_bwd
 * normalizes by the interior's positions and the Gram is the whole map's,
 * so dG comes scaled by the interior's share of the positions (into
 * E->dgs: c^2 floats, where scaling the gradient would pass over c m). A
 * mask's gradient is (dG f) m^2 (eval_whole.c), through E->gwin. */
static clstyle_status group_grad(cs_eval *E, const cs_term *t, int g, cs_window at, cs_buf *into)
{
    cs_backend *be = E->terms.be;
    const cs_group_term *q = &t->g[g];
    size_t m = at.h * at.w, n = at.c * m, cc = at.c * at.c;
    float share = (float)((double)m / (double)t->m);
    CS_TRY(CS_OP(be, fill, E->dgs, 0.0f, cc));
    CS_TRY(CS_OP(be, axpy, share, q->dgram, E->dgs, cc));
    if (!q->mask) return CS_OP(be, gram_bwd, E->dgs, E->fwin, into, (int)at.c, (int)m);
    CS_TRY(CS_OP(be, fill, E->gwin, 0.0f, n));
    CS_TRY(CS_OP(be, gram_bwd, E->dgs, E->fwin, E->gwin, (int)at.c, (int)m));
    CS_TRY(CS_OP(be, crop, q->mask2, positions(at), E->mwin));
    return CS_OP(be, mask_mul, E->gwin, E->mwin, into, (int)at.c, m, 1);
}

clstyle_status cs_interior_grads(cs_eval *E, int i, cs_window at, cs_buf *into, double *sum)
{
    const cs_term *t = &E->terms.t[i];
    for (int g = 0; g < E->terms.n_groups; g++)
        if (t->g[g].on && !t->g[g].empty) CS_TRY(group_grad(E, t, g, at, into));
    return t->is_content ? content_grad(E, i, at, into, sum) : CLSTYLE_OK;
}

/* Style k's mask on its image, pooled to each style layer it names, on the device (masks[i] per term). */
clstyle_status cs_interior_style_masks(cs_eval *E, const cs_eval_input *in, int k, cs_buf **masks)
{
    cs_terms *T = &E->terms;
    const cs_eval_image *im = &in->styles[k];
    for (int i = 0; i < T->n; i++) {
        const cs_term *t = &T->t[i];
        size_t m = (size_t)(im->h / t->stride) * (size_t)(im->w / t->stride);
        double ss;
        if (!t->g[cs_style_group(in, k)].on || !cs_term_names(t, cs_style_layers(in, k))) continue;
        CS_TRY(CS_OP(T->be, alloc, m ? m : 1, &masks[i]));
        if (!im->pixels) continue; /* sizing */
        float *host = malloc((m ? m : 1) * sizeof *host);
        if (!host) return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory for a style mask (%zu floats)", m);
        cs_mask_for_layer(in->style_masks[k], im->h, im->w, t->stride, host, &ss);
        clstyle_status st = CS_OP(T->be, upload, masks[i], 0, host, m);
        free(host);
        CS_TRY(st);
    }
    return CLSTYLE_OK;
}

clstyle_status cs_interior_clear_grams(cs_terms *T)
{
    for (int i = 0; i < T->n; i++)
        for (int g = 0; g < T->n_groups; g++)
            if (T->t[i].g[g].on) CS_TRY(CS_OP(T->be, fill, T->t[i].g[g].gram, 0.0f, T->t[i].c * T->t[i].c));
    return CLSTYLE_OK;
}

clstyle_status cs_interior_style_dgs(cs_terms *T)
{
    for (int i = 0; i < T->n; i++)
        for (int g = 0; g < T->n_groups; g++)
            if (T->t[i].g[g].on && !T->t[i].g[g].empty) CS_TRY(cs_terms_style_dg(T, &T->t[i], g));
    return CLSTYLE_OK;
}

clstyle_status cs_interior_alloc(cs_eval *E, const cs_eval_input *in, size_t feat, size_t target, size_t positions_, size_t host)
{
    cs_backend *be = E->terms.be;
    CS_TRY(CS_OP(be, alloc, feat, &E->fwin));
    CS_TRY(CS_OP(be, alloc, feat, &E->dwin));
    size_t cc = 1;
    for (int i = 0; i < E->terms.n; i++) cs_raise(&cc, (size_t)E->terms.t[i].c * E->terms.t[i].c);
    CS_TRY(CS_OP(be, alloc, cc, &E->dgs));
    if (target) CS_TRY(CS_OP(be, alloc, target, &E->twin));
    int style_masked = 0;
    for (int k = 0; k < in->n_styles && in->style_masks && !in->targets; k++) style_masked |= in->style_masks[k] != NULL;
    if (in->content_masks || style_masked) CS_TRY(CS_OP(be, alloc, positions_, &E->mwin));
    if (in->content_masks) CS_TRY(CS_OP(be, alloc, feat, &E->gwin));
    E->host_bytes += host * sizeof(float);
    E->host_piece = calloc(host, sizeof(float));
    if (!E->host_piece) return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory for a %zu-float piece", host);
    return CLSTYLE_OK;
}

clstyle_status cs_interior_content_arrays(cs_eval *E, int sizing)
{
    for (int i = 0; i < E->terms.n; i++) {
        const cs_term *t = &E->terms.t[i];
        if (!t->is_content) continue;
        E->host_bytes += t->n * sizeof(float);
        if (!sizing && !(E->content_host[i] = calloc(t->n ? t->n : 1, sizeof(float))))
            return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory for the %s content target (%zu floats)",
                           E->acts.nodes[t->node].name, t->n);
    }
    return CLSTYLE_OK;
}

void cs_interior_free(cs_eval *E)
{
    cs_backend *be = E->terms.be;
    cs_buf_release(be, E->fwin);
    cs_buf_release(be, E->dwin);
    cs_buf_release(be, E->dgs);
    cs_buf_release(be, E->twin);
    free(E->host_piece);
    for (int i = 0; i < E->terms.n; i++) free(E->content_host[i]);
}

static double sum_squares(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)v[i] * v[i];
    return s;
}

void cs_interior_content_norms(cs_eval *E)
{
    for (int i = 0; i < E->terms.n; i++)
        if (E->terms.t[i].is_content) cs_terms_set_content_norm(&E->terms.t[i], sum_squares(E->content_host[i], E->terms.t[i].n));
}
