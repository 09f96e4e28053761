#include "eval_whole.h"

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

/* Adds b G_l(s) to each A_l (G_l(s) passes through the term's own G buffer). */
static clstyle_status add_style(cs_terms *T, const cs_acts *a, double b)
{
    for (int i = 0; i < T->n; i++) {
        cs_term *t = &T->t[i];
        const cs_node *nd = &a->nodes[t->node];
        if (!t->is_style) continue;
        CS_TRY(CS_OP(T->be, gram, nd->out, t->gram, nd->c, nd->h * nd->w));
        CS_TRY(CS_OP(T->be, axpy, (float)b, t->gram, t->gram_target, t->c * t->c));
    }
    return CLSTYLE_OK;
}

/* A_l = sum_k b_k G_l(s_k); each style image has its own size and its own
 * temporary activations, made before the generated image's to lower the peak. */
static clstyle_status style_targets(cs_eval *E, cs_net *net, const cs_eval_input *in)
{
    for (int k = 0; k < in->n_styles; k++) {
        cs_acts a;
        CS_TRY(cs_acts_create(net, in->styles[k].h, in->styles[k].w, E->terms.last, E->terms.tapped, &a));
        clstyle_status st = forward_image(net->be, &a, in->styles[k]);
        if (st == CLSTYLE_OK) st = add_style(&E->terms, &a, in->blend[k]);
        cs_acts_destroy(&a);
        CS_TRY(st);
    }
    return CLSTYLE_OK;
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
    CS_TRY(cs_acts_create(net, E->h, E->w, E->terms.last, E->terms.tapped, &E->acts));
    return content_targets(E, in->content);
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
        if (t->is_style) {
            CS_TRY(CS_OP(T->be, gram, f, t->gram, (int)t->c, (int)t->m));
            CS_TRY(cs_terms_style_dg(T, t));
            CS_TRY(CS_OP(T->be, gram_bwd, t->dgram, f, grad, (int)t->c, (int)t->m));
        }
    }
    return CLSTYLE_OK;
}

static clstyle_status whole_run(cs_eval *E, cs_buf *x, cs_buf *grad)
{
    CS_TRY(cs_forward(&E->acts, x));
    CS_TRY(cs_backward(&E->acts, layer_grads, E, grad));
    return CS_OP(E->terms.be, tv, x, 3, E->h, E->w, (float)E->terms.gamma, grad, &E->terms.tv);
}

static void whole_free(cs_eval *E) { (void)E; } /* cs_eval_free releases what whole_init made */

const cs_eval_ops cs_eval_whole = { whole_init, whole_run, whole_free };
