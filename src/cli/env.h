/* The environment, read in one place at the command line's edge: where the
 * weights are looked for and the CLSTYLE_* settings of the device. */
#ifndef CS_ENV_H
#define CS_ENV_H
#include <stddef.h>

#include "backend.h"
#include "clstyle.h"

/* The weights file: `given` (--weights), else $CLSTYLE_WEIGHTS, else the
 * first of cs_weights_names in the user cache ($XDG_CACHE_HOME/clstyle,
 * else ~/.cache/clstyle); the message lists where it looked. */
clstyle_status cs_env_weights(const char *given, char *out, size_t n);
extern const char *const cs_weights_names[]; /* NULL-terminated */
/* CLSTYLE_DEVICE, _CONV, _GRAM, _PROFILE, _BAND_MB, _DEVICE_MEM_MB, _MAX_ALLOC_MB,
 * _MAX_WG, _CACHE_DIR / XDG_CACHE_HOME, _NO_CACHE into session options. */
void cs_env_session(clstyle_session_options *o, char *cache_dir, size_t n);
/* The cluster's task numbering: SLURM_ARRAY_TASK_ID, _MIN, _COUNT, _STEP,
 * JOB_COMPLETION_INDEX and CLSTYLE_SHARD_COUNT (shard.h). */
struct cs_shard_env;
void cs_env_shard(struct cs_shard_env *e);
/* The same settings as backend parameters, for tools and tests that make backends. */
void cs_backend_params_from_env(cs_backend_params *p);

#endif
