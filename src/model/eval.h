/* The loss and its gradient at a point, whole or in pieces (the plan says
 * which); both evaluators compute the same numbers up to float rounding. */
#ifndef CS_EVAL_H
#define CS_EVAL_H
#include "evaluator.h"

/* The terms of spec for the picture in `in`, on net's backend. */
clstyle_status cs_eval_init(cs_eval *E, cs_net *net, const cs_loss_spec *spec, const cs_eval_input *in);
void cs_eval_free(cs_eval *E);
/* L(x) into E->terms (content, style, tv, total) and its gradient into grad (3,h,w). */
clstyle_status cs_eval_run(cs_eval *E, cs_buf *x, cs_buf *grad);

#endif
