/* The clock: monotonic seconds, for timings (the progress bar, the
 * convolution choice, profiling). */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

double cs_now(void);

#endif
