#include "eval.h"

#include <string.h>

#include "error.h"
#include "eval_bands.h"
#include "eval_pieces.h"
#include "eval_whole.h"

/* The groups of styles the input makes: one, or one per masked style; each names the layers of its styles. */
static void make_groups(const cs_eval_input *in, cs_loss_spec *spec, unsigned *layers)
{
    spec->n_groups = in->content_masks ? in->n_styles : 1;
    for (int g = 0; g < spec->n_groups; g++) layers[g] = 0;
    for (int k = 0; k < in->n_styles && k < CS_MAX_GROUPS; k++) layers[cs_style_group(in, k)] |= cs_style_layers(in, k);
    spec->group_layers = layers;
}

/* Content masks, pooled to every style layer, and each group's share. */
static clstyle_status set_masks(cs_eval *E, const cs_eval_input *in)
{
    double shares[CS_MAX_GROUPS];
    int n = in->n_styles < CS_MAX_GROUPS ? in->n_styles : CS_MAX_GROUPS;
    const float *const *masks = in->content.pixels ? in->content_masks : NULL; /* none when only sizing */
    cs_terms_shares(masks, (size_t)E->h * E->w, in->blend, n, shares);
    return cs_terms_set_masks(&E->terms, masks, E->h, E->w, shares);
}

clstyle_status cs_eval_init(cs_eval *E, cs_net *net, const cs_loss_spec *spec_in, const cs_eval_input *in)
{
    unsigned layers[CS_MAX_GROUPS];
    cs_loss_spec spec_groups = *spec_in, *spec = &spec_groups;
    make_groups(in, spec, layers);
    memset(E, 0, sizeof *E);
    E->ops = in->tile > 0 ? &cs_eval_pieces : in->band > 0 ? &cs_eval_bands : &cs_eval_whole;
    E->h = in->content.h;
    E->w = in->content.w;
    E->tile = in->tile;
    E->band = in->tile > 0 ? 0 : in->band;
    E->checkpoint = E->band > 0 && in->checkpoint;
    clstyle_status st;
    CS_CHECK(cs_terms_init(&E->terms, net->be, net->host, spec));
    CS_CHECK(E->ops->init(E, net, in));
    if (in->content_masks) CS_CHECK(set_masks(E, in));
    if (in->n_temporal > 0)
        CS_CHECK(cs_terms_set_temporal(&E->terms, in->n_temporal, E->h, E->w, in->content.pixels ? in->temporal_warped : NULL,
                                       in->temporal_reliable));
    if (in->targets) CS_CHECK(cs_terms_upload_targets(&E->terms, in->targets));
    else {
        CS_CHECK(cs_terms_blend_targets(&E->terms)); /* per layer over the styles naming it */
        CS_CHECK(cs_terms_style_norms(&E->terms));
    }
done:
    if (st != CLSTYLE_OK) cs_eval_free(E);
    return st;
}

void cs_eval_free(cs_eval *E)
{
    if (E->ops) E->ops->free(E);
    for (int i = 0; i < E->terms.n; i++) cs_buf_release(E->terms.be, E->content_dev[i]);
    cs_buf_release(E->terms.be, E->mfeat);
    cs_buf_release(E->terms.be, E->gwin);
    cs_buf_release(E->terms.be, E->mwin);
    cs_terms_free(&E->terms);
    cs_acts_destroy(&E->acts);
    memset(E, 0, sizeof *E);
}

clstyle_status cs_eval_run(cs_eval *E, cs_buf *x, cs_buf *grad)
{
    for (int i = 0; i < E->terms.n; i++) E->terms.t[i].content_sum = 0;
    CS_TRY(E->ops->run(E, x, grad));
    /* The loss terms come back together here, so the device never waits mid-pass. */
    CS_TRY(cs_backend_finish(E->terms.be));
    cs_terms_total(&E->terms);
    return CLSTYLE_OK;
}
