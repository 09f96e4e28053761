/* Step-length rules on scalars: given the loss (and for Wolfe the slope) at a
 * trial step t along a descent direction, accept it or name the next trial.
 * The vectors stay with the optimizer; this only does the arithmetic. */
#ifndef CS_LINESEARCH_H
#define CS_LINESEARCH_H

enum { CS_LS_ACCEPT, CS_LS_TRY, CS_LS_FAIL };

typedef struct { double t, f, dg; } cs_ls_point;   /* step, loss, slope g.d */

typedef struct {
    int mode;              /* CLSTYLE_LS_BACKTRACK or CLSTYLE_LS_WOLFE */
    int trials, bracketed, returning;
    double f0, gd0;        /* loss and slope at t = 0 */
    cs_ls_point lo, hi;    /* Wolfe: best point with sufficient decrease, and the bracket's other end */
} cs_linesearch;

/* Trials per iteration before giving up (the return to the best point counts too). */
enum { CS_LS_MAX_TRIALS = 10 };

void cs_ls_start(cs_linesearch *ls, int mode, double f0, double gd0);
/* The trial at step t gave loss f (and slope dg = g.d for Wolfe; ignored
 * otherwise). Returns CS_LS_ACCEPT, CS_LS_TRY with *t_next, or CS_LS_FAIL. */
int cs_ls_judge(cs_linesearch *ls, double t, double f, double dg, double *t_next);

#endif
