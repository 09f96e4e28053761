#include "runlog.h"

#include <errno.h>
#include <string.h>

#include "error.h"

static clstyle_status log_failed(const char *path, int err)
{
    return cs_fail(CLSTYLE_ERR_IO, "%s: cannot write the log: %s", path, err ? strerror(err) : "write error");
}

clstyle_status cs_log_open(const char *path, FILE **out)
{
    *out = fopen(path, "w");
    return *out ? CLSTYLE_OK : cs_fail(CLSTYLE_ERR_IO, "%s: cannot open log file: %s", path, strerror(errno));
}

clstyle_status cs_log_check(FILE *f, const char *path)
{
    if (!f) return CLSTYLE_OK;
    errno = 0;
    if (fflush(f) != 0 || ferror(f)) return log_failed(path, errno);
    return CLSTYLE_OK;
}

clstyle_status cs_log_interrupted(FILE *f, const char *path, int iter)
{
    if (!f) return CLSTYLE_OK;
    fprintf(f, "{\"event\":\"interrupted\",\"iter\":%d}\n", iter);
    return cs_log_check(f, path);
}

clstyle_status cs_log_close(FILE **f, const char *path)
{
    if (!*f) return CLSTYLE_OK;
    errno = 0;
    int bad = ferror(*f) != 0;
    bad = fclose(*f) != 0 || bad;
    *f = NULL;
    return bad ? log_failed(path, errno) : CLSTYLE_OK;
}

void cs_json_escape(const char *v, char *out, size_t n)
{
    size_t k = 0;
    for (; *v && k + 7 < n; v++) {
        unsigned char ch = (unsigned char)*v;
        if (ch == '"' || ch == '\\') k += (size_t)snprintf(out + k, n - k, "\\%c", ch);
        else if (ch < 0x20) k += (size_t)snprintf(out + k, n - k, "\\u%04x", ch);
        else out[k++] = (char)ch;
    }
    if (n) out[k < n ? k : n - 1] = 0;
}

void cs_json_field(FILE *f, const char *key, const char *v)
{
    fprintf(f, ",\"%s\":\"", key);
    for (; *v; v++) {
        unsigned char ch = (unsigned char)*v;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

clstyle_status cs_log_start(FILE *f, const char *path, const clstyle_scale_info *i, const char *options)
{
    fprintf(f, "{\"event\":\"start\",\"version\":\"%s\"%s", CLSTYLE_VERSION, options);
    cs_json_field(f, "backend", i->backend);
    cs_json_field(f, "device", i->device);
    cs_json_field(f, "arch", i->arch);
    fprintf(f, ",\"width\":%d,\"height\":%d,\"styles\":%d,\"iterations\":%d,\"scale\":%d,\"scales\":%d,"
            "\"style_width\":%d,\"style_height\":%d,\"peak_device_bytes\":%zu",
            i->width, i->height, i->styles, i->iterations, i->scale, i->scales, i->style_width, i->style_height,
            i->peak_device_bytes);
    if (i->weights_name) cs_json_field(f, "weights", i->weights_name);
    else fprintf(f, ",\"weights\":null");
    cs_json_field(f, "weights_sha256", i->weights_sha256);
    fprintf(f, ",\"pieces\":%d,\"tile\":%d,\"band\":%d,\"checkpoint\":%s,\"halo\":%d,\"lbfgs_history\":%d,\"lbfgs_history_wanted\":%d,"
            "\"budget_bytes\":%.0f,\"planned_device_bytes\":%zu,\"host_bytes\":%zu,\"conv_memory\":\"%s\","
            "\"session_ms\":%.3f,\"targets_ms\":%.3f,\"targets_reused\":%s,\"weights_reused\":%s,\"program_reused\":%s}\n",
            i->pieces, i->tile, i->band, i->checkpoint ? "true" : "false", i->halo, i->lbfgs_history, i->lbfgs_history_wanted, i->budget_bytes, i->planned_device_bytes,
            i->host_bytes, i->conv_memory, i->session_ms, i->targets_ms, i->targets_reused ? "true" : "false",
            i->weights_reused ? "true" : "false", i->program_reused ? "true" : "false");
    return cs_log_check(f, path);
}

/* The terms only some runs have: the temporal term, the coarse term. */
static void extra_terms(FILE *f, const clstyle_event *e)
{
    if (e->temporal > 0) fprintf(f, ",\"temporal\":%.9g", e->temporal);
    for (int t = 0; t < 2 && e->n_coarse > 0; t++) {
        const double *v = t ? e->coarse_style : e->coarse_content;
        fprintf(f, ",\"coarse_%s\":[", t ? "style" : "content");
        for (int k = 0; k < e->n_coarse; k++) fprintf(f, "%s%.9g", k ? "," : "", v[k]);
        fprintf(f, "]");
    }
}

clstyle_status cs_log_eval(FILE *f, const char *path, const clstyle_event *e) { return cs_log_eval_tagged(f, path, e, ""); }

clstyle_status cs_log_eval_tagged(FILE *f, const char *path, const clstyle_event *e, const char *extra)
{
    fprintf(f, "{\"iter\":%d,\"loss\":%.9g,\"content\":%.9g,\"style\":%.9g,\"tv\":%.9g,\"ms\":%.3f", e->iteration, e->loss,
            e->content, e->style, e->tv, e->ms);
    extra_terms(f, e);
    if (e->scales > 1) fprintf(f, ",\"scale\":%d,\"width\":%d,\"height\":%d", e->scale, e->width, e->height);
    if (e->trial) fprintf(f, ",\"trial\":true,\"rejected\":true");
    if (e->restored) fprintf(f, ",\"restored\":true");
    fprintf(f, "%s}\n", extra);
    return cs_log_check(f, path);
}

clstyle_status cs_log_end(FILE *f, const char *path, const clstyle_event *e)
{
    fprintf(f, "{\"event\":\"end\",\"reason\":\"%s\",\"iter\":%d,\"loss\":%.9g,\"content\":%.9g,\"style\":%.9g,\"tv\":%.9g",
            e->reason, e->iteration, e->loss, e->content, e->style, e->tv);
    extra_terms(f, e);
    if (e->scales > 1) fprintf(f, ",\"scale\":%d", e->scale);
    fprintf(f, "}\n");
    return cs_log_check(f, path);
}
