/* Direct 3x3 convolution for CPU devices, on weights prepared once per
 * weight buffer (conv_wprep) so that the COB weights of one input channel
 * and tap are contiguous: the FMAs then take their weight as a broadcast
 * from a constant offset. Each work-item computes 16 consecutive pixels of
 * one row (one float16, mapped onto SIMD registers) for COB output channels;
 * the zero border is folded into the loads (no padded copy of the input). */
#ifndef COB
#define COB 16
#endif

/* wp (nb, n_in, 9, cob), nb = ceil(n_out / cob): wp[b][c][t][k] is the weight
 * from input channel c to output channel b*cob + k at tap t (0 past n_out).
 * flip: wt is a forward weight (n_in, n_out, 3, 3) and this is the gradient
 * to its input (transposed, taps flipped); else wt is (n_out, n_in, 3, 3). */
__kernel void conv_wprep(__global const float *wt, __global float *wp, int n_in, int n_out, int flip, int cob)
{
    int gid = get_global_id(0), nb = (n_out + cob - 1) / cob;
    if (gid >= nb * n_in * 9 * cob) return;
    /* Quotients and remainders by subtraction: a div/rem pair becomes an LLVM
     * freeze, which Oclgrind's uninitialized-value checker cannot run. */
    int q = gid / cob, k = gid - q * cob, q2 = q / 9, t = q - q2 * 9, b = q2 / n_in, c = q2 - b * n_in, o = b * cob + k;
    float v = 0.0f;
    if (o < n_out) v = flip ? wt[((size_t)c * n_out + o) * 9 + 8 - t] : wt[((size_t)o * n_in + c) * 9 + t];
    wp[gid] = v;
}

/* The forward convolution's epilogue as it stores output channel o: epi & 1
 * adds bias[o], epi & 2 applies the ReLU (saves a pass over the output). */
inline float16 epilogue(float16 v, __global const float *bias, int o, int epi)
{
    if (epi & 1) v += bias[o];
    return epi & 2 ? fmax(v, 0.0f) : v;
}

/* Pixels j-1 .. j+16 of an input row as three shifted vectors: one vector
 * load, the two neighbours (zero outside [0, w)) shifted in. tail: the row
 * ends inside this vector (w not a multiple of 16), so load what is there. */
inline void row3(__global const float *row, int j, int w, const int tail, float16 *l, float16 *m, float16 *r)
{
    float16 v;
    if (!tail) {
        v = vload16(0, row + j);
    } else {
        float t[16];
        for (int k = 0; k < 16; k++) t[k] = j + k < w ? row[j + k] : 0.0f;
        v = vload16(0, t);
    }
    float a = j > 0 ? row[j - 1] : 0.0f, b = j + 16 < w ? row[j + 16] : 0.0f;
#ifndef CS_OCLGRIND
    *l = (float16)(a, v.s0123, v.s4567, v.s89ab, v.scde);
    *m = v;
    *r = (float16)(v.s1234, v.s5678, v.s9abc, v.sdef, b);
#else
    /* Oclgrind 21.10's uninitialized-value checker crashes on a shufflevector
     * with undef lanes, and clang builds the vectors above from such shuffles;
     * a private row of 18 shifts the same lanes (1.6x slower on PoCL). */
    float s[18];
    s[0] = a;
    vstore16(v, 0, s + 1);
    s[17] = b;
    *l = vload16(0, s);
    *m = v;
    *r = vload16(0, s + 2);
#endif
}

/* acc[k] += the three taps of row ky of the weights w9 (9 x cob) times l, m, r. */
#define TAPS(ky)                                                                          \
    _Pragma("unroll") for (int k = 0; k < cob; k++) {                                     \
        float16 s = fma((float16)(w9[((ky) * 3 + 0) * cob + k]), l, acc[k]);              \
        s = fma((float16)(w9[((ky) * 3 + 1) * cob + k]), m, s);                           \
        acc[k] = fma((float16)(w9[((ky) * 3 + 2) * cob + k]), r, s);                      \
    }

/* The body for cob output channels per work-item (COB, or 4 where there
 * are at most 4: the first layer's input gradient, 64 -> 3, which with 16
 * did 16/3 times its work). tail and cob are constants at each call, so the
 * compiler specializes it (all but the last vector of a row load whole
 * vectors). */
inline void direct_body(__global const float *x, __global const float *wp, __global float *y, int n_in, int n_out, int h, int w,
                        __global const float *bias, int epi, const int tail, const int cob)
{
    int j = get_global_id(0) * 16, i = get_global_id(1), b = get_global_id(2);
    float16 acc[COB];
    for (int k = 0; k < cob; k++) acc[k] = (float16)(0.0f);
    size_t plane = (size_t)h * w;
    for (int c = 0; c < n_in; c++) {
        __global const float *xc = x + c * plane + (size_t)i * w, *w9 = wp + ((size_t)b * n_in + c) * 9 * cob;
        float16 l, m, r;
        if (i > 0) {
            row3(xc - w, j, w, tail, &l, &m, &r);
            TAPS(0)
        }
        row3(xc, j, w, tail, &l, &m, &r);
        TAPS(1)
        if (i + 1 < h) {
            row3(xc + w, j, w, tail, &l, &m, &r);
            TAPS(2)
        }
    }
    for (int k = 0; k < cob && b * cob + k < n_out; k++) {
        __global float *yo = y + (size_t)(b * cob + k) * plane + (size_t)i * w + j;
        float16 v = epilogue(acc[k], bias, b * cob + k, epi);
        if (j + 16 <= w) {
            vstore16(v, 0, yo);
        } else {
            float t[16];
            vstore16(v, 0, t);
            for (int q = 0; q < w - j; q++) yo[q] = t[q];
        }
    }
}

/* y (n_out, h, w) = conv3x3(x (n_in, h, w)) with prepared weights wp, then
 * the epilogue epi (see epilogue()); global (ceil(w / 16), h, ceil(n_out / COB)). */
__kernel void conv3x3_direct(__global const float *x, __global const float *wp, __global float *y, int n_in, int n_out, int h,
                             int w, __global const float *bias, int epi)
{
    int j = get_global_id(0) * 16;
    if (j + 16 <= w) direct_body(x, wp, y, n_in, n_out, h, w, bias, epi, 0, COB);
    else direct_body(x, wp, y, n_in, n_out, h, w, bias, epi, 1, COB);
}

/* The same with 4 output channels per work-item (weights prepared with cob
 * 4); global (ceil(w / 16), h, ceil(n_out / 4)). */
__kernel void conv3x3_direct4(__global const float *x, __global const float *wp, __global float *y, int n_in, int n_out, int h,
                              int w, __global const float *bias, int epi)
{
    int j = get_global_id(0) * 16;
    if (j + 16 <= w) direct_body(x, wp, y, n_in, n_out, h, w, bias, epi, 0, 4);
    else direct_body(x, wp, y, n_in, n_out, h, w, bias, epi, 1, 4);
}
