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
/* The flow from a to b (same size): a(x) ~ b(x + f(x)). quality: 0 fast,
 * 1 medium (default), 2 fine (DIS presets ULTRAFAST, FAST, MEDIUM). */
clstyle_status cs_flow_compute(const cs_image *a, const cs_image *b, int quality, cs_flow *out);
clstyle_status cs_flow_alloc(int w, int h, cs_flow *f);
void cs_flow_free(cs_flow *f);
/* out(x) = src(x + f(x)), bilinear, coordinates clamped to the picture;
 * out is allocated at f's size (src the same size). */
clstyle_status cs_flow_warp(const cs_image *src, const cs_flow *f, cs_image *out);
/* The reliability c in {0,1} of the backward flow `back` (frame i -> i-1)
 * given the forward one `fwd` (i-1 -> i), Ruder et al. eq. (5)-(6): 0 where
 * the round trip disagrees (occlusion) or at motion boundaries, else 1.
 * mask: back.w x back.h floats. */
void cs_flow_reliability(const cs_flow *back, const cs_flow *fwd, float *mask);
/* sum(mask |a - b|) / (3 sum(mask)) over the three channels; 0 when the mask is empty. */
double cs_flicker(const cs_image *a, const cs_image *b, const float *mask);

#endif
