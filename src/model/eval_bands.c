#include "eval_bands.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "eval_interior.h"

enum { GRID = 16 }; /* bands of a multiple of 16 rows, as --tile's pieces: the planner's steps */

static int imin(int a, int b) { return a < b ? a : b; }
static int imax(int a, int b) { return a > b ? a : b; }

/* A band of a layer's output: rows [r0, r1), and [a, b) with the halo its
 * computation reads, clipped to the map. */
typedef struct { int r0, r1, a, b; } rows;

static rows band_rows(int r0, int per, int h, int halo)
{
    rows r = { r0, imin(h, r0 + per), 0, 0 };
    r.a = imax(0, r.r0 - halo);
    r.b = imin(h, r.r1 + halo);
    return r;
}

/* Output rows per band at node i: the same at every depth, since each layer
 * runs over its whole map on its own and VGG's maps take about the same
 * memory per row at every depth (the channels double where the width
 * halves); a pooling's half, so that it reads as many. (Bands of the
 * image's rows over the stride made the deep layers' bands 16 times
 * shorter than they could be: one row at relu5_1 for bands of 16, where
 * F(4x4, 3x3) wastes three quarters of its tiles.) */
static int per_band(const cs_eval *E, int node)
{
    return E->acts.nodes[node].type == NODE_POOL ? E->band / 2 : E->band;
}

static cs_window win_rows(int c, int h, int w, int y0, int n)
{
    return (cs_window){ (size_t)c, (size_t)h, (size_t)w, (size_t)y0, 0, (size_t)n, (size_t)w };
}

/* Window win of the host map arr onto the device as a contiguous (c, n, w)
 * band, and the reverse: one strided transfer (arr NULL only when sizing
 * the job, on the counting backend). */
static clstyle_status put_rows(cs_eval *E, const float *arr, cs_window win, cs_buf *dev)
{
    return CS_OP(E->terms.be, upload_window, dev, arr, win);
}

static clstyle_status get_rows(cs_eval *E, cs_buf *dev, cs_window win, float *arr)
{
    return CS_OP(E->terms.be, download_window, dev, win.h, 0, arr, win);
}

/* The interior rows [row0, row0 + win.h) of a band dev of `rows` rows into
 * window win of arr, without cutting them out on the device first. */
static clstyle_status get_interior(cs_eval *E, cs_buf *dev, size_t rows, size_t row0, cs_window win, float *arr)
{
    return CS_OP(E->terms.be, download_window, dev, rows, row0, arr, win);
}

/* The input's channels, rows and columns at node i (the image's before node 0). */
static void input_of(const cs_acts *A, int i, int *c, int *h, int *w)
{
    *c = i ? A->nodes[i - 1].c : 3;
    *h = i ? A->nodes[i - 1].h : A->h;
    *w = i ? A->nodes[i - 1].w : A->w;
}

/* Called with each band of node `node`'s output in E->fwin, window `at` of the node's map. */
typedef clstyle_status (*band_fn)(cs_eval *E, int node, cs_window at, void *ctx);

/* Node i over image A, band by band: from its input arr[i] into its output
 * arr[i + 1] on the host. A convolution fuses the ReLU that shares its
 * output; fn sees the value the band holds, cut out on the device only
 * where a loss reads it. */
static clstyle_status forward_node(cs_eval *E, const cs_acts *A, int i, float *const *arr, band_fn fn, void *ctx)
{
    cs_backend *be = E->terms.be;
    const cs_net *net = E->acts.net;
    const cs_node *nd = &A->nodes[i];
    int ci, ih, iw, fused = nd->type == NODE_CONV && i + 1 < A->n && A->nodes[i + 1].shared, per = per_band(E, i);
    int read = fn && E->terms.tapped[fused ? i + 1 : i];
    input_of(A, i, &ci, &ih, &iw);
    for (int r0 = 0; r0 < nd->h; r0 += per) {
        rows r = band_rows(r0, per, nd->h, nd->type == NODE_CONV);
        int n = r.r1 - r.r0, hb = r.b - r.a;
        cs_window at = win_rows(nd->c, nd->h, nd->w, r.r0, n);
        if (nd->type == NODE_CONV) {
            CS_TRY(put_rows(E, arr[i], win_rows(ci, ih, iw, r.a, hb), E->bx));
            CS_TRY(CS_OP(be, conv3x3, E->bx, net->w[nd->conv], net->b[nd->conv], E->by, ci, nd->c, hb, nd->w, fused));
            if (!read) { /* no loss here: the interior straight to the host */
                CS_TRY(get_interior(E, E->by, (size_t)hb, (size_t)(r.r0 - r.a), at, arr[i + 1]));
                continue;
            }
            CS_TRY(CS_OP(be, crop, E->by, win_rows(nd->c, hb, nd->w, r.r0 - r.a, n), E->fwin));
        } else if (nd->type == NODE_RELU) { /* a ReLU of its own: its conv is read by a loss */
            CS_TRY(put_rows(E, arr[i], at, E->fwin));
            CS_TRY(CS_OP(be, bias_relu, E->fwin, NULL, nd->c, n * nd->w, 1));
        } else {
            CS_TRY(put_rows(E, arr[i], win_rows(ci, ih, iw, 2 * r.r0, 2 * n), E->bx));
            CS_TRY(CS_OP(be, pool, E->bx, E->fwin, ci, 2 * n, iw, net->avg_pool));
        }
        CS_TRY(get_rows(E, E->fwin, at, arr[i + 1]));
        if (fn) CS_TRY(fn(E, fused ? i + 1 : i, at, ctx));
    }
    return CLSTYLE_OK;
}

/* Image A forward: its preprocessed input into arr[0] from the picture x
 * (on the device) or host pixels, then every node. */
static clstyle_status forward(cs_eval *E, const cs_acts *A, cs_buf *x, const float *pixels, float *const *arr, band_fn fn,
                              void *ctx)
{
    const cs_weights *w = E->acts.net->host;
    for (int r0 = 0; r0 < A->h; r0 += E->band) {
        cs_window win = win_rows(3, A->h, A->w, r0, imin(E->band, A->h - r0));
        if (x) CS_TRY(CS_OP(E->terms.be, crop, x, win, E->bx));
        else CS_TRY(put_rows(E, pixels, win, E->bx));
        CS_TRY(CS_OP(E->terms.be, affine, E->bx, E->fwin, 3, (int)(win.h * win.w), w->in_scale, w->in_offset));
        CS_TRY(get_rows(E, E->fwin, win, arr[0]));
    }
    for (int i = 0; i < A->n; i++) {
        CS_TRY(cs_stop_check(E->acts.net->stop)); /* a pass over a large picture takes long; stop between layers */
        if (!A->nodes[i].shared) CS_TRY(forward_node(E, A, i, arr, fn, ctx));
    }
    return CLSTYLE_OK;
}

/* Style k's image: its masks per term, or NULL. */
typedef struct {
    const cs_eval_input *in;
    int k;
    cs_buf **masks;
} style_sink;

/* A band of a style image: b_k times its Gram into the targets of k's group. */
static clstyle_status style_band(cs_eval *E, int node, cs_window at, void *ctx)
{
    const style_sink *s = ctx;
    int g = cs_style_group(s->in, s->k);
    for (int i = 0; i < E->terms.n; i++) {
        cs_term *t = &E->terms.t[i];
        if (t->node != node || !t->is_style || !t->g[g].on || !cs_term_names(t, cs_style_layers(s->in, s->k))) continue;
        CS_TRY(cs_interior_gram(E, i, g, s->masks ? s->masks[i] : NULL, at, s->in->blend[s->k], t->g[g].target));
    }
    return CLSTYLE_OK;
}

/* A band of the picture: into every group's Gram. */
static clstyle_status gram_band(cs_eval *E, int node, cs_window at, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < E->terms.n; i++) {
        cs_term *t = &E->terms.t[i];
        if (t->node != node || !t->is_style) continue;
        for (int g = 0; g < E->terms.n_groups; g++)
            if (t->g[g].on && !t->g[g].empty) CS_TRY(cs_interior_gram(E, i, g, t->g[g].mask, at, 1.0, t->g[g].gram));
    }
    return CLSTYLE_OK;
}

/* A band of the content image: into the host content targets. */
static clstyle_status content_band(cs_eval *E, int node, cs_window at, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < E->terms.n; i++)
        if (E->terms.t[i].node == node && E->terms.t[i].is_content) CS_TRY(get_rows(E, E->fwin, at, E->content_host[i]));
    return CLSTYLE_OK;
}

/* The maps of image A: arr[0] its input, arr[i + 1] node i's output, in
 * two host arrays by turns (a shared ReLU's is its conv's); pp NULL: sizing. */
static void ping_pong(const cs_acts *A, float **pp, float **arr)
{
    int k = 0;
    arr[0] = pp ? pp[0] : NULL;
    for (int i = 0; i < A->n; i++) {
        if (!A->nodes[i].shared) k = 1 - k;
        arr[i + 1] = pp ? pp[k] : NULL;
    }
}

/* b_k G(s_k) (guided by its mask, if any) into the targets of style k's group. */
static clstyle_status style_target(cs_eval *E, const cs_eval_input *in, int k, float **pp)
{
    cs_buf *masks[2 * CS_MAX_LAYERS] = { 0 };
    style_sink sink = { in, k, NULL };
    cs_acts A;
    float *arr[CS_MAX_NODES + 1];
    clstyle_status st = cs_acts_shapes(E->acts.net, in->styles[k].h, in->styles[k].w, E->terms.last, E->terms.tapped, &A);
    if (st == CLSTYLE_OK && in->style_masks && in->style_masks[k]) {
        st = cs_interior_style_masks(E, in, k, masks);
        sink.masks = masks;
    }
    ping_pong(&A, in->styles[k].pixels ? pp : NULL, arr);
    if (st == CLSTYLE_OK) st = forward(E, &A, NULL, in->styles[k].pixels, arr, style_band, &sink);
    for (int i = 0; i < E->terms.n; i++) cs_buf_release(E->terms.be, masks[i]);
    cs_terms_add_blend(&E->terms, cs_style_group(in, k), cs_style_layers(in, k), in->blend[k]);
    return st;
}

/* The device and staging sizes image A's bands need, raised into sz[]:
 * a band with its halo (bx, by, bz and the staging), an interior (fwin,
 * dwin), a content interior (twin) and an interior's positions (masks). */
enum { SZ_BAND, SZ_FEAT, SZ_CONTENT, SZ_POS, SZ_KINDS };
static void band_sizes(const cs_eval *E, const cs_acts *A, size_t sz[SZ_KINDS])
{
    cs_raise(&sz[SZ_FEAT], (size_t)3 * imin(E->band, A->h) * A->w);
    cs_raise(&sz[SZ_BAND], (size_t)3 * imin(E->band, A->h) * A->w);
    for (int i = 0; i < A->n; i++) {
        const cs_node *nd = &A->nodes[i];
        int ci, ih, iw, out_rows = imin(per_band(E, i), nd->h), in_rows = nd->type == NODE_POOL ? 2 * out_rows : out_rows;
        input_of(A, i, &ci, &ih, &iw);
        size_t out = (size_t)nd->c * out_rows * nd->w;
        cs_raise(&sz[SZ_BAND], (size_t)imax(ci, nd->c) * imin(in_rows + 2, ih) * iw);
        cs_raise(&sz[SZ_FEAT], out);
        if (!E->terms.tapped[i]) continue;
        cs_raise(&sz[SZ_POS], (size_t)out_rows * nd->w);
        for (int t = 0; t < E->terms.n; t++)
            if (E->terms.t[t].node == i && E->terms.t[t].is_content) cs_raise(&sz[SZ_CONTENT], out);
    }
    cs_raise(&sz[SZ_BAND], sz[SZ_FEAT]);
}

/* Checkpoints: a stage is the nodes up to and including a pooling (the
 * last one, the rest). Its first node reads the input or the previous
 * pooling's output, which are kept; the maps inside a stage are kept only
 * while it is resident, in host_stage, and remade from its first node's
 * input for its backward: one more forward in all, for about half the host
 * memory (the first stage's two maps of 64 channels are the largest). */
static int stage_of(const cs_acts *A, int i)
{
    int s = 0;
    for (int k = 0; k < i; k++) s += A->nodes[k].type == NODE_POOL;
    return s;
}

/* Map j: the input (0) or node j - 1's output; whether it is kept between
 * the passes, and its floats (0 for a ReLU's that is its convolution's). */
static int kept_map(const cs_eval *E, int j) { return !E->checkpoint || j == 0 || E->acts.nodes[j - 1].type == NODE_POOL; }

static size_t map_floats(const cs_acts *A, int j)
{
    if (!j) return (size_t)3 * A->h * A->w;
    const cs_node *nd = &A->nodes[j - 1];
    return nd->shared ? 0 : (size_t)nd->c * nd->h * nd->w;
}

/* Where each map not kept starts in host_stage (offsets per stage); returns host_stage's floats. */
static size_t stage_layout(const cs_eval *E, size_t *at)
{
    size_t used = 0, most = 0;
    for (int j = 1, stage = 0; j <= E->acts.n; j++) {
        if (stage != stage_of(&E->acts, j - 1)) stage = stage_of(&E->acts, j - 1), used = 0;
        if (kept_map(E, j) || !map_floats(&E->acts, j)) continue;
        at[j] = used;
        used += map_floats(&E->acts, j);
        if (used > most) most = used;
    }
    return most;
}

/* The picture's maps and two gradients on the host (counted, not made, when sizing). */
static clstyle_status picture_maps(cs_eval *E, int sizing)
{
    const cs_acts *A = &E->acts;
    size_t largest = cs_acts_largest(A), at[CS_MAX_NODES + 1] = { 0 }, floats = stage_layout(E, at) + 2 * largest;
    for (int j = 0; j <= A->n; j++) floats += kept_map(E, j) ? map_floats(A, j) : 0;
    E->host_bytes += floats * sizeof(float);
    if (sizing) return CLSTYLE_OK;
    int ok = !E->checkpoint || (E->host_stage = malloc((stage_layout(E, at) + 1) * sizeof(float))) != NULL;
    for (int j = 0; j <= A->n && ok; j++) {
        if (!map_floats(A, j)) E->host_act[j] = E->host_act[j - 1]; /* a ReLU's, its convolution's */
        else E->host_act[j] = kept_map(E, j) ? malloc(map_floats(A, j) * sizeof(float)) : E->host_stage + at[j];
        ok = E->host_act[j] != NULL;
    }
    for (int g = 0; g < 2 && ok; g++) ok = (E->host_grad[g] = calloc(largest, sizeof(float))) != NULL;
    if (!ok) return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory for the activations of a %dx%d picture in bands (%.0f MiB)", A->w,
                            A->h, (double)E->host_bytes / 1048576.0);
    return CLSTYLE_OK;
}

static clstyle_status alloc_bands(cs_eval *E, const cs_eval_input *in)
{
    size_t sz[SZ_KINDS] = { 0 };
    band_sizes(E, &E->acts, sz);
    for (int k = 0; k < in->n_styles && !in->targets; k++) {
        cs_acts A;
        CS_TRY(cs_acts_shapes(E->acts.net, in->styles[k].h, in->styles[k].w, E->terms.last, E->terms.tapped, &A));
        band_sizes(E, &A, sz);
    }
    CS_TRY(CS_OP(E->terms.be, alloc, sz[SZ_BAND], &E->bx));
    CS_TRY(CS_OP(E->terms.be, alloc, sz[SZ_BAND], &E->by));
    CS_TRY(CS_OP(E->terms.be, alloc, sz[SZ_BAND], &E->bz));
    return cs_interior_alloc(E, in, sz[SZ_FEAT], sz[SZ_CONTENT], sz[SZ_POS], sz[SZ_BAND]);
}

/* Two host arrays for the other images' maps, as large as the largest node of any (NULL when sizing). */
static clstyle_status other_maps(cs_eval *E, const cs_eval_input *in, float **pp)
{
    size_t largest = cs_acts_largest(&E->acts);
    for (int k = 0; k < in->n_styles && !in->targets; k++) {
        cs_acts A;
        CS_TRY(cs_acts_shapes(E->acts.net, in->styles[k].h, in->styles[k].w, E->terms.last, E->terms.tapped, &A));
        cs_raise(&largest, cs_acts_largest(&A));
    }
    E->host_bytes += 2 * largest * sizeof(float); /* only while the targets are made */
    if (!in->content.pixels) return CLSTYLE_OK;
    pp[0] = malloc(largest * sizeof(float));
    pp[1] = malloc(largest * sizeof(float));
    return pp[0] && pp[1] ? CLSTYLE_OK : cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory for the maps of the style images (%zu floats)", largest);
}

static clstyle_status targets(cs_eval *E, const cs_eval_input *in, float **pp)
{
    for (int k = 0; k < in->n_styles && !in->targets; k++) CS_TRY(style_target(E, in, k, pp));
    if (!in->content.pixels) return CLSTYLE_OK; /* sizing only: the style images ran every band */
    float *arr[CS_MAX_NODES + 1];
    ping_pong(&E->acts, pp, arr);
    CS_TRY(forward(E, &E->acts, NULL, in->content.pixels, arr, content_band, NULL));
    cs_interior_content_norms(E);
    return CLSTYLE_OK;
}

/* The targets first, in two maps freed before the picture's are made:
 * the host holds the larger of the two, not both. */
static clstyle_status bands_init(cs_eval *E, cs_net *net, const cs_eval_input *in)
{
    cs_terms *T = &E->terms;
    if (E->band % GRID) return cs_fail(CLSTYLE_ERR_USAGE, "bands of %d rows are not a multiple of %d", E->band, GRID);
    CS_TRY(cs_acts_shapes(net, E->h, E->w, T->last, T->tapped, &E->acts));
    CS_TRY(cs_terms_alloc(T, net->host, E->h, E->w));
    CS_TRY(cs_interior_content_arrays(E, !in->content.pixels));
    CS_TRY(alloc_bands(E, in));
    float *pp[2] = { NULL, NULL };
    size_t kept = E->host_bytes;
    clstyle_status st = other_maps(E, in, pp);
    if (st == CLSTYLE_OK) st = targets(E, in, pp);
    free(pp[0]);
    free(pp[1]);
    size_t making = E->host_bytes;
    E->host_bytes = kept;
    if (st == CLSTYLE_OK) st = picture_maps(E, !in->content.pixels);
    if (making > E->host_bytes) E->host_bytes = making;
    return st;
}

/* The terms' gradients at node `node`, band by band, added into the host
 * gradient g of its output; the content sums into the terms. */
static clstyle_status term_grads(cs_eval *E, int node, float *g)
{
    cs_backend *be = E->terms.be;
    const cs_node *nd = &E->acts.nodes[node];
    int per = per_band(E, node);
    if (!E->terms.tapped[node]) return CLSTYLE_OK;
    for (int r0 = 0; r0 < nd->h; r0 += per) {
        cs_window at = win_rows(nd->c, nd->h, nd->w, r0, imin(per, nd->h - r0));
        double sums[2 * CS_MAX_LAYERS] = { 0 };
        CS_TRY(put_rows(E, E->host_act[node + 1], at, E->fwin));
        CS_TRY(put_rows(E, g, at, E->bx));
        for (int i = 0; i < E->terms.n; i++) {
            if (E->terms.t[i].node != node) continue;
            CS_TRY(cs_interior_grads(E, i, at, E->bx, &sums[i]));
        }
        CS_TRY(get_rows(E, E->bx, at, g));
        CS_TRY(cs_backend_finish(be)); /* this band's content sums */
        for (int i = 0; i < E->terms.n; i++) E->terms.t[i].content_sum += sums[i];
    }
    return CLSTYLE_OK;
}

/* Node i backward, band by band: the gradient of its output gout to that
 * of its input gin (a ReLU: in place). A convolution applies the mask of
 * the ReLU sharing its output first, over its halo too, unless the
 * pooling after that ReLU applied it (one upload of the map fewer). */
static clstyle_status backward_node(cs_eval *E, int i, float *gout, float *gin)
{
    cs_backend *be = E->terms.be;
    const cs_acts *A = &E->acts;
    const cs_node *nd = &A->nodes[i];
    int ci, ih, iw, per = per_band(E, i);
    input_of(A, i, &ci, &ih, &iw);
    for (int r0 = 0; r0 < nd->h; r0 += per) {
        rows r = band_rows(r0, per, nd->h, nd->type == NODE_CONV);
        int n = r.r1 - r.r0, hb = r.b - r.a;
        cs_window at = win_rows(nd->c, nd->h, nd->w, r.r0, n);
        if (nd->type == NODE_CONV) {
            cs_window out = win_rows(nd->c, nd->h, nd->w, r.a, hb);
            CS_TRY(put_rows(E, gout, out, E->by));
            if (i + 1 < A->n && A->nodes[i + 1].shared && !cs_pool_takes_relu(A, i + 2)) {
                CS_TRY(put_rows(E, E->host_act[i + 1], out, E->bz));
                CS_TRY(CS_OP(be, relu_bwd, E->bz, E->by, out.c * out.h * out.w));
            }
            CS_TRY(CS_OP(be, conv3x3_bwd, E->by, A->net->w[nd->conv], E->bx, ci, nd->c, hb, iw));
            CS_TRY(get_interior(E, E->bx, (size_t)hb, (size_t)(r.r0 - r.a), win_rows(ci, ih, iw, r.r0, n), gin));
        } else if (nd->type == NODE_RELU) {
            if (cs_pool_takes_relu(A, i + 1)) return CLSTYLE_OK;
            CS_TRY(put_rows(E, E->host_act[i + 1], at, E->fwin));
            CS_TRY(put_rows(E, gout, at, E->bx));
            CS_TRY(CS_OP(be, relu_bwd, E->fwin, E->bx, at.c * at.h * at.w));
            CS_TRY(get_rows(E, E->bx, at, gout));
        } else {
            cs_window in = win_rows(ci, ih, iw, 2 * r.r0, 2 * n);
            CS_TRY(put_rows(E, E->host_act[i], in, E->bx));
            CS_TRY(put_rows(E, gout, at, E->by));
            CS_TRY(CS_OP(be, pool_bwd, E->bx, E->by, E->bz, ci, 2 * n, iw, A->net->avg_pool, cs_pool_takes_relu(A, i)));
            CS_TRY(get_rows(E, E->bz, in, gin));
        }
    }
    if (nd->type == NODE_POOL && gin && ih > 2 * nd->h) /* an odd last row the pooling dropped */
        for (int ch = 0; ch < ci; ch++) memset(gin + ((size_t)ch * ih + ih - 1) * iw, 0, (size_t)iw * sizeof(float));
    return CLSTYLE_OK;
}

/* The gradient of the preprocessed input g (host) through the preprocessing into grad. */
static clstyle_status input_grad(cs_eval *E, const float *g, cs_buf *grad)
{
    static const float zero[3] = { 0, 0, 0 };
    cs_backend *be = E->terms.be;
    CS_TRY(CS_OP(be, fill, grad, 0.0f, (size_t)3 * E->h * E->w));
    for (int r0 = 0; r0 < E->h; r0 += E->band) {
        cs_window win = win_rows(3, E->h, E->w, r0, imin(E->band, E->h - r0));
        CS_TRY(put_rows(E, g, win, E->bx));
        CS_TRY(CS_OP(be, affine, E->bx, E->fwin, 3, (int)(win.h * win.w), E->acts.net->host->in_scale, zero));
        CS_TRY(CS_OP(be, paste_add, E->fwin, win, grad));
    }
    return CLSTYLE_OK;
}

/* Stage s's maps into host_stage again, from its first node's input (kept). */
static clstyle_status remake_stage(cs_eval *E, int s)
{
    const cs_acts *A = &E->acts;
    for (int i = 0; i < A->n; i++)
        if (stage_of(A, i) == s && !A->nodes[i].shared && !kept_map(E, i + 1))
            CS_TRY(forward_node(E, A, i, E->host_act, NULL, NULL));
    E->resident = s;
    return CLSTYLE_OK;
}

static clstyle_status backward(cs_eval *E, cs_buf *grad)
{
    const cs_node *top = &E->acts.nodes[E->acts.n - 1];
    int cur = 0;
    if (E->host_grad[0]) memset(E->host_grad[0], 0, (size_t)top->c * top->h * top->w * sizeof(float));
    for (int i = E->acts.n - 1; i >= 0; i--) {
        CS_TRY(cs_stop_check(E->acts.net->stop));
        if (E->checkpoint && stage_of(&E->acts, i) != E->resident) CS_TRY(remake_stage(E, stage_of(&E->acts, i)));
        CS_TRY(term_grads(E, i, E->host_grad[cur]));
        if (E->acts.nodes[i].shared) continue; /* its conv applies its mask */
        CS_TRY(backward_node(E, i, E->host_grad[cur], E->host_grad[1 - cur]));
        if (E->acts.nodes[i].type != NODE_RELU) cur = 1 - cur; /* a ReLU works in place */
    }
    return input_grad(E, E->host_grad[cur], grad);
}

static clstyle_status bands_run(cs_eval *E, cs_buf *x, cs_buf *grad)
{
    cs_terms *T = &E->terms;
    CS_TRY(cs_interior_clear_grams(T));
    CS_TRY(forward(E, &E->acts, x, NULL, E->host_act, gram_band, NULL));
    E->resident = stage_of(&E->acts, E->acts.n - 1);
    CS_TRY(cs_interior_style_dgs(T));
    CS_TRY(backward(E, grad));
    CS_TRY(CS_OP(T->be, tv, x, 3, E->h, E->w, (float)T->gamma, grad, &T->tv));
    return cs_terms_temporal(T, x, grad);
}

static void bands_free(cs_eval *E)
{
    cs_backend *be = E->terms.be;
    for (int j = 0; j <= E->acts.n && j <= CS_MAX_NODES; j++)
        if (map_floats(&E->acts, j) && kept_map(E, j)) free(E->host_act[j]);
    free(E->host_stage);
    free(E->host_grad[0]);
    free(E->host_grad[1]);
    cs_buf_release(be, E->bx);
    cs_buf_release(be, E->by);
    cs_buf_release(be, E->bz);
    cs_interior_free(E);
}

const cs_eval_ops cs_eval_bands = { bands_init, bands_run, bands_free };
