#include "eval_whole.h"

#include <stdlib.h>

#include "error.h"

/* Uploads an image and runs it forward through activations a. */
static clstyle_status forward_image(cs_backend *be, cs_acts *a, cs_eval_image im)
{
    cs_buf *x = NULL;
    clstyle_status st;
    CS_CHECK(CS_OP(be, alloc, (size_t)3 * im.w * im.h, &x));
    CS_CHECK(CS_OP(be, upload, x, 0, im.pixels, (size_t)3 * im.w * im.h));
    CS_CHECK(cs_forward(a, x));
done:
    cs_buf_release(be, x);
    return st;
}

/* The features f (c,m) of a style image masked by its style mask at this
 * layer (pooled and scaled: the guided Gram's normalization) into *out. */
static clstyle_status mask_style(cs_backend *be, const cs_term *t, cs_buf *f, int c, int h, int w, cs_eval_image mask,
                                 cs_buf **out)
{
    size_t m = (size_t)h * w;
    cs_buf *mb = NULL;
    float *host = malloc((m ? m : 1) * sizeof *host);
    double ss;
    clstyle_status st;
    if (!host) return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory for a style mask (%zu floats)", m);
    if (mask.pixels) cs_mask_for_layer(mask.pixels, mask.h, mask.w, t->stride, host, &ss);
    CS_CHECK(CS_OP(be, alloc, m, &mb));
    CS_CHECK(CS_OP(be, alloc, (size_t)c * m, out));
    if (mask.pixels) CS_CHECK(CS_OP(be, upload, mb, 0, host, m));
    CS_CHECK(CS_OP(be, mask_mul, f, mb, *out, c, m, 0));
done:
    cs_buf_release(be, mb);
    free(host);
    return st;
}

/* Adds b G_l^g(s) to the targets A_l^g of style k's group at the layers it
 * names (G passes through the group's own G buffer); with a style mask, the
 * guided Gram of the masked positions. */
static clstyle_status add_style(cs_terms *T, const cs_acts *a, const cs_eval_input *in, int k)
{
    int g = cs_style_group(in, k);
    unsigned layers = cs_style_layers(in, k);
    const float *smask = in->style_masks ? in->style_masks[k] : NULL;
    for (int i = 0; i < T->n; i++) {
        cs_term *t = &T->t[i];
        const cs_node *nd = &a->nodes[t->node];
        cs_buf *f = nd->out, *masked = NULL;
        if (!t->g[g].on || !cs_term_names(t, layers)) continue;
        if (smask) {
            cs_eval_image mk = { in->styles[k].pixels ? smask : NULL, in->styles[k].w, in->styles[k].h };
            CS_TRY(mask_style(T->be, t, f, nd->c, nd->h, nd->w, mk, &masked));
            f = masked;
        }
        clstyle_status st = CS_OP(T->be, gram, f, t->g[g].gram, nd->c, nd->h * nd->w);
        cs_buf_release(T->be, masked);
        CS_TRY(st);
        CS_TRY(CS_OP(T->be, axpy, (float)in->blend[k], t->g[g].gram, t->g[g].target, t->c * t->c));
    }
    cs_terms_add_blend(T, g, layers, in->blend[k]);
    return CLSTYLE_OK;
}

/* A_l^g = sum_k b_k G_l(s_k) over group g's styles naming layer l (divided by
 * their weights later); each style image has its own size and its own
 * temporary activations, made before the generated image's to lower the peak. */
static clstyle_status style_targets(cs_eval *E, cs_net *net, const cs_eval_input *in)
{
    for (int k = 0; k < in->n_styles; k++) {
        cs_acts a;
        CS_TRY(cs_acts_create(net, in->styles[k].h, in->styles[k].w, E->terms.last, E->terms.tapped, &a));
        clstyle_status st = forward_image(net->be, &a, in->styles[k]);
        if (st == CLSTYLE_OK) st = add_style(&E->terms, &a, in, k);
        cs_acts_destroy(&a);
        CS_TRY(st);
    }
    return CLSTYLE_OK;
}

/* With content masks: scratch for one style layer's masked features. */
static clstyle_status mask_scratch(cs_eval *E)
{
    size_t most = 0;
    for (int i = 0; i < E->terms.n; i++)
        if (E->terms.t[i].is_style && E->terms.t[i].n > most) most = E->terms.t[i].n;
    return most ? CS_OP(E->terms.be, alloc, most, &E->mfeat) : CLSTYLE_OK;
}

/* F_l(c) of each content term, computed in the generated image's own activations (same size). */
static clstyle_status content_targets(cs_eval *E, cs_eval_image content)
{
    cs_terms *T = &E->terms;
    CS_TRY(forward_image(T->be, &E->acts, content));
    for (int i = 0; i < T->n; i++) {
        cs_term *t = &T->t[i];
        double ss;
        if (!t->is_content) continue;
        CS_TRY(CS_OP(T->be, alloc, t->n, &E->content_dev[i]));
        CS_TRY(CS_OP(T->be, copy, E->acts.nodes[t->node].out, E->content_dev[i], t->n));
        CS_TRY(CS_OP(T->be, dot, E->content_dev[i], E->content_dev[i], t->n, &ss));
        cs_terms_set_content_norm(t, ss);
    }
    return CLSTYLE_OK;
}

static clstyle_status whole_init(cs_eval *E, cs_net *net, const cs_eval_input *in)
{
    CS_TRY(cs_terms_alloc(&E->terms, net->host, E->h, E->w));
    if (!in->targets) CS_TRY(style_targets(E, net, in));
    if (in->content_masks) CS_TRY(mask_scratch(E));
    CS_TRY(cs_acts_create(net, E->h, E->w, E->terms.last, E->terms.tapped, &E->acts));
    return content_targets(E, in->content);
}

/* Group g's style term at t: G^g(f), its dG, and the gradient into grad.
 * Masked: G = (f m)(f m)^T with the mask scaled (cs_mask_for_layer), so
 * df = (dG f) m^2 through the plain Gram ops and one scratch buffer. */
static clstyle_status group_grad(cs_eval *E, cs_term *t, int g, cs_buf *f, cs_buf *grad)
{
    cs_terms *T = &E->terms;
    cs_group_term *q = &t->g[g];
    int c = (int)t->c;
    if (!q->mask) {
        CS_TRY(CS_OP(T->be, gram, f, q->gram, c, (int)t->m));
        CS_TRY(cs_terms_style_dg(T, t, g));
        return CS_OP(T->be, gram_bwd, q->dgram, f, grad, c, (int)t->m);
    }
    CS_TRY(CS_OP(T->be, mask_mul, f, q->mask, E->mfeat, c, t->m, 0));
    CS_TRY(CS_OP(T->be, gram, E->mfeat, q->gram, c, (int)t->m));
    CS_TRY(cs_terms_style_dg(T, t, g));
    CS_TRY(CS_OP(T->be, fill, E->mfeat, 0.0f, t->n));
    CS_TRY(CS_OP(T->be, gram_bwd, q->dgram, f, E->mfeat, c, (int)t->m));
    return CS_OP(T->be, mask_mul, E->mfeat, q->mask2, grad, c, t->m, 1);
}

/* The backward hook: adds the gradients of the terms read at `node` into grad. */
static clstyle_status layer_grads(void *ctx, int node, cs_buf *grad)
{
    cs_eval *E = ctx;
    cs_terms *T = &E->terms;
    for (int i = 0; i < T->n; i++) {
        cs_term *t = &T->t[i];
        cs_buf *f = E->acts.nodes[node].out;
        if (t->node != node) continue;
        if (t->is_content)
            CS_TRY(CS_OP(T->be, sqdiff, f, E->content_dev[i], t->n, cs_terms_content_scale(T, t), grad, &t->content_sum));
        for (int g = 0; g < T->n_groups; g++)
            if (t->g[g].on && !t->g[g].empty) CS_TRY(group_grad(E, t, g, f, grad));
    }
    return CLSTYLE_OK;
}

static clstyle_status whole_run(cs_eval *E, cs_buf *x, cs_buf *grad)
{
    CS_TRY(cs_forward(&E->acts, x));
    CS_TRY(cs_backward(&E->acts, layer_grads, E, grad));
    CS_TRY(CS_OP(E->terms.be, tv, x, 3, E->h, E->w, (float)E->terms.gamma, grad, &E->terms.tv));
    return cs_terms_temporal(&E->terms, x, grad);
}

static void whole_free(cs_eval *E) { (void)E; } /* cs_eval_free releases what whole_init made */

const cs_eval_ops cs_eval_whole = { whole_init, whole_run, whole_free };
