#include "stop.h"

#include "error.h"

clstyle_status cs_stop_check(const cs_stop *s)
{
    if (!s || !s->requested || s->iterating) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_INTERRUPTED, "interrupted while %s; nothing written", s->phase ? s->phase : "starting");
}
