#include "safetensors.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "json.h"
#include "file.h"

enum { MAX_HEADER = 100 * 1024 * 1024 };

float st_half_to_float(uint16_t h)
{
    int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
    float v;
    if (exp == 0) v = ldexpf((float)mant, -24);                 /* subnormal */
    else if (exp == 31) v = mant ? NAN : INFINITY;
    else v = ldexpf((float)(mant | 1024), exp - 25);
    return sign ? -v : v;
}

int64_t st_numel(const st_tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0 || (t->shape[i] && n > INT64_MAX / t->shape[i])) return -1;
        n *= t->shape[i];
    }
    return n;
}

static void copy_meta(const js_value *meta, const char *key, char *dst, size_t n)
{
    const js_value *v = js_get(meta, key);
    if (v && v->type == JS_STR) snprintf(dst, n, "%s", v->str);
}

static int is_uint(const js_value *v)
{
    return v->type == JS_NUM && v->num >= 0 && v->num <= 9007199254740992.0 && v->num == floor(v->num);
}

/* Validates one header entry and fills t; the message names the tensor. */
static clstyle_status parse_entry(const st_file *f, const char *name, const js_value *e, st_tensor *t)
{
    const js_value *dt = js_get(e, "dtype"), *sh = js_get(e, "shape"), *off = js_get(e, "data_offsets");
    if (!dt || dt->type != JS_STR || !sh || sh->type != JS_ARR || !off || off->type != JS_ARR || off->n != 2)
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s': header entry lacks dtype, shape or data_offsets", f->path, name);
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->str);
    t->dtype = !strcmp(dt->str, "F32") ? ST_F32 : !strcmp(dt->str, "F16") ? ST_F16 : ST_OTHER;
    if (sh->n > 8) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s': too many dimensions", f->path, name);
    t->ndim = (int)sh->n;
    for (size_t i = 0; i < sh->n; i++) {
        if (!is_uint(&sh->items[i])) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s': bad shape", f->path, name);
        t->shape[i] = (int64_t)sh->items[i].num;
    }
    if (!is_uint(&off->items[0]) || !is_uint(&off->items[1]))
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s': bad data_offsets", f->path, name);
    t->begin = (uint64_t)off->items[0].num;
    t->end = (uint64_t)off->items[1].num;
    if (t->begin > t->end || t->end > f->file_size - f->data_start)
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] outside the file (data section is %llu bytes)",
                       f->path, name, (unsigned long long)t->begin, (unsigned long long)t->end,
                       (unsigned long long)(f->file_size - f->data_start));
    int64_t numel = st_numel(t);
    uint64_t esize = t->dtype == ST_F32 ? 4 : 2;
    /* Checked before multiplying: a count that wraps 64 bits would match an empty range. */
    if (t->dtype != ST_OTHER && (numel < 0 || (uint64_t)numel > UINT64_MAX / esize))
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s': shape is too large (its byte count overflows 64 bits)", f->path, name);
    if (t->dtype != ST_OTHER && (uint64_t)numel * esize != t->end - t->begin)
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s': byte range does not match its shape and dtype", f->path, name);
    t->name = strdup(name);
    return t->name ? CLSTYLE_OK : cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const st_tensor *const *)a)->name, (*(const st_tensor *const *)b)->name);
}

static int by_offset(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a, *y = *(const st_tensor *const *)b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* Sorting makes both checks O(n log n), so a header of many small entries
 * is still read in a moment. */
static clstyle_status check_unique(const st_file *f, const st_tensor **sorted)
{
    qsort(sorted, (size_t)f->n, sizeof *sorted, by_name);
    for (int i = 1; i < f->n; i++)
        if (!strcmp(sorted[i]->name, sorted[i - 1]->name))
            return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", f->path, sorted[i]->name);
    return CLSTYLE_OK;
}

/* Tensors that share bytes would make one tensor's data another's: refused
 * (empty tensors own no bytes and share none). */
static clstyle_status check_disjoint(const st_file *f, const st_tensor **sorted)
{
    qsort(sorted, (size_t)f->n, sizeof *sorted, by_offset);
    const st_tensor *prev = NULL;
    for (int i = 0; i < f->n; i++) {
        const st_tensor *t = sorted[i];
        if (t->begin == t->end) continue;
        if (prev && t->begin < prev->end)
            return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensors '%s' and '%s' overlap (bytes %llu to %llu)", f->path, prev->name,
                           t->name, (unsigned long long)t->begin,
                           (unsigned long long)(prev->end < t->end ? prev->end : t->end));
        if (!prev || t->end > prev->end) prev = t;
    }
    return CLSTYLE_OK;
}

static clstyle_status check_tensors(const st_file *f)
{
    const st_tensor **sorted = malloc((f->n ? (size_t)f->n : 1) * sizeof *sorted);
    if (!sorted) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    for (int i = 0; i < f->n; i++) sorted[i] = &f->tensors[i];
    clstyle_status st = check_unique(f, sorted);
    if (st == CLSTYLE_OK) st = check_disjoint(f, sorted);
    free(sorted);
    return st;
}

static clstyle_status parse_header(st_file *f, const char *text, size_t len)
{
    js_value root;
    char err[128];
    if (js_parse(text, len, &root, err, sizeof err))
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: header is not valid JSON (%s)", f->path, err);
    if (root.type != JS_OBJ) {
        js_free(&root);
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: header is not a JSON object", f->path);
    }
    clstyle_status st = CLSTYLE_OK;
    f->tensors = calloc(root.n ? root.n : 1, sizeof *f->tensors);
    if (!f->tensors) { st = cs_fail(CLSTYLE_ERR_NOMEM, "out of memory"); goto done; }
    for (size_t i = 0; i < root.n; i++) {
        if (!strcmp(root.items[i].key, "__metadata__")) {
            copy_meta(&root.items[i], "arch", f->arch, sizeof f->arch);
            copy_meta(&root.items[i], "input", f->input, sizeof f->input);
            continue;
        }
        CS_CHECK(parse_entry(f, root.items[i].key, &root.items[i], &f->tensors[f->n]));
        f->n++;
    }
    CS_CHECK(check_tensors(f));
done:
    js_free(&root);
    return st;
}

/* The header of the file f->fp (named path in messages). */
static clstyle_status read_header(st_file *f, const char *path)
{
    clstyle_status st = CLSTYLE_OK;
    char *text = NULL;
    unsigned char lenbuf[8];
    if (fseek(f->fp, 0, SEEK_END) || (f->file_size = (uint64_t)ftell(f->fp), fseek(f->fp, 0, SEEK_SET)))
        CS_CHECK(cs_fail(CLSTYLE_ERR_IO, "%s: cannot seek", path));
    if (f->file_size < 8 || fread(lenbuf, 1, 8, f->fp) != 8)
        CS_CHECK(cs_fail(CLSTYLE_ERR_FORMAT, "%s: too short to be a safetensors file", path));
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | lenbuf[i];
    if (hlen > MAX_HEADER || hlen > f->file_size - 8)
        CS_CHECK(cs_fail(CLSTYLE_ERR_FORMAT, "%s: header length %llu runs past the end of the file (%llu bytes)", path,
                         (unsigned long long)hlen, (unsigned long long)f->file_size));
    f->data_start = 8 + hlen;
    text = malloc(hlen + 1);
    if (!text) CS_CHECK(cs_fail(CLSTYLE_ERR_NOMEM, "out of memory"));
    if (fread(text, 1, hlen, f->fp) != hlen) CS_CHECK(cs_fail(CLSTYLE_ERR_IO, "%s: cannot read header", path));
    CS_CHECK(parse_header(f, text, hlen));
done:
    free(text);
    if (st != CLSTYLE_OK) st_close(f);
    return st;
}

clstyle_status st_open(const char *path, st_file *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", path);
    CS_TRY(cs_open_regular(path, "weights file", &f->fp));
    return read_header(f, path);
}

clstyle_status st_open_memory(const void *data, size_t n, const char *name, st_file *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->path, sizeof f->path, "%s", name);
    if (!data || !n) return cs_fail(CLSTYLE_ERR_FORMAT, "%s: no data", name);
    f->fp = fmemopen((void *)data, n, "rb"); /* read only: the cast drops nothing we write */
    if (!f->fp) return cs_fail(CLSTYLE_ERR_NOMEM, "%s: cannot read from memory", name);
    return read_header(f, name);
}

void st_close(st_file *f)
{
    if (f->fp) fclose(f->fp);
    for (int i = 0; i < f->n; i++) free(f->tensors[i].name);
    free(f->tensors);
    memset(f, 0, sizeof *f);
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

clstyle_status st_read_f32(const st_file *f, const st_tensor *t, float *out)
{
    if (t->dtype == ST_OTHER)
        return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s' has dtype %s; expected F32 or F16", f->path, t->name, t->dtype_name);
    size_t n = (size_t)st_numel(t), bytes = (size_t)(t->end - t->begin);
    if (fseek(f->fp, (long)(f->data_start + t->begin), SEEK_SET))
        return cs_fail(CLSTYLE_ERR_IO, "%s: tensor '%s': cannot seek", f->path, t->name);
    if (t->dtype == ST_F32) {
        if (fread(out, 1, bytes, f->fp) != bytes)
            return cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s': file truncated", f->path, t->name);
        return CLSTYLE_OK; /* host is little-endian (x86, ARM) like the format */
    }
    uint16_t *h = malloc(bytes ? bytes : 1);
    if (!h) return cs_fail(CLSTYLE_ERR_NOMEM, "out of memory");
    clstyle_status st = CLSTYLE_OK;
    if (fread(h, 1, bytes, f->fp) != bytes)
        st = cs_fail(CLSTYLE_ERR_FORMAT, "%s: tensor '%s': file truncated", f->path, t->name);
    else
        for (size_t i = 0; i < n; i++) out[i] = st_half_to_float(h[i]);
    free(h);
    return st;
}
