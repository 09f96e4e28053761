/* clstyle: neural style transfer (Gatys et al.) on OpenCL.
 * Public API. Everything returns a clstyle_status; clstyle_last_error() holds
 * a one-line message naming the file, tensor or call that failed. */
#ifndef CLSTYLE_H
#define CLSTYLE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CLSTYLE_VERSION "0.1.0"

typedef enum {
    CLSTYLE_OK = 0,
    CLSTYLE_ERR_USAGE,       /* bad option or value: exit code 2 */
    CLSTYLE_ERR_IO,          /* file missing, unreadable or unwritable */
    CLSTYLE_ERR_FORMAT,      /* malformed image or weights file */
    CLSTYLE_ERR_NOMEM,       /* host or device memory exhausted */
    CLSTYLE_ERR_OPENCL,      /* an OpenCL or CLBlast call failed */
    CLSTYLE_ERR_DEVICE,      /* no usable device, or device cannot run the job */
    CLSTYLE_ERR_NUMERIC,     /* loss became NaN or Inf */
    CLSTYLE_ERR_INTERRUPTED  /* stopped by a signal */
} clstyle_status;

const char *clstyle_status_str(clstyle_status s);
/* Message of the last failure in this thread ("" when none). */
const char *clstyle_last_error(void);

#define CLSTYLE_MAX_STYLES 16
#define CLSTYLE_MAX_LAYERS 16
#define CLSTYLE_MAX_SCALES 8

typedef struct {
    const char *content;                         /* PNG path */
    const char *styles[CLSTYLE_MAX_STYLES];      /* PNG paths */
    int n_styles;
    double blend[CLSTYLE_MAX_STYLES];            /* style blend weights (n_blend of them) */
    int n_blend;
    const char *output;                          /* PNG path, written atomically */
    const char *weights;                         /* safetensors file */
    int size;                                    /* longer side of the content, px */
    double style_scale;
    int iterations;
    int optimizer;                               /* 0 lbfgs, 1 adam */
    double learning_rate;
    int lbfgs_history;
    double content_weight, style_weight, tv_weight;
    const char *content_layers[CLSTYLE_MAX_LAYERS];
    int n_content_layers;
    const char *style_layers[CLSTYLE_MAX_LAYERS];
    double style_layer_weights[CLSTYLE_MAX_LAYERS];
    int n_style_layers;
    const char *init;                            /* "content", "random" or a PNG path */
    unsigned long seed;
    int original_colors;
    int output_bits;                             /* 8 or 16 bits per channel */
    int pooling_avg;
    int save_every;
    const char *device;                          /* index or name substring; NULL = default */
    int backend;                                 /* 0 opencl, 1 reference */
    const char *log_path;
    int quiet;
    int verbose;
    /* Size pyramid (--size A,B,C): n_sizes == 0 means one scale at `size`;
     * otherwise sizes[n_sizes-1] == size. --iterations N,M,..: n_scale_iterations
     * counts per scale (0 or 1 of them: `iterations` for every scale). */
    int sizes[CLSTYLE_MAX_SCALES];
    int n_sizes;
    int scale_iterations[CLSTYLE_MAX_SCALES];
    int n_scale_iterations;
    int tile;                                    /* --tile PX (multiple of 16); 0 = pieces only when memory needs them */
    double max_memory_mb;                        /* --max-memory MB for device buffers; 0 = device memory less headroom */
    int line_search;                             /* CLSTYLE_LS_*: what L-BFGS does with a step that raises the loss */
    int jpeg_quality;                            /* --quality N for a .jpg/.jpeg output (92) */
    double max_input_megapixels;                 /* decoded inputs larger than this are refused (--max-input-mp) */
    char arena[4096];                            /* storage for parsed lists */
} clstyle_options;

enum { CLSTYLE_LBFGS = 0, CLSTYLE_ADAM = 1 };
enum { CLSTYLE_BACKEND_OPENCL = 0, CLSTYLE_BACKEND_REFERENCE = 1 };
enum { CLSTYLE_LS_NONE = 0, CLSTYLE_LS_BACKTRACK = 1, CLSTYLE_LS_WOLFE = 2 };

void clstyle_options_default(clstyle_options *o);

/* Parses a command line into o. Returns CLSTYLE_OK, or CLSTYLE_ERR_USAGE with
 * clstyle_last_error() set. *action is set to 0 (run), 1 (--help),
 * 2 (--version), 3 (--list-devices). Pointers in o point into argv. */
clstyle_status clstyle_parse_args(int argc, char **argv, clstyle_options *o, int *action);
const char *clstyle_usage(void);

/* Runs one style transfer as configured. */
clstyle_status clstyle_run(const clstyle_options *o);

/* Asks a running clstyle_run to stop (async-signal-safe). Before the first
 * evaluation it returns CLSTYLE_ERR_INTERRUPTED at the next step boundary
 * with nothing written; during the iterations it finishes the current
 * evaluation, writes the result so far and returns CLSTYLE_ERR_INTERRUPTED. */
void clstyle_interrupt(void);
/* The temporary file an atomic write is filling now, or NULL
 * (async-signal-safe): a handler that ends the process at once removes it. */
const char *clstyle_pending_file(void);

/* Prints the OpenCL devices, one per line, with the index --device takes. */
clstyle_status clstyle_list_devices(void);

#ifdef __cplusplus
}
#endif
#endif
