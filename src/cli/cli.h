/* The option table behind cs_parse_args, cs_options_default and
 * cs_usage: one row per option. Exposed so tests can check --help and
 * the README against it. */
#ifndef CS_CLI_H
#define CS_CLI_H
#include <stddef.h>
#include "clstyle.h"
#include "eval.h"

enum { CS_CLI_MAX_STYLES = 16, CS_CLI_MAX_LAYERS = 16 };
enum { CS_MAX_SCALES = 8, CS_MAX_OPTIONS = 64 };

/* The command line as parsed: what the session, style set and job are made
 * from (cli_run.c), plus the outputs. */
typedef struct {
    const char *content;                         /* PNG path */
    const char *styles[CS_CLI_MAX_STYLES];      /* PNG paths */
    int n_styles;
    double blend[CS_CLI_MAX_STYLES];            /* style blend weights (n_blend of them) */
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
    const char *content_layers[CS_CLI_MAX_LAYERS];
    int n_content_layers;
    const char *style_layers[CS_CLI_MAX_LAYERS];
    double style_layer_weights[CS_CLI_MAX_LAYERS];
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
    int sizes[CS_MAX_SCALES];
    int n_sizes;
    double scale_content_weights[CS_MAX_SCALES]; /* --content-weight A,B,..: alpha per scale ... */
    int n_scale_content_weights;                 /* ... (0: content_weight at every scale) */
    int single;                                  /* --single: one scale even where --size N alone plans a pyramid */
    int auto_pyramid;                            /* sizes and counts were planned by cs_pyramid_plan */
    double coarse_weight;                        /* --coarse-weight; the automatic pyramid's own unless given */
    int clamp_off;                               /* --clamp off */
    int scale_iterations[CS_MAX_SCALES];
    int n_scale_iterations;
    int tile;                                    /* --tile PX (multiple of 16); 0 = pieces only when memory needs them */
    int band;                                    /* --band ROWS (multiple of 16); 0 = bands only when memory needs them */
    double max_memory_mb;                        /* --max-memory MB for device buffers; 0 = device memory less headroom */
    int line_search;                             /* CLSTYLE_LS_*: what L-BFGS does with a step that raises the loss */
    int jpeg_quality;                            /* --quality N for a .jpg/.jpeg output (92) */
    double max_input_megapixels;                 /* decoded inputs larger than this are refused (--max-input-mp) */
    /* Control (docs/control.md): per style, in -s order. */
    const char *style_masks[CS_CLI_MAX_STYLES];  /* its region of the content (-s FILE:MASK or --style-mask) */
    int n_style_masks;
    const char *style_image_masks[CS_CLI_MAX_STYLES]; /* a mask on the style image, or NULL ("-") */
    int n_style_image_masks;
    const char *style_own_layers[CS_CLI_MAX_STYLES][CS_CLI_MAX_LAYERS]; /* --style-layers-per-style; none: all */
    int n_style_own_layers[CS_CLI_MAX_STYLES];
    int n_styles_with_layers;
    int colors;                                  /* CLSTYLE_COLORS_* (--colors; --original-colors: content) */
    /* Batches (docs/batches.md): -c a folder, glob or @list, or --each-style;
     * -o is then a folder of results named after their inputs. */
    int batch;
    int each_style;                              /* one result per content and style, not a blend */
    int format;                                  /* --format: 0 the input's, 1 png, 2 jpg */
    int overwrite;                               /* redo results that are done */
    const char *summary_path;                    /* --summary FILE (JSON) */
    const char *shard;                           /* --shard K/N as given */
    int shard_count;                             /* --shard-count N (with JOB_COMPLETION_INDEX) */
    const char *given[CS_MAX_OPTIONS];           /* each table row's value as given (NULL: not given), for resume keys */
    double tolerance;                            /* --tolerance X: stop when the loss improved by less than X ... */
    int tolerance_window;                        /* ... (relative) over this many iterations (--tolerance-window) */
    /* Clips (docs/video.md): -c a video file, a numbered pattern or --clip FOLDER. */
    int clip;                                    /* --clip: -c FOLDER is a clip's frames */
    int clip_mode;                               /* -c is a clip (set by validation) */
    int frames_first, frames_last;               /* --frames A:B, 1-based (0: from the start / to the end) */
    double fps;                                  /* --fps: frames per second kept (0: all) */
    int frame_iterations;                        /* iterations of each frame after the first */
    double temporal_weight;                      /* delta of the temporal term */
    int temporal_frames[CS_MAX_SCALES];          /* --temporal-frames: distances to the earlier frames */
    int n_temporal_frames;
    int video_init;                              /* 0 warped, 1 content, 2 previous */
    int flow_quality;                            /* DIS preset: 0 ultrafast, 1 fast, 2 medium */
    int crf;                                     /* x264 quality of a video output */
    char arena[4096];                            /* storage for parsed lists */
} cs_options;

/* Parses a command line into o. Returns CLSTYLE_OK, or CLSTYLE_ERR_USAGE with
 * clstyle_last_error() set. *action is set to 0 (run), 1 (--help),
 * 2 (--version), 3 (--list-devices). Pointers in o point into argv. */
clstyle_status cs_parse_args(int argc, char **argv, cs_options *o, int *action);
void cs_options_default(cs_options *o);
const char *cs_usage(void);
/* Whether --init names a picture (not "content" or "random"). */
int cs_options_init_file(const cs_options *o);
/* The options' losses (for tests and tools that evaluate them directly). */
void cs_options_loss_spec(const cs_options *o, cs_loss_spec *spec);
/* An evaluator of the options' losses (whole unless o->tile) for these images. */
clstyle_status cs_options_eval_init(cs_eval *E, cs_net *net, const cs_options *o, cs_eval_image content,
                                    const cs_eval_image *styles, const double *blend, int n_styles);
/* Runs the command line's job through the session API (cli_run.c). */
clstyle_status cs_cli_run(const cs_options *o);
/* Runs a batch (batch.c): CLSTYLE_OK when at least one result is done or
 * none was to do, with *failed the number of results that failed. */
clstyle_status cs_batch_run(const cs_options *o, int *failed);
/* Whether --device names several devices ("all" or a comma list). */
int cs_devices_many(const char *spec);

typedef struct cs_parse cs_parse;
typedef struct cs_option cs_option;
/* Parses and validates one value v (NULL for a flag) of option d. */
typedef clstyle_status (*cs_option_fn)(const cs_option *d, cs_parse *p, const char *v);

struct cs_option {
    const char *name;        /* "--size" */
    const char *short_name;  /* "-c", or NULL */
    const char *arg;         /* "N", "lbfgs|adam" (choices), or NULL for a flag */
    const char *def;         /* default, given to `parse` by cs_options_default; NULL: zero */
    const char *help;        /* one line; '\n' continues it on the next */
    cs_option_fn parse;
    size_t field;            /* offset of the value in cs_options */
    double lo, hi;           /* range of a number, item count of a list, or the action of a flag */
};

/* The table, *n rows. */
const cs_option *cs_option_table(int *n);

#endif
