#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEPTH = 32 };

typedef struct {
    const char *p, *end;
    char *err;
    size_t errlen;
    char *strings, *next; /* decoded strings, one after another */
} parser;

static int fail(parser *ps, const char *what)
{
    snprintf(ps->err, ps->errlen, "%s", what);
    return -1;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int parse_value(parser *ps, js_value *v, int depth);

static int is_hex4(const char *p)
{
    for (int i = 0; i < 4; i++)
        if (!isxdigit((unsigned char)p[i])) return 0;
    return 1;
}

/* Decodes into the shared buffer: a decoded string plus its NUL is never
 * longer than its quoted text, so the buffer never outgrows the input. */
static int parse_string(parser *ps, const char **out)
{
    char *buf = ps->next, *o = buf;
    ps->p++; /* the opening quote */
    while (ps->p < ps->end && *ps->p != '"') {
        char c = *ps->p++;
        if ((unsigned char)c < 0x20) { return fail(ps, "control character in string"); }
        if (c == '\\') {
            if (ps->p >= ps->end) break;
            char e = *ps->p++;
            switch (e) {
            case '"': case '\\': case '/': *o++ = e; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'n': *o++ = '\n'; break;
            case 'r': *o++ = '\r'; break;
            case 't': *o++ = '\t'; break;
            case 'u': /* keep non-ASCII escapes as '?': names we match are ASCII */
                if (ps->end - ps->p < 4 || !is_hex4(ps->p)) { return fail(ps, "bad \\u escape"); }
                ps->p += 4; *o++ = '?'; break;
            default: return fail(ps, "bad escape in string");
            }
        } else {
            *o++ = c;
        }
    }
    if (ps->p >= ps->end) { return fail(ps, "unterminated string"); }
    ps->p++;
    *o++ = 0;
    ps->next = o;
    *out = buf;
    return 0;
}

static int parse_number(parser *ps, js_value *v)
{
    char tmp[64];
    size_t n = 0;
    while (ps->p + n < ps->end && n < sizeof tmp - 1 && strchr("+-0123456789.eE", ps->p[n])) n++;
    memcpy(tmp, ps->p, n);
    tmp[n] = 0;
    char *endp;
    v->num = strtod(tmp, &endp);
    if (n == 0 || endp != tmp + n) return fail(ps, "bad number");
    v->type = JS_NUM;
    ps->p += n;
    return 0;
}

static int literal(parser *ps, const char *word, js_value *v, js_type t, double num)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return fail(ps, "unexpected character");
    ps->p += n;
    v->type = t;
    v->num = num;
    return 0;
}

static int push(js_value *v, size_t *cap)
{
    if (v->n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 2;
    js_value *items = realloc(v->items, nc * sizeof *items);
    if (!items) return -1;
    v->items = items;
    *cap = nc;
    return 0;
}

/* Gives back the growth slack, so the tree's size follows the input's. */
static int close_container(parser *ps, js_value *v)
{
    ps->p++;
    if (v->n == 0) return 0;
    js_value *items = realloc(v->items, v->n * sizeof *items);
    if (items) v->items = items;
    return 0;
}

/* Arrays and objects share one loop; objects read "key": before each value. */
static int parse_container(parser *ps, js_value *v, int depth, char close)
{
    size_t cap = 0;
    v->type = close == '}' ? JS_OBJ : JS_ARR;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) return close_container(ps, v);
    for (;;) {
        if (push(v, &cap)) return fail(ps, "out of memory");
        js_value *item = &v->items[v->n];
        memset(item, 0, sizeof *item);
        if (v->type == JS_OBJ) {
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != '"') return fail(ps, "expected a key");
            if (parse_string(ps, &item->key)) return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') return fail(ps, "expected ':'");
            ps->p++;
        }
        v->n++;
        if (parse_value(ps, item, depth + 1)) return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') { ps->p++; continue; }
        if (ps->p < ps->end && *ps->p == close) return close_container(ps, v);
        return fail(ps, "expected ',' or end of container");
    }
}

static int parse_value(parser *ps, js_value *v, int depth)
{
    if (depth > MAX_DEPTH) return fail(ps, "nesting too deep");
    skip_ws(ps);
    if (ps->p >= ps->end) return fail(ps, "unexpected end");
    switch (*ps->p) {
    case '{': return parse_container(ps, v, depth, '}');
    case '[': return parse_container(ps, v, depth, ']');
    case '"': v->type = JS_STR; return parse_string(ps, &v->str);
    case 't': return literal(ps, "true", v, JS_BOOL, 1);
    case 'f': return literal(ps, "false", v, JS_BOOL, 0);
    case 'n': return literal(ps, "null", v, JS_NULL, 0);
    default: return parse_number(ps, v);
    }
}

int js_parse(const char *text, size_t len, js_value *out, char *err, size_t errlen)
{
    parser ps = { text, text + len, err, errlen, NULL, NULL };
    memset(out, 0, sizeof *out);
    out->strings = ps.strings = ps.next = malloc(len + 1);
    if (!ps.strings) {
        fail(&ps, "out of memory");
        return -1;
    }
    if (parse_value(&ps, out, 0) == 0) {
        skip_ws(&ps);
        if (ps.p == ps.end) return 0;
        fail(&ps, "trailing characters");
    }
    js_free(out);
    return -1;
}

static void free_items(js_value *v)
{
    for (size_t i = 0; i < v->n; i++) free_items(&v->items[i]);
    free(v->items);
}

void js_free(js_value *v)
{
    free_items(v);
    free(v->strings);
    memset(v, 0, sizeof *v);
}

const js_value *js_get(const js_value *obj, const char *key)
{
    if (!obj || obj->type != JS_OBJ) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->items[i].key, key) == 0) return &obj->items[i];
    return NULL;
}
