/* What an evaluator of the loss is: the state the three ways of evaluating
 * keep (eval_whole.c: the whole picture at once; eval_pieces.c: in pieces
 * with a halo; eval_bands.c: layer by layer in bands) and the table eval.c
 * dispatches through. Types only. */
#ifndef CS_EVALUATOR_H
#define CS_EVALUATOR_H
#include "loss.h"

enum { CS_MAX_STYLES = 16 };

typedef struct {
    const float *pixels;      /* (3,h,w) RGB [0,1]; NULL when only sizing a job (the counting backend) */
    int w, h;
} cs_eval_image;

/* What an evaluation is of. */
typedef struct {
    cs_eval_image content;    /* its size is the picture's */
    const cs_eval_image *styles;
    const double *blend;      /* b_k, summing to 1 */
    int n_styles;
    /* The style targets A_l as cs_terms_download_targets wrote them, or NULL:
     * compute them from the style images. */
    const float *targets;
    int tile;                 /* interior of a piece, px (a multiple of 16); 0: the whole picture at once */
    int band;                 /* with tile 0: layer by layer in bands of this many rows (a multiple of 16); 0: whole */
    /* Spatial control (SPEC "Masks"), NULL when unused. content_masks: per
     * style, its region of the content (h x w floats in [0,1]); given, each
     * style is a group of its own with guided Gram matrices. style_masks: per
     * style, the positions of its image its target is computed from (the
     * style's h x w; a NULL entry: all). style_layers: per style, bits over
     * the spec's style layers it adds its target to. */
    const float *const *content_masks;
    const float *const *style_masks;
    const unsigned *style_layers;
    /* The temporal term (SPEC, video): per earlier frame, its result warped
     * to this picture (3,h,w) and each pixel's reliability (h,w); with
     * n_temporal > 0 and warped NULL the buffers are only sized. */
    const float *const *temporal_warped;
    const float *const *temporal_reliable;
    int n_temporal;
    int checkpoint;           /* bands: keep only the input's and the poolings' maps, recompute each stage's for its backward */
} cs_eval_input;

typedef struct cs_eval cs_eval;

/* The group style k belongs to and the style layers it names. */
static inline int cs_style_group(const cs_eval_input *in, int k) { return in->content_masks ? k : 0; }
static inline unsigned cs_style_layers(const cs_eval_input *in, int k) { return in->style_layers ? in->style_layers[k] : ~0u; }

typedef struct {
    /* Activations, the style targets (unless given) and the content targets. */
    clstyle_status (*init)(cs_eval *E, cs_net *net, const cs_eval_input *in);
    /* Forward and backward at x: each term's raw sums, T->tv and grad (3,h,w) (overwritten). */
    clstyle_status (*run)(cs_eval *E, cs_buf *x, cs_buf *grad);
    void (*free)(cs_eval *E);
} cs_eval_ops;

struct cs_eval {
    const cs_eval_ops *ops;
    cs_terms terms;
    cs_acts acts;               /* the generated image's (whole) or one piece's activations */
    int h, w;                   /* the picture */
    int tile, halo;             /* pieces: interior and margin, px; 0 when whole */
    cs_buf *content_dev[2 * CS_MAX_LAYERS];    /* whole: F_l(c) per content term */
    float *content_host[2 * CS_MAX_LAYERS];    /* pieces: F_l(c) per content term, on the host */
    cs_buf *piece;              /* pieces: (3, window) of the image, then its gradient */
    cs_buf *fwin, *dwin, *twin; /* pieces: a layer's features inside a piece, their gradient, the content target there */
    cs_buf *mfeat;              /* whole, with content masks: a style layer's masked features, then their gradient */
    cs_buf *gwin, *mwin;        /* pieces, with masks: a group's gradient inside a piece; a mask's window */
    cs_buf *dgs;                /* pieces and bands: a term's dG scaled by an interior's share */
    float *host_piece;          /* pieces: host staging for pieces of host images and content targets */
    int band;                   /* bands: rows of the picture per band; 0 when not in bands */
    float *host_act[CS_MAX_NODES + 1]; /* bands: the picture's preprocessed input, then each node's output, on the host */
    float *host_stage;          /* bands with checkpoints: the maps inside one stage, shared by every stage */
    int checkpoint, resident;   /* bands: whether in checkpoints; the stage whose maps host_stage holds (-1: none) */
    float *host_grad[2];        /* bands: the gradients of a node's output and input, on the host */
    cs_buf *bx, *by, *bz;       /* bands: a band of a layer's input or output, with its halo */
    size_t host_bytes;          /* host memory the evaluator keeps */
};

#endif
