#include "plan.h"

#include <stdint.h>

#include "error.h"
#include "pieces.h"

static int fits(cs_plan_measure measure, void *ctx, cs_plan *p, int tile, int history)
{
    size_t bytes = measure(ctx, tile, history);
    if (bytes > p->budget) return 0;
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

clstyle_status cs_plan_make(cs_plan_measure measure, void *ctx, int h, int w, int forced_tile, int history, size_t budget,
                            cs_plan *out)
{
    cs_plan *p = out;
    *p = (cs_plan){ budget, 0, 1, history, history, 0 };
    int keep = history < CS_PLAN_KEEP ? history : CS_PLAN_KEEP, tiles[512];
    int n = forced_tile ? 1 : tile_sizes(h, w, tiles, 512);
    if (forced_tile) tiles[0] = forced_tile;
    if (!forced_tile && fit_history(measure, ctx, p, 0, history, keep)) goto done;
    for (int i = 0; i < n; i++)
        if (fit_history(measure, ctx, p, tiles[i], keep, keep)) {
            fit_history(measure, ctx, p, tiles[i], history, keep); /* then as much history as fits */
            goto done;
        }
    int smallest = tiles[n - 1], least = history > 0 ? 1 : 0;
    if (keep > least && fit_history(measure, ctx, p, smallest, keep - 1, least)) goto done;
    size_t need = measure(ctx, smallest, least);
    if (need == SIZE_MAX) return cs_fail(CLSTYLE_ERR_NOMEM, "cannot size this job for its memory budget: %s", clstyle_last_error());
    return cs_fail(CLSTYLE_ERR_NOMEM, "a %dx%d picture needs at least %.0f MiB of device memory (in %d px pieces%s), more than the "
                   "budget of %.0f MiB; raise --max-memory or lower --size",
                   w, h, need / 1048576.0 + 0.5, smallest, least ? " keeping 1 L-BFGS pair" : "", budget / 1048576.0);
done:
    finish_plan(p, h, w);
    return CLSTYLE_OK;
}
