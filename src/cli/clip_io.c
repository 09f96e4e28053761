/* A clip's frames in and out (clip_io.h). */
#define _POSIX_C_SOURCE 200809L
#include "clip_io.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "error.h"
#include "inputs.h"

static int is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* One %d with an optional zero-padded width, and no other conversion. */
int cs_clip_is_pattern(const char *spec)
{
    const char *p = strchr(spec, '%');
    if (!p) return 0;
    p++;
    while (*p >= '0' && *p <= '9') p++;
    return *p == 'd' && !strchr(p, '%');
}

int cs_clip_is_input(const char *spec, int clip_flag)
{
    if (!spec) return 0;
    if (cs_clip_is_pattern(spec)) return 1;
    if (is_dir(spec)) return clip_flag;
    struct stat sb;
    if (stat(spec, &sb) != 0 || !S_ISREG(sb.st_mode)) return cs_video_path_is_clip(spec);
    const char *dot = strrchr(spec, '.');
    if (dot && (!strcasecmp(dot, ".png") || !strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")))
        return 0; /* named as a picture: its errors are a picture's (FFmpeg reads a GIF as a clip) */
    return cs_video_path_is_clip(spec) || cs_video_probe(spec);
}

/* The path of frame `num` of a pattern checked by cs_clip_is_pattern (one %d, nothing else to format). */
static void numbered(char *out, size_t n, const char *pattern, int num)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(out, n, pattern, num);
#pragma GCC diagnostic pop
}

/* The numbers the pattern's files carry in its folder, sorted; a gap is an error. */
static clstyle_status expand_pattern(const char *spec, cs_input_list *l)
{
    char dir[4096], fmt[4096];
    const char *slash = strrchr(spec, '/'), *base = slash ? slash + 1 : spec;
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - spec) : 1, slash ? spec : ".");
    if (strchr(dir, '%')) return cs_fail(CLSTYLE_ERR_USAGE, "%s: the number goes in the file name, not the folder", spec);
    DIR *d = opendir(dir);
    if (!d) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot open folder %s: %s", spec, dir, strerror(errno));
    int cap = 0, *nums = NULL, n = 0;
    struct dirent *e;
    snprintf(fmt, sizeof fmt, "%s", base);
    while ((e = readdir(d))) {
        char again[4096];
        const char *pct = strchr(fmt, '%');
        int num;
        if (strncmp(e->d_name, fmt, (size_t)(pct - fmt)) || sscanf(e->d_name + (pct - fmt), "%d", &num) != 1 || num < 0) continue;
        numbered(again, sizeof again, fmt, num);
        if (strcmp(again, e->d_name)) continue; /* "%04d" matches 0007, not 7 */
        if (n == cap && !(nums = realloc(nums, (size_t)(cap = cap ? 2 * cap : 256) * sizeof *nums))) break;
        nums[n++] = num;
    }
    closedir(d);
    if (n == 0 || !nums) {
        free(nums);
        return cs_fail(nums || !n ? CLSTYLE_ERR_IO : CLSTYLE_ERR_NOMEM, "%s: no frames match this pattern", spec);
    }
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && nums[k - 1] > nums[k]; k--) { int t = nums[k]; nums[k] = nums[k - 1]; nums[k - 1] = t; }
    clstyle_status st = CLSTYLE_OK;
    for (int i = 1; i < n && st == CLSTYLE_OK; i++)
        if (nums[i] != nums[i - 1] + 1) {
            char a[4096];
            numbered(a, sizeof a, spec, nums[i - 1] + 1);
            st = cs_fail(CLSTYLE_ERR_IO, "%s: frame %s is missing (the frames run %d..%d with a gap)", spec, a, nums[0], nums[n - 1]);
        }
    if (st == CLSTYLE_OK && !(l->paths = calloc((size_t)n, sizeof *l->paths))) st = cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && st == CLSTYLE_OK; i++) {
        char p[4096];
        numbered(p, sizeof p, spec, nums[i]);
        if (!(l->paths[i] = strdup(p))) st = cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
        l->n = i + 1;
    }
    free(nums);
    return st;
}

clstyle_status cs_clip_in_open(const char *spec, int clip_flag, int first, int last, double fps, cs_clip_in *in)
{
    memset(in, 0, sizeof *in);
    in->name = spec;
    in->first = first > 0 ? first : 1;
    in->last = last;
    if (cs_clip_is_pattern(spec) || (clip_flag && is_dir(spec))) {
        cs_input_list l = { 0 };
        CS_TRY(cs_clip_is_pattern(spec) ? expand_pattern(spec, &l) : cs_inputs_expand(spec, &l));
        in->paths = l.paths;
        in->n_paths = l.n;
        in->info.fps_num = fps > 0 ? (int)lround(fps * 1000) : 24;
        in->info.fps_den = fps > 0 ? 1000 : 1;
        in->info.frames = l.n;
    } else {
        CS_TRY(cs_video_open(spec, &in->video, &in->info));
        in->keep_rate = fps;
    }
    if (in->info.frames >= 0 && in->first > in->info.frames)
        return cs_fail(CLSTYLE_ERR_USAGE, "--frames: %s has %ld frames, fewer than the first asked for (%d)", spec, in->info.frames,
                       in->first);
    return CLSTYLE_OK;
}

static double source_rate(const cs_clip_in *in) { return (double)in->info.fps_num / in->info.fps_den; }

/* Whether the k-th frame of the range (0-based) is kept at the asked rate. */
static int kept_at_rate(const cs_clip_in *in, long k)
{
    double r = in->keep_rate > 0 && in->keep_rate < source_rate(in) ? in->keep_rate / source_rate(in) : 1.0;
    return k == 0 || floor(k * r + 1e-9) > floor((k - 1) * r + 1e-9);
}

static clstyle_status read_source(cs_clip_in *in, cs_image *frame, int *got)
{
    if (in->video) return cs_video_read(in->video, frame, got);
    *got = in->read < in->n_paths;
    if (!*got) return CLSTYLE_OK;
    clstyle_status st = cs_image_load(in->paths[in->read], 0, frame);
    if (st != CLSTYLE_OK) return st;
    return CLSTYLE_OK;
}

clstyle_status cs_clip_in_next(cs_clip_in *in, cs_image *frame, int *got)
{
    for (;;) {
        *got = 0;
        if (in->last > 0 && in->read >= in->last) return CLSTYLE_OK;
        cs_image f = { 0 };
        CS_TRY(read_source(in, &f, got));
        if (!*got) return CLSTYLE_OK;
        long k = in->read++ - (in->first - 1); /* index within the range */
        if (k >= 0 && kept_at_rate(in, k)) {
            *frame = f;
            in->kept++;
            return CLSTYLE_OK;
        }
        cs_image_free(&f);
    }
}

void cs_clip_in_rate(const cs_clip_in *in, int *num, int *den)
{
    *num = in->info.fps_num;
    *den = in->info.fps_den;
    if (in->video && in->keep_rate > 0 && in->keep_rate < source_rate(in)) {
        *num = (int)lround(in->keep_rate * 1000);
        *den = 1000;
    }
}

double cs_clip_in_start_s(const cs_clip_in *in) { return (in->first - 1) / source_rate(in); }

void cs_clip_in_close(cs_clip_in *in)
{
    if (in->video) cs_video_close(in->video);
    cs_input_list l = { in->paths, in->n_paths };
    cs_inputs_free(&l);
    memset(in, 0, sizeof *in);
}

clstyle_status cs_clip_out_init(const char *spec, int format_jpg, cs_clip_out *out)
{
    memset(out, 0, sizeof *out);
    out->spec = spec;
    const char *ext = format_jpg ? "jpg" : "png";
    if (cs_video_path_is_clip(spec)) {
        if (!cs_video_available()) return cs_video_create(spec, &(cs_video_out){ 0 }, &(cs_video_writer *){ NULL }); /* says why */
        const char *slash = strrchr(spec, '/');
        snprintf(out->dir, sizeof out->dir, "%.*s.%s.frames", slash ? (int)(slash - spec + 1) : 0, spec, slash ? slash + 1 : spec);
        snprintf(out->pattern, sizeof out->pattern, "%s/%%06d.png", out->dir);
        out->video = 1;
    } else if (cs_clip_is_pattern(spec)) {
        const char *slash = strrchr(spec, '/');
        snprintf(out->dir, sizeof out->dir, "%.*s", slash ? (int)(slash - spec) : 1, slash ? spec : ".");
        snprintf(out->pattern, sizeof out->pattern, "%s", spec);
    } else {
        snprintf(out->dir, sizeof out->dir, "%s", spec);
        snprintf(out->pattern, sizeof out->pattern, "%s/%%06d.%s", spec, ext);
    }
    if (mkdir(out->dir, 0777) != 0 && errno != EEXIST)
        return cs_fail(CLSTYLE_ERR_IO, "%s: cannot make folder %s: %s", spec, out->dir, strerror(errno));
    if (!is_dir(out->dir)) return cs_fail(CLSTYLE_ERR_IO, "%s: %s is not a folder", spec, out->dir);
    return CLSTYLE_OK;
}

void cs_clip_out_frame(const cs_clip_out *out, int k, char *path, size_t n)
{
    numbered(path, n, out->pattern, k);
}
