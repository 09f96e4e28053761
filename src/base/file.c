#define _POSIX_C_SOURCE 200809L
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

void cs_atomic_temp_path(const char *path, char *buf, size_t n)
{
    const char *slash = strrchr(path, '/');
    int dirlen = slash ? (int)(slash - path + 1) : 0;
    snprintf(buf, n, "%.*s.%s.%ld", dirlen, path, slash ? slash + 1 : path, (long)getpid());
}

/* The temporary file: ".NAME.PID", or, when another writer in this process
 * has that one (two threads writing one cache entry), ".NAME.PID.XXXXXX". */
static int create_temp(cs_atomic *a)
{
    int fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0 || errno != EEXIST || strlen(a->tmp) + 8 >= sizeof a->tmp) return fd;
    strcat(a->tmp, ".XXXXXX");
    fd = mkstemp(a->tmp);
    mode_t mask = umask(0); /* mkstemp makes 0600; give the file the usual permissions */
    umask(mask);
    if (fd >= 0) fchmod(fd, 0666 & ~mask);
    return fd;
}

clstyle_status cs_atomic_open(cs_atomic *a, const char *path)
{
    cs_atomic_temp_path(path, a->tmp, sizeof a->tmp);
    if (strlen(a->tmp) + 1 >= sizeof a->tmp) return cs_fail(CLSTYLE_ERR_IO, "%s: path too long", path);
    a->path = path;
    a->err = 0;
    int fd = create_temp(a);
    if (fd < 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot create a file there: %s", path, strerror(errno));
    a->fp = fdopen(fd, "wb");
    if (!a->fp) {
        close(fd);
        unlink(a->tmp);
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
    if (ok && rename(a->tmp, a->path) == 0) return CLSTYLE_OK;
    if (!err) err = errno;
    unlink(a->tmp);
    return cs_fail(CLSTYLE_ERR_IO, "%s: cannot write: %s", a->path, err ? strerror(err) : "encoding failed");
}

const char *cs_file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a folder";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISLNK(m)) return "a symbolic link";
    return "not a regular file";
}

clstyle_status cs_open_regular(const char *path, const char *what, FILE **out)
{
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot open %s: %s", path, what, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return cs_fail(CLSTYLE_ERR_IO, "%s: %s is %s, not a regular file", path, what, cs_file_kind(sb.st_mode));
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (!(*out = fdopen(fd, "rb"))) {
        close(fd);
        return cs_fail(CLSTYLE_ERR_IO, "%s: cannot open %s: %s", path, what, strerror(errno));
    }
    return CLSTYLE_OK;
}
