/* Optimizers on a known problem: an ill-conditioned quadratic. L-BFGS (the
 * batched-dot form in optim.c) must follow the classic two-loop recursion,
 * written here on the host in double, step for step, through the wrap of its
 * history ring; both optimizers must converge. Argument: backend. */
#include "backend.h"
#include "optim.h"
#include "rng.h"
#include "testutil.h"

enum { N = 300, HIST = 5 };
static double A[N], C[N];

static double f_and_grad(const double *x, double *g)
{
    double f = 0;
    for (int i = 0; i < N; i++) {
        double d = x[i] - C[i];
        f += 0.5 * A[i] * d * d;
        g[i] = A[i] * d;
    }
    return f;
}

static double dot(const double *a, const double *b)
{
    double s = 0;
    for (int i = 0; i < N; i++) s += a[i] * b[i];
    return s;
}

/* torch.optim.LBFGS without line search, in double: the oracle. */
static void classic_lbfgs(double *x, int steps)
{
    static double S[HIST][N], Y[HIST][N], g[N], gp[N], d[N], q[N];
    double rho[HIST], al[HIST], h = 1, t = 1;
    int count = 0, head = 0;
    f_and_grad(x, g);
    for (int k = 0; k < steps; k++) {
        if (k > 0) {
            double y[N], s[N];
            for (int i = 0; i < N; i++) { y[i] = g[i] - gp[i]; s[i] = t * d[i]; }
            double ys = dot(y, s);
            if (ys > 1e-10) {
                memcpy(S[head], s, sizeof s);
                memcpy(Y[head], y, sizeof y);
                rho[head] = 1 / ys;
                h = ys / dot(y, y);
                head = (head + 1) % HIST;
                if (count < HIST) count++;
            }
        }
        for (int i = 0; i < N; i++) q[i] = -g[i];
        for (int j = 0; j < count; j++) {
            int m = (head - 1 - j + HIST) % HIST;
            al[m] = rho[m] * dot(S[m], q);
            for (int i = 0; i < N; i++) q[i] -= al[m] * Y[m][i];
        }
        for (int i = 0; i < N; i++) d[i] = h * q[i];
        for (int j = count - 1; j >= 0; j--) {
            int m = (head - 1 - j + HIST) % HIST;
            double b = rho[m] * dot(Y[m], d);
            for (int i = 0; i < N; i++) d[i] += S[m][i] * (al[m] - b);
        }
        t = 1;
        if (count == 0) {
            double g1 = 0;
            for (int i = 0; i < N; i++) g1 += fabs(g[i]);
            if (g1 > 1) t = 1 / g1;
        }
        for (int i = 0; i < N; i++) x[i] += t * d[i];
        memcpy(gp, g, sizeof g);
        f_and_grad(x, g);
    }
}

/* Runs cs_optim for `steps` steps from x0 = 0; returns f at the end. */
static double run(cs_backend *be, int kind, double lr, int steps, double *x_out)
{
    float xf[N], gf[N];
    double x[N], g[N];
    cs_buf *bx, *bg;
    cs_optim *op;
    memset(xf, 0, sizeof xf);
    CHECK_OK(CS_OP(be, alloc, N, &bx));
    CHECK_OK(CS_OP(be, alloc, N, &bg));
    CHECK_OK(cs_optim_create(be, kind, N, HIST, lr, &op));
    double f = 0;
    for (int k = 0; k <= steps; k++) {
        for (int i = 0; i < N; i++) x[i] = xf[i];
        f = f_and_grad(x, g);
        if (k == steps) break;
        for (int i = 0; i < N; i++) gf[i] = (float)g[i];
        CHECK_OK(CS_OP(be, upload, bg, 0, gf, N));
        CHECK_OK(CS_OP(be, upload, bx, 0, xf, N));
        CHECK_OK(cs_optim_step(op, bx, bg));
        CHECK_OK(CS_OP(be, download, bx, 0, xf, N));
    }
    if (x_out) memcpy(x_out, x, sizeof x);
    cs_optim_destroy(op);
    cs_buf_release(be, bx);
    cs_buf_release(be, bg);
    return f;
}

int main(int argc, char **argv)
{
    cs_backend *be = tu_backend(argc > 1 ? argv[1] : "reference");
    cs_rng r;
    cs_rng_seed(&r, 9);
    for (int i = 0; i < N; i++) { A[i] = 1 + 99 * cs_rng_uniform(&r); C[i] = cs_rng_normal(&r); }
    double zero[N] = { 0 }, g[N], f0 = f_and_grad(zero, g);

    /* Step for step against the classic recursion (history wraps after 5
     * steps), with the history in one buffer and, as on a device whose
     * largest buffer holds 3 of its 10 rows, in blocks that split pairs. */
    size_t max_alloc = be->max_alloc;
    for (int split = 0; split < 2; split++) {
        be->max_alloc = split ? 3 * N * sizeof(float) : max_alloc;
        for (int steps = 1; steps <= 12; steps += 11) {
            double x_ref[N] = { 0 }, x[N];
            classic_lbfgs(x_ref, steps);
            run(be, CLSTYLE_LBFGS, 1.0, steps, x);
            double num = 0, den = 0;
            for (int i = 0; i < N; i++) { num += (x[i] - x_ref[i]) * (x[i] - x_ref[i]); den += x_ref[i] * x_ref[i]; }
            fprintf(stderr, "L-BFGS after %2d steps%s: ||x - x_classic|| / ||x_classic|| = %.2e\n", steps,
                    split ? " (history in blocks of 3 rows)" : "", sqrt(num / den));
            CHECK(sqrt(num / den) < 1e-4, "L-BFGS departs from the two-loop recursion after %d steps", steps);
        }
    }
    be->max_alloc = max_alloc;
    double fl = run(be, CLSTYLE_LBFGS, 1.0, 60, NULL), fa = run(be, CLSTYLE_ADAM, 0.1, 300, NULL);
    fprintf(stderr, "f0 %.4g; L-BFGS 60 steps %.3g; Adam 300 steps %.3g\n", f0, fl, fa);
    CHECK(fl < 1e-6 * f0, "L-BFGS did not converge: %g", fl);
    CHECK(fa < 1e-2 * f0, "Adam did not converge: %g", fa);
    cs_backend_destroy(be);
    return tu_done("optim");
}
