#include "plan.h"

#include <math.h>

#include "error.h"
#include "pieces.h"

/* Slack for what the measurement rounds away (an empty buffer still takes 4 bytes). */
enum { SLACK = 1 << 20 };

enum { BAND_SHARE = 16 };
static const size_t BAND_MIN = (size_t)4 << 20;

size_t cs_plan_band(size_t budget) { return budget / BAND_SHARE > BAND_MIN ? budget / BAND_SHARE : BAND_MIN; }

/* The smallest budget that fits pieces of `tile` px with `history` pairs,
 * from a measurement `need` made within `budget`: the band-sized scratch
 * (im2col or Winograd bands, CLBlast's temporaries) shrinks with the budget,
 * so a first guess assumes it is twice the band, then every guess is measured
 * and raised until the job fits it. */
static clstyle_status smallest_budget(cs_plan_measure measure, void *ctx, int tile, int history, size_t need, size_t budget,
                                      size_t *out)
{
    size_t band = 2 * cs_plan_band(budget), base = (need > band ? need - band : 0) + SLACK;
    size_t b = base / (BAND_SHARE - 2) * BAND_SHARE + BAND_SHARE;
    for (int k = 0; k < 64; k++) {
        CS_TRY(measure(ctx, tile, history, b, &need));
        if (need + SLACK <= b) break;
        b = need + SLACK > b + b / 64 ? need + SLACK : b + b / 64;
    }
    *out = b;
    return CLSTYLE_OK;
}

static int fits(cs_plan_measure measure, void *ctx, cs_plan *p, int tile, int history)
{
    size_t bytes;
    if (measure(ctx, tile, history, p->budget, &bytes) != CLSTYLE_OK || bytes + SLACK > p->budget) return 0;
    p->tile = tile;
    p->history = history;
    p->device_bytes = bytes;
    return 1;
}

/* The largest history from `from` down to `to` (halving) that fits with `tile`. */
static int fit_history(cs_plan_measure measure, void *ctx, cs_plan *p, int tile, int from, int to)
{
    for (int h = from;; h /= 2) {
        if (h < to) h = to;
        if (fits(measure, ctx, p, tile, h)) return 1;
        if (h == to) return 0;
    }
}

/* Piece sizes to try, largest first: about the image cut in 2, 3, 4, ... per
 * side, on the 16 px grid, down to 16 px. */
static int tile_sizes(int h, int w, int *out, int max)
{
    int n = 0, side = h > w ? h : w;
    for (int k = 2; n < max; k++) {
        int t = ((side + k - 1) / k + 15) / 16 * 16;
        if (n && t >= out[n - 1]) continue;
        out[n++] = t;
        if (t == 16) break;
    }
    return n;
}

static void finish_plan(cs_plan *p, int h, int w)
{
    p->pieces = p->tile ? cs_pieces_count(h, w, p->tile) : 1;
}

/* The largest piece in tiles[0..n) (descending) with lo <= tile < hi that
 * fits with some history from `from` down to `to`. A piece's memory grows
 * with its size (its largest window does) and with the history, so a binary
 * search with `to` pairs finds it in a few measurements: at 4096 px there are
 * ~100 sizes, and each measurement of small pieces walks thousands of them. */
static int fit_piece(cs_plan_measure measure, void *ctx, cs_plan *p, const int *tiles, int n, int lo, int hi, int from, int to)
{
    int a = 0, b = n; /* candidates tiles[a..b) */
    while (a < b && tiles[a] >= hi) a++;
    while (b > a && tiles[b - 1] < lo) b--;
    while (a < b) { /* invariant: tiles before a do not fit; tiles from b on fit (or are out of range) */
        int mid = a + (b - a) / 2;
        if (fits(measure, ctx, p, tiles[mid], to)) b = mid;
        else a = mid + 1;
    }
    return b < n && tiles[b] >= lo && tiles[b] < hi && fit_history(measure, ctx, p, tiles[b], from, to);
}

clstyle_status cs_plan_make(cs_plan_measure measure, void *ctx, int h, int w, int halo, int forced_tile, int history,
                            size_t budget, cs_plan *out)
{
    cs_plan *p = out;
    *p = (cs_plan){ budget, 0, 1, history, history, 0, 1 };
    int keep = history < CS_PLAN_KEEP ? history : CS_PLAN_KEEP, least = history > 0 ? 1 : 0, tiles[512];
    int n = forced_tile ? 1 : tile_sizes(h, w, tiles, 512);
    if (forced_tile) tiles[0] = forced_tile;
    /* Pieces of at least twice the halo cost at most about 8x the whole image's work. */
    int good = forced_tile ? 0 : 2 * halo, any = 1 << 30;
    size_t need;
    CS_TRY(measure(ctx, forced_tile, history, budget, &need)); /* can the job be set up at all? */
    if (!forced_tile && fit_history(measure, ctx, p, 0, history, keep)) goto done;
    p->stage = 2;
    if (fit_piece(measure, ctx, p, tiles, n, good, any, keep, keep)) {
        fit_history(measure, ctx, p, p->tile, history, keep); /* then as much history as fits */
        goto done;
    }
    p->stage = 3;
    if (keep > least && fit_piece(measure, ctx, p, tiles, n, good, any, keep - 1, least)) goto done;
    p->stage = 4;
    if (fit_piece(measure, ctx, p, tiles, n, 0, good, history, least)) goto done;
    int smallest = tiles[n - 1];
    size_t at_least;
    CS_TRY(measure(ctx, smallest, least, budget, &need));
    CS_TRY(smallest_budget(measure, ctx, smallest, least, need, budget, &at_least));
    return cs_fail(CLSTYLE_ERR_NOMEM, "a %dx%d picture needs at least %.0f MiB of device memory (in %d px pieces%s), more than the "
                   "budget of %.0f MiB; raise --max-memory or lower --size",
                   w, h, ceil(at_least / 1048576.0), smallest, least ? " keeping 1 L-BFGS pair" : "", budget / 1048576.0);
done:
    finish_plan(p, h, w);
    return CLSTYLE_OK;
}
