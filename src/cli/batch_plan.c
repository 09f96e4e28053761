/* A batch's plan: the results listed, named, checked, sliced and keyed,
 * those done before marked, stale temporary files removed. */
#define _POSIX_C_SOURCE 200809L
#include "batch_plan.h"

#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"
#include "error.h"
#include "record.h"

static clstyle_status make_jobs(cs_batch_plan *b)
{
    const cs_options *o = b->o;
    int per = o->each_style ? o->n_styles : 1;
    int format = o->format ? o->format : o->output_bits == 16 ? 1 : 0;
    size_t dl = strlen(o->output);
    const char *sep = dl && o->output[dl - 1] == '/' ? "" : "/";
    b->r.n_all = b->inputs.n * per;
    if (!(b->r.jobs = calloc((size_t)b->r.n_all, sizeof *b->r.jobs))) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int i = 0; i < b->inputs.n; i++)
        for (int k = 0; k < per; k++) {
            cs_batch_job *j = &b->r.jobs[i * per + k];
            char name[1024];
            j->content = b->inputs.paths[i];
            j->style = o->each_style ? k : -1;
            j->worker = -1;
            cs_output_name(j->content, j->style >= 0 ? o->styles[k] : NULL, format, name, sizeof name);
            snprintf(j->output, sizeof j->output, "%s%s%s", o->output, sep, name);
            j->name = j->output + dl + strlen(sep);
        }
    b->r.n_jobs = b->r.n_all;
    return CLSTYLE_OK;
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const cs_batch_job *const *)a)->name, (*(const cs_batch_job *const *)b)->name);
}

/* Two inputs that would write one result (photo.png and photo.jpg, or two
 * folders' photo.png in a list) are a usage error, not a silent overwrite. */
static clstyle_status check_names(const cs_batch_plan *b)
{
    int n = b->r.n_jobs;
    const cs_batch_job **v = malloc((size_t)n * sizeof *v);
    if (!v) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n; i++) v[i] = &b->r.jobs[i];
    qsort(v, (size_t)n, sizeof *v, by_name);
    clstyle_status st = CLSTYLE_OK;
    for (int i = 1; i < n && st == CLSTYLE_OK; i++)
        if (!strcmp(v[i - 1]->name, v[i]->name))
            st = cs_fail(CLSTYLE_ERR_USAGE, "%s and %s would both write %s; rename one, or style them apart",
                         v[i - 1]->content, v[i]->content, v[i]->output);
    free(v);
    return st;
}

/* The result must not replace its own input (-o the input folder, same name). */
static clstyle_status check_not_input(const cs_batch_job *j)
{
    struct stat a, c;
    if (stat(j->output, &a) || stat(j->content, &c) || a.st_dev != c.st_dev || a.st_ino != c.st_ino) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_USAGE, "-o %s: the result %s would replace its input %s; give another folder",
                   j->output, j->name, j->content);
}

static void take_slice(cs_batch_plan *b)
{
    int k = 0;
    for (int i = 0; i < b->r.n_jobs; i++)
        if (cs_shard_has(&b->r.shard, i)) {
            cs_batch_job *to = &b->r.jobs[k++];
            ptrdiff_t at = b->r.jobs[i].name - b->r.jobs[i].output; /* name points into its own output */
            *to = b->r.jobs[i];
            to->name = to->output + at;
        }
    b->r.n_jobs = k;
}

/* The options that change a result: every option given or defaulted, less
 * those that only say where, how fast or how loudly (a new option counts
 * until it is listed here). Styles and files count by content, below. */
void cs_options_result_key(const cs_options *o, char *key, size_t n)
{
    static const char *const ignored[] = { "--content", "--style", "--output", "--overwrite", "--summary", "--shard",
        "--shard-count", "--device", "--backend", "--log", "--quiet", "--verbose", "--max-memory", "--tile",
        "--max-input-mp", "--weights", "--init", "--help", "--version", "--list-devices", "--crf", NULL };
    int rows;
    const cs_option *t = cs_option_table(&rows);
    int len = snprintf(key, n, "clstyle batch key 1");
    for (int i = 0; i < rows; i++) {
        int skip = 0;
        for (int k = 0; ignored[k]; k++) skip |= !strcmp(t[i].name, ignored[k]);
        const char *v = o->given[i] ? o->given[i] : t[i].def;
        if (!skip && v) len += snprintf(key + len, n - (size_t)len, "\n%s=%s", t[i].name, v);
    }
    if (o->auto_pyramid) /* the plan's rule, so that results made before it (one scale, no coarse term) are redone */
        len += snprintf(key + len, n - (size_t)len, "\nauto pyramid 2");
    if (cs_options_init_file(o)) cs_record_key_file(key, n, o->init);
    else snprintf(key + len, n - (size_t)len, "\n--init=%s", o->init);
}

/* Each result's key: the options, the weights (name and size: hashing them
 * would cost seconds), its style(s) and its input, by content. */
static void job_keys(cs_batch_plan *b)
{
    const cs_options *o = b->o;
    char base[8192], style_ids[CS_CLI_MAX_STYLES][256], text[16384];
    struct stat sb;
    cs_options_result_key(o, base, sizeof base);
    const char *wname = strrchr(b->weights, '/') ? strrchr(b->weights, '/') + 1 : b->weights;
    size_t l = strlen(base);
    snprintf(base + l, sizeof base - l, "\nweights %s %lld", wname, stat(b->weights, &sb) ? -1LL : (long long)sb.st_size);
    for (int k = 0; k < o->n_styles; k++) {
        style_ids[k][0] = 0;
        cs_record_key_file(style_ids[k], sizeof style_ids[k], o->styles[k]);
    }
    char content_id[256] = "";
    const char *hashed = NULL;
    for (int i = 0; i < b->r.n_jobs; i++) {
        cs_batch_job *j = &b->r.jobs[i];
        if (hashed != j->content) { /* --each-style: one input, several results in a row */
            content_id[0] = 0;
            cs_record_key_file(content_id, sizeof content_id, j->content);
            hashed = j->content;
        }
        int len = snprintf(text, sizeof text, "%s\ncontent%s", base, content_id);
        for (int k = 0; k < o->n_styles; k++)
            if (j->style < 0 || j->style == k) len += snprintf(text + len, sizeof text - (size_t)len, "\nstyle%s", style_ids[k]);
        cs_record_key_hash(text, j->key);
    }
}

/* Temporary files of an earlier, killed run (".NAME.PID", ".NAME.PID.XXXXXX")
 * of results this task owns: nobody else writes them. */
static void remove_stale_temps(const cs_batch_plan *b)
{
    DIR *d = opendir(b->o->output);
    if (!d) return;
    char mine[32];
    snprintf(mine, sizeof mine, ".%ld", (long)getpid());
    for (struct dirent *e; (e = readdir(d));)
        for (int i = 0; i < b->r.n_jobs; i++) {
            const cs_batch_job *j = &b->r.jobs[i];
            size_t n = strlen(j->name);
            const char *rest = e->d_name + 1 + n;
            if (e->d_name[0] != '.' || strncmp(e->d_name + 1, j->name, n) || rest[0] != '.' || rest[1] < '0' || rest[1] > '9')
                continue;
            if (strncmp(rest, mine, strlen(mine)) == 0) continue;
            char path[4400];
            snprintf(path, sizeof path, "%.*s%s", (int)(j->name - j->output), j->output, e->d_name);
            unlink(path);
        }
    closedir(d);
}

static int image_name(const char *ext)
{
    return !strcasecmp(ext, ".png") || !strcasecmp(ext, ".jpg") || !strcasecmp(ext, ".jpeg");
}

/* -o names a folder: made when missing (its parent must exist); a file, or
 * a missing name like out.png (one picture's -o by mistake), is a usage error. */
static clstyle_status output_folder(const char *dir)
{
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) return access(dir, W_OK) == 0 ? CLSTYLE_OK
                                     : cs_fail(CLSTYLE_ERR_IO, "%s: cannot write to the output folder: %s", dir, strerror(errno));
        return cs_fail(CLSTYLE_ERR_USAGE, "-o %s is %s; a batch writes its results into a folder (give -o a folder)", dir,
                       S_ISREG(sb.st_mode) ? "a file" : "not a folder");
    }
    const char *dot = strrchr(dir, '.');
    if (dot && !strchr(dot, '/') && image_name(dot))
        return cs_fail(CLSTYLE_ERR_USAGE, "-o %s names a picture; a batch writes its results into a folder (give -o a folder)", dir);
    if (mkdir(dir, 0777) != 0) return cs_fail(CLSTYLE_ERR_IO, "%s: cannot make the output folder: %s", dir, strerror(errno));
    return CLSTYLE_OK;
}

/* Lists, slices and keys the results; marks those done before. */
clstyle_status cs_batch_plan_make(cs_batch_plan *b)
{
    const cs_options *o = b->o;
    cs_shard_env env;
    cs_env_shard(&env);
    CS_TRY(cs_shard_resolve(o->shard, o->shard_count, &env, &b->r.shard));
    CS_TRY(cs_inputs_expand(o->content, &b->inputs));
    CS_TRY(output_folder(o->output));
    CS_TRY(make_jobs(b));
    CS_TRY(check_names(b));
    take_slice(b);
    for (int i = 0; i < b->r.n_jobs; i++) CS_TRY(check_not_input(&b->r.jobs[i]));
    job_keys(b);
    for (int i = 0; i < b->r.n_jobs; i++)
        if (!o->overwrite && cs_record_done(b->r.jobs[i].output, b->r.jobs[i].key)) b->r.jobs[i].state = CS_JOB_SKIPPED;
    remove_stale_temps(b);
    return CLSTYLE_OK;
}
