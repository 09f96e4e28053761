#include "loss.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static const double EPS = 1e-8;

static cs_term *term_for(cs_terms *T, int node)
{
    for (int i = 0; i < T->n; i++)
        if (T->t[i].node == node) return &T->t[i];
    cs_term *t = &T->t[T->n++];
    memset(t, 0, sizeof *t);
    t->node = node;
    return t;
}

static clstyle_status add_layers(cs_terms *T, const cs_weights *w, const char *const *names, const double *weights, int n,
                                 int style)
{
    for (int i = 0; i < n; i++) {
        int node = cs_net_find_node(w, names[i]);
        if (node < 0) return cs_fail(CLSTYLE_ERR_USAGE, "unknown layer '%s' for %s", names[i], w->arch);
        cs_term *t = term_for(T, node);
        if (style) {
            t->is_style = 1;
            t->style_weight = weights ? weights[i] : 1.0;
            t->style_bits |= 1u << i;
        } else {
            t->is_content = 1;
        }
    }
    return CLSTYLE_OK;
}

int cs_terms_last_node(const cs_weights *w, const cs_loss_spec *spec)
{
    int last = 0;
    for (int i = 0; i < spec->n_content + spec->n_style; i++) {
        const char *name = i < spec->n_content ? spec->content_layers[i] : spec->style_layers[i - spec->n_content];
        int node = cs_net_find_node(w, name);
        if (node < 0) return -1;
        if (node > last) last = node;
    }
    return last;
}

clstyle_status cs_terms_init(cs_terms *T, cs_backend *be, const cs_weights *w, const cs_loss_spec *spec)
{
    memset(T, 0, sizeof *T);
    T->be = be;
    T->alpha = spec->alpha;
    T->beta = spec->beta;
    T->gamma = spec->gamma;
    T->delta = spec->delta;
    CS_TRY(add_layers(T, w, spec->content_layers, NULL, spec->n_content, 0));
    CS_TRY(add_layers(T, w, spec->style_layers, spec->style_weights, spec->n_style, 1));
    T->n_groups = spec->n_groups > 1 ? spec->n_groups : 1;
    if (T->n_groups > CS_MAX_GROUPS) return cs_fail(CLSTYLE_ERR_USAGE, "%d masked styles (at most %d)", T->n_groups, CS_MAX_GROUPS);
    for (int g = 0; g < T->n_groups; g++) T->group_layers[g] = spec->group_layers ? spec->group_layers[g] : ~0u;
    for (int i = 0; i < T->n; i++) {
        cs_term *t = &T->t[i];
        T->tapped[t->node] = 1;
        if (t->node > T->last) T->last = t->node;
        for (int g = 0; g < T->n_groups; g++) {
            t->g[g].on = t->is_style && (T->group_layers[g] & t->style_bits);
            t->g[g].share = 1.0;
        }
    }
    return CLSTYLE_OK;
}

int cs_terms_stride(const cs_weights *w, int node)
{
    cs_vgg layout;
    int s = 1;
    if (cs_vgg_layout(w->depth, &layout)) return s;
    for (int i = 0; i <= node && i < layout.n_nodes; i++)
        if (layout.nodes[i].type == CS_VGG_POOL) s *= 2;
    return s;
}

/* Output channels of a node: the weights' (tests narrow them), a pool keeps its input's. */
static size_t node_channels(const cs_weights *w, int node)
{
    cs_vgg layout;
    if (cs_vgg_layout(w->depth, &layout)) return 0;
    while (node > 0 && layout.nodes[node].conv < 0) node--;
    return (size_t)w->cout[layout.nodes[node].conv];
}

clstyle_status cs_terms_alloc(cs_terms *T, const cs_weights *w, int h, int wd)
{
    for (int i = 0; i < T->n; i++) {
        cs_term *t = &T->t[i];
        int s = cs_terms_stride(w, t->node);
        t->c = node_channels(w, t->node);
        t->stride = s;
        t->h = h / s; /* each pooling floors, so floor(h/s) */
        t->w = wd / s;
        t->m = (size_t)t->h * (size_t)t->w;
        t->n = t->c * t->m;
        size_t cc = t->c * t->c;
        for (int g = 0; g < T->n_groups; g++) {
            if (!t->g[g].on) continue;
            CS_TRY(CS_OP(T->be, alloc, cc, &t->g[g].target));
            CS_TRY(CS_OP(T->be, alloc, cc, &t->g[g].gram));
            CS_TRY(CS_OP(T->be, alloc, cc, &t->g[g].dgram));
        }
    }
    return CLSTYLE_OK;
}

void cs_terms_free(cs_terms *T)
{
    for (int i = 0; i < T->n; i++)
        for (int g = 0; g < T->n_groups; g++) {
            cs_group_term *q = &T->t[i].g[g];
            cs_buf *bufs[] = { q->target, q->gram, q->dgram, q->mask, q->mask2 };
            for (int b = 0; b < 5; b++) cs_buf_release(T->be, bufs[b]);
        }
    for (int k = 0; k < T->n_temporal; k++) {
        cs_buf_release(T->be, T->warped[k]);
        cs_buf_release(T->be, T->reliable[k]);
    }
    T->n = T->n_temporal = 0;
}

void cs_mask_for_layer(const float *mask, int h, int w, int s, float *out, double *sum_sq)
{
    /* 2x2 averages repeated, each flooring the size, are one s x s average over floor(h/s) x floor(w/s). */
    int lh = h / s, lw = w / s;
    double ss = 0, inv = 1.0 / ((double)s * s);
    for (int i = 0; i < lh; i++)
        for (int j = 0; j < lw; j++) {
            double a = 0;
            for (int y = i * s; y < (i + 1) * s; y++)
                for (int x = j * s; x < (j + 1) * s; x++) a += mask[(size_t)y * w + x];
            float v = (float)(a * inv);
            ss += (double)v * v;
            if (out) out[(size_t)i * lw + j] = v;
        }
    *sum_sq = ss;
    if (!out || !(ss > 0)) return;
    /* sqrt(M/S) is exactly 1 for a full mask, which keeps it equal to the unmasked loss */
    float k = (float)sqrt((double)lh * lw / ss);
    if (k != 1.0f)
        for (size_t i = 0; i < (size_t)lh * lw; i++) out[i] *= k;
}

void cs_terms_shares(const float *const *masks, size_t n_px, const double *blend, int n, double *shares)
{
    double total = 0;
    for (int k = 0; k < n; k++) {
        double a = 0;
        for (size_t i = 0; masks && masks[k] && i < n_px; i++) a += masks[k][i];
        shares[k] = (blend ? blend[k] : 1.0) * (masks && masks[k] ? a / (double)n_px : 1.0);
        total += shares[k];
    }
    for (int k = 0; k < n; k++) shares[k] = total > 0 ? shares[k] / total : 0;
}

/* Group g's mask at term t, pooled, scaled and uploaded with its square. */
static clstyle_status upload_mask(cs_terms *T, cs_term *t, cs_group_term *q, const float *mask, int h, int w, float *host)
{
    double ss;
    CS_TRY(CS_OP(T->be, alloc, t->m, &q->mask));
    CS_TRY(CS_OP(T->be, alloc, t->m, &q->mask2));
    if (!mask) return CLSTYLE_OK; /* sizing the job */
    cs_mask_for_layer(mask, h, w, t->stride, host, &ss);
    q->empty = !(ss > 0);
    CS_TRY(CS_OP(T->be, upload, q->mask, 0, host, t->m));
    for (size_t i = 0; i < t->m; i++) host[i] *= host[i];
    return CS_OP(T->be, upload, q->mask2, 0, host, t->m);
}

clstyle_status cs_terms_set_masks(cs_terms *T, const float *const *masks, int h, int w, const double *shares)
{
    size_t most = 1;
    for (int i = 0; i < T->n; i++)
        if (T->t[i].m > most) most = T->t[i].m;
    float *host = malloc(most * sizeof *host);
    if (!host) return cs_fail(CLSTYLE_ERR_NOMEM, "out of host memory for a mask (%zu floats)", most);
    clstyle_status st = CLSTYLE_OK;
    T->masked = 1;
    for (int i = 0; i < T->n && st == CLSTYLE_OK; i++)
        for (int g = 0; g < T->n_groups && st == CLSTYLE_OK; g++) {
            cs_group_term *q = &T->t[i].g[g];
            if (!q->on) continue;
            q->share = shares ? shares[g] : 1.0;
            st = upload_mask(T, &T->t[i], q, masks ? masks[g] : NULL, h, w, host);
        }
    free(host);
    return st;
}

void cs_terms_add_blend(cs_terms *T, int g, unsigned layers, double b)
{
    for (int i = 0; i < T->n; i++)
        if (T->t[i].g[g].on && cs_term_names(&T->t[i], layers)) T->t[i].g[g].blend += b;
}

clstyle_status cs_terms_blend_targets(cs_terms *T)
{
    for (int i = 0; i < T->n; i++)
        for (int g = 0; g < T->n_groups; g++) {
            cs_group_term *q = &T->t[i].g[g];
            if (q->on && q->blend > 0 && q->blend != 1.0)
                CS_TRY(CS_OP(T->be, scale, (float)(1.0 / q->blend), q->target, T->t[i].c * T->t[i].c));
        }
    return CLSTYLE_OK;
}


void cs_terms_set_content_norm(cs_term *t, double sum_squares) { t->target_norm = sum_squares / (double)t->n + EPS; }

clstyle_status cs_terms_style_norms(cs_terms *T)
{
    for (int i = 0; i < T->n; i++)
        for (int g = 0; g < T->n_groups; g++) {
            cs_term *t = &T->t[i];
            double ss;
            if (!t->g[g].on) continue;
            CS_TRY(CS_OP(T->be, dot, t->g[g].target, t->g[g].target, t->c * t->c, &ss));
            t->g[g].norm = ss / (double)(t->c * t->c) + EPS;
        }
    return CLSTYLE_OK;
}

float cs_terms_content_scale(const cs_terms *T, const cs_term *t)
{
    return (float)(T->alpha * 2.0 / ((double)t->n * t->target_norm));
}

clstyle_status cs_terms_style_dg(cs_terms *T, cs_term *t, int g)
{
    size_t cc = t->c * t->c;
    cs_group_term *q = &t->g[g];
    /* d/dG of beta share w_l mean((G-A)^2) / norm */
    float gs = (float)(T->beta * q->share * t->style_weight * 2.0 / ((double)cc * q->norm));
    CS_TRY(CS_OP(T->be, fill, q->dgram, 0.0f, cc));
    return CS_OP(T->be, sqdiff, q->gram, q->target, cc, gs, q->dgram, &q->sum);
}

clstyle_status cs_terms_set_temporal(cs_terms *T, int n, int h, int w, const float *const *warped, const float *const *reliable)
{
    if (n > CS_MAX_TEMPORAL) return cs_fail(CLSTYLE_ERR_USAGE, "%d earlier frames in the temporal term (at most %d)", n, CS_MAX_TEMPORAL);
    size_t hw = (size_t)h * w;
    T->th = h;
    T->tw = w;
    for (; T->n_temporal < n; T->n_temporal++) {
        int k = T->n_temporal;
        CS_TRY(CS_OP(T->be, alloc, 3 * hw, &T->warped[k]));
        CS_TRY(CS_OP(T->be, alloc, hw, &T->reliable[k]));
        if (!warped) continue;
        CS_TRY(CS_OP(T->be, upload, T->warped[k], 0, warped[k], 3 * hw));
        CS_TRY(CS_OP(T->be, upload, T->reliable[k], 0, reliable[k], hw));
    }
    return CLSTYLE_OK;
}

/* L_t = mean over (ch, i, j) of c (x - w)^2 per earlier frame; the frames' terms add. */
clstyle_status cs_terms_temporal(cs_terms *T, cs_buf *x, cs_buf *grad)
{
    size_t hw = (size_t)T->th * T->tw, n = 3 * hw;
    float gs = (float)(T->delta * 2.0 / (double)n);
    for (int k = 0; k < T->n_temporal; k++)
        CS_TRY(CS_OP(T->be, masked_sqdiff, x, T->warped[k], T->reliable[k], hw, n, gs, grad, &T->temporal_sums[k]));
    return CLSTYLE_OK;
}

void cs_terms_total(cs_terms *T)
{
    T->temporal = 0;
    for (int k = 0; k < T->n_temporal; k++) T->temporal += T->temporal_sums[k] / (3.0 * T->th * T->tw);
    T->content = T->style = 0;
    for (int i = 0; i < T->n; i++) {
        const cs_term *t = &T->t[i];
        if (t->is_content) T->content += t->content_sum / (double)t->n / t->target_norm;
        for (int g = 0; g < T->n_groups; g++)
            if (t->g[g].on && !t->g[g].empty)
                T->style += t->g[g].share * t->style_weight * t->g[g].sum / (double)(t->c * t->c) / t->g[g].norm;
    }
    T->total = T->alpha * T->content + T->beta * T->style + T->gamma * T->tv + T->delta * T->temporal;
}

size_t cs_terms_target_floats(const cs_terms *T)
{
    size_t n = 0;
    for (int i = 0; i < T->n; i++)
        for (int g = 0; g < T->n_groups; g++)
            if (T->t[i].g[g].on) n += T->t[i].c * T->t[i].c;
    return n;
}

/* Every style target in table order (layer, then group), each c x c floats of host. */
static clstyle_status move_targets(cs_terms *T, float *host, int up)
{
    for (int i = 0; i < T->n; i++)
        for (int g = 0; g < T->n_groups; g++) {
            cs_term *t = &T->t[i];
            size_t cc = t->c * t->c;
            if (!t->g[g].on) continue;
            CS_TRY(up ? CS_OP(T->be, upload, t->g[g].target, 0, host, cc) : CS_OP(T->be, download, t->g[g].target, 0, host, cc));
            host += cc;
        }
    return CLSTYLE_OK;
}

clstyle_status cs_terms_download_targets(cs_terms *T, float *host) { return move_targets(T, host, 0); }

clstyle_status cs_terms_upload_targets(cs_terms *T, const float *host)
{
    CS_TRY(move_targets(T, (float *)host, 1)); /* only read when uploading */
    return cs_terms_style_norms(T);
}
