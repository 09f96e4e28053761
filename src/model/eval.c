#include "eval.h"

#include <string.h>

#include "error.h"
#include "eval_pieces.h"
#include "eval_whole.h"

clstyle_status cs_eval_init(cs_eval *E, cs_net *net, const cs_loss_spec *spec, const cs_eval_input *in)
{
    memset(E, 0, sizeof *E);
    E->ops = in->tile > 0 ? &cs_eval_pieces : &cs_eval_whole;
    E->h = in->content.h;
    E->w = in->content.w;
    E->tile = in->tile;
    clstyle_status st;
    CS_CHECK(cs_terms_init(&E->terms, net->be, net->host, spec));
    CS_CHECK(E->ops->init(E, net, in));
    if (in->targets) CS_CHECK(cs_terms_upload_targets(&E->terms, in->targets));
    else CS_CHECK(cs_terms_style_norms(&E->terms));
done:
    if (st != CLSTYLE_OK) cs_eval_free(E);
    return st;
}

void cs_eval_free(cs_eval *E)
{
    if (E->ops) E->ops->free(E);
    for (int i = 0; i < E->terms.n; i++) cs_buf_release(E->terms.be, E->content_dev[i]);
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
