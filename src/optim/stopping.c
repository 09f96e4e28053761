#include "stopping.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

clstyle_status cs_stopping_init(cs_stopping *s, double tolerance, int window)
{
    *s = (cs_stopping){ .tolerance = tolerance, .window = window < 1 ? 1 : window };
    if (!(tolerance > 0)) return CLSTYLE_OK;
    s->ring = malloc(((size_t)s->window + 1) * sizeof *s->ring);
    return s->ring ? CLSTYLE_OK : cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
}

int cs_stopping_add(cs_stopping *s, double loss)
{
    if (!s->ring) return 0;
    size_t slots = (size_t)s->window + 1;
    s->ring[(size_t)s->seen % slots] = loss;
    s->seen++;
    if (s->seen < (int)slots) return 0;
    double old = s->ring[(size_t)s->seen % slots]; /* the loss `window` iterations ago */
    /* A rise counts as no improvement; so does a loss that is no longer finite. */
    return !(old - loss >= s->tolerance * fabs(old));
}

void cs_stopping_free(cs_stopping *s)
{
    free(s->ring);
    s->ring = NULL;
}
