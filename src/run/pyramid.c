#include "pyramid.h"

#include <math.h>
#include <string.h>

#include "error.h"
#include "rng.h"

int cs_pyramid_style_size(int size, double style_scale)
{
    int want = (int)lround(size * style_scale);
    return want < 16 ? 16 : want;
}

int cs_pyramid_plan(int size, int iterations, int *sizes, int *counts, int max)
{
    int n = 1;
    while (size > CS_PYRAMID_FROM && n < max && (int)lround(size / (double)(1 << n)) >= CS_PYRAMID_FIRST) n++;
    long half = ((long)iterations + 1) / 2;
    for (int k = 0; k < n; k++) {
        int up = n - 1 - k; /* scales above this one */
        sizes[k] = (int)lround(size / (double)(1 << up));
        long c = up < 2 ? half : half << (up - 1);
        counts[k] = n == 1 ? iterations : (int)(c < 2L * iterations ? c : 2L * iterations);
    }
    return n;
}

double cs_pyramid_content_weight(double alpha, int scale, int size) { return alpha * size / scale; }

clstyle_status cs_pyramid_fit(const cs_image *src, int longer, cs_image *out)
{
    int w, h;
    cs_image_fit(src->w, src->h, longer, &w, &h);
    return cs_image_resize(src, w, h, out);
}

clstyle_status cs_pyramid_init(const cs_image *content, int init_kind, const cs_image *init, unsigned long seed, cs_image *out)
{
    int w = content->w, h = content->h;
    if (init_kind == CLSTYLE_INIT_IMAGE) return cs_image_resize(init, w, h, out);
    CS_TRY(cs_image_alloc(w, h, out));
    if (init_kind == CLSTYLE_INIT_CONTENT) {
        memcpy(out->p, content->p, (size_t)3 * w * h * sizeof(float));
        return CLSTYLE_OK;
    }
    cs_rng r;
    cs_rng_seed(&r, seed);
    for (size_t i = 0; i < (size_t)3 * w * h; i++) out->p[i] = cs_rng_uniform(&r);
    return CLSTYLE_OK;
}

clstyle_status cs_pyramid_enlarge(const cs_image *prev, const cs_image *content, int add_detail, cs_image *out)
{
    cs_image small, blurred;
    CS_TRY(cs_image_resize(prev, content->w, content->h, out));
    if (!add_detail) return CLSTYLE_OK;
    CS_TRY(cs_image_resize(content, prev->w, prev->h, &small));
    clstyle_status st = cs_image_resize(&small, content->w, content->h, &blurred);
    cs_image_free(&small);
    CS_TRY(st);
    for (size_t i = 0; i < (size_t)3 * content->w * content->h; i++) out->p[i] += content->p[i] - blurred.p[i];
    cs_image_free(&blurred);
    return CLSTYLE_OK;
}

int cs_pyramid_halvings(int first, int size)
{
    for (int k = 1; k <= 6; k++)
        if (size >> k == first) return k;
    return 0;
}
