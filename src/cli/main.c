/* clstyle command line: parse, run, map the status to the exit code. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clip.h"
#include "error.h"

enum { EXIT_INTERRUPTED = 130, EXIT_PARTIAL = 3 };

/* cli_run.c's: what the job is doing, for the handler. */
extern volatile sig_atomic_t cs_cli_stop;
extern clstyle_session *volatile cs_cli_session;
extern char cs_cli_pending[];
extern volatile sig_atomic_t cs_cli_pending_set;
/* batch.c's: the sessions of its workers. */
extern clstyle_session *volatile cs_cli_workers[];
extern const int cs_cli_max_workers;

/* Atomic, not a volatile counter: the runtime's threads (PoCL's workers)
 * take signals too, so two signals sent together can run the handler in two
 * threads at once, and a plain ++ let both see 0 and neither leave. */
static atomic_int signals_seen;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the handler needs a lock-free counter");

/* First signal: ask the run to stop (it keeps the picture when iterating).
 * Second: leave now, removing the half-written temporary file, if any. */
static void on_signal(int sig)
{
    (void)sig;
    if (atomic_fetch_add(&signals_seen, 1) == 0) {
        cs_cli_stop = 1;
        clstyle_session_cancel(cs_cli_session);
        for (int i = 0; i < cs_cli_max_workers; i++) clstyle_session_cancel(cs_cli_workers[i]);
        return;
    }
    if (cs_cli_pending_set) unlink(cs_cli_pending);
    static const char msg[] = "clstyle: interrupted again; stopped without writing\n";
    ssize_t r = write(2, msg, sizeof msg - 1);
    (void)r;
    _exit(EXIT_INTERRUPTED);
}

/* No SA_RESTART: a blocking read returns EINTR instead of waiting on. */
static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* The automatic pyramid, said once (also in the log: a start line per scale). */
static void print_plan(const cs_options *o)
{
    fprintf(stderr, "clstyle: %d px in %d scales:", o->size, o->n_sizes);
    for (int k = 0; k < o->n_sizes; k++)
        fprintf(stderr, "%s %d px x %d (content weight %.3g)", k ? "," : "", o->sizes[k], o->scale_iterations[k],
                o->scale_content_weights[k]);
    fprintf(stderr, "; coarse weight %.3g; --single for one scale\n", o->coarse_weight);
}

int main(int argc, char **argv)
{
    cs_options o;
    int action, failed = 0;
    clstyle_status st = cs_parse_args(argc, argv, &o, &action);
    if (st != CLSTYLE_OK) {
        fprintf(stderr, "clstyle: %s\nTry 'clstyle --help' for more information.\n", clstyle_last_error());
        return 2;
    }
    if (action == 1) { fputs(cs_usage(), stdout); return 0; }
    if (action == 2) { printf("clstyle %s\n", CLSTYLE_VERSION); return 0; }
    if (action == 3) st = clstyle_list_devices();
    else {
        install_handlers();
        if (o.auto_pyramid && !o.quiet) print_plan(&o);
        st = o.clip_mode ? cs_clip_run(&o) : o.batch ? cs_batch_run(&o, &failed) : cs_cli_run(&o);
    }
    if (st == CLSTYLE_OK) return failed ? EXIT_PARTIAL : 0; /* a batch in which some results failed */
    /* A step cut short by the signal (EINTR) counts as the interrupt it is. */
    if (atomic_load(&signals_seen) && st != CLSTYLE_ERR_INTERRUPTED) {
        fprintf(stderr, "clstyle: interrupted (%s)\n", clstyle_last_error());
        return EXIT_INTERRUPTED;
    }
    fprintf(stderr, "clstyle: %s\n", clstyle_last_error());
    if (st == CLSTYLE_ERR_INTERRUPTED) return EXIT_INTERRUPTED;
    if (st != CLSTYLE_ERR_USAGE) return 1;
    fprintf(stderr, "Try 'clstyle --help' for more information.\n");
    return 2;
}
