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

/* The automatic pyramid of `--size N` alone (docs/large-pictures.md): N,
 * N/2, N/4 ... while at least CS_PYRAMID_FIRST px, smallest first, when N is
 * over CS_PYRAMID_FROM; the last two scales get half of `iterations`
 * (rounded up), each smaller one twice the next one's but at most
 * 2 x iterations (100, 50, 50 for 100 at 1024 px), so that the scales cost
 * about 0.7 of `iterations` at N in pixels and the coarse term's
 * evaluations at the smaller sizes keep the whole under the single
 * scale's time (measured in docs/large-pictures.md, "Time in the box").
 * Fills sizes and counts (at most `max`) and returns the number of
 * scales; 1 means N alone. */
enum { CS_PYRAMID_FIRST = 256, CS_PYRAMID_FROM = 512 };
int cs_pyramid_plan(int size, int iterations, int *sizes, int *counts, int max);
/* alpha of a planned scale of `scale` px on the way to `size`: alpha x
 * size / scale, four times alpha at N/4, so that the coarse scales lay the
 * painting's large strokes over the photo's large shapes instead of
 * replacing them; the coarse term holds each at that weight later
 * (docs/large-pictures.md, "The automatic pyramid": against sqrt(size /
 * scale), coarse content 0.43-0.55 instead of 0.56-0.71 at N/4). */
double cs_pyramid_content_weight(double alpha, int scale, int size);
/* The halvings (1 to 6) that take `size` to `first` (pooling's floor each
 * time), or 0 when none do: a later scale has a coarse term only then. */
int cs_pyramid_halvings(int first, int size);
/* The coarse term's weight in the automatic pyramid (docs/large-pictures.md). */
#define CS_PYRAMID_COARSE_WEIGHT 1.0

#endif
