/* Dense optical flow between frames (OpenCV's DIS, behind a C wrapper:
 * flow_dis.cpp; the meson feature `flow`), the warp of a picture along it,
 * the reliability of each pixel's flow (Ruder, Dosovitskiy & Brox 2016:
 * forward-backward consistency and motion boundaries) and the flicker
 * measure (mask-weighted mean absolute difference). */
#ifndef CS_FLOW_H
#define CS_FLOW_H
#include "image.h"

/* A displacement per pixel: pixel (x, y) of frame A is at (x + u, y + v) in frame B. */
typedef struct {
    int w, h;
    float *u, *v;           /* h x w each */
} cs_flow;

/* Whether this build computes flow. */
int cs_flow_available(void);
/* The flow from a to b (same size, at least 12x12): a(x) ~ b(x + f(x)),
 * computed on their luma in 8 bits; out is allocated (cs_flow_free).
 * quality: 0 fast, 1 medium (default), 2 fine (DIS presets ULTRAFAST, FAST,
 * MEDIUM: about 5, 8 and 55 ms at 512x384, 1, 2 and 7 ms at 256x192, on two
 * busy cores). Quality 1 smooths the flow over about 12 px at motion
 * boundaries, so cs_flow_reliability misses disocclusions narrower than
 * that; quality 2 finds them from about 8 px (tests/test_flow.c).
 * Without OpenCV it fails with CLSTYLE_ERR_USAGE, saying how to get it. */
clstyle_status cs_flow_compute(const cs_image *a, const cs_image *b, int quality, cs_flow *out);
/* Uninitialized w x h planes; fails for an empty size. */
clstyle_status cs_flow_alloc(int w, int h, cs_flow *f);
void cs_flow_free(cs_flow *f);   /* and sets u, v to NULL: freeing twice is harmless */
/* out(x) = src(x + f(x)), bilinear, coordinates clamped to the picture;
 * out is allocated at f's size (src the same size). */
clstyle_status cs_flow_warp(const cs_image *src, const cs_flow *f, cs_image *out);
/* The reliability c in {0,1} of the backward flow `back` (frame i -> i-1)
 * given the forward one `fwd` (i-1 -> i), Ruder et al. eq. (5)-(6): 0 where
 * the round trip disagrees (occlusion: |w~ + back|^2 > 0.01 (|w~|^2 +
 * |back|^2) + 0.5 with w~(x) = fwd(x + back(x)), bilinear), at motion
 * boundaries (|grad u|^2 + |grad v|^2 > 0.01 |back|^2 + 0.002, central
 * differences, one-sided at the edges) and where x + back(x) is outside
 * frame i-1; else 1. mask: back.w x back.h floats. */
void cs_flow_reliability(const cs_flow *back, const cs_flow *fwd, float *mask);
/* sum(mask |a - b|) / (3 sum(mask)) over the three channels (a, b and mask
 * the same size); 0 when the mask is empty. mask NULL: all ones. */
double cs_flicker(const cs_image *a, const cs_image *b, const float *mask);

#endif
