/* Files: atomic replacement (write a temporary file beside the target, then
 * rename it over the target, so a failure never leaves a partial file or
 * clobbers an existing one) and opening regular files only. */
#ifndef CS_FILE_H
#define CS_FILE_H
#include <stdio.h>
#include <sys/types.h>
#include "clstyle.h"

typedef struct {
    FILE *fp;           /* write here */
    char tmp[4200];
    const char *path;
    int err;            /* errno of the writer's failure, when it knows one */
} cs_atomic;

/* The temporary file beside path: ".NAME.PID" in the same folder, so a
 * signal handler that knows the target can remove it. */
void cs_atomic_temp_path(const char *path, char *buf, size_t n);
enum { CS_ATOMIC_EXTRA = 12 }; /* what the temporary name adds to the target's name, at most */
clstyle_status cs_atomic_open(cs_atomic *a, const char *path);
/* ok = 0 (the caller's writing failed) discards the temporary file; the
 * message gives a->err, else the stream's own error, else "encoding failed". */
clstyle_status cs_atomic_commit(cs_atomic *a, int ok);

/* fopen(path, "rb") for a regular file only: opened without blocking, so a
 * FIFO put in place after a check cannot hang the run. `what` names the
 * file in the message ("weights file"). */
clstyle_status cs_open_regular(const char *path, const char *what, FILE **out);
/* "a folder", "a FIFO", ... for a file type that is not a regular file. */
const char *cs_file_kind(mode_t m);

#endif
