/* Resume records: a small JSON file beside each finished result,
 * ".NAME.clstyle.json", written atomically after the result. A result is
 * done when both exist, the record's key matches the job's (options and
 * input files) and its size is the one recorded; anything else is redone. */
#ifndef CS_RECORD_H
#define CS_RECORD_H
#include <stddef.h>
#include "clstyle.h"

/* What the record says besides the key (for the summary and for people). */
typedef struct {
    const char *input, *style, *device;  /* style may be NULL */
    double seconds, loss;
} cs_record_info;

/* ".NAME.clstyle.json" beside the result at `output`. */
void cs_record_path(const char *output, char *out, size_t n);
/* Appends a file's identity (size and SHA-256 of its bytes) to a key under
 * construction; a file that cannot be read adds its error, so it never matches. */
void cs_record_key_file(char *key, size_t n, const char *path);
/* The job's key: SHA-256 of the text built by cs_record_key_file and the options. */
void cs_record_key_hash(const char *text, char hex[65]);
/* Whether output is done under key. */
int cs_record_done(const char *output, const char *key);
/* Removes the record before the result is replaced, so that a result and an
 * older record never pass for a pair. Missing is fine. */
clstyle_status cs_record_remove(const char *output);
/* Writes the record of the result just written at output (atomically). */
clstyle_status cs_record_write(const char *output, const char *key, const cs_record_info *info);

#endif
