/* Kernels that fail to build turn off their algorithm, not the device: the
 * test hook cs_cl_params.fail_family (CLSTYLE_FAIL_KERNELS) puts an #error
 * into one family's source, which the device's compiler really rejects.
 * - winograd failing: the backend still creates, the choice excludes
 *   every Winograd algorithm (F(2x2) and F(4x4), plain and with direct), a
 *   convolution (forward with bias and ReLU,
 *   backward) still matches the reference, the notes say why, and forcing
 *   an algorithm that needs the family fails with a message naming it;
 * - direct failing: im2col + GEMM everywhere;
 * - gram failing: CLBlast's Gram products;
 * - core failing: no backend, and a message naming it.
 * No OpenCL device: skipped. */
#include <stdint.h>
#include <unistd.h>

#include "cl_be.h"
#include "testutil.h"

static cs_backend_params params;

static clstyle_status create(const char *fail, const char *conv, cs_backend **be)
{
    cs_backend_params p = params;
    p.cl.fail_family = fail;
    p.cl.conv = conv;
    *be = NULL;
    clstyle_status st = cs_backend_create("opencl", &p, be);
    if (st == CLSTYLE_ERR_DEVICE) SKIP("no OpenCL device: %s", clstyle_last_error());
    return st;
}

/* Whether a shape class runs the algorithm called name. */
static int runs(cs_backend *be, int cl, const char *name) { return !strcmp(cl_conv_algos[CB(be)->conv_algo[cl]].name, name); }

static cs_buf *upload(cs_backend *be, const float *data, size_t n)
{
    cs_buf *b = NULL;
    CHECK_OK(CS_OP(be, alloc, n, &b));
    CHECK_OK(CS_OP(be, upload, b, 0, data, n));
    return b;
}

/* One convolution on ci -> co channels at h x w, forward with bias and ReLU
 * and backward, on be and on the reference backend: the NMSE of each. */
static void conv_vs_reference(cs_backend *be, int ci, int co, int h, int w)
{
    cs_backend *bes[2] = { be, NULL };
    CHECK_OK(cs_backend_reference_create(&bes[1]));
    size_t nx = (size_t)ci * h * w, ny = (size_t)co * h * w, nw = (size_t)co * ci * 9, sizes[4] = { nx, nw, (size_t)co, ny };
    float *in[4], *out[2][2];
    uint32_t seed = 99;
    for (int k = 0; k < 4; k++) {
        in[k] = malloc(sizes[k] * sizeof *in[k]);
        for (size_t i = 0; i < sizes[k]; i++) in[k][i] = (float)((seed = seed * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    }
    for (int b = 0; b < 2; b++) {
        cs_buf *x = upload(bes[b], in[0], nx), *wt = upload(bes[b], in[1], nw), *bias = upload(bes[b], in[2], (size_t)co);
        cs_buf *dy = upload(bes[b], in[3], ny), *y = upload(bes[b], in[3], ny), *dx = upload(bes[b], in[0], nx);
        out[b][0] = malloc(ny * sizeof(float));
        out[b][1] = malloc(nx * sizeof(float));
        CHECK_OK(CS_OP(bes[b], conv3x3, x, wt, bias, y, ci, co, h, w, 1));
        CHECK_OK(CS_OP(bes[b], conv3x3_bwd, dy, wt, dx, ci, co, h, w));
        CHECK_OK(CS_OP(bes[b], download, y, 0, out[b][0], ny));
        CHECK_OK(CS_OP(bes[b], download, dx, 0, out[b][1], nx));
        cs_buf *all[] = { x, wt, bias, dy, y, dx };
        for (int k = 0; k < 6; k++) cs_buf_release(bes[b], all[k]);
    }
    double fwd = tu_nmse(out[0][0], out[1][0], ny), bwd = tu_nmse(out[0][1], out[1][1], nx);
    fprintf(stderr, "  conv %d->%d at %dx%d: forward NMSE %.2g, backward %.2g\n", ci, co, w, h, fwd, bwd);
    CHECK(fwd < 1e-9 && bwd < 1e-9, "the convolution differs from the reference: NMSE %.2g forward, %.2g backward", fwd, bwd);
    for (int k = 0; k < 4; k++) free(in[k]);
    for (int b = 0; b < 2; b++) free(out[b][0]), free(out[b][1]);
    cs_backend_destroy(bes[1]);
}

static void winograd_fails(void)
{
    cs_backend *be;
    CHECK_OK(create("winograd", NULL, &be));
    if (!be) return;
    fprintf(stderr, "winograd failing, notes:\n%s", be->notes);
    CHECK(strstr(be->notes, "the winograd kernels failed to build") && strstr(be->notes, "CLSTYLE_FAIL_KERNELS"),
          "the notes say which family failed and why: %s", be->notes);
    for (int cl = 0; cl < CS_CONV_CLASSES; cl++)
        CHECK(!strstr(cl_conv_algos[CB(be)->conv_algo[cl]].name, "winograd"), "class %s runs %s", cl_conv_classes[cl].name,
              cl_conv_algos[CB(be)->conv_algo[cl]].name);
    conv_vs_reference(be, 5, 19, 7, 21);
    conv_vs_reference(be, 128, 256, 6, 9); /* where direct+winograd would use Winograd */
    cs_backend_destroy(be);
    const char *forced[] = { "winograd", "direct+winograd", "winograd4", "direct+winograd4" };
    for (int k = 0; k < 4; k++) {
        clstyle_status st = create("winograd", forced[k], &be);
        const char *msg = clstyle_last_error();
        fprintf(stderr, "forcing %s: %s\n", forced[k], msg);
        CHECK(st != CLSTYLE_OK && !be, "forcing %s without its kernels must fail", forced[k]);
        CHECK(strstr(msg, forced[k]) && strstr(msg, "the winograd kernels failed to build") && !strchr(msg, '\n'),
              "one line naming the family and the failure: %s", msg);
        cs_backend_destroy(be);
    }
}

static void direct_fails(void)
{
    cs_backend *be;
    CHECK_OK(create("direct", NULL, &be));
    if (!be) return;
    for (int cl = 0; cl < CS_CONV_CLASSES; cl++) CHECK(runs(be, cl, "gemm"), "class %s runs %s, not gemm", cl_conv_classes[cl].name,
                                                        cl_conv_algos[CB(be)->conv_algo[cl]].name);
    conv_vs_reference(be, 5, 19, 7, 21);
    cs_backend_destroy(be);
}

static void gram_fails(void)
{
    cs_backend *be;
    CHECK_OK(create("gram", "gemm", &be));
    if (be) CHECK(!CB(be)->gram_own && strstr(be->notes, "the gram kernels failed to build"), "CLBlast's Gram: %s", be->notes);
    cs_backend_destroy(be);
}

static void core_fails(void)
{
    cs_backend *be;
    clstyle_status st = create("core", "gemm", &be);
    fprintf(stderr, "core failing: %s\n", clstyle_last_error());
    CHECK(st != CLSTYLE_OK && !be && strstr(clstyle_last_error(), "the core kernels"), "no backend without the core: %s",
          clstyle_last_error());
    cs_backend_destroy(be);
}

int main(void)
{
    char dir[] = "/tmp/clstyle-families-XXXXXX", cmd[128];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    cs_backend_params_from_env(&params);
    snprintf(params.cl.cache_dir, sizeof params.cl.cache_dir, "%s", dir);
    winograd_fails();
    direct_fails();
    gram_fails();
    core_fails();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "cleanup");
    return tu_done("families");
}
