#include "loss.h"

#include <string.h>

#include "error.h"
#include "pieces.h"

static const double EPS = 1e-8;

static cs_loss_layer *layer_for(cs_loss *L, int node)
{
    for (int i = 0; i < L->n; i++)
        if (L->layers[i].node == node) return &L->layers[i];
    cs_loss_layer *l = &L->layers[L->n++];
    memset(l, 0, sizeof *l);
    l->node = node;
    return l;
}

static clstyle_status add_layers(cs_loss *L, const cs_weights *w, const char *const *names, const double *weights,
                                 int n, int style)
{
    for (int i = 0; i < n; i++) {
        int node = cs_net_find_node(w, names[i]);
        if (node < 0) return cs_fail(CLSTYLE_ERR_USAGE, "unknown layer '%s' for %s", names[i], w->arch);
        cs_loss_layer *l = layer_for(L, node);
        if (style) {
            l->is_style = 1;
            l->style_weight = weights ? weights[i] : 1.0;
        } else {
            l->is_content = 1;
        }
    }
    return CLSTYLE_OK;
}

static size_t node_size(const cs_node *nd) { return (size_t)nd->c * nd->h * nd->w; }

/* Uploads an image and runs it forward through activations a. */
static clstyle_status forward_image(cs_loss *L, cs_acts *a, cs_loss_image im)
{
    cs_buf *x = NULL;
    clstyle_status st;
    CS_CHECK(CS_OP(L->be, alloc, (size_t)3 * im.w * im.h, &x));
    CS_CHECK(CS_OP(L->be, upload, x, 0, im.pixels, (size_t)3 * im.w * im.h));
    CS_CHECK(cs_forward(a, x));
done:
    cs_buf_release(L->be, x);
    return st;
}

/* Content targets come from L->acts itself: the content image has the generated image's size. */
static clstyle_status content_targets(cs_loss *L, cs_loss_image content)
{
    CS_TRY(forward_image(L, &L->acts, content));
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        if (!l->is_content) continue;
        size_t n = node_size(&L->acts.nodes[l->node]);
        double ss;
        CS_TRY(CS_OP(L->be, alloc, n, &l->target));
        CS_TRY(CS_OP(L->be, copy, L->acts.nodes[l->node].out, l->target, n));
        CS_TRY(CS_OP(L->be, dot, l->target, l->target, n, &ss));
        l->target_norm = ss / (double)n + EPS;
    }
    return CLSTYLE_OK;
}

/* The whole image's feature counts of each layer (its activations are the whole image's). */
static void whole_shapes(cs_loss *L)
{
    for (int i = 0; i < L->n; i++) {
        const cs_node *nd = &L->acts.nodes[L->layers[i].node];
        L->layers[i].m = (size_t)nd->h * nd->w;
        L->layers[i].n = (size_t)nd->c * L->layers[i].m;
    }
}

/* Adds b G_l(s) to each A_l, allocating the Gram buffers on first use. */
static clstyle_status add_style(cs_loss *L, const cs_acts *a, double b)
{
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        const cs_node *nd = &a->nodes[l->node];
        size_t cc = (size_t)nd->c * nd->c;
        if (!l->is_style) continue;
        if (!l->gram_target) {
            CS_TRY(CS_OP(L->be, alloc, cc, &l->gram_target));
            CS_TRY(CS_OP(L->be, alloc, cc, &l->gram));
            CS_TRY(CS_OP(L->be, alloc, cc, &l->dgram));
        }
        CS_TRY(CS_OP(L->be, gram, nd->out, l->gram, nd->c, nd->h * nd->w));
        CS_TRY(CS_OP(L->be, axpy, (float)b, l->gram, l->gram_target, cc));
    }
    return CLSTYLE_OK;
}

/* A_l = sum_k b_k G_l(s_k); each style image has its own size and its own
 * temporary activations, made before the generated image's to lower the peak. */
static clstyle_status style_targets(cs_loss *L, cs_net *net, const int *tapped, int last,
                                    const cs_loss_image *styles, const double *blend, int n_styles)
{
    for (int k = 0; k < n_styles; k++) {
        cs_acts a;
        CS_TRY(cs_acts_create(net, styles[k].h, styles[k].w, last, tapped, &a));
        clstyle_status st = forward_image(L, &a, styles[k]);
        if (st == CLSTYLE_OK) st = add_style(L, &a, blend[k]);
        cs_acts_destroy(&a);
        CS_TRY(st);
    }
    return CLSTYLE_OK;
}

/* mean(A_l^2) + eps for each style layer (c from the activations' shapes). */
static clstyle_status style_norms(cs_loss *L)
{
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        if (!l->is_style) continue;
        size_t cc = (size_t)L->acts.nodes[l->node].c * L->acts.nodes[l->node].c;
        double ss;
        CS_TRY(CS_OP(L->be, dot, l->gram_target, l->gram_target, cc, &ss));
        l->gram_norm = ss / (double)cc + EPS;
    }
    return CLSTYLE_OK;
}

clstyle_status cs_loss_init(cs_loss *L, cs_net *net, const clstyle_options *o, cs_loss_image content,
                            const cs_loss_image *styles, const double *blend, int n_styles)
{
    memset(L, 0, sizeof *L);
    L->be = net->be;
    L->alpha = o->content_weight;
    L->beta = o->style_weight;
    L->gamma = o->tv_weight;
    CS_TRY(add_layers(L, net->host, o->content_layers, NULL, o->n_content_layers, 0));
    CS_TRY(add_layers(L, net->host, o->style_layers, o->style_layer_weights, o->n_style_layers, 1));
    int tapped[CS_MAX_NODES] = { 0 }, last = 0;
    for (int i = 0; i < L->n; i++) {
        tapped[L->layers[i].node] = 1;
        if (L->layers[i].node > last) last = L->layers[i].node;
    }
    clstyle_status st;
    L->tile = o->tile;
    if (L->tile > 0) {
        CS_CHECK(cs_pieces_init(L, net, tapped, last, content, styles, blend, n_styles));
        CS_CHECK(style_norms(L));
        goto done;
    }
    CS_CHECK(style_targets(L, net, tapped, last, styles, blend, n_styles));
    CS_CHECK(cs_acts_create(net, content.h, content.w, last, tapped, &L->acts));
    whole_shapes(L);
    CS_CHECK(style_norms(L));
    CS_CHECK(content_targets(L, content));
done:
    if (st != CLSTYLE_OK) cs_loss_free(L);
    return st;
}

void cs_loss_free(cs_loss *L)
{
    if (L->tile > 0) cs_pieces_free(L);
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        cs_buf_release(L->be, l->target);
        cs_buf_release(L->be, l->gram_target);
        cs_buf_release(L->be, l->gram);
        cs_buf_release(L->be, l->dgram);
    }
    cs_acts_destroy(&L->acts);
    L->n = 0;
}

/* Adds the gradients of the loss terms read at `node` into grad (and their values). */
static clstyle_status layer_grads(void *ctx, int node, cs_buf *grad)
{
    cs_loss *L = ctx;
    cs_backend *be = L->be;
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        if (l->node != node) continue;
        const cs_node *nd = &L->acts.nodes[node];
        size_t n = node_size(nd), cc = (size_t)nd->c * nd->c;
        int m = nd->h * nd->w;
        if (l->is_content) {
            /* d/dF of alpha * mean((F-P)^2) / norm */
            float gs = (float)(L->alpha * 2.0 / ((double)n * l->target_norm));
            CS_TRY(CS_OP(be, sqdiff, nd->out, l->target, n, gs, grad, &l->content_sum));
        }
        if (l->is_style) {
            float gs = (float)(L->beta * l->style_weight * 2.0 / ((double)cc * l->gram_norm));
            CS_TRY(CS_OP(be, gram, nd->out, l->gram, nd->c, m));
            CS_TRY(CS_OP(be, fill, l->dgram, 0.0f, cc));
            CS_TRY(CS_OP(be, sqdiff, l->gram, l->gram_target, cc, gs, l->dgram, &l->style_sum));
            CS_TRY(CS_OP(be, gram_bwd, l->dgram, nd->out, grad, nd->c, m));
        }
    }
    return CLSTYLE_OK;
}

clstyle_status cs_loss_eval(cs_loss *L, cs_buf *x, cs_buf *grad)
{
    if (L->tile > 0) {
        CS_TRY(cs_pieces_eval(L, x, grad));
    } else {
        CS_TRY(cs_forward(&L->acts, x));
        CS_TRY(cs_backward(&L->acts, layer_grads, L, grad));
        CS_TRY(CS_OP(L->be, tv, x, 3, L->acts.h, L->acts.w, (float)L->gamma, grad, &L->tv));
    }
    /* The loss terms come back together here, so the device never waits mid-pass. */
    CS_TRY(cs_backend_finish(L->be));
    L->content = L->style = 0;
    for (int i = 0; i < L->n; i++) {
        const cs_loss_layer *l = &L->layers[i];
        const cs_node *nd = &L->acts.nodes[l->node];
        size_t cc = (size_t)nd->c * nd->c;
        if (l->is_content) L->content += l->content_sum / (double)l->n / l->target_norm;
        if (l->is_style) L->style += l->style_weight * l->style_sum / (double)cc / l->gram_norm;
    }
    L->total = L->alpha * L->content + L->beta * L->style + L->gamma * L->tv;
    return CLSTYLE_OK;
}
