#define _POSIX_C_SOURCE 200809L
#include "atomic.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "interrupt.h"

clstyle_status cs_atomic_open(cs_atomic *a, const char *path)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    int n = snprintf(a->tmp, sizeof a->tmp - 7, "%.*s.%s.", dirlen, path, slash ? slash + 1 : path);
    if (n < 0 || n >= (int)sizeof a->tmp - 7) return cs_fail(CLSTYLE_ERR_IO, "%s: path too long", path);
    memset(a->tmp + n, 'X', 6); /* mkstemp's template */
    a->tmp[n + 6] = 0;
    a->path = path;
    a->err = 0;
    int fd = mkstemp(a->tmp);
    if (fd >= 0) cs_pending_file_set(a->tmp);
    if (fd < 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot create a file there: %s", path, strerror(errno));
    mode_t mask = umask(0); /* mkstemp makes 0600; give the file the usual permissions */
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    a->fp = fdopen(fd, "wb");
    if (!a->fp) {
        close(fd);
        unlink(a->tmp);
        cs_pending_file_set(NULL);
        return cs_fail(CLSTYLE_ERR_IO, "%s: cannot open for writing", path);
    }
    return CLSTYLE_OK;
}

clstyle_status cs_atomic_commit(cs_atomic *a, int ok)
{
    int err = ok ? 0 : a->err ? a->err : ferror(a->fp) ? EIO : 0;
    errno = 0;
    ok = ok && fflush(a->fp) == 0 && fsync(fileno(a->fp)) == 0;
    if (!err) err = errno;
    ok = fclose(a->fp) == 0 && ok;
    if (!err) err = errno;
    if (ok && rename(a->tmp, a->path) == 0) {
        cs_pending_file_set(NULL);
        return CLSTYLE_OK;
    }
    if (!err) err = errno;
    unlink(a->tmp);
    cs_pending_file_set(NULL);
    return cs_fail(CLSTYLE_ERR_IO, "%s: cannot write: %s", a->path, err ? strerror(err) : "encoding failed");
}
