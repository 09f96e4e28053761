/* Unit tests: safetensors parsing and VGG weight loading, malformed files included. */
#include "error.h"
#include "safetensors.h"
#include "st_write.h"
#include "testutil.h"
#include "weights.h"

static char dir[256];

static const char *tmp(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

/* Loading must fail with `status` and a message containing `needle`. */
static void expect_fail(const char *file, clstyle_status status, const char *needle)
{
    cs_weights w;
    clstyle_status st = cs_weights_load(tmp(file), NULL, &w);
    CHECK(st == status, "%s: got %s (%s)", file, clstyle_status_str(st), clstyle_last_error());
    CHECK(strstr(clstyle_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'", file, clstyle_last_error(), needle);
}

static void test_half(void)
{
    CHECK(st_half_to_float(0x3c00) == 1.0f, "1.0");
    CHECK(st_half_to_float(0xc000) == -2.0f, "-2.0");
    CHECK(st_half_to_float(0x0001) == ldexpf(1, -24), "smallest subnormal");
    CHECK(st_half_to_float(0x7bff) == 65504.0f, "largest normal");
    CHECK(isinf(st_half_to_float(0x7c00)), "inf");
    CHECK(isnan(st_half_to_float(0x7e00)), "nan");
}

static void test_roundtrip(int depth, int f16, int extra, const char *meta, const char *want_input)
{
    cs_weights w, r;
    CHECK_OK(cs_weights_synthetic(depth, 7, &w));
    CHECK(stw_vgg(tmp("ok.safetensors"), &w, f16, extra, meta) == 0, "write");
    clstyle_status st = cs_weights_load(tmp("ok.safetensors"), NULL, &r);
    CHECK_OK(st);
    if (st) return;
    char arch[8];
    snprintf(arch, sizeof arch, "vgg%d", depth);
    CHECK(!strcmp(r.arch, arch), "arch %s, want %s", r.arch, arch);
    CHECK(r.n_conv == (depth == 19 ? 16 : 13), "n_conv %d", r.n_conv);
    CHECK(!strcmp(r.input, want_input), "input %s, want %s", r.input, want_input);
    double worst = 0;
    int reversed = !strcmp(want_input, "bgr255_caffe");
    for (int k = 0; k < w.n_conv; k++) {
        size_t nw = (size_t)w.cout[k] * w.cin[k] * 9;
        for (size_t i = 0; i < nw; i++) {
            size_t j = i;
            if (k == 0 && reversed) j = (i / 27) * 27 + (2 - (i % 27) / 9) * 9 + i % 9; /* BGR -> RGB */
            worst = fmax(worst, fabs(r.w[k][i] - w.w[k][j]));
        }
    }
    CHECK(worst <= (f16 ? 1e-3 : 0), "weights differ by %g", worst);
    if (!strcmp(want_input, "rgb01_imagenet"))
        CHECK(fabs(r.in_scale[0] - 1 / 0.229f) < 1e-5 && fabs(r.in_offset[2] + 0.406f / 0.225f) < 1e-5, "imagenet map");
    else
        CHECK(r.in_scale[1] == 255.0f && fabs(r.in_offset[0] + 123.68f) < 1e-4, "caffe map");
    cs_weights_free(&w);
    cs_weights_free(&r);
}

static void test_malformed(void)
{
    cs_weights w;
    CHECK_OK(cs_weights_synthetic(16, 3, &w));
    stw_vgg(tmp("good.safetensors"), &w, 0, 0, NULL);

    expect_fail("missing.safetensors", CLSTYLE_ERR_IO, "cannot open");
    FILE *f = fopen(tmp("empty.safetensors"), "wb");
    fclose(f);
    expect_fail("empty.safetensors", CLSTYLE_ERR_FORMAT, "too short");
    stw_raw(tmp("hlen.safetensors"), "{}", 0);
    f = fopen(tmp("hlen.safetensors"), "r+b"); /* claim a header far longer than the file */
    fputc(0xff, f); fputc(0xff, f); fputc(0x01, f);
    fclose(f);
    expect_fail("hlen.safetensors", CLSTYLE_ERR_FORMAT, "past the end");
    stw_raw(tmp("json.safetensors"), "{\"features.0.weight\":{\"dtype\":", 0);
    expect_fail("json.safetensors", CLSTYLE_ERR_FORMAT, "not valid JSON");
    stw_raw(tmp("arr.safetensors"), "[1,2]", 0);
    expect_fail("arr.safetensors", CLSTYLE_ERR_FORMAT, "not a JSON object");
    stw_raw(tmp("offs.safetensors"),
            "{\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[64,3,3,3],\"data_offsets\":[0,6912]}}", 100);
    expect_fail("offs.safetensors", CLSTYLE_ERR_FORMAT, "features.0.weight");
    expect_fail("offs.safetensors", CLSTYLE_ERR_FORMAT, "outside the file");
    stw_raw(tmp("size.safetensors"),
            "{\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[64,3,3,3],\"data_offsets\":[0,16]}}", 16);
    expect_fail("size.safetensors", CLSTYLE_ERR_FORMAT, "does not match its shape");
    stw_raw(tmp("dtype.safetensors"),
            "{\"features.0.weight\":{\"dtype\":\"I8\",\"shape\":[64,3,3,3],\"data_offsets\":[0,1728]},"
            "\"features.0.bias\":{\"dtype\":\"F32\",\"shape\":[64],\"data_offsets\":[1728,1984]}}", 1984);
    expect_fail("dtype.safetensors", CLSTYLE_ERR_FORMAT, "dtype I8");
    stw_raw(tmp("shape.safetensors"),
            "{\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[32,3,3,3],\"data_offsets\":[0,3456]}}", 3456);
    expect_fail("shape.safetensors", CLSTYLE_ERR_FORMAT, "shape [32,3,3,3]; expected [64,3,3,3]");
    stw_raw(tmp("none.safetensors"), "{}", 0);
    expect_fail("none.safetensors", CLSTYLE_ERR_FORMAT, "'features.0.weight' is missing");
    stw_vgg(tmp("meta.safetensors"), &w, 0, 0, "{\"input\":\"yuv\"}");
    expect_fail("meta.safetensors", CLSTYLE_ERR_FORMAT, "unknown input convention 'yuv'");

    /* Truncated: a good file cut in the middle of its data. */
    f = fopen(tmp("good.safetensors"), "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size);
    CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size, "read");
    fclose(f);
    f = fopen(tmp("trunc.safetensors"), "wb");
    fwrite(buf, 1, (size_t)size / 2, f);
    fclose(f);
    free(buf);
    expect_fail("trunc.safetensors", CLSTYLE_ERR_FORMAT, "outside the file");
    cs_weights_free(&w);
}

/* Files whose header or values lie: each refused at load, naming the tensor. */
static void test_lies(void)
{
    static const struct { const char *file, *header; size_t bytes; const char *needle; } lies[] = {
        { "dup.safetensors",
          "{\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[64,3,3,3],\"data_offsets\":[0,6912]},"
          "\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[64,3,3,3],\"data_offsets\":[6912,13824]}}",
          13824, "tensor 'features.0.weight' appears twice" },
        { "overlap.safetensors",
          "{\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[64,3,3,3],\"data_offsets\":[0,6912]},"
          "\"features.0.bias\":{\"dtype\":\"F32\",\"shape\":[64],\"data_offsets\":[6656,6912]}}",
          6912, "'features.0.weight' and 'features.0.bias' overlap" },
        /* 2^31 * 2^31 floats = 2^64 bytes, which wraps to the empty range [0, 0]. */
        { "wrap.safetensors",
          "{\"features.0.weight\":{\"dtype\":\"F32\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,0]}}",
          0, "'features.0.weight': shape is too large" },
    };
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        stw_raw(tmp(lies[i].file), lies[i].header, lies[i].bytes);
        expect_fail(lies[i].file, CLSTYLE_ERR_FORMAT, lies[i].needle);
    }

    cs_weights w;
    CHECK_OK(cs_weights_synthetic(16, 5, &w));
    stw_vgg(tmp("arch.safetensors"), &w, 0, 0, "{\"arch\":\"resnet50\"}");
    expect_fail("arch.safetensors", CLSTYLE_ERR_FORMAT, "unsupported arch 'resnet50'");
    const float bad[2] = { NAN, INFINITY };
    const char *what[2] = { "holds NaN at element 5", "holds Inf at element 5" };
    for (int i = 0; i < 2; i++) {
        float keep = w.w[3][5];
        w.w[3][5] = bad[i];
        stw_vgg(tmp("nonfinite.safetensors"), &w, 0, 0, NULL);
        w.w[3][5] = keep;
        char needle[96];
        snprintf(needle, sizeof needle, "'features.%d.weight' %s", cs_weights_torch_index(&w, 3), what[i]);
        expect_fail("nonfinite.safetensors", CLSTYLE_ERR_FORMAT, needle);
    }
    cs_weights_free(&w);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/clstyle-st-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_half();
    test_roundtrip(16, 0, 1, NULL, "rgb01_imagenet");                                    /* torchvision VGG-16 file */
    test_roundtrip(19, 1, 0, "{\"arch\":\"vgg19\",\"input\":\"rgb255_caffe\"}", "rgb255_caffe"); /* like ../shared */
    test_roundtrip(16, 1, 0, "{\"input\":\"bgr255_caffe\"}", "bgr255_caffe");
    test_malformed();
    test_lies();
    const char *real = getenv("CLSTYLE_WEIGHTS");
    FILE *rf = real && *real ? fopen(real, "rb") : NULL;
    if (rf) fclose(rf);
    else fprintf(stderr, "note: CLSTYLE_WEIGHTS not readable; the real-weights check is not run\n");
    if (rf) {
        cs_weights r;
        CHECK_OK(cs_weights_load(real, NULL, &r));
        CHECK(!strcmp(r.arch, "vgg19") && !strcmp(r.input, "rgb255_caffe"), "shared weights: %s %s", r.arch, r.input);
        cs_weights_free(&r);
    }
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return tu_done("safetensors");
}
