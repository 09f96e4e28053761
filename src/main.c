/* clstyle command line: parse, run, map the status to the exit code. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "clstyle.h"

static void on_signal(int sig)
{
    (void)sig;
    clstyle_interrupt();
}

int main(int argc, char **argv)
{
    clstyle_options o;
    int action;
    clstyle_status st = clstyle_parse_args(argc, argv, &o, &action);
    if (st != CLSTYLE_OK) {
        fprintf(stderr, "clstyle: %s\nTry 'clstyle --help' for more information.\n", clstyle_last_error());
        return 2;
    }
    if (action == 1) { fputs(clstyle_usage(), stdout); return 0; }
    if (action == 2) { printf("clstyle %s\n", CLSTYLE_VERSION); return 0; }
    if (action == 3) st = clstyle_list_devices();
    else {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        st = clstyle_run(&o);
    }
    if (st == CLSTYLE_OK) return 0;
    fprintf(stderr, "clstyle: %s\n", clstyle_last_error());
    if (st != CLSTYLE_ERR_USAGE) return 1;
    fprintf(stderr, "Try 'clstyle --help' for more information.\n");
    return 2;
}
