/* SHA-256 (FIPS 180-4), to recognize weights files by content. */
#ifndef CS_SHA256_H
#define CS_SHA256_H
#include <stddef.h>
#include <stdint.h>
#include "clstyle.h"

typedef struct {
    uint32_t h[8];
    uint64_t bytes;          /* message length so far */
    unsigned char block[64];
    size_t fill;             /* bytes waiting in block */
} cs_sha256;

void cs_sha256_init(cs_sha256 *s);
void cs_sha256_update(cs_sha256 *s, const void *data, size_t n);
/* Writes the digest as 64 lowercase hex digits and a NUL. */
void cs_sha256_hex(cs_sha256 *s, char hex[65]);
/* The digest of a whole file, as hex. */
clstyle_status cs_sha256_file(const char *path, char hex[65]);

#endif
