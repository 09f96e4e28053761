#include "runlog.h"

#include <errno.h>
#include <string.h>

#include "error.h"

static clstyle_status log_failed(const char *path, int err)
{
    return cs_fail(CLSTYLE_ERR_IO, "%s: cannot write the log: %s", path, err ? strerror(err) : "write error");
}

clstyle_status cs_log_open(const char *path, FILE **out)
{
    *out = fopen(path, "w");
    return *out ? CLSTYLE_OK : cs_fail(CLSTYLE_ERR_IO, "%s: cannot open log file: %s", path, strerror(errno));
}

clstyle_status cs_log_check(FILE *f, const char *path)
{
    if (!f) return CLSTYLE_OK;
    errno = 0;
    if (fflush(f) != 0 || ferror(f)) return log_failed(path, errno);
    return CLSTYLE_OK;
}

clstyle_status cs_log_interrupted(FILE *f, const char *path, int iter)
{
    if (!f) return CLSTYLE_OK;
    fprintf(f, "{\"event\":\"interrupted\",\"iter\":%d}\n", iter);
    return cs_log_check(f, path);
}

clstyle_status cs_log_close(FILE **f, const char *path)
{
    if (!*f) return CLSTYLE_OK;
    errno = 0;
    int bad = ferror(*f) != 0;
    bad = fclose(*f) != 0 || bad;
    *f = NULL;
    return bad ? log_failed(path, errno) : CLSTYLE_OK;
}
