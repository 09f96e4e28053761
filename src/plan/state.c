#include "state.h"

#include <string.h>

#include "error.h"

clstyle_status cs_state_create(cs_backend *be, cs_backend *host, cs_net *net, const cs_job_spec *spec, cs_state *s)
{
    memset(s, 0, sizeof *s);
    if (!net) {
        CS_TRY(cs_net_create_upto(be, spec->weights, spec->avg_pool, spec->net_last, &s->own));
        net = &s->own;
    }
    s->net = net;
    CS_TRY(cs_eval_init(&s->eval, net, &spec->loss, &spec->input));
    if (spec->n_coarse > 0) {
        cs_coarse_level levels[CS_COARSE_MAX_LEVELS];
        for (int k = 0; k < spec->n_coarse; k++) {
            levels[k] = spec->coarse[k];
            /* pieces or bands where the picture has them, if a level needs them at all */
            levels[k].input.tile = spec->input.tile;
            levels[k].input.band = spec->input.band;
        }
        CS_TRY(cs_coarse_init(&s->coarse, net, levels, spec->n_coarse, spec->input.content.h, spec->input.content.w));
    }
    size_t n = (size_t)3 * spec->input.content.w * spec->input.content.h;
    double lr = spec->optimizer == CLSTYLE_ADAM ? spec->learning_rate : 1.0; /* L-BFGS: unit step */
    cs_backend *home = spec->input.band && host ? host : be;
    CS_TRY(cs_optim_create_on(be, home, spec->optimizer, n, spec->history > 0 ? spec->history : 1, lr, &s->opt));
    CS_TRY(cs_optim_set_line_search(s->opt, spec->line_search));
    CS_TRY(cs_optim_set_bounds(s->opt, spec->clamp));
    CS_TRY(CS_OP(be, alloc, n, &s->x));
    return CS_OP(be, alloc, n, &s->g);
}

clstyle_status cs_state_evaluate(cs_state *s)
{
    CS_TRY(cs_eval_run(&s->eval, s->x, s->g));
    if (!s->coarse.levels) return CLSTYLE_OK;
    CS_TRY(cs_coarse_run(&s->coarse, s->x, s->g));
    s->eval.terms.total += s->coarse.total;
    return CLSTYLE_OK;
}

void cs_state_free(cs_backend *be, cs_state *s)
{
    cs_buf_release(be, s->x);
    cs_buf_release(be, s->g);
    cs_optim_destroy(s->opt);
    cs_eval_free(&s->eval);
    cs_coarse_free(&s->coarse);
    if (s->own.be) cs_net_destroy(&s->own);
    memset(s, 0, sizeof *s);
}
