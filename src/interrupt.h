/* Stop requests from signals. The handler (in the program, not the library)
 * calls clstyle_interrupt(); the run reads the flag at stop points between
 * long steps. Before the iterations a stop point ends the run with nothing
 * written; during them the driver finishes the current evaluation, writes
 * the result and reports the interrupt. */
#ifndef CS_INTERRUPT_H
#define CS_INTERRUPT_H
#include "clstyle.h"

int cs_stop_requested(void);
/* Names the step the run enters (printed with --verbose, quoted when a stop
 * ends it there); returns CLSTYLE_ERR_INTERRUPTED if a stop is pending
 * and the run is not iterating yet. */
clstyle_status cs_stop_phase(const char *phase);
/* The same check without changing the step: for loops inside one step. */
clstyle_status cs_stop_check(void);
/* iterating = 1 once the first evaluation is done: from then on stop points
 * let the evaluation finish, and the driver writes the current result. */
void cs_stop_begin(int verbose);
void cs_stop_set_iterating(int iterating);
/* At the end of a run: a stop request is spent, so the next run (a library
 * caller may start one) begins afresh. */
void cs_stop_end(void);

/* The temporary file being written (see atomic.h), for the handler of a
 * second signal to remove before it ends the process; NULL clears it. */
void cs_pending_file_set(const char *path);

#endif
