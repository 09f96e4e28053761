/* Clips in and out (src/video/video_ff.c): round trips through MP4, MKV,
 * WebM and AVI, audio copied from another clip, rotation tags, bad inputs
 * and the atomic write. FFmpeg's command line (ffmpeg, ffprobe) checks the
 * files independently where it is installed; those parts are skipped, with
 * a note, where it is not. Exits 77 in a build without the feature. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "error.h"
#include "testutil.h"
#include "video.h"

static char dir[256];
static int have_cli;

static const char *in_dir(const char *name)
{
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* Frame i of a test clip: smooth colour ramps drifting with i and a square
 * moving 2 px a frame, so frames differ and the edges are sharp. */
static void synth(int i, int w, int h, cs_image *img)
{
    if (cs_image_alloc(w, h, img) != CLSTYLE_OK) exit(1);
    size_t hw = (size_t)w * h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t k = (size_t)y * w + x;
            int sq = x >= 10 + 2 * i && x < 26 + 2 * i && y >= 20 && y < 36;
            img->p[k] = sq ? 0.9f : 0.1f + 0.8f * (float)((x + i) % w) / w;
            img->p[hw + k] = sq ? 0.9f : 0.1f + 0.8f * (float)y / h;
            img->p[2 * hw + k] = sq ? 0.2f : 0.5f + 0.3f * sinf(0.1f * (x + y) + 0.2f * i);
        }
}

static double mae(const cs_image *a, const cs_image *b)
{
    double s = 0;
    size_t n = (size_t)a->w * a->h * 3;
    for (size_t i = 0; i < n; i++) s += fabs((double)a->p[i] - b->p[i]);
    return s / n;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Writes n synthetic frames of w x h (upright) to path. */
static clstyle_status write_clip(const char *path, int w, int h, int n, int rotation, int crf, const char *audio_from)
{
    cs_video_out o = { .w = w, .h = h, .fps_num = 24, .fps_den = 1, .rotation = rotation, .crf = crf, .audio_from = audio_from };
    cs_video_writer *vw;
    CS_TRY(cs_video_create(path, &o, &vw));
    for (int i = 0; i < n; i++) {
        cs_image f;
        synth(i, w, h, &f);
        clstyle_status st = cs_video_write(vw, &f);
        cs_image_free(&f);
        if (st != CLSTYLE_OK) {
            cs_video_abort(vw);
            return st;
        }
    }
    return cs_video_finish(vw);
}

/* Reads path back: the frame count and the worst frame's mean absolute
 * error against synth (-1 when the reader fails; its message is printed). */
static long read_back(const char *path, cs_video_info *info, double *worst)
{
    cs_video_reader *r;
    cs_image f = { 0 };
    long n = 0;
    int got;
    *worst = 0;
    if (cs_video_open(path, &r, info) != CLSTYLE_OK) {
        fprintf(stderr, "  open: %s\n", clstyle_last_error());
        return -1;
    }
    while (cs_video_read(r, &f, &got) == CLSTYLE_OK && got) {
        cs_image ref;
        synth((int)n++, info->w, info->h, &ref);
        double e = mae(&f, &ref);
        if (e > *worst) *worst = e;
        cs_image_free(&ref);
    }
    if (!got && clstyle_last_error()[0] && n == 0) fprintf(stderr, "  read: %s\n", clstyle_last_error());
    cs_image_free(&f);
    cs_video_close(r);
    return n;
}

/* The first line ffprobe prints for these options on path ("" when it fails). */
static const char *probe(const char *path, const char *opts)
{
    static char out[512];
    char cmd[1200];
    out[0] = 0;
    snprintf(cmd, sizeof cmd, "ffprobe -v error %s -of csv=p=0 '%s' 2>&1", opts, path);
    FILE *p = popen(cmd, "r");
    if (!p) return out;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    pclose(p);
    out[strcspn(out, "\n")] = 0;
    return out;
}

static int sh(const char *cmd)
{
    char full[1400];
    snprintf(full, sizeof full, "cd '%s' && %s >/dev/null 2>&1", dir, cmd);
    return system(full);
}

static void round_trips(void)
{
    /* crf 0: lossless H.264, so what remains is RGB -> 4:2:0 YUV -> RGB. */
    static const struct { const char *name; int crf; double bound; } c[] = {
        { "rt.mp4", 0, 0.012 }, { "rt.mkv", 0, 0.012 }, { "rt.avi", 0, 0.012 }, { "rt.webm", 10, 0.03 } };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        const char *path = in_dir(c[k].name);
        double t0 = now(), worst;
        cs_video_info info;
        CHECK_OK(write_clip(path, 96, 64, 24, 0, c[k].crf, NULL));
        long n = read_back(path, &info, &worst);
        fprintf(stderr, "%s: %ld frames, worst frame MAE %.5f, %.2f s\n", c[k].name, n, worst, now() - t0);
        CHECK(n == 24, "%s: %ld frames read", c[k].name, n);
        CHECK(info.w == 96 && info.h == 64 && info.rotation == 0 && !info.has_audio, "%s: %dx%d rot %d audio %d", c[k].name,
              info.w, info.h, info.rotation, info.has_audio);
        CHECK(info.fps_num == 24 * info.fps_den, "%s: %d/%d fps", c[k].name, info.fps_num, info.fps_den);
        CHECK(worst < c[k].bound, "%s: MAE %.5f", c[k].name, worst);
        if (!strcmp(c[k].name, "rt.mp4")) {
            CHECK(info.frames == 24, "frames %ld", info.frames);
            CHECK(fabs(info.duration_s - 1) < 0.05, "duration %.3f", info.duration_s);
        }
        if (have_cli) {
            const char *s = probe(path, "-count_frames -select_streams v:0 -show_entries stream=width,height,nb_read_frames");
            CHECK(!strcmp(s, "96,64,24"), "%s: ffprobe says %s", c[k].name, s);
        }
    }
    CHECK(cs_video_probe(in_dir("rt.mp4")), "probe rt.mp4");
}

/* A binary PPM (P6, 8 bits) as FFmpeg writes it: no colour chunks that a
 * PNG reader would apply. */
static int load_ppm(const char *path, cs_image *img)
{
    FILE *f = fopen(path, "rb");
    int w, h, max, ok = 0;
    img->p = NULL;
    if (f && fscanf(f, "P6 %d %d %d", &w, &h, &max) == 3 && max == 255 && fgetc(f) != EOF &&
        cs_image_alloc(w, h, img) == CLSTYLE_OK) {
        size_t hw = (size_t)w * h;
        ok = 1;
        for (size_t k = 0; k < hw * 3 && ok; k++) {
            int v = fgetc(f);
            ok = v != EOF;
            img->p[(k % 3) * hw + k / 3] = v / 255.0f;
        }
    }
    if (f) fclose(f);
    if (!ok) cs_image_free(img);
    return ok;
}

/* Frame 0 of path as FFmpeg's command line shows it (turned upright by
 * its display matrix, as players do) against ours: an independent check of
 * the rotation's direction. */
static void check_upright_by_cli(const char *name)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "ffmpeg -y -i '%s' -frames:v 1 -pix_fmt rgb24 cli.ppm", name);
    CHECK(sh(cmd) == 0, "ffmpeg cannot turn %s into a picture", name);
    cs_video_reader *r;
    cs_video_info info;
    cs_image ours = { 0 }, theirs;
    int got = 0;
    if (!load_ppm(in_dir("cli.ppm"), &theirs)) {
        CHECK(0, "%s: cannot read ffmpeg's cli.ppm", name);
        return;
    }
    if (cs_video_open(in_dir(name), &r, &info) == CLSTYLE_OK) {
        CHECK_OK(cs_video_read(r, &ours, &got));
        cs_video_close(r);
    }
    /* ffmpeg rounds to 8 bits by its own rules; a wrong turn gives ~0.3. */
    int same = got && ours.w == theirs.w && ours.h == theirs.h;
    double e = same ? mae(&ours, &theirs) : -1;
    CHECK(same && e < 0.01, "%s: ours %dx%d, ffmpeg's %dx%d, MAE %.4f", name, ours.w, ours.h, theirs.w, theirs.h, e);
    cs_image_free(&ours);
    cs_image_free(&theirs);
}

/* Upright 64x96 frames written with a rotation read back upright, tagged
 * as asked where the container can say (want_tag), stored turned back. */
static void check_rotation(const char *name, int rotation, int want_tag)
{
    const char *path = in_dir(name);
    cs_video_info info;
    double worst;
    CHECK_OK(write_clip(path, 64, 96, 6, rotation, 0, NULL));
    long n = read_back(path, &info, &worst);
    CHECK(n == 6 && info.w == 64 && info.h == 96 && worst < 0.012, "%s: %ld frames %dx%d MAE %.5f", name, n, info.w, info.h, worst);
    CHECK(info.rotation == want_tag, "%s: rotation %d, not %d", name, info.rotation, want_tag);
    if (!have_cli) return;
    int turned = want_tag % 180 != 0;
    char want[64];
    snprintf(want, sizeof want, "%d,%d", turned ? 96 : 64, turned ? 64 : 96);
    const char *s = probe(path, "-select_streams v:0 -show_entries stream=width,height");
    CHECK(!strncmp(s, want, strlen(want)), "%s: stored %s, not %s", name, s, want);
    if (want_tag) {
        /* ffprobe gives the counter-clockwise angle. */
        s = probe(path, "-select_streams v:0 -show_entries stream_side_data=rotation");
        CHECK(atoi(s) == (want_tag > 180 ? 360 - want_tag : -want_tag), "%s: ffprobe rotation %s", name, s);
    }
    check_upright_by_cli(name);
}

static void rotations(void)
{
    check_rotation("r90.mp4", 90, 90);
    check_rotation("r180.mov", 180, 180);
    check_rotation("r270.mp4", 270, 270);
    check_rotation("r90.mkv", 90, 0); /* no tag in Matroska (FFmpeg 5.1): stored upright */
    if (!have_cli) return;
    /* A tag FFmpeg's command line writes (its "rotate" override): we show it as it does. */
    CHECK(sh("ffmpeg -y -i rt.mp4 -c copy -metadata:s:v:0 rotate=90 cli90.mp4") == 0, "ffmpeg rotate=90");
    check_upright_by_cli("cli90.mp4");
}

static void audio(void)
{
    if (!have_cli) {
        fprintf(stderr, "note: no ffmpeg/ffprobe here: the audio case is skipped\n");
        return;
    }
    CHECK(sh("ffmpeg -y -f lavfi -i testsrc=size=96x64:rate=24 -f lavfi -i sine=frequency=440 -t 1 "
             "-c:v libx264 -pix_fmt yuv420p -c:a aac in.mp4") == 0, "ffmpeg makes in.mp4");
    cs_video_reader *r;
    cs_video_info info;
    CHECK_OK(cs_video_open(in_dir("in.mp4"), &r, &info));
    if (!r) return;
    CHECK(info.has_audio && info.w == 96 && info.h == 64, "in.mp4: audio %d, %dx%d", info.has_audio, info.w, info.h);
    cs_video_close(r);
    static const struct { const char *name; double start, end, want; const char *codec; } c[] = {
        { "a.mp4", 0, 0, 1.0, "aac" }, { "a.mkv", 0, 0, 1.0, "aac" }, { "a.mov", 0.5, 0, 0.5, "aac" },
        { "a.webm", 0, 0, -1, NULL } /* AAC cannot go in WebM: no sound, a note */ };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        const char *path = in_dir(c[k].name);
        cs_video_out o = { .w = 96, .h = 64, .fps_num = 24, .fps_den = 1, .crf = 23, .audio_from = in_dir("in.mp4"),
                           .audio_start_s = c[k].start, .audio_end_s = c[k].end };
        cs_video_writer *w;
        CHECK_OK(cs_video_create(path, &o, &w));
        if (!w) continue;
        const char *note = cs_video_note(w);
        CHECK(!note == !!c[k].codec, "%s: note %s", c[k].name, note ? note : "(none)");
        if (note) fprintf(stderr, "%s: note: %s\n", c[k].name, note);
        for (int i = 0; i < 24; i++) {
            cs_image f;
            synth(i, 96, 64, &f);
            CHECK_OK(cs_video_write(w, &f));
            cs_image_free(&f);
        }
        CHECK_OK(cs_video_finish(w));
        const char *s = probe(path, "-select_streams a -show_entries stream=codec_name");
        CHECK(!strcmp(s, c[k].codec ? c[k].codec : ""), "%s: audio %s", c[k].name, s);
        s = probe(path, "-count_frames -show_entries stream=nb_read_frames");
        CHECK(!strstr(s, "rror") && atoi(s) == 24, "%s: ffprobe -count_frames: %s", c[k].name, s);
        if (c[k].codec) {
            /* The copied packets' span: the last packet's end less the first's start. */
            char cmd[700];
            snprintf(cmd, sizeof cmd, "ffprobe -v error -select_streams a -show_entries packet=pts_time,duration_time "
                     "-of csv=p=0 '%s'", path);
            FILE *p = popen(cmd, "r");
            char line[200];
            double t, d, first = NAN, last = 0;
            while (p && fgets(line, sizeof line, p))
                if (sscanf(line, "%lf,%lf", &t, &d) == 2) { /* side data makes lines of its own */
                    if (isnan(first)) first = t;
                    last = t + d;
                }
            if (p) pclose(p);
            /* From 0 (an AAC priming packet may come just before) to about its length. */
            CHECK(fabs(last - c[k].want) < 0.06 && first > -0.05 && first < 0.05, "%s: audio %.3f..%.3f s, want 0..%.2f s",
                  c[k].name, first, last, c[k].want);
            cs_video_info oi;
            if (cs_video_open(path, &r, &oi) == CLSTYLE_OK) {
                CHECK(oi.has_audio, "%s: our reader sees no audio", c[k].name);
                cs_video_close(r);
            }
        }
    }
}

/* Opening, then reading to the end, fails with a message naming the file. */
static void expect_bad(const char *name, const char *why)
{
    const char *path = in_dir(name);
    cs_video_reader *r = NULL;
    cs_video_info info;
    cs_image f = { 0 };
    int got = 1;
    long n = 0;
    clstyle_status st = cs_video_open(path, &r, &info);
    while (st == CLSTYLE_OK && (st = cs_video_read(r, &f, &got)) == CLSTYLE_OK && got) n++;
    const char *msg = clstyle_last_error();
    CHECK(st != CLSTYLE_OK && strstr(msg, name), "%s (%s): status %s after %ld frames, message '%s'", name, why,
          clstyle_status_str(st), n, msg);
    fprintf(stderr, "%s (%s): %s\n", name, why, msg);
    CHECK(!cs_video_probe(path) || r || strstr(msg, "no video stream"), "%s: probed as a clip", name); /* audio only: a clip without pictures */
    cs_image_free(&f);
    cs_video_close(r);
}

static void truncate_copy(const char *from, const char *to, double fraction)
{
    FILE *in = fopen(in_dir(from), "rb"), *out = fopen(in_dir(to), "wb");
    if (!in || !out) exit(1);
    fseek(in, 0, SEEK_END);
    long n = (long)(ftell(in) * fraction);
    fseek(in, 0, SEEK_SET);
    for (long i = 0; i < n; i++) fputc(fgetc(in), out);
    fclose(in);
    fclose(out);
}

static void bad_inputs(void)
{
    cs_image pic;
    synth(0, 32, 32, &pic);
    CHECK_OK(cs_image_save(in_dir("pic.png"), &pic, 8, 90));
    CHECK_OK(cs_image_save(in_dir("pic.jpg"), &pic, 8, 90));
    cs_image_free(&pic);
    FILE *fp = fopen(in_dir("notes.txt"), "w");
    fputs("These are not frames.\nJust words, a few lines of them.\n", fp);
    fclose(fp);
    fclose(fopen(in_dir("empty.mp4"), "w"));
    mkdir(in_dir("folder.mp4"), 0755);
    truncate_copy("rt.mp4", "half.mp4", 0.5); /* faststart: the index is there, half the frames are not */
    truncate_copy("rt.mkv", "half.mkv", 0.5); /* the demuxer only warns; the track's DURATION tells */
    truncate_copy("rt.mp4", "garbled.mp4", 1);
    fp = fopen(in_dir("garbled.mp4"), "r+b"); /* the middle third overwritten: the decoder fails */
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, size / 3, SEEK_SET);
    for (long i = 0; i < size / 3; i++) fputc((int)((i * 2654435761u) >> 13) & 0xff, fp);
    fclose(fp);
    expect_bad("pic.png", "a still picture");
    expect_bad("pic.jpg", "a still picture");
    expect_bad("notes.txt", "text");
    expect_bad("empty.mp4", "zero length");
    expect_bad("missing.mp4", "no such file");
    expect_bad("folder.mp4", "a folder");
    expect_bad("half.mp4", "truncated MP4, index first");
    expect_bad("half.mkv", "truncated Matroska");
    expect_bad("garbled.mp4", "garbled MP4");
    if (have_cli) {
        CHECK(sh("ffmpeg -y -f lavfi -i sine=frequency=440 -t 1 -c:a aac tone.m4a") == 0, "ffmpeg makes tone.m4a");
        expect_bad("tone.m4a", "audio only");
        truncate_copy("in.mp4", "inhalf.mp4", 0.5); /* the index at the end: gone */
        expect_bad("inhalf.mp4", "truncated MP4, index last");
    }
    /* What the writer refuses. */
    cs_video_out o = { .w = 95, .h = 64, .fps_num = 24, .fps_den = 1, .crf = 18 };
    cs_video_writer *w;
    CHECK(cs_video_create(in_dir("odd.mp4"), &o, &w) == CLSTYLE_ERR_USAGE && !w, "odd width accepted");
    o.w = 96;
    CHECK(cs_video_create(in_dir("clip.gif"), &o, &w) == CLSTYLE_ERR_USAGE, "a .gif accepted");
}

/* Entries of folder other than . and .. */
static int entries(const char *folder)
{
    DIR *d = opendir(folder);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    if (d) closedir(d);
    return n;
}

static void atomic(void)
{
    const char *sub = in_dir("atomic");
    char path[600];
    mkdir(sub, 0755);
    snprintf(path, sizeof path, "%s/out.mp4", sub);
    cs_video_out o = { .w = 96, .h = 64, .fps_num = 24, .fps_den = 1, .crf = 18 };
    for (int finish = 0; finish < 2; finish++) {
        cs_video_writer *w;
        CHECK_OK(cs_video_create(path, &o, &w));
        if (!w) return;
        cs_image f;
        synth(0, 96, 64, &f);
        for (int i = 0; i < 3; i++) CHECK_OK(cs_video_write(w, &f));
        cs_image_free(&f);
        CHECK(access(path, F_OK) != 0, "the clip is in place before it is finished");
        CHECK(entries(sub) == 1, "%d files while writing", entries(sub));
        if (finish) CHECK_OK(cs_video_finish(w));
        else cs_video_abort(w);
        CHECK(entries(sub) == finish, "%d files after %s", entries(sub), finish ? "finish" : "abort");
        CHECK(access(path, F_OK) == 0 || !finish, "no clip after finish");
    }
    /* No frames: refused, nothing left behind (the finished clip stays). */
    cs_video_writer *w;
    snprintf(path, sizeof path, "%s/none.mp4", sub);
    CHECK_OK(cs_video_create(path, &o, &w));
    CHECK(w && cs_video_finish(w) != CLSTYLE_OK && clstyle_last_error()[0], "finishing no frames");
    CHECK(entries(sub) == 1, "%d files after an empty finish", entries(sub));
}

static void remove_all(void)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

int main(void)
{
    CHECK(cs_video_path_is_clip("a/b.MP4") && cs_video_path_is_clip("x.webm") && !cs_video_path_is_clip("x.png") &&
          !cs_video_path_is_clip("mp4") && !cs_video_path_is_clip("a.mp4/b"), "cs_video_path_is_clip");
    if (!CLSTYLE_HAVE_VIDEO) {
        cs_video_reader *r;
        cs_video_info info;
        CHECK(!cs_video_available() && cs_video_open("x.mp4", &r, &info) == CLSTYLE_ERR_USAGE &&
              strstr(clstyle_last_error(), "FFmpeg"), "the build without clips: %s", clstyle_last_error());
        if (tu_failures) return tu_done("video-io");
        SKIP("built without the meson feature `video`");
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/clstyle-video-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    have_cli = system("command -v ffmpeg >/dev/null 2>&1 && command -v ffprobe >/dev/null 2>&1") == 0;
    struct { const char *name; void (*fn)(void); } parts[] = {
        { "round trips", round_trips }, { "rotations", rotations }, { "audio", audio }, { "bad inputs", bad_inputs },
        { "atomic", atomic } };
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        double t0 = now();
        parts[i].fn();
        fprintf(stderr, "-- %s: %.2f s\n", parts[i].name, now() - t0);
    }
    if (!tu_failures) remove_all();
    else fprintf(stderr, "files kept in %s\n", dir);
    return tu_done("video-io");
}
