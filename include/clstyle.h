/* clstyle: neural style transfer (Gatys et al.) on OpenCL. Public API.
 *
 * A session holds a device, the VGG weights on it and its compiled kernels;
 * a style set holds style images and the targets computed from them (once
 * per size); a job styles one picture through a session with a style set.
 * Load once, style many:
 *
 *     clstyle_session_options so; clstyle_session_options_default(&so);
 *     so.weights_path = "vgg19.safetensors";
 *     clstyle_session *s; clstyle_session_open(&so, &s);
 *     clstyle_styles_options yo; clstyle_styles_options_default(&yo);
 *     yo.images = styles; yo.n_images = 1;
 *     clstyle_styles *st; clstyle_styles_create(s, &yo, &st);
 *     clstyle_job_options jo; clstyle_job_options_default(&jo);
 *     clstyle_job_run(s, st, photo, &jo, &result);   (any number of times)
 *
 * Everything returns a clstyle_status; clstyle_last_error() holds a one-line
 * message naming the file, tensor or call that failed. Option structs are
 * versioned by their first field, struct_size, which their _default()
 * function sets: a program built against an older, shorter struct keeps
 * working. A session is used by one thread at a time; sessions are
 * independent, so two threads may each run their own at once. */
#ifndef CLSTYLE_H
#define CLSTYLE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLSTYLE_VERSION "0.2.0"
#define CLSTYLE_API_VERSION 2

typedef enum {
    CLSTYLE_OK = 0,
    CLSTYLE_ERR_USAGE,       /* bad option or value: exit code 2 */
    CLSTYLE_ERR_IO,          /* file missing, unreadable or unwritable */
    CLSTYLE_ERR_FORMAT,      /* malformed image or weights file */
    CLSTYLE_ERR_NOMEM,       /* host or device memory exhausted */
    CLSTYLE_ERR_OPENCL,      /* an OpenCL or CLBlast call failed */
    CLSTYLE_ERR_DEVICE,      /* no usable device, or device cannot run the job */
    CLSTYLE_ERR_NUMERIC,     /* loss became NaN or Inf */
    CLSTYLE_ERR_INTERRUPTED  /* stopped by clstyle_session_cancel or the callback */
} clstyle_status;

const char *clstyle_status_str(clstyle_status s);
/* Message of the last failure in this thread ("" when none). */
const char *clstyle_last_error(void);

enum { CLSTYLE_LBFGS = 0, CLSTYLE_ADAM = 1 };
enum { CLSTYLE_BACKEND_OPENCL = 0, CLSTYLE_BACKEND_REFERENCE = 1 };
enum { CLSTYLE_LS_NONE = 0, CLSTYLE_LS_BACKTRACK = 1, CLSTYLE_LS_WOLFE = 2 };

/* ---- Images: RGB, in memory or from files ---- */

typedef struct clstyle_image clstyle_image;
typedef enum { CLSTYLE_PIXELS_U8, CLSTYLE_PIXELS_U16, CLSTYLE_PIXELS_F32 } clstyle_pixels;

/* A copy of interleaved RGB pixels: `stride` bytes from one row to the next
 * (0: packed); 8- and 16-bit values are scaled to [0,1], floats taken as they are. */
clstyle_status clstyle_image_from_pixels(const void *pixels, clstyle_pixels type, int width, int height, size_t stride,
                                         clstyle_image **out);
/* Writes the pixels interleaved RGB (clamped to [0,1], rounded for 8 and 16 bits). */
clstyle_status clstyle_image_to_pixels(const clstyle_image *im, clstyle_pixels type, void *pixels, size_t stride);
int clstyle_image_width(const clstyle_image *im);
int clstyle_image_height(const clstyle_image *im);
/* PNG or JPEG by content, EXIF orientation applied; images over max_megapixels
 * (<= 0: no limit) are refused before their pixels are allocated. */
clstyle_status clstyle_image_load(const char *path, double max_megapixels, clstyle_image **out);
/* Atomic (temporary file in the same folder, then rename): JPEG of `quality`
 * when path ends in .jpg/.jpeg, else PNG of `bits` (8 or 16) per channel. */
clstyle_status clstyle_image_save(const clstyle_image *im, const char *path, int bits, int quality);
/* The temporary file clstyle_image_save fills while it writes `path` (for a
 * signal handler that must remove it before the process ends). */
void clstyle_image_temp_path(const char *path, char *buf, size_t n);
void clstyle_image_free(clstyle_image *im);

/* ---- Events: what a session and a job report while they work ---- */

typedef enum {
    CLSTYLE_EVENT_PHASE,     /* a setup step begins: `phase` */
    CLSTYLE_EVENT_MESSAGE,   /* a note for the user: `message` (a choice made to fit memory, a setup detail) */
    CLSTYLE_EVENT_START,     /* a scale starts: `scale_info` (after its iteration 0 was evaluated) */
    CLSTYLE_EVENT_EVAL,      /* an evaluation of the loss */
    CLSTYLE_EVENT_END        /* a scale's iterations ended: `reason`, at `iteration` with `loss` (the terms too) */
} clstyle_event_kind;

/* A scale of a job as planned and set up (CLSTYLE_EVENT_START). */
typedef struct {
    const char *backend, *device, *arch, *input;  /* backend, device, VGG-16/19, the weights' input convention */
    const char *weights_path, *weights_name, *weights_sha256; /* name: a known file, or NULL; sha256 "" unless asked */
    int width, height, style_width, style_height, styles;
    int scale, scales, iterations;
    int pieces, tile, halo, lbfgs_history, lbfgs_history_wanted;
    int band;                    /* layer-wise bands of this many rows (pieces: how many); 0: none */
    int checkpoint;              /* bands with checkpoints: each stage's maps recomputed for its backward (the host holds no more) */
    double budget_bytes;         /* -1: no bound */
    size_t planned_device_bytes, peak_device_bytes, host_bytes;
    const char *conv_memory;     /* "chosen", "one-copy", "gemm": how much the convolutions traded for memory */
    /* What the session saved: work done for this scale (ms) and work reused. */
    double session_ms;           /* opening the session (device, program, weights), charged to its first job; else 0 */
    double targets_ms;           /* computing the style targets; 0 when reused */
    int targets_reused;          /* the style set had them for this size */
    int weights_reused, program_reused; /* uploaded / built by an earlier job of this session */
    const char *notes;           /* the device's setup choices and why ("" when none) */
} clstyle_scale_info;

typedef struct {
    clstyle_event_kind kind;
    const char *phase;           /* PHASE */
    const char *message;         /* MESSAGE */
    int detail;                  /* MESSAGE: meant for verbose output only */
    const clstyle_scale_info *scale_info; /* START */
    /* EVAL (and START: the scale) */
    int iteration, scale, scales, width, height;
    double loss, content, style, tv, ms; /* weighted total, the unweighted terms, wall time of the evaluation */
    int trial;                   /* a line-search trial that was rejected */
    int restored;                /* no trial was good enough: back at the iteration's start */
    const clstyle_image *picture; /* the current picture, every picture_every iterations (else NULL; valid during the call) */
    /* END: "iterations" (all of them ran), "tolerance" (the job's tolerance rule
     * held), "converged" (the optimizer found no step that lowers the loss) or
     * "interrupted" (a stop was asked for) */
    const char *reason;
    double temporal;             /* EVAL, END: the unweighted temporal term (0 without earlier frames) */
    /* EVAL, END: the coarse term's unweighted content and style losses, one
     * per earlier scale, the smallest first (n_coarse 0 at a scale without
     * it; docs/large-pictures.md); valid during the call */
    const double *coarse_content, *coarse_style;
    int n_coarse;
} clstyle_event;

/* Returns nonzero to stop: during the setup nothing is kept; during the
 * iterations the job ends with the picture so far (CLSTYLE_ERR_INTERRUPTED). */
typedef int (*clstyle_callback)(const clstyle_event *e, void *user);

/* ---- Sessions ---- */

typedef struct clstyle_session clstyle_session;

typedef struct {
    size_t struct_size;
    int backend;                 /* CLSTYLE_BACKEND_OPENCL (default) or _REFERENCE */
    const char *device;          /* OpenCL device: index or name substring; NULL = the first GPU, else CPU */
    const char *weights_path;    /* VGG-16/19 safetensors file ... */
    const void *weights_data;    /* ... or its bytes in memory (weights_size of them) */
    size_t weights_size;
    int pooling_avg;             /* average pooling instead of max */
    double max_memory_mb;        /* device memory budget for buffers; 0 = the device's less headroom */
    int identify_weights;        /* compute the weights' SHA-256 for scale_info */
    clstyle_callback callback;   /* events of opening the session and of jobs without their own; NULL: messages to stderr */
    void *user;
    /* OpenCL tuning (tests, benchmarks, odd devices); NULL/0 = the device's choice */
    const char *conv;            /* convolution algorithm: gemm, direct, winograd, direct+winograd */
    const char *gram;            /* Gram products: blas or own */
    double band_mb, max_alloc_mb; /* im2col band cap; largest buffer */
    double host_memory_mb;       /* host memory a plan may keep; 0 = three quarters of the machine's */
    int max_work_group, profile;
    const char *cache_dir;       /* program cache; NULL = no cache */
} clstyle_session_options;

void clstyle_session_options_default(clstyle_session_options *o);
clstyle_status clstyle_session_open(const clstyle_session_options *o, clstyle_session **out);
void clstyle_session_close(clstyle_session *s);
/* Asks the session's running or next step to stop (async-signal-safe, any thread). */
void clstyle_session_cancel(clstyle_session *s);

/* Prints the OpenCL devices, one per line, with the index `device` takes. */
clstyle_status clstyle_list_devices(void);
/* How many OpenCL devices there are (their indexes are 0 .. *n-1). */
clstyle_status clstyle_device_count(int *n);

/* ---- Style sets ---- */

typedef struct clstyle_styles clstyle_styles;

typedef struct {
    size_t struct_size;
    const clstyle_image *const *images; /* copied: the caller may free them after create */
    int n_images;
    const double *blend;         /* weights >= 0, normalized to sum 1; NULL = equal */
    double scale;                /* style size = picture size x scale (SPEC --style-scale); 1 */
    const char *const *layers;   /* NULL = relu1_1 ... relu5_1 */
    const double *layer_weights; /* NULL = 1 each */
    int n_layers;
    /* Spatial control on the style images (docs/control.md): per image, a
     * mask (grey levels 0..1, the image's aspect ratio) choosing the
     * positions its target is computed from; NULL, or a NULL entry: all. */
    const clstyle_image *const *masks;
    /* Scale control: per image, the style layers it contributes to (a
     * subset of `layers`; when `layers` is NULL, their union is the set's
     * layers); NULL, or a NULL entry: all of the set's layers. */
    const char *const *const *image_layers;
    const int *n_image_layers;
} clstyle_styles_options;

void clstyle_styles_options_default(clstyle_styles_options *o);
clstyle_status clstyle_styles_create(clstyle_session *s, const clstyle_styles_options *o, clstyle_styles **out);
void clstyle_styles_free(clstyle_styles *st);

/* ---- Jobs ---- */

enum { CLSTYLE_INIT_CONTENT = 0, CLSTYLE_INIT_RANDOM = 1, CLSTYLE_INIT_IMAGE = 2 };
/* Colour control (docs/control.md): the style's colours; the content's put
 * back afterwards (original_colors); luminance-only transfer; the style
 * images' colours matched to the content's first. */
enum { CLSTYLE_COLORS_STYLE = 0, CLSTYLE_COLORS_CONTENT = 1, CLSTYLE_COLORS_LUMINANCE = 2, CLSTYLE_COLORS_HISTOGRAM = 3 };

typedef struct {
    size_t struct_size;
    const int *sizes;            /* longer side of each scale of a pyramid, px ... */
    int n_sizes;                 /* ... 0: one scale of `size` */
    int size;                    /* 512 */
    const int *iterations;       /* per scale (n_iterations of them) or NULL: `iteration_count` each */
    int n_iterations;
    int iteration_count;         /* 500 */
    int optimizer;               /* CLSTYLE_LBFGS */
    double learning_rate;        /* Adam's (1.0) */
    int lbfgs_history;           /* 100 */
    int line_search;             /* CLSTYLE_LS_BACKTRACK */
    double content_weight, style_weight, tv_weight;
    const char *const *content_layers; /* NULL = relu4_2 */
    int n_content_layers;
    int init;                    /* CLSTYLE_INIT_*: the content, noise (seed), or init_image */
    const clstyle_image *init_image;
    unsigned long seed;
    int original_colors;         /* keep the content's colours (luminance transfer) in the pictures handed out */
    int tile;                    /* pieces of this many px (multiple of 16); 0 = only when memory needs them */
    int band;                    /* bands of this many rows (multiple of 16); 0 = only when memory needs them */
    int picture_every;           /* EVAL events carry the picture every N iterations (0: never) */
    clstyle_callback callback;   /* NULL: the session's */
    void *user;
    /* Spatial control: per style of the set, in its order, its region of
     * the content (grey levels 0..1, the content's aspect ratio; soft edges
     * allowed); NULL = every style everywhere (docs/control.md). */
    const clstyle_image *const *style_masks;
    int n_style_masks;
    int colors;                  /* CLSTYLE_COLORS_*; original_colors = 1 means CLSTYLE_COLORS_CONTENT */
    /* Stopping early: a scale ends when its loss improved by less than
     * tolerance x |loss| over the last tolerance_window iterations. */
    double tolerance;            /* 0: off, every scale runs its iterations */
    int tolerance_window;        /* 50 */
    /* Video (docs/video.md): the temporal term (SPEC) against earlier
     * frames' results warped to this content, each with the reliability of
     * its flow per pixel (grey levels 0..1); both the content's aspect ratio,
     * resized to each scale. */
    const clstyle_image *const *temporal_warped;
    const clstyle_image *const *temporal_reliable;
    int n_temporal;              /* at most 4 */
    double temporal_weight;      /* delta (SPEC); 0 */
    /* alpha of each scale of a pyramid (n_sizes of them), or NULL:
     * content_weight at every scale (docs/large-pictures.md). */
    const double *scale_content_weights;
    /* The coarse term (docs/large-pictures.md): at every later scale of a
     * pyramid whose sizes double from the first, for each earlier scale,
     * coarse_weight x (its alpha x content + beta x style) of the picture
     * shrunk to its size; 0: off. */
    double coarse_weight;
    /* 1 (the default): every point the optimizer moves to is projected into
     * [0, 1], so the picture written is the one optimized, not a clamped
     * copy of it (docs/large-pictures.md, "The range of the pixels"); 0:
     * free, as before the field existed. */
    int clamp;
} clstyle_job_options;

void clstyle_job_options_default(clstyle_job_options *o);
/* Styles content with the style set (which keeps the targets it computes
 * for the next job); *result (free it) is the last scale's picture. When the
 * job is stopped during the iterations the status is CLSTYLE_ERR_INTERRUPTED
 * and *result holds the picture so far; before them *result is NULL. */
clstyle_status clstyle_job_run(clstyle_session *s, clstyle_styles *st, const clstyle_image *content,
                               const clstyle_job_options *o, clstyle_image **result);

#ifdef __cplusplus
}
#endif
#endif
