/* The command line's clips (clip.c; docs/video.md). */
#ifndef CS_CLIP_H
#define CS_CLIP_H
#include "cli.h"

/* Styles the clip -c names into -o, frame by frame; CLSTYLE_ERR_INTERRUPTED
 * after a stop, with the frames done written (and a video of them). */
clstyle_status cs_clip_run(const cs_options *o);

#endif
