/* Element-wise operations: activations, preprocessing, optimizer vectors.
 * Lengths and indices are 64-bit: a feature map may hold more than 2^31 floats. */

__kernel void bias_relu(__global float *y, __global const float *bias, int has_bias, ulong hw, int relu, ulong n)
{
    size_t i = get_global_id(0);
    if (i >= n) return;
    float v = y[i] + (has_bias ? bias[i / hw] : 0.0f);
    y[i] = relu && v < 0.0f ? 0.0f : v;
}

__kernel void relu_bwd(__global const float *y, __global float *dy, ulong n)
{
    size_t i = get_global_id(0);
    if (i < n && !(y[i] > 0.0f)) dy[i] = 0.0f;
}

/* y = x * s[c] + o[c] for 3 channels (scalars passed by value: no buffer needed). */
__kernel void affine3(__global const float *x, __global float *y, ulong hw, float s0, float s1, float s2,
                      float o0, float o1, float o2, ulong n)
{
    size_t i = get_global_id(0);
    if (i >= n) return;
    size_t c = i / hw;
    float s = c == 0 ? s0 : c == 1 ? s1 : s2, o = c == 0 ? o0 : c == 1 ? o1 : o2;
    y[i] = x[i] * s + o;
}

/* y = x * m[position] (or y += when add): a mask broadcast over the channels. */
__kernel void mask_mul(__global const float *x, __global const float *m, __global float *y, ulong hw, int add, ulong n)
{
    size_t i = get_global_id(0);
    if (i >= n) return;
    float v = x[i] * m[i % hw];
    y[i] = add ? y[i] + v : v;
}

__kernel void axpy(float a, __global const float *x, __global float *y, ulong n)
{
    size_t i = get_global_id(0);
    if (i < n) y[i] += a * x[i];
}

__kernel void scale(float a, __global float *x, ulong n)
{
    size_t i = get_global_id(0);
    if (i < n) x[i] *= a;
}

/* Keeps the picture within what an image file holds (projected L-BFGS). */
__kernel void clamp_range(__global float *x, float lo, float hi, ulong n)
{
    size_t i = get_global_id(0);
    if (i < n) x[i] = fmin(fmax(x[i], lo), hi);
}

__kernel void bound_mask(__global float *v, __global const float *x, __global const float *g, float lo, float hi, ulong n)
{
    size_t i = get_global_id(0);
    if (i < n && ((x[i] <= lo && g[i] > 0) || (x[i] >= hi && g[i] < 0))) v[i] = 0;
}

__kernel void fill(__global float *x, float v, ulong n)
{
    size_t i = get_global_id(0);
    if (i < n) x[i] = v;
}

/* out = sum over r of coef[r] mat[r,:]: the L-BFGS direction from its basis. */
__kernel void combine(__global const float *mat, int rows, __global const float *coef, __global float *out, ulong n)
{
    size_t i = get_global_id(0);
    if (i >= n) return;
    float s = 0.0f;
    for (int r = 0; r < rows; r++) s += coef[r] * mat[(size_t)r * n + i];
    out[i] = s;
}

/* A window of a (c,H,W) buffer against a contiguous (c,h,w) one, global
 * (w, h, c): add = 0 copies the window out (crop), add = 1 adds into it
 * (paste_add). 64-bit offsets: the big buffer may hold more than 2^31
 * floats. Global (w, h, c) rather than one index split by divisions: 64-bit
 * divisions per element made the crops cost ~6% of a 1024 px
 * evaluation in bands on PoCL. */
__kernel void window(__global float *big, __global float *small, ulong H, ulong W, ulong y0, ulong x0, ulong h, ulong w, int add)
{
    size_t x = get_global_id(0), y = get_global_id(1), ch = get_global_id(2);
    size_t i = (ch * h + y) * w + x, k = (ch * H + y0 + y) * W + x0 + x;
    if (add) big[k] += small[i];
    else small[i] = big[k];
}
