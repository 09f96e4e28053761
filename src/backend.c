/* Backend creation and configuration: the one place that reads the CLSTYLE_*
 * environment, and the factory the driver, tests and benchmark share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "error.h"

static int env_on(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0");
}

static size_t env_mb(const char *name)
{
    const char *v = getenv(name);
    long mb = v ? atol(v) : 0;
    return mb > 0 ? (size_t)mb << 20 : 0;
}

/* $CLSTYLE_CACHE_DIR, else $XDG_CACHE_HOME/clstyle/kernels, else ~/.cache/clstyle/kernels. */
static void cache_dir(char *out, size_t n)
{
    const char *dir = getenv("CLSTYLE_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    out[0] = 0;
    if (env_on("CLSTYLE_NO_CACHE")) return;
    if (dir && *dir) snprintf(out, n, "%s", dir);
    else if (xdg && *xdg) snprintf(out, n, "%s/clstyle/kernels", xdg);
    else if (home && *home) snprintf(out, n, "%s/.cache/clstyle/kernels", home);
}

const char *const cs_lean_names[CS_LEAN_LEVELS] = { "chosen", "no-winograd", "gemm" };

/* A variable's value, NULL when unset or empty. */
static const char *env_str(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void cs_backend_params_from_env(cs_backend_params *p)
{
    memset(p, 0, sizeof *p);
    p->device = env_str("CLSTYLE_DEVICE");
    p->mem_limit = env_mb("CLSTYLE_DEVICE_MEM_MB");
    p->max_alloc = env_mb("CLSTYLE_MAX_ALLOC_MB");
    p->cl.conv = env_str("CLSTYLE_CONV");
    p->cl.gram = env_str("CLSTYLE_GRAM");
    p->cl.profile = env_on("CLSTYLE_PROFILE");
    p->cl.band_bytes = env_mb("CLSTYLE_BAND_MB");
    p->cl.max_wg = getenv("CLSTYLE_MAX_WG") ? (size_t)strtoul(getenv("CLSTYLE_MAX_WG"), NULL, 10) : 0;
    cache_dir(p->cl.cache_dir, sizeof p->cl.cache_dir);
    p->cl.fail_family = env_str("CLSTYLE_FAIL_KERNELS"); /* a test hook: see cl_params.h */
}

clstyle_status cs_backend_create(const char *name, const cs_backend_params *params, cs_backend **out)
{
    cs_backend_params none;
    if (!params) {
        memset(&none, 0, sizeof none);
        params = &none;
    }
    *out = NULL;
    if (!strcmp(name, "reference")) return cs_backend_reference_create(out);
    if (!strcmp(name, "opencl")) return cs_backend_opencl_create(params, out);
    return cs_fail(CLSTYLE_ERR_USAGE, "unknown backend '%s' (opencl, reference)", name);
}
