/* The insides of the public session and style set, shared by session.c
 * (opening, style sets, events) and driver.c (running a job). */
#ifndef CS_SESSION_H
#define CS_SESSION_H
#include "clstyle.h"
#include "image.h"
#include "evaluator.h"
#include "stop.h"
#include "weights_id.h"

struct clstyle_session {
    clstyle_session_options o;  /* strings point into `strings` */
    char *strings[5];
    cs_stop stop;
    cs_backend *be;
    cs_backend *host;           /* the host's memory: the optimizer's in bands (cs_state_create) */
    int conv_forced;            /* o.conv names an algorithm: the planner keeps it */
    cs_weights weights;
    cs_net net;                 /* on be: the convolutions up to node net_last */
    int net_last;
    cs_weights_id id;
    double open_ms;             /* what opening cost, reported by the first job */
    int jobs;                   /* jobs run so far */
};

/* The style targets of one style size, kept on the host (they are small:
 * c x c per layer) and uploaded to every job at that size. */
typedef struct {
    int size;                   /* the styles' longer side */
    int w, h;                   /* the first style's size there */
    float *targets;             /* cs_terms_target_floats of them */
    double ms;                  /* what computing them took */
    int groups;                 /* their layout: 1, or one group per masked style */
} cs_targets;

struct clstyle_styles {
    clstyle_session *s;
    int n;
    cs_image *images;           /* copies, as decoded */
    double *blend;              /* normalized */
    double scale;
    const char **layers;        /* copies */
    double *layer_weights;
    int n_layers;
    cs_image *masks;            /* per image: its mask as grey in every channel, or w = 0: none */
    int any_mask;
    unsigned *image_layers;     /* per image: bits over `layers` */
    int any_layers;
    cs_targets *cache;
    int n_cache;
};

/* The backend parameters the options ask for. */
void cs_session_params(const clstyle_session_options *o, cs_backend_params *p);
/* Hands an event to the job's or the session's callback; nonzero: stop. */
int cs_session_emit(clstyle_session *s, clstyle_callback cb, void *user, const clstyle_event *e);
/* A setup step begins: emits PHASE; fails with CLSTYLE_ERR_INTERRUPTED if asked to stop. */
clstyle_status cs_session_phase(clstyle_session *s, clstyle_callback cb, void *user, const char *phase);
/* A note for the user (detail: only for verbose output). */
void cs_session_message(clstyle_session *s, clstyle_callback cb, void *user, int detail, const char *fmt, ...);
/* The network on the device up to at least node `last` (uploaded again
 * deeper when an earlier job needed less); *reused when nothing moved. */
clstyle_status cs_session_net(clstyle_session *s, int last, int *reused);
/* The cache entry for a style size and layout, or NULL. */
cs_targets *cs_styles_cached(const clstyle_styles *st, int size, int groups);
/* A mask as the evaluators take it: grey (the mean of R, G, B, clamped to
 * [0,1]) in every channel; refused, naming `what`, unless its aspect ratio
 * is the picture's (w x h) within 2 %. */
clstyle_status cs_mask_prepare(const cs_image *mask, int w, int h, const char *what, cs_image *out);
/* Fails, naming `what`, unless im has the aspect ratio of a w x h picture (within 2%). */
clstyle_status cs_check_aspect(const cs_image *im, int w, int h, const char *what);
/* Keeps targets (taking ownership) for a style size. */
clstyle_status cs_styles_keep(clstyle_styles *st, const cs_targets *t);

#endif
