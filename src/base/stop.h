/* A request to stop, one per session: set from a signal handler or another
 * thread (clstyle_session_cancel), read at stop points between long steps.
 * Before a job's first evaluation a stop point ends it with nothing written;
 * from then on stop points let the evaluation finish, and the driver stops
 * after it with the picture so far. */
#ifndef CS_STOP_H
#define CS_STOP_H
#include <signal.h>

#include "clstyle.h"

typedef struct cs_stop {
    volatile sig_atomic_t requested;
    int iterating;       /* the first evaluation is done */
    const char *phase;   /* the step under way, quoted when a stop ends it there */
} cs_stop;

/* CLSTYLE_ERR_INTERRUPTED naming the phase if a stop is pending and the job
 * is not iterating yet; s may be NULL (never stops). */
clstyle_status cs_stop_check(const cs_stop *s);

#endif
