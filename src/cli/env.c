#include "env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "session.h"
#include "shard.h"

const char *const cs_weights_names[] = { "vgg16.safetensors", "vgg19-conv.safetensors", "vgg19.safetensors", NULL };

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int env_on(const char *name) { return env(name) && strcmp(env(name), "0"); }

static double env_mb(const char *name)
{
    long mb = env(name) ? atol(env(name)) : 0;
    return mb > 0 ? (double)mb : 0;
}

/* $XDG_CACHE_HOME/clstyle, else ~/.cache/clstyle, then `sub`. */
static void user_cache(const char *sub, char *out, size_t n)
{
    if (env("XDG_CACHE_HOME")) snprintf(out, n, "%s/clstyle%s", env("XDG_CACHE_HOME"), sub);
    else snprintf(out, n, "%s/.cache/clstyle%s", env("HOME") ? env("HOME") : ".", sub);
}

clstyle_status cs_env_weights(const char *given, char *out, size_t n)
{
    char dir[4096];
    if (given || env("CLSTYLE_WEIGHTS")) {
        snprintf(out, n, "%s", given ? given : env("CLSTYLE_WEIGHTS"));
        return CLSTYLE_OK;
    }
    user_cache("", dir, sizeof dir);
    for (int i = 0; cs_weights_names[i]; i++) {
        snprintf(out, n, "%s/%s", dir, cs_weights_names[i]);
        if (access(out, R_OK) == 0) return CLSTYLE_OK;
    }
    return cs_fail(CLSTYLE_ERR_IO, "no VGG weights found (looked for %s, %s or %s in %s/): pass --weights FILE, set "
                   "CLSTYLE_WEIGHTS, or run tools/demo once to download them", cs_weights_names[0], cs_weights_names[1],
                   cs_weights_names[2], dir);
}

void cs_env_session(clstyle_session_options *o, char *cache_dir, size_t n)
{
    o->device = env("CLSTYLE_DEVICE");
    o->conv = env("CLSTYLE_CONV");
    o->gram = env("CLSTYLE_GRAM");
    o->profile = env_on("CLSTYLE_PROFILE");
    o->band_mb = env_mb("CLSTYLE_BAND_MB");
    o->max_memory_mb = env_mb("CLSTYLE_DEVICE_MEM_MB");
    o->max_alloc_mb = env_mb("CLSTYLE_MAX_ALLOC_MB");
    o->host_memory_mb = env_mb("CLSTYLE_HOST_MEM_MB");
    o->max_work_group = env("CLSTYLE_MAX_WG") ? atoi(env("CLSTYLE_MAX_WG")) : 0;
    cache_dir[0] = 0;
    if (!env_on("CLSTYLE_NO_CACHE")) {
        if (env("CLSTYLE_CACHE_DIR")) snprintf(cache_dir, n, "%s", env("CLSTYLE_CACHE_DIR"));
        else user_cache("/kernels", cache_dir, n);
    }
    o->cache_dir = cache_dir[0] ? cache_dir : NULL;
}

void cs_backend_params_from_env(cs_backend_params *p)
{
    clstyle_session_options o;
    char dir[1024];
    clstyle_session_options_default(&o);
    cs_env_session(&o, dir, sizeof dir);
    cs_session_params(&o, p);
    p->cl.fail_family = env("CLSTYLE_FAIL_KERNELS"); /* a test hook: that kernel family fails to build */
    p->cl.rect_windows = env_on("CLSTYLE_RECT_WINDOWS"); /* a benchmark hook: the driver's copies beside the mapped ones */
}

void cs_env_shard(cs_shard_env *e)
{
    e->slurm_id = env("SLURM_ARRAY_TASK_ID");
    e->slurm_min = env("SLURM_ARRAY_TASK_MIN");
    e->slurm_count = env("SLURM_ARRAY_TASK_COUNT");
    e->slurm_step = env("SLURM_ARRAY_TASK_STEP");
    e->k8s_index = env("JOB_COMPLETION_INDEX");
    e->count = env("CLSTYLE_SHARD_COUNT");
}
