#define _POSIX_C_SOURCE 200809L
#include "record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "file.h"
#include "json.h"
#include "runlog.h"
#include "sha256.h"

enum { RECORD_VERSION = 1, RECORD_MAX = 65536 };

void cs_record_path(const char *output, char *out, size_t n)
{
    const char *slash = strrchr(output, '/');
    int dir = slash ? (int)(slash - output) + 1 : 0;
    snprintf(out, n, "%.*s.%s.clstyle.json", dir, output, output + dir);
}

void cs_record_key_file(char *key, size_t n, const char *path)
{
    char hex[65];
    struct stat sb;
    size_t used = strlen(key);
    if (stat(path, &sb) != 0 || cs_sha256_file(path, hex) != CLSTYLE_OK)
        snprintf(key + used, n - used, "\nunreadable %s", path);
    else snprintf(key + used, n - used, "\nfile %lld %s", (long long)sb.st_size, hex);
}

void cs_record_key_hash(const char *text, char hex[65])
{
    cs_sha256 h;
    cs_sha256_init(&h);
    cs_sha256_update(&h, text, strlen(text));
    cs_sha256_hex(&h, hex);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(RECORD_MAX);
    *len = buf ? fread(buf, 1, RECORD_MAX, f) : 0;
    fclose(f);
    if (buf && *len == RECORD_MAX) { /* not one of ours */
        free(buf);
        return NULL;
    }
    return buf;
}

int cs_record_done(const char *output, const char *key)
{
    char rec[4200];
    struct stat sb;
    size_t len;
    if (lstat(output, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
    cs_record_path(output, rec, sizeof rec);
    char *text = slurp(rec, &len);
    if (!text) return 0;
    js_value root;
    char err[160];
    int ok = 0;
    if (js_parse(text, len, &root, err, sizeof err) == 0) {
        const js_value *k = js_get(&root, "key"), *b = js_get(&root, "output_bytes"), *v = js_get(&root, "clstyle_record");
        ok = k && k->type == JS_STR && !strcmp(k->str, key) && b && b->type == JS_NUM && b->num == (double)sb.st_size && v &&
             v->type == JS_NUM && v->num == RECORD_VERSION;
        js_free(&root);
    }
    free(text);
    return ok;
}

clstyle_status cs_record_remove(const char *output)
{
    char rec[4200];
    cs_record_path(output, rec, sizeof rec);
    if (unlink(rec) == 0 || errno == ENOENT) return CLSTYLE_OK;
    return cs_fail(CLSTYLE_ERR_IO, "%s: cannot remove the old record: %s", rec, strerror(errno));
}

clstyle_status cs_record_write(const char *output, const char *key, const cs_record_info *info)
{
    char rec[4200];
    struct stat sb;
    if (stat(output, &sb) != 0) return cs_fail(CLSTYLE_ERR_IO, "%s: result missing after writing: %s", output, strerror(errno));
    cs_record_path(output, rec, sizeof rec);
    cs_atomic a;
    CS_TRY(cs_atomic_open(&a, rec));
    fprintf(a.fp, "{\"clstyle_record\":%d,\"version\":\"%s\",\"key\":\"%s\",\"output_bytes\":%lld", RECORD_VERSION,
            CLSTYLE_VERSION, key, (long long)sb.st_size);
    cs_json_field(a.fp, "input", info->input);
    if (info->style) cs_json_field(a.fp, "style", info->style);
    cs_json_field(a.fp, "device", info->device);
    fprintf(a.fp, ",\"seconds\":%.3f,\"loss\":%.9g}\n", info->seconds, info->loss);
    return cs_atomic_commit(&a, 1);
}
