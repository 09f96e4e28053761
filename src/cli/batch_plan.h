/* A batch's plan (batch_plan.c): what the batch will do, before any worker starts. */
#ifndef CS_BATCH_PLAN_H
#define CS_BATCH_PLAN_H
#include "cli.h"
#include "inputs.h"
#include "summary.h"

typedef struct {
    const cs_options *o;
    const char *weights;          /* the weights file (part of each result's key) */
    cs_input_list inputs;
    cs_batch_report r;            /* the results: r.jobs, r.n_jobs, r.n_all, r.shard */
} cs_batch_plan;

/* The shard from --shard or the environment; -c expanded; -o checked (made
 * when missing); the results named (two inputs with one name, or a result
 * that would replace its input, are usage errors), sliced and keyed; those
 * done before marked skipped unless --overwrite; a killed run's temporary
 * files of this slice removed. */
clstyle_status cs_batch_plan_make(cs_batch_plan *b);
/* The options that change a result, as text (a resume key's first part): every
 * option given or defaulted, less those that only say where, how fast or how loudly. */
void cs_options_result_key(const cs_options *o, char *key, size_t n);

#endif
