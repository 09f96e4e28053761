/* A batch's results and workers, as the batch runs them (batch.c) and the
 * summary reports them (summary.c). */
#ifndef CS_SUMMARY_H
#define CS_SUMMARY_H
#include <stdio.h>
#include "clstyle.h"
#include "shard.h"

typedef enum { CS_JOB_TODO, CS_JOB_DONE, CS_JOB_FAILED, CS_JOB_SKIPPED, CS_JOB_INTERRUPTED } cs_job_state;

typedef struct {
    const char *content;     /* the input's path */
    int style;               /* index of its style, or -1: the blend of all */
    char output[4096];       /* OUTDIR/NAME */
    const char *name;        /* NAME, inside output */
    char key[65];            /* of its options and input files (record.h) */
    cs_job_state state;
    int worker;              /* who made it, -1 none */
    int runners, claimed;    /* runs under way (2 with a backup run); the run that writes it (worker + 1), 0 none yet */
    unsigned ran_by;         /* bit per worker that has run it */
    double seconds, loss;    /* the picture's time (reading to writing, without setup) and final loss */
    char error[512];
} cs_batch_job;

typedef struct {
    char spec[64];           /* --device item ("" for the default or the reference backend) */
    char device[256];        /* the device's name once opened */
    int opened, named, pictures, failed; /* named: device holds the device's own name */
    clstyle_status open_status;
    double setup_s, busy_s;  /* opening the session and the style targets; the pictures */
    char error[512];         /* why it could not open */
} cs_batch_worker;

typedef struct {
    const char *const *styles;
    cs_batch_job *jobs;      /* this task's slice, in sorted order */
    int n_jobs, n_all;       /* n_all: results in the whole batch, all slices */
    cs_batch_worker *workers;
    int n_workers;
    cs_shard shard;
    double wall_s;
    int interrupted;
} cs_batch_report;

/* The summary: a few lines on stderr (totals, per device, each failure),
 * one JSON object (every result) to a FILE, and to a file written atomically. */
/* quiet: only the failures, and only when others succeeded. */
void cs_summary_text(FILE *f, const cs_batch_report *r, int quiet);
void cs_summary_json(FILE *f, const cs_batch_report *r);
clstyle_status cs_summary_write(const char *path, const cs_batch_report *r);

#endif
