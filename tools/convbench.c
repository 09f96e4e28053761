/* clstyle-convbench: GFLOP/s of each convolution algorithm on the VGG-19
 * layers that the default loss runs (conv1_1 .. conv5_1), forward and
 * backward to the input, at one image size. The algorithms run alternately
 * (A B A B ...) and each time is the median of the repetitions, so a shared,
 * noisy machine slows them alike and their ratio holds.
 *
 *   clstyle-convbench [--size 256] [--reps 5] [--algos direct,gemm] [--device SPEC] [--cpu-time]
 *
 * --cpu-time (CPU devices): time is the process's CPU time over the number of
 * cores, the wall time the run would take on an idle machine if the device's
 * threads never wait. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "env.h"
#include "factory.h"
#include "error.h"
#include "clock.h"

enum { MAX_ALGOS = 8, MAX_REPS = 64 };

typedef struct { int ci, co, scale, count; } layer; /* scale: image size divided by this; count: layers of this shape */

static const layer vgg19[] = { { 3, 64, 1, 1 },    { 64, 64, 1, 1 },    { 64, 128, 2, 1 },  { 128, 128, 2, 1 }, { 128, 256, 4, 1 },
                               { 256, 256, 4, 3 }, { 256, 512, 8, 1 },  { 512, 512, 8, 3 }, { 512, 512, 16, 1 } };

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

typedef struct { cs_backend *be; cs_buf *x, *wt, *y; } setup;

static clstyle_status prepare(cs_backend *be, const layer *l, int h, int w, setup *s)
{
    s->be = be;
    CS_TRY(CS_OP(be, alloc, (size_t)l->ci * h * w, &s->x));
    CS_TRY(CS_OP(be, alloc, (size_t)l->co * l->ci * 9, &s->wt));
    CS_TRY(CS_OP(be, alloc, (size_t)l->co * h * w, &s->y));
    CS_TRY(CS_OP(be, fill, s->x, 0.5f, (size_t)l->ci * h * w));
    return CS_OP(be, fill, s->wt, 0.01f, (size_t)l->co * l->ci * 9);
}

static void release(setup *s)
{
    cs_buf_release(s->be, s->x);
    cs_buf_release(s->be, s->wt);
    cs_buf_release(s->be, s->y);
}

/* The process's CPU time (all threads, the device's workers included on a
 * CPU device): on a machine shared with other jobs it counts the cycles a
 * kernel needs, where the wall clock also counts the others' time slices. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int cores; /* --cpu-time: the CPU time divided by the number of cores; 0: the wall clock */

static double now(void) { return cores ? cpu_now() / cores : cs_now(); }

/* Seconds for one forward (bwd = 0) or backward pass, to completion. */
static clstyle_status time_one(setup *s, const layer *l, int h, int w, int bwd, double *sec)
{
    double t0 = now();
    if (bwd) CS_TRY(CS_OP(s->be, conv3x3_bwd, s->y, s->wt, s->x, l->ci, l->co, h, w));
    else CS_TRY(CS_OP(s->be, conv3x3, s->x, s->wt, NULL, s->y, l->ci, l->co, h, w, 0));
    double d;
    CS_TRY(CS_OP(s->be, dot, s->x, s->x, 1, &d)); /* a read back: waits for the queue */
    *sec = now() - t0;
    return CLSTYLE_OK;
}

static clstyle_status run(cs_backend **bes, int n_algos, const char **names, int size, int reps)
{
    double total[MAX_ALGOS][2] = { { 0 } };
    clstyle_status st = CLSTYLE_OK;
    printf("%-10s %-12s", "layer", "size");
    for (int a = 0; a < n_algos; a++) printf(" %9s fwd %9s bwd", names[a], names[a]);
    printf("   (GFLOP/s)\n");
    for (size_t li = 0; li < sizeof vgg19 / sizeof *vgg19 && st == CLSTYLE_OK; li++) {
        const layer *l = &vgg19[li];
        int w = size / l->scale, h = size * 3 / 4 / l->scale;
        double flop = 18.0 * l->ci * l->co * h * w, t[MAX_ALGOS][2][MAX_REPS];
        setup s[MAX_ALGOS] = { { 0 } };
        for (int a = 0; a < n_algos && st == CLSTYLE_OK; a++) st = prepare(bes[a], l, h, w, &s[a]);
        for (int a = 0; a < n_algos && st == CLSTYLE_OK; a++) /* warm-up: compilation, prepared weights */
            for (int d = 0; d < 2 && st == CLSTYLE_OK; d++) st = time_one(&s[a], l, h, w, d, &t[a][d][0]);
        for (int r = 0; r < reps && st == CLSTYLE_OK; r++)
            for (int a = 0; a < n_algos && st == CLSTYLE_OK; a++)
                for (int d = 0; d < 2 && st == CLSTYLE_OK; d++) st = time_one(&s[a], l, h, w, d, &t[a][d][r]);
        if (st == CLSTYLE_OK) {
            printf("%4d>%-5d %4dx%-7d", l->ci, l->co, w, h);
            for (int a = 0; a < n_algos; a++)
                for (int d = 0; d < 2; d++) {
                    double m = median(t[a][d], reps);
                    total[a][d] += m * l->count;
                    printf(" %13.0f", flop / m * 1e-9);
                }
            printf("\n");
        }
        for (int a = 0; a < n_algos; a++) release(&s[a]);
    }
    if (st != CLSTYLE_OK) return st;
    printf("%-23s", "all layers (ms)");
    for (int a = 0; a < n_algos; a++) printf(" %13.1f %13.1f", total[a][0] * 1e3, total[a][1] * 1e3);
    printf("\n");
    return CLSTYLE_OK;
}

int main(int argc, char **argv)
{
    cs_backend_params p;
    cs_backend_params_from_env(&p);
    int size = 256, reps = 5, n_algos = 0;
    char list[256] = "direct,gemm";
    const char *names[MAX_ALGOS];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--size") && v) { size = atoi(v); i++; }
        else if (!strcmp(a, "--reps") && v) { reps = atoi(v); i++; }
        else if (!strcmp(a, "--algos") && v) { snprintf(list, sizeof list, "%s", v); i++; }
        else if (!strcmp(a, "--device") && v) { p.device = v; i++; }
        else if (!strcmp(a, "--cpu-time")) cores = (int)sysconf(_SC_NPROCESSORS_ONLN);
        else {
            fprintf(stderr, "usage: clstyle-convbench [--size 256] [--reps 5] [--algos direct,gemm] [--device SPEC] [--cpu-time]\n");
            return 2;
        }
    }
    if (reps < 1) reps = 1;
    if (reps > MAX_REPS) reps = MAX_REPS;
    if (size < 16) size = 16;
    for (char *tok = strtok(list, ","); tok && n_algos < MAX_ALGOS; tok = strtok(NULL, ",")) names[n_algos++] = tok;
    cs_backend *bes[MAX_ALGOS] = { NULL };
    clstyle_status st = CLSTYLE_OK;
    for (int a = 0; a < n_algos && st == CLSTYLE_OK; a++) {
        p.cl.conv = names[a];
        st = cs_backend_create("opencl", &p, &bes[a]);
    }
    if (st == CLSTYLE_OK) {
        printf("device: %s; VGG-19 layers at %dx%d, median of %d\n", bes[0]->device, size, size * 3 / 4, reps);
        st = run(bes, n_algos, names, size, reps);
    }
    for (int a = 0; a < n_algos; a++) cs_backend_destroy(bes[a]);
    if (st != CLSTYLE_OK) {
        fprintf(stderr, "clstyle-convbench: %s\n", clstyle_last_error());
        return 1;
    }
    return 0;
}
