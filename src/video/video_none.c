/* A build without FFmpeg (-Dvideo=disabled, or its libraries missing):
 * clip names are still recognized, so the program can say why it refuses
 * them, but every clip call fails with a message saying how to get them. */
#include <string.h>
#include <strings.h>

#include "error.h"
#include "video.h"

static clstyle_status no_video(const char *path)
{
    return cs_fail(CLSTYLE_ERR_USAGE, "%s: clips need FFmpeg: this clstyle was built without the meson feature `video` "
                                      "(install libavformat-dev libavcodec-dev libswscale-dev and rebuild)", path);
}

int cs_video_available(void) { return 0; }

/* The same names as video_ff.c's container table. */
int cs_video_path_is_clip(const char *path)
{
    static const char *const ext[] = { ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi" };
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (!strcasecmp(dot, ext[i])) return 1;
    return 0;
}

int cs_video_probe(const char *path)
{
    (void)path;
    return 0;
}

clstyle_status cs_video_open(const char *path, cs_video_reader **r, cs_video_info *info)
{
    *r = NULL;
    memset(info, 0, sizeof *info);
    return no_video(path);
}

clstyle_status cs_video_read(cs_video_reader *r, cs_image *frame, int *got)
{
    (void)r, (void)frame;
    *got = 0;
    return no_video("clip");
}

void cs_video_close(cs_video_reader *r) { (void)r; }

clstyle_status cs_video_create(const char *path, const cs_video_out *o, cs_video_writer **w)
{
    (void)o;
    *w = NULL;
    return no_video(path);
}

clstyle_status cs_video_write(cs_video_writer *w, const cs_image *frame)
{
    (void)w, (void)frame;
    return no_video("clip");
}

const char *cs_video_note(const cs_video_writer *w)
{
    (void)w;
    return NULL;
}

clstyle_status cs_video_finish(cs_video_writer *w)
{
    (void)w;
    return no_video("clip");
}

void cs_video_abort(cs_video_writer *w) { (void)w; }
