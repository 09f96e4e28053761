/* The loss terms of SPEC, in one place: which layers they read, their
 * normalizations, gradient scales and the style term's dG, and the buffers
 * the Gram matrices need. The evaluators (whole and in pieces, eval.h) run
 * the network and call these; neither writes a formula of its own. */
#ifndef CS_LOSS_H
#define CS_LOSS_H
#include "network.h"

enum { CS_MAX_LAYERS = 16 }; /* content or style layers a job names */

/* What the losses are made of: layer names, layer weights and the weights
 * of the three terms (SPEC: alpha, beta, gamma). */
typedef struct {
    const char *const *content_layers;
    int n_content;
    const char *const *style_layers;
    const double *style_weights;   /* w_l, n_style of them; NULL: 1 each */
    int n_style;
    double alpha, beta, gamma;
} cs_loss_spec;

typedef struct {
    int node;                 /* node index in the network */
    int is_content, is_style;
    double style_weight;      /* w_l */
    size_t c, m, n;           /* the whole image's features here: c channels, m positions, n = c m */
    double target_norm;       /* mean(F_l(c)^2) + eps */
    cs_buf *gram_target;      /* A_l (c,c) */
    double gram_norm;         /* mean(A_l^2) + eps */
    cs_buf *gram, *dgram;     /* G_l(x) and dL/dG (c,c) */
    double content_sum, style_sum; /* raw sums of the last evaluation (filled at finish) */
} cs_term;

typedef struct {
    cs_backend *be;
    int n;
    cs_term t[2 * CS_MAX_LAYERS];
    int tapped[CS_MAX_NODES]; /* nodes a term reads */
    int last;                 /* the deepest of them */
    double alpha, beta, gamma;
    /* Values of the last evaluation: unweighted terms and weighted total. */
    double content, style, tv, total;
} cs_terms;

/* The layer table for these weights; fails naming an unknown layer. */
clstyle_status cs_terms_init(cs_terms *T, cs_backend *be, const cs_weights *w, const cs_loss_spec *spec);
/* The deepest node the spec reads (-1 on an unknown layer): how far the network must go. */
int cs_terms_last_node(const cs_weights *w, const cs_loss_spec *spec);
/* Each layer's whole-image shape for an h x w image, and the Gram buffers
 * (targets, G, dG) of the style layers. */
clstyle_status cs_terms_alloc(cs_terms *T, const cs_weights *w, int h, int wd);
void cs_terms_free(cs_terms *T);

/* 2^(poolings up to node): input pixels per feature of that node. */
int cs_terms_stride(const cs_weights *w, int node);

/* mean(F^2) + eps of a content target from its sum of squares. */
void cs_terms_set_content_norm(cs_term *t, double sum_squares);
/* mean(A^2) + eps of every style target, once A_l is complete. */
clstyle_status cs_terms_style_norms(cs_terms *T);
/* The gradient scale of a content term: d/dF alpha mean((F-P)^2) / norm = gs (F-P). */
float cs_terms_content_scale(const cs_terms *T, const cs_term *t);
/* With G_l(x) in t->gram: the style term's raw sum and its gradient dL/dG in t->dgram. */
clstyle_status cs_terms_style_dg(cs_terms *T, cs_term *t);
/* After the backend's finish(): the terms, weighted and summed. */
void cs_terms_total(cs_terms *T);

/* The style targets as host arrays, one per style layer in table order
 * (c x c floats each): what a session keeps to reuse them. */
size_t cs_terms_target_floats(const cs_terms *T);
clstyle_status cs_terms_download_targets(cs_terms *T, float *host);
clstyle_status cs_terms_upload_targets(cs_terms *T, const float *host);

#endif
