#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

void cs_progress_start(cs_progress *p, int total, int quiet)
{
    p->total = total;
    p->quiet = quiet;
    p->tty = isatty(2);
    p->start = cs_now();
    p->scale = p->scales = 1;
}

void cs_progress_scale(cs_progress *p, int scale, int scales)
{
    p->scale = scale;
    p->scales = scales;
}

static void fmt_time(char *buf, size_t n, double s)
{
    int t = (int)(s + 0.5);
    snprintf(buf, n, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
}

void cs_progress_update(cs_progress *p, int iter, double loss)
{
    if (p->quiet) return;
    double el = cs_now() - p->start, eta = iter > 0 ? el / iter * (p->total - iter) : 0;
    char etas[32], sc[32] = "";
    fmt_time(etas, sizeof etas, eta);
    if (p->scales > 1) snprintf(sc, sizeof sc, "scale %d/%d ", p->scale, p->scales);
    if (p->tty) {
        char bar[31];
        int fill = p->total ? 30 * iter / p->total : 30;
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r%s[%s] %d/%d loss %.4g ETA %s ", sc, bar, iter, p->total, loss, etas);
    } else if (iter % 10 == 0 || iter == p->total) {
        /* Plain lines for logs and pipes: every 10 iterations. */
        fprintf(stderr, "%siter %d/%d loss %.6g elapsed %.1fs ETA %s\n", sc, iter, p->total, loss, el, etas);
    }
    fflush(stderr);
}

void cs_progress_end(cs_progress *p)
{
    if (!p->quiet && p->tty) fputc('\n', stderr);
}
