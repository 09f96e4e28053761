/* clstyle-bench: ms per L-BFGS iteration, setup time (first run and with the
 * program cache) and peak device memory, per network and size, on one
 * device; optionally the reference backend on the same work as a ratio.
 * Synthetic VGG weights (timing does not depend on the values).
 *
 *   clstyle-bench [--device SPEC] [--arch 16,19] [--sizes 256,512,1024]
 *                 [--iterations N] [--reference] [--reference-iterations N] [--square]
 *                 [--conv auto,gemm,direct] [--profile]
 * --conv runs each size once per convolution algorithm, side by side (auto:
 * the device's measured choice, printed with its times).
 * Sizes are the longer side; images are 4:3 like the examples (--square: 1:1).
 * Each row also gives the effective rate of the direct-convolution work of an
 * iteration (forward and input gradient of every 3x3 convolution, counted
 * as 2 x 9 x Cin x Cout x H x W FLOP each, whatever algorithm runs) and its
 * share of the device's FMA peak (clstyle-peak's kernel, measured first):
 * Winograd and fused passes can take it past 100%.
 * --profile (or CLSTYLE_PROFILE=1) adds where each iteration's device time
 * goes (convolutions, Gram products, element-wise kernels, optimizer) and the
 * GFLOP/s of the convolutions and Gram products; it serializes the queue, so
 * ms/iter is then a little higher. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "env.h"
#include "factory.h"
#include "error.h"
#include "cli.h"
#include "optim.h"
#include "clock.h"
#include "fma_peak.h"
#include "rng.h"

typedef struct {
    double setup_s, ms_per_iter;
    size_t peak;
    double loss0, loss_end;
    double flop;       /* direct-convolution FLOP of an evaluation (forward and input gradient) */
    cs_profile prof;   /* per iteration, when profiling */
} result;

static int square;  /* --square: size x size instead of 4:3 */
static int profile; /* --profile: the per-family breakdown */

/* The direct-convolution work of one evaluation: each 3x3 convolution forward and its input gradient. */
static double conv_flop(const cs_acts *a, const cs_weights *w)
{
    double f = 0;
    for (int i = 0; i < a->n; i++) {
        const cs_node *n = &a->nodes[i];
        if (n->type == NODE_CONV) f += 2.0 * 9 * w->cin[n->conv] * n->c * (double)n->h * n->w;
    }
    return 2 * f;
}

static clstyle_status run_one(cs_backend *be, const cs_weights *w, int size, int iters, result *r)
{
    int W = size, H = square ? size : size * 3 / 4;
    size_t n = (size_t)3 * W * H;
    float *c = malloc(n * sizeof *c), *s = malloc(n * sizeof *s);
    cs_rng rng;
    cs_rng_seed(&rng, 1);
    for (size_t i = 0; i < n; i++) { c[i] = cs_rng_uniform(&rng); s[i] = cs_rng_uniform(&rng); }
    cs_options o;
    cs_options_default(&o);
    cs_net net;
    cs_eval L;
    cs_optim *opt = NULL;
    cs_buf *x = NULL, *g = NULL;
    double blend = 1, t0 = cs_now();
    clstyle_status st;
    memset(&L, 0, sizeof L);
    CS_CHECK(cs_net_create(be, w, 0, &net));
    cs_eval_image ci = { c, W, H }, si = { s, W, H };
    CS_CHECK(cs_options_eval_init(&L, &net, &o, ci, &si, &blend, 1));
    CS_CHECK(cs_optim_create(be, CLSTYLE_LBFGS, n, 100, 1.0, &opt));
    CS_CHECK(CS_OP(be, alloc, n, &x));
    CS_CHECK(CS_OP(be, alloc, n, &g));
    CS_CHECK(CS_OP(be, upload, x, 0, c, n));
    CS_CHECK(cs_eval_run(&L, x, g)); /* first evaluation: lazy driver work lands here */
    r->setup_s = cs_now() - t0;
    r->loss0 = L.terms.total;
    r->flop = conv_flop(&L.acts, w);
    /* The OpenCL backend answers (dropping the setup's share); the reference has no profile. */
    int prof = profile && cs_backend_opencl_profile(be, &r->prof) == CLSTYLE_OK;
    double t1 = cs_now();
    for (int i = 0; i < iters; i++) {
        CS_CHECK(cs_optim_step(opt, x, g));
        CS_CHECK(cs_eval_run(&L, x, g));
    }
    r->ms_per_iter = (cs_now() - t1) * 1e3 / iters;
    if (prof) CS_CHECK(cs_backend_opencl_profile(be, &r->prof));
    r->loss_end = L.terms.total;
    r->peak = be->bytes_peak;
done:
    cs_buf_release(be, x);
    cs_buf_release(be, g);
    cs_optim_destroy(opt);
    cs_eval_free(&L);
    cs_net_destroy(&net);
    free(c);
    free(s);
    return st;
}

/* One line under a result: ms per iteration per family, GFLOP/s of the products. */
static void print_profile(const cs_profile *p, int iters)
{
    double n = iters;
    printf("       device ms/iter: conv %.1f (%.0f GFLOP/s), gram %.1f (%.0f GFLOP/s), element-wise %.1f, optimizer %.1f\n",
           p->conv_ms / n, p->conv_ms > 0 ? p->conv_flop / p->conv_ms * 1e-6 : 0, p->gram_ms / n,
           p->gram_ms > 0 ? p->gram_flop / p->gram_ms * 1e-6 : 0, p->eltwise_ms / n, p->optim_ms / n);
}

static int parse_list(const char *s, int *out, int max)
{
    int n = 0;
    for (const char *p = s; *p && n < max;) {
        out[n++] = atoi(p);
        p = strchr(p, ',');
        if (!p) break;
        p++;
    }
    return n;
}


/* Splits a comma-separated list in place. */
static int split_names(char *s, const char **out, int max)
{
    int n = 0;
    for (char *p = strtok(s, ","); p && n < max; p = strtok(NULL, ",")) out[n++] = p;
    return n;
}

int main(int argc, char **argv)
{
    cs_backend_params params;
    cs_backend_params_from_env(&params);
    const char *device = params.device;
    const char *convs[8] = { "auto" };
    int n_conv = 1;
    int archs[4] = { 16, 19 }, n_arch = 2, sizes[8] = { 256, 512, 1024 }, n_sizes = 3, iters = 10, ref = 0, ref_iters = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(a, "--device")) { device = v; i++; }
        else if (!strcmp(a, "--arch")) { n_arch = parse_list(v, archs, 4); i++; }
        else if (!strcmp(a, "--sizes")) { n_sizes = parse_list(v, sizes, 8); i++; }
        else if (!strcmp(a, "--iterations")) { iters = atoi(v); i++; }
        else if (!strcmp(a, "--reference")) ref = 1;
        else if (!strcmp(a, "--square")) square = 1;
        else if (!strcmp(a, "--profile")) profile = 1;
        else if (!strcmp(a, "--conv")) { n_conv = split_names((char *)v, convs, 8); i++; }
        else if (!strcmp(a, "--reference-iterations")) { ref_iters = atoi(v); i++; }
        else {
            fprintf(stderr, "usage: clstyle-bench [--device SPEC] [--arch 16,19] [--sizes 256,512,1024] [--iterations N] "
                            "[--reference] [--reference-iterations N] [--square] [--conv auto,gemm,direct] [--profile]\n");
            return 2;
        }
    }
    if (iters < 1) iters = 1;
    profile |= params.cl.profile;
    params.cl.profile = profile;
    /* Setup cost of a first run: the program compiled from source. */
    params.device = device;
    cs_backend_params uncached = params;
    uncached.cl.cache_dir[0] = 0;
    cs_backend *be = NULL;
    double t0 = cs_now();
    clstyle_status st = cs_backend_create("opencl", &uncached, &be);
    double compile_s = cs_now() - t0;
    if (st != CLSTYLE_OK) {
        fprintf(stderr, "clstyle-bench: %s\n", clstyle_last_error());
        return 1;
    }
    printf("device: %s\n", be->device);
    cs_fma_peak_result peak = { 0 };
    if (cs_fma_peak(device, 100000, &peak) == CLSTYLE_OK) printf("FMA peak: %.0f GFLOP/s (clstyle-peak's kernel)\n", peak.gflops);
    else printf("FMA peak: not measured (%s)\n", clstyle_last_error());
    cs_backend_destroy(be);
    cs_backend_create("opencl", &params, &be); /* fills the cache if it was empty */
    cs_backend_destroy(be);
    t0 = cs_now();
    st = cs_backend_create("opencl", &params, &be);
    double cached_s = cs_now() - t0;
    printf("setup (program build and convolution choice): %.3f s first run, %.3f s from the cache\n%s", compile_s, cached_s,
           be->notes);
    printf("%-6s %-10s %-7s %12s %16s %12s %12s %14s %s\n", "net", "size", "conv", "ms/iter", "conv GFLOP/s", "setup s",
           "peak MiB", "reference", "loss 0 -> end");
    for (int a = 0; a < n_arch && st == CLSTYLE_OK; a++) {
        cs_weights w;
        if ((st = cs_weights_synthetic(archs[a], 42, &w)) != CLSTYLE_OK) break;
        for (int k = 0; k < n_sizes && st == CLSTYLE_OK; k++) {
            result rr = { 0 };
            char shape[32], refcol[32] = "-";
            snprintf(shape, sizeof shape, "%dx%d", sizes[k], square ? sizes[k] : sizes[k] * 3 / 4);
            if (ref) {
                cs_backend *rb;
                if ((st = cs_backend_create("reference", NULL, &rb)) != CLSTYLE_OK || (st = run_one(rb, &w, sizes[k], ref_iters, &rr)) != CLSTYLE_OK) break;
                cs_backend_destroy(rb);
            }
            for (int v = 0; v < n_conv && st == CLSTYLE_OK; v++) {
                result r = { 0 };
                /* A fresh backend per run, so the peak is this run's alone (scratch buffers included). */
                cs_backend_destroy(be);
                params.cl.conv = convs[v];
                if ((st = cs_backend_create("opencl", &params, &be)) != CLSTYLE_OK) break;
                if ((st = run_one(be, &w, sizes[k], iters, &r)) != CLSTYLE_OK) break;
                if (ref) snprintf(refcol, sizeof refcol, "%.0f ms (%.1fx)", rr.ms_per_iter, rr.ms_per_iter / r.ms_per_iter);
                char rate[32];
                double gflops = r.flop / r.ms_per_iter * 1e-6;
                if (peak.gflops > 0) snprintf(rate, sizeof rate, "%.0f (%.0f%%)", gflops, 100 * gflops / peak.gflops);
                else snprintf(rate, sizeof rate, "%.0f", gflops);
                printf("vgg%-3d %-10s %-7s %12.1f %16s %12.2f %12.0f %14s %.7g -> %.4g", archs[a], shape, convs[v], r.ms_per_iter,
                       rate, r.setup_s, r.peak / 1048576.0, refcol, r.loss0, r.loss_end);
                if (ref) printf("  (reference loss 0 %.7g, rel. %.1e)", rr.loss0, fabs(r.loss0 - rr.loss0) / rr.loss0);
                printf("\n");
                if (profile) print_profile(&r.prof, iters);
                fflush(stdout);
            }
        }
        cs_weights_free(&w);
    }
    cs_backend_destroy(be);
    if (st != CLSTYLE_OK) {
        fprintf(stderr, "clstyle-bench: %s\n", clstyle_last_error());
        return 1;
    }
    return 0;
}
