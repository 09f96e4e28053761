/* Adam step with bias correction; c1 = 1 - b1^t and c2 = 1 - b2^t come from the host. */
__kernel void adam(__global float *x, __global const float *g, __global float *m, __global float *v, ulong n,
                   float lr, float b1, float b2, float eps, float c1, float c2)
{
    size_t i = get_global_id(0);
    if (i >= n) return;
    float gi = g[i];
    float mi = b1 * m[i] + (1.0f - b1) * gi, vi = b2 * v[i] + (1.0f - b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    x[i] -= lr * (mi / c1) / (sqrt(vi / c2) + eps);
}
