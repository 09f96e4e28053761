/* What the command line asks of the library, written once for the single
 * picture (cli_run.c) and the batch workers (batch.c): the session, style
 * set and job options from the parsed command line. */
#ifndef CS_CLI_JOB_H
#define CS_CLI_JOB_H
#include "cli.h"

/* Session options: the environment's settings, then the command line's;
 * device: this worker's (NULL: --device). cache_dir: storage for the cache path. */
void cs_cli_session_options(const cs_options *o, const char *weights, const char *device, clstyle_session_options *so,
                            char *cache_dir, size_t n);
/* The style set of style k (k < 0: all styles, blended). images and
 * image_masks (may be NULL) are indexed like -s; own: storage for the
 * per-style layer lists. */
void cs_cli_styles_options(const cs_options *o, int k, clstyle_image *const *images, clstyle_image *const *image_masks,
                           const char *const **own, clstyle_styles_options *yo);
/* Job options (the content masks, picture interval and callback are the caller's). */
void cs_cli_job_options(const cs_options *o, const clstyle_image *init, clstyle_job_options *jo);
/* The job's options for the log's start events: JSON fields, each with its
 * leading comma (optimizer, weights, tolerance, a planned pyramid's scales). */
void cs_cli_log_options(const cs_options *o, char *out, size_t n);

#endif
