#define _POSIX_C_SOURCE 200809L
#include "interrupt.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static volatile sig_atomic_t stop_requested;
static int iterating, verbose;
static const char *phase = "starting";

/* Written only outside signal handlers; `pending` says whether it is valid,
 * so a handler never reads a half-copied name. */
static char pending_path[4200];
static volatile sig_atomic_t pending;

void clstyle_interrupt(void) { stop_requested = 1; }

const char *clstyle_pending_file(void) { return pending ? pending_path : NULL; }

int cs_stop_requested(void) { return stop_requested != 0; }

void cs_stop_begin(int verbose_)
{
    verbose = verbose_;
    iterating = 0;
    phase = "starting";
}

void cs_stop_set_iterating(int on) { iterating = on; }

void cs_stop_end(void)
{
    stop_requested = 0;
    iterating = 0;
}

clstyle_status cs_stop_check(void)
{
    if (!stop_requested || iterating) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_INTERRUPTED, "interrupted while %s; nothing written", phase);
}

clstyle_status cs_stop_phase(const char *name)
{
    if (verbose && strcmp(name, phase)) fprintf(stderr, "clstyle: %s\n", name);
    phase = name;
    return cs_stop_check();
}

void cs_pending_file_set(const char *path)
{
    pending = 0;
    if (!path || strlen(path) >= sizeof pending_path) return;
    memcpy(pending_path, path, strlen(path) + 1);
    pending = 1;
}
