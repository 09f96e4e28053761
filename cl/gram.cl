/* Gram matrices and their gradient for CPU devices, where CLBlast's SGEMM
 * reaches ~8-30 GFLOP/s on PoCL. Both are vectorized over 16 consecutive
 * pixels (one float16, which CPU compilers map onto SIMD registers). */

/* One GB x GB block of G = F F^T over the k-chunk [k0, k0 + kc) of F (c, m):
 * parts[chunk][r][s] for the block rows r and columns s. Only blocks on or
 * above the diagonal are computed (G is symmetric); gram_sum mirrors them.
 * Rows past c are clamped (computed, never stored). */
#define GB 4
__kernel void gram_blocks(__global const float *f, __global float *parts, int c, int m, int kc)
{
    int br = get_global_id(0), bs = get_global_id(1), chunk = get_global_id(2);
    if (bs < br || bs * GB >= c) return; /* below the diagonal, or past c (the launch rounds up) */
    int k0 = chunk * kc, k1 = min(k0 + kc, m);
    __global const float *a[GB], *b[GB];
    for (int i = 0; i < GB; i++) {
        a[i] = f + (size_t)min(br * GB + i, c - 1) * m;
        b[i] = f + (size_t)min(bs * GB + i, c - 1) * m;
    }
    float16 acc[GB][GB];
    for (int i = 0; i < GB; i++)
        for (int j = 0; j < GB; j++) acc[i][j] = (float16)(0.0f);
    int k = k0;
    for (; k + 16 <= k1; k += 16) {
        float16 va[GB], vb[GB];
#pragma unroll
        for (int i = 0; i < GB; i++) { va[i] = vload16(0, a[i] + k); vb[i] = vload16(0, b[i] + k); }
#pragma unroll
        for (int i = 0; i < GB; i++)
#pragma unroll
            for (int j = 0; j < GB; j++) acc[i][j] = fma(va[i], vb[j], acc[i][j]);
    }
    float s[GB][GB];
    for (int i = 0; i < GB; i++)
        for (int j = 0; j < GB; j++) {
            float16 v = acc[i][j];
            float8 h8 = v.lo + v.hi;
            float4 h4 = h8.lo + h8.hi;
            /* h4.x + h4.y + h4.z + h4.w, in that order, through a private row
             * and a loop that stays a loop: written as lanes, LLVM turns the sum
             * into shuffles with undef lanes, on which Oclgrind 21.10's
             * uninitialized-value checker crashes. Once per work-item: no cost. */
            float q[4], t = 0.0f;
            vstore4(h4, 0, q);
#pragma nounroll
            for (int l = 0; l < 4; l++) t += q[l];
            s[i][j] = t;
        }
    for (; k < k1; k++)
        for (int i = 0; i < GB; i++)
            for (int j = 0; j < GB; j++) s[i][j] = fma(a[i][k], b[j][k], s[i][j]);
    __global float *p = parts + (size_t)chunk * c * c;
    for (int i = 0; i < GB && br * GB + i < c; i++)
        for (int j = 0; j < GB && bs * GB + j < c; j++) p[(size_t)(br * GB + i) * c + bs * GB + j] = s[i][j];
}

/* g[r][s] = alpha * sum over chunks of the upper-triangle partial sums. */
__kernel void gram_sum(__global const float *parts, __global float *g, int c, int chunks, float alpha)
{
    int gid = get_global_id(0);
    if (gid >= c * c) return;
    int r = gid / c, s = gid - r * c;
    int lo = min(r, s), hi = max(r, s);
    /* Blocks below the diagonal were skipped, so mirror through the block of (lo, hi). */
    size_t o = (size_t)lo * c + hi;
    float t = 0.0f;
    for (int k = 0; k < chunks; k++) t += parts[(size_t)k * c * c + o];
    g[gid] = alpha * t;
}

/* df (c, m) += alpha dg f for symmetric dg (c, c): each work-item computes 16
 * pixels of RB rows; dg[k][r0 .. r0+RB) is row r0..r0+RB's column k. The
 * rows are clamped only in a last partial block, so that elsewhere each
 * product takes its scalar at a constant offset (an FMA with a broadcast
 * operand on AVX-512) instead of an index reloaded from the stack. */
#define RB 16
inline float16 bwd_load(__global const float *fk, int p, int m, int full)
{
    if (full) return vload16(0, fk);
    float tmp[16];
    for (int t = 0; t < 16; t++) tmp[t] = p + t < m ? fk[t] : 0.0f;
    return vload16(0, tmp);
}

__kernel void gram_bwd16(__global const float *dg, __global const float *f, __global float *df, int c, int m, float alpha)
{
    int r0 = get_global_id(0) * RB, p = get_global_id(1) * 16;
    if (p >= m) return; /* the launch rounds up */
    float16 acc[RB];
    for (int r = 0; r < RB; r++) acc[r] = (float16)(0.0f);
    int full = p + 16 <= m;
    __global const float *fk = f + p;
    if (r0 + RB <= c) {
        for (int k = 0; k < c; k++, fk += m) {
            float16 v = bwd_load(fk, p, m, full);
            __global const float *d = dg + (size_t)k * c + r0;
#pragma unroll
            for (int r = 0; r < RB; r++) acc[r] = fma((float16)(d[r]), v, acc[r]);
        }
    } else {
        for (int k = 0; k < c; k++, fk += m) {
            float16 v = bwd_load(fk, p, m, full);
            __global const float *d = dg + (size_t)k * c;
#pragma unroll
            for (int r = 0; r < RB; r++) acc[r] = fma((float16)(d[min(r0 + r, c - 1)]), v, acc[r]);
        }
    }
    for (int r = 0; r < RB && r0 + r < c; r++) {
        __global float *o = df + (size_t)(r0 + r) * m + p;
        if (full) {
            vstore16(fma((float16)(alpha), acc[r], vload16(0, o)), 0, o);
        } else {
            float tmp[16];
            vstore16(acc[r], 0, tmp);
            for (int t = 0; t < 16 && p + t < m; t++) o[t] += alpha * tmp[t];
        }
    }
}
