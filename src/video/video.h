/* Clips in and out through FFmpeg's libraries (libavformat, libavcodec,
 * libswscale): any container and codec they read; H.264 (libx264) in MP4,
 * MKV, MOV or AVI out (VP9 in WebM), the input's audio stream copied
 * unchanged. Built with the meson feature `video`; without it every call
 * fails with a one-line message saying so (video_none.c). Frames are
 * cs_image: planar RGB [0,1]. FFmpeg's own log is kept off stderr (the
 * callback is process-wide); its last error line goes into our messages. */
#ifndef CS_VIDEO_H
#define CS_VIDEO_H
#include "image.h"

typedef struct {
    int w, h;               /* frames as cs_video_read returns them: upright (rotation applied) */
    int fps_num, fps_den;   /* the video stream's average frame rate */
    long frames;            /* frame count when the container says, else -1 */
    int rotation;           /* display rotation of the stored frames: 0, 90, 180 or 270 (clockwise) */
    int has_audio;
    double duration_s;      /* -1 when unknown */
} cs_video_info;

typedef struct cs_video_reader cs_video_reader;

/* Whether this build reads and writes clips. */
int cs_video_available(void);
/* Whether path names a clip by its extension (.mp4 .m4v .mkv .mov .webm .avi), for outputs. */
int cs_video_path_is_clip(const char *path);
/* Whether the file is a media container FFmpeg recognizes (probed by
 * content, not name): for telling clips from pictures on input. Still
 * pictures (PNG, JPEG, ...: FFmpeg's image2 and *_pipe demuxers) are not;
 * a file with no video stream (audio only) is, so that cs_video_open can
 * say what it lacks. */
int cs_video_probe(const char *path);

/* Opens a clip's main video stream (FFmpeg's best one that is not cover
 * art); fails naming the file when it is not a clip, has no video stream
 * or cannot be decoded. */
clstyle_status cs_video_open(const char *path, cs_video_reader **r, cs_video_info *info);
/* The next frame, upright; *got = 0 at the end (frame untouched). frame is
 * zeroed or an earlier call's frame, reused when its size is right (the
 * caller cs_image_frees it). A corrupt or truncated stream fails naming the
 * file and the frame number. */
clstyle_status cs_video_read(cs_video_reader *r, cs_image *frame, int *got);
void cs_video_close(cs_video_reader *r);

typedef struct cs_video_writer cs_video_writer;

typedef struct {
    int w, h;               /* upright frames given to cs_video_write; even (4:2:0) */
    int fps_num, fps_den;
    int rotation;           /* stored rotated back by this and tagged with it, as the input was
                               (MP4 and MOV; FFmpeg 5.1 cannot tag the others: stored upright there) */
    int crf;                /* x264 quality, 0..51 (lower is better); 18 */
    const char *audio_from; /* a clip whose best audio stream is copied unchanged, or NULL; none
                               when it has none or the container cannot hold it (cs_video_note) */
    double audio_start_s, audio_end_s; /* the part of it to copy (end <= 0: to its end) */
} cs_video_out;

/* Starts writing `path` through a temporary file beside it (.NAME.PID);
 * cs_video_finish renames it into place. */
clstyle_status cs_video_create(const char *path, const cs_video_out *o, cs_video_writer **w);
clstyle_status cs_video_write(cs_video_writer *w, const cs_image *frame);
/* Why audio_from's sound was left out (its codec cannot go in this
 * container), or NULL; valid until finish or abort. */
const char *cs_video_note(const cs_video_writer *w);
/* Flushes the encoder, copies the audio, writes the trailer and renames:
 * a playable file of the frames written. Frees w whatever happens. */
clstyle_status cs_video_finish(cs_video_writer *w);
/* Removes the temporary file and frees w (NULL: nothing). */
void cs_video_abort(cs_video_writer *w);

#endif
