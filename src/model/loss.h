/* The loss terms of SPEC, in one place: which layers they read, their
 * normalizations, gradient scales and the style term's dG, and the buffers
 * the Gram matrices need. The evaluators (whole and in pieces, eval.h) run
 * the network and call these; neither writes a formula of its own. */
#ifndef CS_LOSS_H
#define CS_LOSS_H
#include "network.h"

enum { CS_MAX_LAYERS = 16 }; /* content or style layers a job names */
enum { CS_MAX_GROUPS = 16 };  /* style groups: one per masked style (spatial control), else one */
enum { CS_MAX_TEMPORAL = 4 }; /* earlier frames a temporal term compares with (--temporal-frames) */

/* What the losses are made of: layer names, layer weights and the weights
 * of the three terms (SPEC: alpha, beta, gamma). */
typedef struct {
    const char *const *content_layers;
    int n_content;
    const char *const *style_layers;
    const double *style_weights;   /* w_l, n_style of them; NULL: 1 each */
    int n_style;
    double alpha, beta, gamma;
    /* Style groups (SPEC "Masks"): each has its own target and guided Gram
     * per layer. 0 or 1: one group, the unmasked loss; k: one per masked style. */
    int n_groups;
    const unsigned *group_layers; /* per group: bit i = style layer i is the group's; NULL: all */
    double delta;                 /* the temporal term's weight (SPEC: --temporal-weight) */
} cs_loss_spec;

/* One group's style term at one layer. */
typedef struct {
    int on;                   /* the group names this layer (and its mask is not empty here) */
    cs_buf *target;           /* A_l^g (c,c) */
    double norm;              /* mean(A^2) + eps */
    double blend;             /* sum of the blend weights added into target (normalized away) */
    double share;             /* the group's weight: its share of the mask area (1 without masks) */
    cs_buf *gram, *dgram;     /* G_l^g(x) and dL/dG (c,c) */
    cs_buf *mask, *mask2;     /* content mask at this layer, m sqrt(M/S) and m^2 M/S (m); NULL: none */
    int empty;                /* the mask is 0 everywhere at this layer: no term here */
    double sum;               /* raw sum of the last evaluation (filled at finish) */
} cs_group_term;

typedef struct {
    int node;                 /* node index in the network */
    int is_content, is_style;
    double style_weight;      /* w_l */
    unsigned style_bits;      /* the spec's style layers that are this node (bit i: style_layers[i]) */
    size_t c, m, n;           /* the whole image's features here: c channels, m positions, n = c m */
    int h, w, stride;         /* the whole image's feature map; input pixels per feature */
    double target_norm;       /* mean(F_l(c)^2) + eps */
    cs_group_term g[CS_MAX_GROUPS];
    double content_sum;       /* raw sum of the last evaluation (filled at finish) */
} cs_term;

typedef struct {
    cs_backend *be;
    int n;
    cs_term t[2 * CS_MAX_LAYERS];
    int tapped[CS_MAX_NODES]; /* nodes a term reads */
    int last;                 /* the deepest of them */
    int n_groups;             /* >= 1 */
    unsigned group_layers[CS_MAX_GROUPS];
    int masked;               /* content masks given: guided Gram matrices */
    double alpha, beta, gamma, delta;
    /* The temporal term (SPEC, video): per earlier frame, its result warped
     * to this one (3,h,w) and the reliability of each pixel (h,w). */
    int n_temporal;
    int th, tw;                  /* the picture's size */
    cs_buf *warped[CS_MAX_TEMPORAL], *reliable[CS_MAX_TEMPORAL];
    double temporal_sums[CS_MAX_TEMPORAL];
    /* Values of the last evaluation: unweighted terms and weighted total. */
    double content, style, tv, temporal, total;
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

/* The masks of spatial control, one per group (h x w floats in [0,1] on
 * the picture; NULL pixels: only sizing the job), pooled to every style
 * layer (2x2 averages as the poolings do) and uploaded scaled for the guided
 * Gram; a group whose mask is empty at a layer drops out there. shares:
 * each group's weight (cs_terms_shares). */
clstyle_status cs_terms_set_masks(cs_terms *T, const float *const *masks, int h, int w, const double *shares);
/* Each group's share: its blend weight times its mask's area, normalized to sum 1. */
void cs_terms_shares(const float *const *masks, size_t n_px, const double *blend, int n, double *shares);
/* A mask pooled to a layer of stride s (h x w floats -> floor(h/s) x floor(w/s)),
 * then scaled so its squares sum to its positions (m sqrt(M/S)): F * mask has
 * the guided Gram's normalization under the plain Gram op. *sum_sq: S.
 * out may be NULL (only S). */
void cs_mask_for_layer(const float *mask, int h, int w, int s, float *out, double *sum_sq);
/* Whether style k (layers: bits over the spec's style layers) adds into term t. */
static inline int cs_term_names(const cs_term *t, unsigned style_layers) { return (t->style_bits & style_layers) != 0; }
/* Records that blend weight b goes into group g's targets at the layers named by `layers`. */
void cs_terms_add_blend(cs_terms *T, int g, unsigned layers, double b);
/* Divides each target by the blend weights added into it (per layer over the styles naming it). */
clstyle_status cs_terms_blend_targets(cs_terms *T);

/* mean(F^2) + eps of a content target from its sum of squares. */
void cs_terms_set_content_norm(cs_term *t, double sum_squares);
/* mean(A^2) + eps of every style target, once A_l is complete. */
clstyle_status cs_terms_style_norms(cs_terms *T);
/* The gradient scale of a content term: d/dF alpha mean((F-P)^2) / norm = gs (F-P). */
float cs_terms_content_scale(const cs_terms *T, const cs_term *t);
/* With G_l^g(x) in t->g[g].gram: group g's raw sum and its gradient dL/dG in its dgram. */
clstyle_status cs_terms_style_dg(cs_terms *T, cs_term *t, int g);
/* The temporal term's buffers for n earlier frames of an h x w picture,
 * filled from warped[k] (3,h,w) and reliable[k] (h,w) on the host when
 * warped is not NULL (NULL: only sizing the job). */
clstyle_status cs_terms_set_temporal(cs_terms *T, int n, int h, int w, const float *const *warped, const float *const *reliable);
/* The temporal term at x (3,h,w): its raw sums, and delta dL_t/dx added to grad. */
clstyle_status cs_terms_temporal(cs_terms *T, cs_buf *x, cs_buf *grad);
/* After the backend's finish(): the terms, weighted and summed. */
void cs_terms_total(cs_terms *T);

/* The style targets as host arrays, one per style layer in table order
 * (c x c floats each): what a session keeps to reuse them. */
size_t cs_terms_target_floats(const cs_terms *T);
clstyle_status cs_terms_download_targets(cs_terms *T, float *host);
clstyle_status cs_terms_upload_targets(cs_terms *T, const float *host);

#endif
