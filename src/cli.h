/* The option table behind clstyle_parse_args, clstyle_options_default and
 * clstyle_usage: one row per option. Exposed so tests can check --help and
 * the README against it. */
#ifndef CS_CLI_H
#define CS_CLI_H
#include <stddef.h>
#include "clstyle.h"

typedef struct cs_parse cs_parse;
typedef struct cs_option cs_option;
/* Parses and validates one value v (NULL for a flag) of option d. */
typedef clstyle_status (*cs_option_fn)(const cs_option *d, cs_parse *p, const char *v);

struct cs_option {
    const char *name;        /* "--size" */
    const char *short_name;  /* "-c", or NULL */
    const char *arg;         /* "N", "lbfgs|adam" (choices), or NULL for a flag */
    const char *def;         /* default, given to `parse` by clstyle_options_default; NULL: zero */
    const char *help;        /* one line; '\n' continues it on the next */
    cs_option_fn parse;
    size_t field;            /* offset of the value in clstyle_options */
    double lo, hi;           /* range of a number, item count of a list, or the action of a flag */
};

/* The table, *n rows. */
const cs_option *cs_options(int *n);

#endif
