/* clstyle-bench: ms per L-BFGS iteration, setup time (first run and with the
 * program cache) and peak device memory, per network and size, on one
 * device; optionally the reference backend on the same work as a ratio.
 * Synthetic VGG weights (timing does not depend on the values).
 *
 *   clstyle-bench [--device SPEC] [--arch 16,19] [--sizes 256,512,1024]
 *                 [--iterations N] [--reference] [--reference-iterations N] [--square]
 *                 [--conv auto,gemm,direct] [--profile]
 *                 [--budgets 400,1024,4096 [--layouts bands,pieces] [--evals N]]
 * --conv runs each size once per convolution algorithm, side by side (auto:
 * the device's measured choice, printed with its times).
 * Sizes are the longer side; images are 4:3 like the examples (--square: 1:1).
 * Each row also gives the effective rate of the direct-convolution work of an
 * iteration (forward and input gradient of every 3x3 convolution, counted
 * as 2 x 9 x Cin x Cout x H x W FLOP each, whatever algorithm runs) and its
 * share of the device's FMA peak (clstyle-peak's kernel, measured first):
 * Winograd and fused passes can take it past 100%. ms/iter is the mean over
 * the iterations; "best iteration" is the fastest one and its rate, the
 * estimator the peak itself uses (best of 3), so on a shared, noisy host the
 * two are compared like with like.
 * --profile (or CLSTYLE_PROFILE=1) adds where each iteration's device time
 * goes (convolutions, Gram products, element-wise kernels, optimizer) and the
 * GFLOP/s of the convolutions and Gram products, and prints the timed
 * iterations' per-kernel table on stderr; it serializes the queue, so
 * ms/iter is then a little higher.
 * --budgets plans each size within each device memory budget (MiB) the way
 * clstyle does, once per layout (layer-wise bands, halo pieces; the
 * planner's own choice is whichever it predicts faster), and times one
 * evaluation (ms/eval, the mean of --evals after a first; --evals 0: plan
 * only) beside the whole
 * picture's within the device's own memory: the ratio, the plan, the
 * planner's predicted seconds, device peak and host memory
 * (CLSTYLE_HOST_MEM_MB: plan for a host with that much memory); with
 * --profile, each row's per-kernel table of its timed evaluations, the bands'
 * transfers included (CLSTYLE_RECT_WINDOWS=1: the driver's rectangle copies
 * where the device shares host memory, instead of mapped copies on every core). */
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
#include "plan.h"
#include "clock.h"
#include "fma_peak.h"
#include "rng.h"

typedef struct {
    double setup_s, ms_per_iter, ms_best; /* mean and fastest iteration */
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

/* n uniform random floats (synthetic content and style: timing does not depend on them). */
static float *noise(size_t n, unsigned long seed)
{
    float *p = malloc(n * sizeof *p);
    cs_rng rng;
    cs_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++) p[i] = cs_rng_uniform(&rng);
    return p;
}

static clstyle_status run_one(cs_backend *be, const cs_weights *w, int size, int iters, result *r)
{
    int W = size, H = square ? size : size * 3 / 4;
    size_t n = (size_t)3 * W * H;
    float *c = noise(n, 1), *s = noise(n, 2);
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
    int prof = profile && cs_backend_opencl_profile(be, &r->prof, 0) == CLSTYLE_OK;
    double t1 = cs_now(), ti = t1;
    r->ms_best = INFINITY;
    for (int i = 0; i < iters; i++) {
        CS_CHECK(cs_optim_step(opt, x, g));
        CS_CHECK(cs_eval_run(&L, x, g));
        CS_CHECK(cs_backend_finish(be)); /* the iteration's device work is done before its clock stops */
        double now = cs_now();
        r->ms_best = fmin(r->ms_best, (now - ti) * 1e3);
        ti = now;
    }
    r->ms_per_iter = (cs_now() - t1) * 1e3 / iters;
    if (prof) CS_CHECK(cs_backend_opencl_profile(be, &r->prof, 1));
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

/* One planned evaluation: the plan, ms per evaluation, device peak. */
typedef struct {
    cs_plan plan;
    double ms;
    size_t peak;
} planned;

/* Plans a size x 3/4 picture (synthetic content and style) within budget
 * bytes (0: the device's) to layouts (CS_PLAN_* bits) and times evals
 * evaluations after a first. */
static clstyle_status run_planned(cs_backend *be, const cs_weights *w, int size, size_t budget, unsigned layouts, int evals,
                                  planned *r)
{
    int W = size, H = square ? size : size * 3 / 4;
    size_t n = (size_t)3 * W * H;
    float *c = noise(n, 1), *s = noise(n, 2);
    cs_options o;
    cs_options_default(&o);
    double blend = 1;
    cs_eval_image si = { s, W, H };
    cs_job_spec spec = { .weights = w, .net_last = -1, .optimizer = CLSTYLE_LBFGS, .learning_rate = 1, .history = 100,
                         .line_search = CLSTYLE_LS_BACKTRACK };
    cs_options_loss_spec(&o, &spec.loss);
    spec.input = (cs_eval_input){ .content = { c, W, H }, .styles = &si, .blend = &blend, .n_styles = 1 };
    const char *host_mb = getenv("CLSTYLE_HOST_MEM_MB"); /* plans for a larger (or smaller) host than this one */
    cs_plan_request req = { .limit = budget, .explicit_limit = budget > 0, .levels = CS_LEAN_LEVELS, .iterations = 100,
                            .layouts = layouts, .host_limit = host_mb ? (size_t)(atof(host_mb) * 1048576.0) : 0 };
    cs_state state;
    memset(&state, 0, sizeof state);
    clstyle_status st = cs_plan_job(be, &spec, &req, &r->plan);
    be->bytes_peak = be->bytes_in_use; /* the job's own peak (planning measured the bandwidth with a buffer) */
    if (evals == 0) { /* the plan only */
        free(c);
        free(s);
        return st;
    }
    cs_backend *host = NULL;
    if (st == CLSTYLE_OK) st = cs_backend_reference_create(&host);
    if (st == CLSTYLE_OK) st = cs_state_create(be, host, NULL, &spec, &state);
    if (st == CLSTYLE_OK) st = CS_OP(be, upload, state.x, 0, c, n);
    if (st == CLSTYLE_OK) st = cs_state_evaluate(&state);
    cs_profile prof; /* --profile: the per-kernel table of the timed evaluations alone */
    int profiled = profile && st == CLSTYLE_OK && cs_backend_opencl_profile(be, &prof, 0) == CLSTYLE_OK;
    double t0 = cs_now();
    for (int k = 0; k < evals && st == CLSTYLE_OK; k++) st = cs_state_evaluate(&state);
    r->ms = (cs_now() - t0) * 1e3 / evals;
    if (profiled && st == CLSTYLE_OK) st = cs_backend_opencl_profile(be, &prof, 1);
    r->peak = be->bytes_peak;
    cs_state_free(be, &state);
    cs_backend_destroy(host);
    free(c);
    free(s);
    return st;
}

static void describe_plan(const cs_plan *p, char *out, size_t n)
{
    if (p->band) snprintf(out, n, "%d bands of %d rows%s", p->pieces, p->band, p->checkpoint ? " with checkpoints" : "");
    else if (p->tile) snprintf(out, n, "%d pieces of %d px", p->pieces, p->tile);
    else snprintf(out, n, "whole");
    snprintf(out + strlen(out), n - strlen(out), ", %s, %d pairs", cs_lean_name(p->mode.lean), p->history);
}

/* For each size: the whole picture, then each budget x layout. */
static clstyle_status budget_rows(const cs_backend_params *params, const cs_weights *w, int arch, const int *sizes, int n_sizes, const int *budgets,
                                  int n_budgets, const char *const *layouts, int n_layouts, int evals)
{
    printf("%-6s %-10s %-8s %-7s %10s %7s %10s %9s %9s  %s\n", "net", "size", "budget", "layout", "ms/eval", "x whole",
           "predicted", "peak MiB", "host MiB", "plan");
    for (int k = 0; k < n_sizes; k++) {
        double whole_ms = 0;
        for (int b = -1; b < n_budgets; b++)
            for (int l = 0; l < (b < 0 ? 1 : n_layouts); l++) {
                const char *name = b < 0 ? "whole" : layouts[l];
                unsigned bits = b < 0 ? CS_PLAN_WHOLE : !strcmp(name, "bands") ? CS_PLAN_BANDS : !strcmp(name, "pieces") ? CS_PLAN_PIECES : 0;
                size_t budget = b < 0 ? 0 : (size_t)budgets[b] << 20;
                planned r = { 0 };
                char shape[32], bud[16], plan[96];
                snprintf(shape, sizeof shape, "%dx%d", sizes[k], square ? sizes[k] : sizes[k] * 3 / 4);
                snprintf(bud, sizeof bud, b < 0 ? "device" : "%d", b < 0 ? 0 : budgets[b]);
                cs_backend *be; /* a fresh one per row: the peak is this row's alone (scratch buffers included) */
                CS_TRY(cs_backend_create("opencl", params, &be));
                clstyle_status st = run_planned(be, w, sizes[k], budget, bits, evals, &r);
                cs_backend_destroy(be);
                if (st == CLSTYLE_ERR_NOMEM) {
                    printf("vgg%-3d %-10s %-8s %-7s does not fit: %s\n", arch, shape, bud, name, clstyle_last_error());
                    continue;
                }
                CS_TRY(st);
                if (b < 0) whole_ms = r.ms;
                describe_plan(&r.plan, plan, sizeof plan);
                printf("vgg%-3d %-10s %-8s %-7s %10.1f %7.2f %10.2f %9.0f %9.0f  %s\n", arch, shape, bud, name, r.ms,
                       whole_ms > 0 ? r.ms / whole_ms : 0, r.plan.seconds, r.peak / 1048576.0, r.plan.host_bytes / 1048576.0, plan);
                fflush(stdout);
            }
    }
    return CLSTYLE_OK;
}

/* "GFLOP/s (% of the FMA peak)" of flop done in ms. */
static void format_rate(char *out, size_t n, double flop, double ms, double peak)
{
    double gflops = flop / ms * 1e-6;
    if (peak > 0) snprintf(out, n, "%.0f (%.0f%%)", gflops, 100 * gflops / peak);
    else snprintf(out, n, "%.0f", gflops);
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
    int budgets[8], n_budgets = 0, evals = 1;
    const char *layouts[4] = { "bands", "pieces", "chosen" };
    int n_layouts = 3;
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
        else if (!strcmp(a, "--budgets")) { n_budgets = parse_list(v, budgets, 8); i++; }
        else if (!strcmp(a, "--layouts")) { n_layouts = split_names((char *)v, layouts, 4); i++; }
        else if (!strcmp(a, "--evals")) { evals = atoi(v) > 0 ? atoi(v) : 0; i++; } /* 0: plan only */
        else {
            fprintf(stderr, "usage: clstyle-bench [--device SPEC] [--arch 16,19] [--sizes 256,512,1024] [--iterations N] "
                            "[--reference] [--reference-iterations N] [--square] [--conv auto,gemm,direct] [--profile] "
                            "[--budgets MB,.. [--layouts bands,pieces,chosen] [--evals N]]\n");
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
    for (int a = 0; a < n_arch && n_budgets && st == CLSTYLE_OK; a++) {
        cs_weights w;
        if ((st = cs_weights_synthetic(archs[a], 42, &w)) != CLSTYLE_OK) break;
        st = budget_rows(&params, &w, archs[a], sizes, n_sizes, budgets, n_budgets, layouts, n_layouts, evals);
        cs_weights_free(&w);
    }
    if (n_budgets) n_arch = 0; /* the budgets' table only */
    else printf("%-6s %-10s %-7s %12s %16s %20s %12s %12s %14s %s\n", "net", "size", "conv", "ms/iter", "conv GFLOP/s",
                "best iteration", "setup s", "peak MiB", "reference", "loss 0 -> end");
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
                char rate[32], best_rate[32], best[48];
                format_rate(rate, sizeof rate, r.flop, r.ms_per_iter, peak.gflops);
                format_rate(best_rate, sizeof best_rate, r.flop, r.ms_best, peak.gflops);
                snprintf(best, sizeof best, "%.1f: %s", r.ms_best, best_rate);
                printf("vgg%-3d %-10s %-7s %12.1f %16s %20s %12.2f %12.0f %14s %.7g -> %.4g", archs[a], shape, convs[v], r.ms_per_iter,
                       rate, best, r.setup_s, r.peak / 1048576.0, refcol, r.loss0, r.loss_end);
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
