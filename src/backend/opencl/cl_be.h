/* The OpenCL backend's private state and the helpers its modules share,
 * bottom up (each calls only the ones before it): cl_launch.c (launches,
 * reductions, profiling, notes), cl_ops.c (the ops that are one kernel each),
 * cl_mem.c (buffers), cl_gemm.c (CLBlast), cl_gram.c (Gram products),
 * cl_direct.c and cl_winograd.c (convolution algorithms), cl_conv.c (their
 * table and dispatch), cl_choose.c (the measured choice) and backend_cl.c
 * (setup, the kernel programs, the vtable and the memory interface). */
#ifndef CS_CL_BE_H
#define CS_CL_BE_H
#include <clblast_c.h>

#include "backend.h"
#include "cl_device.h"
#include "error.h"

enum { CS_CONV_CLASSES = 5, CS_MAX_CONV_ALGOS = 16 };
enum { MAX_WG = 256, MAX_GROUPS = 256, ROW_GROUPS = 32, DEFERRED = 64, N_PROF = 32 };
/* c->partial: CS_MAX_ROWS * ROW_GROUPS floats for the blocking reductions,
 * then DEFERRED slots of MAX_GROUPS for the deferred ones (sqdiff, tv, masked_sqdiff). */
#define DEFER_BASE ((size_t)CS_MAX_ROWS * ROW_GROUPS)

/* The kernels are built as one program per family (backend_cl.c): the core,
 * without which the backend cannot run, and optional families whose build
 * failure only turns off the algorithms that need them. */
enum { CL_CORE, CL_DIRECT, CL_WINO, CL_GRAM, CL_FAMILIES };

/* Every kernel of cl/, once: X(field, kernel name, family). */
#define CS_CL_KERNELS(X)                                                                                                        \
    X(im2col, "im2col3x3", CL_CORE) X(col2im, "col2im3x3", CL_CORE) X(bias_relu, "bias_relu", CL_CORE)                          \
    X(relu_bwd, "relu_bwd", CL_CORE) X(affine, "affine3", CL_CORE) X(axpy, "axpy", CL_CORE) X(scale, "scale", CL_CORE)           \
    X(clamp, "clamp_range", CL_CORE) X(bound_mask, "bound_mask", CL_CORE)                                                       \
    X(mask_mul, "mask_mul", CL_CORE)                                                                                             \
    X(fill, "fill", CL_CORE) X(pool, "pool2x2", CL_CORE) X(pool_bwd, "pool2x2_bwd", CL_CORE) X(dot, "dot_asum", CL_CORE)         \
    X(sqdiff, "sqdiff", CL_CORE) X(tv, "tv", CL_CORE) X(adam, "adam", CL_CORE) X(sum_parts, "sum_parts", CL_CORE)              \
    X(masked_sqdiff, "masked_sqdiff", CL_CORE)                                                                                   \
    X(multi_dot, "multi_dot", CL_CORE) X(combine, "combine", CL_CORE) X(window, "window", CL_CORE)                             \
    X(wprep, "conv_wprep", CL_DIRECT) X(direct, "conv3x3_direct", CL_DIRECT)                                                     \
    X(direct4, "conv3x3_direct4", CL_DIRECT)                                                                                     \
    X(wino_wprep, "wino_wprep", CL_WINO) X(wino_in, "wino_in", CL_WINO) X(wino_gemm, "wino_gemm", CL_WINO)                     \
    X(wino_out, "wino_out", CL_WINO) X(wino4_wprep, "wino4_wprep", CL_WINO) X(wino4_in, "wino4_in", CL_WINO)                   \
    X(wino4_in16, "wino4_in16", CL_WINO) X(wino4_out16, "wino4_out16", CL_WINO)                                                \
    X(wino4_out, "wino4_out", CL_WINO)                                                                                           \
    X(gram_blocks, "gram_blocks", CL_GRAM) X(gram_sum, "gram_sum", CL_GRAM) X(gram_bwd16, "gram_bwd16", CL_GRAM)

/* A weight buffer's copy rearranged for one convolution algorithm (made
 * lazily, kept with the buffer, remade when the buffer was written since). */
typedef struct {
    cl_mem m;
    unsigned gen;
    int n_in, n_out, cob;
} cl_prep;

/* Prep slots: an algorithm's forward copy, and + 1 its backward one. */
enum { PREP_DIRECT = 0, PREP_WINO = 2, PREP_WINO4 = 4, PREP_SLOTS = 6 };

struct cs_buf {
    cl_mem m;
    size_t n;
    unsigned gen;              /* bumped by upload, copy and fill, which is how weights change */
    cl_prep prep[PREP_SLOTS];  /* see cl_prepared */
};

/* Profiling (params.profile): device time per kernel/GEMM from OpenCL events
 * (this serializes the queue) and the host time of the enqueue call. */
typedef struct { const char *name; double ms, host_ms; long calls; } prof_entry;

typedef struct cl_be {
    cs_backend base;
    cs_backend_params params;
    cs_cl_device dev;
    cl_context ctx;
    cl_command_queue q;
    cl_program prog[CL_FAMILIES];
    /* Why a family's program is missing ("" when it built): "the <family>
     * kernels failed to build on <device> (...): <the build log's first line>". */
    char family_error[CL_FAMILIES][512];
    struct {
#define CS_KERNEL_FIELD(f, name, family) cl_kernel f; /* NULL when its family failed */
        CS_CL_KERNELS(CS_KERNEL_FIELD)
#undef CS_KERNEL_FIELD
    } k;
    int from_cache;            /* every program came from the disk cache */
    int conv_algo[CS_CONV_CLASSES]; /* per shape class (cl_choose.c): index into cl_conv_algos[] */
    double conv_rate[CS_CONV_CLASSES][CS_MAX_CONV_ALGOS]; /* measured GFLOP/s per class and algorithm; 0: unknown */
    int wg;                    /* work-group size of the reductions (WG_SIZE): a power of two <= MAX_WG the device runs */
    int wob;                   /* output channels per work-item of wino_gemm (WOB; cl_wino_block) */
    size_t local1d;            /* work-group size of the 1-D launches: <= 64 and every kernel's CL_KERNEL_WORK_GROUP_SIZE */
    int gram_own;              /* Gram products by cl/gram.cl instead of CLBlast (cl_gram.c) */
    /* The memory mode (cs_mem_mode), set only through the memory interface's set_mode */
    int lean;                  /* see cs_mem_mode and cl_conv_algo.copies */
    size_t band_bytes;         /* im2col band cap */
    /* profiling */
    int profile;
    cl_event ev;
    double t_enqueue;          /* when the profiled call started, for its host time */
    prof_entry prof[N_PROF];
    int n_prof;
    double conv_flop, gram_flop; /* arithmetic of the convolutions and Gram products (profile summary) */
    /* scratch buffers, grown on demand and kept */
    cl_mem col;                /* im2col band, up to band_bytes */
    size_t col_n;
    cl_mem wino_m;             /* Winograd products of a band of tiles (the input tiles use col) */
    size_t wino_m_n;
    cl_prep one;               /* level one-copy: the one weight copy, of one_wt's slot one_slot (cl_prepared) */
    size_t one_n;
    const cs_buf *one_wt;
    int one_slot;
    cl_mem gemm_tmp;           /* CLBlast's GEMM scratch, ours so it is not allocated per call */
    size_t gemm_tmp_n;
    struct { size_t key[11], bytes; } tmp_sizes[256]; /* temp sizes per GEMM shape seen */
    int n_tmp_sizes;
    cl_mem parts;              /* split-K partial Gram matrices */
    size_t parts_n;
    /* reductions */
    cl_mem partial;            /* partial sums: MAX_GROUPS, or ROW_GROUPS per multi_dot row */
    cl_mem coef;               /* CS_MAX_ROWS combine coefficients */
    struct { double *dst; int groups; } pending[DEFERRED]; /* deferred sums, slot i */
    int n_pending;
    float host_part[CS_MAX_ROWS * ROW_GROUPS]; /* partial sums read back (per backend: thread safe) */
} cl_be;

#define CB(be) ((cl_be *)(be))

/* cl_launch.c */
clstyle_status cl_err(cl_int err, const char *call, const char *what);
/* Levels one-copy and direct-copy keep one weight copy at a time, in a shared buffer (cs_mem_mode). */
static inline int cl_one_copy(const cl_be *c) { return c->lean == 1 || c->lean == 2; }
cl_event *cl_ev(cl_be *c);
void cl_prof(cl_be *c, const char *name);
/* Profiling a host-side operation that began at t0 (cs_now) and has just
 * ended, the queue idle before it: a window's transfer, whose copy may run
 * on host threads. The table's device column holds its wall time too. */
void cl_prof_host(cl_be *c, const char *name, double t0);
void cl_prof_print(cl_be *c);
void cl_prof_summary(cl_be *c, cs_profile *out);
cl_int cl_set_args(cl_kernel k, int count, ...);
clstyle_status cl_run1d(cl_be *c, cl_kernel k, const char *name, size_t n);
clstyle_status cl_run(cl_be *c, cl_kernel k, const char *name, cl_uint dims, const size_t *global, const size_t *local);
clstyle_status cl_reduce(cl_be *c, cl_kernel k, const char *name, size_t n, double *out);
clstyle_status cl_defer_slot(cl_be *c, int *poff);
clstyle_status cl_reduce_deferred(cl_be *c, cl_kernel k, const char *name, size_t n, double *out);
clstyle_status cl_settle(cl_be *c);
/* Appends a line to the notes --verbose prints (c->base.notes), as much as fits. */
void cl_note(cl_be *c, const char *fmt, ...);
/* The kernel arguments of a fused epilogue: flags 1 = add the bias, 2 = ReLU. */
static inline int cl_epilogue(const cs_buf *bias, int relu) { return (bias ? 1 : 0) | (relu ? 2 : 0); }

/* n rounded up to a multiple of m (launch sizes, blocks). */
static inline size_t cl_round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

/* cl_ops.c: the vtable entries that are one kernel each. */
clstyle_status cl_fill(cs_backend *be, cs_buf *x, float v, size_t n);
clstyle_status cl_bias_relu(cs_backend *be, cs_buf *y, cs_buf *bias, int ch, int hw, int relu);
clstyle_status cl_finish(cs_backend *be);
clstyle_status cl_relu_bwd(cs_backend *be, cs_buf *y, cs_buf *dy, size_t n);
clstyle_status cl_pool(cs_backend *be, cs_buf *x, cs_buf *y, int ch, int h, int w, int avg);
clstyle_status cl_pool_bwd(cs_backend *be, cs_buf *x, cs_buf *dy, cs_buf *dx, int ch, int h, int w, int avg, int relu);
clstyle_status cl_sqdiff(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, float gscale, cs_buf *grad, double *sum);
clstyle_status cl_masked_sqdiff(cs_backend *be, cs_buf *a, cs_buf *b, cs_buf *m, size_t hw, size_t n, float gscale, cs_buf *grad,
                                double *sum);
clstyle_status cl_tv(cs_backend *be, cs_buf *x, int ch, int h, int w, float gscale, cs_buf *grad, double *val);
clstyle_status cl_affine(cs_backend *be, cs_buf *x, cs_buf *y, int ch, int hw, const float *s, const float *o);
clstyle_status cl_dot(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, double *out);
clstyle_status cl_asum(cs_backend *be, cs_buf *a, size_t n, double *out);
clstyle_status cl_axpy(cs_backend *be, float a, cs_buf *x, cs_buf *y, size_t n);
clstyle_status cl_scale(cs_backend *be, float a, cs_buf *x, size_t n);
clstyle_status cl_clamp(cs_backend *be, cs_buf *x, float lo, float hi, size_t n);
clstyle_status cl_bound_mask(cs_backend *be, cs_buf *v, cs_buf *x, cs_buf *g, float lo, float hi, size_t n);
clstyle_status cl_mask_mul(cs_backend *be, cs_buf *x, cs_buf *m, cs_buf *y, int ch, size_t hw, int add);
clstyle_status cl_copy_at(cs_backend *be, cs_buf *src, cs_buf *dst, size_t off, size_t n);
clstyle_status cl_copy(cs_backend *be, cs_buf *src, cs_buf *dst, size_t n);
clstyle_status cl_crop(cs_backend *be, cs_buf *src, cs_window win, cs_buf *dst);
clstyle_status cl_paste_add(cs_backend *be, cs_buf *src, cs_window win, cs_buf *dst);
clstyle_status cl_multi_dot(cs_backend *be, cs_buf *mat, int rows, cs_buf *const *vs, int nv, size_t n, double *out);
clstyle_status cl_combine(cs_backend *be, cs_buf *mat, int rows, const float *coef, cs_buf *out, size_t n);
clstyle_status cl_adam(cs_backend *be, cs_buf *x, cs_buf *g, cs_buf *m, cs_buf *v, size_t n, float lr, float b1, float b2, float eps,
                       int t);

/* cl_mem.c */
clstyle_status cl_alloc(cs_backend *be, size_t n, cs_buf **out);
void cl_release(cs_backend *be, cs_buf *b);
clstyle_status cl_upload(cs_backend *be, cs_buf *dst, size_t off, const float *src, size_t n);
clstyle_status cl_download(cs_backend *be, cs_buf *src, size_t off, float *dst, size_t n);
clstyle_status cl_upload_window(cs_backend *be, cs_buf *dst, const float *src, cs_window win);
clstyle_status cl_download_window(cs_backend *be, cs_buf *src, size_t rows, size_t row0, float *dst, cs_window win);
clstyle_status cl_scratch(cl_be *c, cl_mem *m, size_t *have, size_t need, const char *what);
/* A device buffer of n floats that the backend keeps for itself (counted in bytes_in_use). */
clstyle_status cl_alloc_raw(cl_be *c, size_t n, cl_mem *out, const char *what);
void cl_release_raw(cl_be *c, cl_mem m);
clstyle_status cl_prepared(cl_be *c, cs_buf *wt, int slot, cl_kernel k, int n_in, int n_out, int block, size_t n, size_t items,
                           cl_mem *out);

/* cl_direct.c: the direct convolution on prepared weights (cl/direct.cl).
 * The forwards of the algorithms add bias (may be NULL) and apply the ReLU
 * if relu, fused where they can. */
clstyle_status cl_direct_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu);
clstyle_status cl_direct_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w);
/* What an algorithm keeps for a ci -> co layer of h x w: prep[0] and
 * prep[1] floats of weight copies for the forward and the backward;
 * scratch[CS_SCRATCH_*] raised to the floats it needs (see
 * cs_backend_mem.conv_memory, and cl_conv_memory for the levels). */
void cl_direct_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch);
/* cl_winograd.c: Winograd F(2x2, 3x3) and F(4x4, 3x3) (cl/winograd.cl);
 * "hybrid": Winograd on the layers with many channels, direct on the others. */
clstyle_status cl_wino_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu);
clstyle_status cl_wino_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w);
void cl_wino_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch);
clstyle_status cl_hybrid_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu);
clstyle_status cl_hybrid_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w);
void cl_hybrid_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch);
clstyle_status cl_wino4_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu);
clstyle_status cl_wino4_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w);
void cl_wino4_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch);
clstyle_status cl_hybrid4_fwd(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu);
clstyle_status cl_hybrid4_bwd(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w);
void cl_hybrid4_memory(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch);
/* WOB for this device: its float16 accumulators must fit in the registers. */
int cl_wino_block(const cs_cl_device *d);
void cl_scratch_free(cl_be *c, cl_mem *m, size_t *have);

/* cl_gemm.c */
clstyle_status cl_gemm(cl_be *c, int ta, int tb, size_t m, size_t n, size_t k, float alpha, cl_mem a, size_t a_off, size_t lda,
                       cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem cm, size_t c_off, size_t ldc, const char *what);
clstyle_status cl_gram_blas(cl_be *c, cs_buf *f, cs_buf *g, int ch, int m);
clstyle_status cl_gram_bwd_blas(cl_be *c, cs_buf *dg, cs_buf *f, cs_buf *df, int ch, int m);
/* Raises scratch[CS_SCRATCH_BLAS] to CLBlast's temporary for a cl_gemm call
 * with these arguments (where CLBlast cannot say: A, B and C padded). */
void cl_gemm_memory(cl_be *c, int ta, int tb, size_t m, size_t n, size_t k, size_t lda, size_t ldb, size_t ldc, size_t a_off,
                    size_t b_off, size_t c_off, size_t *scratch);
void cl_gram_blas_memory(cl_be *c, int ch, int m, size_t *scratch);

/* cl_gram.c: the Gram vtable entries, through CLBlast or our own kernels
 * (c->gram_own; CLSTYLE_GRAM=auto|blas|own, auto: own on CPU devices where
 * the gram family built). */
clstyle_status cl_gram_choose(cl_be *c);
clstyle_status cl_gram(cs_backend *be, cs_buf *f, cs_buf *g, int c, int m);
clstyle_status cl_gram_bwd(cs_backend *be, cs_buf *dg, cs_buf *f, cs_buf *df, int c, int m);
void cl_gram_memory(cs_backend *be, int c, int m, size_t *scratch);

/* cl_conv.c. The direct kernel computes CS_DIRECT_PX pixels (one float16
 * vector in cl/direct.cl) times CS_DIRECT_COB output channels per work-item. */
enum { CS_DIRECT_PX = 16, CS_DIRECT_COB = 16 };
typedef struct {
    const char *name;
    clstyle_status (*fwd)(cl_be *c, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu);
    clstyle_status (*bwd)(cl_be *c, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w);
    int forced_only; /* never the measured choice, only CLSTYLE_CONV's (see cl_conv.c) */
    void (*memory)(cl_be *c, int ci, int co, int h, int w, size_t prep[2], size_t *scratch);
    int copies;      /* keeps rearranged weight copies (cl_prepared): not at the level gemm (cs_mem_mode) */
    unsigned needs;  /* the optional kernel families it runs on: bits 1 << CL_* */
} cl_conv_algo;
extern const cl_conv_algo cl_conv_algos[];
extern const int cl_n_conv_algos;
/* The shape classes the choice is made per: input channels up to max_ci, and
 * the shape (ci -> co at h x w) that stands for the class when timing. */
typedef struct { const char *name; int max_ci, ci, co, h, w; } cl_conv_shape;
extern const cl_conv_shape cl_conv_classes[CS_CONV_CLASSES];
/* The shape class of a convolution with ci input channels. */
int cl_conv_class(int ci);
/* Index of an algorithm by name, or -1. */
int cl_conv_find(const char *name);
/* NULL when algorithm a can run here, else why not (a family's build failure). */
const char *cl_conv_unusable(const cl_be *c, int a);
clstyle_status cl_conv3x3(cs_backend *be, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu);
clstyle_status cl_conv3x3_bwd(cs_backend *be, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w);
void cl_conv_memory(cs_backend *be, int ci, int co, int h, int w, size_t *prep, size_t *scratch);
double cl_conv_seconds(cs_backend *be, int ci, int co, int h, int w);

/* cl_choose.c: c->conv_algo[] from params.cl.conv when forced, else from the
 * cache or by measurement (self-check, then timing per shape class) among
 * the algorithms whose kernels built; the choice and its reasons go to the notes. */
clstyle_status cl_choose_conv(cl_be *c);

/* Kernel arguments: ARGS(kernel, A(x), A(y), ...), each A() a (size, pointer) pair. */
#define A(x) sizeof(x), (const void *)&(x)
#define NARGS(...) NARGS_(__VA_ARGS__, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, _21, _22, _23, _24, N, ...) N
#define ARGS(k, ...) CS_TRY(cl_err(cl_set_args(k, NARGS(__VA_ARGS__) / 2, __VA_ARGS__), "clSetKernelArg", #k))

#endif
