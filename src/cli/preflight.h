/* Checks on the paths a run reads and writes, made before anything is
 * loaded, so a bad path fails in a moment rather than after the run. */
#ifndef CS_PREFLIGHT_H
#define CS_PREFLIGHT_H
#include <stdio.h>
#include "cli.h"

/* Inputs (content, styles, --init FILE, the weights) must be regular files
 * when they exist (a FIFO would block the open; a device never ends). The
 * output must be a usable path (not empty, within PATH_MAX and NAME_MAX) in a
 * writable folder, and, when it exists, a regular file (not a folder, device,
 * FIFO or symbolic link) that is none of the inputs nor the --log file
 * (same device and inode, so links and other spellings count too). The log
 * must not be an input either. */
clstyle_status cs_preflight(const cs_options *o, const char *weights_path);

#endif
