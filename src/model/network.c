#include "network.h"

#include <stdio.h>
#include <string.h>

#include "error.h"

int cs_net_find_node(const cs_weights *w, const char *name)
{
    cs_vgg a;
    return cs_vgg_layout(w->depth, &a) ? -1 : cs_vgg_find(&a, name);
}

clstyle_status cs_net_create(cs_backend *be, const cs_weights *w, int avg_pool, cs_net *net)
{
    return cs_net_create_upto(be, w, avg_pool, -1, net);
}

clstyle_status cs_net_create_upto(cs_backend *be, const cs_weights *w, int avg_pool, int last, cs_net *net)
{
    memset(net, 0, sizeof *net);
    net->be = be;
    net->host = w;
    net->avg_pool = avg_pool;
    cs_vgg layout;
    int n_conv = w->n_conv;
    if (last >= 0 && !cs_vgg_layout(w->depth, &layout)) {
        n_conv = 0;
        for (int i = 0; i <= last && i < layout.n_nodes; i++) n_conv += layout.nodes[i].type == NODE_CONV;
    }
    for (int k = 0; k < n_conv && k < w->n_conv; k++) {
        size_t nw = (size_t)w->cout[k] * w->cin[k] * 9;
        clstyle_status st;
        if ((st = CS_OP(be, alloc, nw, &net->w[k])) || (st = CS_OP(be, upload, net->w[k], 0, w->w[k], nw)) ||
            (st = CS_OP(be, alloc, (size_t)w->cout[k], &net->b[k])) ||
            (st = CS_OP(be, upload, net->b[k], 0, w->b[k], (size_t)w->cout[k]))) {
            cs_net_destroy(net);
            return st;
        }
    }
    return CLSTYLE_OK;
}

void cs_net_destroy(cs_net *net)
{
    for (int k = 0; k < CS_MAX_CONV; k++) {
        cs_buf_release(net->be, net->w[k]);
        cs_buf_release(net->be, net->b[k]);
    }
    memset(net, 0, sizeof *net);
}

int cs_net_reach(const cs_weights *w, int last)
{
    cs_vgg layout;
    if (cs_vgg_layout(w->depth, &layout)) return 0;
    int reach = 0, stride = 1;
    for (int i = 0; i <= last && i < layout.n_nodes; i++) {
        if (layout.nodes[i].type == NODE_CONV) reach += stride;
        if (layout.nodes[i].type == NODE_POOL) stride *= 2;
    }
    return reach;
}

clstyle_status cs_acts_shapes(cs_net *net, int h, int w, int last, const int *tapped, cs_acts *a)
{
    cs_vgg layout;
    cs_vgg_layout(net->host->depth, &layout);
    const cs_vgg_node *d = layout.nodes;
    memset(a, 0, sizeof *a);
    a->net = net;
    a->h = h;
    a->w = w;
    a->n = last + 1;
    int c = 3;
    if (a->n > layout.n_nodes) return cs_fail(CLSTYLE_ERR_USAGE, "layer %d is past the end of %s", last, net->host->arch);
    for (int i = 0; i < a->n; i++) {
        cs_node *nd = &a->nodes[i];
        snprintf(nd->name, sizeof nd->name, "%s", d[i].name);
        nd->type = d[i].type;
        nd->conv = d[i].conv;
        if (nd->type == NODE_CONV) c = net->host->cout[nd->conv]; /* the weights' (tests narrow them) */
        if (nd->type == NODE_POOL) { h /= 2; w /= 2; }
        if (h < 1 || w < 1)
            return cs_fail(CLSTYLE_ERR_USAGE, "a %dx%d image is too small to reach layer %s (each pooling halves it); "
                           "use a larger --size or --style-scale", a->w, a->h, nd->name);
        nd->c = c; nd->h = h; nd->w = w;
        /* A ReLU runs in place on its conv's buffer unless the conv's own output is read by a loss. */
        nd->shared = nd->type == NODE_RELU && !tapped[i - 1];
        nd->tapped = tapped[i];
    }
    return CLSTYLE_OK;
}

size_t cs_acts_largest(const cs_acts *a)
{
    size_t largest = (size_t)3 * a->h * a->w;
    for (int i = 0; i < a->n; i++) {
        size_t n = (size_t)a->nodes[i].c * a->nodes[i].h * a->nodes[i].w;
        if (n > largest) largest = n;
    }
    return largest;
}

clstyle_status cs_acts_create(cs_net *net, int h, int w, int last, const int *tapped, cs_acts *a)
{
    cs_backend *be = net->be;
    CS_TRY(cs_acts_shapes(net, h, w, last, tapped, a));
    clstyle_status st = CS_OP(be, alloc, (size_t)3 * h * w, &a->input);
    for (int i = 0; i < a->n && st == CLSTYLE_OK; i++) {
        cs_node *nd = &a->nodes[i];
        if (nd->shared) nd->out = a->nodes[i - 1].out;
        else st = CS_OP(be, alloc, (size_t)nd->c * nd->h * nd->w, &nd->out);
    }
    for (int g = 0; g < 2 && st == CLSTYLE_OK; g++) st = CS_OP(be, alloc, cs_acts_largest(a), &a->grad[g]);
    if (st != CLSTYLE_OK) cs_acts_destroy(a);
    return st;
}

void cs_acts_reshape(cs_acts *a, int h, int w)
{
    a->h = h;
    a->w = w;
    for (int i = 0; i < a->n; i++) {
        if (a->nodes[i].type == NODE_POOL) { h /= 2; w /= 2; }
        a->nodes[i].h = h;
        a->nodes[i].w = w;
    }
}

void cs_acts_destroy(cs_acts *a)
{
    if (!a->net) return;
    cs_backend *be = a->net->be;
    for (int i = 0; i < a->n; i++)
        if (!a->nodes[i].shared) cs_buf_release(be, a->nodes[i].out);
    cs_buf_release(be, a->input);
    cs_buf_release(be, a->grad[0]);
    cs_buf_release(be, a->grad[1]);
    memset(a, 0, sizeof *a);
}

static clstyle_status node_forward(cs_acts *a, int i, cs_buf *in, int ic, int ih, int iw)
{
    cs_backend *be = a->net->be;
    cs_node *nd = &a->nodes[i];
    size_t n = (size_t)nd->c * nd->h * nd->w;
    switch (nd->type) {
    case NODE_CONV: {
        int fuse = i + 1 < a->n && a->nodes[i + 1].shared;
        return CS_OP(be, conv3x3, in, a->net->w[nd->conv], a->net->b[nd->conv], nd->out, ic, nd->c, ih, iw, fuse);
    }
    case NODE_RELU:
        if (nd->shared) return CLSTYLE_OK; /* done by the conv */
        CS_TRY(CS_OP(be, copy, in, nd->out, n));
        return CS_OP(be, bias_relu, nd->out, NULL, nd->c, nd->h * nd->w, 1);
    default:
        return CS_OP(be, pool, in, nd->out, ic, ih, iw, a->net->avg_pool);
    }
}

clstyle_status cs_forward(cs_acts *a, cs_buf *x)
{
    const cs_weights *w = a->net->host;
    CS_TRY(CS_OP(a->net->be, affine, x, a->input, 3, a->h * a->w, w->in_scale, w->in_offset));
    cs_buf *in = a->input;
    int c = 3, h = a->h, wd = a->w;
    for (int i = 0; i < a->n; i++) {
        CS_TRY(cs_stop_check(a->net->stop)); /* a first pass over a large image takes long; stop between layers */
        CS_TRY(node_forward(a, i, in, c, h, wd));
        in = a->nodes[i].out;
        c = a->nodes[i].c; h = a->nodes[i].h; wd = a->nodes[i].w;
    }
    return CLSTYLE_OK;
}

int cs_pool_takes_relu(const cs_acts *a, int i)
{
    return i > 0 && i < a->n && a->nodes[i].type == NODE_POOL && a->nodes[i - 1].type == NODE_RELU && !a->nodes[i - 1].tapped;
}

/* Gradient of node i's output (in g) to the gradient of its input (into gin). */
static clstyle_status node_backward(cs_acts *a, int i, cs_buf *g, cs_buf *gin)
{
    cs_backend *be = a->net->be;
    cs_node *nd = &a->nodes[i];
    cs_buf *in = i > 0 ? a->nodes[i - 1].out : a->input;
    int ic = i > 0 ? a->nodes[i - 1].c : 3, ih = i > 0 ? a->nodes[i - 1].h : a->h, iw = i > 0 ? a->nodes[i - 1].w : a->w;
    switch (nd->type) {
    case NODE_CONV: return CS_OP(be, conv3x3_bwd, g, a->net->w[nd->conv], gin, ic, nd->c, ih, iw);
    case NODE_RELU:
        if (cs_pool_takes_relu(a, i + 1)) return CLSTYLE_OK;
        return CS_OP(be, relu_bwd, nd->out, g, (size_t)nd->c * nd->h * nd->w);
    default: return CS_OP(be, pool_bwd, in, g, gin, ic, ih, iw, a->net->avg_pool, cs_pool_takes_relu(a, i));
    }
}

clstyle_status cs_backward(cs_acts *a, cs_grad_hook hook, void *ctx, cs_buf *dx)
{
    cs_backend *be = a->net->be;
    const cs_weights *w = a->net->host;
    int cur = 0;
    cs_node *top = &a->nodes[a->n - 1];
    CS_TRY(CS_OP(be, fill, a->grad[cur], 0.0f, (size_t)top->c * top->h * top->w));
    for (int i = a->n - 1; i >= 0; i--) {
        CS_TRY(hook(ctx, i, a->grad[cur]));
        CS_TRY(node_backward(a, i, a->grad[cur], a->grad[1 - cur]));
        if (a->nodes[i].type != NODE_RELU) cur = 1 - cur; /* ReLU works in place */
    }
    /* Through the preprocessing: d x = s[c] * d input. */
    static const float zero[3] = { 0, 0, 0 };
    return CS_OP(be, affine, a->grad[cur], dx, 3, a->h * a->w, w->in_scale, zero);
}
