#define _POSIX_C_SOURCE 200809L
#include "plan.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "clock.h"
#include "error.h"
#include "eval_pieces.h"

/* Slack for what the measurement rounds away (an empty buffer still takes 4 bytes). */
enum { SLACK = 1 << 20 };

enum { BAND_SHARE = 16 };
static const size_t BAND_MIN = (size_t)4 << 20;

size_t cs_plan_band(size_t budget) { return budget / BAND_SHARE > BAND_MIN ? budget / BAND_SHARE : BAND_MIN; }


/* The smallest budget that fits layout l, from a measurement `need` made
 * within `budget`: the band-sized scratch (im2col or Winograd bands,
 * CLBlast's temporaries) shrinks with the budget, so a first guess assumes
 * it is twice the band, then every guess is measured and raised until the
 * job fits it. */
static clstyle_status smallest_budget(cs_plan_measure measure, void *ctx, cs_plan_layout l, size_t need, size_t budget, size_t *out)
{
    size_t band = 2 * cs_plan_band(budget), base = (need > band ? need - band : 0) + SLACK;
    size_t b = base / (BAND_SHARE - 2) * BAND_SHARE + BAND_SHARE;
    for (int k = 0; k < 64; k++) {
        cs_plan_cost c;
        CS_TRY(measure(ctx, l, b, &c));
        need = c.device;
        if (need + SLACK <= b) break;
        b = need + SLACK > b + b / 64 ? need + SLACK : b + b / 64;
    }
    *out = b;
    return CLSTYLE_OK;
}

/* The planner's search: the measurement, the shape and the plan being made. */
typedef struct {
    cs_plan_measure measure;
    void *ctx;
    const cs_plan_shape *shape;
    cs_plan *p;
    int checkpoint;          /* bands: measured with checkpoints */
} search;

static int fits(search *s, int tile, int band, int history)
{
    cs_plan_cost c;
    cs_plan_layout l = { tile, band, band && s->checkpoint, history };
    if (s->measure(s->ctx, l, s->shape->budget, &c) != CLSTYLE_OK || c.device + SLACK > s->shape->budget ||
        (s->shape->host_limit && c.host > s->shape->host_limit))
        return 0;
    s->p->tile = tile;
    s->p->band = band;
    s->p->checkpoint = l.checkpoint;
    s->p->history = history;
    s->p->device_bytes = c.device;
    s->p->host_bytes = c.host;
    s->p->seconds = c.seconds;
    return 1;
}

/* The largest history from `from` down to `to` (halving) that fits. */
static int fit_history(search *s, int tile, int band, int from, int to)
{
    for (int h = from;; h /= 2) {
        if (h < to) h = to;
        if (fits(s, tile, band, h)) return 1;
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

/* The largest size in sizes[0..n) (descending) with lo <= size < hi that
 * fits (pieces of that size, or bands) with some history from `from` down
 * to `to`. Memory grows with the size and with the history, so a binary
 * search with `to` pairs finds it in a few measurements: at 4096 px there
 * are ~100 sizes, and each measurement of small pieces walks thousands. */
static int fit_size(search *s, int bands, const int *sizes, int n, int lo, int hi, int from, int to)
{
    int a = 0, b = n; /* candidates sizes[a..b) */
    while (a < b && sizes[a] >= hi) a++;
    while (b > a && sizes[b - 1] < lo) b--;
    while (a < b) { /* invariant: sizes before a do not fit; sizes from b on fit (or are out of range) */
        int mid = a + (b - a) / 2;
        if (fits(s, bands ? 0 : sizes[mid], bands ? sizes[mid] : 0, to)) b = mid;
        else a = mid + 1;
    }
    return b < n && sizes[b] >= lo && sizes[b] < hi && fit_history(s, bands ? 0 : sizes[b], bands ? sizes[b] : 0, from, to);
}

/* Pieces: stages 2-4 of cs_plan_make. */
static int plan_pieces(search *s, int keep, int least)
{
    const cs_plan_shape *sh = s->shape;
    int tiles[512], n = sh->tile ? 1 : tile_sizes(sh->h, sh->w, tiles, 512);
    if (sh->tile) tiles[0] = sh->tile;
    /* Pieces of at least twice the halo cost at most about 8x the whole image's work. */
    int good = sh->tile ? 0 : 2 * sh->halo, any = 1 << 30;
    s->p->stage = 2;
    if (fit_size(s, 0, tiles, n, good, any, keep, keep)) {
        fit_history(s, s->p->tile, 0, sh->history, keep); /* then as much history as fits */
        return 1;
    }
    s->p->stage = 3;
    if (keep > least && fit_size(s, 0, tiles, n, good, any, keep - 1, least)) return 1;
    s->p->stage = 4;
    return fit_size(s, 0, tiles, n, 0, good, sh->history, least);
}

/* As many bands as `band` rows make, of even size (on the 16-row grid): a
 * last band of a few rows does the per-band work for little (384 rows in
 * bands of 352 become two of 192). Never larger, so it fits as well. */
static int even_bands(const cs_plan_shape *sh, int band)
{
    if (sh->band) return band;
    int k = (sh->h + band - 1) / band, even = ((sh->h + k - 1) / k + 15) / 16 * 16;
    return even < band ? even : band;
}

/* Bands: the largest that fit with `keep` pairs, made even, then the history grown; or with fewer pairs. */
static int plan_bands(search *s, int keep, int least)
{
    const cs_plan_shape *sh = s->shape;
    int sizes[512], n = 0;
    if (sh->band) sizes[n++] = sh->band;
    for (int b = (sh->h + 15) / 16 * 16; !sh->band && b >= 16 && n < 512; b -= 16 * (1 + sh->h / (16 * 512))) sizes[n++] = b;
    for (s->checkpoint = 0; s->checkpoint < 2; s->checkpoint++) { /* checkpoints cost a forward: only where needed */
        s->p->stage = 2;
        if (fit_size(s, 1, sizes, n, 0, 1 << 30, keep, keep)) {
            fit_history(s, 0, even_bands(sh, s->p->band), sh->history, keep);
            return 1;
        }
        s->p->stage = 3;
        if (keep > least && fit_size(s, 1, sizes, n, 0, 1 << 30, keep - 1, least)) return 1;
    }
    return 0;
}

/* Bands that would fit the device but not the host (even with checkpoints): the message names the host memory. */
static clstyle_status host_short(search *s, int least)
{
    const cs_plan_shape *sh = s->shape;
    int band = sh->band ? sh->band : 16;
    cs_plan_cost c;
    if (!sh->host_limit || sh->tile || (sh->layouts && !(sh->layouts & CS_PLAN_BANDS)) ||
        s->measure(s->ctx, (cs_plan_layout){ 0, band, 1, least }, sh->budget, &c) != CLSTYLE_OK || c.device + SLACK > sh->budget ||
        c.host <= sh->host_limit)
        return CLSTYLE_OK;
    char pieces[128] = "";
    if (!sh->band) snprintf(pieces, sizeof pieces, " (and more device memory than the budget of %.0f MiB in pieces)", sh->budget / 1048576.0);
    return cs_fail(CLSTYLE_ERR_NOMEM, "a %dx%d picture needs %.0f MiB of host memory in bands of %d rows with checkpoints%s, more than "
                   "the %.0f MiB available (three quarters of the machine's, or CLSTYLE_HOST_MEM_MB); lower --size",
                   sh->w, sh->h, ceil((c.host + sh->host_fixed) / 1048576.0), band, pieces,
                   floor(sh->host_total / 1048576.0));
}

/* The smallest budget for layout l, measured from the budget given. */
static clstyle_status least_budget(search *s, cs_plan_layout l, size_t *out)
{
    cs_plan_cost c;
    CS_TRY(s->measure(s->ctx, l, s->shape->budget, &c));
    return smallest_budget(s->measure, s->ctx, l, c.device, s->shape->budget, out);
}

/* Nothing fits: the smallest budget that would, in the smallest pieces or
 * bands (whichever needs less; bands only where the host holds them). */
static clstyle_status no_fit(search *s, int least)
{
    const cs_plan_shape *sh = s->shape;
    int tiles[512], n = tile_sizes(sh->h, sh->w, tiles, 512);
    unsigned allowed = sh->layouts ? sh->layouts : ~0u;
    cs_plan_layout pieces = { sh->tile ? sh->tile : tiles[n - 1], 0, 0, least }, bands = { 0, sh->band ? sh->band : 16, 1, least }, l = pieces;
    size_t at_least = SIZE_MAX, b;
    CS_TRY(host_short(s, least));
    if (!sh->band && (allowed & CS_PLAN_PIECES)) CS_TRY(least_budget(s, pieces, &at_least));
    if (!sh->tile && (allowed & CS_PLAN_BANDS)) {
        cs_plan_cost c;
        CS_TRY(s->measure(s->ctx, bands, sh->budget, &c));
        if (!sh->host_limit || c.host <= sh->host_limit) {
            CS_TRY(least_budget(s, bands, &b));
            if (b < at_least) at_least = b, l = bands;
        }
    }
    if (!(allowed & (CS_PLAN_PIECES | CS_PLAN_BANDS))) l = (cs_plan_layout){ 0, 0, 0, least }; /* whole only (benchmarks) */
    if (at_least == SIZE_MAX) CS_TRY(least_budget(s, l, &at_least));
    s->p->needed = at_least;
    char how[64] = "whole";
    if (l.band || l.tile) snprintf(how, sizeof how, "in %s of %d %s", l.band ? "bands" : "pieces", l.band ? l.band : l.tile, l.band ? "rows" : "px");
    return cs_fail(CLSTYLE_ERR_NOMEM, "a %dx%d picture needs at least %.0f MiB of device memory (%s%s), more than the "
                   "budget of %.0f MiB; raise --max-memory or lower --size",
                   sh->w, sh->h, ceil(at_least / 1048576.0), how, least && !l.band ? " keeping 1 L-BFGS pair" : "", sh->budget / 1048576.0);
}

clstyle_status cs_plan_make(cs_plan_measure measure, void *ctx, const cs_plan_shape *sh, cs_plan *out)
{
    *out = (cs_plan){ .budget = sh->budget, .pieces = 1, .history = sh->history, .wanted = sh->history, .stage = 1 };
    int keep = sh->history < CS_PLAN_KEEP ? sh->history : CS_PLAN_KEEP, least = sh->history > 0 ? 1 : 0;
    cs_plan pieces = *out, bands = *out;
    search sp = { measure, ctx, sh, &pieces, 0 }, sb = { measure, ctx, sh, &bands, 0 };
    cs_plan_cost c;
    CS_TRY(measure(ctx, (cs_plan_layout){ sh->tile, sh->band, 0, sh->history }, sh->budget, &c)); /* can the job be set up at all? */
    unsigned allowed = sh->layouts ? sh->layouts : ~0u;
    sb.p = out;
    if (!sh->tile && !sh->band && (allowed & CS_PLAN_WHOLE) && fit_history(&sb, 0, 0, sh->history, keep)) goto done;
    sb.p = &bands;
    int by_pieces = !sh->band && (allowed & CS_PLAN_PIECES) && plan_pieces(&sp, keep, least);
    int by_bands = !sh->tile && (allowed & CS_PLAN_BANDS) && plan_bands(&sb, keep, least);
    if (!by_pieces && !by_bands) {
        clstyle_status st = no_fit(&sp, least);
        out->needed = pieces.needed;
        return st;
    }
    *out = by_bands && (!by_pieces || bands.seconds <= pieces.seconds) ? bands : pieces;
done:
    out->pieces = out->tile ? cs_pieces_count(sh->h, sh->w, out->tile) : out->band ? (sh->h + out->band - 1) / out->band : 1;
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

/* The host-device bandwidth, measured once per backend: 8 round trips of
 * 4 MiB. Unknown (left 0, transfers then count as free) where it fails. */
static void measure_bandwidth(cs_backend *be)
{
    enum { N = 1 << 20, TRIPS = 8 };
    float *host = calloc(N, sizeof *host);
    cs_buf *dev = NULL;
    be->transfer_gbs = -1; /* tried */
    if (host && CS_OP(be, alloc, N, &dev) == CLSTYLE_OK && CS_OP(be, upload, dev, 0, host, N) == CLSTYLE_OK) {
        double t0 = cs_now();
        int ok = 1;
        for (int k = 0; k < TRIPS && ok; k++)
            ok = CS_OP(be, upload, dev, 0, host, N) == CLSTYLE_OK && CS_OP(be, download, dev, 0, host, N) == CLSTYLE_OK;
        double s = cs_now() - t0;
        if (ok && s > 0) be->transfer_gbs = 2.0 * TRIPS * N * sizeof(float) / s / 1e9;
    }
    cs_buf_release(be, dev);
    free(host);
}

/* One evaluation's predicted seconds from the counts of the counting
 * backend (between two of its states): its convolutions as the device's
 * measured rates predict them (unknown: their FLOPs at 100 GFLOP/s, only
 * ratios matter then) and its transfers at the measured bandwidth. */
static double predict(const cs_backend *be, const cs_backend *before, const cs_backend *after)
{
    double conv = after->conv_seconds - before->conv_seconds, bytes = after->moved_bytes - before->moved_bytes;
    if (conv <= 0) conv = (after->conv_flop - before->conv_flop) / 100e9;
    return conv + (be->transfer_gbs > 0 ? bytes / (be->transfer_gbs * 1e9) : 0);
}

/* The cost of the job in pieces of `tile` px or bands of `band` rows with
 * `history` pairs. One evaluation too: the Gram matrices of the picture's
 * own features (not the style images') and the backward grow scratch only
 * then, and its work and transfers are what the prediction counts. */
static clstyle_status measure(void *ctx, cs_plan_layout l, size_t budget, cs_plan_cost *out)
{
    measure_ctx *mc = ctx;
    cs_backend *nb, *host;
    if (l.band && mc->be->mem && !mc->be->transfer_gbs) measure_bandwidth(mc->be);
    set_mode(mc->be, mode_for(mc, mc->lean, budget));
    CS_TRY(cs_backend_null_create(mc->be, &nb));
    clstyle_status st = cs_backend_null_create(NULL, &host); /* counts the optimizer's host memory in bands */
    if (st != CLSTYLE_OK) {
        cs_backend_destroy(nb);
        return st;
    }
    cs_job_spec spec = mc->spec;
    spec.input.tile = l.tile;
    spec.input.band = l.band;
    spec.input.checkpoint = l.checkpoint;
    if (l.history > 0) spec.history = l.history;
    cs_state s;
    st = cs_state_create(nb, host, NULL, &spec, &s);
    cs_backend before = *nb;
    if (st == CLSTYLE_OK) st = cs_state_evaluate(&s);
    out->device = nb->bytes_peak;
    out->seconds = predict(mc->be, &before, nb);
    out->host = s.eval.host_bytes + host->bytes_peak;
    for (int k = 1; k <= s.coarse.levels; k++) out->host += s.coarse.eval[k].host_bytes;
    cs_state_free(nb, &s);
    cs_backend_destroy(nb);
    cs_backend_destroy(host);
    return st;
}

/* Host memory a plan may keep: three quarters of the machine's (the rest
 * for the program, its images and everything else running). */
static size_t host_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (size_t)pages / 4 * 3 * (size_t)size : 0;
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

/* Whole before anything else, then the faster, then more history. */
static int better(const cs_plan *a, const cs_plan *b)
{
    if ((a->stage == 1) != (b->stage == 1)) return a->stage == 1;
    return a->seconds != b->seconds ? a->seconds < b->seconds : a->history > b->history;
}

/* The plan at the backend's memory levels: the device's choice when it fits
 * whole; otherwise whichever of it and level 1 (the same algorithms with
 * one weight copy at a time, remade when the next layer or direction needs
 * its own) plans better (better()), the choice on a tie; the leaner levels
 * only when nothing fits before them: 2 (the direct kernel's copies, a
 * quarter of F(4x4)'s, in place of Winograd: slower on the deep layers),
 * then 3 (im2col + GEMM, keeping no copies: on PoCL 10-30 times slower than
 * the direct kernel, more than pieces cost). */
static clstyle_status plan_levels(measure_ctx *mc, const cs_plan_request *req, int history, size_t limit, cs_plan *out)
{
    const cs_job_spec *spec = &mc->spec;
    int best = -1, levels = mc->be->mem && req->levels > 0 ? req->levels : 1;
    int halo = cs_pieces_halo(spec->weights, cs_terms_last_node(spec->weights, &spec->loss));
    size_t total = req->host_limit ? req->host_limit : host_memory(), host = total > req->host_fixed ? total - req->host_fixed : 1;
    clstyle_status st = CLSTYLE_OK;
    size_t needed = SIZE_MAX;
    char why[1024] = "";
    for (int lean = 0; lean < levels && !(best >= 0 && (out->stage == 1 || lean >= 2)); lean++) {
        cs_plan p = { 0 };
        mc->lean = lean;
        cs_plan_shape shape = { spec->input.content.h, spec->input.content.w, halo, req->tile, req->band, history, limit, host,
                                req->host_fixed, total, req->layouts };
        st = cs_plan_make(measure, mc, &shape, &p);
        if (st != CLSTYLE_OK && st != CLSTYLE_ERR_NOMEM) return st;
        if (st == CLSTYLE_OK && (best < 0 || better(&p, out))) {
            *out = p;
            best = lean;
        }
        /* nothing fits: the message of the level that needs the least (not always the last: GEMM's scratch may need more than the direct kernel's copies) */
        if (st == CLSTYLE_ERR_NOMEM && (!p.needed || p.needed < needed)) {
            needed = p.needed;
            snprintf(why, sizeof why, "%s", clstyle_last_error());
        }
    }
    if (best < 0) return cs_fail(CLSTYLE_ERR_NOMEM, "%s", why);
    mc->lean = best;
    return CLSTYLE_OK;
}

clstyle_status cs_plan_job(cs_backend *be, cs_job_spec *spec, const cs_plan_request *req, cs_plan *out)
{
    if (req->tile && req->band) return cs_fail(CLSTYLE_ERR_USAGE, "--tile and --band each choose how to cut the picture; give one");
    int its = req->iterations, wanted = spec->history < its ? spec->history : (its > 0 ? its : 1);
    int history = spec->optimizer == CLSTYLE_ADAM ? 0 : wanted;
    size_t limit = budget(be, req);
    measure_ctx mc = { be, *spec, { 0, 0 }, 0 };
    mc.spec.input.content.pixels = NULL; /* shapes without pixels: only counted */
    for (int k = 0; k < mc.spec.n_coarse; k++) mc.spec.coarse[k].input.content.pixels = NULL;
    if (be->mem) mc.device = be->mem->default_mode(be);
    CS_TRY(plan_levels(&mc, req, history, limit, out));
    out->mode = mode_for(&mc, mc.lean, limit);
    set_mode(be, out->mode);
    spec->input.tile = out->tile;
    spec->input.band = out->band;
    spec->input.checkpoint = out->checkpoint;
    spec->history = history > 0 ? out->history : wanted;
    return CLSTYLE_OK;
}

clstyle_status cs_plan_explain_oom(cs_backend *be, const cs_job_spec *spec, int size)
{
    char msg[900];
    snprintf(msg, sizeof msg, "%s", clstyle_last_error());
    size_t limit = be->mem_limit;
    measure_ctx mc = { be, *spec, { 0, 0 }, 0 };
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
        cs_plan_cost cost;
        cs_plan_layout l = { spec->input.tile, spec->input.band, spec->input.checkpoint, spec->history };
        if ((int)(size * scale) >= 16 && measure(&mc, l, limit, &cost) == CLSTYLE_OK &&
            cost.device < limit / 10 * 8)
            return cs_fail(CLSTYLE_ERR_NOMEM, "%s; --size %d would fit this device", msg, (int)(size * scale));
    }
    return cs_fail(CLSTYLE_ERR_NOMEM, "%s", msg);
}
