/* A strided block copy on several host threads: moving a band of a map
 * between host arrays and a device that shares the host's memory, where a
 * driver's own rectangle copy runs on one thread while the other cores wait. */
#ifndef CS_COPY_H
#define CS_COPY_H
#include <stddef.h>

/* outer x inner rows of `row` bytes each: row (o, i) from
 * src + o * src_outer + i * src_inner to dst + o * dst_outer + i * dst_inner.
 * Rows must not overlap. */
typedef struct {
    char *dst;
    const char *src;
    size_t dst_outer, dst_inner, src_outer, src_inner;
    size_t row, inner, outer;
} cs_blocks;

/* threads: 0 = by size, up to the host's cores (tests force a number). */
void cs_copy_blocks(const cs_blocks *b, int threads);

#endif
