/* Known VGG weights files, recognized by the SHA-256 of the whole file, so a
 * run can say which weights it used and a download can be checked. */
#ifndef CS_WEIGHTS_ID_H
#define CS_WEIGHTS_ID_H
#include "clstyle.h"

typedef struct {
    char sha256[65];     /* hex digest of the file */
    const char *name;    /* a known file's description, or NULL */
} cs_weights_id;

/* The description of the file with this digest, or NULL. */
const char *cs_weights_known(const char *sha256_hex);
/* Hashes the file at path (about 0.1 s per 40 MB) and looks it up. */
clstyle_status cs_weights_identify(const char *path, cs_weights_id *id);

#endif
