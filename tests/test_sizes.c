/* Sizes past 2^31 on the counting (null) backend, which allocates nothing:
 * a 16384x12288 picture has 12.9 billion floats in conv1_1's output, 604
 * million in the image itself. Every count must come out exactly as 64-bit
 * arithmetic gives it, whole and in pieces, and for the optimizer's history. */
#include <stdint.h>

#include "backend.h"
#include "cli.h"
#include "optim.h"
#include "eval.h"
#include "eval_pieces.h"
#include "testutil.h"

enum { H = 12288, W = 16384 };
static const uint64_t HW = (uint64_t)H * W;

static void whole_activations(cs_backend *nb, cs_net *net)
{
    size_t before = nb->bytes_in_use;
    int tapped[CS_MAX_NODES] = { 0 };
    cs_acts a;
    CHECK_OK(cs_acts_create(net, H, W, 1 /* relu1_1 */, tapped, &a));
    /* input (3 HW) + conv1_1, with its ReLU in place (64 HW) + two gradient buffers of 64 HW */
    uint64_t want = 4 * (3 * HW + 64 * HW + 2 * 64 * HW), got = nb->bytes_in_use - before;
    fprintf(stderr, "activations to relu1_1 at %dx%d: %.1f GiB\n", W, H, got / 1073741824.0);
    CHECK(got == want, "activations take %zu bytes, want %llu", (size_t)got, (unsigned long long)want);
    CHECK(want > ((uint64_t)1 << 34), "the case must cross 2^31 floats");
    cs_acts_destroy(&a);
    CHECK(nb->bytes_in_use == before, "%zu bytes not released", nb->bytes_in_use - before);
}

static void pieces(cs_backend *nb, cs_net *net)
{
    cs_options o;
    cs_options_default(&o);
    o.content_layers[0] = "relu5_1"; /* its host target (1.6 GB) is counted, not made, when sizing */
    o.tile = 1024;
    cs_eval_image content = { NULL, W, H }, style = { NULL, W, H };
    double blend = 1;
    cs_eval L;
    size_t before = nb->bytes_in_use;
    CHECK_OK(cs_options_eval_init(&L, net, &o, content, &style, &blend, 1));
    int halo = L.halo;
    size_t device = nb->bytes_in_use - before;
    fprintf(stderr, "in pieces of 1024 px: halo %d, %d pieces, %.1f MiB on the device, %.1f GiB on the host\n", halo,
            cs_pieces_count(H, W, 1024), device / 1048576.0, L.host_bytes / 1073741824.0);
    CHECK(halo == 80, "halo %d for relu5_1, want 80", halo);
    /* Pieces bound the device memory: that of a 1184 px image (3.5 GiB), not of this one (~330 GiB). */
    CHECK(device < ((size_t)4 << 30), "%zu device bytes in pieces", device);
    CHECK(cs_pieces_count(H, W, 1024) == 12 * 16, "piece count");
    for (int i = 0; i < L.terms.n; i++) {
        const cs_term *l = &L.terms.t[i];
        int s = l->node < 4 ? 1 : l->node < 9 ? 2 : l->node < 18 ? 4 : l->node < 27 ? 8 : 16; /* VGG-19 node -> stride */
        uint64_t m = (uint64_t)(H / s) * (W / s), c = (uint64_t)L.acts.nodes[l->node].c;
        CHECK(l->m == m && l->n == c * m, "layer %s: m %zu n %zu, want %llu %llu", L.acts.nodes[l->node].name, l->m, l->n,
              (unsigned long long)m, (unsigned long long)(c * m));
    }
    CHECK(L.host_bytes >= 4 * 512 * (HW / 256), "host bytes %zu miss the content target", L.host_bytes);
    cs_eval_free(&L);
}

/* Host bytes in bands, with and without checkpoints, for the default
 * layers (to relu5_1) at 4096x3072:
 * checkpoints keep the poolings' maps and one stage's conv maps at a time,
 * the first stage's two of 64 channels, instead of all of them (290 hw
 * floats: 2 x 64 + 2 x 128 / 4 + 4 x 256 / 16 + 4 x 512 / 64 + 512 / 256),
 * so they save 162 hw floats. */
enum { BH = H / 4, BW = W / 4 };
static size_t bands_host(cs_net *net, int checkpoint)
{
    cs_options o;
    cs_options_default(&o);
    cs_loss_spec spec;
    cs_options_loss_spec(&o, &spec);
    cs_eval_image content = { NULL, BW, BH }, style = { NULL, BW / 4, BH / 4 };
    double blend = 1;
    cs_eval_input in = { .content = content, .styles = &style, .blend = &blend, .n_styles = 1, .band = 16, .checkpoint = checkpoint };
    cs_eval L;
    CHECK_OK(cs_eval_init(&L, net, &spec, &in));
    size_t host = L.host_bytes;
    cs_eval_free(&L);
    return host;
}

static void checkpoints(cs_net *net)
{
    size_t plain = bands_host(net, 0), ckpt = bands_host(net, 1);
    uint64_t hw = (uint64_t)BH * BW;
    fprintf(stderr, "in bands at %dx%d: %.1f GiB on the host, %.1f GiB with checkpoints\n", BW, BH, plain / 1073741824.0,
            ckpt / 1073741824.0);
    CHECK(plain - ckpt == 4 * 162 * hw, "checkpoints save %zu bytes, want %llu", plain - ckpt, (unsigned long long)(4 * 162 * hw));
}

static void history(cs_backend *nb)
{
    size_t before = nb->bytes_in_use, n = (size_t)3 * HW;
    cs_optim *op;
    CHECK_OK(cs_optim_create(nb, CLSTYLE_LBFGS, n, 10, 1.0, &op));
    uint64_t want = 4 * (20 * (uint64_t)n + 4 * (uint64_t)n), got = nb->bytes_in_use - before;
    CHECK(got == want, "L-BFGS state %zu bytes, want %llu", (size_t)got, (unsigned long long)want);
    cs_optim_destroy(op);
}

int main(void)
{
    cs_backend *nb;
    CHECK_OK(cs_backend_null_create(NULL, &nb));
    cs_weights w;
    CHECK_OK(cs_weights_synthetic(19, 1, &w));
    cs_net net;
    CHECK_OK(cs_net_create(nb, &w, 0, &net));
    whole_activations(nb, &net);
    pieces(nb, &net);
    checkpoints(&net);
    history(nb);
    cs_net_destroy(&net);
    cs_weights_free(&w);
    cs_backend_destroy(nb);
    return tu_done("sizes");
}
