/* Unit tests: JPEG decoding (baseline, progressive, grey, CMYK, restart
 * markers), EXIF orientation 1-8 (JPEG APP1 and PNG eXIf), format by content,
 * corrupt and lying files, the input size limit, and JPEG output.
 * usage: test_formats IMAGES_DIR (tests/data/images, made by make.sh there) */
#include <stdint.h>
#include <unistd.h>

#include "config.h"
#include "exif.h"
#include "image.h"
#include "testutil.h"

static const char *images;
static char dir[256];

static const char *data_path(const char *name)
{
    static char p[2][600];
    static int k;
    k ^= 1;
    snprintf(p[k], sizeof p[k], "%s/%s", images, name);
    return p[k];
}

static const char *tmp(const char *name)
{
    static char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static size_t slurp(const char *path, unsigned char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f) fclose(f);
    CHECK(n > 0 && n < cap, "read %s", path);
    return n;
}

static void spill(const char *path, const unsigned char *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(buf, 1, n, f) == n, "write %s", path);
    if (f) fclose(f);
}

static float px(const cs_image *im, int c, int x, int y) { return im->p[((size_t)c * im->h + y) * im->w + x]; }

/* The test picture upright: 32x16, red top-left, green top-right, blue
 * bottom-left, white bottom-right. Checks each quadrant's centre pixel. */
static void check_upright(const cs_image *im, const char *what, float tol)
{
    static const float want[4][3] = { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 }, { 1, 1, 1 } };
    static const int at[4][2] = { { 4, 4 }, { 27, 4 }, { 4, 11 }, { 27, 11 } };
    CHECK(im->w == 32 && im->h == 16, "%s: %dx%d, want 32x16", what, im->w, im->h);
    if (im->w != 32 || im->h != 16) return;
    for (int q = 0; q < 4; q++)
        for (int c = 0; c < 3; c++) {
            float v = px(im, c, at[q][0], at[q][1]);
            CHECK(fabsf(v - want[q][c]) <= tol, "%s: quadrant %d channel %d is %.3f, want %.0f", what, q, c, v, want[q][c]);
        }
}

static void load_upright(const char *name, float tol)
{
    cs_image im;
    clstyle_status st = cs_image_load(data_path(name), 0, &im);
    CHECK_OK(st);
    if (st) return;
    check_upright(&im, name, tol);
    cs_image_free(&im);
}

static void test_decoders(void)
{
    load_upright("upright.png", 0);
    load_upright("orient-1.jpg", 0.06f);
    load_upright("progressive.jpg", 0.06f);
    load_upright("restart.jpg", 0.06f);
    load_upright("cmyk.jpg", 0.08f);
    cs_image im;
    CHECK_OK(cs_image_load(data_path("grey.jpg"), 0, &im));
    /* grey: ImageMagick's -colorspace Gray is Rec. 709 luma of red, green, blue, white */
    static const float luma[4] = { 0.2126f, 0.7152f, 0.0722f, 1 };
    static const int at[4][2] = { { 4, 4 }, { 27, 4 }, { 4, 11 }, { 27, 11 } };
    for (int q = 0; q < 4 && im.p; q++)
        for (int c = 0; c < 3; c++)
            CHECK(fabsf(px(&im, c, at[q][0], at[q][1]) - luma[q]) < 0.06f, "grey quadrant %d channel %d: %.3f", q, c,
                  px(&im, c, at[q][0], at[q][1]));
    cs_image_free(&im);
}

static void test_orientations(void)
{
    for (int o = 1; o <= 8; o++) {
        char name[32];
        snprintf(name, sizeof name, "orient-%d.jpg", o);
        load_upright(name, 0.06f);
    }
    load_upright("orient-6.png", 0); /* eXIf chunk */
}

/* A minimal TIFF block: byte order, IFD0 at 8 with one entry. */
static size_t tiff(unsigned char *b, int big, uint16_t tag, uint16_t type, uint32_t count, uint16_t value, uint32_t ifd)
{
    unsigned char le[26] = { 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    memcpy(b, le, sizeof le);
    uint32_t v32[2] = { ifd, count };
    size_t pos32[2] = { 4, 14 };
    uint16_t v16[4] = { 1, tag, type, value };
    size_t pos16[4] = { 8, 10, 12, 18 };
    if (big) b[0] = b[1] = 'M';
    for (int i = 0; i < 2; i++)
        for (int k = 0; k < 4; k++) b[pos32[i] + (size_t)(big ? 3 - k : k)] = (unsigned char)(v32[i] >> (8 * k));
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 2; k++) b[pos16[i] + (size_t)(big ? 1 - k : k)] = (unsigned char)(v16[i] >> (8 * k));
    b[2 + big] = 42, b[3 - big] = 0;
    return sizeof le;
}

static void expect_exif(const unsigned char *b, size_t n, clstyle_status want, int want_o, const char *what)
{
    int o = -1;
    clstyle_status st = cs_exif_orientation(b, n, "x.jpg", &o);
    CHECK(st == want, "%s: %s (%s)", what, clstyle_status_str(st), clstyle_last_error());
    if (want == CLSTYLE_OK) CHECK(o == want_o, "%s: orientation %d, want %d", what, o, want_o);
    else CHECK(strstr(clstyle_last_error(), "x.jpg") != NULL, "%s: message names the file: %s", what, clstyle_last_error());
}

static void test_exif_parser(void)
{
    static const struct {
        int big;
        uint16_t tag, type, value;
        uint32_t ifd;
        int cut;                 /* bytes removed from the end */
        clstyle_status want;
        int orientation;
        const char *what;
    } cases[] = {
        { 0, 0x0112, 3, 6, 8, 0, CLSTYLE_OK, 6, "little-endian" },
        { 1, 0x0112, 3, 8, 8, 0, CLSTYLE_OK, 8, "big-endian" },
        { 0, 0x0110, 3, 6, 8, 0, CLSTYLE_OK, 1, "no orientation tag" },
        { 0, 0x0112, 3, 0, 8, 0, CLSTYLE_OK, 1, "orientation 0 (invalid, common) is upright" },
        { 0, 0x0112, 3, 9, 8, 0, CLSTYLE_ERR_FORMAT, 0, "orientation 9" },
        { 0, 0x0112, 4, 6, 8, 0, CLSTYLE_ERR_FORMAT, 0, "orientation as LONG" },
        { 0, 0x0112, 3, 6, 0xfffffff0u, 0, CLSTYLE_ERR_FORMAT, 0, "IFD0 offset far past the end" },
        { 0, 0x0112, 3, 6, 25, 0, CLSTYLE_ERR_FORMAT, 0, "IFD0 count past the end" },
        { 0, 0x0112, 3, 6, 4, 0, CLSTYLE_ERR_FORMAT, 0, "IFD0 inside the header" },
        { 0, 0x0112, 3, 6, 8, 5, CLSTYLE_ERR_FORMAT, 0, "block cut inside the entry" },
        { 1, 0x0112, 3, 6, 8, 19, CLSTYLE_ERR_FORMAT, 0, "block shorter than a header" },
    };
    unsigned char b[64];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = tiff(b, cases[i].big, cases[i].tag, cases[i].type, 1, cases[i].value, cases[i].ifd);
        expect_exif(b, n - (size_t)cases[i].cut, cases[i].want, cases[i].orientation, cases[i].what);
    }
    size_t n = tiff(b, 0, 0x0112, 3, 1, 6, 8);
    b[8] = 0xff, b[9] = 0xff; /* 65535 entries in 26 bytes */
    expect_exif(b, n, CLSTYLE_ERR_FORMAT, 0, "entry count lies");
    b[0] = 'I', b[1] = 'M';
    expect_exif(b, n, CLSTYLE_ERR_FORMAT, 0, "mixed byte order");
}

/* A JPEG whose APP1 says orientation 6 with a lying IFD offset is refused. */
static void test_lying_exif_in_jpeg(void)
{
    static unsigned char buf[4096];
    size_t n = slurp(data_path("orient-6.jpg"), buf, sizeof buf);
    unsigned char *exif = NULL;
    for (size_t i = 0; i + 10 < n && !exif; i++)
        if (!memcmp(buf + i, "Exif\0\0", 6)) exif = buf + i + 6;
    CHECK(exif != NULL, "orient-6.jpg has an Exif APP1");
    if (!exif) return;
    int big = exif[0] == 'M';
    exif[big ? 4 : 7] = 0x7f; /* IFD0 offset becomes ~2^31 */
    cs_image im;
    CHECK(cs_image_decode(buf, n, "lying.jpg", 0, &im) == CLSTYLE_ERR_FORMAT, "lying EXIF offset accepted");
    CHECK(strstr(clstyle_last_error(), "lying.jpg: corrupt EXIF") != NULL, "message: %s", clstyle_last_error());
}

static void test_corrupt_jpeg(void)
{
    static unsigned char buf[4096], bad[4096];
    size_t n = slurp(data_path("progressive.jpg"), buf, sizeof buf);
    cs_image im;
    for (size_t cut = 2; cut < n - 2; cut += 37) { /* every truncation is an error, never a grey-filled image */
        clstyle_status st = cs_image_decode(buf, cut, "cut.jpg", 0, &im);
        CHECK(st == CLSTYLE_ERR_FORMAT, "cut at %zu of %zu: %s", cut, n, clstyle_status_str(st));
        CHECK(strstr(clstyle_last_error(), "cut.jpg") != NULL, "message names the file: %s", clstyle_last_error());
        CHECK(im.p == NULL, "no pixels left after a failure");
        if (st == CLSTYLE_OK) cs_image_free(&im);
    }
    n = slurp(data_path("orient-1.jpg"), buf, sizeof buf);
    clstyle_status st = cs_image_decode(buf, n - 2, "noeoi.jpg", 0, &im); /* EOI marker missing */
    CHECK(st == CLSTYLE_ERR_FORMAT && strstr(clstyle_last_error(), "Premature end"), "missing EOI: %s", clstyle_last_error());
    /* Entropy-coded data overwritten with a marker: libjpeg's warning is an error here. */
    memcpy(bad, buf, n);
    size_t sos = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (bad[i] == 0xff && bad[i + 1] == 0xda) sos = i;
    CHECK(sos > 0, "has SOS");
    bad[n - 8] = 0xff, bad[n - 7] = 0xd3; /* a stray RST3 in a file without restart markers */
    st = cs_image_decode(bad, n, "corrupt.jpg", 0, &im);
    CHECK(st == CLSTYLE_ERR_FORMAT && strstr(clstyle_last_error(), "corrupt.jpg"), "corrupt data: %s", clstyle_last_error());
    if (st == CLSTYLE_OK) cs_image_free(&im);
}

static void put_be32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

/* Small files that claim 20000x20000 are refused, naming --max-input-mp. */
static void test_size_limit(void)
{
    static unsigned char buf[4096];
    cs_image im;
    size_t n = slurp(data_path("orient-1.jpg"), buf, sizeof buf);
    for (size_t i = 0; i + 9 < n; i++)
        if (buf[i] == 0xff && buf[i + 1] == 0xc0) { /* SOF0: length, precision, height, width */
            buf[i + 5] = buf[i + 7] = 20000 >> 8;
            buf[i + 6] = buf[i + 8] = 20000 & 255;
            break;
        }
    CHECK(cs_image_decode(buf, n, "huge.jpg", 100, &im) == CLSTYLE_ERR_FORMAT, "huge JPEG accepted");
    CHECK(strstr(clstyle_last_error(), "huge.jpg") && strstr(clstyle_last_error(), "--max-input-mp"), "%s", clstyle_last_error());
    n = slurp(data_path("upright.png"), buf, sizeof buf);
    put_be32(buf + 16, 20000);
    put_be32(buf + 20, 20000);
    put_be32(buf + 29, crc32_png(buf + 12, 17)); /* IHDR type + data */
    CHECK(cs_image_decode(buf, n, "huge.png", 100, &im) == CLSTYLE_ERR_FORMAT, "huge PNG accepted");
    CHECK(strstr(clstyle_last_error(), "huge.png") && strstr(clstyle_last_error(), "--max-input-mp"), "%s", clstyle_last_error());
    /* The limit counts pixels: 32x16 = 512 px passes 0.001 MP, fails 0.0005. */
    CHECK_OK(cs_image_load(data_path("orient-1.jpg"), 0.001, &im));
    cs_image_free(&im);
    CHECK(cs_image_load(data_path("orient-1.jpg"), 0.0005, &im) == CLSTYLE_ERR_FORMAT, "limit ignored");
}

static void test_format_by_content(void)
{
    static unsigned char buf[4096];
    size_t n = slurp(data_path("upright.png"), buf, sizeof buf);
    spill(tmp("png-named.jpg"), buf, n);
    cs_image im;
    CHECK(cs_image_load(dir, 0, &im) == CLSTYLE_ERR_IO, "a folder is refused, not read");
    CHECK(strstr(clstyle_last_error(), "not a regular file") != NULL, "folder: %s", clstyle_last_error());
    CHECK_OK(cs_image_load(tmp("png-named.jpg"), 0, &im));
    check_upright(&im, "a PNG named .jpg", 0);
    cs_image_free(&im);
    CHECK(cs_image_decode((const unsigned char *)"GIF89a......", 12, "anim.gif", 0, &im) == CLSTYLE_ERR_FORMAT, "GIF");
    CHECK(strstr(clstyle_last_error(), "anim.gif: not a supported image (supported: PNG") != NULL, "%s", clstyle_last_error());
}

static void test_jpeg_output(void)
{
    cs_image im, back;
    CHECK_OK(cs_image_load(data_path("upright.png"), 0, &im));
    if (!im.p) return;
    CHECK(cs_image_path_is_jpeg("a/b.JPG") && cs_image_path_is_jpeg("x.jpeg") && !cs_image_path_is_jpeg("x.jpg/out.png") &&
          !cs_image_path_is_jpeg("jpg"), "JPEG by extension");
    CHECK_OK(cs_image_save(tmp("out.JPEG"), &im, 8, 92));
    CHECK_OK(cs_image_load(tmp("out.JPEG"), 0, &back));
    if (back.p) check_upright(&back, "JPEG round trip", 0.06f);
    cs_image_free(&back);
    unsigned char head[3] = { 0 };
    FILE *f = fopen(tmp("out.JPEG"), "rb");
    CHECK(f && fread(head, 1, 3, f) == 3 && head[0] == 0xff && head[1] == 0xd8, "a JPEG file");
    if (f) fclose(f);
    /* Quality matters: a noisy image is larger at 95 than at 20. */
    for (size_t i = 0; i < (size_t)3 * im.w * im.h; i++) im.p[i] = (float)((i * 7919) % 256) / 255.0f;
    CHECK_OK(cs_image_save(tmp("q95.jpg"), &im, 8, 95));
    CHECK_OK(cs_image_save(tmp("q20.jpg"), &im, 8, 20));
    FILE *a = fopen(tmp("q95.jpg"), "rb"), *b = NULL;
    long sa = a && !fseek(a, 0, SEEK_END) ? ftell(a) : 0;
    b = fopen(tmp("q20.jpg"), "rb");
    long sb = b && !fseek(b, 0, SEEK_END) ? ftell(b) : 0;
    CHECK(sa > sb && sb > 0, "quality 95: %ld bytes, 20: %ld", sa, sb);
    if (a) fclose(a);
    if (b) fclose(b);
    CHECK(cs_image_save(tmp("no/dir/x.jpg"), &im, 8, 92) == CLSTYLE_ERR_IO, "unwritable JPEG");
    cs_image_free(&im);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "test $(ls -A %s | grep -c '^\\.') -eq 0", dir);
    CHECK(system(cmd) == 0, "temporary files left in %s", dir);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_formats IMAGES_DIR\n");
        return 1;
    }
    images = argv[1];
    test_exif_parser();
    if (!CLSTYLE_HAVE_JPEG) {
        cs_image im;
        CHECK(cs_image_load(data_path("orient-1.jpg"), 0, &im) == CLSTYLE_ERR_FORMAT, "JPEG without libjpeg");
        CHECK(strstr(clstyle_last_error(), "without JPEG support") != NULL, "%s", clstyle_last_error());
        return tu_done("formats (no JPEG support in this build)");
    }
    snprintf(dir, sizeof dir, "/tmp/clstyle-fmt-XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_decoders();
    test_orientations();
    test_lying_exif_in_jpeg();
    test_corrupt_jpeg();
    test_size_limit();
    test_format_by_content();
    test_jpeg_output();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return tu_done("formats");
}
