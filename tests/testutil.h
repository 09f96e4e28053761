/* Tiny test helpers: CHECK counts failures, SKIP exits 77 (meson: skipped). */
#ifndef CS_TESTUTIL_H
#define CS_TESTUTIL_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "env.h"
#include "factory.h"

static int tu_failures;

#define CHECK(cond, ...) do { \
    if (!(cond)) { tu_failures++; fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
                   fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_OK(expr) do { clstyle_status st_ = (expr); \
    CHECK(st_ == CLSTYLE_OK, "%s -> %s: %s", #expr, clstyle_status_str(st_), clstyle_last_error()); } while (0)
#define SKIP(...) do { fprintf(stderr, "SKIP: "); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(77); } while (0)

static inline int tu_done(const char *name)
{
    if (tu_failures) fprintf(stderr, "%s: %d check(s) failed\n", name, tu_failures);
    else fprintf(stderr, "%s: all checks passed\n", name);
    return tu_failures ? 1 : 0;
}

/* Relative difference with an absolute floor near zero. */
static inline double tu_reldiff(double a, double b, double floor)
{
    return fabs(a - b) / fmax(fmax(fabs(a), fabs(b)), floor);
}

/* Normalized mean squared error sum (a-b)^2 / sum b^2 (ggml's NMSE). */
static inline double tu_nmse(const float *a, const float *b, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? num / den : num;
}

/* The backend a test names ("reference" or "opencl"), configured like the
 * program (CLSTYLE_* environment); exits 77 when there is no OpenCL device. */
static inline cs_backend *tu_backend(const char *name)
{
    cs_backend_params p;
    cs_backend *be = NULL;
    cs_backend_params_from_env(&p);
    clstyle_status st = cs_backend_create(name, &p, &be);
    if (st == CLSTYLE_ERR_DEVICE) SKIP("no OpenCL device: %s", clstyle_last_error());
    if (st != CLSTYLE_OK) {
        fprintf(stderr, "FAIL: cannot create the %s backend: %s\n", name, clstyle_last_error());
        exit(1);
    }
    return be;
}

static inline const char *tu_weights_or_skip(void)
{
    const char *w = getenv("CLSTYLE_WEIGHTS");
    if (!w || !*w) SKIP("CLSTYLE_WEIGHTS is not set (point it at ../shared/weights/vgg19-conv.safetensors)");
    FILE *f = fopen(w, "rb");
    if (!f) SKIP("CLSTYLE_WEIGHTS=%s cannot be opened", w);
    fclose(f);
    return w;
}
#endif
