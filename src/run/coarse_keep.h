/* What a pyramid keeps of each finished scale for the later scales' coarse
 * term (model/coarse.h): its content, content masks, style targets and
 * alpha; and, for a later scale, one level per kept scale its size halves
 * to, with those images resized to the level's size. */
#ifndef CS_COARSE_KEEP_H
#define CS_COARSE_KEEP_H
#include "coarse.h"
#include "image.h"

typedef struct {
    int size;                   /* the scale's longer side */
    cs_image content, masks[CS_MAX_STYLES];
    float *targets;
    double alpha;
    int halvings;               /* from the current scale; 0: no level there */
    cs_image fit, fit_masks[CS_MAX_STYLES];  /* content and masks at that level's size */
    const float *fit_mask_p[CS_MAX_STYLES];
} cs_kept_scale;

typedef struct {
    cs_kept_scale s[CS_COARSE_MAX_LEVELS + 1];
    int n, n_masks;
} cs_kept;

/* Keeps a finished scale: copies of content and n_masks masks (grey, its size), n_targets floats of targets. */
clstyle_status cs_kept_add(cs_kept *K, int size, const cs_image *content, const cs_image *masks, int n_masks,
                           const float *targets, size_t n_targets, double alpha);
/* The kept scales' images at the levels of a scale of `size` px whose picture is h x w. */
clstyle_status cs_kept_fit(cs_kept *K, int size, int h, int w);
/* Those levels (after cs_kept_fit): the scale's own loss and input, with
 * each kept scale's content, masks and targets, alpha x weight and beta x
 * weight, and neither total variation nor the temporal term. */
int cs_kept_levels(const cs_kept *K, const cs_loss_spec *loss, const cs_eval_input *in, double weight,
                   cs_coarse_level *out);
void cs_kept_free(cs_kept *K);

#endif
