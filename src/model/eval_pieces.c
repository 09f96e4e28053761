#include "eval_pieces.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "eval_interior.h"

enum { GRID = 16 }; /* four 2x2 poolings: piece origins on this grid see the same pooling windows */

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }
static int round_up(int v, int to) { return (v + to - 1) / to * to; }

int cs_pieces_halo(const cs_weights *w, int last) { return round_up(cs_net_reach(w, last), GRID); }

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

/* The interior of piece p at node `node`, as a window of the piece's feature
 * map (reshaped for p). Interior ends round down like the poolings do, so the
 * interiors tile the whole image's feature map exactly. */
static cs_window feature_window(const cs_acts *a, int node, piece p)
{
    const cs_node *nd = &a->nodes[node];
    size_t s = (size_t)cs_terms_stride(a->net->host, node);
    size_t y0 = (size_t)p.in.y0 / s, x0 = (size_t)p.in.x0 / s;
    size_t y1 = (size_t)(p.in.y0 + p.in.h) / s, x1 = (size_t)(p.in.x0 + p.in.w) / s;
    return (cs_window){ (size_t)nd->c, (size_t)nd->h, (size_t)nd->w, y0 - (size_t)p.win.y0 / s, x0 - (size_t)p.win.x0 / s,
                        y1 - y0, x1 - x0 };
}

/* An image to cut into pieces: on the device (the generated image) or on the
 * host (targets); neither when only sizing a job (the pieces are not loaded). */
typedef struct {
    cs_buf *dev;
    const float *host;
    int h, w;
} source;


/* Runs piece p of src forward through E->acts (reshaped for it); the piece's pixels go to E->piece. */
static clstyle_status forward_piece(cs_eval *E, source src, piece p)
{
    cs_backend *be = E->terms.be;
    cs_window win = { 3, (size_t)src.h, (size_t)src.w, (size_t)p.win.y0, (size_t)p.win.x0, (size_t)p.win.h, (size_t)p.win.w };
    if (src.dev) {
        CS_TRY(CS_OP(be, crop, src.dev, win, E->piece));
    } else if (src.host) {
        cs_host_window((float *)src.host, E->host_piece, win, 1);
        CS_TRY(CS_OP(be, upload, E->piece, 0, E->host_piece, 3 * win.h * win.w));
    }
    cs_acts_reshape(&E->acts, p.win.h, p.win.w);
    return cs_forward(&E->acts, E->piece);
}

/* Called with term i's interior features of one piece, cropped into E->fwin (window fw of the piece's map). */
typedef clstyle_status (*interior_fn)(cs_eval *E, int i, source src, piece p, cs_window fw, void *ctx);

/* Runs every piece of src forward and hands each style (or content) term's interior to fn. */
static clstyle_status each_interior(cs_eval *E, source src, int style, interior_fn fn, void *ctx)
{
    int count = cs_pieces_count(src.h, src.w, E->tile);
    for (int k = 0; k < count; k++) {
        piece p = piece_at(src.h, src.w, E->tile, E->halo, k);
        CS_TRY(forward_piece(E, src, p));
        for (int i = 0; i < E->terms.n; i++) {
            const cs_term *t = &E->terms.t[i];
            if (style ? !t->is_style : !t->is_content) continue;
            cs_window fw = feature_window(&E->acts, t->node, p);
            if (fw.h * fw.w == 0) continue;
            CS_TRY(CS_OP(E->terms.be, crop, E->acts.nodes[t->node].out, fw, E->fwin));
            CS_TRY(fn(E, i, src, p, fw, ctx));
        }
    }
    return CLSTYLE_OK;
}

/* Where add_gram accumulates: the targets of one style (weighted by its
 * blend, its group, the layers it names, its mask per term or NULL) or the
 * generated image's Gram of every group (masks: the groups' own). */
typedef struct {
    double weight;
    int into_target, group;
    unsigned layers;
    cs_buf **masks;
} gram_sink;

/* Piece p's interior at term i's layer (feature window fw of the piece's
 * map) as a window of the whole image's map there. */
static cs_window interior_at(const cs_eval *E, int i, int h, int w, piece p, cs_window fw)
{
    size_t s = (size_t)E->terms.t[i].stride;
    return (cs_window){ fw.c, (size_t)h / s, (size_t)w / s, (size_t)p.in.y0 / s, (size_t)p.in.x0 / s, fw.h, fw.w };
}

static clstyle_status add_group_gram(cs_eval *E, int i, int g, cs_buf *mask, source src, piece p, cs_window fw,
                                     const gram_sink *k)
{
    const cs_group_term *q = &E->terms.t[i].g[g];
    return cs_interior_gram(E, i, g, mask, interior_at(E, i, src.h, src.w, p, fw), k->weight, k->into_target ? q->target : q->gram);
}

static clstyle_status add_gram(cs_eval *E, int i, source src, piece p, cs_window fw, void *ctx)
{
    const gram_sink *k = ctx;
    cs_term *t = &E->terms.t[i];
    if (k->into_target)
        return t->g[k->group].on && cs_term_names(t, k->layers)
                   ? add_group_gram(E, i, k->group, k->masks ? k->masks[i] : NULL, src, p, fw, k)
                   : CLSTYLE_OK;
    for (int g = 0; g < E->terms.n_groups; g++)
        if (t->g[g].on && !t->g[g].empty) CS_TRY(add_group_gram(E, i, g, t->g[g].mask, src, p, fw, k));
    return CLSTYLE_OK;
}

/* Adds the Gram matrices of the generated image into each group's Gram. */
static clstyle_status add_grams(cs_eval *E, source src)
{
    gram_sink k = { 1.0, 0, 0, ~0u, NULL };
    return each_interior(E, src, 1, add_gram, &k);
}

/* Adds b_k G(s_k) (guided by its mask, if any) into the targets of style k's group. */
static clstyle_status style_target(cs_eval *E, const cs_eval_input *in, int k)
{
    cs_buf *masks[2 * CS_MAX_LAYERS] = { 0 };
    const cs_eval_image *im = &in->styles[k];
    gram_sink sink = { in->blend[k], 1, cs_style_group(in, k), cs_style_layers(in, k), NULL };
    clstyle_status st = CLSTYLE_OK;
    if (in->style_masks && in->style_masks[k]) {
        st = cs_interior_style_masks(E, in, k, masks);
        sink.masks = masks;
    }
    if (st == CLSTYLE_OK) st = each_interior(E, (source){ NULL, im->pixels, im->h, im->w }, 1, add_gram, &sink);
    for (int i = 0; i < E->terms.n; i++) cs_buf_release(E->terms.be, masks[i]);
    cs_terms_add_blend(&E->terms, sink.group, sink.layers, in->blend[k]);
    return st;
}

/* The interior's features, into term i's host content target. */
static clstyle_status keep_target(cs_eval *E, int i, source src, piece p, cs_window fw, void *ctx)
{
    (void)ctx;
    CS_TRY(CS_OP(E->terms.be, download, E->fwin, 0, E->host_piece, fw.c * fw.h * fw.w));
    cs_host_window(E->content_host[i], E->host_piece, interior_at(E, i, src.h, src.w, p, fw), 0);
    return CLSTYLE_OK;
}

/* The largest interior feature map of any term (content only: for twin;
 * positions: of one channel, for a mask), in any image (the activations
 * are as large as the largest window). */
enum { ANY, CONTENT_ONLY, POSITIONS };
static size_t largest_interior(const cs_eval *E, int what)
{
    size_t most = 0;
    for (int i = 0; i < E->terms.n; i++) {
        const cs_term *t = &E->terms.t[i];
        if (what == CONTENT_ONLY && !t->is_content) continue;
        int s = cs_terms_stride(E->acts.net->host, t->node);
        size_t n = (what == POSITIONS ? 1 : t->c) * (size_t)imin(E->tile / s, E->acts.h / s) * (size_t)imin(E->tile / s, E->acts.w / s);
        if (n > most) most = n;
    }
    return most;
}

/* Scratch for the pieces, sized for the largest: a piece of any image
 * (3 x the activations' size) and a layer's interior features, on the device
 * and, for host images and the content targets, on the host. */
static clstyle_status alloc_scratch(cs_eval *E, const cs_eval_input *in)
{
    size_t px = (size_t)3 * E->acts.h * E->acts.w, feat = largest_interior(E, ANY);
    CS_TRY(CS_OP(E->terms.be, alloc, px, &E->piece));
    return cs_interior_alloc(E, in, feat, largest_interior(E, CONTENT_ONLY), largest_interior(E, POSITIONS), px > feat ? px : feat);
}

static clstyle_status pieces_init(cs_eval *E, cs_net *net, const cs_eval_input *in)
{
    cs_terms *T = &E->terms;
    if (E->tile % GRID) return cs_fail(CLSTYLE_ERR_USAGE, "--tile %d is not a multiple of %d", E->tile, GRID);
    E->halo = cs_pieces_halo(net->host, T->last);
    /* One set of activations serves the pieces of every image: the largest window in each direction. */
    rect r = max_window(E->h, E->w, E->tile, E->halo);
    for (int k = 0; k < in->n_styles && !in->targets; k++) {
        rect s = max_window(in->styles[k].h, in->styles[k].w, E->tile, E->halo);
        r.h = imax(r.h, s.h);
        r.w = imax(r.w, s.w);
    }
    CS_TRY(cs_acts_create(net, r.h, r.w, T->last, T->tapped, &E->acts));
    CS_TRY(cs_terms_alloc(T, net->host, E->h, E->w));
    CS_TRY(cs_interior_content_arrays(E, !in->content.pixels));
    CS_TRY(alloc_scratch(E, in));
    for (int k = 0; k < in->n_styles && !in->targets; k++) CS_TRY(style_target(E, in, k));
    if (!in->content.pixels) return CLSTYLE_OK; /* sizing only: the style targets ran every piece */
    CS_TRY(each_interior(E, (source){ NULL, in->content.pixels, E->h, E->w }, 0, keep_target, NULL));
    cs_interior_content_norms(E);
    return CLSTYLE_OK;
}

static void pieces_free(cs_eval *E)
{
    cs_buf_release(E->terms.be, E->piece);
    cs_interior_free(E);
}

/* The backward hook of one piece: the loss gradients at the interior only. */
typedef struct {
    cs_eval *E;
    piece p;
    double sums[2 * CS_MAX_LAYERS]; /* content sums of this piece, filled at finish() */
} piece_ctx;

static clstyle_status piece_grads(void *ctx, int node, cs_buf *grad)
{
    piece_ctx *pc = ctx;
    cs_eval *E = pc->E;
    cs_backend *be = E->terms.be;
    for (int i = 0; i < E->terms.n; i++) {
        const cs_term *t = &E->terms.t[i];
        if (t->node != node) continue;
        cs_window fw = feature_window(&E->acts, node, pc->p);
        if (fw.h * fw.w == 0) continue;
        CS_TRY(CS_OP(be, crop, E->acts.nodes[node].out, fw, E->fwin));
        cs_window at = interior_at(E, i, E->h, E->w, pc->p, fw);
        CS_TRY(CS_OP(be, fill, E->dwin, 0.0f, at.c * at.h * at.w));
        CS_TRY(cs_interior_grads(E, i, at, E->dwin, &pc->sums[i]));
        CS_TRY(CS_OP(be, paste_add, E->dwin, fw, grad));
    }
    return CLSTYLE_OK;
}

/* Pass 2 for one piece: its gradient added into grad, its content sums into the terms. */
static clstyle_status backward_piece(cs_eval *E, cs_buf *x, cs_buf *grad, int k)
{
    piece_ctx pc;
    memset(&pc, 0, sizeof pc);
    pc.E = E;
    pc.p = piece_at(E->h, E->w, E->tile, E->halo, k);
    CS_TRY(forward_piece(E, (source){ x, NULL, E->h, E->w }, pc.p));
    /* The input is not read by the backward pass, so the piece's gradient may overwrite it. */
    CS_TRY(cs_backward(&E->acts, piece_grads, &pc, E->piece));
    cs_window win = { 3, (size_t)E->h, (size_t)E->w, (size_t)pc.p.win.y0, (size_t)pc.p.win.x0, (size_t)pc.p.win.h, (size_t)pc.p.win.w };
    CS_TRY(CS_OP(E->terms.be, paste_add, E->piece, win, grad));
    CS_TRY(cs_backend_finish(E->terms.be)); /* the content sums of this piece */
    for (int i = 0; i < E->terms.n; i++) E->terms.t[i].content_sum += pc.sums[i];
    return CLSTYLE_OK;
}

static clstyle_status pieces_run(cs_eval *E, cs_buf *x, cs_buf *grad)
{
    cs_terms *T = &E->terms;
    /* Pass 1: the whole image's Gram matrices, then their loss and its gradient dG. */
    CS_TRY(cs_interior_clear_grams(T));
    CS_TRY(add_grams(E, (source){ x, NULL, E->h, E->w }));
    CS_TRY(cs_interior_style_dgs(T));
    /* Pass 2: every piece forward and backward. */
    CS_TRY(CS_OP(T->be, fill, grad, 0.0f, (size_t)3 * E->h * E->w));
    int count = cs_pieces_count(E->h, E->w, E->tile);
    for (int k = 0; k < count; k++) CS_TRY(backward_piece(E, x, grad, k));
    CS_TRY(CS_OP(T->be, tv, x, 3, E->h, E->w, (float)T->gamma, grad, &T->tv));
    return cs_terms_temporal(&E->terms, x, grad);
}

const cs_eval_ops cs_eval_pieces = { pieces_init, pieces_run, pieces_free };
