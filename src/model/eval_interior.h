/* The loss terms over one interior: a window of a layer's whole feature map
 * that an evaluator holds on the device (E->fwin), whether a tile's interior
 * (eval_pieces.c) or a band of rows (eval_bands.c). Every feature belongs to
 * exactly one interior, so sums over interiors are the whole picture's. */
#ifndef CS_EVAL_INTERIOR_H
#define CS_EVAL_INTERIOR_H
#include "evaluator.h"

/* Rows of window win between a (c,H,W) host array and a contiguous one. */
void cs_host_window(float *big, float *small, cs_window win, int to_small);

/* Group g's Gram of the interior `at` (E->fwin, masked by `mask` when not
 * NULL: the mask of the whole map), normalized by the interior's positions,
 * scaled by weight times its share of the whole map's positions and added
 * into `into` (E->dwin is scratch). */
clstyle_status cs_interior_gram(cs_eval *E, int i, int g, cs_buf *mask, cs_window at, double weight, cs_buf *into);
/* The gradient of term i's losses at the interior `at` (E->fwin) added
 * into `into` (at's shape); the content term's raw sum goes to *sum at the
 * next finish(). */
clstyle_status cs_interior_grads(cs_eval *E, int i, cs_window at, cs_buf *into, double *sum);
/* Style k's mask on its image, pooled to each style layer it names, on the
 * device (masks[i] per term; sizing only when the style has no pixels). */
clstyle_status cs_interior_style_masks(cs_eval *E, const cs_eval_input *in, int k, cs_buf **masks);
/* Before the interiors add into them: every group's Gram of the picture zeroed. */
clstyle_status cs_interior_clear_grams(cs_terms *T);
/* After: each group's style sum and its dG from the complete Gram matrices. */
clstyle_status cs_interior_style_dgs(cs_terms *T);
/* The interior scratch: E->fwin and E->dwin of `feat` floats, E->dgs for
 * the largest term's c x c, E->twin of
 * `target` (content interiors; 0: none), mask scratch of `positions` floats
 * when the input has masks, and host staging of `host` floats. */
clstyle_status cs_interior_alloc(cs_eval *E, const cs_eval_input *in, size_t feat, size_t target, size_t positions, size_t host);
/* The host arrays of the content targets (E->content_host); when sizing only counted. */
clstyle_status cs_interior_content_arrays(cs_eval *E, int sizing);
/* Frees what the two above made. */
void cs_interior_free(cs_eval *E);
/* The content norm of every content term from its host target. */
void cs_interior_content_norms(cs_eval *E);

#endif
