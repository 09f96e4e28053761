/* 2x2 stride-2 pooling; the odd last row/column is dropped (torchvision).
 * A plane (h*w) stays below 2^31; channels times a plane may not. */

/* The gradient of one 2x2 block (row i, column j of the blocks): the window's
 * gradient to its first maximum (same tie rule as the reference), or a
 * quarter to each for avg; blocks cut by an odd last row/column get zeros.
 * relu: each also through the ReLU whose output x is (zero where x is not
 * above zero), as relu_bwd would do after it. */
inline void pool_block(__global const float *x, __global const float *dy, __global float *dx, int ch, int h, int w, int avg,
                       int relu, int i, int j)
{
    int oh = h / 2, ow = w / 2;
    size_t o = ((size_t)ch * h + 2 * i) * w + 2 * j;
    __global float *d = dx + o;
    if (i >= oh || j >= ow) { /* the dropped row or column: whatever part of the block exists */
        d[0] = 0.0f;
        if (2 * j + 1 < w) d[1] = 0.0f;
        if (2 * i + 1 < h) {
            d[w] = 0.0f;
            if (2 * j + 1 < w) d[w + 1] = 0.0f;
        }
        return;
    }
    float g = dy[((size_t)ch * oh + i) * ow + j];
    if (avg && !relu) {
        g *= 0.25f;
        d[0] = d[1] = d[w] = d[w + 1] = g;
        return;
    }
    __global const float *t = x + o;
    float a = t[0], b = t[1], e = t[w], f = t[w + 1];
    if (avg) { /* and relu */
        g *= 0.25f;
        d[0] = a > 0.0f ? g : 0.0f;
        d[1] = b > 0.0f ? g : 0.0f;
        d[w] = e > 0.0f ? g : 0.0f;
        d[w + 1] = f > 0.0f ? g : 0.0f;
        return;
    }
    int best = 0;
    float bv = a;
    if (b > bv) { bv = b; best = 1; }
    if (e > bv) { bv = e; best = 2; }
    if (f > bv) { bv = f; best = 3; }
    if (relu && !(bv > 0.0f)) g = 0.0f;
    d[0] = best == 0 ? g : 0.0f;
    d[1] = best == 1 ? g : 0.0f;
    d[w] = best == 2 ? g : 0.0f;
    d[w + 1] = best == 3 ? g : 0.0f;
}

/* Two rows of 32 pixels from the even (p) and odd (q) columns. */
inline void interleave(float16 p, float16 q, __global float *out)
{
#ifndef CS_OCLGRIND
#define PAIR(k) p.s##k, q.s##k
    vstore16((float16)(PAIR(0), PAIR(1), PAIR(2), PAIR(3), PAIR(4), PAIR(5), PAIR(6), PAIR(7)), 0, out);
    vstore16((float16)(PAIR(8), PAIR(9), PAIR(a), PAIR(b), PAIR(c), PAIR(d), PAIR(e), PAIR(f)), 1, out);
#undef PAIR
#else
    /* through private rows: Oclgrind 21.10 and vectors built from lanes (winograd.cl) */
    float ps[16], qs[16], r[32];
    vstore16(p, 0, ps);
    vstore16(q, 0, qs);
    for (int k = 0; k < 16; k++) {
        r[2 * k] = ps[k];
        r[2 * k + 1] = qs[k];
    }
    vstore16(vload16(0, r), 0, out);
    vstore16(vload16(1, r), 1, out);
#endif
}

/* The even (p) and odd (q) columns of 32 pixels. */
inline void deinterleave(__global const float *in, float16 *p, float16 *q)
{
#ifndef CS_OCLGRIND
    float16 lo = vload16(0, in), hi = vload16(1, in);
    *p = (float16)(lo.even, hi.even);
    *q = (float16)(lo.odd, hi.odd);
#else
    float ps[16], qs[16];
    for (int k = 0; k < 16; k++) {
        ps[k] = in[2 * k];
        qs[k] = in[2 * k + 1];
    }
    *p = vload16(0, ps);
    *q = vload16(0, qs);
#endif
}

/* One output of the 2x2 window whose top left is t. */
inline float pool_one(__global const float *t, int w, int avg)
{
    float a = t[0], b = t[1], d = t[w], e = t[w + 1];
    return avg ? 0.25f * (a + b + d + e) : fmax(fmax(a, b), fmax(d, e));
}

/* Sixteen outputs of a row per work-item (global: ceil((w/2) / 16), h/2, c),
 * as vectors where all sixteen are whole: one output per work-item, with
 * stride-2 loads and a division, ran at ~7 GB/s on PoCL. */
__kernel void pool2x2(__global const float *x, __global float *y, int c, int h, int w, int avg)
{
    int j0 = get_global_id(0) * 16, i = get_global_id(1), ch = get_global_id(2), oh = h / 2, ow = w / 2;
    if (j0 >= ow || i >= oh) return;
    __global const float *t = x + ((size_t)ch * h + 2 * i) * w + 2 * j0;
    __global float *o = y + ((size_t)ch * oh + i) * ow + j0;
    if (j0 + 16 > ow) {
        for (int j = 0; j < ow - j0; j++) o[j] = pool_one(t + 2 * j, w, avg);
        return;
    }
    float16 a, b, d, e;
    deinterleave(t, &a, &b);
    deinterleave(t + w, &d, &e);
    vstore16(avg ? 0.25f * (a + b + d + e) : fmax(fmax(a, b), fmax(d, e)), 0, o);
}

/* Sixteen 2x2 blocks of a row of blocks per work-item (global: ceil(ceil(w/2)
 * / 16), ceil(h/2), c), as vectors where all sixteen are whole: each block
 * writes its four dx, so no atomics; the scalar version (one block per
 * work-item, stride-2 accesses) ran at ~7 GB/s on PoCL. */
__kernel void pool2x2_bwd(__global const float *x, __global const float *dy, __global float *dx, int c, int h, int w, int avg,
                          int relu)
{
    int j0 = get_global_id(0) * 16, i = get_global_id(1), ch = get_global_id(2), nb = (w + 1) / 2;
    int oh = h / 2, ow = w / 2;
    if (j0 >= nb || i >= (h + 1) / 2) return;
    if (i >= oh || j0 + 16 > ow) {
        for (int j = j0; j < j0 + 16 && j < nb; j++) pool_block(x, dy, dx, ch, h, w, avg, relu, i, j);
        return;
    }
    size_t o = ((size_t)ch * h + 2 * i) * w + 2 * j0;
    float16 g = vload16(0, dy + ((size_t)ch * oh + i) * ow + j0), z = (float16)(0.0f);
    if (avg && !relu) { /* x is not read */
        g *= 0.25f;
        interleave(g, g, dx + o);
        interleave(g, g, dx + o + w);
        return;
    }
    float16 a, b, e, f;
    deinterleave(x + o, &a, &b);
    deinterleave(x + o + w, &e, &f);
    if (avg) {
        g *= 0.25f;
        interleave(select(z, g, isgreater(a, z)), select(z, g, isgreater(b, z)), dx + o);
        interleave(select(z, g, isgreater(e, z)), select(z, g, isgreater(f, z)), dx + o + w);
        return;
    }
    int16 m1 = isgreater(b, a);
    float16 bv = select(a, b, m1);
    int16 m2 = isgreater(e, bv);
    bv = select(bv, e, m2);
    int16 m3 = isgreater(f, bv), zero = (int16)(0);
    if (relu) g = select(z, g, isgreater(select(bv, f, m3), z)); /* the maximum is the only one that can pass */
    interleave(select(z, g, (m1 | m2 | m3) == zero), select(z, g, m1 & ~m2 & ~m3), dx + o);
    interleave(select(z, g, m2 & ~m3), select(z, g, m3), dx + o + w);
}
