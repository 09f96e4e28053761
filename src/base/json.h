/* A small JSON reader, enough for safetensors headers: a tree of values with
 * a depth limit, strict syntax, no surprises on malformed input. Memory is
 * bounded by the input's size: all strings share one buffer no longer than
 * the input, and arrays are trimmed to their length. */
#ifndef CS_JSON_H
#define CS_JSON_H
#include <stddef.h>

typedef enum { JS_NULL, JS_BOOL, JS_NUM, JS_STR, JS_ARR, JS_OBJ } js_type;

typedef struct js_value {
    js_type type;
    double num;            /* JS_NUM, JS_BOOL */
    const char *str;       /* JS_STR: decoded, NUL-terminated */
    const char *key;       /* an object member's key; NULL elsewhere */
    struct js_value *items;/* JS_ARR / JS_OBJ: n values */
    size_t n;
    char *strings;         /* the root only: the buffer every str and key points into */
} js_value;

/* Parses text[0..len). Returns 0 on success, else -1 with err (<= 128 chars). */
int js_parse(const char *text, size_t len, js_value *out, char *err, size_t errlen);
/* Frees a tree js_parse returned (call it on the root only). */
void js_free(js_value *v);
const js_value *js_get(const js_value *obj, const char *key);

#endif
