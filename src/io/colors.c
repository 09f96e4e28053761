#include "colors.h"

#include <math.h>

void cs_colors_luminance(cs_image *im)
{
    size_t hw = (size_t)im->w * im->h;
    float *p = im->p;
    for (size_t i = 0; i < hw; i++) p[i] = p[hw + i] = p[2 * hw + i] = 0.299f * p[i] + 0.587f * p[hw + i] + 0.114f * p[2 * hw + i];
}

/* Mean (3) and covariance (3x3) of the pixels of im. */
static void moments(const cs_image *im, double mean[3], double cov[9])
{
    size_t hw = (size_t)im->w * im->h;
    for (int a = 0; a < 3; a++) {
        mean[a] = 0;
        for (size_t i = 0; i < hw; i++) mean[a] += im->p[a * hw + i];
        mean[a] /= (double)hw;
    }
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) {
            double s = 0;
            for (size_t i = 0; i < hw; i++) s += (im->p[a * hw + i] - mean[a]) * (im->p[b * hw + i] - mean[b]);
            cov[a * 3 + b] = s / (double)hw;
        }
}

void cs_colors_match_luminance(cs_image *style, const cs_image *content)
{
    double ms[3], cs[9], mc[3], cc[9];
    moments(style, ms, cs);
    moments(content, mc, cc);
    double k = sqrt(cc[0] / fmax(cs[0], 1e-10));
    size_t n = (size_t)3 * style->w * style->h;
    for (size_t i = 0; i < n; i++) style->p[i] = cs_image_clamp01((float)(k * (style->p[i] - ms[0]) + mc[0]));
}

/* Eigen decomposition of a symmetric 3x3 matrix by Jacobi rotations: a = v diag(e) v^T (v's columns). */
static void eigen3(const double a_in[9], double e[3], double v[9])
{
    double a[9];
    for (int i = 0; i < 9; i++) a[i] = a_in[i], v[i] = i % 4 == 0;
    for (int sweep = 0; sweep < 50; sweep++) {
        double off = fabs(a[1]) + fabs(a[2]) + fabs(a[5]);
        if (off < 1e-15) break;
        for (int p = 0; p < 2; p++)
            for (int q = p + 1; q < 3; q++) {
                double apq = a[p * 3 + q];
                if (fabs(apq) < 1e-300) continue;
                double theta = (a[q * 3 + q] - a[p * 3 + p]) / (2 * apq);
                double t = (theta >= 0 ? 1 : -1) / (fabs(theta) + sqrt(theta * theta + 1)), c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < 3; k++) { /* a = J^T a J */
                    double akp = a[k * 3 + p], akq = a[k * 3 + q];
                    a[k * 3 + p] = c * akp - s * akq;
                    a[k * 3 + q] = s * akp + c * akq;
                }
                for (int k = 0; k < 3; k++) {
                    double apk = a[p * 3 + k], aqk = a[q * 3 + k];
                    a[p * 3 + k] = c * apk - s * aqk;
                    a[q * 3 + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < 3; k++) {
                    double vkp = v[k * 3 + p], vkq = v[k * 3 + q];
                    v[k * 3 + p] = c * vkp - s * vkq;
                    v[k * 3 + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < 3; i++) e[i] = a[i * 4];
}

/* m^power for symmetric positive semi-definite m (eigenvalues floored: a flat image has a singular covariance). */
static void sym_power(const double m[9], double power, double out[9])
{
    double e[3], v[9];
    eigen3(m, e, v);
    for (int i = 0; i < 3; i++) e[i] = pow(fmax(e[i], 1e-5), power);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++) out[a * 3 + b] = v[a * 3] * e[0] * v[b * 3] + v[a * 3 + 1] * e[1] * v[b * 3 + 1] + v[a * 3 + 2] * e[2] * v[b * 3 + 2];
}

void cs_colors_match_histogram(cs_image *style, const cs_image *content)
{
    double ms[3], cs[9], mc[3], cc[9], half_c[9], inv_half_s[9], a[9];
    moments(style, ms, cs);
    moments(content, mc, cc);
    sym_power(cc, 0.5, half_c);
    sym_power(cs, -0.5, inv_half_s);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) a[i * 3 + j] = half_c[i * 3] * inv_half_s[j] + half_c[i * 3 + 1] * inv_half_s[3 + j] + half_c[i * 3 + 2] * inv_half_s[6 + j];
    size_t hw = (size_t)style->w * style->h;
    for (size_t i = 0; i < hw; i++) {
        double x[3] = { style->p[i] - ms[0], style->p[hw + i] - ms[1], style->p[2 * hw + i] - ms[2] };
        for (int c = 0; c < 3; c++)
            style->p[c * hw + i] = cs_image_clamp01((float)(a[c * 3] * x[0] + a[c * 3 + 1] * x[1] + a[c * 3 + 2] * x[2] + mc[c]));
    }
}
