#include "pieces.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

enum { GRID = 16 }; /* four 2x2 poolings: piece origins on this grid see the same pooling windows */

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static int round_up(int v, int to) { return (v + to - 1) / to * to; }

int cs_pieces_halo(const cs_weights *w, int last) { return round_up(cs_net_reach(w, last), GRID); }

int cs_pieces_halo_for(const cs_weights *w, const clstyle_options *o) { return cs_pieces_halo(w, cs_net_last_node(w, o)); }

int cs_pieces_count(int h, int w, int tile) { return ((h + tile - 1) / tile) * ((w + tile - 1) / tile); }

typedef struct { int y0, x0, h, w; } rect;

/* One tile of an h x w image: its interior and its window (interior plus halo, clipped to the image). */
typedef struct { rect in, win; } piece;

static piece piece_at(int h, int w, int tile, int halo, int k)
{
    int across = (w + tile - 1) / tile;
    piece p;
    p.in = (rect){ k / across * tile, k % across * tile, 0, 0 };
    p.in.h = imin(tile, h - p.in.y0);
    p.in.w = imin(tile, w - p.in.x0);
    p.win.y0 = imax(0, p.in.y0 - halo);
    p.win.x0 = imax(0, p.in.x0 - halo);
    p.win.h = imin(h, p.in.y0 + p.in.h + halo) - p.win.y0;
    p.win.w = imin(w, p.in.x0 + p.in.w + halo) - p.win.x0;
    return p;
}

/* The largest window of any piece of an h x w image. */
static rect max_window(int h, int w, int tile, int halo)
{
    return (rect){ 0, 0, imin(h, tile + 2 * halo), imin(w, tile + 2 * halo) };
}

/* 2^(poolings before node): the node's features per input pixel. */
static int node_stride(const cs_acts *a, int node)
{
    int s = 1;
    for (int i = 0; i <= node; i++)
        if (a->nodes[i].type == NODE_POOL) s *= 2;
    return s;
}

/* The interior of piece p at node `node`, as a window of the piece's feature
 * map (reshaped for p). Interior ends round down like the poolings do, so the
 * interiors tile the whole image's feature map exactly. */
static cs_window feature_window(const cs_acts *a, int node, piece p)
{
    const cs_node *nd = &a->nodes[node];
    size_t s = (size_t)node_stride(a, node);
    size_t y0 = (size_t)p.in.y0 / s, x0 = (size_t)p.in.x0 / s;
    size_t y1 = (size_t)(p.in.y0 + p.in.h) / s, x1 = (size_t)(p.in.x0 + p.in.w) / s;
    return (cs_window){ (size_t)nd->c, (size_t)nd->h, (size_t)nd->w, y0 - (size_t)p.win.y0 / s, x0 - (size_t)p.win.x0 / s,
                        y1 - y0, x1 - x0 };
}

/* Rows of window win between a (c,H,W) host array and a contiguous one. */
static void host_window(float *big, float *small, cs_window win, int to_small)
{
    for (size_t ch = 0; ch < win.c; ch++)
        for (size_t r = 0; r < win.h; r++) {
            float *b = big + (ch * win.H + win.y0 + r) * win.W + win.x0, *sm = small + (ch * win.h + r) * win.w;
            memcpy(to_small ? sm : b, to_small ? b : sm, win.w * sizeof(float));
        }
}

/* An image to cut into pieces: on the device (the generated image) or on the
 * host (targets); neither when only sizing a job (the pieces are not loaded). */
typedef struct {
    cs_buf *dev;
    const float *host;
    int h, w;
} source;

/* Runs piece p of src forward through a (reshaped for it); the piece's pixels go to L->piece. */
static clstyle_status forward_piece(cs_loss *L, cs_acts *a, source src, piece p)
{
    cs_window win = { 3, (size_t)src.h, (size_t)src.w, (size_t)p.win.y0, (size_t)p.win.x0, (size_t)p.win.h, (size_t)p.win.w };
    if (src.dev) {
        CS_TRY(CS_OP(L->be, crop, src.dev, win, L->piece));
    } else if (src.host) {
        host_window((float *)src.host, L->host_piece, win, 1);
        CS_TRY(CS_OP(L->be, upload, L->piece, 0, L->host_piece, 3 * win.h * win.w));
    }
    cs_acts_reshape(a, p.win.h, p.win.w);
    return cs_forward(a, L->piece);
}

/* Called with a layer's interior features of one piece, cropped into L->fwin (window fw of the piece's map). */
typedef clstyle_status (*interior_fn)(cs_loss *L, const cs_loss_layer *l, source src, piece p, cs_window fw, void *ctx);

/* Runs every piece of src forward and hands each style (or content) layer's interior to fn. */
static clstyle_status each_interior(cs_loss *L, source src, int style, interior_fn fn, void *ctx)
{
    int count = cs_pieces_count(src.h, src.w, L->tile);
    for (int k = 0; k < count; k++) {
        piece p = piece_at(src.h, src.w, L->tile, L->halo, k);
        CS_TRY(forward_piece(L, &L->acts, src, p));
        for (int i = 0; i < L->n; i++) {
            cs_loss_layer *l = &L->layers[i];
            if (style ? !l->is_style : !l->is_content) continue;
            cs_window fw = feature_window(&L->acts, l->node, p);
            if (fw.h * fw.w == 0) continue;
            CS_TRY(CS_OP(L->be, crop, L->acts.nodes[l->node].out, fw, L->fwin));
            CS_TRY(fn(L, l, src, p, fw, ctx));
        }
    }
    return CLSTYLE_OK;
}

/* Where add_gram accumulates: the targets (weighted by the blend) or the generated image's Gram. */
typedef struct { double weight; int into_target; } gram_sink;

/* The piece's interior Gram, normalized by its own positions, scaled by its
 * share of the whole image's positions and added into the layer's sum. */
static clstyle_status add_gram(cs_loss *L, const cs_loss_layer *l, source src, piece p, cs_window fw, void *ctx)
{
    const gram_sink *g = ctx;
    (void)p;
    int s = node_stride(&L->acts, l->node);
    size_t m = fw.h * fw.w, m_all = (size_t)(src.h / s) * (size_t)(src.w / s), cc = fw.c * fw.c;
    CS_TRY(CS_OP(L->be, gram, L->fwin, l->dgram, (int)fw.c, (int)m));
    return CS_OP(L->be, axpy, (float)(g->weight * (double)m / (double)m_all), l->dgram, g->into_target ? l->gram_target : l->gram, cc);
}

/* Adds weight * (the Gram matrices of src) into each style layer's targets or Gram. */
static clstyle_status add_grams(cs_loss *L, source src, double weight, int into_target)
{
    gram_sink g = { weight, into_target };
    return each_interior(L, src, 1, add_gram, &g);
}

/* The interior's features, into the layer's host content target. */
static clstyle_status keep_target(cs_loss *L, const cs_loss_layer *l, source src, piece p, cs_window fw, void *ctx)
{
    (void)ctx;
    int s = node_stride(&L->acts, l->node);
    CS_TRY(CS_OP(L->be, download, L->fwin, 0, L->host_piece, fw.c * fw.h * fw.w));
    cs_window whole = { fw.c, (size_t)(src.h / s), (size_t)(src.w / s), (size_t)(p.in.y0 / s), (size_t)(p.in.x0 / s), fw.h, fw.w };
    host_window(l->host_target, L->host_piece, whole, 0);
    return CLSTYLE_OK;
}

/* The largest interior feature map of any loss layer (content only: for twin),
 * in any image (the activations are as large as the largest window). */
static size_t largest_interior(const cs_loss *L, int content_only)
{
    size_t most = 0;
    for (int i = 0; i < L->n; i++) {
        const cs_loss_layer *l = &L->layers[i];
        if (content_only && !l->is_content) continue;
        int s = node_stride(&L->acts, l->node), c = L->acts.nodes[l->node].c;
        size_t n = (size_t)c * (size_t)imin(L->tile / s, L->acts.h / s) * (size_t)imin(L->tile / s, L->acts.w / s);
        if (n > most) most = n;
    }
    return most;
}

/* Scratch for the pieces, sized for the largest: a piece of any image
 * (3 x the activations' size) and a layer's interior features, on the device
 * and, for host images and the content targets, on the host. */
static clstyle_status alloc_scratch(cs_loss *L)
{
    size_t px = (size_t)3 * L->acts.h * L->acts.w, feat = largest_interior(L, 0), target = largest_interior(L, 1);
    CS_TRY(CS_OP(L->be, alloc, px, &L->piece));
    CS_TRY(CS_OP(L->be, alloc, feat, &L->fwin));
    CS_TRY(CS_OP(L->be, alloc, feat, &L->dwin));
    if (target) CS_TRY(CS_OP(L->be, alloc, target, &L->twin));
    size_t host = px > feat ? px : feat;
    L->host_bytes += host * sizeof(float);
    L->host_piece = calloc(host, sizeof(float));
    if (!L->host_piece) return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory for a %zu-float piece", host);
    return CLSTYLE_OK;
}

/* A_l = sum_k b_k G_l(s_k), each style image in pieces. */
static clstyle_status style_targets(cs_loss *L, const cs_loss_image *styles, const double *blend, int n_styles)
{
    for (int k = 0; k < n_styles; k++)
        CS_TRY(add_grams(L, (source){ NULL, styles[k].pixels, styles[k].h, styles[k].w }, blend[k], 1));
    return CLSTYLE_OK;
}

/* Full-image shape of each layer, its host content target and its Gram buffers. */
static clstyle_status layer_buffers(cs_loss *L)
{
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        int s = node_stride(&L->acts, l->node);
        size_t c = (size_t)L->acts.nodes[l->node].c;
        l->m = (size_t)(L->h / s) * (size_t)(L->w / s);
        l->n = c * l->m;
        if (l->is_content) L->host_bytes += l->n * sizeof(float);
        if (l->is_content && !(l->host_target = calloc(l->n ? l->n : 1, sizeof(float))))
            return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory for the %s content target (%zu floats)", L->acts.nodes[l->node].name, l->n);
        if (!l->is_style) continue;
        CS_TRY(CS_OP(L->be, alloc, c * c, &l->gram_target));
        CS_TRY(CS_OP(L->be, alloc, c * c, &l->gram));
        CS_TRY(CS_OP(L->be, alloc, c * c, &l->dgram));
    }
    return CLSTYLE_OK;
}

static double sum_squares(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)v[i] * v[i];
    return s;
}

clstyle_status cs_pieces_init(cs_loss *L, cs_net *net, const int *tapped, int last, cs_loss_image content,
                              const cs_loss_image *styles, const double *blend, int n_styles)
{
    if (L->tile % GRID) return cs_fail(CLSTYLE_ERR_USAGE, "--tile %d is not a multiple of %d", L->tile, GRID);
    L->halo = cs_pieces_halo(net->host, last);
    L->h = content.h;
    L->w = content.w;
    /* One set of activations serves the pieces of every image: the largest window in each direction. */
    rect r = max_window(content.h, content.w, L->tile, L->halo);
    for (int k = 0; k < n_styles; k++) {
        rect s = max_window(styles[k].h, styles[k].w, L->tile, L->halo);
        r.h = imax(r.h, s.h);
        r.w = imax(r.w, s.w);
    }
    CS_TRY(cs_acts_create(net, r.h, r.w, last, tapped, &L->acts));
    CS_TRY(layer_buffers(L));
    CS_TRY(alloc_scratch(L));
    CS_TRY(style_targets(L, styles, blend, n_styles));
    if (!content.pixels) return CLSTYLE_OK; /* sizing only: the style targets ran every piece */
    CS_TRY(each_interior(L, (source){ NULL, content.pixels, content.h, content.w }, 0, keep_target, NULL));
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        if (l->is_content) l->target_norm = sum_squares(l->host_target, l->n) / (double)l->n + 1e-8;
    }
    return CLSTYLE_OK;
}

void cs_pieces_free(cs_loss *L)
{
    cs_buf_release(L->be, L->piece);
    cs_buf_release(L->be, L->fwin);
    cs_buf_release(L->be, L->dwin);
    cs_buf_release(L->be, L->twin);
    free(L->host_piece);
    for (int i = 0; i < L->n; i++) free(L->layers[i].host_target);
    L->piece = L->fwin = L->dwin = L->twin = NULL;
    L->host_piece = NULL;
    for (int i = 0; i < L->n; i++) L->layers[i].host_target = NULL;
}

/* The backward hook of one piece: the loss gradients at the interior only. */
typedef struct {
    cs_loss *L;
    piece p;
    double sums[2 * CLSTYLE_MAX_LAYERS]; /* content sums of this piece, filled at finish() */
} piece_ctx;

static clstyle_status content_grad(cs_loss *L, cs_loss_layer *l, piece p, cs_window fw, double *sum)
{
    size_t n = fw.c * fw.h * fw.w;
    int s = node_stride(&L->acts, l->node);
    cs_window whole = { fw.c, (size_t)(L->h / s), (size_t)(L->w / s), (size_t)(p.in.y0 / s), (size_t)(p.in.x0 / s), fw.h, fw.w };
    host_window(l->host_target, L->host_piece, whole, 1);
    CS_TRY(CS_OP(L->be, upload, L->twin, 0, L->host_piece, n));
    float gs = (float)(L->alpha * 2.0 / ((double)l->n * l->target_norm));
    return CS_OP(L->be, sqdiff, L->fwin, L->twin, n, gs, L->dwin, sum);
}

static clstyle_status piece_grads(void *ctx, int node, cs_buf *grad)
{
    piece_ctx *pc = ctx;
    cs_loss *L = pc->L;
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        if (l->node != node) continue;
        cs_window fw = feature_window(&L->acts, node, pc->p);
        size_t m = fw.h * fw.w, n = fw.c * m;
        if (m == 0) continue;
        CS_TRY(CS_OP(L->be, crop, L->acts.nodes[node].out, fw, L->fwin));
        CS_TRY(CS_OP(L->be, fill, L->dwin, 0.0f, n));
        if (l->is_style) {
            /* gram_bwd normalizes by this piece's positions; the Gram is the whole image's. */
            CS_TRY(CS_OP(L->be, gram_bwd, l->dgram, L->fwin, L->dwin, (int)fw.c, (int)m));
            CS_TRY(CS_OP(L->be, scale, (float)((double)m / (double)l->m), L->dwin, n));
        }
        if (l->is_content) CS_TRY(content_grad(L, l, pc->p, fw, &pc->sums[i]));
        CS_TRY(CS_OP(L->be, paste_add, L->dwin, fw, grad));
    }
    return CLSTYLE_OK;
}

/* Pass 2 for one piece: its gradient added into grad, its content sums into the layers. */
static clstyle_status backward_piece(cs_loss *L, cs_buf *x, cs_buf *grad, int k)
{
    piece_ctx pc;
    memset(&pc, 0, sizeof pc);
    pc.L = L;
    pc.p = piece_at(L->h, L->w, L->tile, L->halo, k);
    CS_TRY(forward_piece(L, &L->acts, (source){ x, NULL, L->h, L->w }, pc.p));
    /* The input is not read by the backward pass, so the piece's gradient may overwrite it. */
    CS_TRY(cs_backward(&L->acts, piece_grads, &pc, L->piece));
    cs_window win = { 3, (size_t)L->h, (size_t)L->w, (size_t)pc.p.win.y0, (size_t)pc.p.win.x0, (size_t)pc.p.win.h, (size_t)pc.p.win.w };
    CS_TRY(CS_OP(L->be, paste_add, L->piece, win, grad));
    CS_TRY(cs_backend_finish(L->be)); /* the content sums of this piece */
    for (int i = 0; i < L->n; i++) L->layers[i].content_sum += pc.sums[i];
    return CLSTYLE_OK;
}

clstyle_status cs_pieces_eval(cs_loss *L, cs_buf *x, cs_buf *grad)
{
    cs_backend *be = L->be;
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        size_t c = (size_t)L->acts.nodes[l->node].c;
        l->content_sum = 0;
        if (l->is_style) CS_TRY(CS_OP(be, fill, l->gram, 0.0f, c * c));
    }
    /* Pass 1: the whole image's Gram matrices, then their loss and its gradient dG. */
    CS_TRY(add_grams(L, (source){ x, NULL, L->h, L->w }, 1.0, 0));
    for (int i = 0; i < L->n; i++) {
        cs_loss_layer *l = &L->layers[i];
        size_t cc = (size_t)L->acts.nodes[l->node].c * L->acts.nodes[l->node].c;
        if (!l->is_style) continue;
        float gs = (float)(L->beta * l->style_weight * 2.0 / ((double)cc * l->gram_norm));
        CS_TRY(CS_OP(be, fill, l->dgram, 0.0f, cc));
        CS_TRY(CS_OP(be, sqdiff, l->gram, l->gram_target, cc, gs, l->dgram, &l->style_sum));
    }
    /* Pass 2: every piece forward and backward. */
    CS_TRY(CS_OP(be, fill, grad, 0.0f, (size_t)3 * L->h * L->w));
    int count = cs_pieces_count(L->h, L->w, L->tile);
    for (int k = 0; k < count; k++) CS_TRY(backward_piece(L, x, grad, k));
    return CS_OP(be, tv, x, 3, L->h, L->w, (float)L->gamma, grad, &L->tv);
}
