/* The images of one scale of a job: the content and styles resized from
 * their originals, and the start (the init, or the previous scale's result
 * enlarged with the content's lost detail). SPEC "Size pyramid". */
#ifndef CS_PYRAMID_H
#define CS_PYRAMID_H
#include "image.h"

/* Longer side of the styles at content size `size`: size x scale, at least 16. */
int cs_pyramid_style_size(int size, double style_scale);
/* out = src resized so that its longer side is `longer`. */
clstyle_status cs_pyramid_fit(const cs_image *src, int longer, cs_image *out);
/* The start of the first scale, at the content's size: the content, uniform
 * noise from seed, or init resized (init_kind: CLSTYLE_INIT_*). */
clstyle_status cs_pyramid_init(const cs_image *content, int init_kind, const cs_image *init, unsigned long seed, cs_image *out);
/* The start of a later scale: prev enlarged to the content's size
 * (bilinear: smooth, without the overshoot of bicubic), plus, with
 * add_detail, content - enlarge(shrink(content)): the detail of the content
 * that the smaller scale could not hold (a Laplacian-pyramid band). Without
 * it the last scale's few iterations leave edges blurred (docs/defaults.md). */
clstyle_status cs_pyramid_enlarge(const cs_image *prev, const cs_image *content, int add_detail, cs_image *out);

#endif
