/* When to stop before the iteration count: the loss improved by less than a
 * relative tolerance over the last `window` iterations (as artistic-videos'
 * -tol_loss_relative over -tol_loss_relative_interval, but over a sliding
 * window, so the run stops within one iteration of the rule holding).
 * Scalars only: the driver feeds it each accepted iteration's loss. */
#ifndef CS_STOPPING_H
#define CS_STOPPING_H
#include "clstyle.h"

typedef struct {
    double tolerance;     /* 0: never stops */
    int window;           /* iterations compared */
    int seen;             /* losses added so far */
    double *ring;         /* the last window + 1 losses */
} cs_stopping;

/* tolerance <= 0 turns the rule off (and allocates nothing). */
clstyle_status cs_stopping_init(cs_stopping *s, double tolerance, int window);
/* Adds the loss of the next iteration (iteration 0 first); returns 1 when
 * the loss `window` iterations ago was improved on by less than
 * tolerance x its magnitude. */
int cs_stopping_add(cs_stopping *s, double loss);
void cs_stopping_free(cs_stopping *s);

#endif
