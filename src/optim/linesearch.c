#include "linesearch.h"

#include <math.h>

#include "clstyle.h"

/* Sufficient decrease (Armijo) and curvature constants, as in Nocedal & Wright
 * and torch.optim.LBFGS's strong Wolfe search. */
static const double c1 = 1e-4, c2 = 0.9;

void cs_ls_start(cs_linesearch *ls, int mode, double f0, double gd0)
{
    ls->mode = mode;
    ls->trials = ls->bracketed = ls->returning = 0;
    ls->f0 = f0;
    ls->gd0 = gd0;
    ls->lo = (cs_ls_point){ 0, f0, gd0 };
    ls->hi = ls->lo;
}

static int sufficient(const cs_linesearch *ls, double t, double f)
{
    return isfinite(f) && f <= ls->f0 + c1 * t * ls->gd0;
}

/* Minimizer of the quadratic through f0, gd0 at 0 and f at t, kept within
 * [0.1 t, 0.5 t] so that a wild value shrinks the step fast but not to nothing. */
static double backtrack(const cs_linesearch *ls, double t, double f)
{
    double curv = f - ls->f0 - ls->gd0 * t, tq = isfinite(f) && curv > 0 ? -ls->gd0 * t * t / (2 * curv) : 0.1 * t;
    return fmin(fmax(tq, 0.1 * t), 0.5 * t);
}

/* Minimizer of the cubic through two points with their slopes, kept within
 * [lo, hi] (the fallback when the cubic has none, or the values are not finite). */
static double cubic_min(cs_ls_point a, cs_ls_point b, double lo, double hi, double fallback)
{
    double t = fallback;
    if (isfinite(a.f) && isfinite(b.f) && isfinite(a.dg) && isfinite(b.dg) && a.t != b.t) {
        double d1 = a.dg + b.dg - 3 * (a.f - b.f) / (a.t - b.t), d2sq = d1 * d1 - a.dg * b.dg;
        if (d2sq >= 0) {
            double d2 = copysign(sqrt(d2sq), b.t - a.t), den = b.dg - a.dg + 2 * d2;
            if (den != 0) t = b.t - (b.t - a.t) * (b.dg + d2 - d1) / den;
        }
    }
    if (!isfinite(t)) t = fallback;
    return fmin(fmax(t, lo), hi);
}

/* Inside the bracket: the middle 80% of it, bisection by default. */
static double interpolate(cs_ls_point a, cs_ls_point b)
{
    double lo = fmin(a.t, b.t), hi = fmax(a.t, b.t), w = hi - lo;
    return cubic_min(a, b, lo + 0.1 * w, hi - 0.1 * w, 0.5 * (lo + hi));
}

/* Beyond the last step while it still descends steeply: 2x to 10x further
 * (as torch's strong Wolfe), so a tiny first step grows in a few trials. */
static double extrapolate(cs_ls_point prev, cs_ls_point cur)
{
    return cubic_min(prev, cur, 2 * cur.t, 10 * cur.t, 10 * cur.t);
}

/* Strong Wolfe (Nocedal & Wright, algorithms 3.5 and 3.6 in one loop): grow the
 * step while it still descends steeply, then zoom into the bracket. Only the
 * point just evaluated can be accepted (its gradient is the one in hand), so
 * when the trials run out the search returns to the best point once. */
static int wolfe(cs_linesearch *ls, double t, double f, double dg, double *t_next)
{
    cs_ls_point cur = { t, f, dg }, prev = ls->lo;
    if (ls->returning) return sufficient(ls, t, f) ? CS_LS_ACCEPT : CS_LS_FAIL;
    if (!sufficient(ls, t, f) || (ls->lo.t > 0 && f >= ls->lo.f)) {
        ls->hi = cur;
        ls->bracketed = 1;
    } else if (fabs(dg) <= -c2 * ls->gd0) {
        return CS_LS_ACCEPT;
    } else {
        if (ls->bracketed ? dg * (ls->hi.t - ls->lo.t) >= 0 : dg >= 0) {
            ls->hi = ls->lo;
            ls->bracketed = 1;
        }
        ls->lo = cur;
    }
    if (ls->trials >= CS_LS_MAX_TRIALS - 1) {
        if (ls->lo.t <= 0) return CS_LS_FAIL;
        if (ls->lo.t == t) return CS_LS_ACCEPT;    /* the last trial is the best: sufficient decrease holds */
        ls->returning = 1;
        *t_next = ls->lo.t;
        return CS_LS_TRY;
    }
    *t_next = ls->bracketed ? interpolate(ls->lo, ls->hi) : extrapolate(prev, cur);
    return CS_LS_TRY;
}

int cs_ls_judge(cs_linesearch *ls, double t, double f, double dg, double *t_next)
{
    ls->trials++;
    if (ls->mode == CLSTYLE_LS_WOLFE) return wolfe(ls, t, f, dg, t_next);
    if (sufficient(ls, t, f)) return CS_LS_ACCEPT;
    if (ls->trials >= CS_LS_MAX_TRIALS) return CS_LS_FAIL;
    *t_next = backtrack(ls, t, f);
    return CS_LS_TRY;
}
