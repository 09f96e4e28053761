#include "coarse_keep.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "pyramid.h"

/* A copy of im at w x h (cs_image_resize copies at its own size). */
static clstyle_status refit(const cs_image *im, int w, int h, cs_image *out)
{
    cs_image_free(out);
    return cs_image_resize(im, w, h, out);
}

clstyle_status cs_kept_add(cs_kept *K, int size, const cs_image *content, const cs_image *masks, int n_masks,
                           const float *targets, size_t n_targets, double alpha)
{
    if (K->n > CS_COARSE_MAX_LEVELS) return cs_fail(CLSTYLE_ERR_USAGE, "coarse term: more than %d earlier scales", CS_COARSE_MAX_LEVELS);
    cs_kept_scale *s = &K->s[K->n++];
    s->size = size;
    s->alpha = alpha;
    K->n_masks = n_masks;
    if (!(s->targets = malloc((n_targets ? n_targets : 1) * sizeof(float)))) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    memcpy(s->targets, targets, n_targets * sizeof(float));
    CS_TRY(refit(content, content->w, content->h, &s->content));
    for (int k = 0; k < n_masks; k++) CS_TRY(refit(&masks[k], content->w, content->h, &s->masks[k]));
    return CLSTYLE_OK;
}

clstyle_status cs_kept_fit(cs_kept *K, int size, int h, int w)
{
    for (int i = 0; i < K->n; i++) {
        cs_kept_scale *s = &K->s[i];
        int lh, lw;
        s->halvings = cs_pyramid_halvings(s->size, size);
        if (!s->halvings) continue;
        cs_coarse_size(h, w, s->halvings, &lh, &lw);
        CS_TRY(refit(&s->content, lw, lh, &s->fit));
        for (int k = 0; k < K->n_masks; k++) {
            CS_TRY(refit(&s->masks[k], lw, lh, &s->fit_masks[k]));
            s->fit_mask_p[k] = s->fit_masks[k].p;
        }
    }
    return CLSTYLE_OK;
}

int cs_kept_levels(const cs_kept *K, const cs_loss_spec *loss, const cs_eval_input *in, double weight,
                   cs_coarse_level *out)
{
    int n = 0;
    for (int i = 0; i < K->n; i++) {
        const cs_kept_scale *s = &K->s[i];
        if (!s->halvings) continue;
        cs_coarse_level *L = &out[n++];
        L->halvings = s->halvings;
        L->loss = *loss;
        L->loss.alpha = weight * s->alpha;
        L->loss.beta = weight * loss->beta;
        L->loss.gamma = 0;
        L->loss.delta = 0;
        L->input = *in;
        L->input.content = (cs_eval_image){ s->fit.p, s->fit.w, s->fit.h };
        L->input.targets = s->targets;
        L->input.content_masks = in->content_masks ? s->fit_mask_p : NULL;
        L->input.n_temporal = 0;
    }
    return n;
}

void cs_kept_free(cs_kept *K)
{
    for (int i = 0; i < K->n; i++) {
        cs_kept_scale *s = &K->s[i];
        cs_image_free(&s->content);
        cs_image_free(&s->fit);
        free(s->targets);
        for (int k = 0; k < CS_MAX_STYLES; k++) {
            cs_image_free(&s->masks[k]);
            cs_image_free(&s->fit_masks[k]);
        }
    }
    memset(K, 0, sizeof *K);
}
