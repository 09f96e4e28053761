#include "weights.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rng.h"
#include "safetensors.h"

static void set_arch(cs_weights *w, int depth)
{
    cs_vgg a;
    cs_vgg_layout(depth, &a);
    memset(w, 0, sizeof *w);
    snprintf(w->arch, sizeof w->arch, "vgg%d", depth);
    w->depth = depth;
    w->n_conv = a.n_conv;
    memcpy(w->block_convs, a.block_convs, sizeof w->block_convs);
    memcpy(w->cin, a.cin, sizeof w->cin);
    memcpy(w->cout, a.cout, sizeof w->cout);
}

/* torchvision's features.N of layer `name` (VGG-`depth`), or -1. */
static int torch_index_of(int depth, const char *name)
{
    cs_vgg a;
    int i = cs_vgg_layout(depth, &a) == 0 ? cs_vgg_find(&a, name) : -1;
    return i < 0 ? -1 : a.nodes[i].torch_index;
}

int cs_weights_torch_index(const cs_weights *w, int k)
{
    cs_vgg a;
    if (cs_vgg_layout(w->depth, &a)) return -1;
    for (int i = 0; i < a.n_nodes; i++)
        if (a.nodes[i].type == CS_VGG_CONV && a.nodes[i].conv == k) return a.nodes[i].torch_index;
    return -1;
}

/* Sets the affine map from RGB [0,1] to the network's expected input. */
static clstyle_status set_input(cs_weights *w, const char *input, const char *path)
{
    static const float im_mean[3] = { 0.485f, 0.456f, 0.406f }, im_std[3] = { 0.229f, 0.224f, 0.225f };
    static const float caffe_mean_rgb[3] = { 123.68f, 116.779f, 103.939f };
    int caffe = !strcmp(input, "rgb255_caffe") || !strcmp(input, "bgr255_caffe");
    if (!caffe && strcmp(input, "rgb01_imagenet"))
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: unknown input convention '%s' in metadata (expected rgb01_imagenet, rgb255_caffe or bgr255_caffe)", path, input);
    snprintf(w->input, sizeof w->input, "%s", input);
    for (int c = 0; c < 3; c++) {
        w->in_scale[c] = caffe ? 255.0f : 1.0f / im_std[c];
        w->in_offset[c] = caffe ? -caffe_mean_rgb[c] : -im_mean[c] / im_std[c];
    }
    if (!strcmp(input, "bgr255_caffe")) {
        /* Reverse conv1_1's input channels so the network takes RGB: exact. */
        for (int o = 0; o < w->cout[0]; o++)
            for (int t = 0; t < 9; t++) {
                float *p = w->w[0] + (size_t)o * 27;
                float tmp = p[t];
                p[t] = p[18 + t];
                p[18 + t] = tmp;
            }
    }
    return CLSTYLE_OK;
}

/* A NaN or Inf weight would surface much later as a NaN loss, with advice
 * (a lower learning rate) that cannot help; refuse the file instead. */
static clstyle_status check_finite(const st_file *f, const char *name, const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s' holds %s at element %zu", f->path, name,
                           isnan(v[i]) ? "NaN" : "Inf", i);
    return CLSTYLE_OK;
}

static clstyle_status load_tensor(const st_file *f, const char *name, int ndim, const int64_t *shape, float **out)
{
    const st_tensor *t = st_find(f, name);
    if (!t) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s' is missing", f->path, name);
    int ok = t->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++) ok = t->shape[i] == shape[i];
    if (!ok) {
        char got[96] = "", want[96] = "";
        for (int i = 0; i < t->ndim; i++) snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "", (long long)t->shape[i]);
        for (int i = 0; i < ndim; i++) snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "", (long long)shape[i]);
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s' has shape [%s]; expected [%s]", f->path, name, got, want);
    }
    size_t n = (size_t)st_numel(t);
    *out = malloc(n * sizeof(float));
    if (!*out) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory loading '%s'", name);
    CS_TRY(st_read_f32(f, t, *out));
    return check_finite(f, name, *out, n);
}

static int detect_depth(const st_file *f)
{
    if (!strcmp(f->arch, "vgg19")) return 19;
    if (!strcmp(f->arch, "vgg16")) return 16;
    /* VGG-16 has no conv3_4; VGG-19's is a tensor where VGG-16 has a pool. */
    char name[48];
    snprintf(name, sizeof name, "features.%d.weight", torch_index_of(19, "conv3_4"));
    return st_find(f, name) ? 19 : 16;
}

/* The weights of an open safetensors file (closed here); path names it in messages. */
static clstyle_status load_file(st_file f, const char *path, const cs_stop *stop, cs_weights *w)
{
    if (f.arch[0] && strcmp(f.arch, "vgg16") && strcmp(f.arch, "vgg19")) {
        clstyle_status bad = cs_fail(CLSTYLE_ERR_FORMAT, "%s: unsupported arch '%s' in metadata (expected vgg16 or vgg19)",
                                     path, f.arch); /* before st_close clears f.arch */
        st_close(&f);
        return bad;
    }
    set_arch(w, detect_depth(&f));
    clstyle_status st = CLSTYLE_OK;
    for (int k = 0; k < w->n_conv; k++) {
        char name[64];
        int idx = cs_weights_torch_index(w, k);
        int64_t wshape[4] = { w->cout[k], w->cin[k], 3, 3 }, bshape[1] = { w->cout[k] };
        CS_CHECK(cs_stop_check(stop));
        snprintf(name, sizeof name, "features.%d.weight", idx);
        CS_CHECK(load_tensor(&f, name, 4, wshape, &w->w[k]));
        snprintf(name, sizeof name, "features.%d.bias", idx);
        CS_CHECK(load_tensor(&f, name, 1, bshape, &w->b[k]));
    }
    CS_CHECK(set_input(w, f.input[0] ? f.input : "rgb01_imagenet", path));
done:
    st_close(&f);
    if (st != CLSTYLE_OK) cs_weights_free(w);
    return st;
}

clstyle_status cs_weights_load(const char *path, const cs_stop *stop, cs_weights *w)
{
    st_file f;
    CS_TRY(st_open(path, &f));
    return load_file(f, path, stop, w);
}

clstyle_status cs_weights_load_memory(const void *data, size_t n, const cs_stop *stop, cs_weights *w)
{
    st_file f;
    CS_TRY(st_open_memory(data, n, "weights in memory", &f));
    return load_file(f, "weights in memory", stop, w);
}

clstyle_status cs_weights_synthetic(int depth, unsigned long seed, cs_weights *w)
{
    set_arch(w, depth == 19 ? 19 : 16);
    cs_rng rng;
    cs_rng_seed(&rng, seed);
    for (int k = 0; k < w->n_conv; k++) {
        size_t nw = (size_t)w->cout[k] * w->cin[k] * 9;
        w->w[k] = malloc(nw * sizeof(float));
        w->b[k] = malloc((size_t)w->cout[k] * sizeof(float));
        if (!w->w[k] || !w->b[k]) {
            cs_weights_free(w);
            return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
        }
        float sd = sqrtf(2.0f / (float)(w->cin[k] * 9)); /* He init keeps activations O(1) */
        for (size_t i = 0; i < nw; i++) w->w[k][i] = sd * cs_rng_normal(&rng);
        for (int i = 0; i < w->cout[k]; i++) w->b[k][i] = 0.01f * cs_rng_normal(&rng);
    }
    return set_input(w, "rgb01_imagenet", "synthetic");
}

void cs_weights_free(cs_weights *w)
{
    for (int k = 0; k < CS_MAX_CONV; k++) {
        free(w->w[k]);
        free(w->b[k]);
        w->w[k] = w->b[k] = NULL;
    }
}
