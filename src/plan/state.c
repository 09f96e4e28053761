#include "state.h"

#include <string.h>

#include "error.h"

clstyle_status cs_state_create(cs_backend *be, cs_net *net, const cs_job_spec *spec, cs_state *s)
{
    memset(s, 0, sizeof *s);
    if (!net) {
        CS_TRY(cs_net_create_upto(be, spec->weights, spec->avg_pool, spec->net_last, &s->own));
        net = &s->own;
    }
    s->net = net;
    CS_TRY(cs_eval_init(&s->eval, net, &spec->loss, &spec->input));
    size_t n = (size_t)3 * spec->input.content.w * spec->input.content.h;
    double lr = spec->optimizer == CLSTYLE_ADAM ? spec->learning_rate : 1.0; /* L-BFGS: unit step */
    CS_TRY(cs_optim_create(be, spec->optimizer, n, spec->history > 0 ? spec->history : 1, lr, &s->opt));
    CS_TRY(cs_optim_set_line_search(s->opt, spec->line_search));
    CS_TRY(CS_OP(be, alloc, n, &s->x));
    return CS_OP(be, alloc, n, &s->g);
}

void cs_state_free(cs_backend *be, cs_state *s)
{
    cs_buf_release(be, s->x);
    cs_buf_release(be, s->g);
    cs_optim_destroy(s->opt);
    cs_eval_free(&s->eval);
    if (s->own.be) cs_net_destroy(&s->own);
    memset(s, 0, sizeof *s);
}
