/* A batch cut into N fixed slices for N cluster tasks: --shard K/N, else
 * Slurm's array variables, else Kubernetes' completion index with a count. */
#ifndef CS_SHARD_H
#define CS_SHARD_H
#include "clstyle.h"

typedef struct {
    int k, n;            /* slice k of n, 1-based; n == 0: the whole batch */
    const char *source;  /* "--shard", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX": for messages */
} cs_shard;

/* What the environment says about the task (read by env.c; NULL when unset). */
typedef struct cs_shard_env {
    const char *slurm_id, *slurm_min, *slurm_count, *slurm_step;
    const char *k8s_index, *count;   /* JOB_COMPLETION_INDEX, CLSTYLE_SHARD_COUNT */
} cs_shard_env;

/* "K/N" with 1 <= K <= N. */
clstyle_status cs_shard_parse(const char *s, cs_shard *out);
/* The task's slice: `given` (--shard) first, else Slurm's array (task
 * (ID - MIN) / STEP + 1 of COUNT), else JOB_COMPLETION_INDEX + 1 of
 * `count` (--shard-count, > 0) or CLSTYLE_SHARD_COUNT; else the whole batch. */
clstyle_status cs_shard_resolve(const char *given, int count, const cs_shard_env *env, cs_shard *out);
/* Whether the i-th of the sorted results belongs to the slice: round robin
 * over the sorted order, so slices differ by at most one result and a
 * result's slice depends only on its place in the sorted batch. */
int cs_shard_has(const cs_shard *s, int i);

#endif
