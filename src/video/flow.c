/* The plain-C half of flow.h: storage, warping, reliability and flicker.
 * Computing the flow itself is in flow_dis.cpp (OpenCV) or flow_none.c. */
#include "flow.h"

#include <math.h>
#include <stdlib.h>

#include "error.h"

clstyle_status cs_flow_alloc(int w, int h, cs_flow *f)
{
    f->w = w;
    f->h = h;
    f->u = f->v = NULL;
    if (w < 1 || h < 1) return cs_fail(CLSTYLE_ERR_USAGE, "a flow field of %dx%d pixels is empty", w, h);
    size_t n = (size_t)w * h;
    f->u = malloc(n * sizeof(float));
    f->v = malloc(n * sizeof(float));
    if (!f->u || !f->v) {
        cs_flow_free(f);
        return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory for a %dx%d flow field", w, h);
    }
    return CLSTYLE_OK;
}

void cs_flow_free(cs_flow *f)
{
    free(f->u);
    free(f->v);
    f->u = f->v = NULL;
}

/* Clamped to [0, hi]; NaN goes to 0 (fmaxf returns the number), so a broken
 * flow still reads inside the picture. */
static float clampf(float x, float hi) { return fminf(fmaxf(x, 0.0f), hi); }

/* Bilinear sample of a w x h plane at (x, y), coordinates clamped to the plane. */
static float sample(const float *p, int w, int h, float x, float y)
{
    x = clampf(x, (float)(w - 1));
    y = clampf(y, (float)(h - 1));
    int x0 = (int)x, y0 = (int)y;   /* floor: x, y >= 0 */
    int x1 = x0 + 1 < w ? x0 + 1 : x0, y1 = y0 + 1 < h ? y0 + 1 : y0;
    float fx = x - x0, fy = y - y0;
    const float *r0 = p + (size_t)y0 * w, *r1 = p + (size_t)y1 * w;
    float top = r0[x0] + fx * (r0[x1] - r0[x0]);
    float bottom = r1[x0] + fx * (r1[x1] - r1[x0]);
    return top + fy * (bottom - top);
}

clstyle_status cs_flow_warp(const cs_image *src, const cs_flow *f, cs_image *out)
{
    if (src->w != f->w || src->h != f->h)
        return cs_fail(CLSTYLE_ERR_USAGE, "cannot warp a %dx%d picture along a %dx%d flow", src->w, src->h, f->w, f->h);
    CS_TRY(cs_image_alloc(f->w, f->h, out));
    size_t hw = (size_t)f->w * f->h;
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++) {
            size_t i = (size_t)y * f->w + x;
            float sx = x + f->u[i], sy = y + f->v[i];
            for (int c = 0; c < 3; c++) out->p[c * hw + i] = sample(src->p + c * hw, f->w, f->h, sx, sy);
        }
    return CLSTYLE_OK;
}

/* Derivative of plane p along one axis at index k of n samples spaced by
 * `step`: central inside, one-sided at the two ends. */
static float diff(const float *p, int k, int n, size_t step)
{
    if (n < 2) return 0;
    if (k == 0) return p[step] - p[0];
    if (k == n - 1) return p[0] - p[-(ptrdiff_t)step];
    return 0.5f * (p[step] - p[-(ptrdiff_t)step]);
}

/* Ruder et al. eq. (6): a large gradient of the flow relative to its size. */
static int motion_boundary(const cs_flow *b, int x, int y)
{
    size_t i = (size_t)y * b->w + x, row = (size_t)b->w;
    float ux = diff(b->u + i, x, b->w, 1), uy = diff(b->u + i, y, b->h, row);
    float vx = diff(b->v + i, x, b->w, 1), vy = diff(b->v + i, y, b->h, row);
    float grad2 = ux * ux + uy * uy + vx * vx + vy * vy;
    float mag2 = b->u[i] * b->u[i] + b->v[i] * b->v[i];
    return grad2 > 0.01f * mag2 + 0.002f;
}

/* Ruder et al. eq. (5) plus the frame's edge: whether pixel (x, y) of frame
 * i has a trustworthy source in frame i-1. */
static int consistent(const cs_flow *back, const cs_flow *fwd, int x, int y)
{
    size_t i = (size_t)y * back->w + x;
    float bu = back->u[i], bv = back->v[i];
    float px = x + bu, py = y + bv;
    /* Written so that NaN fails too: a pixel from outside frame i-1 has no past. */
    if (!(px >= 0 && px <= fwd->w - 1 && py >= 0 && py <= fwd->h - 1)) return 0;
    float wu = sample(fwd->u, fwd->w, fwd->h, px, py), wv = sample(fwd->v, fwd->w, fwd->h, px, py);
    float su = wu + bu, sv = wv + bv;
    return su * su + sv * sv <= 0.01f * (wu * wu + wv * wv + bu * bu + bv * bv) + 0.5f;
}

void cs_flow_reliability(const cs_flow *back, const cs_flow *fwd, float *mask)
{
    for (int y = 0; y < back->h; y++)
        for (int x = 0; x < back->w; x++)
            mask[(size_t)y * back->w + x] = consistent(back, fwd, x, y) && !motion_boundary(back, x, y) ? 1.0f : 0.0f;
}

double cs_flicker(const cs_image *a, const cs_image *b, const float *mask)
{
    size_t hw = (size_t)a->w * a->h;
    double num = 0, den = 0;
    for (size_t i = 0; i < hw; i++) {
        double m = mask ? mask[i] : 1.0;
        if (m == 0) continue;
        double d = 0;
        for (int c = 0; c < 3; c++) d += fabs((double)a->p[c * hw + i] - b->p[c * hw + i]);
        num += m * d;
        den += m;
    }
    return den > 0 ? num / (3 * den) : 0;
}
