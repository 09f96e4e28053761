#include "shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "error.h"

static int to_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return !errno && end != s && !*end;
}

clstyle_status cs_shard_parse(const char *s, cs_shard *out)
{
    int k, n, used = 0;
    if (sscanf(s, "%d/%d%n", &k, &n, &used) != 2 || s[used] || n < 1 || k < 1 || k > n)
        return cs_fail(CLSTYLE_ERR_USAGE, "--shard: expected K/N with 1 <= K <= N (e.g. 2/8), got '%s'", s);
    *out = (cs_shard){ k, n, "--shard" };
    return CLSTYLE_OK;
}

/* Arrays such as --array=0-9 or 1-10:2 number their tasks MIN, MIN+STEP, ... */
static clstyle_status from_slurm(const cs_shard_env *e, cs_shard *out)
{
    long id, min = 0, count, step = 1;
    if (!to_long(e->slurm_id, &id) || (e->slurm_min && !to_long(e->slurm_min, &min)) || !e->slurm_count ||
        !to_long(e->slurm_count, &count) || (e->slurm_step && !to_long(e->slurm_step, &step)) || step < 1)
        return cs_fail(CLSTYLE_ERR_USAGE, "SLURM_ARRAY_TASK_ID=%s (MIN %s, COUNT %s, STEP %s): not an array task clstyle can "
                       "number; pass --shard K/N", e->slurm_id, e->slurm_min ? e->slurm_min : "unset",
                       e->slurm_count ? e->slurm_count : "unset", e->slurm_step ? e->slurm_step : "unset");
    long k = (id - min) / step + 1;
    if ((id - min) % step || k < 1 || k > count)
        return cs_fail(CLSTYLE_ERR_USAGE, "SLURM_ARRAY_TASK_ID=%ld is not task MIN + i*STEP of a %ld-task array (MIN %ld, "
                       "STEP %ld): use --array=A-B[:S] or pass --shard K/N", id, count, min, step);
    *out = (cs_shard){ (int)k, (int)count, "SLURM_ARRAY_TASK_ID" };
    return CLSTYLE_OK;
}

static clstyle_status from_k8s(const cs_shard_env *e, int count, cs_shard *out)
{
    long idx, n = count;
    if (!to_long(e->k8s_index, &idx) || idx < 0)
        return cs_fail(CLSTYLE_ERR_USAGE, "JOB_COMPLETION_INDEX='%s': expected an index from 0", e->k8s_index);
    if (!n && e->count && (!to_long(e->count, &n) || n < 1))
        return cs_fail(CLSTYLE_ERR_USAGE, "CLSTYLE_SHARD_COUNT='%s': expected a count from 1", e->count);
    if (!n)
        return cs_fail(CLSTYLE_ERR_USAGE, "JOB_COMPLETION_INDEX=%ld is set but not the number of shards: pass --shard-count N "
                       "(the Job's completions) or set CLSTYLE_SHARD_COUNT", idx);
    if (idx >= n)
        return cs_fail(CLSTYLE_ERR_USAGE, "JOB_COMPLETION_INDEX=%ld is not below the shard count %ld", idx, n);
    *out = (cs_shard){ (int)idx + 1, (int)n, "JOB_COMPLETION_INDEX" };
    return CLSTYLE_OK;
}

clstyle_status cs_shard_resolve(const char *given, int count, const cs_shard_env *env, cs_shard *out)
{
    *out = (cs_shard){ 0, 0, NULL };
    if (given) return cs_shard_parse(given, out);
    if (env->slurm_id) return from_slurm(env, out);
    if (env->k8s_index) return from_k8s(env, count, out);
    if (count) return cs_fail(CLSTYLE_ERR_USAGE, "--shard-count %d: no shard index (JOB_COMPLETION_INDEX is not set; "
                              "or pass --shard K/N)", count);
    return CLSTYLE_OK;
}

int cs_shard_has(const cs_shard *s, int i) { return s->n == 0 || i % s->n == s->k - 1; }
