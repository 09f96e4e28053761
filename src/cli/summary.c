/* The end of a batch in words and in JSON. */
#include "summary.h"

#include <stdio.h>
#include <string.h>

#include "error.h"
#include "file.h"
#include "runlog.h"

typedef struct { int done, failed, skipped, interrupted, todo; double busy_s, setup_s; } totals;

static totals count(const cs_batch_report *r)
{
    totals t = { 0 };
    for (int i = 0; i < r->n_jobs; i++) {
        const cs_batch_job *j = &r->jobs[i];
        t.done += j->state == CS_JOB_DONE;
        t.failed += j->state == CS_JOB_FAILED;
        t.skipped += j->state == CS_JOB_SKIPPED;
        t.interrupted += j->state == CS_JOB_INTERRUPTED;
        t.todo += j->state == CS_JOB_TODO;
    }
    for (int w = 0; w < r->n_workers; w++) {
        t.busy_s += r->workers[w].busy_s;
        t.setup_s += r->workers[w].setup_s;
    }
    return t;
}

static const char *state_name(cs_job_state s)
{
    static const char *const names[] = { "not run", "done", "failed", "skipped", "interrupted" };
    return names[s];
}

static void totals_text(FILE *f, const totals *t, const cs_batch_report *r)
{
    if (t->interrupted || t->todo) fprintf(f, ", %d interrupted, %d not run", t->interrupted, t->todo);
    fprintf(f, "; %.1f s in all: setup %.1f s, pictures %.1f s%s", r->wall_s, t->setup_s, t->busy_s,
            r->n_workers > 1 ? " (summed over the devices)" : "");
    if (t->done) fprintf(f, " (%.2f s each)", t->busy_s / t->done);
    fprintf(f, "\n");
}

void cs_summary_text(FILE *f, const cs_batch_report *r, int quiet)
{
    totals t = count(r);
    if (quiet && (t.failed == 0 || t.done + t.skipped == 0)) return; /* the exit code, or the one error line, says it */
    char shard[64] = "";
    if (r->shard.n) snprintf(shard, sizeof shard, " (shard %d/%d of %d)", r->shard.k, r->shard.n, r->n_all);
    if (!quiet) {
        fprintf(f, "clstyle: batch of %d%s: %d done, %d failed, %d skipped (done before)", r->n_jobs, shard, t.done, t.failed,
                t.skipped);
        totals_text(f, &t, r);
    }
    for (int w = 0; w < r->n_workers && r->n_workers > 1 && !quiet; w++) {
        const cs_batch_worker *k = &r->workers[w];
        if (k->opened) { /* "pocl, pthread-...": the --device item, then the device's name when it differs */
            int both = k->spec[0] && strcmp(k->spec, k->device);
            fprintf(f, "clstyle:   %s%s%s: %d pictures in %.1f s (setup %.1f s)\n", both ? k->spec : "", both ? ", " : "",
                    k->device, k->pictures, k->busy_s, k->setup_s);
        }
        else fprintf(f, "clstyle:   --device %s: not used: %s\n", k->spec, k->error);
    }
    for (int i = 0; i < r->n_jobs; i++)
        if (r->jobs[i].state == CS_JOB_FAILED) { /* the message names the file when it is about the file */
            const cs_batch_job *j = &r->jobs[i];
            fprintf(f, "clstyle:   failed: %s%s%s\n", strstr(j->error, j->content) ? "" : j->content,
                    strstr(j->error, j->content) ? "" : ": ", j->error);
        }
}

static void job_json(FILE *f, const cs_batch_report *r, const cs_batch_job *j)
{
    fprintf(f, "{\"status\":\"%s\"", state_name(j->state));
    cs_json_field(f, "input", j->content);
    if (j->style >= 0) cs_json_field(f, "style", r->styles[j->style]);
    cs_json_field(f, "output", j->output);
    if (j->worker >= 0) cs_json_field(f, "device", r->workers[j->worker].device);
    if (j->state == CS_JOB_DONE || j->state == CS_JOB_INTERRUPTED)
        fprintf(f, ",\"seconds\":%.3f,\"loss\":%.9g", j->seconds, j->loss);
    if (j->state == CS_JOB_FAILED) cs_json_field(f, "error", j->error);
    fprintf(f, "}");
}

void cs_summary_json(FILE *f, const cs_batch_report *r)
{
    totals t = count(r);
    fprintf(f, "{\"event\":\"summary\",\"results\":%d,\"all_results\":%d,\"shard\":\"%d/%d\",\"done\":%d,\"failed\":%d,"
            "\"skipped\":%d,\"interrupted\":%d,\"not_run\":%d,\"wall_s\":%.3f,\"setup_s\":%.3f,\"pictures_s\":%.3f,\"devices\":[",
            r->n_jobs, r->n_all, r->shard.n ? r->shard.k : 1, r->shard.n ? r->shard.n : 1, t.done, t.failed, t.skipped,
            t.interrupted, t.todo, r->wall_s, t.setup_s, t.busy_s);
    for (int w = 0; w < r->n_workers; w++) {
        const cs_batch_worker *k = &r->workers[w];
        fprintf(f, "%s{\"opened\":%s,\"pictures\":%d,\"failed\":%d,\"setup_s\":%.3f,\"pictures_s\":%.3f", w ? "," : "",
                k->opened ? "true" : "false", k->pictures, k->failed, k->setup_s, k->busy_s);
        cs_json_field(f, "spec", k->spec);
        cs_json_field(f, "device", k->device);
        if (!k->opened) cs_json_field(f, "error", k->error);
        fprintf(f, "}");
    }
    fprintf(f, "],\"list\":[");
    for (int i = 0; i < r->n_jobs; i++) {
        if (i) fprintf(f, ",");
        job_json(f, r, &r->jobs[i]);
    }
    fprintf(f, "]}\n");
}

clstyle_status cs_summary_write(const char *path, const cs_batch_report *r)
{
    cs_atomic a;
    CS_TRY(cs_atomic_open(&a, path));
    cs_summary_json(a.fp, r);
    return cs_atomic_commit(&a, 1);
}
