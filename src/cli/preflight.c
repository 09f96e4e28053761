#define _POSIX_C_SOURCE 200809L
#include "preflight.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file.h"


typedef struct {
    const char *role, *path; /* "the content image", its path */
    struct stat sb;
    int exists;
} named_file;


/* A missing input is left to its loader, which says so with the reason. */
static clstyle_status check_input(named_file *f)
{
    f->exists = stat(f->path, &f->sb) == 0;
    if (!f->exists || S_ISREG(f->sb.st_mode)) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_IO, "%s: %s is %s, not a regular file", f->path, f->role, cs_file_kind(f->sb.st_mode));
}

static int same_file(const struct stat *a, const struct stat *b) { return a->st_dev == b->st_dev && a->st_ino == b->st_ino; }

static clstyle_status check_name(const char *path)
{
    if (!path || !*path) return cs_fail(CLSTYLE_ERR_USAGE, "-o/--output: the file name is empty");
    size_t len = strlen(path);
    if (len >= PATH_MAX)
        return cs_fail(CLSTYLE_ERR_USAGE, "-o/--output: the path is %zu characters long; the limit is %d (PATH_MAX)", len,
                       PATH_MAX - 1);
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    if (!*base) return cs_fail(CLSTYLE_ERR_USAGE, "-o %s names a folder; give a file name such as %sout.png", path, path);
    if (strlen(base) + CS_ATOMIC_EXTRA > NAME_MAX)
        return cs_fail(CLSTYLE_ERR_USAGE, "-o/--output: the file name is %zu characters long; the limit is %d", strlen(base),
                       NAME_MAX - CS_ATOMIC_EXTRA);
    return CLSTYLE_OK;
}

/* Fails now, not after a long run, if the output's folder cannot be written. */
static clstyle_status check_folder(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + (slash == path) : 1, slash ? path : ".");
    if (access(dir, W_OK) != 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot write to folder '%s': %s", path, dir, strerror(errno));
    return CLSTYLE_OK;
}

/* lstat, not stat: a symbolic link is refused rather than followed, so a link
 * planted in a shared folder cannot aim the write at another file. */
static clstyle_status check_target(const char *path, const named_file *inputs, int n)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) return CLSTYLE_OK;
    if (S_ISDIR(sb.st_mode))
        return cs_fail(CLSTYLE_ERR_USAGE, "-o %s is a folder; give a file name such as %s/out.png", path, path);
    if (S_ISLNK(sb.st_mode))
        return cs_fail(CLSTYLE_ERR_USAGE, "-o %s is a symbolic link; clstyle replaces only regular files, so give the link's target", path);
    if (!S_ISREG(sb.st_mode))
        return cs_fail(CLSTYLE_ERR_USAGE, "-o %s is %s; clstyle replaces only regular files", path, cs_file_kind(sb.st_mode));
    for (int i = 0; i < n; i++)
        if (inputs[i].exists && same_file(&sb, &inputs[i].sb))
            return cs_fail(CLSTYLE_ERR_USAGE, "-o %s is the same file as %s %s; refusing to overwrite an input", path,
                           inputs[i].role, inputs[i].path);
    return CLSTYLE_OK;
}

/* The log is opened for writing ("w" truncates), so it must not be an input. */
static clstyle_status check_log(const char *log, const named_file *inputs, int n)
{
    struct stat sb;
    if (!log || stat(log, &sb) != 0) return CLSTYLE_OK;
    for (int i = 0; i < n; i++)
        if (inputs[i].exists && same_file(&sb, &inputs[i].sb))
            return cs_fail(CLSTYLE_ERR_USAGE, "--log %s is the same file as %s %s; refusing to overwrite an input", log,
                           inputs[i].role, inputs[i].path);
    return CLSTYLE_OK;
}

clstyle_status cs_preflight(const cs_options *o, const char *weights_path)
{
    named_file in[3 * CS_CLI_MAX_STYLES + 4];
    int n = 0;
    in[n++] = (named_file){ .role = "the content image", .path = o->content };
    for (int k = 0; k < o->n_styles; k++) in[n++] = (named_file){ .role = "a style image", .path = o->styles[k] };
    for (int k = 0; k < o->n_style_masks; k++) in[n++] = (named_file){ .role = "a --style-mask", .path = o->style_masks[k] };
    for (int k = 0; k < o->n_style_image_masks; k++)
        if (o->style_image_masks[k]) in[n++] = (named_file){ .role = "a --style-image-mask", .path = o->style_image_masks[k] };
    if (cs_options_init_file(o))
        in[n++] = (named_file){ .role = "the --init image", .path = o->init };
    in[n++] = (named_file){ .role = "the weights file", .path = weights_path };
    for (int i = 0; i < n; i++) CS_TRY(check_input(&in[i]));
    CS_TRY(check_name(o->output));
    CS_TRY(check_log(o->log_path, in, n));
    if (o->log_path) {
        in[n] = (named_file){ .role = "the --log file", .path = o->log_path };
        in[n].exists = stat(o->log_path, &in[n].sb) == 0;
        n++;
    }
    CS_TRY(check_target(o->output, in, n));
    return check_folder(o->output);
}

