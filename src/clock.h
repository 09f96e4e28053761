/* The clock: monotonic seconds, for timing evaluations and setup steps. */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

double cs_now(void);

#endif
