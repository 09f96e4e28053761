/* The backend vtable: every operation the network, losses and optimizers
 * need. The driver calls only this table, so the image, activations and
 * optimizer state stay on the backend; only scalars come back.
 *
 * Shapes: feature maps are planar (C, H, W) float32; conv weights are
 * (Cout, Cin, 3, 3). All counts are in floats. "+=" ops accumulate. */
#ifndef CS_BACKEND_H
#define CS_BACKEND_H
#include <stddef.h>
#include "clstyle.h"
#include "cl_params.h"

typedef struct cs_buf cs_buf;        /* opaque, defined by each backend */
enum { CS_MAX_ROWS = 2048 };          /* rows of multi_dot / combine: 2 x the L-BFGS history */
enum { CS_MAX_VECS = 3 };             /* vectors of one multi_dot: the new pair's two and the gradient */
typedef struct cs_backend cs_backend;

/* A window of rows y0..y0+h and columns x0..x0+w of every channel of a
 * (c, H, W) buffer: what the image and its feature maps are cut into when a
 * job is evaluated in pieces. 64-bit throughout: a whole map may pass 2^31. */
typedef struct { size_t c, H, W, y0, x0, h, w; } cs_window;

/* The scratch buffers a backend may keep (cs_backend_mem): an
 * im2col band or Winograd's input tiles, Winograd's products, partial Gram
 * matrices, BLAS temporaries, the one weight copy of level one-copy. */
enum { CS_SCRATCH_COL, CS_SCRATCH_WINO, CS_SCRATCH_PARTS, CS_SCRATCH_BLAS, CS_SCRATCH_PREP, CS_SCRATCH_KINDS };
static inline void cs_raise(size_t *have, size_t need) { *have = need > *have ? need : *have; }

typedef struct cs_backend_ops {
    void (*destroy)(cs_backend *be);

    /* Buffers: n floats, zero-filled on alloc. */
    clstyle_status (*alloc)(cs_backend *be, size_t n, cs_buf **out);
    void (*release)(cs_backend *be, cs_buf *b);
    clstyle_status (*upload)(cs_backend *be, cs_buf *dst, size_t off, const float *src, size_t n);
    clstyle_status (*download)(cs_backend *be, cs_buf *src, size_t off, float *dst, size_t n);
    /* The buffer's floats where buffers are host memory (the reference
     * backend); NULL elsewhere (the op may be NULL): transfers between
     * backends then go straight into them. */
    float *(*host_data)(cs_backend *be, cs_buf *b);
    /* dst (c,h,w) = window win of the host array src (c,H,W), and the
     * reverse from rows [row0, row0 + h) of src (c,rows,w): one strided
     * transfer each (bands of a layer kept on the host; the reverse takes a
     * band's interior without cutting it out first). */
    clstyle_status (*upload_window)(cs_backend *be, cs_buf *dst, const float *src, cs_window win);
    clstyle_status (*download_window)(cs_backend *be, cs_buf *src, size_t rows, size_t row0, float *dst, cs_window win);

    /* y (co,h,w) = conv3x3(x (ci,h,w), wt (co,ci,3,3)), stride 1, zero pad 1,
     * + bias (co) unless bias is NULL, then ReLU if relu: one pass where the
     * backend can fuse them. */
    clstyle_status (*conv3x3)(cs_backend *be, cs_buf *x, cs_buf *wt, cs_buf *bias, cs_buf *y, int ci, int co, int h, int w, int relu);
    /* dx (ci,h,w) = gradient of conv3x3 (without bias and ReLU) w.r.t. its input, given dy (co,h,w). */
    clstyle_status (*conv3x3_bwd)(cs_backend *be, cs_buf *dy, cs_buf *wt, cs_buf *dx, int ci, int co, int h, int w);
    /* In place on y (c,hw): y += bias[c] (bias may be NULL), then ReLU if relu. */
    clstyle_status (*bias_relu)(cs_backend *be, cs_buf *y, cs_buf *bias, int c, int hw, int relu);
    /* In place: dy[i] = y[i] > 0 ? dy[i] : 0, y being the ReLU output. */
    clstyle_status (*relu_bwd)(cs_backend *be, cs_buf *y, cs_buf *dy, size_t n);
    /* 2x2 stride-2 pool: x (c,h,w) -> y (c,h/2,w/2); odd last row/column dropped. */
    clstyle_status (*pool)(cs_backend *be, cs_buf *x, cs_buf *y, int c, int h, int w, int avg);
    /* dx (c,h,w) = gradient of pool given dy (c,h/2,w/2); max routes to the first maximum.
     * relu: x is a ReLU's output and dx goes on through that ReLU too (relu_bwd
     * with y = x), in the same pass over dx. */
    clstyle_status (*pool_bwd)(cs_backend *be, cs_buf *x, cs_buf *dy, cs_buf *dx, int c, int h, int w, int avg, int relu);

    /* g (c,c) = f f^T / (c m), f being (c,m). */
    clstyle_status (*gram)(cs_backend *be, cs_buf *f, cs_buf *g, int c, int m);
    /* df (c,m) += 2/(c m) dg f, for symmetric dg (c,c): the gradient through gram. */
    clstyle_status (*gram_bwd)(cs_backend *be, cs_buf *dg, cs_buf *f, cs_buf *df, int c, int m);
    /* *sum = sum (a-b)^2; if grad, grad += gscale (a-b). *sum may be filled in
     * only at the next finish() (so a device need not stop for it). */
    clstyle_status (*sqdiff)(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, float gscale, cs_buf *grad, double *sum);
    /* *val = L_tv(x) per SPEC for x (c,h,w); if grad, grad += gscale dL_tv/dx.
     * *val may be filled in only at the next finish(). */
    clstyle_status (*tv)(cs_backend *be, cs_buf *x, int c, int h, int w, float gscale, cs_buf *grad, double *val);
    /* *sum = sum over (c, p) of m[p] (a-b)^2 for a, b (c,hw), the weight m (hw)
     * broadcast over the channels (n = c hw); if grad, grad += gscale m (a-b):
     * the temporal term (SPEC). *sum may be filled in only at the next finish(). */
    clstyle_status (*masked_sqdiff)(cs_backend *be, cs_buf *a, cs_buf *b, cs_buf *m, size_t hw, size_t n, float gscale,
                                    cs_buf *grad, double *sum);
    /* y (c,hw) = x * s[c] + o[c]; preprocessing (and, with o = 0, its backward). */
    clstyle_status (*affine)(cs_backend *be, cs_buf *x, cs_buf *y, int c, int hw, const float *s, const float *o);
    /* y (c,hw) = x * m[position] (add: y += x * m[position]), m (hw) broadcast
     * over the channels: a mask on a feature map (spatial control). x may be y
     * when not adding. */
    clstyle_status (*mask_mul)(cs_backend *be, cs_buf *x, cs_buf *m, cs_buf *y, int c, size_t hw, int add);

    /* dst (c,h,w) = window win of src (c,H,W). */
    clstyle_status (*crop)(cs_backend *be, cs_buf *src, cs_window win, cs_buf *dst);
    /* window win of dst (c,H,W) += src (c,h,w): the inverse of crop, accumulating. */
    clstyle_status (*paste_add)(cs_backend *be, cs_buf *src, cs_window win, cs_buf *dst);

    /* Vector operations for the optimizers. */
    clstyle_status (*dot)(cs_backend *be, cs_buf *a, cs_buf *b, size_t n, double *out);
    clstyle_status (*asum)(cs_backend *be, cs_buf *a, size_t n, double *out);
    clstyle_status (*axpy)(cs_backend *be, float a, cs_buf *x, cs_buf *y, size_t n);  /* y += a x */
    clstyle_status (*scale)(cs_backend *be, float a, cs_buf *x, size_t n);           /* x *= a */
    clstyle_status (*clamp)(cs_backend *be, cs_buf *x, float lo, float hi, size_t n); /* x = min(max(x, lo), hi) */
    /* v = 0 where x is at a bound that g pushes it past (x <= lo, g > 0 or
     * x >= hi, g < 0): the variables that a projected step cannot move. */
    clstyle_status (*bound_mask)(cs_backend *be, cs_buf *v, cs_buf *x, cs_buf *g, float lo, float hi, size_t n);
    clstyle_status (*copy)(cs_backend *be, cs_buf *src, cs_buf *dst, size_t n);
    /* dst[off .. off+n) = src[0 .. n): stores a vector as a row of a matrix. */
    clstyle_status (*copy_at)(cs_backend *be, cs_buf *src, cs_buf *dst, size_t off, size_t n);
    /* out[j * rows + r] = mat[r,:] . vs[j] for the first `rows` rows of mat (rows, n)
     * and nv <= CS_MAX_VECS vectors: one pass over mat, one round trip. */
    clstyle_status (*multi_dot)(cs_backend *be, cs_buf *mat, int rows, cs_buf *const *vs, int nv, size_t n, double *out);
    /* out = sum over r < rows of coef[r] mat[r,:] (coef on the host, rows <= CS_MAX_ROWS). */
    clstyle_status (*combine)(cs_backend *be, cs_buf *mat, int rows, const float *coef, cs_buf *out, size_t n);
    clstyle_status (*fill)(cs_backend *be, cs_buf *x, float v, size_t n);
    /* Waits for the deferred scalars of sqdiff, tv and masked_sqdiff. */
    clstyle_status (*finish)(cs_backend *be);
    /* One Adam step on x with gradient g and moments m, v (step t >= 1). */
    clstyle_status (*adam)(cs_backend *be, cs_buf *x, cs_buf *g, cs_buf *m, cs_buf *v, size_t n,
                           float lr, float b1, float b2, float eps, int t);
} cs_backend_ops;

/* How much memory a backend's convolutions may use: lean 0 = the algorithms
 * chosen, each weight buffer keeping its rearranged copies; 1 = the same
 * algorithms with one copy at a time (one layer, one direction), remade
 * whenever another is needed; 2 = the same, but the direct kernel (copies
 * the weights' size) in place of Winograd where it beats im2col + GEMM;
 * 3 = none keeping any copy (im2col + GEMM); band_bytes = the im2col band cap. */
typedef struct { int lean; size_t band_bytes; } cs_mem_mode;
enum { CS_LEAN_LEVELS = 4 };
/* "chosen", "one-copy", "direct-copy", "gemm": the names of the levels, here only. */
static inline const char *cs_lean_name(int lean)
{
    static const char *const names[CS_LEAN_LEVELS] = { "chosen", "one-copy", "direct-copy", "gemm" };
    return lean >= 0 && lean < CS_LEAN_LEVELS ? names[lean] : "?";
}
typedef struct cs_backend_mem {
    cs_mem_mode (*default_mode)(cs_backend *be);          /* lean 0 and the device's own band cap */
    void (*set_mode)(cs_backend *be, cs_mem_mode mode);   /* the one explicit call that sets it */
    /* at the current mode: what an h x w ci->co convolution (fwd + bwd) and a Gram of c channels over m positions add */
    void (*conv_memory)(cs_backend *be, int ci, int co, int h, int w, size_t *prep, size_t scratch[CS_SCRATCH_KINDS]);
    void (*gram_memory)(cs_backend *be, int c, int m, size_t scratch[CS_SCRATCH_KINDS]);
    /* at the current mode: the predicted seconds of one such convolution (either direction); 0: unknown */
    double (*conv_seconds)(cs_backend *be, int ci, int co, int h, int w);
} cs_backend_mem;
/* (conv_memory: *prep = floats of weight copies kept with the weights;
 * gram_memory and conv_memory raise scratch[] to the floats of each scratch
 * buffer they grow, kept by the backend and shared by all ops.) */

struct cs_backend {
    const cs_backend_ops *ops;
    const cs_backend_mem *mem; /* NULL: no scratch and no memory modes (reference, null) */
    char name[64];          /* "reference", "opencl" or "measure" */
    char device[256];       /* human-readable device description */
    size_t bytes_in_use, bytes_peak; /* buffer memory, tracked by each backend */
    size_t mem_limit;       /* device memory for buffers; 0 when unknown (host) */
    size_t max_alloc;       /* largest single buffer in bytes; 0 = no limit (host) */
    char notes[2048];       /* setup choices and why, for --verbose ("" if none) */
    /* The host-device bandwidth (GB/s), measured by the planner when it
     * needs it (0: not yet, < 0: unknown): its time model. */
    double transfer_gbs;
    /* Counted by the counting backend: the convolutions' FLOPs, their
     * seconds predicted by the model's memory interface (0: unknown), and
     * the bytes uploaded and downloaded that the operations asked for. */
    double conv_flop, conv_seconds, moved_bytes;
};

/* Everything that configures a backend, read once at the edge (the command
 * line and the CLSTYLE_* environment, see cs_backend_params_from_env) so that
 * backends never call getenv and tests choose paths by setting fields. */
typedef struct cs_backend_params {
    const char *device;     /* OpenCL device: index or name (CLSTYLE_DEVICE); NULL = default */
    size_t mem_limit;       /* device memory clstyle may use (--max-memory, CLSTYLE_DEVICE_MEM_MB); 0 = the device's */
    size_t max_alloc;       /* largest single buffer (CLSTYLE_MAX_ALLOC_MB); 0 = the device's */
    cs_cl_params cl;        /* the OpenCL backend's own settings */
} cs_backend_params;

/* The backends (cs_backend_create in factory.h picks one by name). */
clstyle_status cs_backend_reference_create(cs_backend **out);
/* The counting backend: allocates nothing and computes nothing, but counts
 * the buffer memory a job asks for, and, when model (may be NULL) has a
 * memory interface, the scratch and weight copies model reports per shape at
 * its current mode: sizing a job for a device. */
clstyle_status cs_backend_null_create(cs_backend *model, cs_backend **out);
clstyle_status cs_backend_opencl_create(const cs_backend_params *params, cs_backend **out);

/* Where an OpenCL backend created with params.profile spent its device time
 * since the previous call (which this resets): ms per family of kernels (and
 * of the windows' transfers between host arrays and the device), and
 * the FLOPs of the convolutions and Gram products (GFLOP/s = flop / ms / 1e6);
 * kernels: also print the interval's per-kernel table on stderr. */
typedef struct { double conv_ms, gram_ms, eltwise_ms, optim_ms, transfer_ms, conv_flop, gram_flop; } cs_profile;
clstyle_status cs_backend_opencl_profile(cs_backend *be, cs_profile *out, int kernels);

/* Convenience wrappers so call sites read like the math. */
#define CS_OP(be, op, ...) ((be)->ops->op((be), __VA_ARGS__))

static inline float *cs_host_data(cs_backend *be, cs_buf *b) { return be->ops->host_data ? be->ops->host_data(be, b) : NULL; }
static inline clstyle_status cs_backend_finish(cs_backend *be) { return be->ops->finish(be); }
static inline void cs_backend_destroy(cs_backend *be) { if (be) be->ops->destroy(be); }
static inline void cs_buf_release(cs_backend *be, cs_buf *b) { if (b) be->ops->release(be, b); }

#endif
