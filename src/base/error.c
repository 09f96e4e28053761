#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_msg[1024];

const char *clstyle_status_str(clstyle_status s)
{
    switch (s) {
    case CLSTYLE_OK: return "ok";
    case CLSTYLE_ERR_USAGE: return "usage error";
    case CLSTYLE_ERR_IO: return "i/o error";
    case CLSTYLE_ERR_FORMAT: return "bad file format";
    case CLSTYLE_ERR_NOMEM: return "out of memory";
    case CLSTYLE_ERR_OPENCL: return "OpenCL error";
    case CLSTYLE_ERR_DEVICE: return "device error";
    case CLSTYLE_ERR_NUMERIC: return "numerical error";
    case CLSTYLE_ERR_INTERRUPTED: return "interrupted";
    }
    return "unknown status";
}

const char *clstyle_last_error(void) { return last_msg; }

clstyle_status cs_fail(clstyle_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    return s;
}
