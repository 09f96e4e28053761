/* The JSON reader on arbitrary bytes: no crash, no leak, memory bounded. */
#include <stdint.h>
#include <string.h>

#include "json.h"

/* Touches every value, as a reader of the tree would. */
static size_t walk(const js_value *v)
{
    size_t n = 1 + (v->str ? strlen(v->str) : 0) + (v->key ? strlen(v->key) : 0);
    for (size_t i = 0; i < v->n; i++) n += walk(&v->items[i]);
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    js_value root;
    char err[128];
    if (js_parse((const char *)data, size, &root, err, sizeof err) == 0) {
        volatile size_t n = walk(&root);
        (void)n;
        (void)js_get(&root, "__metadata__");
        js_free(&root);
    }
    return 0;
}
