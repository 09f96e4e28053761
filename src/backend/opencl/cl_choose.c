/* Which convolution algorithm each shape class uses on this device, chosen
 * by measurement the way CLBlast tunes per device: every algorithm of
 * cl_conv_algos[] first passes a self-check against the reference backend on
 * an awkward small shape, then the ones that passed are timed (forward plus
 * backward) on one shape per class and the fastest is kept. The choice is
 * cached as a small text file beside the program binaries, keyed like them
 * (device, driver, clstyle version, kernel sources, the algorithm and class
 * tables); a missing or unreadable cache means measuring again. Guessing by
 * device type went badly: the direct kernel that is fastest on PoCL is ~20x
 * slower than im2col + GEMM on Mesa's rusticl. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "cl_be.h"
#include "clock.h"

extern const char *const cs_cl_sources[];
extern const int cs_cl_count;

/* Self-check shape: channel counts and a width that are not multiples of
 * the kernels' blocks (16 pixels, 16 output channels). */
enum { CHECK_CI = 5, CHECK_CO = 19, CHECK_H = 7, CHECK_W = 21, GUARD = 16 };
#define CHECK_NMSE 1e-8
#define FAILED (-1.0)  /* self-check failed or an error: never chosen */
#define SKIPPED (-2.0) /* not timed: its rate so far predicts it would lose by far */

static double flops(int ci, int co, int h, int w) { return 2.0 * 2 * 9 * ci * co * h * w; } /* fwd + bwd */

typedef struct {
    double ms[CS_CONV_CLASSES][CS_MAX_CONV_ALGOS]; /* per class and algorithm: time, FAILED or SKIPPED */
    char why[CS_MAX_CONV_ALGOS][160];              /* self-check failures */
} measurement;

/* ---- self-check ---- */

/* One buffer of n floats plus a guard band, filled with host data (or zeros) and sentinels. */
static clstyle_status upload_guarded(cs_backend *be, const float *data, size_t n, cs_buf **out)
{
    float *tmp = malloc((n + GUARD) * sizeof *tmp);
    if (!tmp) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n + GUARD; i++) tmp[i] = i < n ? (data ? data[i] : 0.0f) : -777.0f;
    clstyle_status st = CS_OP(be, alloc, n + GUARD, out);
    if (st == CLSTYLE_OK) st = CS_OP(be, upload, *out, 0, tmp, n + GUARD);
    free(tmp);
    return st;
}

/* NMSE of got against want over n, or 1 when a value is NaN or the guard band was written. */
static double check_error(const float *got, const float *want, size_t n)
{
    double num = 0, den = 0;
    for (size_t i = 0; i < n + GUARD; i++) {
        if (i >= n) { if (got[i] != -777.0f) return 1; continue; }
        if (got[i] != got[i]) return 1;
        num += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
        den += (double)want[i] * want[i];
    }
    return den > 0 ? num / den : num;
}

/* Runs the forward (which = 0) or backward convolution of one algorithm, or
 * of the reference backend (algo < 0), on the self-check data in[which] with
 * weights in[2]; the result and its guard band go to out. */
static clstyle_status run_check(cs_backend *be, int algo, int which, float *const in[3], float *out)
{
    const size_t nx = (size_t)CHECK_CI * CHECK_H * CHECK_W, ny = (size_t)CHECK_CO * CHECK_H * CHECK_W;
    size_t n_in = which ? ny : nx, n_out = which ? nx : ny;
    cs_buf *x = NULL, *wt = NULL, *y = NULL;
    clstyle_status st;
    CS_CHECK(upload_guarded(be, in[which], n_in, &x));
    CS_CHECK(upload_guarded(be, in[2], (size_t)CHECK_CO * CHECK_CI * 9, &wt));
    CS_CHECK(upload_guarded(be, NULL, n_out, &y));
    if (algo < 0) st = which ? CS_OP(be, conv3x3_bwd, x, wt, y, CHECK_CI, CHECK_CO, CHECK_H, CHECK_W)
                             : CS_OP(be, conv3x3, x, wt, NULL, y, CHECK_CI, CHECK_CO, CHECK_H, CHECK_W, 0);
    else if (which) st = cl_conv_algos[algo].bwd(CB(be), x, wt, y, CHECK_CI, CHECK_CO, CHECK_H, CHECK_W);
    else st = cl_conv_algos[algo].fwd(CB(be), x, wt, NULL, y, CHECK_CI, CHECK_CO, CHECK_H, CHECK_W, 0);
    CS_CHECK(st);
    st = CS_OP(be, download, y, 0, out, n_out + GUARD);
done:
    cs_buf_release(be, x);
    cs_buf_release(be, wt);
    cs_buf_release(be, y);
    return st;
}

/* Self-checks every algorithm whose kernels built against the reference
 * backend; a failure is written to m->why and marks the algorithm FAILED in
 * every class, as is one whose kernels did not build. */
static clstyle_status self_check(cl_be *c, measurement *m)
{
    const size_t nx = (size_t)CHECK_CI * CHECK_H * CHECK_W, ny = (size_t)CHECK_CO * CHECK_H * CHECK_W;
    const size_t most = ny + GUARD, sizes[3] = { nx, ny, (size_t)CHECK_CO * CHECK_CI * 9 };
    float *in[3] = { NULL, NULL, NULL }, *want[2] = { NULL, NULL }, *got = malloc(most * sizeof *got);
    cs_backend *ref = NULL;
    clstyle_status st = got ? CLSTYLE_OK : cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    uint32_t seed = 12345;
    for (int k = 0; k < 3 && st == CLSTYLE_OK; k++) {
        if (!(in[k] = malloc(sizes[k] * sizeof *in[k]))) st = cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
        for (size_t i = 0; in[k] && i < sizes[k]; i++) in[k][i] = (float)((seed = seed * 1664525u + 1013904223u) >> 8) / 16777216.0f - 0.5f;
    }
    for (int k = 0; k < 2 && st == CLSTYLE_OK; k++)
        if (!(want[k] = malloc(most * sizeof *want[k]))) st = cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    if (st == CLSTYLE_OK) st = cs_backend_reference_create(&ref);
    for (int k = 0; k < 2 && st == CLSTYLE_OK; k++) st = run_check(ref, -1, k, in, want[k]);
    for (int a = 0; a < cl_n_conv_algos && st == CLSTYLE_OK; a++) {
        if (cl_conv_unusable(c, a)) {
            for (int cl = 0; cl < CS_CONV_CLASSES; cl++) m->ms[cl][a] = FAILED;
            continue;
        }
        for (int k = 0; k < 2 && !m->why[a][0]; k++) {
            double e = 1;
            if (run_check(&c->base, a, k, in, got) != CLSTYLE_OK)
                snprintf(m->why[a], sizeof m->why[a], "%s", clstyle_last_error());
            else if ((e = check_error(got, want[k], k ? nx : ny)) > CHECK_NMSE)
                snprintf(m->why[a], sizeof m->why[a], "%s: NMSE %.2g against the reference (NaN or a write past the end: 1)",
                         k ? "backward" : "forward", e);
        }
        for (int cl = 0; cl < CS_CONV_CLASSES && m->why[a][0]; cl++) m->ms[cl][a] = FAILED;
    }
    cs_backend_destroy(ref);
    for (int k = 0; k < 3; k++) free(in[k]);
    free(want[0]);
    free(want[1]);
    free(got);
    return st;
}

/* ---- timing ---- */

/* ms of one forward plus backward convolution of algorithm a, to completion. */
static clstyle_status time_once(cl_be *c, int a, cs_buf *const buf[3], int cl, double *ms)
{
    const cl_conv_shape *sh = &cl_conv_classes[cl];
    int ci = sh->ci, co = sh->co, h = sh->h, w = sh->w;
    double t0 = cs_now();
    CS_TRY(cl_conv_algos[a].fwd(c, buf[0], buf[1], NULL, buf[2], ci, co, h, w, 0));
    CS_TRY(cl_conv_algos[a].bwd(c, buf[2], buf[1], buf[0], ci, co, h, w));
    CS_TRY(cl_err(clFinish(c->q), "clFinish", "convolution timing"));
    *ms = (cs_now() - t0) * 1e3;
    return CLSTYLE_OK;
}

/* Best of a few runs after a warm-up, which pays for lazy compilation (CLBlast
 * builds a kernel per GEMM variant on first use) and is not counted; after a
 * first run already `lost_ms` or slower, no more. */
static double time_algo(cl_be *c, int a, cs_buf *const buf[3], int cl, double lost_ms)
{
    double best = 1e300, t, spent = 0;
    if (time_once(c, a, buf, cl, &t) != CLSTYLE_OK) return FAILED;
    for (int rep = 0; rep < 3; rep++) {
        if (time_once(c, a, buf, cl, &t) != CLSTYLE_OK) return FAILED;
        best = t < best ? t : best;
        spent += t;
        if (best >= lost_ms || spent >= 300) break;
    }
    return best;
}

/* The two fastest of a class timed again in turns, each keeping its best:
 * one after the other, a burst of other work on the host fell on one
 * algorithm's runs alone, and the choice it made stayed in the cache (on
 * PoCL beside the test suite, F(2x2) over F(4x4) for the deep layers at
 * 2.3 vs 3.9 ms, 3.7 vs 2.5 measured idle: every later run 40% slower in
 * those layers). Only where the two are within 2x: a further turn cannot
 * overturn more. */
static void retime_closest(cl_be *c, int cl, cs_buf *const buf[3], measurement *m)
{
    int a = -1, b = -1;
    for (int k = 0; k < cl_n_conv_algos; k++) {
        if (m->ms[cl][k] <= 0) continue;
        if (a < 0 || m->ms[cl][k] < m->ms[cl][a]) b = a, a = k;
        else if (b < 0 || m->ms[cl][k] < m->ms[cl][b]) b = k;
    }
    if (b < 0 || m->ms[cl][b] > 2 * m->ms[cl][a]) return;
    for (int turn = 0; turn < 3; turn++)
        for (int i = 0; i < 2; i++) {
            int k = i ? b : a;
            double t;
            if (time_once(c, k, buf, cl, &t) == CLSTYLE_OK && t < m->ms[cl][k]) m->ms[cl][k] = t;
        }
}

/* Times the algorithms that passed the self-check on one class, the one
 * predicted fastest first (rate: MFLOP per ms on the class before); one
 * predicted to take over 4x the best and over 250 ms is SKIPPED. */
static clstyle_status time_class(cl_be *c, int cl, double rate[], measurement *m)
{
    const cl_conv_shape *sh = &cl_conv_classes[cl];
    int ci = sh->ci, co = sh->co, h = sh->h, w = sh->w;
    size_t nx = (size_t)ci * h * w, ny = (size_t)co * h * w;
    cs_buf *buf[3] = { NULL, NULL, NULL };
    double f = flops(ci, co, h, w) * 1e-6, best = 1e300;
    int done[CS_MAX_CONV_ALGOS] = { 0 };
    clstyle_status st;
    CS_CHECK(cl_alloc(&c->base, nx > ny ? nx : ny, &buf[0]));
    CS_CHECK(cl_alloc(&c->base, (size_t)co * ci * 9, &buf[1]));
    CS_CHECK(cl_alloc(&c->base, nx > ny ? nx : ny, &buf[2]));
    CS_CHECK(cl_fill(&c->base, buf[1], 0.01f, (size_t)co * ci * 9));
    for (int k = 0; k < cl_n_conv_algos; k++)
        if (cl_conv_algos[k].forced_only && m->ms[cl][k] != FAILED) {
            m->ms[cl][k] = SKIPPED;
            done[k] = 1;
        }
    for (;;) {
        int a = -1;
        for (int k = 0; k < cl_n_conv_algos; k++)
            if (!done[k] && m->ms[cl][k] != FAILED && (a < 0 || f / rate[k] < f / rate[a])) a = k;
        if (a < 0) break;
        done[a] = 1;
        double predicted = f / rate[a];
        double t = predicted > 4 * best && predicted > 250 ? SKIPPED : time_algo(c, a, buf, cl, 4 * best);
        m->ms[cl][a] = t;
        if (t > 0) {
            rate[a] = f / t;
            best = t < best ? t : best;
        }
    }
    retime_closest(c, cl, buf, m);
done:
    for (int k = 0; k < 3; k++) cs_buf_release(&c->base, buf[k]);
    return st;
}

/* ---- the cache file ---- */

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull;
}

/* Path of the cache file for this device, driver, version, kernels (and
 * which failed to build), the Winograd products' block and the tables; 0
 * when there is no cache. */
static int cache_path(const cl_be *c, char *out, size_t n)
{
    if (!c->params.cl.cache_dir[0]) return 0;
    uint64_t h = hash_str(0xcbf29ce484222325ull, CLSTYLE_VERSION);
    const char *dev[] = { c->dev.device_name, c->dev.driver, c->dev.platform_version };
    for (size_t i = 0; i < sizeof dev / sizeof *dev; i++) h = hash_str(h, dev[i]);
    for (int i = 0; i < cs_cl_count; i++) h = hash_str(h, cs_cl_sources[i]);
    for (int f = 0; f < CL_FAMILIES; f++) h = hash_str(h, c->family_error[f][0] ? "off" : "on");
    char wob[16];
    snprintf(wob, sizeof wob, "wob %d", c->wob);
    h = hash_str(h, wob);
    for (int a = 0; a < cl_n_conv_algos; a++) h = hash_str(hash_str(h, cl_conv_algos[a].name), cl_conv_algos[a].forced_only ? "forced" : "");
    for (const cl_conv_shape *sh = cl_conv_classes; sh < cl_conv_classes + CS_CONV_CLASSES; sh++) {
        char shape[96];
        snprintf(shape, sizeof shape, "%s %d %d %d %d %d", sh->name, sh->max_ci, sh->ci, sh->co, sh->h, sh->w);
        h = hash_str(h, shape);
    }
    int k = snprintf(out, n, "%s/conv-%016llx.txt", c->params.cl.cache_dir, (unsigned long long)h);
    return k > 0 && (size_t)k < n;
}

/* The fastest algorithm of a class, or -1 when none ran. */
static int fastest(const measurement *m, int cl)
{
    int best = -1;
    for (int a = 0; a < cl_n_conv_algos; a++)
        if (m->ms[cl][a] > 0 && (best < 0 || m->ms[cl][a] < m->ms[cl][best])) best = a;
    return best;
}

/* Every measured rate, GFLOP/s (MFLOP per ms): the planner's time model. */
static void keep_rates(cl_be *c, const measurement *m)
{
    for (int cl = 0; cl < CS_CONV_CLASSES; cl++) {
        const cl_conv_shape *sh = &cl_conv_classes[cl];
        for (int a = 0; a < cl_n_conv_algos; a++)
            c->conv_rate[cl][a] = m->ms[cl][a] > 0 ? flops(sh->ci, sh->co, sh->h, sh->w) * 1e-6 / m->ms[cl][a] : 0;
    }
}

/* The file: one line per class, "<class> <algorithm>=<ms> ..." (ms < 0: failed or skipped). */
static int cache_read(const char *path, measurement *m)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    int ok = 1;
    for (int cl = 0; cl < CS_CONV_CLASSES && ok; cl++) {
        char name[32];
        ok = fscanf(f, "%31s", name) == 1 && !strcmp(name, cl_conv_classes[cl].name);
        for (int a = 0; a < cl_n_conv_algos && ok; a++) {
            char algo[32];
            double ms;
            ok = fscanf(f, " %31[^=]=%lf", algo, &ms) == 2 && !strcmp(algo, cl_conv_algos[a].name) &&
                 (ms > 0 || ms == FAILED || ms == SKIPPED);
            m->ms[cl][a] = ms;
        }
    }
    fclose(f);
    for (int cl = 0; cl < CS_CONV_CLASSES && ok; cl++) ok = fastest(m, cl) >= 0;
    return ok;
}

/* Best effort: a choice that cannot be saved is measured again next time. */
static void cache_write(const char *path, const measurement *m)
{
    cs_atomic at;
    if (cs_atomic_open(&at, path) != CLSTYLE_OK) return;
    int ok = 1;
    for (int cl = 0; cl < CS_CONV_CLASSES; cl++) {
        ok = ok && fprintf(at.fp, "%s", cl_conv_classes[cl].name) > 0;
        for (int a = 0; a < cl_n_conv_algos; a++) ok = ok && fprintf(at.fp, " %s=%.4f", cl_conv_algos[a].name, m->ms[cl][a]) > 0;
        ok = ok && fputc('\n', at.fp) != EOF;
    }
    cs_atomic_commit(&at, ok);
}

/* ---- the choice ---- */

/* A line per class for --verbose: the choice and each algorithm's time. */
static void describe(cl_be *c, const measurement *m, const char *how)
{
    size_t used = strlen(c->base.notes);
    char *p = c->base.notes + used;
    size_t left = sizeof c->base.notes - used;
    int k = snprintf(p, left, "convolution algorithms %s:\n", how);
    for (int cl = 0; cl < CS_CONV_CLASSES && k > 0 && (size_t)k < left; cl++) {
        p += k;
        left -= (size_t)k;
        const cl_conv_shape *sh = &cl_conv_classes[cl];
        k = snprintf(p, left, "  %-8s (%3d->%3d at %2dx%2d): %-7s", sh->name, sh->ci, sh->co, sh->w, sh->h,
                     cl_conv_algos[c->conv_algo[cl]].name);
        for (int a = 0; a < cl_n_conv_algos && k > 0 && (size_t)k < left; a++) {
            double ms = m->ms[cl][a];
            int j = ms > 0 ? snprintf(p + k, left - (size_t)k, " %s %.2f ms", cl_conv_algos[a].name, ms)
                           : snprintf(p + k, left - (size_t)k, " %s %s", cl_conv_algos[a].name,
                                      ms == SKIPPED ? (cl_conv_algos[a].forced_only ? "only when forced" : "skipped (predicted >4x slower)")
                                      : cl_conv_unusable(c, a) ? "off (kernels not built)" : "failed");
            k = j < 0 ? -1 : k + j;
        }
        if (k > 0 && (size_t)k + 1 < left) p[k++] = '\n', p[k] = 0;
    }
    for (int a = 0; a < cl_n_conv_algos; a++)
        if (m->why[a][0] && strlen(c->base.notes) + 200 < sizeof c->base.notes)
            snprintf(c->base.notes + strlen(c->base.notes), 200, "  %s failed its self-check: %.150s\n", cl_conv_algos[a].name,
                     m->why[a]);
}

/* Measures on this device: self-check, then each class. Scratch buffers the
 * measurement grew are released and the peak reset, so a job's figures are its own. */
static clstyle_status measure(cl_be *c, measurement *m)
{
    double rate[CS_MAX_CONV_ALGOS];
    for (int a = 0; a < cl_n_conv_algos; a++) rate[a] = 1e12; /* unknown: time it */
    CS_TRY(self_check(c, m));
    for (int cl = 0; cl < CS_CONV_CLASSES; cl++) CS_TRY(time_class(c, cl, rate, m));
    cl_scratch_free(c, &c->col, &c->col_n);
    cl_scratch_free(c, &c->wino_m, &c->wino_m_n);
    cl_scratch_free(c, &c->one.m, &c->one_n);
    c->base.bytes_peak = c->base.bytes_in_use;
    return CLSTYLE_OK;
}

clstyle_status cl_choose_conv(cl_be *c)
{
    const char *forced = c->params.cl.conv;
    if (cl_n_conv_algos > CS_MAX_CONV_ALGOS) return cs_fail(CLSTYLE_ERR_OPENCL, "more than %d convolution algorithms", CS_MAX_CONV_ALGOS);
    if (forced && *forced && strcmp(forced, "auto")) {
        int a = cl_conv_find(forced);
        if (a < 0) {
            char names[256] = "auto";
            for (int k = 0; k < cl_n_conv_algos; k++)
                snprintf(names + strlen(names), sizeof names - strlen(names), ", %s", cl_conv_algos[k].name);
            return cs_fail(CLSTYLE_ERR_USAGE, "unknown convolution algorithm '%s' (CLSTYLE_CONV: %s)", forced, names);
        }
        if (cl_conv_unusable(c, a))
            return cs_fail(CLSTYLE_ERR_OPENCL, "CLSTYLE_CONV=%s cannot run: %s", forced, cl_conv_unusable(c, a));
        for (int cl = 0; cl < CS_CONV_CLASSES; cl++) c->conv_algo[cl] = a;
        cl_note(c, "convolution algorithm %s (forced)\n", cl_conv_algos[a].name);
        return CLSTYLE_OK;
    }
    measurement m;
    memset(&m, 0, sizeof m);
    char path[1200], how[1400];
    int cached = cache_path(c, path, sizeof path);
    if (cached && cache_read(path, &m)) {
        snprintf(how, sizeof how, "from %s", path);
    } else {
        memset(&m, 0, sizeof m);
        double t0 = cs_now();
        CS_TRY(measure(c, &m));
        snprintf(how, sizeof how, "measured on this device in %.1f s", cs_now() - t0);
        if (cached) cache_write(path, &m);
    }
    for (int cl = 0; cl < CS_CONV_CLASSES; cl++) {
        c->conv_algo[cl] = fastest(&m, cl);
        if (c->conv_algo[cl] < 0)
            return cs_fail(CLSTYLE_ERR_OPENCL, "%s: no convolution algorithm passed its self-check (%s: %s)", c->dev.device_name,
                           cl_conv_algos[0].name, m.why[0][0] ? m.why[0] : "failed on the timing shape");
    }
    describe(c, &m, how);
    keep_rates(c, &m);
    return CLSTYLE_OK;
}
