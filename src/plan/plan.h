/* The memory plan of a job: whether it is evaluated whole, in layer-wise
 * bands or in pieces (and their size) and how many L-BFGS pairs it keeps,
 * chosen so that every device buffer fits a budget and the host memory the
 * machine has; or a message giving the smallest budget that would do. */
#ifndef CS_PLAN_H
#define CS_PLAN_H
#include <stddef.h>

#include "state.h"

typedef struct {
    size_t budget;           /* device bytes allowed */
    int tile;                /* interior of a piece, px; 0: the whole image at once */
    int band;                /* with tile 0: rows of a layer-wise band; 0: whole */
    int checkpoint;          /* bands: with checkpoints (the host holds no more) */
    int pieces;              /* pieces or bands per evaluation (1 when whole) */
    int history, wanted;     /* L-BFGS pairs kept, and asked for */
    size_t device_bytes;     /* predicted peak of the device buffers */
    int stage;               /* which preference below chose it (1-4): lower is faster */
    double seconds;          /* predicted time of one evaluation (cs_plan_cost) */
    cs_mem_mode mode;        /* the backend's memory mode it was made for (set on the backend) */
    size_t host_bytes;       /* host memory the evaluation keeps (pieces: content targets, staging; bands: activations, the optimizer) */
    size_t needed;           /* when nothing fits: the smallest budget that would (0: the host is short) */
} cs_plan;

/* What a layout of the job costs, measured on the counting backend: peak
 * device bytes, host bytes, and one evaluation's predicted seconds, its
 * convolution FLOPs at the device's measured rate plus its host-device
 * transfers at the measured bandwidth. */
typedef struct { size_t device, host; double seconds; } cs_plan_cost;
/* A layout of the job: pieces of `tile` px or bands of `band` rows (both
 * 0: whole), bands with checkpoints or not, and `history` L-BFGS pairs. */
typedef struct { int tile, band, checkpoint, history; } cs_plan_layout;
/* The cost of the job in layout l within `budget` (which sets the band
 * cap, cs_plan_band). */
typedef clstyle_status (*cs_plan_measure)(void *ctx, cs_plan_layout l, size_t budget, cs_plan_cost *out);

/* For an h x w image whose pieces need `halo` px: forced_tile > 0 fixes the
 * pieces (--tile), forced_band the bands (--band); history is the pairs
 * wanted (0 for Adam); host_limit the host bytes the machine offers (0: no
 * bound). Preference: 1. the whole image, giving up history down to
 * CS_PLAN_KEEP pairs; otherwise the faster by predicted time of
 * - bands: the largest that fit with that many pairs (stage 2), the history
 *   grown back as far as the host holds it, or with fewer pairs (stage 3);
 *   with checkpoints only where the host holds neither; and
 * - pieces: 2. the largest pieces of at least 2 x halo px (at most ~8x the
 *   work) that fit with that many pairs, growing the history back as far as
 *   it fits; 3. the largest such pieces with fewer pairs, down to 1; 4.
 *   smaller pieces, the largest that fit, with as many pairs as fit.
 * A job that cannot be set up at all (an image too small for its layers)
 * fails with the measurement's own status and message. */
enum { CS_PLAN_KEEP = 10 };
enum { CS_PLAN_WHOLE = 1, CS_PLAN_BANDS = 2, CS_PLAN_PIECES = 4 };
/* The im2col band cap for a budget: a sixteenth of it, at least 4 MiB (it
 * only sets how many rows one GEMM takes). Measurements count it, so the
 * smallest budget reported on failure includes the band that budget gets. */
size_t cs_plan_band(size_t budget);
typedef struct {
    int h, w, halo;          /* the picture and its pieces' halo */
    int tile, band;          /* forced (--tile, --band); 0: chosen */
    int history;             /* pairs wanted */
    size_t budget, host_limit; /* host_limit: for the plan, host_fixed already taken off */
    size_t host_fixed, host_total; /* for messages: the job's host bytes besides the plan's, and all it may keep */
    unsigned layouts;        /* CS_PLAN_* bits allowed; 0: all */
} cs_plan_shape;
clstyle_status cs_plan_make(cs_plan_measure measure, void *ctx, const cs_plan_shape *shape, cs_plan *out);

/* The planner: the budget, the backend's memory levels and band, the
 * pieces and the history of a job, measured on the counting backend with
 * the device's own answers (its memory interface). */
typedef struct {
    size_t limit;            /* device memory for buffers (0: the backend's mem_limit) */
    int explicit_limit;      /* the budget is exactly `limit` (--max-memory), no headroom */
    int levels;              /* memory levels to try: 1 when the convolution algorithm is forced */
    int tile;                /* --tile PX; 0 = pieces only when memory needs them */
    int band;                /* --band ROWS; 0 = bands only when memory needs them */
    size_t host_limit;       /* host bytes the job may keep; 0: three quarters of the machine's */
    size_t host_fixed;       /* of those, kept whatever the plan (images, weights) */
    unsigned layouts;        /* CS_PLAN_* bits to choose among (benchmarks); 0: all */
    int iterations;          /* of this scale: history beyond it is useless */
} cs_plan_request;

/* Chooses the plan for spec (its images need no pixels), fills spec->input.tile
 * and spec->history from it and sets the backend's memory mode. */
clstyle_status cs_plan_job(cs_backend *be, cs_job_spec *spec, const cs_plan_request *req, cs_plan *out);
/* After the device ran out of memory with spec (cs_fail's message kept): adds
 * the largest size (the longer side of `size` scaled down) that would fit. */
clstyle_status cs_plan_explain_oom(cs_backend *be, const cs_job_spec *spec, int size);

#endif
