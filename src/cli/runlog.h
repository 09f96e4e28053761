/* The --log file (JSON Lines): every write is checked, so a log that cannot
 * be written (full disk, /dev/full, a closed pipe) fails the run naming the
 * file instead of leaving an empty or cut log behind an exit 0. */
#ifndef CS_RUNLOG_H
#define CS_RUNLOG_H
#include <stdio.h>
#include "clstyle.h"

clstyle_status cs_log_open(const char *path, FILE **out);
/* Flushes what was printed to f; fails if any write to it failed. */
clstyle_status cs_log_check(FILE *f, const char *path);
/* The last line of an interrupted run: which iteration its output holds. */
clstyle_status cs_log_interrupted(FILE *f, const char *path, int iter);
/* The start event of a scale (`options`: more fields, each with its leading
 * comma) and the line of an evaluation (SPEC "Log format"). */
clstyle_status cs_log_start(FILE *f, const char *path, const clstyle_scale_info *i, const char *options);
clstyle_status cs_log_eval(FILE *f, const char *path, const clstyle_event *e);
/* The same with more fields (`extra`, each with its leading comma), e.g. a batch's picture. */
clstyle_status cs_log_eval_tagged(FILE *f, const char *path, const clstyle_event *e, const char *extra);
/* v escaped for a JSON string (cut to fit n). */
void cs_json_escape(const char *v, char *out, size_t n);
/* ,"key":"value" with value escaped as a JSON string. */
void cs_json_field(FILE *f, const char *key, const char *v);
/* Why a scale's iterations ended: {"event":"end","reason":...} (before an interrupted run's last line). */
clstyle_status cs_log_end(FILE *f, const char *path, const clstyle_event *e);
/* Closes *f (NULL is fine) and reports a failed final write. */
clstyle_status cs_log_close(FILE **f, const char *path);

#endif
