/* A clip's frames in and out for the command line: a video file (through
 * video.h), a folder of pictures (in name order) or a numbered pattern
 * (frames/%04d.png) on the way in, with a range and a frame rate chosen;
 * a video file, a folder or a pattern on the way out. */
#ifndef CS_CLIP_IO_H
#define CS_CLIP_IO_H
#include "image.h"
#include "video.h"

/* Whether -c names a clip: a file FFmpeg reads as video, a numbered pattern
 * (a printf %d) or, with --clip, a folder of frames. */
int cs_clip_is_input(const char *spec, int clip_flag);
/* Whether spec is a numbered pattern ("%d", "%04d"). */
int cs_clip_is_pattern(const char *spec);

typedef struct {
    cs_video_reader *video;       /* a video file, or ... */
    char **paths;                 /* ... pictures in order */
    int n_paths;
    const char *name;             /* -c as given, for messages */
    cs_video_info info;           /* of the video; for pictures: the first one's size, the rate given */
    int first, last;              /* frames kept: 1-based, inclusive (last 0: to the end) */
    double keep_rate;             /* frames per second kept (0: all) */
    long read;                    /* frames read from the source */
    int kept;                     /* frames handed out */
} cs_clip_in;

/* Opens the source; first..last (1-based, last 0 = to the end) and fps (0:
 * the source's; pictures have no rate of their own: fps or 24) choose the
 * frames. */
clstyle_status cs_clip_in_open(const char *spec, int clip_flag, int first, int last, double fps, cs_clip_in *in);
/* The next kept frame, upright; *got = 0 after the last. */
clstyle_status cs_clip_in_next(cs_clip_in *in, cs_image *frame, int *got);
/* The output's rate: fps_num/fps_den. */
void cs_clip_in_rate(const cs_clip_in *in, int *num, int *den);
/* The source time of the first kept frame and just after the last one handed out (s), for the audio. */
double cs_clip_in_start_s(const cs_clip_in *in);
void cs_clip_in_close(cs_clip_in *in);

/* Where the styled frames go. A video is written at the end from the frames
 * kept in a work folder beside it (".NAME.frames"), so a stopped run keeps
 * what it did and a rerun goes on; a folder or a pattern takes the frames
 * directly. */
typedef struct {
    const char *spec;
    int video;                    /* -o is a video file */
    char dir[4096];               /* the folder the frames are written to */
    char pattern[4200];           /* printf pattern of one frame's path, 1-based */
} cs_clip_out;

clstyle_status cs_clip_out_init(const char *spec, int format_jpg, cs_clip_out *out);
void cs_clip_out_frame(const cs_clip_out *out, int k, char *path, size_t n);

#endif
