/* Errors are values: a status plus a thread-local one-line message. */
#ifndef CS_ERROR_H
#define CS_ERROR_H
#include "clstyle.h"

#if defined(__GNUC__)
#define CS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CS_PRINTF(a, b)
#endif

/* Records a message and returns s, so callers can `return cs_fail(...)`. */
clstyle_status cs_fail(clstyle_status s, const char *fmt, ...) CS_PRINTF(2, 3);

#define CS_TRY(expr) do { clstyle_status cs_st_ = (expr); if (cs_st_ != CLSTYLE_OK) return cs_st_; } while (0)
/* For functions with a single cleanup label `done` and a status variable `st`. */
#define CS_CHECK(expr) do { st = (expr); if (st != CLSTYLE_OK) goto done; } while (0)

#endif
