/* Clips through FFmpeg's libraries (video.h). Frames cross swscale as
 * 16-bit planar RGB (GBRP16), so neither direction rounds to 8 bits before
 * the float image; the YUV side is BT.709 on writing and whatever the frame
 * says on reading. FFmpeg's log goes to a thread-local line instead of
 * stderr: the last error it logged ends up in our one-line messages. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "error.h"
#include "file.h"
#include "video.h"

/* ---- shared ---- */

static _Thread_local char ff_log[256]; /* the last error FFmpeg logged in this thread */

static void log_to_line(void *avcl, int level, const char *fmt, va_list vl)
{
    if (level > AV_LOG_ERROR) return;
    int prefix = 0;
    char line[sizeof ff_log];
    av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &prefix);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
    if (n) memcpy(ff_log, line, n + 1);
}

/* FFmpeg logs to stderr by default, which would break the program's
 * progress lines; the callback is process-wide, setting it again is harmless. */
static void ff_quiet(void)
{
    av_log_set_callback(log_to_line);
    ff_log[0] = 0;
}

/* Why an FFmpeg call failed: its own logged line when it left one (more
 * specific, e.g. "moov atom not found"), else the error code's text. */
static const char *ff_why(int err, char *buf, size_t n)
{
    if (ff_log[0]) snprintf(buf, n, "%s", ff_log);
    else av_strerror(err, buf, n);
    return buf;
}
#define WHY(err) ff_why((err), (char[300]){0}, 300)

/* The container for a clip name, by extension. */
static const char *format_for(const char *path)
{
    static const char *const map[][2] = { { ".mp4", "mp4" }, { ".m4v", "mp4" }, { ".mov", "mov" },
                                          { ".mkv", "matroska" }, { ".webm", "webm" }, { ".avi", "avi" } };
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return NULL;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcasecmp(dot, map[i][0])) return map[i][1];
    return NULL;
}

int cs_video_available(void) { return 1; }
int cs_video_path_is_clip(const char *path) { return format_for(path) != NULL; }

/* Pixel (x, y) of a stored ws x hs frame lands at (*ux, *uy) once turned
 * `rotation` degrees clockwise (upright): reading maps stored to upright,
 * writing fetches each stored pixel from the upright frame the same way. */
static void upright_of(int rotation, int ws, int hs, int x, int y, int *ux, int *uy)
{
    switch (rotation) {
    case 90: *ux = hs - 1 - y, *uy = x; break;
    case 180: *ux = ws - 1 - x, *uy = hs - 1 - y; break;
    case 270: *ux = y, *uy = ws - 1 - x; break;
    default: *ux = x, *uy = y;
    }
}

/* A missing file, a FIFO (avformat would block on it) or an empty file,
 * told apart before FFmpeg sees them. */
static clstyle_status check_regular(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return cs_fail(CLSTYLE_ERR_IO, "%s: %s, not a clip", path, cs_file_kind(sb.st_mode));
    if (sb.st_size == 0) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: empty file, not a clip", path);
    return CLSTYLE_OK;
}

/* FFmpeg reads a PNG or JPEG as a one-frame "video" (the image2 and *_pipe
 * demuxers); those are pictures, not clips. */
static int still_image_format(const AVInputFormat *f)
{
    size_t n = strlen(f->name);
    return !strcmp(f->name, "image2") || !strcmp(f->name, "image2pipe") || (n > 5 && !strcmp(f->name + n - 5, "_pipe"));
}

static clstyle_status open_input(const char *path, AVFormatContext **fmt)
{
    CS_TRY(check_regular(path));
    ff_quiet();
    int e = avformat_open_input(fmt, path, NULL, NULL);
    if (e < 0) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: not a clip FFmpeg can read (%s)", path, WHY(e));
    if (still_image_format((*fmt)->iformat)) {
        clstyle_status st = cs_fail(CLSTYLE_ERR_FORMAT, "%s: a still picture (%s), not a clip", path, (*fmt)->iformat->name);
        avformat_close_input(fmt);
        return st;
    }
    e = avformat_find_stream_info(*fmt, NULL);
    if (e < 0) {
        avformat_close_input(fmt);
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: not a clip FFmpeg can read (%s)", path, WHY(e));
    }
    return CLSTYLE_OK;
}

static int is_cover(const AVStream *st) { return (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0; }

/* The best video stream that is not a cover picture (an MP3's album art is
 * a video stream too). */
static clstyle_status pick_video(AVFormatContext *fmt, const char *path, int *vs)
{
    int covers = 0;
    *vs = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
    if (*vs >= 0 && !is_cover(fmt->streams[*vs])) return CLSTYLE_OK;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        if (fmt->streams[i]->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
        if (!is_cover(fmt->streams[i])) {
            *vs = (int)i;
            return CLSTYLE_OK;
        }
        covers++;
    }
    return cs_fail(CLSTYLE_ERR_FORMAT, "%s: has no video stream%s (FFmpeg reads it as %s)", path,
                   covers ? ", only a cover picture" : "", fmt->iformat->long_name ? fmt->iformat->long_name : fmt->iformat->name);
}

int cs_video_probe(const char *path)
{
    AVFormatContext *fmt = NULL;
    if (open_input(path, &fmt) != CLSTYLE_OK) return 0;
    avformat_close_input(&fmt);
    return 1;
}

/* ---- reading ---- */

struct cs_video_reader {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    int sws_key[5];         /* the source w, h, format, colour space and range sws was made for */
    uint16_t *rgb;          /* the stored frame: R, G, B planes of sw x sh */
    int vs, sw, sh, rotation;
    long decoded;           /* frames returned so far */
    double end_s;           /* where the last frame returned ends on the stream's clock (-1: unknown) */
    int flushed;            /* the decoder was told the stream ended */
    char *path;
};

/* Clockwise degrees a player turns the stored frames: the display matrix
 * (av_display_rotation_get is counter-clockwise; a phone's portrait clip
 * gives -90), else the "rotate" tag older files carry (clockwise); rounded
 * to quarter turns (flips are not applied). */
static int stream_rotation(const AVStream *st)
{
    size_t n = 0;
    const int32_t *m = (const int32_t *)av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &n);
    const AVDictionaryEntry *tag = av_dict_get(st->metadata, "rotate", NULL, 0);
    double theta = 0;
    if (m && n >= 9 * sizeof *m) theta = -av_display_rotation_get(m);
    else if (tag) theta = strtod(tag->value, NULL);
    if (!isfinite(theta)) return 0;
    long q = lround(theta / 90) % 4;
    return (int)(q < 0 ? q + 4 : q) * 90;
}

static clstyle_status open_decoder(cs_video_reader *r)
{
    const AVStream *st = r->fmt->streams[r->vs];
    const AVCodec *c = avcodec_find_decoder(st->codecpar->codec_id);
    if (!c)
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: this FFmpeg has no decoder for its %s video", r->path,
                       avcodec_get_name(st->codecpar->codec_id));
    if (!(r->dec = avcodec_alloc_context3(c))) return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", r->path);
    int e = avcodec_parameters_to_context(r->dec, st->codecpar);
    r->dec->pkt_timebase = st->time_base;
    r->dec->thread_count = 0; /* as many as FFmpeg sees fit */
    if (e >= 0) e = avcodec_open2(r->dec, c, NULL);
    if (e < 0) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot decode its %s video (%s)", r->path, c->name, WHY(e));
    if (r->dec->width < 1 || r->dec->height < 1) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: video of unknown size", r->path);
    return CLSTYLE_OK;
}

static void fill_info(const cs_video_reader *r, cs_video_info *info)
{
    const AVStream *st = r->fmt->streams[r->vs];
    int turned = r->rotation == 90 || r->rotation == 270;
    AVRational f = st->avg_frame_rate;
    if (f.num <= 0 || f.den <= 0) f = st->r_frame_rate;
    if (f.num <= 0 || f.den <= 0) f = (AVRational){ 25, 1 }; /* FFmpeg's own guess for streams that do not say */
    info->w = turned ? r->sh : r->sw;
    info->h = turned ? r->sw : r->sh;
    info->fps_num = f.num;
    info->fps_den = f.den;
    info->frames = st->nb_frames > 0 ? (long)st->nb_frames : -1;
    info->rotation = r->rotation;
    info->has_audio = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0;
    info->duration_s = st->duration != AV_NOPTS_VALUE ? st->duration * av_q2d(st->time_base)
                       : r->fmt->duration != AV_NOPTS_VALUE ? (double)r->fmt->duration / AV_TIME_BASE : -1;
}

clstyle_status cs_video_open(const char *path, cs_video_reader **out, cs_video_info *info)
{
    clstyle_status st = CLSTYLE_OK;
    *out = NULL;
    memset(info, 0, sizeof *info);
    cs_video_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", path);
    }
    CS_CHECK(open_input(path, &r->fmt));
    CS_CHECK(pick_video(r->fmt, path, &r->vs));
    CS_CHECK(open_decoder(r));
    r->sw = r->dec->width;
    r->sh = r->dec->height;
    r->rotation = stream_rotation(r->fmt->streams[r->vs]);
    r->end_s = -1;
    r->pkt = av_packet_alloc();
    r->frame = av_frame_alloc();
    r->rgb = malloc((size_t)r->sw * r->sh * 3 * sizeof *r->rgb);
    if (!r->pkt || !r->frame || !r->rgb) CS_CHECK(cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", path));
    fill_info(r, info);
done:
    if (st != CLSTYLE_OK) {
        cs_video_close(r);
        return st;
    }
    *out = r;
    return CLSTYLE_OK;
}

/* Colour space of a frame that does not say: BT.709 for HD, BT.601 below,
 * as players guess. */
static int frame_colorspace(const AVFrame *f)
{
    if (f->colorspace != AVCOL_SPC_UNSPECIFIED && f->colorspace != AVCOL_SPC_RESERVED) return f->colorspace;
    return f->width >= 1280 || f->height > 576 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
}

/* The converter from this frame's format to sw x sh GBRP16, remade when
 * the stream changes size or format midway (the frames keep the first size). */
static clstyle_status reader_sws(cs_video_reader *r, const AVFrame *f)
{
    int key[5] = { f->width, f->height, f->format, frame_colorspace(f), f->color_range == AVCOL_RANGE_JPEG };
    if (r->sws && !memcmp(key, r->sws_key, sizeof key)) return CLSTYLE_OK;
    sws_freeContext(r->sws);
    r->sws = sws_getContext(f->width, f->height, f->format, r->sw, r->sh, AV_PIX_FMT_GBRP16,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!r->sws)
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot convert frame %ld from %s", r->path, r->decoded + 1,
                       av_get_pix_fmt_name(f->format) ? av_get_pix_fmt_name(f->format) : "its pixel format");
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    if (d && !(d->flags & AV_PIX_FMT_FLAG_RGB)) {
        const int *coef = sws_getCoefficients(key[3]);
        sws_setColorspaceDetails(r->sws, coef, key[4], sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    }
    memcpy(r->sws_key, key, sizeof key);
    return CLSTYLE_OK;
}

/* The decoded frame into *out, upright and as floats. */
static clstyle_status deliver(cs_video_reader *r, cs_image *out)
{
    CS_TRY(reader_sws(r, r->frame));
    size_t plane = (size_t)r->sw * r->sh;
    uint16_t *R = r->rgb, *G = R + plane, *B = G + plane;
    uint8_t *dst[4] = { (uint8_t *)G, (uint8_t *)B, (uint8_t *)R, NULL }; /* GBRP's plane order */
    int stride[4] = { r->sw * 2, r->sw * 2, r->sw * 2, 0 };
    sws_scale(r->sws, (const uint8_t *const *)r->frame->data, r->frame->linesize, 0, r->frame->height, dst, stride);
    int turned = r->rotation == 90 || r->rotation == 270;
    int w = turned ? r->sh : r->sw, h = turned ? r->sw : r->sh;
    if (out->p && (out->w != w || out->h != h)) cs_image_free(out);
    if (!out->p) CS_TRY(cs_image_alloc(w, h, out));
    for (int y = 0; y < r->sh; y++)
        for (int x = 0; x < r->sw; x++) {
            int ux, uy;
            upright_of(r->rotation, r->sw, r->sh, x, y, &ux, &uy);
            size_t s = (size_t)y * r->sw + x, u = (size_t)uy * w + ux;
            for (int c = 0; c < 3; c++) out->p[c * plane + u] = r->rgb[c * plane + s] * (1.0f / 65535);
        }
    return CLSTYLE_OK;
}

/* Whether the file stops before the end of what its index lists (an MP4
 * cut short): the demuxer then just reports the end of the file. */
static int truncated(const cs_video_reader *r, int64_t *need, int64_t *have)
{
    AVStream *st = r->fmt->streams[r->vs];
    int n = avformat_index_get_entries_count(st);
    const AVIndexEntry *last = n > 0 ? avformat_index_get_entry(st, n - 1) : NULL;
    *have = r->fmt->pb ? avio_size(r->fmt->pb) : -1;
    *need = last ? last->pos + last->size : -1;
    return last && *have >= 0 && *need > *have;
}

/* Where the video stream says it ends, in seconds on its clock, or -1: its
 * own duration (not one guessed from the bit rate), else the DURATION tag
 * FFmpeg's Matroska muxer writes per track. */
static double declared_end(const cs_video_reader *r)
{
    const AVStream *st = r->fmt->streams[r->vs];
    double start = st->start_time != AV_NOPTS_VALUE ? st->start_time * av_q2d(st->time_base) : 0;
    const AVDictionaryEntry *tag = av_dict_get(st->metadata, "DURATION", NULL, 0);
    int h, m;
    double sec;
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0 && r->fmt->duration_estimation_method != AVFMT_DURATION_FROM_BITRATE)
        return start + st->duration * av_q2d(st->time_base);
    if (tag && sscanf(tag->value, "%d:%d:%lf", &h, &m, &sec) == 3) return start + h * 3600.0 + m * 60.0 + sec;
    return -1;
}

/* At the decoder's end: whether the frames stop short of where the stream
 * says it ends (a Matroska file cut short only warns in FFmpeg). Two frames
 * and 0.1 s of slack for rounding and a last frame of unknown duration. */
static clstyle_status check_complete(const cs_video_reader *r)
{
    const AVStream *st = r->fmt->streams[r->vs];
    double want = declared_end(r), frame = av_q2d(av_inv_q(st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate));
    if (want < 0 || r->end_s < 0 || !isfinite(frame) || r->end_s + 0.1 + 2 * frame >= want) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_FORMAT, "%s: truncated after frame %ld (its frames end at %.2f s, the clip says %.2f s)", r->path,
                   r->decoded, r->end_s, want);
}

/* One packet of the video stream into the decoder, or the end of the stream. */
static clstyle_status feed(cs_video_reader *r)
{
    for (;;) {
        int e = av_read_frame(r->fmt, r->pkt);
        if (e == AVERROR_EOF) {
            int64_t need, have;
            if (truncated(r, &need, &have))
                return cs_fail(CLSTYLE_ERR_FORMAT, "%s: truncated at frame %ld (the file ends at byte %lld, its index at %lld)",
                               r->path, r->decoded + 1, (long long)have, (long long)need);
            r->flushed = 1;
            avcodec_send_packet(r->dec, NULL); /* drains the frames the decoder still holds */
            return CLSTYLE_OK;
        }
        if (e < 0) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot read frame %ld (%s)", r->path, r->decoded + 1, WHY(e));
        if (r->pkt->stream_index != r->vs) {
            av_packet_unref(r->pkt);
            continue;
        }
        e = avcodec_send_packet(r->dec, r->pkt);
        av_packet_unref(r->pkt);
        if (e < 0 && e != AVERROR(EAGAIN))
            return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot decode frame %ld (%s)", r->path, r->decoded + 1, WHY(e));
        return CLSTYLE_OK;
    }
}

clstyle_status cs_video_read(cs_video_reader *r, cs_image *frame, int *got)
{
    *got = 0;
    ff_log[0] = 0;
    for (;;) {
        int e = avcodec_receive_frame(r->dec, r->frame);
        if (e == 0) {
            clstyle_status st = deliver(r, frame);
            AVRational tb = r->fmt->streams[r->vs]->time_base;
            if (r->frame->best_effort_timestamp != AV_NOPTS_VALUE)
                r->end_s = (r->frame->best_effort_timestamp + r->frame->pkt_duration) * av_q2d(tb);
            av_frame_unref(r->frame);
            if (st != CLSTYLE_OK) return st;
            r->decoded++;
            *got = 1;
            return CLSTYLE_OK;
        }
        if (e == AVERROR_EOF || (e == AVERROR(EAGAIN) && r->flushed)) return check_complete(r);
        if (e != AVERROR(EAGAIN))
            return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot decode frame %ld (%s)", r->path, r->decoded + 1, WHY(e));
        CS_TRY(feed(r));
    }
}

void cs_video_close(cs_video_reader *r)
{
    if (!r) return;
    sws_freeContext(r->sws);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    free(r->rgb);
    free(r->path);
    free(r);
}

/* ---- writing ---- */

struct cs_video_writer {
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *vst;
    AVFrame *yuv;
    AVPacket *pkt;
    struct SwsContext *sws;
    uint16_t *rgb;          /* one stored frame: R, G, B planes of sw x sh */
    int w, h, sw, sh, rotation; /* rotation: of the stored frames, 0 where the container cannot say */
    int64_t next_pts;
    /* the audio copied from o->audio_from */
    AVFormatContext *ain;
    AVStream *ast;
    AVPacket *apkt;         /* holds the next packet to copy when apending */
    int as, apending, aended;
    int64_t a_start, a_end, a_shift; /* in the input stream's time base */
    char note[512];
    char *path;
    char tmp[4200];
};

/* Containers whose rotation tag FFmpeg 5.1 writes (matroska's came later). */
static int tags_rotation(const char *fmt) { return !strcmp(fmt, "mp4") || !strcmp(fmt, "mov"); }

static clstyle_status check_out(const char *path, const cs_video_out *o, const char **fmt)
{
    if (!(*fmt = format_for(path)))
        return cs_fail(CLSTYLE_ERR_USAGE, "%s: not a clip name (.mp4 .m4v .mov .mkv .webm .avi)", path);
    if (o->w < 2 || o->h < 2 || o->w % 2 || o->h % 2)
        return cs_fail(CLSTYLE_ERR_USAGE, "%s: frames of %dx%d; 4:2:0 video needs an even width and height", path, o->w, o->h);
    if (o->fps_num <= 0 || o->fps_den <= 0)
        return cs_fail(CLSTYLE_ERR_USAGE, "%s: frame rate %d/%d is not positive", path, o->fps_num, o->fps_den);
    if (o->rotation % 90 || o->rotation < 0 || o->rotation >= 360)
        return cs_fail(CLSTYLE_ERR_USAGE, "%s: rotation %d is not 0, 90, 180 or 270", path, o->rotation);
    if (o->crf < 0 || o->crf > 51) return cs_fail(CLSTYLE_ERR_USAGE, "%s: crf %d is outside 0..51", path, o->crf);
    return CLSTYLE_OK;
}

/* H.264 through libx264 where the container takes it, VP9 (else VP8) for
 * WebM, else the container's default encoder. */
static const AVCodec *pick_encoder(const AVOutputFormat *of)
{
    static const char *const names[] = { "libx264", "libvpx-vp9", "libvpx" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const AVCodec *c = avcodec_find_encoder_by_name(names[i]);
        if (c && avformat_query_codec(of, c->id, FF_COMPLIANCE_NORMAL) == 1) return c;
    }
    return avcodec_find_encoder(of->video_codec);
}

static clstyle_status open_encoder(cs_video_writer *w, const cs_video_out *o)
{
    const AVCodec *c = pick_encoder(w->oc->oformat);
    if (!c) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: this FFmpeg has no video encoder for %s", w->path, w->oc->oformat->name);
    if (!(w->enc = avcodec_alloc_context3(c))) return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", w->path);
    AVCodecContext *e = w->enc;
    e->width = w->sw;
    e->height = w->sh;
    e->pix_fmt = AV_PIX_FMT_YUV420P;
    e->time_base = (AVRational){ o->fps_den, o->fps_num };
    e->framerate = (AVRational){ o->fps_num, o->fps_den };
    e->colorspace = AVCOL_SPC_BT709; /* what the RGB is converted with; tagged so readers convert back alike */
    e->color_primaries = AVCOL_PRI_BT709;
    e->color_trc = AVCOL_TRC_BT709;
    e->color_range = AVCOL_RANGE_MPEG;
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opt = NULL;
    av_dict_set_int(&opt, "crf", o->crf, 0);
    if (!strcmp(c->name, "libx264")) av_dict_set(&opt, "preset", "medium", 0);
    else if (!strncmp(c->name, "libvpx", 6)) e->bit_rate = 0; /* constant quality: crf alone */
    int r = avcodec_open2(e, c, &opt);
    av_dict_free(&opt);
    if (r < 0) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot start the %s encoder (%s)", w->path, c->name, WHY(r));
    if (!(w->vst = avformat_new_stream(w->oc, NULL))) return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", w->path);
    if ((r = avcodec_parameters_from_context(w->vst->codecpar, e)) < 0)
        return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", w->path);
    w->vst->time_base = e->time_base;
    w->vst->avg_frame_rate = e->framerate;
    if (w->rotation) {
        int32_t *m = (int32_t *)av_stream_new_side_data(w->vst, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
        if (!m) return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", w->path);
        av_display_rotation_set(m, w->rotation); /* takes clockwise degrees (av_display_rotation_get gives the opposite) */
    }
    return CLSTYLE_OK;
}

/* The audio stream of o->audio_from as a stream of the output, when there
 * is one the container can hold; otherwise a note says why not. */
static clstyle_status add_audio(cs_video_writer *w, const cs_video_out *o)
{
    if (!o->audio_from) return CLSTYLE_OK;
    CS_TRY(open_input(o->audio_from, &w->ain));
    w->as = av_find_best_stream(w->ain, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    const AVStream *in = w->as >= 0 ? w->ain->streams[w->as] : NULL;
    if (in && avformat_query_codec(w->oc->oformat, in->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1)
        snprintf(w->note, sizeof w->note, "%s: its %s audio cannot go in %s; %s has no sound", o->audio_from,
                 avcodec_get_name(in->codecpar->codec_id), w->oc->oformat->name, w->path);
    if (!in || w->note[0]) {
        avformat_close_input(&w->ain);
        return CLSTYLE_OK;
    }
    if (!(w->ast = avformat_new_stream(w->oc, NULL)) || avcodec_parameters_copy(w->ast->codecpar, in->codecpar) < 0 ||
        !(w->apkt = av_packet_alloc()))
        return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", w->path);
    w->ast->codecpar->codec_tag = 0; /* the input container's tag may mean nothing in ours */
    w->ast->time_base = in->time_base;
    /* From the start, everything (an AAC's priming packet sits before 0). */
    w->a_start = o->audio_start_s > 0 ? av_rescale_q(llround(o->audio_start_s * AV_TIME_BASE), AV_TIME_BASE_Q, in->time_base)
                                      : INT64_MIN;
    w->a_shift = o->audio_start_s > 0 ? w->a_start : 0;
    w->a_end = o->audio_end_s > 0 ? av_rescale_q(llround(o->audio_end_s * AV_TIME_BASE), AV_TIME_BASE_Q, in->time_base)
                                  : INT64_MAX;
    if (o->audio_start_s > 0) av_seek_frame(w->ain, w->as, w->a_start, AVSEEK_FLAG_BACKWARD); /* else dropped while read */
    return CLSTYLE_OK;
}

/* Copies the audio packets that start before until_s on the output's clock
 * (all that are left when until_s < 0), so audio and video interleave as
 * the frames are written. */
static clstyle_status feed_audio(cs_video_writer *w, double until_s)
{
    AVRational tb = w->ain ? w->ain->streams[w->as]->time_base : (AVRational){ 0, 1 };
    while (w->ain && !w->aended) {
        AVPacket *p = w->apkt;
        if (!w->apending) {
            int e = av_read_frame(w->ain, p);
            if (e == AVERROR_EOF) break;
            if (e < 0) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot read its audio (%s)", w->ain->url, WHY(e));
            int64_t ts = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
            if (p->stream_index != w->as || ts == AV_NOPTS_VALUE || ts < w->a_start) {
                av_packet_unref(p);
                continue;
            }
            if (ts >= w->a_end) {
                av_packet_unref(p);
                break;
            }
            if (p->pts != AV_NOPTS_VALUE) p->pts -= w->a_shift;
            if (p->dts != AV_NOPTS_VALUE) p->dts -= w->a_shift;
            w->apending = 1;
        }
        int64_t ts = p->pts != AV_NOPTS_VALUE ? p->pts : p->dts;
        if (until_s >= 0 && ts * av_q2d(tb) >= until_s) return CLSTYLE_OK;
        av_packet_rescale_ts(p, tb, w->ast->time_base);
        p->stream_index = w->ast->index;
        p->pos = -1;
        w->apending = 0;
        int e = av_interleaved_write_frame(w->oc, p);
        if (e < 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot write its audio (%s)", w->path, WHY(e));
    }
    w->aended = 1;
    return CLSTYLE_OK;
}

static clstyle_status writer_buffers(cs_video_writer *w)
{
    w->pkt = av_packet_alloc();
    w->yuv = av_frame_alloc();
    w->rgb = malloc((size_t)w->sw * w->sh * 3 * sizeof *w->rgb);
    if (!w->pkt || !w->yuv || !w->rgb) return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", w->path);
    w->yuv->format = AV_PIX_FMT_YUV420P;
    w->yuv->width = w->sw;
    w->yuv->height = w->sh;
    if (av_frame_get_buffer(w->yuv, 0) < 0) return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", w->path);
    /* Chroma filtered down from every pixel (SWS_FULL_CHR_H_INP), not sampled. */
    w->sws = sws_getContext(w->sw, w->sh, AV_PIX_FMT_GBRP16, w->sw, w->sh, AV_PIX_FMT_YUV420P,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!w->sws) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot convert RGB to YUV 4:2:0", w->path);
    const int *bt709 = sws_getCoefficients(SWS_CS_ITU709);
    sws_setColorspaceDetails(w->sws, bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16);
    return CLSTYLE_OK;
}

static clstyle_status open_output(cs_video_writer *w)
{
    int e = avio_open(&w->oc->pb, w->tmp, AVIO_FLAG_WRITE);
    if (e < 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot write (%s)", w->path, WHY(e));
    AVDictionary *opt = NULL;
    /* The index first, so players start before the whole file is there. */
    if (!strcmp(w->oc->oformat->name, "mp4") || !strcmp(w->oc->oformat->name, "mov")) av_dict_set(&opt, "movflags", "+faststart", 0);
    e = avformat_write_header(w->oc, &opt);
    av_dict_free(&opt);
    if (e < 0) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot start the file (%s)", w->path, WHY(e));
    return CLSTYLE_OK;
}

static void free_writer(cs_video_writer *w)
{
    if (w->oc) avio_closep(&w->oc->pb);
    avformat_free_context(w->oc);
    avcodec_free_context(&w->enc);
    av_frame_free(&w->yuv);
    av_packet_free(&w->pkt);
    av_packet_free(&w->apkt);
    avformat_close_input(&w->ain);
    sws_freeContext(w->sws);
    free(w->rgb);
    free(w->path);
    free(w);
}

clstyle_status cs_video_create(const char *path, const cs_video_out *o, cs_video_writer **out)
{
    const char *fmt;
    clstyle_status st;
    *out = NULL;
    CS_TRY(check_out(path, o, &fmt));
    cs_video_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path))) {
        free(w);
        return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", path);
    }
    w->w = o->w, w->h = o->h;
    w->rotation = tags_rotation(fmt) ? o->rotation : 0;
    int turned = w->rotation == 90 || w->rotation == 270;
    w->sw = turned ? o->h : o->w;
    w->sh = turned ? o->w : o->h;
    cs_atomic a; /* creates the temporary file exclusively; FFmpeg then writes it by name */
    if ((st = cs_atomic_open(&a, path)) != CLSTYLE_OK) {
        free_writer(w);
        return st;
    }
    fclose(a.fp);
    snprintf(w->tmp, sizeof w->tmp, "%s", a.tmp);
    ff_quiet();
    /* The format by name: the temporary file's name may not end in the extension. */
    if (avformat_alloc_output_context2(&w->oc, NULL, fmt, w->tmp) < 0)
        CS_CHECK(cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", path));
    CS_CHECK(open_encoder(w, o));
    CS_CHECK(add_audio(w, o));
    CS_CHECK(writer_buffers(w));
    CS_CHECK(open_output(w));
done:
    if (st != CLSTYLE_OK) {
        cs_video_abort(w);
        return st;
    }
    *out = w;
    return CLSTYLE_OK;
}

const char *cs_video_note(const cs_video_writer *w) { return w->note[0] ? w->note : NULL; }

/* Sends a frame (NULL: the end) and writes the packets that come out. */
static clstyle_status encode(cs_video_writer *w, const AVFrame *f)
{
    int e = avcodec_send_frame(w->enc, f);
    for (;;) {
        if (e < 0) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: cannot encode frame %lld (%s)", w->path, (long long)w->next_pts, WHY(e));
        e = avcodec_receive_packet(w->enc, w->pkt);
        if (e == AVERROR(EAGAIN) || e == AVERROR_EOF) return CLSTYLE_OK;
        if (e < 0) continue;
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->vst->time_base);
        w->pkt->stream_index = w->vst->index;
        e = av_interleaved_write_frame(w->oc, w->pkt); /* takes the packet */
        if (e < 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot write (%s)", w->path, WHY(e));
    }
}

clstyle_status cs_video_write(cs_video_writer *w, const cs_image *frame)
{
    if (frame->w != w->w || frame->h != w->h)
        return cs_fail(CLSTYLE_ERR_USAGE, "%s: frame %lld is %dx%d, the clip %dx%d", w->path, (long long)w->next_pts + 1,
                       frame->w, frame->h, w->w, w->h);
    ff_log[0] = 0;
    size_t plane = (size_t)w->sw * w->sh;
    for (int y = 0; y < w->sh; y++)
        for (int x = 0; x < w->sw; x++) {
            int ux, uy;
            upright_of(w->rotation, w->sw, w->sh, x, y, &ux, &uy);
            size_t s = (size_t)y * w->sw + x, u = (size_t)uy * w->w + ux;
            for (int c = 0; c < 3; c++) w->rgb[c * plane + s] = (uint16_t)lrintf(cs_image_clamp01(frame->p[c * plane + u]) * 65535);
        }
    uint16_t *R = w->rgb, *G = R + plane, *B = G + plane;
    const uint8_t *src[4] = { (uint8_t *)G, (uint8_t *)B, (uint8_t *)R, NULL }; /* GBRP's plane order */
    int stride[4] = { w->sw * 2, w->sw * 2, w->sw * 2, 0 };
    if (av_frame_make_writable(w->yuv) < 0) return cs_fail(CLSTYLE_ERR_NOMEM, "%s: out of memory", w->path);
    sws_scale(w->sws, src, stride, 0, w->sh, w->yuv->data, w->yuv->linesize);
    w->yuv->pts = w->next_pts++;
    CS_TRY(encode(w, w->yuv));
    return feed_audio(w, (double)w->next_pts * w->enc->time_base.num / w->enc->time_base.den);
}

/* The file's data on the disk before the rename makes it the target. */
static int sync_file(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int r = fsync(fd);
    return close(fd) | r;
}

clstyle_status cs_video_finish(cs_video_writer *w)
{
    clstyle_status st = CLSTYLE_OK;
    int e;
    ff_log[0] = 0;
    if (w->next_pts == 0) CS_CHECK(cs_fail(CLSTYLE_ERR_USAGE, "%s: no frames to write", w->path));
    CS_CHECK(encode(w, NULL));
    CS_CHECK(feed_audio(w, -1));
    if ((e = av_write_trailer(w->oc)) < 0) CS_CHECK(cs_fail(CLSTYLE_ERR_IO, "%s: cannot finish the file (%s)", w->path, WHY(e)));
    if ((e = avio_closep(&w->oc->pb)) < 0) CS_CHECK(cs_fail(CLSTYLE_ERR_IO, "%s: cannot write (%s)", w->path, WHY(e)));
    if (sync_file(w->tmp) != 0 || rename(w->tmp, w->path) != 0)
        CS_CHECK(cs_fail(CLSTYLE_ERR_IO, "%s: cannot write: %s", w->path, strerror(errno)));
done:
    if (st != CLSTYLE_OK) unlink(w->tmp);
    free_writer(w);
    return st;
}

void cs_video_abort(cs_video_writer *w)
{
    if (!w) return;
    int had_tmp = w->tmp[0] != 0;
    char tmp[sizeof w->tmp];
    memcpy(tmp, w->tmp, sizeof tmp);
    free_writer(w); /* closes the file first */
    if (had_tmp) unlink(tmp);
}
