#include "plan.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "error.h"
#include "eval_pieces.h"

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
    *p = (cs_plan){ .budget = budget, .pieces = 1, .history = history, .wanted = history, .stage = 1 };
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

/* ---- the planner: what a job of this backend needs, measured ---- */

/* A measurement: spec on the counting backend, asking be about its scratch
 * at memory level `lean` with the band cap of the budget measured for. */
typedef struct {
    cs_backend *be;
    cs_job_spec spec;
    cs_mem_mode device;      /* the backend's own mode: its band cap */
    int lean;
    size_t host;             /* host bytes of the last measurement */
} measure_ctx;

/* The backend's mode for a budget: the level asked for, the band within a sixteenth of the budget. */
static cs_mem_mode mode_for(const measure_ctx *mc, int lean, size_t budget)
{
    cs_mem_mode m = mc->device;
    m.lean = lean;
    if (cs_plan_band(budget) < m.band_bytes) m.band_bytes = cs_plan_band(budget);
    return m;
}

static void set_mode(cs_backend *be, cs_mem_mode m)
{
    if (be->mem) be->mem->set_mode(be, m);
}

/* Peak device bytes of the job with pieces of `tile` px and `history` pairs.
 * One evaluation too: the Gram matrices of the picture's own features (not
 * the style images') and the backward grow scratch only then. */
static clstyle_status measure(void *ctx, int tile, int history, size_t budget, size_t *bytes)
{
    measure_ctx *mc = ctx;
    cs_backend *nb;
    set_mode(mc->be, mode_for(mc, mc->lean, budget));
    CS_TRY(cs_backend_null_create(mc->be, &nb));
    cs_job_spec spec = mc->spec;
    spec.input.tile = tile;
    if (history > 0) spec.history = history;
    cs_state s;
    clstyle_status st = cs_state_create(nb, NULL, &spec, &s);
    if (st == CLSTYLE_OK) st = cs_state_evaluate(&s);
    *bytes = nb->bytes_peak;
    mc->host = s.eval.host_bytes;
    for (int k = 1; k <= s.coarse.levels; k++) mc->host += s.coarse.eval[k].host_bytes;
    cs_state_free(nb, &s);
    cs_backend_destroy(nb);
    return st;
}

/* Device memory the job may use: the limit asked for exactly; otherwise the
 * device's less a headroom for the driver, the program and CLBlast's own
 * buffers (10%, 64 MiB to 1 GiB); no bound on the host. */
static size_t budget(const cs_backend *be, const cs_plan_request *req)
{
    if (req->explicit_limit) return req->limit;
    if (!be->mem_limit) return SIZE_MAX;
    size_t head = be->mem_limit / 10, lo = (size_t)64 << 20, hi = (size_t)1 << 30;
    head = head < lo ? lo : head > hi ? hi : head;
    return be->mem_limit > 2 * head ? be->mem_limit - head : be->mem_limit / 2;
}

/* An earlier stage of cs_plan_make, then larger pieces, then more history. */
static int better(const cs_plan *a, const cs_plan *b)
{
    if (a->stage != b->stage) return a->stage < b->stage;
    return a->tile != b->tile ? a->tile > b->tile : a->history > b->history;
}

/* The plan at the backend's memory levels: the device's choice when it fits
 * whole; otherwise whichever of it and level 1 (the direct kernel instead
 * of Winograd: weight copies of 1x the weights per direction, not 16/9)
 * plans better (better()), the choice on a tie; level 2 (im2col + GEMM,
 * keeping no copies) only when neither fits at all (on PoCL it is 8x slower
 * than the direct kernel, more than pieces cost). */
static clstyle_status plan_levels(measure_ctx *mc, const cs_plan_request *req, int history, size_t limit, cs_plan *out)
{
    const cs_job_spec *spec = &mc->spec;
    int best = -1, levels = mc->be->mem && req->levels > 0 ? req->levels : 1;
    int halo = cs_pieces_halo(spec->weights, cs_terms_last_node(spec->weights, &spec->loss));
    clstyle_status st = CLSTYLE_OK;
    for (int lean = 0; lean < levels && !(best >= 0 && (out->stage == 1 || lean == 2)); lean++) {
        cs_plan p;
        mc->lean = lean;
        st = cs_plan_make(measure, mc, spec->input.content.h, spec->input.content.w, halo, req->tile, history, limit, &p);
        if (st != CLSTYLE_OK && st != CLSTYLE_ERR_NOMEM) return st;
        if (st == CLSTYLE_OK && (best < 0 || better(&p, out))) {
            *out = p;
            best = lean;
        }
    }
    if (best < 0) return st; /* the leanest level's message: the smallest budget */
    mc->lean = best;
    return CLSTYLE_OK;
}

clstyle_status cs_plan_job(cs_backend *be, cs_job_spec *spec, const cs_plan_request *req, cs_plan *out)
{
    int its = req->iterations, wanted = spec->history < its ? spec->history : (its > 0 ? its : 1);
    int history = spec->optimizer == CLSTYLE_ADAM ? 0 : wanted;
    size_t limit = budget(be, req), bytes;
    measure_ctx mc = { be, *spec, { 0, 0 }, 0, 0 };
    mc.spec.input.content.pixels = NULL; /* shapes without pixels: only counted */
    for (int k = 0; k < mc.spec.n_coarse; k++) mc.spec.coarse[k].input.content.pixels = NULL;
    if (be->mem) mc.device = be->mem->default_mode(be);
    CS_TRY(plan_levels(&mc, req, history, limit, out));
    CS_TRY(measure(&mc, out->tile, out->history, limit, &bytes)); /* the host bytes of the plan chosen */
    out->mode = mode_for(&mc, mc.lean, limit);
    out->host_bytes = mc.host;
    set_mode(be, out->mode);
    spec->input.tile = out->tile;
    spec->history = history > 0 ? out->history : wanted;
    return CLSTYLE_OK;
}

clstyle_status cs_plan_explain_oom(cs_backend *be, const cs_job_spec *spec, int size)
{
    char msg[900];
    snprintf(msg, sizeof msg, "%s", clstyle_last_error());
    size_t limit = be->mem_limit, bytes;
    measure_ctx mc = { be, *spec, { 0, 0 }, 0, 0 };
    for (int k = 0; k < mc.spec.n_coarse; k++) mc.spec.coarse[k].input.content.pixels = NULL; /* sized to each smaller picture tried */
    if (be->mem) mc.device = be->mem->default_mode(be);
    cs_eval_image styles[CS_MAX_STYLES];
    for (double scale = 0.9; limit && scale > 0.05; scale *= 0.9) {
        cs_eval_image *c = &mc.spec.input.content;
        *c = (cs_eval_image){ NULL, (int)(spec->input.content.w * scale + 0.5), (int)(spec->input.content.h * scale + 0.5) };
        for (int k = 0; k < spec->input.n_styles; k++) {
            const cs_eval_image *s = &spec->input.styles[k];
            styles[k] = (cs_eval_image){ NULL, (int)(s->w * scale + 0.5), (int)(s->h * scale + 0.5) };
        }
        mc.spec.input.styles = styles;
        /* 20% headroom for the driver, the im2col band and CLBlast's scratch */
        if ((int)(size * scale) >= 16 && measure(&mc, spec->input.tile, spec->history, limit, &bytes) == CLSTYLE_OK &&
            bytes < limit / 10 * 8)
            return cs_fail(CLSTYLE_ERR_NOMEM, "%s; --size %d would fit this device", msg, (int)(size * scale));
    }
    return cs_fail(CLSTYLE_ERR_NOMEM, "%s", msg);
}
