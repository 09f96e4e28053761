/* Reductions: each work-group writes one partial sum; the host adds the
 * partials in double. Kernels that also produce a gradient do it in the same pass. */
#ifndef WG_SIZE
#define WG_SIZE 256
#endif

/* Sums v over the work-group into partial[group]. */
inline void group_sum(float v, __local float *tmp, __global float *partial)
{
    int l = get_local_id(0);
    tmp[l] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = WG_SIZE / 2; s > 0; s >>= 1) {
        if (l < s) tmp[l] += tmp[l + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) partial[get_group_id(0)] = tmp[0]; /* callers offset partial per row */
}

/* mode 0: sum a*b; 1: sum |a|. */
__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void dot_asum(__global const float *a, __global const float *b, ulong n, int mode, __global float *partial)
{
    __local float tmp[WG_SIZE];
    float s = 0.0f;
    for (size_t i = get_global_id(0); i < n; i += get_global_size(0)) s += mode ? fabs(a[i]) : a[i] * b[i];
    group_sum(s, tmp, partial);
}

/* sum (a-b)^2, and grad += gscale (a-b) when has_grad; partial sums at partial + poff. */
__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void sqdiff(__global const float *a, __global const float *b, ulong n, float gscale, __global float *grad, int has_grad,
            __global float *partial, int poff)
{
    __local float tmp[WG_SIZE];
    float s = 0.0f;
    for (size_t i = get_global_id(0); i < n; i += get_global_size(0)) {
        float d = a[i] - b[i];
        s += d * d;
        if (has_grad) grad[i] += gscale * d;
    }
    group_sum(s, tmp, partial + poff);
}

/* sum m (a-b)^2 with m (plane) broadcast over the channels, and grad += gscale m (a-b) when has_grad. */
__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void masked_sqdiff(__global const float *a, __global const float *b, __global const float *m, ulong plane, ulong n, float gscale,
                   __global float *grad, int has_grad, __global float *partial, int poff)
{
    __local float tmp[WG_SIZE];
    float s = 0.0f;
    for (size_t i = get_global_id(0); i < n; i += get_global_size(0)) {
        float d = a[i] - b[i], md = m[i % plane] * d;
        s += md * d;
        if (has_grad) grad[i] += gscale * md;
    }
    group_sum(s, tmp, partial + poff);
}

/* Total variation of x (c,h,w): each element owns the pairs to its lower and
 * right neighbours for the value, and gathers all four pairs for its gradient. */
__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void tv(__global const float *x, int c, int h, int w, float inv_nv, float inv_nh, float gscale, __global float *grad,
        int has_grad, __global float *partial, int poff)
{
    __local float tmp[WG_SIZE];
    float s = 0.0f;
    size_t n = (size_t)c * h * w;
    for (size_t k = get_global_id(0); k < n; k += get_global_size(0)) {
        int r = (int)(k % ((size_t)h * w)), i = r / w, j = r - (r / w) * w;
        float v = x[k], g = 0.0f;
        if (i + 1 < h) { float d = x[k + w] - v; s += d * d * inv_nv; g -= d * inv_nv; }
        if (i > 0)     { float d = v - x[k - w]; g += d * inv_nv; }
        if (j + 1 < w) { float d = x[k + 1] - v; s += d * d * inv_nh; g -= d * inv_nh; }
        if (j > 0)     { float d = v - x[k - 1]; g += d * inv_nh; }
        if (has_grad) grad[k] += 2.0f * gscale * g;
    }
    group_sum(s, tmp, partial + poff);
}

/* g[i] = alpha * sum over b of parts[b][i]: the split-K Gram partial products. */
__kernel void sum_parts(__global const float *parts, __global float *g, int n, int nparts, float alpha)
{
    int i = get_global_id(0); /* n = c*c <= 512^2 */
    if (i >= n) return;
    float s = 0.0f;
    for (int b = 0; b < nparts; b++) s += parts[(size_t)b * n + i];
    g[i] = alpha * s;
}

/* s += v with the rounding carried in c (Kahan): a work-item sums a block's
 * share of a row, 64 products at 1024 px, and L-BFGS amplifies the rounding
 * of its dots (tests/test_pieces.c's trajectories). */
inline void kahan_add(float *s, float *c, float v)
{
    float y = v - *c, t = *s + y;
    *c = (t - *s) - y;
    *s = t;
}

/* Dot products of the rows of mat (rows, n) with nv <= 3 vectors: one
 * work-group per (row, block) of global (WG_SIZE, rows, blocks), blocks
 * outermost so that a block of the vectors serves every row from cache;
 * partial[(j * rows + row) * blocks + block]. */
__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void multi_dot(__global const float *mat, __global const float *v0, __global const float *v1, __global const float *v2, int nv,
               ulong n, ulong block, __global float *partial)
{
    __local float tmp[WG_SIZE];
    size_t row = get_group_id(1), rows = get_num_groups(1), b = get_group_id(2), blocks = get_num_groups(2);
    size_t lo = b * block, hi = min(lo + block, (size_t)n);
    __global const float *m = mat + row * n;
    float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, c0 = 0.0f, c1 = 0.0f, c2 = 0.0f;
    for (size_t i = lo + get_local_id(0); i < hi; i += WG_SIZE) {
        float a = m[i];
        kahan_add(&s0, &c0, a * v0[i]);
        if (nv > 1) kahan_add(&s1, &c1, a * v1[i]);
        if (nv > 2) kahan_add(&s2, &c2, a * v2[i]);
    }
    group_sum(s0, tmp, partial + row * blocks + b);
    if (nv > 1) group_sum(s1, tmp, partial + (rows + row) * blocks + b);
    if (nv > 2) group_sum(s2, tmp, partial + (2 * rows + row) * blocks + b);
}
