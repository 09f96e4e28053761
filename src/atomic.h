/* Atomic file replacement: write a temporary file beside the target, then
 * rename it over the target, so a failure never leaves a partial file or
 * clobbers an existing one. */
#ifndef CS_ATOMIC_H
#define CS_ATOMIC_H
#include <stdio.h>
#include "clstyle.h"

typedef struct {
    FILE *fp;           /* write here */
    char tmp[4200];
    const char *path;
    int err;            /* errno of the writer's failure, when it knows one */
} cs_atomic;

clstyle_status cs_atomic_open(cs_atomic *a, const char *path);
/* ok = 0 (the caller's writing failed) discards the temporary file; the
 * message gives a->err, else the stream's own error, else "encoding failed". */
clstyle_status cs_atomic_commit(cs_atomic *a, int ok);

#endif
