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

/* Dot products of the rows of mat (rows, n) with v: a 2-D launch with one
 * row per second index; partial[row * groups + group]. */
__kernel __attribute__((reqd_work_group_size(WG_SIZE, 1, 1)))
void multi_dot(__global const float *mat, __global const float *v, ulong n, __global float *partial)
{
    __local float tmp[WG_SIZE];
    int row = get_global_id(1), groups = get_num_groups(0);
    __global const float *m = mat + (size_t)row * n;
    float s = 0.0f;
    for (size_t i = get_global_id(0); i < n; i += get_global_size(0)) s += m[i] * v[i];
    group_sum(s, tmp, partial + (size_t)row * groups);
}
