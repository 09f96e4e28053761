/* Progress on stderr: a bar with loss and ETA on a terminal, plain lines otherwise. */
#ifndef CS_PROGRESS_H
#define CS_PROGRESS_H
#include "clock.h"

typedef struct {
    int total, tty, quiet;
    int scale, scales;  /* shown as "scale 2/3" when scales > 1 */
    double start;       /* seconds, monotonic */
} cs_progress;

void cs_progress_start(cs_progress *p, int total, int quiet);
void cs_progress_scale(cs_progress *p, int scale, int scales);
void cs_progress_update(cs_progress *p, int iter, double loss);
void cs_progress_end(cs_progress *p);

#endif
