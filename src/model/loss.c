#include "loss.h"

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
    CS_TRY(add_layers(T, w, spec->content_layers, NULL, spec->n_content, 0));
    CS_TRY(add_layers(T, w, spec->style_layers, spec->style_weights, spec->n_style, 1));
    for (int i = 0; i < T->n; i++) {
        T->tapped[T->t[i].node] = 1;
        if (T->t[i].node > T->last) T->last = T->t[i].node;
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
        t->m = (size_t)(h / s) * (size_t)(wd / s); /* each pooling floors, so floor(h/s) */
        t->n = t->c * t->m;
        if (!t->is_style) continue;
        size_t cc = t->c * t->c;
        CS_TRY(CS_OP(T->be, alloc, cc, &t->gram_target));
        CS_TRY(CS_OP(T->be, alloc, cc, &t->gram));
        CS_TRY(CS_OP(T->be, alloc, cc, &t->dgram));
    }
    return CLSTYLE_OK;
}

void cs_terms_free(cs_terms *T)
{
    for (int i = 0; i < T->n; i++) {
        cs_buf_release(T->be, T->t[i].gram_target);
        cs_buf_release(T->be, T->t[i].gram);
        cs_buf_release(T->be, T->t[i].dgram);
    }
    T->n = 0;
}

void cs_terms_set_content_norm(cs_term *t, double sum_squares) { t->target_norm = sum_squares / (double)t->n + EPS; }

clstyle_status cs_terms_style_norms(cs_terms *T)
{
    for (int i = 0; i < T->n; i++) {
        cs_term *t = &T->t[i];
        if (!t->is_style) continue;
        double ss;
        CS_TRY(CS_OP(T->be, dot, t->gram_target, t->gram_target, t->c * t->c, &ss));
        t->gram_norm = ss / (double)(t->c * t->c) + EPS;
    }
    return CLSTYLE_OK;
}

float cs_terms_content_scale(const cs_terms *T, const cs_term *t)
{
    return (float)(T->alpha * 2.0 / ((double)t->n * t->target_norm));
}

clstyle_status cs_terms_style_dg(cs_terms *T, cs_term *t)
{
    size_t cc = t->c * t->c;
    /* d/dG of beta w_l mean((G-A)^2) / norm */
    float gs = (float)(T->beta * t->style_weight * 2.0 / ((double)cc * t->gram_norm));
    CS_TRY(CS_OP(T->be, fill, t->dgram, 0.0f, cc));
    return CS_OP(T->be, sqdiff, t->gram, t->gram_target, cc, gs, t->dgram, &t->style_sum);
}

void cs_terms_total(cs_terms *T)
{
    T->content = T->style = 0;
    for (int i = 0; i < T->n; i++) {
        const cs_term *t = &T->t[i];
        if (t->is_content) T->content += t->content_sum / (double)t->n / t->target_norm;
        if (t->is_style) T->style += t->style_weight * t->style_sum / (double)(t->c * t->c) / t->gram_norm;
    }
    T->total = T->alpha * T->content + T->beta * T->style + T->gamma * T->tv;
}

size_t cs_terms_target_floats(const cs_terms *T)
{
    size_t n = 0;
    for (int i = 0; i < T->n; i++)
        if (T->t[i].is_style) n += T->t[i].c * T->t[i].c;
    return n;
}

/* Every style target in table order, each c x c floats of host. */
static clstyle_status move_targets(cs_terms *T, float *host, int up)
{
    for (int i = 0; i < T->n; i++) {
        cs_term *t = &T->t[i];
        size_t cc = t->c * t->c;
        if (!t->is_style) continue;
        CS_TRY(up ? CS_OP(T->be, upload, t->gram_target, 0, host, cc) : CS_OP(T->be, download, t->gram_target, 0, host, cc));
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
